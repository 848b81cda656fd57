// Activation only: build the parts and wire them together (the layout of
// Microsoft's vscode-python-tools-extension-template).

import * as vscode from "vscode";
import { Commands } from "./commands";
import { CompareViews } from "./compareView";
import { Doctor } from "./doctor";
import { Leftovers } from "./leftovers";
import { PromptDrafts } from "./promptDraft";
import { consentDetail, type ConsentItem, usageSummary, usageTotal } from "./format";
import { onInterpreterChanged } from "./python";
import { SyntheticServer } from "./server";
import { VERSION_SCHEME, VersionContentProvider } from "./review";
import { affectsServer } from "./settings";
import { StatusBar } from "./statusBar";
import { ConstructsProvider } from "./tree";

let server: SyntheticServer | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const output = vscode.window.createOutputChannel("Synthetic", { log: true });
  const trace = vscode.window.createOutputChannel("Synthetic (LSP trace)");
  server = new SyntheticServer(output, trace, {
    storage: context.globalStorageUri.fsPath,
    extension: context.extensionPath,
  });
  server.askConsent = askConsent;
  const tree = new ConstructsProvider(server);
  const doctor = new Doctor(server);
  const statusBar = new StatusBar();
  const view = vscode.window.createTreeView("synthetic.constructs", { treeDataProvider: tree, showCollapseAll: true });
  const s = server;
  const leftovers = new Leftovers();
  const drafts = new PromptDrafts();
  const compare = new CompareViews(s, tree, output, leftovers);
  const commands = new Commands(s, tree, doctor, output, leftovers, drafts, compare);
  context.subscriptions.push(
    output,
    trace,
    s,
    tree,
    doctor,
    leftovers,
    drafts,
    compare,
    statusBar,
    view,
    ...commands.register(),
    vscode.workspace.registerTextDocumentContentProvider(VERSION_SCHEME, new VersionContentProvider(s)),
    s.onConstructsChanged(() => tree.refresh()),
    s.onAgentState((e) => {
      tree.refresh();
      if (e.permission || e.question) void commands.announce(e);
    }),
    s.onRunningChanged((up) => (up ? statusBar.serverUp() : statusBar.serverDown(s.lastCheck?.problem))),
    tree.onDidLoad((lists) => {
      statusBar.update(lists);
      const n = [...lists.values()].reduce((a, l) => a + l.constructs.length, 0);
      view.badge = undefined;
      // The count, then what every agent of every folder cost together (when told).
      const spent = usageSummary(usageTotal([...lists.values()].map((l) => l.usage)));
      view.description = n ? [`${n}`, spent].filter(Boolean).join(" · ") : undefined;
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (affectsServer(e)) void s.restart();
      else if (e.affectsConfiguration("synthetic.showStatusBar")) tree.refresh(0);
    }),
    vscode.workspace.onDidChangeWorkspaceFolders(() => tree.refresh(0)),
    vscode.workspace.onDidGrantWorkspaceTrust(() => tree.refresh(0)),
  );
  // Activation returns at once: the server starts (and the Python extension,
  // if any, activates) in the background; the view and the commands wait for it.
  void onInterpreterChanged(() => void s.restart()).then((interp) => {
    if (interp) context.subscriptions.push(interp);
  });
  void s.ensureStarted().then((client) => {
    if (!client) statusBar.serverDown(s.lastCheck?.problem);
  });
}

/**
 * VS Code's own trust first (a Restricted Mode window runs nothing of the
 * repository), then a modal listing exactly what the repository would run,
 * as the server listed it; the server remembers a yes, per item and content.
 */
async function askConsent(items: ConsentItem[]): Promise<boolean> {
  if (!vscode.workspace.isTrusted) {
    void vscode.window.showWarningMessage("Synthetic: trust this workspace first; its code is not run in Restricted Mode.");
    return false;
  }
  const allow = "Allow and Run";
  const choice = await vscode.window.showWarningMessage(
    `This repository asks to run code you have not allowed yet (${items.length})`,
    { modal: true, detail: `${consentDetail(items)}\n\nAllowed once, it is asked again only when it changes.` },
    allow,
  );
  return choice === allow;
}

export async function deactivate(): Promise<void> {
  await server?.stop();
}
