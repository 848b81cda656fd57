// What the extension opened for a construct that is gone: the agent's
// terminal (attached to a session that no longer exists) and the editors of
// its worktree or of its versions (diff tabs onto a deleted folder). Closed
// after Remove, Discard and Land with remove, as the person would have to
// otherwise, one by one.

import * as path from "node:path";
import * as vscode from "vscode";

/** The scheme of the server's read-only file versions (review.ts makes them). */
const VERSION_SCHEME = "synthetic-version";

export class Leftovers implements vscode.Disposable {
  private readonly terminals = new Map<string, Set<vscode.Terminal>>();
  private readonly closed = vscode.window.onDidCloseTerminal((t) => {
    for (const set of this.terminals.values()) set.delete(t);
  });

  /** A terminal opened on construct `id` of `root` (the agent's session). */
  track(root: string, id: string, terminal: vscode.Terminal): void {
    const key = `${root}#${id}`;
    const set = this.terminals.get(key) ?? new Set();
    set.add(terminal);
    this.terminals.set(key, set);
  }

  /** Close the terminals and editors of a construct that was removed. */
  async close(root: string, id: string, worktree: string | null | undefined): Promise<void> {
    const key = `${root}#${id}`;
    for (const t of this.terminals.get(key) ?? []) t.dispose();
    this.terminals.delete(key);
    const belongs = (uri: vscode.Uri | undefined): boolean => {
      if (!uri) return false;
      if (uri.scheme === VERSION_SCHEME) {
        try {
          const q = JSON.parse(uri.query) as { root?: string; ref?: string };
          return q.root === root && q.ref === id;
        } catch {
          return false;
        }
      }
      return Boolean(worktree) && uri.scheme === "file" && isInside(uri.fsPath, worktree as string);
    };
    const tabs = vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((tab) => {
      const input = tab.input;
      if (input instanceof vscode.TabInputTextDiff) return belongs(input.original) || belongs(input.modified);
      if (input instanceof vscode.TabInputText) return belongs(input.uri);
      return false;
    });
    if (tabs.length) await vscode.window.tabGroups.close(tabs, true);
  }

  dispose(): void {
    this.closed.dispose();
  }
}

function isInside(file: string, folder: string): boolean {
  const rel = path.relative(folder, file);
  return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
}
