// Starting, stopping and restarting synthetic-ls (`python -m synthetic_ls.lsp`)
// with vscode-languageclient, and calling its commands.

import * as vscode from "vscode";
import {
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  RevealOutputChannelOn,
  ServerOptions,
  State,
} from "vscode-languageclient/node";
import { checkServer, findInterpreter, ServerCheck } from "./python";
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
  error: string | null;
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
    const interpreter = await findInterpreter(vscode.workspace.workspaceFolders?.[0]?.uri);
    const env: NodeJS.ProcessEnv = { ...process.env, ...settings.serverEnv };
    this.output.info(`Python: ${interpreter.command.join(" ")} (from ${interpreter.source})`);
    const check = await checkServer(interpreter, env);
    this.lastCheck = check;
    if (!check.ok) {
      this.output.error(check.problem ?? "synthetic-ls cannot start");
      void vscode.window
        .showErrorMessage(`Synthetic: ${check.problem}`, "Open Settings", "Show Log")
        .then((choice) => {
          if (choice === "Open Settings") void vscode.commands.executeCommand("workbench.action.openSettings", "synthetic.interpreter");
          if (choice === "Show Log") this.output.show();
        });
      return undefined;
    }
    this.output.info(`synthetic-ls ${check.version}`);
    // -I (isolated): the server runs with the workspace as its folder, and a
    // repository's top-level argparse.py must not run in its place.
    const args = ["-I", "-m", "synthetic_ls.lsp", "--log-level", settings.logLevel, ...settings.serverArgs];
    const serverOptions: ServerOptions = {
      command: interpreter.command[0],
      args: [...interpreter.command.slice(1), ...args],
      options: { cwd: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath, env },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [
        { scheme: "file", language: "typescript", pattern: "**/synthetic.config.ts" },
        { scheme: "file", pattern: "**/synthetic.config.ts" },
      ],
      synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher("**/synthetic.config.ts") },
      outputChannel: this.output,
      traceOutputChannel: this.traceOutput,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
    };
    const client = new LanguageClient("synthetic", "Synthetic", serverOptions, clientOptions);
    this.client = client;
    client.onDidChangeState((e) => this.stateChanged.fire(e.newState === State.Running));
    try {
      await client.start();
    } catch (err) {
      this.output.error(`synthetic-ls did not start: ${String(err)}`);
      void vscode.window.showErrorMessage(`Synthetic: the language server did not start (${String(err)}). See the "Synthetic" output.`);
      this.client = undefined;
      return undefined;
    }
    this.extra.push(
      handleProgress(client),
      client.onNotification(CONSTRUCTS_CHANGED, (params: ConstructsChanged) => this.changed.fire(params)),
      client.onNotification(AGENT_STATE, (params: AgentStateChanged) => this.agentChanged.fire(params)),
    );
    this.changed.fire(undefined);
    return client;
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
