// The extension's commands (palette, tree view menus, code lens). Each is a
// thin face over a server command; errors show the core's message.

import * as path from "node:path";
import * as vscode from "vscode";
import { constructPickItem, errorCode, errorMessage, permissionText, promptBundleText, questionText } from "./format";
import type { CommandResults, Construct, PendingPermission, PromptBundle, RemoteRemoved, RemoveResult } from "./model";
import { removalConfirmation, removedMessage } from "./removal";
import { ConstructNode, ConstructsProvider, constructNodeOf, DetailNode, GroupNode, Node } from "./tree";
import type { CompareViews } from "./compareView";
import { checksReport } from "./groups";
import type { Doctor } from "./doctor";
import type { Leftovers } from "./leftovers";
import type { PromptDrafts } from "./promptDraft";
import { Review } from "./review";
import { remoteCreatedMessage, whereItems } from "./where";
import type { AgentStateChanged, SyntheticServer } from "./server";

const CONFIG_FILE = "synthetic.config.ts";

interface Target {
  root: string;
  construct: Construct;
}

export class Commands {
  /** The requests already told (a request is told once, however often the server says it). */
  private readonly told = new Set<string>();

  constructor(
    private readonly server: SyntheticServer,
    private readonly tree: ConstructsProvider,
    private readonly doctor: Doctor,
    private readonly output: vscode.LogOutputChannel,
    private readonly leftovers: Leftovers,
    private readonly drafts: PromptDrafts,
    private readonly compare: CompareViews,
  ) {}

  register(): vscode.Disposable[] {
    const r = (id: string, fn: (...args: never[]) => Promise<unknown> | unknown) =>
      vscode.commands.registerCommand(id, async (...args: never[]) => {
        try {
          return await fn(...args);
        } catch (err) {
          this.fail(err);
          return undefined;
        }
      });
    return [
      r("synthetic.newConstruct", (arg?: { root?: string; template_id?: string }) => this.newConstruct(arg)),
      r("synthetic.removeConstruct", (node?: Node) => this.remove(node)),
      r("synthetic.refresh", () => this.tree.refresh(0)),
      r("synthetic.openWorktree", (node?: Node) => this.openWorktree(node, true)),
      r("synthetic.openWorktreeHere", (node?: Node) => this.openWorktree(node, false)),
      r("synthetic.revealWorktree", (node?: Node) => this.revealWorktree(node)),
      r("synthetic.openSession", (node?: Node) => this.openSession(node)),
      r("synthetic.sendPrompt", (node?: Node) => this.sendPrompt(node)),
      r("synthetic.sendDraft", () => this.sendDraft()),
      r("synthetic.abort", (node?: Node) => this.abort(node)),
      r("synthetic.approve", (node?: Node) => this.reply(node, "approve")),
      r("synthetic.deny", (node?: Node) => this.reply(node, "deny")),
      r("synthetic.doctor", (node?: Node) => this.runDoctor(node)),
      r("synthetic.startService", (node?: Node) => this.service(node, "start")),
      r("synthetic.stopService", (node?: Node) => this.service(node, "stop")),
      r("synthetic.restartService", (node?: Node) => this.service(node, "restart")),
      r("synthetic.serviceLogs", (node?: Node) => this.serviceLogs(node)),
      r("synthetic.openService", (node?: Node) => this.openService(node)),
      r("synthetic.showConstruct", (node?: Node) => this.show(node)),
      r("synthetic.copyId", (node?: Node) => this.copyId(node)),
      r("synthetic.showLog", () => this.output.show()),
      r("synthetic.restartServer", () => this.server.restart()),
      r("synthetic.initConfig", () => this.initConfig()),
      r("synthetic.previewPrompts", () => this.previewPrompts()),
      r("synthetic.buildPrompts", (node?: Node) => this.buildPrompts(node)),
      r("synthetic.runChecks", (node?: Node) => this.runChecks(node)),
      r("synthetic.compareGroup", (node?: Node) => this.compareGroup(node)),
      r("synthetic.removeGroup", (node?: Node) => this.removeGroup(node)),
      ...new Review(this.server, this.tree, (node, title, filter) => this.target(node, title, filter), this.leftovers)
        .handlers()
        .map(([id, fn]) => r(id, fn)),
    ];
  }

