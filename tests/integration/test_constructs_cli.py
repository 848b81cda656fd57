"""The construct commands end to end: real repositories, the real CLI in-process and
as a subprocess, hostile names, broken files and format versions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from synthetic_ls.cli.main import run

CONFIG = """export default {
  defaults: { templateId: "impl" },
  templates: {
    impl: { label: "Implement" },
    planning: { label: "Plan", type: "planning" },
  },
};
"""
SYNTHETIC = Path(sys.executable).with_name("synthetic")


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=T", "-c", "user.email=t@e.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    _git(path, "init", "-q", "-b", "main")
    (path / "synthetic.config.ts").write_text(CONFIG)
    _git(path, "add", ".")
    _git(path, "commit", "-q", "-m", "init")
    monkeypatch.chdir(path)
    return path


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run the CLI in-process; returns (exit code, stdout, stderr)."""
    code = run(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def new(capsys: pytest.CaptureFixture[str], name: str, *extra: str) -> dict[str, object]:
    code, out, err = cli(capsys, "new", name, "--json", *extra)
    assert code == 0, err
    result: dict[str, object] = json.loads(out)
    # `show` adds the construct's services and ports to the construct's keys.
    assert result.pop("services") == [] and result.pop("ports") == []
    return result


def state(repo: Path) -> Path:
    return repo / ".git" / "synthetic"


# -- the normal flow ----------------------------------------------------------


def test_new_ls_show_edit_rm(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(
        capsys,
        "new",
        "Fix login bug",
        "--template",
        "planning",
        "--description",
        "users land on /",
        "--no-worktree",
    )
    assert code == 0 and err == ""
    assert out.startswith("Created construct fix-login-bug-")
    made = new(capsys, "Second one")  # with a worktree, the default
    assert made["template_id"] == "impl"  # defaults.templateId
    assert made["status"] == "ready"
    assert made["workspace_path"] == str(repo.parent / "repo.worktrees" / str(made["id"]))
    assert made["branch"] == f"synthetic/{made['id']}"

    code, out, _ = cli(capsys, "ls")
    lines = out.splitlines()
    assert lines[0].split() == [
        "ID",
        "STATUS",
        "TEMPLATE",
        "BRANCH",
        "WORKTREE",
        "UPDATED",
        "(UTC)",
        "NAME",
    ]
    assert "Fix login bug" in lines[1] and "planning" in lines[1] and "pending" in lines[1]
    assert "Second one" in lines[2] and "clean" in lines[2] and "synthetic/" in lines[2]

    code, out, _ = cli(capsys, "ls", "--json")
    listing = json.loads(out)
    assert listing["version"] == 1 and listing["broken"] == []
    first = listing["constructs"][0]
    assert list(first) == [
        "id",
        "name",
        "description",
        "template_id",
        "status",
        "workspace_path",
        "opencode_session_id",
        "branch",
        "base_ref",
        "base_commit",
        "isolation",
        "error",
        "created_at",
        "updated_at",
        "extra",
        "file",
        "operation",
        "host",
        "remote_id",
        "group_id",
        "model",
        "worktree",
        "agent",
    ]
    assert first["description"] == "users land on /" and first["workspace_path"] is None
    assert first["created_at"].endswith("Z")
    assert Path(first["file"]) == state(repo) / "constructs" / f"{first['id']}.toml"

    code, out, _ = cli(capsys, "show", "Fix login bug")  # by exact name
    assert code == 0 and f"id:                  {first['id']}" in out
    code, out, _ = cli(capsys, "show", first["id"][:10], "--json")  # by prefix
    assert json.loads(out)["id"] == first["id"]

    code, out, _ = cli(capsys, "edit", first["id"], "--status", "active", "--name", "Renamed")
    assert code == 0 and "name, status" in out
    code, out, _ = cli(capsys, "show", first["id"], "--json")
    shown = json.loads(out)
    assert shown["name"] == "Renamed" and shown["status"] == "active"
    assert shown["id"] == first["id"]  # the id never changes

    code, out, _ = cli(capsys, "ls", "--status", "active", "--json")
    assert [c["id"] for c in json.loads(out)["constructs"]] == [first["id"]]
    code, out, _ = cli(capsys, "ls", "--template", "impl", "--json")
    assert [c["id"] for c in json.loads(out)["constructs"]] == [made["id"]]

    code, out, _ = cli(capsys, "rm", first["id"], "--yes")
    assert code == 0 and "Removed construct" in out
    assert not (state(repo) / "constructs" / f"{first['id']}.toml").exists()
    code, out, _ = cli(capsys, "ls", "--json")
    assert [c["id"] for c in json.loads(out)["constructs"]] == [made["id"]]


def test_status_rules(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    made = new(capsys, "x", "--status", "ready")
    cid = str(made["id"])
    assert cli(capsys, "edit", cid, "--status", "archived")[0] == 0
    code, _, err = cli(capsys, "edit", cid, "--status", "active")
    assert code == 5 and "'archived' to 'active'" in err and "parked, deleting" in err
    code, _, err = cli(capsys, "edit", cid, "--status", "sleeping")
    assert code == 7 and "unknown status" in err
    code, _, err = cli(capsys, "edit", cid)
    assert code == 7 and "nothing to change" in err
    code, _, err = cli(capsys, "new", "y", "--status", "deleting")
    assert code == 7 and "cannot be chosen by hand" in err
    # Markers of an operation in progress belong to the core (issue 7, item 23).
    for argv in (["new", "z", "--status", "spawning"], ["edit", cid, "--status", "spawning"]):
        code, _, err = cli(capsys, *argv)
        assert code == 7 and "set by Synthetic" in err, argv
    code, _, err = cli(capsys, "ls", "--status", "nope")
    assert code == 7


def test_template_errors(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "new", "x", "--template", "plannig")
    assert code == 7 and "available: impl, planning" in err and "did you mean 'planning'" in err
    no_default = CONFIG.replace('defaults: { templateId: "impl" },', "")
    (repo / "synthetic.config.ts").write_text(no_default)
    code, _, err = cli(capsys, "new", "x")
    assert code == 7 and "--template" in err and "impl, planning" in err
    (repo / "synthetic.config.ts").write_text("export default { templates: [ }")
    code, _, err = cli(capsys, "new", "x", "--template", "impl")
    assert code == 7 and "synthetic config check" in err
    (repo / "synthetic.config.ts").unlink()
    code, _, err = cli(capsys, "new", "x", "--template", "impl")
    assert code == 7 and "synthetic init" in err
    assert not (state(repo) / "constructs").exists()  # nothing was written


def test_references(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = new(capsys, "same name")
    b = new(capsys, "same name")
    code, _, err = cli(capsys, "show", "same name")
    assert code == 3 and str(a["id"]) in err and str(b["id"]) in err
    code, _, err = cli(capsys, "show", "same-name")  # prefix of both ids
    assert code == 3 and "type more of the id" in err
    code, _, err = cli(capsys, "show", "nothing")
    assert code == 3 and "no construct matches 'nothing'" in err
    code, _, err = cli(capsys, "rm", str(a["id"]))  # stdin is not a terminal
    assert code == 2 and "--yes" in err
    assert (state(repo) / "constructs" / f"{a['id']}.toml").exists()


# -- hostile input --------------------------------------------------------------

HOSTILE = [
    '"; rm -rf ~; echo "',
    "$(touch PWNED) `touch PWNED2`",
    "../../../../tmp/escape",
    "..",
    "line one\nline two\r\n\ttabbed",
    "'single' \"double\" \\back\\slash",
    'name = "injected"\n[table]',
    "🚀 émoji only? ✨",
    "🚀🔥",
    "\u202eRTL override\u200b zero width",
    "nul\x00byte",
    "\x1b[31mred\x1b[0m",
    "x" * 200,
    "refs/heads/main",
    "-rf --template evil",
]


def _tree(repo: Path) -> list[str]:
    # Everything but the state folder and the managed worktrees folder.
    return sorted(
        str(p)
        for p in repo.parent.rglob("*")
        if "synthetic" not in p.parts and "repo.worktrees" not in p.parts and ".git" not in p.parts
    )


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_stay_data(repo: Path, capsys: pytest.CaptureFixture[str], name: str) -> None:
    before = _tree(repo)
    made = new(capsys, name)
    assert made["name"] == name.strip()
    cid = str(made["id"])
    files = sorted(p.name for p in (state(repo) / "constructs").iterdir())
    assert files == [f"{cid}.toml"]
    _git(repo, "check-ref-format", "--branch", f"synthetic/{cid}")
    # The worktree folder and branch come from the id alone.
    assert made["workspace_path"] == str(repo.parent / "repo.worktrees" / cid)
    assert sorted(p.name for p in (repo.parent / "repo.worktrees").iterdir()) == [cid]
    assert made["branch"] == f"synthetic/{cid}"
    assert sorted(p.name for p in (repo / ".git" / "worktrees").iterdir()) == [cid]
    assert _tree(repo) == before  # no file appeared anywhere else (no PWNED, no escape)
    code, out, _ = cli(capsys, "show", cid, "--json")
    assert json.loads(out)["name"] == name.strip()
    code, out, _ = cli(capsys, "show", name)  # by exact name, whatever it contains
    assert code == 0 and cid in out and "\x1b" not in out
    code, out, _ = cli(capsys, "ls")
    assert len(out.splitlines()) == 2  # newlines in names do not break the table
    assert "\x1b" not in out and "\x00" not in out


def test_hostile_names_through_a_real_process(repo: Path) -> None:
    # argv goes straight to execve (no shell here either): what a terminal user
    # gets after their own shell's quoting.
    before = _tree(repo)
    for name in HOSTILE[:3]:
        proc = subprocess.run(
            [str(SYNTHETIC), "new", name, "--json"], capture_output=True, text=True, check=False
        )
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["name"] == name.strip()
    assert _tree(repo) == before
    proc = subprocess.run(
        [str(SYNTHETIC), "ls", "--json"], capture_output=True, text=True, check=True
    )
    assert sorted(c["name"] for c in json.loads(proc.stdout)["constructs"]) == sorted(
        n.strip() for n in HOSTILE[:3]
    )


@pytest.mark.parametrize(
    ("name", "message"),
    [("", "cannot be empty"), ("  \n\t ", "cannot be empty"), ("x" * 201, "at most 200")],
)
def test_bad_names_are_rejected(
    repo: Path, capsys: pytest.CaptureFixture[str], name: str, message: str
) -> None:
    code, _, err = cli(capsys, "new", name)
    assert code == 7 and message in err and err.count("\n") == 1


def test_undecodable_name_bytes_are_rejected(repo: Path) -> None:
    proc = subprocess.run(
        [os.fsencode(SYNTHETIC), b"new", b"bad \xff name"], capture_output=True, check=False
    )
    assert proc.returncode == 7 and b"not valid Unicode" in proc.stderr


# -- broken state and versions ----------------------------------------------------


def test_hand_broken_file(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = new(capsys, "good")
    bad = new(capsys, "bad")
    path = state(repo) / "constructs" / f"{bad['id']}.toml"
    text = path.read_text().replace('status = "ready"', 'status = "ready\n# oops')
    path.write_text(text)
    line = text.splitlines().index('status = "ready') + 1

    code, out, err = cli(capsys, "ls")
    assert code == 0 and str(good["id"]) in out and str(bad["id"]) not in out
    assert f"{path}:{line}: broken record" in err
    code, out, err = cli(capsys, "ls", "--json")
    listing = json.loads(out)
    assert [c["id"] for c in listing["constructs"]] == [good["id"]]
    assert listing["broken"] == [
        {"file": str(path), "line": line, "error": listing["broken"][0]["error"]}
    ]
    for argv in (
        ["show", str(bad["id"])],
        ["edit", str(bad["id"]), "--name", "z"],
        ["rm", str(bad["id"]), "--yes"],
    ):
        code, _, err = cli(capsys, *argv)
        assert code == 4 and f"{path}:{line}" in err
    assert path.read_text() == text  # never overwritten
    assert cli(capsys, "edit", str(good["id"]), "--name", "still works")[0] == 0


def test_newer_format_is_refused(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    new(capsys, "x")
    (state(repo) / "format.toml").write_text("version = 99\n")
    for argv in (["ls"], ["show", "x"], ["new", "y"]):
        code, _, err = cli(capsys, *argv)
        assert code == 4 and "upgrade Synthetic" in err


def test_outside_a_repository_and_bare(tmp_path: Path) -> None:
    lone = tmp_path / "lone"
    lone.mkdir()
    env = {**os.environ, "GIT_CEILING_DIRECTORIES": str(tmp_path)}
    proc = subprocess.run(
        [str(SYNTHETIC), "-C", str(lone), "ls"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 6 and proc.stderr.startswith("synthetic: not a git repository")
    assert "Traceback" not in proc.stderr
    _git(tmp_path, "init", "-q", "--bare", "b.git")
    proc = subprocess.run(
        [sys.executable, "-m", "synthetic_ls", "-C", str(tmp_path / "b.git"), "ls"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 6 and "bare repository" in proc.stderr


def test_from_a_linked_worktree_subfolder(repo: Path, tmp_path: Path) -> None:
    linked = tmp_path / "linked"
    _git(repo, "worktree", "add", "-q", "-b", "feat", str(linked))
    (linked / "deep").mkdir()
    proc = subprocess.run(
        [str(SYNTHETIC), "-C", str(linked / "deep"), "new", "from linked", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    cid = json.loads(proc.stdout)["id"]
    assert (state(repo) / "constructs" / f"{cid}.toml").exists()
    proc = subprocess.run(
        [str(SYNTHETIC), "ls", "--json"], capture_output=True, text=True, cwd=repo, check=True
    )
    assert [c["id"] for c in json.loads(proc.stdout)["constructs"]] == [cid]


# -- start-up and the fast listing ----------------------------------------------


def test_command_homes_match_the_modules() -> None:
    import argparse
    import importlib

    from synthetic_ls.cli import main

    for module_name in main.COMMAND_MODULES:
        parser = argparse.ArgumentParser()
        sub = parser.add_subparsers()
        importlib.import_module(module_name).register(sub)
        for command in sub.choices:
            home = main.COMMAND_HOMES.get(command)
            assert home in (None, module_name), f"{command} is registered by {module_name}"
    assert set(main.COMMAND_HOMES.values()) <= set(main.COMMAND_MODULES)


@pytest.mark.parametrize(
    ("argv", "command", "modules"),
    [
        (["ls"], "ls", ("synthetic_ls.cli.constructs_cmd",)),
        (["-C", "ls", "show", "x"], "show", ("synthetic_ls.cli.constructs_cmd",)),
        (["-Cdir", "ls"], "ls", ("synthetic_ls.cli.constructs_cmd",)),
        (["--", "ls"], "ls", ("synthetic_ls.cli.constructs_cmd",)),
        (["--version"], None, ()),
        (["--vers"], None, ()),
        (["--help", "ls"], "ls", None),
        (["-h"], None, None),
        ([], None, None),
        (["nonsense"], "nonsense", None),
    ],
)
def test_only_the_needed_command_module_is_loaded(
    argv: list[str], command: str | None, modules: tuple[str, ...] | None
) -> None:
    from synthetic_ls.cli import main

    assert main.command_word(argv) == command
    assert main.modules_for(argv) == (main.COMMAND_MODULES if modules is None else modules)


def test_stale_command_home_falls_back_to_every_module(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from synthetic_ls.cli import main

    monkeypatch.setitem(main.COMMAND_HOMES, "config", "synthetic_ls.cli.constructs_cmd")
    code, out, _ = cli(capsys, "config", "--help")
    assert code == 0 and "config" in out


def test_usage_errors_and_version_keep_their_exit_codes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli(capsys, "--version")[:2] == (0, "synthetic 0.1.0\n")
    code, _, err = cli(capsys, "lss")
    assert code == 2 and "invalid choice" in err and "'config'" in err
    code, _, err = cli(capsys, "ls", "--bogus")
    assert code == 2 and "unrecognized arguments: --bogus" in err
    assert cli(capsys)[0] == 2


def test_version_imports_no_command_module() -> None:
    code = (
        "import sys\nfrom synthetic_ls.cli.main import run\nrun(['--version'])\n"
        "print(sorted(m for m in sys.modules if m.startswith(('pydantic', 'synthetic_ls.cli.', "
        "'synthetic_ls.config', 'tree_sitter'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    # The exit statuses (a table) and the terminal guard are the only other CLI modules.
    assert out.splitlines()[-1] == (
        "['synthetic_ls.cli.exit_codes', 'synthetic_ls.cli.main', 'synthetic_ls.cli.terminal']")


def test_ls_with_and_without_cache_and_with_a_filter(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from state_format import listing

    monkeypatch.setattr(listing, "RACY_NS", 0)
    a = new(capsys, "alpha", "--no-worktree")
    new(capsys, "beta ✓ 漢字", "--no-worktree", "--status", "parked")
    first = [cli(capsys, "ls", *extra) for extra in ([], ["--json"], ["--status", "Parked"])]
    assert (listing.cache_path(state(repo))).is_file()
    again = [cli(capsys, "ls", *extra) for extra in ([], ["--json"], ["--status", "Parked"])]
    assert first == again
    assert str(a["id"]) not in first[2][1] and "beta" in first[2][1]
    code, _, err = cli(capsys, "ls", "--status", "bogus")
    assert code == 7 and "unknown status 'bogus'" in err
    rows = json.loads(first[1][1])["constructs"]
    assert rows[0] == {**new_show(capsys, str(a["id"])), "worktree": None}


def new_show(capsys: pytest.CaptureFixture[str], ref: str) -> dict[str, object]:
    code, out, err = cli(capsys, "show", ref, "--json")
    assert code == 0, err
    result: dict[str, object] = json.loads(out)
    # `show` adds the construct's services, ports and checks to the construct's keys.
    assert result.pop("services") == [] and result.pop("ports") == []
    assert result.pop("checks") == []
    return result


