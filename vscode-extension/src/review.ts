// Review and land from VS Code: a changed file opens in the diff editor
// (merge base ↔ worktree), "Land…" asks for the strategy and confirms what
// the server checked, "Discard" confirms what would be lost. Thin faces over
// `synthetic.construct.file|landPlan|land|discardPreview|discard|review`.

import * as fs from "node:fs";
import * as path from "node:path";
import * as vscode from "vscode";
import {
  commitOffer,
  diffTitle,
  discardConfirmation,
  landConfirmation,
  landedMessage,
  STRATEGIES,
  versionText,
  withSubject,
} from "./changes";
import { errorCode, errorList } from "./format";
import type { Construct, LandPlan, LandResult, RemoteLandResult } from "./model";
import type { Leftovers } from "./leftovers";
import type { SyntheticServer } from "./server";
import { ChangeNode, ConstructsProvider, Node } from "./tree";

/** The scheme of a file's version read from git by the server (read-only documents). */
export const VERSION_SCHEME = "synthetic-version";

interface VersionQuery {
  root: string;
  ref: string;
  at: "base" | "head" | "none";
  /** The commit ``at`` named when the URI was made: VS Code keeps a document per URI,
   * so a moved merge base or a new tip makes a new document, not a stale one. */
  commit: string;
}

/** A read-only document URI for ``file`` of construct ``ref`` at ``at`` ("none": empty). */
export function versionUri(
  root: string,
  ref: string,
  file: string,
  at: VersionQuery["at"],
  commit: string,
): vscode.Uri {
  const query: VersionQuery = { root, ref, at, commit };
  return vscode.Uri.from({ scheme: VERSION_SCHEME, path: `/${file}`, query: JSON.stringify(query) });
}

/** Serves `synthetic-version:` documents: the server reads them from git's objects. */
export class VersionContentProvider implements vscode.TextDocumentContentProvider {
  constructor(private readonly server: SyntheticServer) {}

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const q = JSON.parse(uri.query) as VersionQuery;
    if (q.at === "none") return "";
    const v = await this.server.execute("synthetic.construct.file", {
      root: q.root,
      ref: q.ref,
      path: uri.path.slice(1),
      at: q.at,
    });
    return versionText(v);
  }
}

function isPlainFile(file: string): boolean {
  try {
    return fs.lstatSync(file).isFile();
  } catch {
    return false;
  }
}

/** The construct a command acts on, from the tree node or a pick. */
export type TargetPicker = (
  node: Node | undefined,
  title: string,
  filter?: (c: Construct) => boolean,
) => Promise<{ root: string; construct: Construct } | undefined>;

export class Review {
  constructor(
    private readonly server: SyntheticServer,
    private readonly tree: ConstructsProvider,
    private readonly target: TargetPicker,
    private readonly leftovers: Leftovers,
  ) {}

  /** The commands, by id (registered by Commands, with its error handling). */
  handlers(): [string, (node?: Node) => Promise<void>][] {
    return [
      ["synthetic.openChange", (node) => this.openChange(node)],
      ["synthetic.openChangedFile", (node) => this.openChangedFile(node)],
      ["synthetic.landConstruct", (node) => this.land(node)],
      ["synthetic.discardConstruct", (node) => this.discard(node)],
      ["synthetic.reviewConstruct", (node) => this.markReviewing(node)],
    ];
  }

  /** The diff editor: the merge base's version on the left, the worktree's file on the right. */
  async openChange(node?: Node): Promise<void> {
    if (!(node instanceof ChangeNode)) return;
    const { file, diff } = node;
    const left = versionUri(node.root, diff.construct, file.path, "base", diff.merge_base);
    let right: vscode.Uri;
    const onDisk = diff.worktree ? path.join(diff.worktree, file.path) : undefined;
    // A link is compared as git stores it (its target's name): a branch's link
    // to a file elsewhere never opens that file.
    if (file.inWorktree && onDisk && isPlainFile(onDisk)) right = vscode.Uri.file(onDisk);
    else if (file.status === "D") right = versionUri(node.root, diff.construct, file.path, "none", diff.head);
    else right = versionUri(node.root, diff.construct, file.path, "head", diff.head); // no worktree, or a link
    await vscode.commands.executeCommand("vscode.diff", left, right, diffTitle(file, diff), { preview: true });
  }

  /** The changed file itself, in the worktree. */
  private async openChangedFile(node?: Node): Promise<void> {
    if (!(node instanceof ChangeNode) || !node.diff.worktree) return;
    await vscode.window.showTextDocument(vscode.Uri.file(path.join(node.diff.worktree, node.file.path)));
  }

