// The comparison view: a webview per group with a table of its attempts
// (compare.ts renders it from `synthetic.group.compare`), and each attempt's
// actions: its diff (the review diff of a construct), the diff against
// another attempt (`synthetic.group.diffAttempts`), and "Land This, Discard
// Others" (`synthetic.group.pickPreview`, confirmed, then `synthetic.group.pick`).
//
// A webview rather than a tree or a virtual document: the comparison is a
// table (ten figures per attempt, side by side) with a few buttons per row,
// which a tree can only show as nested rows and a document cannot act on.

import * as crypto from "node:crypto";
import * as vscode from "vscode";
import { compareHtml, isCompareAction, type CompareAction, type CompareView } from "./compare";
import { changedFiles, changeDescription, diffTitle, discardConfirmation, landedMessage, STRATEGIES } from "./changes";
import { errorCode, errorMessage } from "./format";
import type { Leftovers } from "./leftovers";
import { versionUri } from "./review";
import type { SyntheticServer } from "./server";
import type { ConstructsProvider } from "./tree";

interface Shown {
  panel: vscode.WebviewPanel;
  root: string;
  group: string;
  last?: CompareView;
}

export class CompareViews implements vscode.Disposable {
  private readonly shown = new Map<string, Shown>();

  constructor(
    private readonly server: SyntheticServer,
    private readonly tree: ConstructsProvider,
    private readonly output: vscode.LogOutputChannel,
    private readonly leftovers: Leftovers,
  ) {}

  /** Open (or bring forward and refresh) the comparison of a group. */
  async open(root: string, group: string, runChecks = false): Promise<void> {
    const key = `${root}#${group}`;
    let entry = this.shown.get(key);
    if (entry) entry.panel.reveal();
    else {
      const panel = vscode.window.createWebviewPanel("synthetic.compare", `Compare ${group}`, vscode.ViewColumn.Active, {
        enableScripts: true,
        retainContextWhenHidden: true,
      });
      const made: Shown = { panel, root, group };
      entry = made;
      this.shown.set(key, made);
      panel.onDidDispose(() => this.shown.delete(key));
      panel.webview.onDidReceiveMessage((m: unknown) => {
        if (!isCompareAction(m)) return; // the page is not trusted input
        void this.act(made, m).catch((err) => this.fail(err));
      });
    }
    await this.render(entry, runChecks);
  }

  private async render(entry: Shown, runChecks: boolean): Promise<void> {
    const view = await this.server.execute("synthetic.group.compare", {
      root: entry.root,
      ref: entry.group,
      ...(runChecks ? { run_checks: true } : {}),
    });
    entry.last = view;
    entry.panel.title = `Compare ${view.name}`;
    entry.panel.webview.html = compareHtml(view, crypto.randomBytes(16).toString("hex"), entry.panel.webview.cspSource);
  }

  private fail(err: unknown): void {
    const message = errorMessage(err);
    this.output.error(`${message}${errorCode(err) ? ` [${errorCode(err)}]` : ""}`);
    void vscode.window.showErrorMessage(`Synthetic: ${message}`);
  }

  private async act(entry: Shown, m: CompareAction): Promise<void> {
    if (m.action === "refresh") return this.render(entry, m.runChecks);
    if (m.action === "diff") return this.openDiff(entry, m.ref);
    if (m.action === "diffAttempts") return this.diffAttempts(entry, m.ref);
    return this.pick(entry, m.ref);
  }

