// Starting, stopping and restarting synthetic-ls (`python -m synthetic_ls.lsp`)
// with vscode-languageclient, and calling its commands.

import * as vscode from "vscode";
import {
  CloseAction,
  ErrorHandler,
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  RevealOutputChannelOn,
  ServerOptions,
  State,
} from "vscode-languageclient/node";
import { bundledServer, installOwnServer, ownPython } from "./ownServer";
import { checkServer, findInterpreter, ServerCheck } from "./python";

/** The button that installs the server into the extension's own environment. */
const INSTALL = "Install the Language Server";
import { checkServerVersion, installAdvice } from "./version";
import { consentItems, type ConsentItem } from "./format";
import type { CommandName, CommandResults, PendingPermission } from "./model";
import { getSettings } from "./settings";
import { handleProgress } from "./progress";

export const CONSTRUCTS_CHANGED = "synthetic/constructsChanged";

export interface ConstructsChanged {
  root: string;
  stateDir: string;
}

export const AGENT_STATE = "synthetic/agentState";

/** `synthetic/agentState` (synthetic_ls/lsp/agent_events.py): an agent's state as OpenCode's events tell it. */
export interface AgentStateChanged {
  root: string;
  construct: string;
  name: string;
  session: string;
  state: string;
  turn_ended: boolean;
  /** The request of a `permission.asked` event: what the agent asks to do. */
  permission: PendingPermission | null;
  /** The request of a `question.asked` event: the texts of the agent's questions. */
  question?: AgentQuestion | null;
  error: string | null;
  /** The host, for an agent of a construct on another machine (synthetic_ls/lsp/remote_agents.py). */
  host?: string;
}

/** A question an agent asks the person (OpenCode's question tool). */
export interface AgentQuestion {
  id: string;
  questions: string[];
}

/**
 * The client, whose failure to start is told once by the extension (with
 * what to run), not also by vscode-languageclient's own "couldn't create
 * connection" notification.
 */
class StartingClient extends LanguageClient {
  starting = true;

  override error(message: string, data?: unknown, showNotification: boolean | "force" = true): void {
    super.error(message, data, this.starting ? false : showNotification);
  }
}