  private fail(err: unknown): void {
    const message = errorMessage(err);
    this.output.error(`${message}${errorCode(err) ? ` [${errorCode(err)}]` : ""}`);
    void vscode.window.showErrorMessage(`Synthetic: ${message}`);
  }

  private async pickRoot(): Promise<string | undefined> {
    const roots = this.tree.roots();
    if (roots.length <= 1) return roots[0];
    const pick = await vscode.window.showQuickPick(
      roots.map((r) => ({ label: path.basename(r), description: r, root: r })),
      { title: "Synthetic: which repository?" },
    );
    return pick?.root;
  }

  /** The construct a command acts on: the tree node it was run on, else one picked. */
  private async target(node: Node | undefined, title: string, filter?: (c: Construct) => boolean): Promise<Target | undefined> {
    const owner = constructNodeOf(node);
    if (owner) return { root: owner.root, construct: owner.construct };
    const all = (await this.tree.constructs()).filter((t) => !filter || filter(t.construct));
    if (!all.length) {
      void vscode.window.showInformationMessage("Synthetic: no construct to pick.");
      return undefined;
    }
    const pick = await vscode.window.showQuickPick(
      all.map((t) => ({ ...constructPickItem(t.construct), target: t })),
      { title, matchOnDescription: true, matchOnDetail: true },
    );
    return pick?.target;
  }

  async newConstruct(arg?: { root?: string; template_id?: string }): Promise<void> {
    if (!vscode.workspace.isTrusted) {
      void vscode.window.showWarningMessage("Synthetic: trust this workspace to create constructs.");
      return;
    }
    const root = arg?.root ?? (await this.pickRoot());
    if (!root) return;
    // The config first (the server checks it): with errors nothing can be
    // created, so nothing is asked; the person is shown the problems instead.
    let list: CommandResults["synthetic.config.templates"];
    try {
      list = await this.server.execute("synthetic.config.templates", { root });
    } catch (err) {
      if (errorCode(err) !== "config-has-errors") throw err;
      await this.offerProblems(root);
      return;
    }
    // Where, asked only of a person with hosts (else it is made here, as ever).
    const host = await this.pickWhere(root);
    if (host === undefined) return;
    let templateId = arg?.template_id;
    if (!templateId) {
      if (list.templates.length === 1) templateId = list.templates[0].id;
      else if (list.templates.length > 1) {
        const items = list.templates.map((t) => ({
          label: t.label ? `${t.label}` : t.id,
          description: [t.id, t.type, t.id === list.default ? "default" : ""].filter(Boolean).join(" · "),
          detail: [t.summary, t.services?.length ? `services: ${t.services.join(", ")}` : ""].filter(Boolean).join(" — "),
          id: t.id,
        }));
        const def = items.findIndex((i) => i.id === list.default);
        if (def > 0) items.unshift(...items.splice(def, 1));
        const pick = await vscode.window.showQuickPick(items, {
          title: "New construct (1/3): template",
          placeHolder: "Pick a template",
          matchOnDescription: true,
          matchOnDetail: true,
        });
        if (!pick) return;
        templateId = pick.id;
      }
    }
    const name = await vscode.window.showInputBox({
      title: "New construct (2/3): name",
      prompt: `What is the task? (template ${templateId ?? "default"})`,
      placeHolder: "Fix the login bug",
      validateInput: (v) => (v.trim() ? undefined : "A name is needed"),
    });
    if (!name) return;
    const base = await vscode.window.showInputBox({
      title: "New construct (3/3): base ref (optional)",
      prompt: "Branch, tag or commit to start from; empty for the current HEAD",
      placeHolder: "HEAD",
    });
    if (base === undefined) return;
    const args: Record<string, unknown> = { root, name: name.trim() };
    if (templateId) args.template_id = templateId;
    if (base.trim()) args.from_ref = base.trim();
    if (host) {
      await this.createOnHost(root, { ...args, host });
      return;
    }
    let created: CommandResults["synthetic.construct.create"];
    try {
      created = await this.server.execute("synthetic.construct.create", args);
    } catch (err) {
      if (errorCode(err) === "cancelled") {
        void vscode.window.showInformationMessage("Synthetic: creation cancelled; nothing was left behind.");
        return;
      }
      if (errorCode(err) === "config-has-errors") {
        await this.offerProblems(root); // broken while the person typed the name
        return;
      }
      throw err;
    }
    this.tree.refresh(0);
    const choice = await vscode.window.showInformationMessage(
      `Synthetic: created "${created.name}" (${created.id})${created.branch ? ` on ${created.branch}` : ""}.`,
      ...(created.workspace_path ? ["Open Worktree"] : []),
    );
    if (choice === "Open Worktree" && created.workspace_path) {
      await vscode.commands.executeCommand("vscode.openFolder", vscode.Uri.file(created.workspace_path), { forceNewWindow: true });
    }
  }

