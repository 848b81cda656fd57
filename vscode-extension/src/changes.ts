// Reviewing and landing, in words and lists: what the "Changes" node shows,
// what the diff editor compares, and what the Land and Discard confirmations
// say. Pure functions (no vscode import), so node's test runner covers them.

import type { Commit, DiffResult, DiscardPreview, FileChange, FileVersion, LandPlan, LandResult, RemoteLandResult } from "./model";

/** Where a changed file's change is: in the branch's commits, uncommitted, or both. */
export type ChangePlace = "committed" | "uncommitted" | "both";

/** One row of the "Changes" node. */
export interface ChangedFile {
  path: string;
  /** git's letter for the file's state against the merge base ("?" untracked). */
  status: string;
  place: ChangePlace;
  additions: number | null;
  deletions: number | null;
  /** False when the worktree no longer has the file (deleted, or no worktree). */
  inWorktree: boolean;
}

const STATUS_WORDS: Record<string, string> = {
  A: "added",
  M: "modified",
  D: "deleted",
  T: "type changed",
  "?": "untracked",
};

/**
 * The construct's changed files, committed and uncommitted merged by path
 * (base ↔ worktree is one comparison per file), sorted by path.
 */
export function changedFiles(diff: DiffResult): ChangedFile[] {
  const byPath = new Map<string, ChangedFile>();
  const hasWorktree = Boolean(diff.worktree);
  for (const f of diff.files) {
    byPath.set(f.path, { ...counts(f), path: f.path, status: f.status, place: "committed", inWorktree: hasWorktree && f.status !== "D" });
  }
  for (const f of diff.uncommitted) {
    const committed = byPath.get(f.path);
    if (!committed) {
      byPath.set(f.path, { ...counts(f), path: f.path, status: f.status, place: "uncommitted", inWorktree: hasWorktree && f.status !== "D" });
      continue;
    }
    // Committed, then changed again: against the base, the file was added
    // (the base lacks it), deleted (the worktree lacks it) or modified.
    const inBase = committed.status !== "A";
    const inWorktree = hasWorktree && f.status !== "D";
    byPath.set(f.path, {
      path: f.path,
      status: !inBase ? "A" : inWorktree ? "M" : "D",
      place: "both",
      additions: null, // the two counts do not add up to base ↔ worktree
      deletions: null,
      inWorktree,
    });
  }
  return [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function counts(f: FileChange): { additions: number | null; deletions: number | null } {
  return { additions: f.additions, deletions: f.deletions };
}

/** The row's description: folder, state, line counts and where the change is. */
export function changeDescription(f: ChangedFile): string {
  const slash = f.path.lastIndexOf("/");
  const dir = slash > 0 ? f.path.slice(0, slash) : "";
  const counts = f.additions !== null && f.deletions !== null ? `+${f.additions} −${f.deletions}` : "";
  const place = f.place === "committed" ? "" : f.place === "both" ? "committed, and changed since" : "uncommitted";
  return [dir, STATUS_WORDS[f.status] ?? f.status, counts, place].filter(Boolean).join(" · ");
}

/** The diff editor's title: the file, then what is compared. */
export function diffTitle(f: ChangedFile, diff: DiffResult): string {
  const name = f.path.slice(f.path.lastIndexOf("/") + 1);
  const base = `${diff.target ?? "base"} @ ${diff.merge_base.slice(0, 7)}`;
  const right = f.inWorktree ? "worktree" : f.status === "D" ? "deleted" : `${diff.branch} @ ${diff.head.slice(0, 7)}`;
  return `${name} (${base} ↔ ${right})`;
}

/** The text a diff side shows for a file version: its text, or why there is none. */
export function versionText(v: FileVersion): string {
  if (v.text !== null) return v.text;
  if (!v.exists) return "";
  if (v.binary) return `(${v.path}: a binary file of ${v.size} bytes at ${v.commit.slice(0, 12)})\n`;
  if (v.too_large) return `(${v.path}: ${v.size} bytes at ${v.commit.slice(0, 12)}, too large to show)\n`;
  return "";
}

/** The strategies of "Land…", in the order the quick pick offers them. */
export const STRATEGIES: { id: string; label: string; detail: string }[] = [
  { id: "merge", label: "Merge", detail: "A merge commit, or a fast-forward when possible" },
  { id: "squash", label: "Squash", detail: "One commit, its message drafted from the construct and its agent" },
  { id: "rebase", label: "Rebase", detail: "Replay the commits onto the target, then fast-forward it" },
  { id: "apply", label: "Apply", detail: "Leave the changes staged, uncommitted, in the target's checkout" },
];

function commitLines(commits: Commit[], limit = 15): string[] {
  const lines = commits.slice(0, limit).map((c) => `${c.id.slice(0, 7)} ${c.subject}`);
  if (commits.length > limit) lines.push(`… and ${commits.length - limit} more`);
  return lines;
}

/** The Land confirmation: a one-line question and the detail (commits, message). */
export function landConfirmation(name: string, plan: LandPlan): { message: string; detail: string } {
  const how = STRATEGIES.find((s) => s.id === plan.strategy)?.label.toLowerCase() ?? plan.strategy;
  const n = plan.commits.length;
  const message =
    plan.strategy === "apply"
      ? `Apply ${name}'s ${n} ${n === 1 ? "commit" : "commits"} to ${plan.target}, staged and uncommitted?`
      : `Land ${name} into ${plan.target} (${how}, ${n} ${n === 1 ? "commit" : "commits"})?`;
  const detail = [`Checked: no conflict; ${plan.checkout} is clean.`, "", ...commitLines(plan.commits)];
  if (plan.message !== null) detail.push("", "Commit message:", plan.message.trimEnd());
  return { message, detail: detail.join("\n") };
}

/** The squash message with its first line replaced (the rest of the draft kept). */
export function withSubject(message: string, subject: string): string {
  const lines = message.split("\n");
  lines[0] = subject.trim();
  return lines.join("\n");
}

/** The Discard confirmation: what is lost, commits never landed first. */
export function discardConfirmation(name: string, preview: DiscardPreview): { message: string; detail: string } {
  const branch = preview.branch ? ` and delete its branch ${preview.branch}` : "";
  const message = `Discard ${name}${branch}?`;
  const detail: string[] = ["Its worktree and its record are removed too."];
  if (preview.unmerged.length) {
    detail.push("", `${preview.unmerged.length} commit(s) never landed are lost:`, ...commitLines(preview.unmerged));
  }
  if (preview.uncommitted.length) {
    const files = preview.uncommitted.slice(0, 15).map((f) => `${f.status} ${f.path}`);
    if (preview.uncommitted.length > files.length) files.push(`… and ${preview.uncommitted.length - files.length} more`);
    detail.push("", `${preview.uncommitted.length} uncommitted change(s) are lost:`, ...files);
  }
  // The other kinds of work the forced removal loses (its uncommitted files are listed above).
  for (const work of preview.loses.filter((w) => w.kind !== "uncommitted")) {
    const items = work.items.slice(0, 15);
    if (work.items.length > items.length) items.push(`… and ${work.items.length - items.length} more`);
    detail.push("", `Lost: ${work.what}${items.length ? ":" : ""}`, ...items);
  }
  return { message, detail: detail.join("\n") };
}

/** The offer to commit a construct's uncommitted work before landing it. */
export function commitOffer(name: string, files: string[]): { message: string; detail: string } {
  const shown = files.slice(0, 15);
  if (files.length > shown.length) shown.push(`… and ${files.length - shown.length} more`);
  return {
    message: `${name} has ${files.length} uncommitted change(s), which landing would leave behind. Commit them first?`,
    detail: [...shown, "", "Include files copied in (.env ...) are never committed."].join("\n"),
  };
}

/**
 * What landing did, in one line: a local construct's result, or a remote one's (its
 * branch fetched from its host and landed here; the host's construct marked completed,
 * or the notes saying why not).
 */
export function landedMessage(name: string, r: LandResult | RemoteLandResult): string {
  const how = r.fast_forward ? "fast-forward" : r.strategy;
  const from = "host" in r ? ` (from host ${r.host})` : "";
  const what =
    r.strategy === "apply"
      ? `applied ${name}${from} to ${r.checkout}: ${r.staged.length} file(s) staged, not committed`
      : `landed ${name}${from} into ${r.target} (${how}, ${r.commits} commit(s)): ${r.before.slice(0, 7)} → ${r.after.slice(0, 7)}`;
  // `removed` is a local removal's notes; a remote landing says its notes and removal apart.
  const notes = "host" in r ? [...r.notes, ...(r.removal?.removed ? [`removed on host ${r.host}`] : [])] : (r.removed ?? []);
  const removal = notes.length ? ` ${"host" in r ? "Notes" : "Removal"}: ${notes.join("; ")}` : "";
  return `Synthetic: ${what}.${removal}`;
}
