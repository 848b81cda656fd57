"""The layers import one way only, and no two modules import each other.

Read from the sources (every ``import``, at the top of a module or inside a
function, where the import happens when the function runs): the faces
(``cli``, ``lsp``) sit on ``ops``, which sits on ``provision``, which sits on
the building blocks (``config``, ``git``, ``prompts``, ``opencode``,
``runtime``), which sit on ``state_format``, which imports nothing of
Synthetic's and none of pygls, pygit2 or httpx. Imports made only for the
type checker (``if TYPE_CHECKING:``) name types, not dependencies, and are
left out of the cycle check (but not of the state format's independence).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: Each layer, and the layers above it that it must not import.
ABOVE: dict[str, tuple[str, ...]] = {
    "state_format": ("synthetic_ls",),
    "synthetic_ls.runtime": ("synthetic_ls.provision", "synthetic_ls.ops", "synthetic_ls.cli",
                             "synthetic_ls.lsp"),
    "synthetic_ls.config": ("synthetic_ls.provision", "synthetic_ls.ops", "synthetic_ls.cli",
                            "synthetic_ls.lsp"),
    "synthetic_ls.git": ("synthetic_ls.provision", "synthetic_ls.ops", "synthetic_ls.cli",
                         "synthetic_ls.lsp"),
    "synthetic_ls.prompts": ("synthetic_ls.config", "synthetic_ls.provision", "synthetic_ls.ops",
                             "synthetic_ls.cli", "synthetic_ls.lsp"),
    "synthetic_ls.opencode": ("synthetic_ls.provision", "synthetic_ls.ops", "synthetic_ls.cli",
                              "synthetic_ls.lsp"),
    "synthetic_ls.remote": ("synthetic_ls.provision", "synthetic_ls.ops", "synthetic_ls.cli",
                            "synthetic_ls.lsp"),
    "synthetic_ls.provision": ("synthetic_ls.ops", "synthetic_ls.cli", "synthetic_ls.lsp"),
    "synthetic_ls.ops": ("synthetic_ls.cli", "synthetic_ls.lsp"),
}


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in ("synthetic_ls", "state_format"):
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def _imports(name: str, path: Path, *, typing_too: bool) -> set[str]:
    """Everything ``name`` imports (absolute names), with or without type-checking imports."""
    tree = ast.parse(path.read_text())
    typing_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for child in node.body:
                typing_only.update(id(n) for n in ast.walk(child))
    out: set[str] = set()
    for node in ast.walk(tree):
        if not typing_too and id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            base = node.module
            if node.level:
                parts = name.split(".")[: -node.level] if path.name != "__init__.py" else (
                    name.split(".")[: len(name.split(".")) - node.level + 1]
                )
                base = ".".join([*parts, node.module])
            out.add(base)
            out.update(f"{base}.{a.name}" for a in node.names)
    return out


def _graph(*, typing_too: bool) -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        for target in _imports(name, path, typing_too=typing_too):
            if target in modules and target != name:
                graph[name].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in list(graph):
        if v not in index:
            visit(v)
    return found


def test_no_two_modules_import_each_other() -> None:
    assert _cycles(_graph(typing_too=False)) == []


def test_each_layer_imports_only_the_layers_below() -> None:
    wrong = []
    for name, path in _modules().items():
        for layer, above in ABOVE.items():
            if name != layer and not name.startswith(layer + "."):
                continue
            typing_too = layer == "state_format"  # the format stands alone, types included
            for target in _imports(name, path, typing_too=typing_too):
                if any(target == a or target.startswith(a + ".") for a in above):
                    wrong.append(f"{name} imports {target}")
    assert wrong == []


def test_the_state_format_needs_no_server_git_or_http_library() -> None:
    heavy = ("pygls", "lsprotocol", "pygit2", "httpx", "tree_sitter")
    for name, path in _modules().items():
        if name.startswith("state_format"):
            used = _imports(name, path, typing_too=True)
            assert not [u for u in used if u.split(".")[0] in heavy], name