  /**
   * The host to make the construct on: null for this machine (also when the
   * person has no hosts, or they cannot be read), undefined when the pick was dismissed.
   */
  private async pickWhere(root: string): Promise<string | null | undefined> {
    let hosts: CommandResults["synthetic.host.list"]["hosts"];
    try {
      hosts = (await this.server.execute("synthetic.host.list", { root })).hosts;
    } catch (err) {
      // A broken hosts file must not stop a local creation: logged, then made here.
      this.output.warn(`hosts not read: ${errorMessage(err)}`);
      return null;
    }
    const items = whereItems(hosts);
    if (!items.length) return null;
    const pick = await vscode.window.showQuickPick(items, {
      title: "New construct: where",
      placeHolder: "This machine or one of your hosts",
      matchOnDescription: true,
      matchOnDetail: true,
    });
    return pick ? pick.host : undefined;
  }

  /** `new --host`: the server makes it there (progress and consent as for a local one). */
  private async createOnHost(root: string, args: Record<string, unknown>): Promise<void> {
    let made: CommandResults["synthetic.construct.createRemote"];
    try {
      made = await this.server.execute("synthetic.construct.createRemote", args);
    } catch (err) {
      if (errorCode(err) === "cancelled") {
        void vscode.window.showInformationMessage("Synthetic: creation cancelled; nothing was left behind.");
        return;
      }
      if (errorCode(err) === "config-has-errors") {
        await this.offerProblems(root);
        return;
      }
      throw err;
    }
    this.tree.refresh(0);
    void vscode.window.showInformationMessage(remoteCreatedMessage(made));
  }

  /** The config has errors: say so, and offer them (the config opened, Problems shown). */
  private async offerProblems(root: string): Promise<void> {
    const choice = await vscode.window.showErrorMessage(
      `Synthetic: ${CONFIG_FILE} has errors; fix them to create a construct.`,
      "Show Problems",
    );
    if (choice !== "Show Problems") return;
    // Its diagnostics are published for the open document.
    await vscode.window.showTextDocument(vscode.Uri.file(path.join(root, CONFIG_FILE)), { preview: false });
    await vscode.commands.executeCommand("workbench.actions.view.problems");
  }

  /**
   * Remove a construct as the server says: its removal preview lists what
   * goes, stays and is lost, and whether `force` is needed; the person
   * confirms exactly that. Work that appears before the removal runs makes
   * the server refuse (`unsaved-work`): then a fresh preview is asked.
   */
  async remove(node?: Node): Promise<void> {
    const t = await this.target(node, "Remove construct");
    if (!t) return;
    const ref = { root: t.root, ref: t.construct.id };
    let result: RemoveResult | RemoteRemoved;
    let name = t.construct.name;
    for (;;) {
      const preview = await this.server.execute("synthetic.construct.removalPreview", ref);
      name = preview.name;
      const { message, detail, action, force } = removalConfirmation(preview, 15, t.construct.host);
      const choice = await vscode.window.showWarningMessage(message, { modal: true, detail: detail || undefined }, action);
      if (choice !== action) return;
      try {
        result = await this.server.execute("synthetic.construct.delete", { ...ref, force });
        break;
      } catch (err) {
        if (errorCode(err) !== "unsaved-work") throw err;
        this.output.info(`${t.construct.id}: ${errorMessage(err)}; asking again`);
      }
    }
    this.tree.refresh(0);
    // Told first: closing the leftover tabs waits on the workbench, never the person.
    void vscode.window.showInformationMessage(removedMessage(name, result) ?? `Synthetic: removed ${name}.`);
    await this.leftovers.close(t.root, t.construct.id, t.construct.workspace_path);
  }

