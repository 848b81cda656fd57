"""`synthetic config check|schema` and `synthetic init`, in-process and as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from synthetic_ls.cli.main import run

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "synthetic_ls" / "examples" / "demo" / "synthetic.config.ts"
BAD = 'export default {\n  templates: { a: { type: "planing" } },\n};\n'
GOOD = 'export default {\n  templates: { a: { type: "planning" } },\n};\n'


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A real git repository as the current directory."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_check_clean_file(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "synthetic.config.ts").write_text(GOOD)
    assert run(["config", "check"]) == 0
    out, err = capsys.readouterr()
    assert out.strip().endswith("no problems") and err == ""


def test_check_errors_human_format(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "synthetic.config.ts").write_text(BAD)
    assert run(["config", "check"]) == 1
    out, _ = capsys.readouterr()
    assert out == (
        'synthetic.config.ts:2:27: error: `type` must be one of "implementation", "planning", '
        '"manual"; found "planing". Did you mean "planning"? [bad-enum]\n'
        "synthetic.config.ts: 1 error, 0 warnings\n"
    )


def test_check_from_subfolder_finds_repo_root(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (repo / "synthetic.config.ts").write_text(BAD)
    (repo / "sub" / "deeper").mkdir(parents=True)
    monkeypatch.chdir(repo / "sub" / "deeper")
    assert run(["config", "check"]) == 1
    out, _ = capsys.readouterr()
    assert out.startswith("../../synthetic.config.ts:2:27: error:")


def test_check_json(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "synthetic.config.ts").write_text(BAD)
    assert run(["config", "check", "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data == [
        {
            "range": {"start": {"line": 1, "character": 26}, "end": {"line": 1, "character": 35}},
            "severity": 1,
            "code": "bad-enum",
            "source": "synthetic",
            "message": data[0]["message"],
            "data": {"allowed": ["implementation", "planning", "manual"], "suggestion": "planning"},
        }
    ]


def test_warnings_only_exit_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "synthetic.config.ts"
    path.write_text('export default { templates: { a: { prompts: ["nope.md"] } } };\n')
    assert run(["config", "check", str(path)]) == 0
    assert "warning:" in capsys.readouterr().out


def test_missing_path_and_usage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["config", "check", str(tmp_path / "nope.ts")]) == 3
    assert "no such file" in capsys.readouterr().err
    assert run(["config", "check", "--bogus"]) == 2
    assert run(["config"]) == 2


def test_no_repo_and_no_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    if any((p / ".git").exists() for p in (tmp_path, *tmp_path.parents)):
        pytest.skip("temporary folder is inside a git repository")
    assert run(["config", "check"]) == 6
    (tmp_path / ".git").mkdir()
    assert run(["config", "check"]) == 7  # no-config, as for `new`
    assert "synthetic init" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", "no-default-export"),
        (b"\x00\x01\x02binary", "not-utf8"),
        (b'export default { a: "\xff" };', "not-utf8"),
    ],
)
def test_bad_inputs_no_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, code: str
) -> None:
    path = tmp_path / "synthetic.config.ts"
    path.write_bytes(content)
    assert run(["config", "check", str(path)]) == 1
    out, err = capsys.readouterr()
    assert f"[{code}]" in out and "Traceback" not in err


def test_directory_and_huge_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "dir.ts"
    folder.mkdir()
    assert run(["config", "check", str(folder)]) == 1
    assert "[unreadable]" in capsys.readouterr().out
    huge = tmp_path / "huge.ts"
    with huge.open("wb") as handle:
        handle.truncate(10 * 1024 * 1024)
    assert run(["config", "check", str(huge), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)[0]["code"] == "file-too-large"


def test_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["config", "schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["type"] == "object"
    assert schema["properties"]["templates"]["description"]


def test_init_writes_clean_starter_and_refuses_overwrite(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["init"]) == 0
    path = repo / "synthetic.config.ts"
    starter = path.read_text()
    assert starter.startswith("// synthetic.config.ts")
    assert run(["config", "check"]) == 0
    capsys.readouterr()
    path.write_text("// mine\n" + starter)
    assert run(["init"]) == 5
    assert "already exists" in capsys.readouterr().err
    assert path.read_text().startswith("// mine\n")


def test_init_print(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["init", "--print"]) == 0
    assert "defineSyntheticConfig" in capsys.readouterr().out


def test_demo_example_has_the_deliberate_mistakes(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["config", "check", "--json", str(DEMO)]) == 1
    found = {d["code"] for d in json.loads(capsys.readouterr().out)}
    assert {
        "unknown-key",
        "duplicate-port",
        "invalid-regex",
        "id-mismatch",
        "bad-enum",
        "path-escapes-repo",
        "agent-missing-provider",
        "port-out-of-range",
        "no-match",
        "template-substitution",
    } <= found


def test_installed_command_as_subprocess(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("synthetic")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "synthetic_ls"]
    path = tmp_path / "synthetic.config.ts"
    path.write_text(BAD)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run(
        [*command, "config", "check", str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stdout.startswith(f"{path}:2:27: error: ")
    assert "[bad-enum]" in proc.stdout and proc.stdout.rstrip().endswith("1 error, 0 warnings")
    assert "Traceback" not in proc.stderr


def test_building_the_parser_does_not_import_the_config_package() -> None:
    # Every `synthetic` command builds the whole parser: registering the
    # config commands must not load pydantic and tree-sitter.
    code = (
        "import argparse, sys\n"
        "from synthetic_ls.cli import config_cmd, init_cmd\n"
        "sub = argparse.ArgumentParser().add_subparsers()\n"
        "config_cmd.register(sub)\n"
        "init_cmd.register(sub)\n"
        "heavy = ('synthetic_ls.config', 'pydantic', 'tree_sitter')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m in heavy))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    assert out.strip() == "[]"


def _synthetic(
    *args: str, cwd: Path, timeout: float = 30, limit_memory: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run the installed ``synthetic`` command (or ``python -m synthetic_ls``) in ``cwd``.

    ``limit_memory``: give the child 1 GiB of address space, so that a check
    that blows up fails with a MemoryError instead of taking the machine.
    """
    exe = Path(sys.executable).with_name("synthetic")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "synthetic_ls"]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [*command, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        preexec_fn=_limit_memory if limit_memory else None,
    )


