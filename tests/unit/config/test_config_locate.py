"""The config API an editor needs: the value tree, positions to key paths and schema fields."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthetic_ls.config import check_config_text, config_path, find_repo_root, load_config
from synthetic_ls.config.locate import locate, schema_field
from synthetic_ls.config.source import SourceText
from synthetic_ls.config.values import Obj

EXAMPLE = Path(__file__).parents[3] / "synthetic_ls" / "examples" / "demo" / "synthetic.config.ts"

CONFIG = """\
const base = { type: "process", readyTimeoutMs: 5 } as const;

export default {
  defaults: { templateId: "web" },
  templates: {
    web: {
      label: "Wéb 😀",
      type: "planning",
      services: {
        api: { ...base, run: "npm start", readyPattern: "up" },
        db: { type: "docker", image: "postgres" },
      },
    },
  },
};
"""


def _at(text: str, needle: str, delta: int = 0) -> tuple[int, int]:
    """The LSP position (line, UTF-16 column) of ``needle`` plus ``delta`` characters."""
    for number, line in enumerate(text.splitlines()):
        if needle in line:
            prefix = line[: line.index(needle) + delta]
            return number, len(prefix.encode("utf-16-le")) // 2
    raise AssertionError(needle)


@pytest.fixture
def result():  # type: ignore[no-untyped-def]
    return check_config_text(CONFIG, Path("synthetic.config.ts"), None)


def test_result_keeps_value_tree_bindings_and_references(result) -> None:  # type: ignore[no-untyped-def]
    assert not result.diagnostics
    assert isinstance(result.value, Obj)
    assert set(result.value.entries) == {"defaults", "templates"}
    assert list(result.bindings) == ["base"]
    assert [name for name, _ in result.references] == ["base"]
    assert result.source is not None
    start = result.bindings["base"].start
    assert result.source.data[start : start + 4] == b"base"


def test_key_maps_to_path_and_field(result) -> None:  # type: ignore[no-untyped-def]
    where = locate(result, *_at(CONFIG, "readyPattern", 2))
    assert where is not None
    assert where.kind == "key"
    assert where.path == ("templates", "web", "services", "api", "readyPattern")
    assert where.field is not None
    assert where.field.name == "readyPattern"
    assert where.field.type == "a string"
    assert "Regular expression" in where.field.description
    assert where.field.owner == "ProcessService"
    assert "run" in {f.name for f in where.fields}
    assert "readyPattern" in where.present


def test_enum_value_and_discriminated_service(result) -> None:  # type: ignore[no-untyped-def]
    where = locate(result, *_at(CONFIG, '"planning"', 1))
    assert where is not None and where.kind == "value" and where.field is not None
    assert where.path == ("templates", "web", "type")
    assert where.field.enum == ("implementation", "planning", "manual")
    image = locate(result, *_at(CONFIG, "image", 1))
    assert image is not None and image.field is not None
    assert image.field.owner == "DockerService" and image.field.required
    kind = locate(result, *_at(CONFIG, 'type: "docker"', 8))
    assert kind is not None and kind.field is not None
    assert kind.field.enum == ("process", "docker", "compose")


def test_record_key_is_an_id_of_its_collection(result) -> None:  # type: ignore[no-untyped-def]
    where = locate(result, *_at(CONFIG, "web: {", 1))
    assert where is not None
    assert (where.kind, where.path, where.collection) == ("key", ("templates", "web"), "template")
    assert where.field is None


def test_between_keys_is_the_object_with_its_fields(result) -> None:  # type: ignore[no-untyped-def]
    line, _ = _at(CONFIG, "db: {")
    text_line = CONFIG.splitlines()[line]
    where = locate(result, line, text_line.index("}") - 1)
    assert where is not None
    assert where.kind in ("object", "value")
    assert where.path[:4] == ("templates", "web", "services", "db")


def test_a_key_inside_a_spread_const_maps_through_its_use(result) -> None:  # type: ignore[no-untyped-def]
    where = locate(result, *_at(CONFIG, "readyTimeoutMs", 1))
    assert where is not None and where.field is not None
    assert where.path == ("templates", "web", "services", "api", "readyTimeoutMs")
    assert where.field.type == "an integer"


def test_utf16_columns_after_astral_characters() -> None:
    text = 'const s = "😀é"; const t = 1;\n'
    source = SourceText(text.encode())
    # "😀" is two UTF-16 units and four bytes; "é" one unit and two bytes.
    column = len('const s = "😀é"'.encode("utf-16-le")) // 2
    assert source.offset(0, column) == len('const s = "😀é"'.encode())
    assert source.offset(0, 11) == len(b'const s = "')  # inside the pair: its start
    assert source.offset(5, 0) == len(text.encode())
    assert source.offset(0, 999) == len(text.encode()) - 1
    for offset in (0, 11, 15, len('const s = "😀é"'.encode())):
        position = source.position(offset)
        assert source.offset(position.line, position.character) == offset


def test_nothing_outside_the_config_or_for_an_unparsed_file(result) -> None:  # type: ignore[no-untyped-def]
    assert locate(result, 1, 0) is None  # the blank line before the export
    broken = check_config_text("\x00", Path("x.ts"), None)
    assert locate(broken, 0, 0) is None


def test_schema_field_without_a_file() -> None:
    field = schema_field(("templates", "web-api", "services", "api", "readyPattern"))
    assert field is not None and field.owner == "ProcessService"
    assert schema_field(("templates", "x", "agent", "providerId")) is not None
    assert schema_field(("templates", "x", "nope")) is None
    assert schema_field(("opencode", "token")) is not None


def test_the_example_maps_its_typo_key() -> None:
    text = EXAMPLE.read_text()
    found = check_config_text(text, EXAMPLE, EXAMPLE.parent)
    where = locate(found, *_at(text, "readyPatern", 1))
    assert where is not None
    assert where.path == ("templates", "web-api", "services", "api", "readyPatern")
    assert where.field is None  # an unknown key
    assert "readyPattern" in {f.name for f in where.fields}


def test_one_repo_root_and_one_config_path(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "a" / "b").mkdir(parents=True)
    assert find_repo_root(repo / "a" / "b") == repo
    assert find_repo_root(tmp_path) is None or find_repo_root(tmp_path) != repo
    assert config_path(repo) == repo / "synthetic.config.ts"
    assert not load_config(repo).exists
    config_path(repo).write_text("export default { templates: { a: {} } };\n")
    assert load_config(repo).exists and load_config(repo).config is not None
