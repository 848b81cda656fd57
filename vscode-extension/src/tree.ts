// The "Constructs" tree view: one node per construct (grouped by repository
// when the workspace has several folders, and by machine, "This machine" then
// one group per host, when some construct lives on another machine), with its
// branch, worktree, agent, services and "Changes" (each changed file opens a
// diff editor) as children. The attempts of a group (`new --attempts N`)
// sit under their group's node, which tells what they cost together.
// Refreshed on `synthetic/constructsChanged`.

import * as path from "node:path";
import * as vscode from "vscode";
import {
  aheadBehind,
  agentSummary,
  agentTooltip,
  constructContext,
  constructDescription,
  constructTooltip,
  HostGroup,
  hostGroupDescription,
  hostGroups,
  hostGroupTooltip,
  permissionText,
  serviceIcon,
  serviceRows,
  statusIcon,
  statusLabel,
  worktreeSummary,
} from "./format";
import { errorMessage, usageDetail, usageSummary } from "./format";
import { changeDescription, changedFiles, ChangedFile } from "./changes";
import type { BrokenRecord, Construct, ConstructList, DiffResult, PendingPermission, ServiceState } from "./model";
import type { SyntheticServer } from "./server";
import { byGroup, groupDescription, groupTooltip, isAttemptGroup, type AttemptGroup, type GroupInfo } from "./groups";

export type Node = RepoNode | HostNode | GroupNode | ConstructNode | DetailNode | ChangesNode | ChangeNode | MessageNode;

export class RepoNode {
  readonly kind = "repo";
  constructor(
    readonly root: string,
    readonly list: ConstructList | undefined,
    readonly error: string | undefined,
    /** The repository's groups of attempts (none when the server could not list them). */
    readonly groups: GroupInfo[] = [],
  ) {}
}

/** A group of attempts: its members under it, with their total cost. */
export class GroupNode {
  readonly kind = "group";
  constructor(
    readonly root: string,
    readonly attempts: AttemptGroup,
    /** Its machine's group, when the tree groups by machine. */
    readonly host?: HostNode,
  ) {}
}

/** "This machine", or one host: its constructs (only when some construct is on another machine). */
export class HostNode {
  readonly kind = "host";
  constructor(
    readonly root: string,
    readonly group: HostGroup,
  ) {}
}

export class ConstructNode {
  readonly kind = "construct";
  constructor(
    readonly root: string,
    readonly construct: Construct,
    /** The node above it: its machine's, or its group of attempts'. */
    readonly group?: HostNode | GroupNode,
  ) {}
}

export class DetailNode {
  readonly kind = "detail";
  constructor(
    readonly parent: ConstructNode,
    readonly label: string,
    readonly description: string,
    readonly icon: string,
    readonly contextValue = "detail",
    readonly permissionId?: string,
    readonly serviceName?: string,
    readonly tooltip?: string,
    /** What the agent asks (a permission row), when the server could tell it. */
    readonly permission?: PendingPermission,
  ) {}
}

/** "Changes": the construct's files changed against its merge base, loaded when expanded. */
export class ChangesNode {
  readonly kind = "changes";
  constructor(readonly parent: ConstructNode) {}
}

/** One changed file; opening it compares the merge base's version with the worktree's. */
export class ChangeNode {
  readonly kind = "change";
  constructor(
    readonly parent: ChangesNode,
    readonly file: ChangedFile,
    readonly diff: DiffResult,
  ) {}

  get root(): string {
    return this.parent.parent.root;
  }
}

export class MessageNode {
  readonly kind = "message";
  constructor(
    readonly label: string,
    readonly icon: string,
    readonly tooltip?: string,
    readonly file?: string,
  ) {}
}

/** The construct a node belongs to (itself, or the construct above a detail or a change). */
export function constructNodeOf(node: Node | undefined): ConstructNode | undefined {
  if (node instanceof ConstructNode) return node;
  if (node instanceof DetailNode || node instanceof ChangesNode) return node.parent;
  if (node instanceof ChangeNode) return node.parent.parent;
  return undefined;
}