  /** "Land…": strategy, the server's checks, a confirmation (the squash message editable), land. */
  async land(node?: Node): Promise<void> {
    if (!vscode.workspace.isTrusted) {
      void vscode.window.showWarningMessage("Synthetic: trust this workspace to land constructs (git hooks run).");
      return;
    }
    const t = await this.target(node, "Land which construct?", (c) => Boolean(c.branch));
    if (!t) return;
    const c = t.construct;
    const strategy = await vscode.window.showQuickPick(
      STRATEGIES.map((s) => ({ label: s.label, detail: s.detail, id: s.id })),
      { title: `Land ${c.name}: how?`, placeHolder: "Pick a strategy" },
    );
    if (!strategy) return;
    const args = { root: t.root, ref: c.id, strategy: strategy.id };
    // Every check first: a conflict or a dirty checkout is said before anything is asked.
    const plan = await this.planOrCommit(c, args);
    if (!plan) return;
    let message = plan.message;
    for (;;) {
      const { message: question, detail } = landConfirmation(c.name, { ...plan, message });
      const actions = ["Land", "Land and Remove", ...(message !== null ? ["Edit Message…"] : [])];
      const choice = await vscode.window.showInformationMessage(question, { modal: true, detail }, ...actions);
      if (!choice) return;
      if (choice === "Edit Message…" && message !== null) {
        const subject = await vscode.window.showInputBox({
          title: "Squash commit: first line",
          prompt: "The rest of the drafted message is kept",
          value: message.split("\n")[0],
          validateInput: (v) => (v.trim() ? undefined : "The message cannot be empty"),
        });
        if (subject) message = withSubject(message, subject);
        continue;
      }
      const result = await this.server.execute("synthetic.construct.land", {
        ...args,
        ...(message !== null ? { message } : {}),
        remove: choice === "Land and Remove",
      });
      this.tree.refresh(0);
      if (result.removal?.removed) await this.leftovers.close(t.root, c.id, c.workspace_path);
      this.landed(c, result);
      return;
    }
  }

  /**
   * The server's land plan; when the construct has uncommitted work (an agent
   * that edited and never committed), offer to commit it, then plan again.
   */
  private async planOrCommit(c: Construct, args: { root: string; ref: string; strategy: string }): Promise<LandPlan | undefined> {
    try {
      return await this.server.execute("synthetic.construct.landPlan", args);
    } catch (err) {
      if (errorCode(err) !== "construct-dirty") throw err;
      const { message, detail } = commitOffer(c.name, errorList(err, "files"));
      const choice = await vscode.window.showWarningMessage(message, { modal: true, detail }, "Commit and Continue…");
      if (choice !== "Commit and Continue…") return undefined;
      const text = await vscode.window.showInputBox({
        title: `Commit ${c.name}'s uncommitted work`,
        prompt: "Committed in the construct's worktree (its hooks run), then landed",
        value: `${c.name}: the agent's uncommitted work`,
        validateInput: (v) => (v.trim() ? undefined : "The message cannot be empty"),
      });
      if (!text) return undefined;
      await this.server.execute("synthetic.construct.commit", { root: args.root, ref: args.ref, message: text });
      this.tree.refresh(0);
      return this.server.execute("synthetic.construct.landPlan", args);
    }
  }

  private landed(c: Construct, r: LandResult | RemoteLandResult): void {
    void vscode.window.showInformationMessage(landedMessage(c.name, r));
  }

  /** "Discard": list the commits never landed and the uncommitted changes, confirm, remove. */
  async discard(node?: Node): Promise<void> {
    const t = await this.target(node, "Discard which construct?");
    if (!t) return;
    const c = t.construct;
    const preview = await this.server.execute("synthetic.construct.discardPreview", {
      root: t.root,
      ref: c.id,
    });
    const { message, detail } = discardConfirmation(c.name, preview);
    const choice = await vscode.window.showWarningMessage(message, { modal: true, detail }, "Discard");
    if (choice !== "Discard") return;
    await this.server.execute("synthetic.construct.discard", { root: t.root, ref: c.id });
    this.tree.refresh(0);
    const where = c.host ? ` on host ${c.host}` : "";
    void vscode.window.showInformationMessage(`Synthetic: discarded ${c.name}; its worktree and branch${where} are deleted.`);
    await this.leftovers.close(t.root, c.id, c.workspace_path);
  }

  /** Move the construct to `reviewing`. */
  private async markReviewing(node?: Node): Promise<void> {
    const t = await this.target(node, "Mark which construct as reviewing?", (c) => c.status !== "reviewing");
    if (!t) return;
    await this.server.execute("synthetic.construct.review", { root: t.root, ref: t.construct.id });
    this.tree.refresh(0);
  }
}