  private async openWorktree(node: Node | undefined, newWindow: boolean): Promise<void> {
    const t = await this.target(node, "Open worktree", (c) => Boolean(c.workspace_path));
    if (!t?.construct.workspace_path) return;
    await vscode.commands.executeCommand("vscode.openFolder", vscode.Uri.file(t.construct.workspace_path), {
      forceNewWindow: newWindow,
    });
  }

  private async revealWorktree(node: Node | undefined): Promise<void> {
    const t = await this.target(node, "Reveal worktree", (c) => Boolean(c.workspace_path));
    if (!t?.construct.workspace_path) return;
    const uri = vscode.Uri.file(t.construct.workspace_path);
    if (vscode.workspace.getWorkspaceFolder(uri)) {
      await vscode.commands.executeCommand("revealInExplorer", uri);
      return;
    }
    const choice = await vscode.window.showInformationMessage(
      `The worktree ${uri.fsPath} is outside this workspace.`,
      "Add to Workspace",
      "Reveal in OS",
    );
    if (choice === "Add to Workspace") {
      vscode.workspace.updateWorkspaceFolders(vscode.workspace.workspaceFolders?.length ?? 0, 0, { uri });
    } else if (choice === "Reveal in OS") {
      await vscode.commands.executeCommand("revealFileInOS", uri);
    }
  }

  private async openSession(node: Node | undefined): Promise<void> {
    const t = await this.target(node, "Open agent session", (c) => Boolean(c.opencode_session_id));
    if (!t) return;
    const r = await this.server.execute("synthetic.session.open", {
      root: t.root,
      ref: t.construct.id,
    });
    const argv = r.terminal_argv?.length ? r.terminal_argv : r.argv;
    if (!argv?.length) throw new Error("the server gave no command to open the session");
    const terminal = vscode.window.createTerminal({
      name: `Agent: ${t.construct.name}`,
      shellPath: argv[0],
      shellArgs: argv.slice(1),
      cwd: t.construct.workspace_path ?? t.root,
      iconPath: new vscode.ThemeIcon("hubot"),
    });
    this.leftovers.track(t.root, t.construct.id, terminal);
    terminal.show();
  }

  /** Send Prompt: a multi-line draft editor for the construct (sent by `synthetic.sendDraft`). */
  private async sendPrompt(node: Node | undefined): Promise<void> {
    const t = await this.target(node, "Send a prompt to the agent", (c) => Boolean(c.opencode_session_id));
    if (!t) return;
    await this.drafts.open({ root: t.root, id: t.construct.id, name: t.construct.name });
  }

  /** Send the prompt draft in the active editor to its construct's agent, and close it. */
  private async sendDraft(): Promise<void> {
    const draft = this.drafts.active();
    if (!draft) {
      void vscode.window.showInformationMessage("Synthetic: open a prompt draft with Send Prompt to Agent... first.");
      return;
    }
    const text = draft.doc.getText();
    if (!text.trim()) {
      void vscode.window.showWarningMessage("Synthetic: the prompt is empty; write it first.");
      return;
    }
    const { root, id, name } = draft.target;
    await this.server.execute("synthetic.session.send", { root, ref: id, text, wait: false });
    await this.drafts.close(draft.doc);
    void vscode.window.setStatusBarMessage(`Synthetic: prompt sent to ${name}`, 5000);
    this.tree.refresh();
  }


  private async abort(node: Node | undefined): Promise<void> {
    const t = await this.target(node, "Abort the agent", (c) => Boolean(c.opencode_session_id));
    if (!t) return;
    const r = await this.server.execute("synthetic.session.abort", { root: t.root, ref: t.construct.id });
    void vscode.window.showInformationMessage(
      r.aborted ? `Synthetic: aborted ${t.construct.name}'s agent.` : `Synthetic: ${t.construct.name}'s agent was not working.`,
    );
    this.tree.refresh();
  }

