"""Prompt bundles on real repositories: order, repeats, variables, hostile files, records."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from synthetic_ls.cli.main import run
from tests.gitrepo import make_repo, trust

CONFIG = """export default {
  defaults: { templateId: "impl" },
  worktrees: { branchPrefix: "agent/" },
  promptSources: ["docs/prompts/**/*.md", { path: "docs/base.md", order: 0 }],
  templates: {
    impl: {
      label: "Implementation",
      prompts: ["docs/extra/*.md"],
      services: { api: { type: "process", run: "true" } },
    },
    plain: { label: "Plain" },
  },
};
"""

FILES = {
    "synthetic.config.ts": CONFIG,
    "docs/base.md": "# Base brief\nBe careful.\n",
    "docs/prompts/a.md": "Fragment A\n",
    "docs/prompts/b.md": "Fragment A\n",  # the same text as a.md: dropped
    "docs/prompts/sub/c.md": "Fragment C in ${constructName}\n",
    "docs/extra/x.md": "Work in ${workspacePath} on ${branch}.\nAPI: ${services.api.url}\n"
                       "Id ${constructId}; literal $${notAVariable}; home ${env.PROMPT_HOME}\n",
}


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = make_repo(tmp_path / "app", FILES)
    trust(path)
    monkeypatch.chdir(path)
    monkeypatch.setenv("PROMPT_HOME", "/home/test")
    monkeypatch.setenv("SYNTHETIC_PROMPT_ENV", "PROMPT_HOME")  # the person allows this one
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "user-config"))
    monkeypatch.delenv("SYNTHETIC_WORKTREES_DIR", raising=False)
    return path


def cli(capsys: pytest.CaptureFixture[str], *argv: str, code: int = 0) -> dict:
    got = run([*argv, "--json"])
    out = capsys.readouterr()
    assert got == code, (out.out, out.err)
    return json.loads(out.out if out.out.strip() else out.err)  # type: ignore[no-any-return]


def bundles(repo: Path) -> list[Path]:
    folder = repo / ".git" / "synthetic" / "prompt_bundles"
    return sorted(folder.iterdir()) if folder.exists() else []


def test_preview_orders_drops_repeats_and_shows_placeholders(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    preview = cli(capsys, "prompts", "preview", "impl")
    assert [f["path"] for f in preview["fragments"]] == [
        "docs/base.md", "docs/prompts/a.md", "docs/prompts/sub/c.md", "docs/extra/x.md"]
    assert preview["dropped"] == ["docs/prompts/b.md"]
    assert preview["fragments"][0]["order"] == 0
    assert preview["fragments"][3]["origin"] == "templates.impl.prompts"
    content = preview["content"]
    assert content.index("# Base brief") < content.index("Fragment A") < content.index(
        "Fragment C") < content.index("Work in <worktree>")
    assert "API: <url of api>" in content and "literal ${notAVariable}" in content
    assert "home /home/test" in content
    assert "## This construct" in content and "### Boundaries" in content
    assert preview["token_count"] == -(-len(content) // 4)
    assert preview["token_method"].startswith("estimate")
    assert bundles(repo) == []


def test_new_records_the_bundle_with_the_construct_values_and_rm_deletes_it(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    made = cli(capsys, "new", "Fix login", "--no-agent")
    [record] = bundles(repo)
    text = record.read_text()
    assert f'construct_id = "{made["id"]}"' in text
    assert f"Work in {made['workspace_path']} on agent/{made['id']}." in text
    assert f"Id {made['id']};" in text and "Fragment C in Fix login" in text
    assert 'token_method = "estimate' in text
    built = cli(capsys, "prompts", "build", made["id"])
    assert built["delivered"] is False and built["construct"] == made["id"]
    assert len(bundles(repo)) == 1  # replaced, not added
    assert run(["prompts", "build", made["id"], "--print"]) == 0
    assert capsys.readouterr().out.startswith("# Base brief")
    cli(capsys, "rm", made["id"], "--yes")
    assert bundles(repo) == []


def test_unknown_variable_refuses_creation_at_its_line(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "docs" / "extra" / "x.md").write_text("ok\nsee ${nope.here} there\n")
    err = cli(capsys, "new", "x", code=7)["error"]
    assert err["code"] == "prompt-error"
    assert err["message"].startswith("docs/extra/x.md:2:5: ${nope.here} is not a prompt variable")
    assert (err["file"], err["line"], err["column"]) == ("docs/extra/x.md", 2, 5)
    assert not (repo / ".git" / "synthetic" / "constructs").exists() or not list(
        (repo / ".git" / "synthetic" / "constructs").iterdir())
    assert not (repo.parent / "app.worktrees").exists()


def test_unset_environment_variable_is_an_error(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PROMPT_HOME")
    err = cli(capsys, "prompts", "preview", code=7)["error"]
    assert "environment variable PROMPT_HOME is not set" in err["message"]
    assert err["line"] == 3


def test_hostile_prompt_files_are_never_read(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET\n")
    extra = repo / "docs" / "extra"
    (extra / "x.md").unlink()
    os.symlink(secret, extra / "leak.md")
    err = cli(capsys, "prompts", "preview", code=7)["error"]
    assert "names no file" in err["message"] and "TOP-SECRET" not in json.dumps(err)
    (extra / "leak.md").unlink()
    os.mkfifo(extra / "pipe.md")
    err = cli(capsys, "prompts", "preview", code=7)["error"]  # a FIFO is no file: never opened
    assert "names no file" in err["message"]
    (extra / "pipe.md").unlink()
    (extra / "big.md").write_text("x" * (300 * 1024))
    err = cli(capsys, "prompts", "preview", code=7)["error"]
    assert "larger than 256 KiB" in err["message"]


def test_a_template_without_prompts_or_agent_gets_no_bundle_and_doctor_finds_orphans(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "synthetic.config.ts").write_text(CONFIG.replace(
        'promptSources: ["docs/prompts/**/*.md", { path: "docs/base.md", order: 0 }],', ""))
    made = cli(capsys, "new", "plain", "--template", "plain")
    assert bundles(repo) == []
    folder = repo / ".git" / "synthetic" / "prompt_bundles"
    folder.mkdir(mode=0o700)
    (folder / "stray-abc123.toml").write_text(
        'id = "stray-abc123"\nconstruct_id = "gone-zzz999"\ncontent = "x"\n'
        'created_at = "2026-01-01T00:00:00Z"\n')
    doctor = cli(capsys, "doctor", code=1)
    [finding] = [f for f in doctor["findings"] if f["kind"] == "orphan-prompt-bundle"]
    assert finding["fixable"]
    cli(capsys, "doctor", "--fix")
    assert bundles(repo) == []
    assert made["id"]


def test_config_check_warns_at_the_entry_whose_file_uses_an_unknown_variable(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "docs" / "extra" / "x.md").write_text("fine ${constructId}\nbad ${nope} here\n")
    checked: list = cli(capsys, "config", "check")  # type: ignore[assignment]
    warnings = [d for d in checked if d["code"] == "unknown-prompt-variable"]
    [warning] = warnings
    assert warning["severity"] == 2  # LSP: warning
    assert warning["message"].startswith("docs/extra/x.md:2:5 uses ${nope}")
    line = CONFIG.splitlines().index('      prompts: ["docs/extra/*.md"],')
    assert warning["range"]["start"]["line"] == line


GIT_DIR_ENTRIES = [
    ".git/config",
    "./.git/synthetic/opencode/password",
    ".git",
    ".git/**/*",
    "docs/../.git/HEAD",
    "docs/git-config.md",  # a symbolic link to .git/config
]


@pytest.mark.parametrize("entry", GIT_DIR_ENTRIES)
def test_a_prompt_may_not_read_the_git_directory(
    repo: Path, capsys: pytest.CaptureFixture[str], entry: str
) -> None:
    """The remote's token and the OpenCode password never reach a bundle or its session."""
    token = "ghp_REMOTE_TOKEN_123"
    with open(repo / ".git" / "config", "a", encoding="utf-8") as config:
        config.write(f'[remote "origin"]\n\turl = https://x:{token}@example.invalid/r.git\n')
    password = repo / ".git" / "synthetic" / "opencode" / "password"
    password.parent.mkdir(parents=True)
    password.write_text("OPENCODE-PASSWORD-XYZ\n")
    os.symlink("../.git/config", repo / "docs" / "git-config.md")
    text = CONFIG.replace('prompts: ["docs/extra/*.md"]', f"prompts: [{json.dumps(entry)}]")
    (repo / "synthetic.config.ts").write_text(text)

    checked: list = cli(capsys, "config", "check", code=1)  # type: ignore[assignment]
    [problem] = [d for d in checked if d["code"] == "prompt-reads-git-dir"]
    assert problem["severity"] == 1  # LSP: error
    line = text.splitlines().index(f"      prompts: [{json.dumps(entry)}],")
    assert problem["range"]["start"]["line"] == line

    for argv in (("prompts", "preview", "impl"), ("new", "leak", "--template", "impl")):
        err = cli(capsys, *argv, code=7)["error"]
        assert err["code"] in {"prompt-error", "config-has-errors"}, err
        dumped = json.dumps(err)
        assert token not in dumped and "OPENCODE-PASSWORD" not in dumped
    assert bundles(repo) == []
    assert not (repo.parent / "app.worktrees").exists()


