// Finding the Python that runs synthetic-ls: the `synthetic.interpreter`
// setting, then the Python extension's active interpreter, then python3 on
// PATH; and, when the server did not start, checking that it is installed
// there at a version we fit.

import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as vscode from "vscode";
import { checkServerVersion, installAdvice } from "./version";
import { getSettings } from "./settings";

export interface Interpreter {
  command: string[];
  source: "setting" | "own environment" | "python extension" | "PATH";
}

export interface ServerCheck {
  ok: boolean;
  /** The Python runs, but has no synthetic_ls: the extension can install its own. */
  missing?: boolean;
  interpreter?: Interpreter;
  version?: string;
  /** What went wrong and exactly what to run, for the user. */
  problem?: string;
}

interface PythonExtensionApi {
  environments?: {
    getActiveEnvironmentPath(resource?: vscode.Uri): { path: string } | undefined;
    resolveEnvironment(env: { path: string } | string): Promise<{ executable: { uri?: vscode.Uri } } | undefined>;
    onDidChangeActiveEnvironmentPath: vscode.Event<unknown>;
  };
}

async function pythonExtensionApi(): Promise<PythonExtensionApi | undefined> {
  const ext = vscode.extensions.getExtension<PythonExtensionApi>("ms-python.python");
  if (!ext) return undefined;
  try {
    return ext.isActive ? ext.exports : await ext.activate();
  } catch {
    return undefined;
  }
}

/** Fires when the Python extension's active interpreter changes (if it is installed). */
export async function onInterpreterChanged(listener: () => void): Promise<vscode.Disposable | undefined> {
  const api = await pythonExtensionApi();
  return api?.environments?.onDidChangeActiveEnvironmentPath(() => listener());
}

/**
 * The Python to run the server with: the setting, else the extension's own
 * environment (made by "Install the Language Server"), else the Python
 * extension's interpreter, else python3 on PATH.
 */
export async function findInterpreter(resource?: vscode.Uri, own?: string): Promise<Interpreter> {
  const settings = getSettings(resource);
  if (settings.interpreter.length) return { command: settings.interpreter, source: "setting" };
  if (own && fs.existsSync(own)) return { command: [own], source: "own environment" };
  const api = await pythonExtensionApi();
  const envs = api?.environments;
  if (envs) {
    try {
      const active = envs.getActiveEnvironmentPath(resource);
      const resolved = active ? await envs.resolveEnvironment(active) : undefined;
      const exe = resolved?.executable.uri?.fsPath;
      if (exe) return { command: [exe], source: "python extension" };
    } catch {
      // fall through to PATH
    }
  }
  return { command: [process.platform === "win32" ? "python" : "python3"], source: "PATH" };
}

function run(command: string[], args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(command[0], [...command.slice(1), ...args], { env, timeout: 30000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
      resolve({ code, out: String(stdout), err: error && !stderr ? error.message : String(stderr) });
    });
  });
}

/**
 * Is `python -m synthetic_ls.lsp` runnable and of a version we speak to?
 * Asked only once the server failed to start, to say what to run: a start
 * that works reads the version from `initialize`'s serverInfo instead.
 */
export async function checkServer(interpreter: Interpreter, env: NodeJS.ProcessEnv): Promise<ServerCheck> {
  const python = interpreter.command.join(" ");
  const r = await run(interpreter.command, ["-I", "-m", "synthetic_ls.lsp", "--version"], env);
  if (r.code !== 0) {
    const missing = /No module named|ModuleNotFoundError/.test(r.err);
    const notFound = /ENOENT/.test(r.err);
    const problem = notFound
      ? `Python not found: "${python}" (from ${interpreter.source}). Set "synthetic.interpreter" to a Python 3.11+ that has synthetic-ls installed.`
      : missing
        ? `synthetic-ls is not installed for ${python} (from ${interpreter.source}). Run: ${installAdvice(python)}`
        : `"${python} -m synthetic_ls.lsp --version" failed: ${r.err.trim().split("\n").slice(-3).join(" ")}`;
    return { ok: false, interpreter, problem, missing: missing && !notFound };
  }
  const v = checkServerVersion(r.out);
  if (!v.ok) return { ok: false, interpreter, version: v.version, problem: `${v.problem}. Run: ${installAdvice(python)}` };
  return { ok: true, interpreter, version: v.version };
}