  private async reply(node: Node | undefined, how: "approve" | "deny"): Promise<void> {
    const t = await this.target(node, how === "approve" ? "Approve a permission" : "Deny a permission", (c) =>
      Boolean(c.agent?.pending_permissions?.length),
    );
    if (!t) return;
    const row = node instanceof DetailNode ? node : undefined;
    let permission = row?.permission;
    if (!permission) {
      const r = await this.server.execute("synthetic.session.permissions", {
        root: t.root,
        ref: t.construct.id,
      });
      if (!r.pending.length) {
        void vscode.window.showInformationMessage(`Synthetic: ${t.construct.name}'s agent waits for no permission.`);
        return;
      }
      permission = row?.permissionId ? r.pending.find((p) => p.id === row.permissionId) : undefined;
      if (!permission) {
        const pick =
          r.pending.length === 1
            ? { permission: r.pending[0] }
            : await vscode.window.showQuickPick(
                r.pending.map((p) => ({ label: permissionText(p), detail: `request ${p.id}`, permission: p })),
                { title: `${how === "approve" ? "Approve" : "Deny"}: which permission?` },
              );
        if (!pick) return;
        permission = pick.permission;
      }
    }
    await this.answer(t.root, t.construct.id, permission, how);
  }

  /** Approve (once or always, as the person picks) or deny one request, named by what it asks. */
  private async answer(root: string, ref: string, permission: PendingPermission, how: "approve" | "deny"): Promise<void> {
    let always = false;
    if (how === "approve") {
      const mode = await vscode.window.showQuickPick(
        [
          { label: "Once", description: "allow this request only", always: false },
          { label: "Always", description: "allow requests like it for the rest of the session", always: true },
        ],
        { title: `Approve ${permissionText(permission)}` },
      );
      if (!mode) return;
      always = mode.always;
    }
    const args: Record<string, unknown> = { root, ref, permission_id: permission.id };
    if (how === "approve") args.always = always;
    await this.server.execute(`synthetic.session.${how}`, args);
    this.tree.refresh();
  }

  /**
   * What an agent asks, as it arrives (`synthetic/agentState` with a
   * permission or a question), whichever construct asks (shown in the tree or
   * not): told once per request, with its content and the actions.
   */
  async announce(e: AgentStateChanged): Promise<void> {
    const id = e.permission?.id ?? e.question?.id;
    if (!id || this.told.has(`${e.root}#${id}`)) return;
    this.told.add(`${e.root}#${id}`);
    if (e.permission) await this.announcePermission(e);
    else if (e.question) await this.announceQuestion(e);
  }

  /** A question: its text, and the agent's session (where it is answered) one click away. */
  private async announceQuestion(e: AgentStateChanged): Promise<void> {
    if (!e.question) return;
    const choice = await vscode.window.showWarningMessage(
      `Synthetic: ${e.name}'s agent asks: ${questionText(e.question)}`,
      "Open Session",
    );
    if (choice !== "Open Session") return;
    const t = (await this.tree.constructs()).find((x) => x.root === e.root && x.construct.id === e.construct);
    if (t) await this.openSession(new ConstructNode(t.root, t.construct));
  }

  /** A permission request: a notification that says what the agent asks, with Approve and Deny. */
  private async announcePermission(e: AgentStateChanged): Promise<void> {
    const permission = e.permission;
    if (!permission) return;
    const where = e.host ? ` (on host ${e.host})` : "";
    const choice = await vscode.window.showWarningMessage(
      `Synthetic: ${e.name}'s agent${where} asks for permission: ${permissionText(permission)}`,
      "Approve",
      "Deny",
    );
    if (!choice) return;
    try {
      await this.answer(e.root, e.construct, permission, choice === "Approve" ? "approve" : "deny");
    } catch (err) {
      if (errorCode(err) === "no-pending-permission") {
        // Answered meanwhile (from the tree or OpenCode's terminal): nothing left to do.
        void vscode.window.showInformationMessage(`Synthetic: that request of ${e.name}'s agent was already answered.`);
        this.tree.refresh(0);
        return;
      }
      this.fail(err);
    }
  }

  /** Start, stop or restart one service (a service row) or all of a construct's. */
  private async service(node: Node | undefined, how: "start" | "stop" | "restart"): Promise<void> {
    const t = await this.target(node, `${how[0].toUpperCase()}${how.slice(1)} services`);
    if (!t) return;
    const args: Record<string, unknown> = { root: t.root, ref: t.construct.id };
    const service = node instanceof DetailNode ? node.serviceName : undefined;
    if (service) args.service = service;
    await this.server.execute(`synthetic.services.${how}`, args);
    this.tree.refresh(0);
  }

