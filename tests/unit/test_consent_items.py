"""What a repository would run, item by item, and the answers kept about it (issue 20, item 6)."""

from __future__ import annotations

import json
from pathlib import Path

import pygit2
import pytest

from synthetic_ls.config import load_config
from synthetic_ls.consent import trust_store
from synthetic_ls.consent.items import RunItem, opencode_items, template_items
from synthetic_ls.consent.sources import CommitFiles, FolderFiles
from tests.gitrepo import git, make_repo

CONFIG = """export default {
  templates: {
    t: {
      env: { MODE: "dev" },
      setup: ["npm ci"],
      services: { web: { run: "npm run dev", stop: "npm run stop" } },
      teardown: ["rm -rf tmp"],
      checks: { test: "npm test", lint: { run: "npm run lint", cwd: "src" } },
    },
  },
};
"""


def _template(tmp_path: Path, text: str = CONFIG):  # type: ignore[no-untyped-def]
    repo = make_repo(tmp_path / "r", {"synthetic.config.ts": text})
    result = load_config(repo)
    assert result.config is not None and not result.has_errors
    return result.config.templates["t"]


def test_template_items_name_each_command_and_change_with_any_part(tmp_path: Path) -> None:
    items = template_items("t", _template(tmp_path))
    assert [(i.kind, i.where, i.text) for i in items] == [
        ("setup", "template t", "npm ci"),
        ("service", "service web of template t", "npm run dev (stop: npm run stop)"),
        ("teardown", "template t", "rm -rf tmp"),
        ("check", "check test of template t", "npm test"),
        ("check", "check lint of template t", "npm run lint"),
    ]
    assert items == template_items("t", _template(tmp_path / "again"))
    # The environment reaches every command: changing it changes every item.
    other = template_items("t", _template(tmp_path / "env", CONFIG.replace('"dev"', '"prod"')))
    assert not {i.digest for i in items} & {i.digest for i in other}
    stop = template_items("t", _template(tmp_path / "stop", CONFIG.replace("stop\"", "halt\"")))
    assert [i.digest == j.digest for i, j in zip(items, stop, strict=True)] == [
        True, False, True, True, True]
    # A check's folder decides what runs too.
    moved = template_items("t", _template(tmp_path / "cwd", CONFIG.replace('"src"', '"lib"')))
    assert [i.digest == j.digest for i, j in zip(items, moved, strict=True)] == [
        True, True, True, True, False]


OPENCODE_JSONC = """// the repository's OpenCode config
{
  "model": "offline/echo",
  "mcp": { "db": { "type": "local", "command": ["npx", "db-mcp"], }, },
  "formatter": { "fmt": { "command": ["./fmt.sh", "$FILE"] } },
}
"""


def test_opencode_items_from_a_folder_and_from_a_commit_agree(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {
        "opencode.jsonc": OPENCODE_JSONC,
        ".opencode/plugin/a.js": "export const A = async () => ({});\n",
        ".opencode/tool/deep/t.ts": "export default {};\n",
        ".opencode/agent/review.md": "a prompt, not code\n",
        ".opencode/opencode.json": json.dumps({"model": "x/y"}),  # starts nothing
    })
    on_disk = opencode_items(FolderFiles(repo))
    head = git(repo, "rev-parse", "HEAD").strip()
    in_commit = opencode_items(CommitFiles(pygit2.Repository(str(repo)), head))
    assert on_disk == in_commit
    assert [(i.kind, i.where) for i in on_disk] == [
        ("opencode-code", ".opencode/plugin/a.js"),
        ("opencode-code", ".opencode/tool/deep/t.ts"),
        ("opencode-config", "opencode.jsonc"),
    ]
    config = on_disk[-1]
    assert "MCP servers db (npx db-mcp)" in config.text and "formatters fmt (./fmt.sh $FILE)" \
        in config.text


def test_an_opencode_config_is_known_by_what_it_starts_not_by_its_bytes(tmp_path: Path) -> None:
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "opencode.json").write_text(json.dumps({"mcp": {"a": {"command": ["x"]}}}))
    before = opencode_items(FolderFiles(folder))
    # OpenCode adds "$schema" to a config it reads; reformatting means nothing either.
    (folder / "opencode.json").write_text(json.dumps(
        {"$schema": "https://opencode.ai/config.json", "mcp": {"a": {"command": ["x"]}}},
        indent=4))
    assert opencode_items(FolderFiles(folder)) == before
    (folder / "opencode.json").write_text(json.dumps({"mcp": {"a": {"command": ["y"]}}}))
    assert opencode_items(FolderFiles(folder))[0].digest != before[0].digest
    # What cannot be read is listed whole, by its bytes.
    (folder / "opencode.json").write_text("{ not json")
    [unreadable] = opencode_items(FolderFiles(folder))
    assert "cannot read" in unreadable.text


def test_the_answers_file_trusts_nothing_when_broken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    root = tmp_path / "repo"
    root.mkdir()
    item = RunItem("setup", "template t", "make", "a" * 64)
    assert trust_store.allow(root, [item]) == [item]
    assert trust_store.allow(root, [item]) == []  # known already
    assert trust_store.trusted_digests(root) == {"a" * 64}
    path = trust_store.trust_file(root)
    path.write_text("this is [not toml")
    assert trust_store.trusted_digests(root) == frozenset()
    path.write_text('trusted = [{digest = "' + "b" * 64 + '"}]\n' + "#" * (2 * 1024 * 1024))
    assert trust_store.trusted_digests(root) == frozenset()


@pytest.mark.parametrize("bad", [
    None, [], {"kind": "setup"}, {"kind": "rm -rf", "where": "", "text": "", "digest": "a" * 64},
    {"kind": "setup", "where": "", "text": "", "digest": "z" * 64},
    {"kind": "setup", "where": 1, "text": "", "digest": "a" * 64},
])
def test_an_item_sent_back_by_a_face_is_checked(bad: object) -> None:
    assert RunItem.from_dict(bad) is None


def test_consent_pinned_to_digests_allows_those_items_and_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from synthetic_ls.cli.consent_prompt import parse_digests
    from synthetic_ls.consent.gate import Consent, ConsentRequiredError, require
    from synthetic_ls.errors import InvalidInputError

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    root = tmp_path / "repo"
    root.mkdir()
    shown = RunItem("setup", "template t", "make", "a" * 64)
    other = RunItem("setup", "template t", "make install", "b" * 64)
    pinned = Consent(only=parse_digests("a" * 64))
    with pytest.raises(ConsentRequiredError) as refused:
        require(root, pinned, [shown, other], doing="creating x")
    assert [i["digest"] for i in refused.value.fields["items"]] == ["b" * 64]
    assert trust_store.trusted_digests(root) == frozenset()  # nothing remembered
    require(root, pinned, [shown], doing="creating x")
    assert trust_store.trusted_digests(root) == {"a" * 64}
    # Nothing to run needs nothing pinned; a digest that is none is refused.
    require(root, Consent(only=parse_digests("")), [], doing="creating x")
    with pytest.raises(InvalidInputError):
        parse_digests("a" * 64 + ",rm -rf")