  /** The attempt's changed files (against its merge base); the one picked opens in the diff editor. */
  private async openDiff(entry: Shown, ref: string): Promise<void> {
    const diff = await this.server.execute("synthetic.construct.diff", { root: entry.root, ref });
    const files = changedFiles(diff);
    if (!files.length) {
      void vscode.window.showInformationMessage(`Synthetic: ${ref} changed nothing against ${diff.target ?? "its base"}.`);
      return;
    }
    const pick =
      files.length === 1
        ? { file: files[0] }
        : await vscode.window.showQuickPick(
            files.map((f) => ({ label: f.path, description: changeDescription(f), file: f })),
            { title: `Changes of ${ref}: open which file?` },
          );
    if (!pick) return;
    const f = pick.file;
    const left = versionUri(entry.root, diff.construct, f.path, "base", diff.merge_base);
    const right =
      f.inWorktree && diff.worktree
        ? vscode.Uri.joinPath(vscode.Uri.file(diff.worktree), f.path)
        : versionUri(entry.root, diff.construct, f.path, f.status === "D" ? "none" : "head", diff.head);
    // Beside the view: the table stays in sight for the next attempt.
    await vscode.commands.executeCommand("vscode.diff", left, right, diffTitle(f, diff), {
      preview: true,
      viewColumn: vscode.ViewColumn.Beside,
    });
  }

  /** What another attempt has that this one has not, as a patch. */
  private async diffAttempts(entry: Shown, ref: string): Promise<void> {
    const others = (entry.last?.attempts ?? []).filter((a) => a.id !== ref && !a.gone);
    if (!others.length) {
      void vscode.window.showInformationMessage("Synthetic: no other attempt to compare with.");
      return;
    }
    const pick =
      others.length === 1
        ? { id: others[0].id }
        : await vscode.window.showQuickPick(
            others.map((a) => ({ label: a.name ?? a.id, description: a.id, id: a.id })),
            { title: `Diff ${ref} against which attempt?` },
          );
    if (!pick) return;
    const d = await this.server.execute("synthetic.group.diffAttempts", { root: entry.root, a: ref, b: pick.id });
    const header = `# from ${d.a} to ${d.b}: ${d.stat.files} file(s) +${d.stat.additions} −${d.stat.deletions}\n`;
    const doc = await vscode.workspace.openTextDocument({ language: "diff", content: header + (d.patch || "# no difference\n") });
    await vscode.window.showTextDocument(doc, { preview: true, viewColumn: vscode.ViewColumn.Beside });
  }

  /** Land this attempt and discard the others, after showing what discarding them loses. */
  private async pick(entry: Shown, ref: string): Promise<void> {
    if (!vscode.workspace.isTrusted) {
      void vscode.window.showWarningMessage("Synthetic: trust this workspace to land constructs (git hooks run).");
      return;
    }
    const preview = await this.server.execute("synthetic.group.pickPreview", { root: entry.root, ref });
    const name = entry.last?.attempts.find((a) => a.id === ref)?.name ?? ref;
    const strategy = await vscode.window.showQuickPick(
      STRATEGIES.map((s) => ({ label: s.label, detail: s.detail, id: s.id })),
      { title: `Land ${name}, discard the other attempts: how?`, placeHolder: "Pick a strategy" },
    );
    if (!strategy) return;
    const names = new Map((entry.last?.attempts ?? []).map((a) => [a.id, a.name ?? a.id]));
    const lost = preview.others.map((o) => {
      const { message, detail } = discardConfirmation(names.get(o.construct) ?? o.construct, o);
      return `${message}\n${detail}`;
    });
    const action = "Land and Discard Others";
    const choice = await vscode.window.showWarningMessage(
      `Land ${name} and discard ${preview.others.length} other attempt(s)?`,
      { modal: true, detail: lost.join("\n\n") },
      action,
    );
    if (choice !== action) return;
    const result = await this.server.execute("synthetic.group.pick", { root: entry.root, ref, strategy: strategy.id });
    this.tree.refresh(0);
    for (const o of preview.others) await this.leftovers.close(entry.root, o.construct, undefined);
    void vscode.window.showInformationMessage(
      `${landedMessage(name, result.landed)} Discarded ${result.discarded.length} other attempt(s); group ${result.group} removed.`,
    );
    entry.panel.dispose(); // the group is gone: nothing left to compare
  }

  dispose(): void {
    for (const e of this.shown.values()) e.panel.dispose();
    this.shown.clear();
  }
}
