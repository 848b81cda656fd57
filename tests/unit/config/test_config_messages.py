"""Diagnostic messages quote at most a short, printable excerpt of the source.

A message may be printed on a terminal or shown in an editor: a config's
text must not reach it whole (a file can hold anything, even a private key
pasted by mistake) nor with control characters (escape sequences, bidi
overrides). Each place that quotes source text is exercised below with a
long, hostile payload.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cfg_helpers import check, wrap

LONG = "k" * 5000  # a name or key far longer than any message should quote
# A string payload: a terminal escape, a bidi override, a NUL-free binary-ish
# mix and more text than any message should hold.
HOSTILE = "\x1b[2J\u202e\x07" + "k" * 5000 + "\u200b"

SVC = 'templates: { t: { services: { s: { run: "x", %s } } } },'

SNIPPETS: dict[str, str] = {
    "unsupported-statement": f'"{HOSTILE}";\nexport default {{}};\n',
    "destructuring": f"const {{ {LONG} }} = {{}};\nexport default {{}};\n",
    "unsupported-export": f"export function {LONG}() {{}}\nexport default {{}};\n",
    "circular": f"const {LONG} = {LONG};\nexport default {{}};\n",
    "unknown-name": wrap(f"templates: {LONG},"),
    "declared-with-let": f"let {LONG} = 1;\n" + wrap(f"templates: {LONG},"),
    "property-access": wrap(f"templates: {LONG}.x,"),
    "method": wrap(f"{LONG}() {{ return 1; }},"),
    "computed-key": wrap(f"[{LONG}]: 1,"),
    "duplicate-key": wrap(f'"{HOSTILE}": 1,\n"{HOSTILE}": 2,'),
    "template-substitution": wrap(f"templates: `${{{LONG}}}`,"),
    "unary": wrap(f"templates: -{LONG},"),
    "binary": wrap(f"templates: {LONG} + 1,"),
    "env-or": wrap(f'opencode: {{ token: process.env.{LONG} || "x" }},'),
    "call": wrap(f"templates: {LONG}(),"),
    "unknown-key": wrap(f'"{HOSTILE}": 1,'),
    "dict-label": wrap(f'templates: {{ t: {{ env: {{ "{HOSTILE}": 5 }} }} }},'),
    "bad-enum": wrap(f'templates: {{ t: {{ type: "{HOSTILE}" }} }},'),
    "branch-prefix": wrap(f'worktrees: {{ branchPrefix: "{HOSTILE}" }},'),
    "path-escapes": wrap(f'templates: {{ t: {{ prompts: ["../{HOSTILE}"] }} }},'),
    "regex": wrap(SVC % f'readyPattern: "(?<{LONG} x>y)"'),
    "id-mismatch": wrap(f'templates: {{ t: {{ id: "{HOSTILE}" }} }},'),
    "collection-label": wrap(f'templates: {{ "{HOSTILE}": 5 }},'),
    "duplicate-id": wrap(f'templates: [{{ id: "{HOSTILE}" }}, {{ id: "{HOSTILE}" }}],'),
    "missing-required": wrap(f'templates: {{ t: {{ services: [{{ id: "{HOSTILE}" }}] }} }},'),
    "unknown-template": wrap(
        f'defaults: {{ templateId: "{HOSTILE}" }},\ntemplates: {{ '
        + ", ".join(f'"{HOSTILE}{i}": {{}}' for i in range(30))
        + " },"
    ),
    "duplicate-port": wrap(
        f'templates: {{ "{HOSTILE}": {{ services: {{\n'
        f'  "{HOSTILE}a": {{ run: "a", ports: [{{ name: "p", preferred: 3000 }}] }},\n'
        f'  "{HOSTILE}b": {{ run: "b", ports: [{{ name: "q", preferred: 3000 }}] }} }} }} }},'
    ),
    "unknown-service": wrap(
        f'templates: {{ "{HOSTILE}": {{ ports: [{{ name: "{HOSTILE}", service: "{HOSTILE}" }}],'
        f' services: {{ "{HOSTILE}x": {{ run: "x" }} }} }} }},'
    ),
    "bad-port-spec": wrap(
        f'templates: {{ t: {{ services: {{ d: {{ type: "docker", image: "i", '
        f'ports: ["{HOSTILE}"] }} }} }} }},'
    ),
    "env-ref-found": wrap(f"templates: process.env.{LONG},"),
    "syntax-error": wrap(f"templates: {{ a: 1 {LONG}: 2 }},"),
}


@pytest.mark.parametrize("name", sorted(SNIPPETS))
def test_messages_quote_short_printable_excerpts(name: str, tmp_path: Path) -> None:
    result = check(SNIPPETS[name], tmp_path)
    assert result.diagnostics, "each snippet should produce at least one diagnostic"
    for diagnostic in result.diagnostics:
        message = diagnostic.message
        assert message.isprintable(), f"control characters in {message[:200]!r}"
        assert "k" * 41 not in message, f"a long quote in {message[:200]!r}..."
        assert len(message) < 600, f"{len(message)} characters: {message[:200]!r}..."


def test_no_match_warning_quotes_an_excerpt(tmp_path: Path) -> None:
    result = check(wrap(f'templates: {{ t: {{ prompts: ["{HOSTILE}"] }} }},'), tmp_path)
    (warning,) = [d for d in result.diagnostics if d.code == "no-match"]
    assert warning.message.isprintable() and "k" * 41 not in warning.message


def test_excerpt_shortens_and_escapes() -> None:
    from synthetic_ls.config.source import excerpt

    assert excerpt("short") == "short"
    assert excerpt("a  b\n\tc") == "a b c"
    assert excerpt("x" * 100) == "x" * 39 + "…"
    assert len(excerpt("x" * 100, 10)) == 10
    assert excerpt("bell\x07") == "bell\\x07"
    assert excerpt("\u202eevil") == "\\u202eevil"
    assert excerpt("\U000e0041tag") == "\\U000e0041tag"
    # An escape is never cut in half.
    assert excerpt("x" * 38 + "\x1b" + "y") == "x" * 38 + "…"
