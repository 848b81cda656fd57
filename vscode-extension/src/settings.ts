// The extension's settings (package.json "contributes.configuration").

import * as vscode from "vscode";

export const SECTION = "synthetic";

export interface Settings {
  /** The Python command, e.g. ["/home/me/.venv/bin/python"]; empty: ask the Python extension. */
  interpreter: string[];
  /** Extra arguments for `python -m synthetic_ls.lsp`. */
  serverArgs: string[];
  /** Extra environment variables for the server. */
  serverEnv: Record<string, string>;
  /** The server's log level (`--log-level`). */
  logLevel: string;
  /** Show the status bar item. */
  statusBar: boolean;
}

export function getSettings(scope?: vscode.ConfigurationScope): Settings {
  const c = vscode.workspace.getConfiguration(SECTION, scope);
  const interpreter = c.get<string[] | string>("interpreter", []);
  return {
    interpreter: (typeof interpreter === "string" ? (interpreter ? [interpreter] : []) : interpreter).map((s) =>
      resolveVariables(s),
    ),
    serverArgs: c.get<string[]>("serverArgs", []),
    serverEnv: c.get<Record<string, string>>("serverEnv", {}),
    logLevel: c.get<string>("logLevel", "WARNING"),
    statusBar: c.get<boolean>("showStatusBar", true),
  };
}

/** `${workspaceFolder}`, `${userHome}` and `${env:NAME}` in a setting. */
export function resolveVariables(value: string): string {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? "";
  return value
    .replace(/\$\{workspaceFolder\}/g, folder)
    .replace(/\$\{userHome\}/g, process.env.HOME ?? process.env.USERPROFILE ?? "")
    .replace(/\$\{env:([^}]+)\}/g, (_m, name: string) => process.env[name] ?? "");
}

/** Settings whose change restarts the server. */
export const RESTART_SETTINGS = ["interpreter", "serverArgs", "serverEnv", "logLevel"].map((k) => `${SECTION}.${k}`);

export function affectsServer(e: vscode.ConfigurationChangeEvent): boolean {
  return RESTART_SETTINGS.some((s) => e.affectsConfiguration(s));
}