def test_prompt_sources_never_bring_in_git_directory_files(tmp_path: Path) -> None:
    """At assembly too (not only at the check): a folder entry, or a link to a linked
    worktree's git folder, brings in no file from a git directory."""
    from synthetic_ls.prompts.sources import PromptError, Source, resolve

    repo = make_repo(tmp_path / "r", {"docs/a.md": "A\n"})
    os.symlink("../.git", repo / "docs" / "gitlink")
    assert [s.path for s in resolve(repo, [Source("", "docs", "promptSources", None)])] == [
        "docs/a.md"]
    with pytest.raises(PromptError) as raised:
        resolve(repo, [Source("", "docs/gitlink/config", "promptSources", None)])
    assert raised.value.code == "prompt-error" and "git directory" in str(raised.value)


def test_config_check_warns_when_a_prompt_names_a_service_its_template_lacks(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`${services.web.url}` where no template has `web`: the check says so, as creation would."""
    (repo / "docs" / "prompts" / "a.md").write_text("See ${services.web.url}\n")
    checked: list = cli(capsys, "config", "check")  # type: ignore[assignment]
    warnings = [d for d in checked if d["code"] == "unknown-prompt-service"]
    assert {w["message"].split('template "')[1].split('"')[0] for w in warnings} == {
        "impl", "plain"}
    assert all(w["message"].startswith("docs/prompts/a.md:1:5 uses ${services.web.url}")
               for w in warnings)
    line = CONFIG.splitlines().index(
        '  promptSources: ["docs/prompts/**/*.md", { path: "docs/base.md", order: 0 }],')
    assert {w["range"]["start"]["line"] for w in warnings} == {line}
    # The template's own prompt uses its own service `api`: no warning for that.
    assert not any("services.api" in w["message"] for w in warnings)
    err = cli(capsys, "prompts", "preview", "impl", code=7)["error"]  # as creation refuses
    assert "services.web.url" in err["message"]


def test_a_prompt_reads_only_the_environment_the_person_allowed(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A repository's brief.md asking for a secret gets a refusal, never the secret."""
    monkeypatch.setenv("ADV_SECRET", "s3cr3t-value")
    (repo / "docs" / "extra" / "x.md").write_text("Key: ${env.ADV_SECRET}\n")
    checked: list = cli(capsys, "config", "check")  # type: ignore[assignment]
    [asks] = [d for d in checked if d["code"] == "prompt-reads-env"]
    assert asks["severity"] == 2 and "ADV_SECRET" in asks["message"]  # a warning: not allowed
    for argv in (("prompts", "preview", "impl"), ("new", "leak", "--template", "impl")):
        err = cli(capsys, *argv, code=7)["error"]
        assert err["code"] == "prompt-error" and "not one you allowed" in err["message"]
        assert "s3cr3t" not in json.dumps(err)
    assert bundles(repo) == []
    # Allowed in the user's settings (outside the repository): read, and said so.
    settings = tmp_path / "user-config" / "synthetic" / "settings.toml"
    settings.parent.mkdir(parents=True)
    settings.write_text('[prompts]\nenv = ["ADV_SECRET"]\n')
    checked = cli(capsys, "config", "check")  # type: ignore[assignment]
    [asks] = [d for d in checked if d["code"] == "prompt-reads-env"]
    assert asks["severity"] == 3  # information
    preview = cli(capsys, "prompts", "preview", "impl")
    assert "Key: s3cr3t-value" in json.dumps(preview)


def test_an_entry_says_why_it_brings_nothing_or_too_much(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 20, item 26: a link out of the repository is called that, not "names no file";
    a glob past the 200-file cap is refused, not silently cut (with `dropped: []`)."""
    outside = tmp_path / "outside.md"
    outside.write_text("secret\n")
    os.symlink(outside, repo / "docs" / "linked.md")
    (repo / "synthetic.config.ts").write_text(
        CONFIG.replace('prompts: ["docs/extra/*.md"]', 'prompts: ["docs/linked.md"]'))
    err = cli(capsys, "prompts", "preview", "impl", code=7)["error"]
    assert "leads out of the repository" in err["message"] and "secret" not in json.dumps(err)
    many = repo / "docs" / "many"
    many.mkdir()
    for index in range(201):
        (many / f"f{index:03}.md").write_text(f"fragment {index}\n")
    (repo / "synthetic.config.ts").write_text(
        CONFIG.replace('prompts: ["docs/extra/*.md"]', 'prompts: ["docs/many/*.md"]'))
    err = cli(capsys, "prompts", "preview", "impl", code=7)["error"]
    assert "more than 200 files" in err["message"]
