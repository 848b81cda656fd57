// `synthetic.doctor.run`: findings in the Problems panel, and a quick pick
// that applies a finding's fix (`synthetic.doctor.fix`).

import * as path from "node:path";
import * as vscode from "vscode";
import type { Construct, DoctorReport, Finding } from "./model";
import type { SyntheticServer } from "./server";

export class Doctor implements vscode.Disposable {
  readonly diagnostics = vscode.languages.createDiagnosticCollection("synthetic-doctor");
  /** The files each root's last run put findings on (a worktree may live anywhere). */
  private readonly published = new Map<string, vscode.Uri[]>();

  constructor(private readonly server: SyntheticServer) {}

  /** Run the doctor for `root`, publish its findings, and return them. */
  async run(root: string, constructs: Construct[], token?: vscode.CancellationToken): Promise<DoctorReport> {
    const report = await this.server.execute("synthetic.doctor.run", { root }, token);
    this.publish(root, report.findings, constructs);
    return report;
  }

  publish(root: string, findings: Finding[], constructs: Construct[]): void {
    const byUri = new Map<string, { uri: vscode.Uri; diags: vscode.Diagnostic[] }>();
    for (const f of findings) {
      if (f.fixed) continue;
      const uri = vscode.Uri.file(findingFile(root, f, constructs));
      const d = new vscode.Diagnostic(
        new vscode.Range(0, 0, 0, 0),
        f.advice ? `${f.message} (${f.advice})` : f.message,
        f.fixable ? vscode.DiagnosticSeverity.Warning : vscode.DiagnosticSeverity.Error,
      );
      d.source = "synthetic doctor";
      d.code = f.kind;
      const entry = byUri.get(uri.toString()) ?? { uri, diags: [] };
      entry.diags.push(d);
      byUri.set(uri.toString(), entry);
    }
    // Clear this root's earlier findings, keep other roots'.
    for (const uri of this.published.get(root) ?? []) this.diagnostics.delete(uri);
    for (const { uri, diags } of byUri.values()) this.diagnostics.set(uri, diags);
    this.published.set(root, [...byUri.values()].map((e) => e.uri));
  }

  /** A quick pick of the findings; picking a fixable one applies its fix. */
  async pickAndFix(root: string, report: DoctorReport): Promise<void> {
    const open = report.findings.filter((f) => !f.fixed);
    if (!open.length) {
      void vscode.window.showInformationMessage("Synthetic doctor: nothing to fix.");
      return;
    }
    type Item = vscode.QuickPickItem & { finding: Finding };
    const items: Item[] = open.map((f) => ({
      label: `${f.fixable ? "$(wrench)" : "$(info)"} ${f.message}`,
      description: f.kind,
      detail: f.fixable ? `Fix: ${f.advice ?? "apply the safe fix"}` : (f.advice ?? undefined),
      finding: f,
    }));
    const pick = await vscode.window.showQuickPick(items, {
      title: `Synthetic doctor: ${open.length} ${open.length === 1 ? "finding" : "findings"}`,
      placeHolder: "Pick a finding to apply its fix (marked with a wrench)",
      matchOnDescription: true,
      matchOnDetail: true,
    });
    if (!pick) return;
    if (!pick.finding.fixable) {
      void vscode.window.showInformationMessage(pick.finding.advice ?? pick.finding.message);
      return;
    }
    const fixed = await this.server.execute("synthetic.doctor.fix", { root, finding_id: pick.finding.id });
    const notes = fixed.fix_notes?.length ? `: ${fixed.fix_notes.join("; ")}` : "";
    void vscode.window.showInformationMessage(`Synthetic doctor: fixed ${fixed.kind}${notes}`);
  }

  dispose(): void {
    this.diagnostics.dispose();
  }
}

/** Where a finding shows in the Problems panel: its construct's record, its path, or the config. */
export function findingFile(root: string, f: Finding, constructs: Construct[]): string {
  const ref = f.subject?.ref ?? "";
  if (f.subject?.type === "construct") {
    const c = constructs.find((x) => x.id === ref);
    if (c?.file) return c.file;
  }
  if (path.isAbsolute(ref)) return ref;
  return path.join(root, "synthetic.config.ts");
}