  private async serviceLogs(node: Node | undefined): Promise<void> {
    const t = await this.target(node, "Service log");
    if (!t) return;
    let service = node instanceof DetailNode ? node.serviceName : undefined;
    if (!service) {
      const r = await this.server.execute("synthetic.services.status", {
        root: t.root,
        ref: t.construct.id,
      });
      const names = r.services.map((s) => s.name);
      service = names.length === 1 ? names[0] : await vscode.window.showQuickPick(names, { title: "Which service?" });
      if (!service) return;
    }
    const r = await this.server.execute("synthetic.services.logs", {
      root: t.root,
      ref: t.construct.id,
      service,
      lines: 500,
    });
    if (r.path) {
      await vscode.window.showTextDocument(vscode.Uri.file(r.path), { preview: true });
      return;
    }
    const doc = await vscode.workspace.openTextDocument({ language: "log", content: (r.lines ?? []).join("\n") });
    await vscode.window.showTextDocument(doc, { preview: true });
  }

  /**
   * A remote construct's service, reached here: the server forwards its ports
   * over ssh (`synthetic.services.open`) and answers local URLs; the one picked
   * is opened in the browser and shown.
   */
  private async openService(node: Node | undefined): Promise<void> {
    const t = await this.target(node, "Open a service of", (c) => !!c.host);
    if (!t) return;
    const r = await this.server.execute("synthetic.services.open", { root: t.root, ref: t.construct.id });
    if (!r.forwards.length) {
      void vscode.window.showInformationMessage(`Synthetic: ${t.construct.name} has no service port to open.`);
      return;
    }
    const items = r.forwards.map((f) => ({ label: f.service, description: `${f.url} (${f.env})`, forward: f }));
    const pick = items.length === 1 ? items[0] : await vscode.window.showQuickPick(items, { title: "Which service?" });
    if (!pick) return;
    const f = pick.forward;
    void vscode.window.showInformationMessage(
      `Synthetic: ${f.service} of ${t.construct.name} (port ${f.remote_port} on host ${r.host}) is at ${f.url}`,
    );
    await vscode.env.openExternal(vscode.Uri.parse(f.url));
  }

  private async runDoctor(node?: Node): Promise<void> {
    const root = node instanceof ConstructNode ? node.root : await this.pickRoot();
    if (!root) return;
    const constructs = (await this.tree.constructs()).filter((t) => t.root === root).map((t) => t.construct);
    // The server reports the doctor's progress ($/progress, see progress.ts).
    const report = await this.doctor.run(root, constructs);
    if (vscode.workspace.isTrusted) await this.doctor.pickAndFix(root, report);
    else if (report.findings.length) void vscode.commands.executeCommand("workbench.actions.view.problems");
    this.tree.refresh();
  }

  private async show(node?: Node): Promise<void> {
    const t = await this.target(node, "Show construct");
    if (!t) return;
    const shown = await this.server.execute("synthetic.construct.show", { root: t.root, ref: t.construct.id });
    const doc = await vscode.workspace.openTextDocument({ language: "json", content: JSON.stringify(shown, null, 2) });
    await vscode.window.showTextDocument(doc, { preview: true });
  }

  /** A template's prompt bundle, as a new construct would get it, in a markdown document. */
  private async previewPrompts(): Promise<void> {
    const root = await this.pickRoot();
    if (!root) return;
    const list = await this.server.execute("synthetic.config.templates", { root });
    let templateId = list.templates.length === 1 ? list.templates[0].id : undefined;
    if (!templateId && list.templates.length > 1) {
      const pick = await vscode.window.showQuickPick(
        list.templates.map((t) => ({ label: t.label || t.id, description: t.id, id: t.id })),
        { title: "Preview the prompt bundle of which template?" },
      );
      if (!pick) return;
      templateId = pick.id;
    }
    const bundle = await this.server.execute("synthetic.prompts.preview", {
      root,
      ...(templateId ? { template_id: templateId } : {}),
    });
    await this.showBundle(bundle, `what a new construct of template ${bundle.template_id} would get`);
  }

  /** Remake a construct's prompt bundle (its agent gets the new one) and show it. */
  private async buildPrompts(node?: Node): Promise<void> {
    const t = await this.target(node, "Rebuild the prompt bundle of which construct?");
    if (!t) return;
    const bundle = await this.server.execute("synthetic.prompts.build", {
      root: t.root,
      ref: t.construct.id,
    });
    await this.showBundle(bundle, `bundle of ${t.construct.id}${bundle.delivered ? " (sent to its agent)" : ""}`);
  }

