// The comparison of a group's attempts, as HTML for the comparison view
// (compareView.ts). Pure: it renders what `synthetic.group.compare` returned
// and decides nothing; each action button names the attempt it acts on and
// the view asks the server (diff, diff between attempts, pick).

import { costText, tokensText } from "./format";
import type { CommandResults } from "./model";

/** `synthetic.group.compare`'s result: the attempts side by side. */
export type CompareView = CommandResults["synthetic.group.compare"];
/** One attempt of the comparison. */
export type CompareAttemptView = CompareView["attempts"][number];

/** A message from the view's buttons: what to do, and to which attempt(s). */
export type CompareAction =
  | { action: "diff"; ref: string }
  | { action: "diffAttempts"; ref: string }
  | { action: "pick"; ref: string }
  | { action: "refresh"; runChecks: boolean };

/** Whether a message from the webview is one of its actions (it is untrusted input). */
export function isCompareAction(m: unknown): m is CompareAction {
  if (!m || typeof m !== "object") return false;
  const o = m as Record<string, unknown>;
  if (o.action === "refresh") return typeof o.runChecks === "boolean";
  return (o.action === "diff" || o.action === "diffAttempts" || o.action === "pick") && typeof o.ref === "string";
}

/** `1 min 5 s`, `42 s`; "" when unknown. */
export function durationText(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "";
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${s % 60} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** `2 pass · 1 fail`, `not run` (names of those never run follow the counts). */
export function checksText(a: Pick<CompareAttemptView, "checks" | "checks_not_run">): string {
  const pass = a.checks.filter((c) => c.passed).length;
  const fail = a.checks.length - pass;
  const parts = [pass ? `${pass} pass` : "", fail ? `${fail} fail` : ""].filter(Boolean);
  if (a.checks_not_run.length) parts.push(`not run: ${a.checks_not_run.join(", ")}`);
  return parts.join(" · ") || "no checks";
}

/** `3 files +10 −2`. */
export function changesText(stat: CompareAttemptView["stat"]): string {
  const files = stat.files;
  return `${files} ${files === 1 ? "file" : "files"} +${stat.additions} −${stat.deletions}`;
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function checkCell(a: CompareAttemptView): string {
  const items = a.checks.map((c) => {
    const state = c.passed ? "pass" : "fail";
    const why = c.timed_out ? " (timed out)" : c.exit_code !== null && !c.passed ? ` (exit ${c.exit_code})` : "";
    const tail = c.output.slice(-5).join("\n");
    return `<li class="${state}" title="${esc(tail)}">${c.passed ? "✓" : "✗"} ${esc(c.name)} ${state}${why}${c.stale ? " · stale" : ""}</li>`;
  });
  for (const n of a.checks_not_run) items.push(`<li class="notrun">– ${esc(n)} not run</li>`);
  return items.length ? `<ul class="checks">${items.join("")}</ul>` : "no checks";
}

function row(a: CompareAttemptView): string {
  const name = a.name ?? a.id;
  const usage = a.usage ? `${tokensText(a.usage.input)}/${tokensText(a.usage.output)}` : "";
  const actions = a.gone
    ? ""
    : [
        `<button data-action="diff" data-ref="${esc(a.id)}">Open Diff</button>`,
        `<button data-action="diffAttempts" data-ref="${esc(a.id)}">Diff Against…</button>`,
        `<button data-action="pick" data-ref="${esc(a.id)}">Land This, Discard Others</button>`,
      ].join(" ");
  const notes = a.notes.length ? `<div class="notes">${a.notes.map(esc).join("<br>")}</div>` : "";
  return [
    `<tr data-attempt="${esc(a.id)}">`,
    `<td class="name">${esc(name)}<div class="id">${esc(a.id)}</div>${notes}</td>`,
    `<td class="status">${esc(a.gone ? "gone" : (a.status ?? ""))}${a.agent_state && a.agent_state !== "unknown" ? ` · ${esc(a.agent_state)}` : ""}</td>`,
    `<td class="model">${esc(a.model ?? "default")}</td>`,
    `<td class="turns">${a.turns ?? ""}</td>`,
    `<td class="duration">${esc(durationText(a.duration_ms))}</td>`,
    `<td class="changes">${esc(changesText(a.stat))}</td>`,
    `<td class="checks-cell" data-summary="${esc(checksText(a))}">${checkCell(a)}</td>`,
    `<td class="tokens">${esc(usage)}</td>`,
    `<td class="cost">${a.usage ? esc(costText(a.usage.cost)) : ""}</td>`,
    `<td class="actions">${actions}</td>`,
    "</tr>",
  ].join("");
}

function filesSection(view: CompareView): string {
  if (!view.files.length) return "<p>No attempt changed a file yet.</p>";
  const names = new Map(view.attempts.map((a) => [a.id, a.name ?? a.id]));
  const items = view.files.map((f) => {
    const by = f.changed_by.map((id) => names.get(id) ?? id).join(", ");
    return `<li class="${f.agree ? "agree" : "differ"}"><code>${esc(f.path)}</code>: ${f.agree ? "agree" : "differ"} (${esc(by)})</li>`;
  });
  return `<ul class="files">${items.join("")}</ul>`;
}

/**
 * The whole page. ``nonce`` allows the page's one script; ``cspSource`` is the
 * webview's own origin (VS Code's `webview.cspSource`).
 */
export function compareHtml(view: CompareView, nonce: string, cspSource: string): string {
  const total = `${tokensText(view.usage.input)}/${tokensText(view.usage.output)} tokens ${costText(view.usage.cost)}`;
  const agree = view.files.filter((f) => f.agree).length;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${cspSource} 'unsafe-inline'; script-src 'nonce-${nonce}';">
<title>Compare ${esc(view.name)}</title>
<style>
body { font-family: var(--vscode-font-family); color: var(--vscode-foreground); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--vscode-panel-border); vertical-align: top; }
.id, .notes { opacity: .7; font-size: smaller; }
ul.checks, ul.files { margin: 0; padding-left: 1em; list-style: none; }
.pass { color: var(--vscode-testing-iconPassed); }
.fail, .differ { color: var(--vscode-testing-iconFailed); }
button { margin: 2px 0; color: var(--vscode-button-foreground); background: var(--vscode-button-background); border: none; padding: 3px 8px; cursor: pointer; }
</style></head>
<body>
<h2>${esc(view.name)} <small class="id">${esc(view.group)}</small></h2>
<p class="summary">${view.attempts.length} attempts · all agents: ${esc(total)}${view.checks_ran ? " · checks run now" : ""}</p>
<p><button data-action="refresh">Refresh</button> <button data-action="refresh" data-checks="1">Run Checks and Compare</button></p>
<table class="attempts">
<thead><tr><th>Attempt</th><th>Status</th><th>Model</th><th>Turns</th><th>Duration</th><th>Changes</th><th>Checks</th><th>Tokens</th><th>Cost</th><th></th></tr></thead>
<tbody>${view.attempts.map(row).join("\n")}</tbody>
</table>
<h3>Files (${agree} agree, ${view.files.length - agree} differ)</h3>
${filesSection(view)}
<script nonce="${nonce}">
const vscode = acquireVsCodeApi();
document.addEventListener("click", (e) => {
  const b = e.target.closest("button[data-action]");
  if (!b) return;
  const action = b.dataset.action;
  if (action === "refresh") vscode.postMessage({ action, runChecks: b.dataset.checks === "1" });
  else vscode.postMessage({ action, ref: b.dataset.ref });
});
</script>
</body></html>`;
}
