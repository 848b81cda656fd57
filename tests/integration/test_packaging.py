"""Packaging (issue 22, item 7): the built wheel gives a working `synthetic` and
`synthetic-ls`, with its data (the examples, the result schemas, the state
format's schemas), installed alone in a fresh environment.

The wheel is built from this checkout and installed without its
dependencies into a new virtual environment that borrows this
environment's libraries (a path, not this checkout): what runs is the
wheel's own copy of Synthetic.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_wheel_installs_working_commands(tmp_path: Path) -> None:
    # From a copy: building writes build/ and *.egg-info/ into the source folder.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", ".tools", "node_modules", "build", "*.egg-info", "__pycache__",
        "vscode-extension", "site"))
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                    "-q", "-w", str(wheels), str(source)], check=True, timeout=300,
                   capture_output=True)
    [wheel] = wheels.glob("synthetic_ls-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=120)
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                    "--no-deps", "--no-index", str(wheel)], check=True, timeout=300,
                   capture_output=True)
    # The dependencies: this environment's libraries, by path (its own copy of
    # Synthetic is an editable finder, which a bare path does not load).
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; "
                                "print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    where = subprocess.run(
        [str(python), "-c", "import synthetic_ls; print(synthetic_ls.__file__)"],
        capture_output=True, text=True, check=True, env=env, cwd=tmp_path)
    assert where.stdout.startswith(str(site)), where.stdout  # the wheel's copy

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=tmp_path,
                              timeout=120)

    assert run(str(venv / "bin" / "synthetic"), "--version").returncode == 0
    assert run(str(venv / "bin" / "synthetic-ls"), "--version").returncode == 0
    example = site / "synthetic_ls" / "examples" / "demo" / "synthetic.config.ts"
    checked = run(str(venv / "bin" / "synthetic"), "config", "check", str(example), "--json")
    assert checked.returncode == 1  # the example's deliberate mistakes, found
    codes = {d["code"] for d in json.loads(checked.stdout)}
    assert "unknown-key" in codes, checked.stdout
    assert (site / "synthetic_ls" / "schemas" / "results" / "trust.schema.json").is_file()
    assert (site / "state_format" / "schemas" / "construct.schema.json").is_file()
    completion = run(str(venv / "bin" / "synthetic"), "completion", "bash")
    assert completion.returncode == 0 and "_ARGCOMPLETE" in completion.stdout