export class SyntheticServer implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private starting: Promise<LanguageClient | undefined> | undefined;
  private extra: vscode.Disposable[] = [];
  private readonly changed = new vscode.EventEmitter<ConstructsChanged | undefined>();
  private readonly stateChanged = new vscode.EventEmitter<boolean>();
  private readonly agentChanged = new vscode.EventEmitter<AgentStateChanged>();
  /** An agent's state as OpenCode's events tell it (a permission it asks for among them). */
  readonly onAgentState = this.agentChanged.event;
  /** Records changed on disk (the server's notification), or the server (re)started (undefined). */
  readonly onConstructsChanged = this.changed.event;
  /** The server is running (true) or not (false). */
  readonly onRunningChanged = this.stateChanged.event;
  lastCheck: ServerCheck | undefined;

  constructor(
    private readonly output: vscode.LogOutputChannel,
    private readonly traceOutput: vscode.OutputChannel,
    /** The extension's storage and install folders: its own server environment lives there. */
    private readonly paths?: { storage: string; extension: string },
  ) {}

  get running(): boolean {
    return this.client?.state === State.Running;
  }

  /** The running client, starting the server if needed; undefined (after telling the user) if it cannot start. */
  async ensureStarted(): Promise<LanguageClient | undefined> {
    if (this.client && this.running) return this.client;
    if (!this.starting) {
      this.starting = this.start().finally(() => {
        this.starting = undefined;
      });
    }
    return this.starting;
  }

  private async start(): Promise<LanguageClient | undefined> {
    const settings = getSettings();
    const own = this.paths ? ownPython(this.paths.storage) : undefined;
    const interpreter = await findInterpreter(vscode.workspace.workspaceFolders?.[0]?.uri, own);
    const env: NodeJS.ProcessEnv = { ...process.env, ...settings.serverEnv };
    this.output.info(`Python: ${interpreter.command.join(" ")} (from ${interpreter.source})`);
    // -I (isolated): the server runs with the workspace as its folder, and a
    // repository's top-level argparse.py must not run in its place.
    const args = ["-I", "-m", "synthetic_ls.lsp", "--log-level", settings.logLevel, ...settings.serverArgs];
    const serverOptions: ServerOptions = {
      command: interpreter.command[0],
      args: [...interpreter.command.slice(1), ...args],
      options: { cwd: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath, env },
    };
    let client: StartingClient | undefined = undefined;
    let fallback: ErrorHandler | undefined;
    const clientOptions: LanguageClientOptions = {
      documentSelector: [
        { scheme: "file", language: "typescript", pattern: "**/synthetic.config.ts" },
        { scheme: "file", pattern: "**/synthetic.config.ts" },
      ],
      synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher("**/synthetic.config.ts") },
      outputChannel: this.output,
      traceOutputChannel: this.traceOutput,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      // A server that never initialized (no synthetic_ls for this Python ...) is
      // not restarted over and over: the failure is explained once, below.
      // No retry, and none of vscode-languageclient's own notifications: the
      // failure is told once below, with what to run.
      initializationFailedHandler: () => false,
      errorHandler: {
        error: (e, m, n) => (fallback ??= client!.createDefaultErrorHandler()).error(e, m, n),
        closed: () =>
          client?.initializeResult
            ? (fallback ??= client.createDefaultErrorHandler()).closed()
            : { action: CloseAction.DoNotRestart, handled: true },
      },
    };
    client = new StartingClient("synthetic", "Synthetic", serverOptions, clientOptions);
    this.client = client;
    client.onDidChangeState((e) => this.stateChanged.fire(e.newState === State.Running));
    let failure: unknown;
    try {
      // No separate `--version` process first (a serial Python start-up on
      // every activation): the version comes with `initialize`'s serverInfo.
      await client.start();
    } catch (err) {
      failure = err;
    } finally {
      client.starting = false;
    }
    // A server that exits before answering `initialize` may leave start() resolved.
    if (failure !== undefined || !client.initializeResult) {
      const why = failure === undefined ? "it exited before initializing" : String(failure);
      this.output.error(`synthetic-ls did not start: ${why}`);
      this.client = undefined;
      // Only now, to say what to do: is the interpreter there, with the server?
      const check = await checkServer(interpreter, env);
      this.lastCheck = check;
      const canInstall = Boolean(check.missing && this.paths && bundledServer(this.paths.extension));
      this.tellProblem(check.ok ? `the language server did not start (${why}). See the "Synthetic" output.` : check.problem,
        canInstall ? () => this.installOwn(interpreter.command) : undefined);
      return undefined;
    }
    const info = client.initializeResult?.serverInfo;
    const v = checkServerVersion(`${info?.name ?? ""} ${info?.version ?? ""}`);
    const python = interpreter.command.join(" ");
    this.lastCheck = v.ok
      ? { ok: true, interpreter, version: v.version }
      : { ok: false, interpreter, version: v.version, problem: `${v.problem}. Run: ${installAdvice(python)}` };
    if (!v.ok) {
      this.tellProblem(this.lastCheck.problem);
      this.client = undefined;
      await client.stop(5000).catch(() => undefined);
      return undefined;
    }
    this.output.info(`synthetic-ls ${v.version}`);
    this.extra.push(
      handleProgress(client),
      client.onNotification(CONSTRUCTS_CHANGED, (params: ConstructsChanged) => this.changed.fire(params)),
      client.onNotification(AGENT_STATE, (params: AgentStateChanged) => this.agentChanged.fire(params)),
    );
    this.changed.fire(undefined);
    return client;
  }

  /** What stops the server, with what to do about it (and a one-click install, when it can). */
  private tellProblem(problem: string | undefined, install?: () => Promise<void>): void {
    this.output.error(problem ?? "synthetic-ls cannot start");
    const actions = install ? [INSTALL, "Open Settings", "Show Log"] : ["Open Settings", "Show Log"];
    void vscode.window
      .showErrorMessage(`Synthetic: ${problem ?? "synthetic-ls cannot start"}`, ...actions)
      .then((choice) => {
        if (choice === INSTALL && install) void install();
        if (choice === "Open Settings") void vscode.commands.executeCommand("workbench.action.openSettings", "synthetic.interpreter");
        if (choice === "Show Log") this.output.show();
      });
  }

  /** Install the server the extension brings into its own environment, then start it. */
  private async installOwn(python: string[]): Promise<void> {
    if (!this.paths) return;
    try {
      const own = await installOwnServer(python, this.paths.storage, this.paths.extension, this.output);
      this.output.info(`installed synthetic-ls for ${own}`);
    } catch (err) {
      this.output.error(`installing synthetic-ls: ${String(err)}`);
      void vscode.window.showErrorMessage(`Synthetic: installing the language server failed: ${String(err)}`, "Show Log")
        .then((choice) => choice === "Show Log" && this.output.show());
      return;
    }
    await this.restart();
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    for (const d of this.extra.splice(0)) d.dispose();
    if (client) {
      try {
        await client.stop(5000);
      } catch (err) {
        this.output.warn(`stopping synthetic-ls: ${String(err)}`);
      }
    }
  }

  async restart(): Promise<void> {
    this.output.info("restarting synthetic-ls");
    await this.stop();
    await this.ensureStarted();
  }

  /**
   * `workspace/executeCommand` with one JSON object (README "Language server > Commands").
   * The answer's type is the command's result type, generated from the server's schemas.
   */
  async execute<C extends CommandName>(
    command: C,
    args: Record<string, unknown>,
    token?: vscode.CancellationToken,
  ): Promise<CommandResults[C]> {
    const client = await this.ensureStarted();
    if (!client) throw new Error(this.lastCheck?.problem ?? "synthetic-ls is not running");
    this.output.debug(`${command} ${JSON.stringify(args)}`);
    // The server refuses (`consent-required`, nothing ran) to run the repository's code
    // the person has not allowed: ask them, allow exactly what they saw, and try again.
    // A second refusal means something changed meanwhile: asked again, about that.
    for (let attempt = 0; ; attempt++) {
      try {
        return (await client.sendRequest(ExecuteCommandRequest.type, { command, arguments: [args] }, token)) as CommandResults[C];
      } catch (err) {
        const items = consentItems(err);
        if (!items.length || !this.askConsent || attempt >= 3) throw err;
        if (!(await this.askConsent(items))) throw err;
        const root = typeof args.root === "string" ? { root: args.root } : {};
        await client.sendRequest(ExecuteCommandRequest.type, { command: "synthetic.trust.allow", arguments: [{ ...root, items }] });
      }
    }
  }

  /** Asks the person about what the repository would run (set by the extension). */
  askConsent?: (items: ConsentItem[]) => Promise<boolean>;

  dispose(): void {
    void this.stop();
    this.changed.dispose();
    this.stateChanged.dispose();
    this.agentChanged.dispose();
  }
}
