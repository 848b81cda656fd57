// The server in an environment of the extension's own: when the Python found
// has no synthetic_ls, one click makes a virtual environment in the
// extension's storage with that Python and installs the server the .vsix
// brings (its wheel, and its dependencies pinned as CI tests them), so that
// nothing must be set by hand. Like Microsoft's Python tools extension
// template, the Python itself is the Python extension's or python3 on PATH.

import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as vscode from "vscode";

/** The folder the .vsix ships the server in (`npm run package` builds it). */
export function bundledServer(extensionPath: string): { wheel: string; requirements: string } | undefined {
  const folder = path.join(extensionPath, "server");
  let wheel: string | undefined;
  try {
    wheel = fs.readdirSync(folder).find((f) => f.startsWith("synthetic_ls-") && f.endsWith(".whl"));
  } catch {
    return undefined;
  }
  const requirements = path.join(folder, "requirements.txt");
  return wheel && fs.existsSync(requirements) ? { wheel: path.join(folder, wheel), requirements } : undefined;
}

/** The Python of the extension's own environment (it need not exist). */
export function ownPython(storagePath: string): string {
  return process.platform === "win32"
    ? path.join(storagePath, "server-venv", "Scripts", "python.exe")
    : path.join(storagePath, "server-venv", "bin", "python");
}

function run(command: string, args: string[], token: vscode.CancellationToken): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, args, { timeout: 15 * 60 * 1000, maxBuffer: 16 * 1024 * 1024 }, (error, _out, stderr) => {
      if (error) reject(new Error(`${[command, ...args].join(" ")} failed: ${String(stderr).trim().split("\n").slice(-3).join(" ") || error.message}`));
      else resolve();
    });
    token.onCancellationRequested(() => child.kill());
  });
}

/**
 * Make the environment with `python` and install the bundled server into it,
 * with a progress notification; the own Python on success.
 */
export async function installOwnServer(python: string[], storagePath: string, extensionPath: string, output: vscode.LogOutputChannel): Promise<string> {
  const bundle = bundledServer(extensionPath);
  if (!bundle) throw new Error("this build of the extension brings no server to install");
  const venv = path.join(storagePath, "server-venv");
  const own = ownPython(storagePath);
  await fs.promises.mkdir(storagePath, { recursive: true });
  await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: "Synthetic: installing the language server", cancellable: true },
    async (progress, token) => {
      progress.report({ message: `a Python environment in ${venv}` });
      output.info(`making ${venv} with ${python.join(" ")}`);
      // -I: the person's PYTHONPATH (a checkout with an egg-info on it) must not make
      // pip think the server is installed already, nor shadow what it installs.
      await run(python[0], [...python.slice(1), "-I", "-m", "venv", venv], token);
      progress.report({ message: "synthetic-ls and its libraries (pip)" });
      output.info(`installing ${bundle.wheel} with ${bundle.requirements}`);
      await run(own, ["-I", "-m", "pip", "install", "-q", "--disable-pip-version-check", "-r", bundle.requirements, bundle.wheel], token);
    },
  );
  return own;
}
