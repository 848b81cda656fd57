"""Shell completion (issue 22, item 3): the real bash completes through argcomplete.

`synthetic completion bash` is sourced into a real bash, whose completion
function asks `synthetic` itself, as a Tab would; it completes commands,
flags, the config's template ids and the repository's construct ids and
names, and changes nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.gitrepo import GIT_ENV, make_repo

PROJECT = Path(__file__).resolve().parents[2]
CONFIG = """export default {
  defaults: { templateId: "web" },
  templates: { web: { label: "Web" }, docs: { label: "Docs" } },
};
"""

COMPLETE = r'''
source <(synthetic completion bash)
complete_line() {
  COMP_LINE="$1"; COMP_POINT=${#COMP_LINE}; read -ra COMP_WORDS <<< "$COMP_LINE"
  [[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=("")
  COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
  COMPREPLY=()
  _python_argcomplete synthetic "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
  printf '%s\n' "${COMPREPLY[@]}"
}
complete_line "$1"
'''


def _env(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    launcher = bin_dir / "synthetic"  # this checkout's CLI, as installed
    launcher.write_text(f"#!/bin/sh\nexec {sys.executable} -m synthetic_ls.cli \"$@\"\n")
    launcher.chmod(0o755)
    return {**os.environ, **GIT_ENV, "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "PYTHONPATH": str(PROJECT)}


def complete(repo: Path, env: dict[str, str], line: str) -> list[str]:
    proc = subprocess.run(["bash", "-c", COMPLETE, "bash", line], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return [w.strip() for w in proc.stdout.splitlines() if w.strip()]


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_completes_commands_flags_templates_and_constructs(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "app", {"synthetic.config.ts": CONFIG})
    env = _env(tmp_path)
    made = []
    for name in ("login-fix", "Two words"):
        proc = subprocess.run([sys.executable, "-m", "synthetic_ls.cli", "new", name,
                               "--no-worktree", "--json"], cwd=repo, env=env,
                              capture_output=True, text=True, timeout=60, check=True)
        made.append(json.loads(proc.stdout)["id"])
    records = sorted(p.name for p in (repo / ".git" / "synthetic" / "constructs").iterdir())

    assert complete(repo, env, "synthetic tr") == ["trust"]
    assert "completion" in complete(repo, env, "synthetic co")
    assert complete(repo, env, "synthetic new x --te") == ["--template"]
    assert complete(repo, env, "synthetic new x --template ") == ["docs", "web"]
    refs = complete(repo, env, "synthetic rm ")
    assert set(made) <= set(refs) and "login-fix" in refs
    assert "Two words" not in refs  # a name with a space is offered by its id
    assert complete(repo, env, "synthetic show login-") == sorted(
        r for r in [*made, "login-fix"] if r.startswith("login-"))
    # Completing read only.
    assert sorted(p.name for p in (repo / ".git" / "synthetic" / "constructs").iterdir()) == \
        records


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_each_shell_gets_its_registration(tmp_path: Path, shell: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "synthetic_ls.cli", "completion", shell],
                          capture_output=True, text=True, timeout=60, env=_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "synthetic" in proc.stdout and "_ARGCOMPLETE" in proc.stdout


ZSH = r'''
autoload -U compinit is-at-least; compinit -u 2>/dev/null
source <(synthetic completion zsh)
# zsh shows completions through _describe inside its completion widget; outside
# one, print what it was given (the words argcomplete offered, `word:description`).
_describe() { print -rl -- "${(@P)2}" }
BUFFER="$1"; CURSOR=${#BUFFER}; words=(${=BUFFER}); [[ "$BUFFER" == *" " ]] && words+=("")
_python_argcomplete
'''


def _shell(name: str) -> str:
    """The shell's path; where the suite must be whole (CI), a missing one fails."""
    found = shutil.which(name)
    if found is None:
        if os.environ.get("SYNTHETIC_E2E_REQUIRED") == "1":
            raise AssertionError(f"{name} is not installed (apt-get install {name})")
        pytest.skip(f"{name} is not installed")
    return found


def _construct(repo: Path, env: dict[str, str]) -> str:
    proc = subprocess.run([sys.executable, "-m", "synthetic_ls.cli", "new", "shell-test",
                           "--no-worktree", "--json"], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=60, check=True)
    return str(json.loads(proc.stdout)["id"])


def test_zsh_completes_a_construct_id(tmp_path: Path) -> None:
    zsh = _shell("zsh")
    repo = make_repo(tmp_path / "app", {"synthetic.config.ts": CONFIG})
    env = _env(tmp_path)
    cid = _construct(repo, env)
    proc = subprocess.run([zsh, "-f", "-c", ZSH, "zsh", "synthetic rm "], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=60)
    offered = [line.split(":", 1)[0] for line in proc.stdout.splitlines()]
    assert cid in offered and "--force" in offered, proc.stdout + proc.stderr


def test_fish_completes_a_construct_id(tmp_path: Path) -> None:
    fish = _shell("fish")
    repo = make_repo(tmp_path / "app", {"synthetic.config.ts": CONFIG})
    env = _env(tmp_path)
    cid = _construct(repo, env)
    proc = subprocess.run(
        [fish, "--no-config", "-c",
         'synthetic completion fish | source; complete -C "synthetic show shell-"'],
        cwd=repo, env=env, capture_output=True, text=True, timeout=60)
    offered = [line.split("\t", 1)[0] for line in proc.stdout.splitlines()]
    assert cid in offered, proc.stdout + proc.stderr