export class ConstructsProvider implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  private readonly listsEmitter = new vscode.EventEmitter<Map<string, ConstructList>>();
  /** Every refresh's lists, by repository root (the status bar uses them). */
  readonly onDidLoad = this.listsEmitter.event;
  private repos: RepoNode[] | undefined;
  private loading: Promise<RepoNode[]> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly server: SyntheticServer) {}

  /** Reload soon (several notifications in a burst make one reload). */
  refresh(delayMs = 100): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.repos = undefined;
      this.emitter.fire(undefined);
      void this.load();
    }, delayMs);
  }

  /** The constructs as last loaded, with their repository root. */
  async constructs(): Promise<{ root: string; construct: Construct }[]> {
    const repos = await this.load();
    return repos.flatMap((r) => (r.list?.constructs ?? []).map((c) => ({ root: r.root, construct: c })));
  }

  roots(): string[] {
    return (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
  }

  private load(): Promise<RepoNode[]> {
    if (this.repos) return Promise.resolve(this.repos);
    if (!this.loading) {
      this.loading = (async () => {
        const repos = await Promise.all(
          this.roots().map(async (root) => {
            try {
              const [list, groups] = await Promise.all([
                this.server.execute("synthetic.construct.list", { root }),
                // Without its groups the tree still lists every construct, ungrouped.
                this.server.execute("synthetic.group.list", { root }).then(
                  (g) => g.groups,
                  () => [],
                ),
              ]);
              return new RepoNode(root, list, undefined, groups);
            } catch (err) {
              return new RepoNode(root, undefined, errorMessage(err));
            }
          }),
        );
        this.repos = repos;
        const lists = new Map<string, ConstructList>();
        for (const r of repos) if (r.list) lists.set(r.root, r.list);
        this.listsEmitter.fire(lists);
        return repos;
      })().finally(() => {
        this.loading = undefined;
      });
    }
    return this.loading;
  }

  async getChildren(node?: Node): Promise<Node[]> {
    if (!node) {
      const repos = await this.load();
      if (repos.length === 1) return this.repoChildren(repos[0]);
      return repos;
    }
    if (node instanceof RepoNode) return this.repoChildren(node);
    if (node instanceof HostNode) return this.grouped(node.root, node.group.constructs, this.groupsOf(node.root), node);
    if (node instanceof GroupNode) return node.attempts.members.map((c) => new ConstructNode(node.root, c, node));
    if (node instanceof ConstructNode) {
      const changes = node.construct.branch ? [new ChangesNode(node)] : [];
      // A construct on another machine: its services are its host's (not asked here).
      const [details, services] = await Promise.all([
        this.details(node),
        node.construct.host ? Promise.resolve([]) : this.services(node),
      ]);
      return [...details, ...services, ...changes];
    }
    if (node instanceof ChangesNode) return this.changes(node);
    return [];
  }

  private repoChildren(repo: RepoNode): Node[] {
    if (repo.error) return [new MessageNode(repo.error, "warning", repo.error)];
    const list = repo.list;
    if (!list) return [];
    const groups = hostGroups(list);
    const nodes: Node[] = groups.length
      ? groups.map((g) => new HostNode(repo.root, g))
      : this.grouped(repo.root, list.constructs, repo.groups);
    for (const b of list.broken ?? []) nodes.push(brokenNode(b));
    return nodes;
  }

  /** Constructs, each group's attempts gathered under their group's node. */
  private grouped(root: string, constructs: Construct[], groups: GroupInfo[], host?: HostNode): Node[] {
    return byGroup(constructs, groups).map((x) =>
      isAttemptGroup(x) ? new GroupNode(root, x, host) : new ConstructNode(root, x, host),
    );
  }

  private groupsOf(root: string): GroupInfo[] {
    return this.repos?.find((r) => r.root === root)?.groups ?? [];
  }

  private async details(node: ConstructNode): Promise<Node[]> {
    const c = node.construct;
    const out: DetailNode[] = [];
    if (c.error) out.push(new DetailNode(node, "failed", c.error, "error", "error"));
    const branch = c.worktree?.branch ?? c.branch;
    if (branch) {
      out.push(new DetailNode(node, branch, aheadBehind(c.worktree?.ahead, c.worktree?.behind) || "in step with base", "git-branch"));
    }
    if (c.workspace_path) {
      const where = c.host ? `${c.workspace_path} on ${c.host}` : c.workspace_path;
      out.push(new DetailNode(node, worktreeSummary(c) || "worktree", where, c.worktree?.dirty ? "diff" : "folder"));
    }
    const agent = agentSummary(c);
    if (agent) {
      // The state in the row; the session id (for a person to quote) in the tooltip.
      out.push(new DetailNode(node, agent, usageSummary(c.agent?.usage), "hubot", "agent", undefined, undefined, agentTooltip(c)));
      const ids = c.agent?.pending_permissions ?? [];
      const asked = ids.length ? await this.permissions(node) : new Map<string, PendingPermission>();
      for (const id of ids) {
        const p = asked.get(id);
        // What the agent asks is the row; the request's id is only the tooltip's last line.
        const label = p ? permissionText(p) : "permission requested";
        const tooltip = p
          ? `The agent asks for permission: ${permissionText(p)}\nrequest ${id}`
          : `The agent asks for a permission (the server could not tell which)\nrequest ${id}`;
        out.push(new DetailNode(node, label, "asks permission", "key", "permission", id, undefined, tooltip, p));
      }
    }
    return out;
  }

  /** The permissions the agent waits on, by id, as the server tells them (none if it cannot). */
  private async permissions(node: ConstructNode): Promise<Map<string, PendingPermission>> {
    try {
      const r = await this.server.execute("synthetic.session.permissions", { root: node.root, ref: node.construct.id });
      return new Map(r.pending.map((p) => [p.id, p]));
    } catch {
      return new Map(); // the rows then say a permission is asked, without what
    }
  }

  /** The changed files, asked of the server now (the agent may have committed since). */
  private async changes(node: ChangesNode): Promise<Node[]> {
    const c = node.parent.construct;
    let diff: DiffResult;
    try {
      diff = await this.server.execute("synthetic.construct.diff", { root: node.parent.root, ref: c.id });
    } catch (err) {
      const message = errorMessage(err);
      return [new MessageNode(message, "warning", message)];
    }
    const files = changedFiles(diff);
    if (!files.length) return [new MessageNode(`no changes against ${diff.target ?? "the base"}`, "check")];
    return files.map((f) => new ChangeNode(node, f, diff));
  }

  /** The construct's services as the server sees them now (a listing does not carry them). */
  private async services(node: ConstructNode): Promise<DetailNode[]> {
    let services: ServiceState[];
    try {
      const r = await this.server.execute("synthetic.services.status", { root: node.root, ref: node.construct.id });
      services = r.services;
    } catch {
      return []; // none to tell (no worktree ...): the construct's own rows say why
    }
    return serviceRows(services).map(
      (s) => new DetailNode(node, s.label, s.description, serviceIcon(s.state), `service ${s.state}`, undefined, s.name),
    );
  }

  getTreeItem(node: Node): vscode.TreeItem {
    if (node instanceof RepoNode) {
      const item = new vscode.TreeItem(path.basename(node.root), vscode.TreeItemCollapsibleState.Expanded);
      // The count, then what all its agents cost together (when some told it).
      const total = usageSummary(node.list?.usage);
      item.description = node.error ? "error" : [`${node.list?.constructs.length ?? 0}`, total].filter(Boolean).join(" · ");
      item.tooltip = [node.root, usageSummary(node.list?.usage) ? `all agents: ${usageDetail(node.list?.usage)}` : ""].filter(Boolean).join("\n");
      item.iconPath = new vscode.ThemeIcon("repo");
      item.contextValue = "repo";
      return item;
    }
    if (node instanceof HostNode) {
      const g = node.group;
      const item = new vscode.TreeItem(g.label, vscode.TreeItemCollapsibleState.Expanded);
      item.id = `${node.root}#host#${g.host ?? ""}`;
      item.description = hostGroupDescription(g);
      item.tooltip = hostGroupTooltip(g);
      item.iconPath =
        g.host === null
          ? new vscode.ThemeIcon("device-desktop")
          : g.state === "ok"
            ? new vscode.ThemeIcon("remote")
            : new vscode.ThemeIcon("debug-disconnect", new vscode.ThemeColor("errorForeground"));
      item.contextValue = g.host === null ? "machine" : `host ${g.state}`;
      return item;
    }
    if (node instanceof GroupNode) {
      const g = node.attempts;
      const item = new vscode.TreeItem(g.group.name, vscode.TreeItemCollapsibleState.Expanded);
      item.id = `${node.root}#group#${g.group.id}`;
      item.description = groupDescription(g);
      item.tooltip = groupTooltip(g);
      item.iconPath = new vscode.ThemeIcon("layers");
      item.contextValue = "group";
      return item;
    }
    if (node instanceof ConstructNode) {
      const c = node.construct;
      const item = new vscode.TreeItem(c.name, vscode.TreeItemCollapsibleState.Collapsed);
      item.id = `${node.root}#${c.id}`;
      item.description = constructDescription(c);
      const tip = new vscode.MarkdownString(constructTooltip(c));
      item.tooltip = tip;
      const icon = statusIcon(c.status);
      item.iconPath = new vscode.ThemeIcon(icon.icon, icon.color ? new vscode.ThemeColor(icon.color) : undefined);
      item.contextValue = constructContext(c);
      item.accessibilityInformation = { label: `${c.name}, ${statusLabel(c.status)}, ${constructDescription(c)}` };
      // A remote construct's worktree is a folder of its host, not of this machine.
      if (c.workspace_path && !c.host) item.resourceUri = vscode.Uri.file(c.workspace_path);
      return item;
    }
    if (node instanceof DetailNode) {
      const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.None);
      item.description = node.description;
      if (node.tooltip) item.tooltip = node.tooltip;
      item.iconPath = new vscode.ThemeIcon(node.icon);
      item.contextValue = node.contextValue;
      return item;
    }
    if (node instanceof ChangesNode) {
      const item = new vscode.TreeItem("Changes", vscode.TreeItemCollapsibleState.Collapsed);
      const c = node.parent.construct;
      item.id = `${node.parent.root}#${c.id}#changes`;
      const wt = c.worktree;
      item.description = [
        wt?.ahead ? `${wt.ahead} ${wt.ahead === 1 ? "commit" : "commits"}` : "",
        wt?.changes?.length ? `${wt.changes.length} uncommitted` : "",
      ].filter(Boolean).join(" · ");
      item.tooltip = "Files changed since the merge base with the branch this construct started from; open one to compare";
      item.iconPath = new vscode.ThemeIcon("git-compare");
      item.contextValue = "changes";
      return item;
    }
    if (node instanceof ChangeNode) {
      const f = node.file;
      const item = new vscode.TreeItem(f.path.slice(f.path.lastIndexOf("/") + 1), vscode.TreeItemCollapsibleState.None);
      item.id = `${node.root}#${node.diff.construct}#change#${f.path}`;
      item.description = changeDescription(f);
      item.tooltip = `${f.path}\n${changeDescription(f)}`;
      const host = node.parent.parent.construct.host;
      if (host) {
        // The file is on its host: listed here, compared there (`synthetic diff` shows the patch).
        item.tooltip = `${f.path}\n${changeDescription(f)}\non host ${host}: \`synthetic diff ${node.parent.parent.construct.id}\` shows the patch`;
        item.iconPath = new vscode.ThemeIcon("file");
        item.contextValue = "remote change";
        return item;
      }
      item.resourceUri = vscode.Uri.file(path.join(node.diff.worktree ?? node.root, f.path));
      item.contextValue = f.inWorktree ? "change file" : "change";
      item.command = { command: "synthetic.openChange", title: "Open Changes", arguments: [node] };
      return item;
    }
    const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.None);
    item.iconPath = new vscode.ThemeIcon(node.icon);
    item.tooltip = node.tooltip;
    if (node.file) item.command = { command: "vscode.open", title: "Open", arguments: [vscode.Uri.file(node.file)] };
    return item;
  }

  getParent(node: Node): Node | undefined {
    if (node instanceof ConstructNode) return node.group;
    if (node instanceof GroupNode) return node.host;
    if (node instanceof DetailNode || node instanceof ChangesNode || node instanceof ChangeNode) return node.parent;
    return undefined;
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.emitter.dispose();
    this.listsEmitter.dispose();
  }
}

function brokenNode(b: BrokenRecord): MessageNode {
  const where = `${path.basename(b.file)}${b.line ? `:${b.line}` : ""}`;
  return new MessageNode(`broken record ${where}`, "warning", b.error, b.file);
}
