"""The package's lazy public names, and what importing it costs."""

from __future__ import annotations

import subprocess
import sys

import synthetic_ls.config as config
from synthetic_ls.config import loader


def _modules_after(code: str) -> set[str]:
    """The modules loaded by a fresh interpreter after running ``code``."""
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys\nprint('\\n'.join(sys.modules))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return set(out.split())


def test_every_public_name_resolves() -> None:
    for name in config.__all__:
        assert getattr(config, name) is not None, name
    assert sorted(config.__all__) == sorted(config._SOURCES)
    assert set(config.__all__) <= set(dir(config))


def test_unknown_name_is_an_attribute_error() -> None:
    try:
        config.no_such_name  # noqa: B018
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")


def test_importing_the_package_loads_nothing_heavy() -> None:
    loaded = _modules_after("import synthetic_ls.config")
    assert not {"pydantic", "tree_sitter", "synthetic_ls.config.schema"} & loaded


def test_checking_does_not_load_the_json_schema_export() -> None:
    loaded = _modules_after("from synthetic_ls.config import check_config_text")
    assert "synthetic_ls.config.loader" in loaded
    assert "synthetic_ls.config.jsonschema" not in loaded


def test_cli_help_text_file_name_matches() -> None:
    from synthetic_ls.cli import config_cmd, init_cmd

    assert config_cmd.CONFIG_FILENAME == init_cmd.CONFIG_FILENAME == loader.CONFIG_FILENAME
