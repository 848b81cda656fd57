"""Every error code is declared once (synthetic_ls.error_codes) and documented in the README.

The codes raised are found in the sources themselves: each ``code = "..."``
of a class, each ``code="..."`` passed to an error, each constant passed as
``code=``, and the code every error class derives from its name. A new code
that is not declared, or not in the README's table, fails here.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import state_format
import synthetic_ls
from state_format.errors import CodedError
from synthetic_ls.error_codes import REGISTRY, Kind, markdown_table

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = (ROOT / "synthetic_ls", ROOT / "state_format")


def _module_constants(tree: ast.Module) -> dict[str, str]:
    """``NAME = "text"`` at a module's top level."""
    out: dict[str, str] = {}
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            out[node.targets[0].id] = node.value.value
    return out


def _assigned(item: ast.stmt, name: str) -> str | None:
    """The text of ``name = "text"`` (or ``name: str = "text"``), else None."""
    if isinstance(item, ast.Assign) and len(item.targets) == 1:
        target, value = item.targets[0], item.value
    elif isinstance(item, ast.AnnAssign) and item.value is not None:
        target, value = item.target, item.value
    else:
        return None
    if isinstance(target, ast.Name) and target.id == name and isinstance(value, ast.Constant):
        return value.value if isinstance(value.value, str) else None
    return None


def codes_in_sources() -> dict[str, list[str]]:
    """Each code literally given in the sources, with where (file:line)."""
    found: dict[str, list[str]] = {}

    def note(code: str, path: Path, line: int) -> None:
        found.setdefault(code, []).append(f"{path.relative_to(ROOT)}:{line}")

    for package in PACKAGES:
        for path in package.rglob("*.py"):
            tree = ast.parse(path.read_text(), str(path))
            constants = _module_constants(tree)
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef):
                    for item in node.body:
                        text = _assigned(item, "code")
                        if text:
                            note(text, path, item.lineno)
                elif isinstance(node, ast.Call):
                    for keyword in node.keywords:
                        value = keyword.value
                        if keyword.arg != "code":
                            continue
                        if isinstance(value, ast.Constant) and isinstance(value.value, str):
                            note(value.value, path, node.lineno)
                        elif isinstance(value, ast.Name) and value.id in constants:
                            note(constants[value.id], path, node.lineno)
    return found


def _all_error_classes() -> set[type[CodedError]]:
    for package in (synthetic_ls, state_format):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if info.name.endswith("__main__"):
                continue
            importlib.import_module(info.name)
    seen: set[type[CodedError]] = set()
    todo: list[type[CodedError]] = [CodedError]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub not in seen:
                seen.add(sub)
                todo.append(sub)
    return seen


def test_every_code_written_in_the_sources_is_declared() -> None:
    undeclared = {c: where for c, where in codes_in_sources().items() if c not in REGISTRY}
    assert not undeclared, f"declare these in synthetic_ls/error_codes.py: {undeclared}"


def test_every_error_class_has_a_declared_code() -> None:
    # A class without its own ``code`` takes its name in kebab case: that counts too.
    bad = {}
    for cls in _all_error_classes():
        if cls.__module__.startswith("tests."):
            continue
        try:
            code = cls.code or CodedError.__init__.__globals__["_kebab"](cls.__name__)
        except Exception:  # pragma: no cover - a class we cannot name
            continue
        if code not in REGISTRY:
            bad[f"{cls.__module__}.{cls.__qualname__}"] = code
    assert not bad, f"undeclared codes of error classes: {bad}"


def test_every_declared_code_is_raised_somewhere() -> None:
    # A declaration nobody raises is dead: say so rather than document it.
    written = set(codes_in_sources())
    for cls in _all_error_classes():
        written.add(cls.code or CodedError.__init__.__globals__["_kebab"](cls.__name__))
    dead = sorted(set(REGISTRY) - written)
    assert not dead, f"declared but never raised: {dead}"


def test_the_documentation_has_the_table_of_every_code() -> None:
    page = (ROOT / "docs" / "reference" / "errors.md").read_text()
    assert markdown_table() in page, "run `python -m synthetic_ls.reference_docs`"
    for code in REGISTRY:
        assert f"| `{code}` |" in page


def test_the_cli_gives_each_kind_the_documented_exit_status() -> None:
    from synthetic_ls.cli.exit_codes import BY_KIND
    from synthetic_ls.error_codes import _EXIT

    assert {kind: int(code) for kind, code in BY_KIND.items()} == _EXIT


@pytest.mark.parametrize("code", sorted(REGISTRY))
def test_each_declaration_says_what_it_means(code: str) -> None:
    declared = REGISTRY[code]
    assert declared.meaning.endswith(".") and declared.kind in Kind
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", code)