  private async showBundle(bundle: PromptBundle, title: string): Promise<void> {
    const doc = await vscode.workspace.openTextDocument({
      language: "markdown",
      content: promptBundleText(bundle, title),
    });
    await vscode.window.showTextDocument(doc, { preview: true });
  }

  /**
   * Run the construct's template checks (the server asks consent first, as
   * for any code of the repository): a notification says which passed, the
   * output channel keeps each check's last lines.
   */
  private async runChecks(node?: Node): Promise<void> {
    const t = await this.target(node, "Run the checks of which construct?", (c) => Boolean(c.workspace_path) && !c.host);
    if (!t) return;
    const r = await this.server.execute("synthetic.construct.check", { root: t.root, ref: t.construct.id });
    const { message, lines } = checksReport(t.construct.name, r);
    for (const line of lines) this.output.info(line);
    const choice = await (r.passed
      ? vscode.window.showInformationMessage(message, "Show Output")
      : vscode.window.showWarningMessage(message, "Show Output"));
    if (choice === "Show Output") this.output.show(true);
  }

  /** The group a command acts on: the group's node, an attempt's group, else one picked. */
  private async groupTarget(node: Node | undefined, title: string): Promise<{ root: string; id: string; name: string } | undefined> {
    this.output.debug(`group command on ${node === undefined ? "no node" : `a ${(node as { kind?: string }).kind} node`}`);
    if (node instanceof GroupNode) return { root: node.root, id: node.attempts.group.id, name: node.attempts.group.name };
    const owner = constructNodeOf(node);
    if (owner?.group instanceof GroupNode) {
      const g = owner.group.attempts.group;
      return { root: owner.root, id: g.id, name: g.name };
    }
    const root = await this.pickRoot();
    if (!root) return undefined;
    const { groups } = await this.server.execute("synthetic.group.list", { root });
    if (!groups.length) {
      void vscode.window.showInformationMessage("Synthetic: no group of attempts here (`synthetic new TASK --attempts N` makes one).");
      return undefined;
    }
    const pick = await vscode.window.showQuickPick(
      groups.map((g) => ({ label: g.name, description: `${g.id} · ${g.members.length} attempts`, detail: g.prompt, g })),
      { title, matchOnDescription: true },
    );
    return pick ? { root, id: pick.g.id, name: pick.g.name } : undefined;
  }

  private async compareGroup(node?: Node): Promise<void> {
    const g = await this.groupTarget(node, "Compare the attempts of which group?");
    if (g) await this.compare.open(g.root, g.id);
  }

  /** Remove a group and every attempt in it; attempts with unmerged work need a second yes. */
  private async removeGroup(node?: Node): Promise<void> {
    const g = await this.groupTarget(node, "Remove which group?");
    if (!g) return;
    const choice = await vscode.window.showWarningMessage(
      `Remove the group ${g.name} and all its attempts?`,
      { modal: true, detail: "Each attempt's worktree, branch and record are removed." },
      "Remove Group",
    );
    if (choice !== "Remove Group") return;
    let r: CommandResults["synthetic.group.delete"];
    try {
      r = await this.server.execute("synthetic.group.delete", { root: g.root, ref: g.id });
    } catch (err) {
      if (errorCode(err) !== "conflict") throw err;
      // The server says which attempts hold work never landed: that is what the person confirms.
      const force = await vscode.window.showWarningMessage(
        `Some attempts of ${g.name} have work that was never landed. Remove them anyway?`,
        { modal: true, detail: errorMessage(err) },
        "Remove and Lose the Work",
      );
      if (force !== "Remove and Lose the Work") return;
      r = await this.server.execute("synthetic.group.delete", { root: g.root, ref: g.id, force: true });
    }
    this.tree.refresh(0);
    void vscode.window.showInformationMessage(`Synthetic: removed the group ${g.name} and ${r.members.length} attempt(s).`);
  }

  private async copyId(node?: Node): Promise<void> {
    const t = await this.target(node, "Copy construct id");
    if (t) await vscode.env.clipboard.writeText(t.construct.id);
  }

  private async initConfig(): Promise<void> {
    const root = await this.pickRoot();
    if (!root) return;
    const r = await this.server.execute("synthetic.config.init", { root });
    await vscode.window.showTextDocument(vscode.Uri.file(r.file));
  }
}
