"""Put the server into the extension: ``server/`` holds synthetic_ls's wheel and the
pinned runtime requirements (from requirements-ci.txt), which the extension
installs into an environment of its own when the Python it finds has no server.
Run by ``npm run package`` before vsce.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
ROOT = HERE.parent
SERVER = HERE / "server"
#: What the server needs at run time (the rest of requirements-ci.txt is for tests).
RUNTIME = ("tree-sitter", "tree-sitter-typescript", "pydantic", "tomlkit", "filelock",
           "pygit2", "google-re2", "json5", "argcomplete", "pygls", "lsprotocol", "httpx",
           "httpx-sse")


def main() -> None:
    shutil.rmtree(SERVER, ignore_errors=True)
    SERVER.mkdir()
    pins = []
    for line in (ROOT / "requirements-ci.txt").read_text().splitlines():
        name = line.split("==", 1)[0].strip()
        if name in RUNTIME:
            pins.append(line.strip())
    missing = set(RUNTIME) - {p.split("==", 1)[0] for p in pins}
    if missing:
        sys.exit(f"bundle_server: not pinned in requirements-ci.txt: {sorted(missing)}")
    (SERVER / "requirements.txt").write_text("\n".join(pins) + "\n")
    # From a copy of the sources: a build writes build/ and *.egg-info into its folder.
    source = SERVER / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", ".tools", "node_modules", "build", "*.egg-info", "__pycache__",
        "vscode-extension", "site", "tests", "bench", "docs"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                    "--disable-pip-version-check", "-w", str(SERVER), str(source)], check=True)
    shutil.rmtree(source)


if __name__ == "__main__":
    main()
