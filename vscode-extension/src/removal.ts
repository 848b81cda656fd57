// Removing a construct, in words: the confirmation lists what the server's
// removal preview (`synthetic.construct.removalPreview`) says goes, stays
// and is lost, and the notification says what the removal result's `kept`
// list says stayed. The server decides everything (whether `force` is
// needed, what the branch's fate is); this module only renders it. Pure
// functions (no vscode import): node's test runner covers them.

import type { RemovalPreview, RemoteRemoved, RemoveResult } from "./model";

/** The button that confirms: the server says whether removing loses work. */
export const REMOVE = "Remove";
export const REMOVE_AND_LOSE = "Remove and Lose Work";

export interface RemovalConfirmation {
  message: string;
  detail: string;
  /** The one button offered: "Remove", or "Remove and Lose Work" when `force_required`. */
  action: typeof REMOVE | typeof REMOVE_AND_LOSE;
  /** What `synthetic.construct.delete` gets as `force`: the preview's `force_required`. */
  force: boolean;
}

// A modal's detail collapses leading spaces: entries and their lines are
// told apart by their marks instead.
const ENTRY = "• ";
const LINE = "   – ";

function more(lines: string[], max: number): string[] {
  const shown = lines.slice(0, max).map((l) => `${LINE}${l}`);
  if (lines.length > max) shown.push(`${LINE}… and ${lines.length - max} more`);
  return shown;
}

/** The modal confirmation of removing the construct, from its removal preview. */
export function removalConfirmation(preview: RemovalPreview, maxLines = 15, host: string | null = null): RemovalConfirmation {
  const force = preview.force_required;
  const action = force ? REMOVE_AND_LOSE : REMOVE;
  // A construct on another machine: its host's preview, its host's removal.
  const where = host ? ` on host ${host}` : "";
  const message = force
    ? `Remove construct "${preview.name}" (${preview.construct})${where} and lose its work?`
    : `Remove construct "${preview.name}" (${preview.construct})${where}?`;
  const deleted: string[] = [];
  const kept: string[] = [];
  const lost: string[] = [];
  if (preview.worktree) deleted.push(`the worktree ${preview.worktree}`);
  const branch = preview.branch;
  if (branch) {
    // The removal runs with `force` exactly when the server requires it.
    const fate = force ? branch.with_force : branch.without_force;
    const why = branch.reason ? ` (${branch.reason})` : "";
    if (fate === "kept") kept.push(`the branch ${branch.name}${why}`);
    else deleted.push(`the branch ${branch.name}`);
    if (fate === "deleted" && branch.unmerged.length) {
      const n = branch.unmerged.length;
      lost.push(`${ENTRY}${n} ${n === 1 ? "commit" : "commits"} of the branch ${branch.name} not on its base:`);
      lost.push(...more(branch.unmerged.map((c) => `${c.id.slice(0, 7)} ${c.subject}`), maxLines));
    }
  }
  if (preview.session) deleted.push(`the agent session ${preview.session}`);
  if (preview.services.length) deleted.push(`the services ${preview.services.join(", ")} (stopped)`);
  if (preview.ports.length) deleted.push(`the ports ${preview.ports.join(", ")} (released)`);
  for (const work of preview.loses) {
    lost.push(`${ENTRY}${work.what}${work.items.length ? ":" : ""}`);
    lost.push(...more(work.items, maxLines));
  }
  const detail: string[] = [];
  if (deleted.length) detail.push("Deleted:", ...deleted.map((l) => `${ENTRY}${l}`));
  if (kept.length) detail.push(...(detail.length ? [""] : []), "Kept:", ...kept.map((l) => `${ENTRY}${l}`));
  if (lost.length) detail.push(...(detail.length ? [""] : []), "Lost:", ...lost);
  if (preview.locked) {
    detail.push(...(detail.length ? [""] : []), `The worktree is locked (${preview.locked}); it is removed anyway.`);
  }
  return { message, detail: detail.join("\n"), action, force };
}

/** What to tell after a removal: what stayed (the result's `kept`), or undefined when nothing did. */
export function removedMessage(name: string, result: RemoveResult | RemoteRemoved): string | undefined {
  // A construct on another machine: removed there by its host, then its record here.
  if ("host" in result) return `Synthetic: removed ${name} on host ${result.host}.`;
  if (!result.kept.length) return undefined;
  const kept = result.kept.map((k) => `kept the ${k.what === "branch" ? "branch" : "agent session"} ${k.name} (${k.reason})`);
  return `Synthetic: removed ${name}; ${kept.join("; ")}.`;
}