def _limit_memory() -> None:
    import resource  # in the child, after fork

    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


def test_named_pipe_config_does_not_hang(tmp_path: Path) -> None:
    # As a subprocess with a timeout: a check that blocks on the pipe fails
    # the test instead of hanging the suite.
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    os.mkfifo(tmp_path / "synthetic.config.ts")
    proc = _synthetic("config", "check", cwd=tmp_path)
    assert proc.returncode == 1
    assert "named pipe" in proc.stdout and "[unreadable]" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_config_linked_out_of_the_repository_is_not_shown(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = repo.parent / f"{repo.name}-key"
    secret.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n")
    (repo / "synthetic.config.ts").symlink_to(secret)
    for args in (["config", "check"], ["config", "check", "synthetic.config.ts"],
                 ["config", "check", "--json"]):
        assert run(args) == 1
        out, err = capsys.readouterr()
        assert "symlink-escapes-repo" in out
        assert "PRIVATE KEY" not in out + err and "b3Blbn" not in out + err


HOSTILE_CONFIGS = {
    # 39 lines, 1.3 KB: a38 would hold 2^38 numbers.
    "doubling": "\n".join(
        ["const a0 = [1];"]
        + [f"const a{i} = [...a{i - 1}, ...a{i - 1}];" for i in range(1, 39)]
        + ["export default { templates: { t: { prompts: a38 } } };", ""]
    ),
    # Reached 17 GB before the evaluation was bounded.
    "spread-chain": "\n".join(
        ["const p0 = { k0: 1 };"]
        + [f"const p{i} = {{ ...p{i - 1}, k{i}: p{i - 1} }};" for i in range(1, 20_001)]
        + ["export default { templates: { t: { env: p20000 } } };", ""]
    ),
    # Gave a RecursionError traceback.
    "nested": "export default { templates: " + "[" * 100_000 + "]" * 100_000 + " };\n",
}


@pytest.mark.parametrize("name", sorted(HOSTILE_CONFIGS))
def test_hostile_config_check_is_bounded(name: str, tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "synthetic.config.ts").write_text(HOSTILE_CONFIGS[name])
    proc = _synthetic("config", "check", cwd=tmp_path, timeout=60, limit_memory=True)
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert proc.returncode == 1
    assert "[too-large]" in proc.stdout or "[too-deep]" in proc.stdout
