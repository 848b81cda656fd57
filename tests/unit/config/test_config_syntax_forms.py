"""Every syntax form the static reader understands, and how edits are tolerated."""

from __future__ import annotations

import pytest
from cfg_helpers import at, check, codes, only, wrap

from synthetic_ls.config import EnvRef


def _tpl(source: str) -> dict[str, object]:
    result = check(source)
    assert result.diagnostics == [], [d.to_lsp() for d in result.diagnostics]
    assert result.config is not None
    return result.config.templates["a"].model_dump()


def test_all_data_forms() -> None:
    source = '''
import { defineSyntheticConfig } from "@synthetic/config";
import type { Config } from "./types";
type Local = { a: string };
interface Other { b: number }
declare const ambient: string;

/* block comment */
const base = { type: "process", env: { A: "1" } } as const;
const name = 'web';
export const port = 0x0b_b8;
const prompts = ["one.md", "two.md"];

export default defineSyntheticConfig({
  // line comment
  templates: {
    "a": {
      label: `Multi ${""}`.length ? "x" : "y",
    },
  },
} satisfies Config);
'''
    # the conditional above is code: reported, the rest still read
    result = check(source)
    assert codes(result) == ["non-literal"]


def test_literals_consts_spreads_and_wrappers() -> None:
    source = '''
import { defineSyntheticConfig } from "@synthetic/config";
const base = { type: "process", env: { A: "1" } } as const;
const serviceName = 'web';
export const port = 0x0B_B8;
const more = ["two.md"];
const summary = `plain template`;
export default defineSyntheticConfig(({
  templates: {
    'a': {
      summary,
      label: "caf\\u00e9 \\u{1F600} \\x41\\n\\"q\\"",
      prompts: ["one.md", ...more,],
      services: {
        [serviceName]: undefined,
        web: { ...base, run: "npm run dev", cwd: null, ports: [{ name: "p", preferred: port }] },
        1: { run: "x", readyTimeoutMs: 1e3, ports: [] },
      },
      env: { B: process.env.B, C: process.env["C"] ?? "c", D: process.env.D! },
    } as any,
  },
}) satisfies unknown) as const;
'''
    result = check(source)
    # only the computed key is refused; everything else reads
    assert codes(result) == ["computed-key"]
    cfg = result.config
    assert cfg is not None
    tpl = cfg.templates["a"]
    assert tpl.summary == "plain template"
    assert tpl.label == 'café \U0001F600 A\n"q"'
    assert tpl.prompts == ["one.md", "two.md"]
    web = tpl.get_service("web")
    assert web is not None and web.env == {"A": "1"}
    assert web.ports[0].preferred == 3000  # type: ignore[union-attr]
    one = tpl.get_service("1")
    assert one is not None and one.ready_timeout_ms == 1000  # type: ignore[union-attr]
    assert tpl.env == {"B": EnvRef(name="B"), "C": EnvRef(name="C", default="c"),
                       "D": EnvRef(name="D")}


def test_non_null_assertion_is_a_wrapper() -> None:
    # `x!` only affects types
    tpl = _tpl(wrap('templates: { a: { label: "x"!, env: { D: process.env.D } } },'))
    assert tpl["label"] == "x"


def test_export_default_identifier_and_trailing_commas() -> None:
    source = 'const config = { templates: [{ id: "a", },], };\nexport default config;\n'
    assert _tpl(source)["id"] == "a"


def test_negative_and_special_numbers() -> None:
    source = wrap('templates: { a: { services: { s: { run: "x", readyTimeoutMs: +0o17 } } } },')
    result = check(source)
    assert result.diagnostics == []
    assert result.config is not None
    assert result.config.templates["a"].services[0].ready_timeout_ms == 15  # type: ignore[union-attr]


def test_float_where_integer_expected() -> None:
    source = wrap('templates: { a: { services: { s: { run: "x", readyTimeoutMs: 1.5 } } } },')
    diagnostic = only(check(source), "wrong-type")
    assert diagnostic.range == at(source, "1.5")


@pytest.mark.parametrize(
    ("expression", "found"),
    [
        ("new Date()", "new"),
        ("() => 1", "arrow function"),
        ("function () { return 1 }", "function"),
        ("a ? b : c", "conditional"),
        ('"a" + "b"', "binary"),
        ("/abc/", "regular expression"),
        ("this", "`this`"),
        ("await x", "await"),
        ("foo.bar", "property access"),
        ("!true", "unary"),
    ],
)
def test_refused_expressions_name_what_they_are(expression: str, found: str) -> None:
    source = wrap(f"defaults: {{ templateId: {expression} }},")
    result = check(source)
    diagnostic = only(result, "non-literal")
    assert found in diagnostic.message
    assert "literal" in diagnostic.message
    assert diagnostic.range == at(source, expression)


def test_imported_name_used_as_value() -> None:
    source = 'import { x } from "./x";\n' + wrap("defaults: { templateId: x },")
    diagnostic = only(check(source), "unbound-identifier")
    assert "imported" in diagnostic.message


def test_missing_comma_still_validates_the_rest() -> None:
    source = wrap('opencode: { workspaceId: "w"\n    defaultModel: "m" },\n'
                  'templates: { a: { type: "bogus" } },')
    result = check(source)
    assert codes(result) == ["syntax-error", "bad-enum"]
    assert result.config is not None and "a" in result.config.templates


def test_unterminated_string_at_quote() -> None:
    source = wrap('opencode: { workspaceId: "w,\n  defaultModel: "m" },\n'
                  "defaults: { templateId: 5 },")
    result = check(source)
    assert codes(result) == ["syntax-error", "wrong-type"]
    assert result.diagnostics[0].range == at(source, '"w,')
    assert "unterminated string" in result.diagnostics[0].message


def test_truncated_file_reports_unclosed_brace_and_salvages() -> None:
    source = 'export default {\n  defaults: { templateId: 5 },\n  templates: {'
    result = check(source)
    assert codes(result) == ["wrong-type", "syntax-error"]
    assert result.diagnostics[1].range == at(source, "{", 3)
    assert "never closed" in result.diagnostics[1].message


def test_missing_value() -> None:
    source = wrap("opencode: { workspaceId: },")
    diagnostic = only(check(source), "missing-token")
    r = at(source, "},")
    assert diagnostic.range.start.character == r.start.character - 1


def test_utf16_columns() -> None:
    # 😀 is two UTF-16 code units; é is one.
    source = wrap('templates: { a: { label: "😀é", type: "bad" } },')
    diagnostic = only(check(source), "bad-enum")
    line = source.splitlines()[1]
    col = line.index('"bad"') + 1  # one extra unit for the astral character
    assert diagnostic.range.start.character == col
    assert diagnostic.range.end.character == col + 5


def test_second_export_default() -> None:
    source = "export default {};\nexport default {};\n"
    assert codes(check(source)) == ["unsupported-statement"]


def test_default_export_not_object() -> None:
    result = check('export default "x";')
    assert codes(result) == ["wrong-type"] and result.config is None


# Syntax errors point at the token to fix (issue 7, item 14).
TEMPLATE = (
    "export default defineSyntheticConfig({\n  templates: {\n    impl: {\n%s\n    },\n  },\n});\n"
)


def test_semicolon_between_properties_points_at_it() -> None:
    source = TEMPLATE % '      label: "x";\n      type: "manual",'
    diagnostic = only(check(source), "syntax-error")
    assert diagnostic.range == at(source, ";")
    assert "`,`" in diagnostic.message


def test_semicolon_after_last_property_points_at_it() -> None:
    source = wrap('templates: { impl: { label: "x"; } },')
    diagnostic = only(check(source), "syntax-error")
    assert diagnostic.range == at(source, ";")
    assert "missing" not in diagnostic.message  # not "Is a `,` missing before it?"


def test_semicolon_between_top_level_properties_points_at_it() -> None:
    source = 'export default {\n  templates: {},\n  defaults: {};\n  worktrees: {},\n};\n'
    found = [d for d in check(source).diagnostics if d.code in ("syntax-error", "missing-token")]
    assert found[0].range == at(source, ";")
    assert "`,`" in found[0].message


def test_equals_instead_of_colon_points_at_it() -> None:
    source = TEMPLATE % '      type: "manual",\n      label = "x",'
    diagnostic = only(check(source), "syntax-error")
    assert diagnostic.range == at(source, "=")
    assert '`label: "x"`' in diagnostic.message or "`label: ...`" in diagnostic.message


def test_equals_as_first_property_points_at_it_and_nothing_else() -> None:
    # tree-sitter reads `{ label = "x" }` as a destructuring pattern and
    # wraps the whole object in one error, so the first token of the file
    # (or the object's `{` on the line above) was reported.
    source = TEMPLATE % '      label = "x",'
    result = check(source)
    assert codes(result) == ["syntax-error"]
    assert result.diagnostics[0].range == at(source, "=")


def test_equals_at_top_level_reports_only_the_syntax_error() -> None:
    source = 'export default { templates: {}, label = "x" };\n'
    result = check(source)
    assert codes(result) == ["syntax-error"]  # no unsupported-statement, no no-default-export
    assert result.diagnostics[0].range == at(source, "=")


@pytest.mark.parametrize(
    "items",
    ['"a" "b"', '\n    "a"\n    "b"\n  ', '"a", "x" "b"'],
    ids=["one-line", "lines", "third"],
)
def test_missing_comma_between_array_items(items: str) -> None:
    source = wrap(f"promptSources: [{items}],")
    diagnostic = only(check(source), "syntax-error")
    assert diagnostic.range == at(source, '"b"')
    assert "Is a `,` missing before it?" in diagnostic.message


def test_missing_comma_between_numbers_still_hinted() -> None:
    source = wrap("templates: { t: { services: { s: { run: \"x\", ports: [1 2] } } } },")
    diagnostic = only(check(source), "syntax-error")
    assert diagnostic.range == at(source, "2]", 1, 1)
    assert "Is a `,` missing before it?" in diagnostic.message
