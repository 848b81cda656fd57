"""Every diagnostic code, each asserted with its exact range and severity."""

from __future__ import annotations

from pathlib import Path

import pytest
from cfg_helpers import at, check, codes, only, wrap

from synthetic_ls.config import Code, Range

SVC = 'templates: { t: { services: { s: { run: "x", %s } } } },'

# (code, source, needle, occurrence, length) -- the diagnostic must cover
# exactly `needle` (or `length` characters from its start).
CASES: list[tuple[str, str, str, int, int | None]] = [
    (Code.SYNTAX_ERROR, wrap('  opencode: { workspaceId: "w"\n    defaultModel: "m" },'),
     "defaultModel", 1, None),
    (Code.MISSING_TOKEN, 'export default {\n  promptSources: ["a.md", "b.md",\n};\n', "\n};", 1, 0),
    (Code.NO_DEFAULT_EXPORT, "const a = 1;\n", "c", 1, None),
    (Code.NON_LITERAL, wrap('  opencode: { token: getToken("x") },'), 'getToken("x")', 1, None),
    (Code.UNBOUND_IDENTIFIER, wrap("  defaults: { templateId: someName },"), "someName", 1, None),
    (Code.TEMPLATE_SUBSTITUTION, wrap("  defaults: { templateId: `a-${b}` },"), "${b}", 1, None),
    (Code.COMPUTED_KEY, wrap('  ["templates"]: {},'), '["templates"]', 1, None),
    (Code.UNSUPPORTED_SPREAD, wrap('  promptSources: [..."abc"],'), '..."abc"', 1, None),
    (Code.UNSUPPORTED_STATEMENT, 'console.log("hi");\nexport default {};\n', 'console.log("hi");',
     1, None),
    (Code.CIRCULAR_REFERENCE, "const a = b;\nconst b = a;\nexport default {};\n", "a;", 1, 1),
    (Code.TOO_DEEP, wrap("templates: " + "[" * 70 + "1" + "]" * 70 + ","), "[", 64, None),
    (Code.DUPLICATE_KEY, wrap("  defaults: {},\n  defaults: {},"), "defaults", 2, None),
    (Code.UNKNOWN_KEY, wrap(SVC % 'readyPatern: "x"'), "readyPatern", 1, None),
    (Code.WRONG_TYPE, wrap(SVC % "readyTimeoutMs: \"5s\""), '"5s"', 1, None),
    (Code.MISSING_REQUIRED, wrap("templates: { t: { services: { s: { cwd: \"a\" } } } },"), "s: {",
     3, 1),
    (Code.BAD_ENUM, wrap('templates: { t: { type: "planing" } },'), '"planing"', 1, None),
    (Code.INVALID_VALUE, wrap(SVC % "readyTimeoutMs: -5"), "-5", 1, None),
    (Code.ID_MISMATCH, wrap('templates: { web: { id: "webb" } },'), '"webb"', 1, None),
    (Code.DUPLICATE_ID, wrap('templates: [{ id: "a" }, { id: "a" }],'), '"a"', 2, None),
    (Code.INVALID_REGEX, wrap(SVC % 'readyPattern: "ab[c"'), "[", 1, None),
    (Code.PORT_OUT_OF_RANGE, wrap(SVC % 'ports: [{ name: "p", preferred: 70000 }]'), "70000", 1,
     None),
    (Code.BAD_PORT_SPEC, wrap('templates: { t: { services: { d: { type: "docker", image: "i", '
                              'ports: ["80:x"] } } } },'), '"80:x"', 1, None),
    (Code.DUPLICATE_PORT, wrap(
        'templates: { t: { services: {\n'
        '  a: { run: "a", ports: [{ name: "p", preferred: 3000 }] },\n'
        '  b: { run: "b", ports: [{ name: "q", preferred: 3000 }] } } } },'), "3000", 2, None),
    (Code.DUPLICATE_PORT_ENV, wrap(
        'templates: { t: { services: {\n'
        '  a: { run: "a", ports: [{ name: "p", env: "PORT" }] },\n'
        '  b: { run: "b", ports: [{ name: "q", env: "PORT" }] } } } },'), '"PORT"', 2, None),
    (Code.PATH_ESCAPES_REPO, wrap(SVC % 'cwd: "../outside"'), '"../outside"', 1, None),
    (Code.AGENT_MISSING_PROVIDER, wrap('templates: { t: { agent: { modelId: "m" } } },'), "agent",
     1, None),
    (Code.UNKNOWN_TEMPLATE, wrap('defaults: { templateId: "nope" }, templates: { a: {} },'),
     '"nope"', 1, None),
    (Code.UNKNOWN_SERVICE, wrap('templates: { t: { ports: [{ name: "p", service: "ghost" }] } },'),
     '"ghost"', 1, None),
    (Code.BAD_BRANCH_PREFIX, wrap('worktrees: { branchPrefix: "my branch/" },'), '"my branch/"',
     1, None),
    (Code.BAD_CHECK_NAME, wrap('templates: { t: { checks: { "unit tests": "pytest" } } },'),
     '"unit tests"', 1, None),
    (Code.EMPTY_CHECK, wrap('templates: { t: { checks: { lint: { run: "  " } } } },'),
     '"  "', 1, None),
    (Code.ISOLATION_IMAGE, wrap('templates: { t: { isolation: { runtime: "container" } } },'),
     '"container"', 1, None),
]


@pytest.mark.parametrize(("code", "source", "needle", "occurrence", "length"), CASES,
                         ids=[c[0].value for c in CASES])
def test_code_with_exact_range(code: Code, source: str, needle: str, occurrence: int,
                               length: int | None) -> None:
    diagnostic = only(check(source), code.value)
    assert diagnostic.range == at(source, needle, occurrence, length)
    assert diagnostic.severity == "error"
    assert diagnostic.message


def test_every_code_is_covered() -> None:
    covered = {c[0] for c in CASES} | {
        Code.NO_MATCH, Code.NOT_UTF8, Code.FILE_TOO_LARGE, Code.UNREADABLE,  # tested elsewhere
        Code.UNKNOWN_PROMPT_VARIABLE, Code.PROMPT_READS_GIT_DIR,  # test_prompt_bundles.py
        Code.UNKNOWN_PROMPT_SERVICE, Code.PROMPT_READS_ENV,
        Code.TOO_MANY, Code.SYMLINK_ESCAPES_REPO, Code.TOO_LARGE,
        Code.NO_TEMPLATES, Code.WORKTREE_ROOT_INSIDE_REPO, Code.BRANCH_PREFIX_NO_SLASH,  # warnings
    }
    assert covered == set(Code)


def test_unknown_key_suggests_and_points_at_key() -> None:
    source = wrap(SVC % 'readyPatern: "x"')
    diagnostic = only(check(source), "unknown-key")
    assert "Did you mean `readyPattern`?" in diagnostic.message
    assert diagnostic.data["suggestion"] == "readyPattern"


def test_unknown_key_of_another_service_type_names_it() -> None:
    source = wrap(SVC % 'image: "postgres"')
    diagnostic = only(check(source), "unknown-key")
    assert "docker" in diagnostic.message
    assert diagnostic.range == at(source, "image")


def test_snake_case_key_suggests_camel_case() -> None:
    diagnostic = only(check(wrap("defaults: { template_id: \"a\" },")), "unknown-key")
    assert diagnostic.data["suggestion"] == "templateId"


def test_bad_enum_suggests() -> None:
    diagnostic = only(check(wrap('templates: { t: { type: "planing" } },')), "bad-enum")
    assert 'Did you mean "planning"?' in diagnostic.message


def test_bad_service_type_is_bad_enum() -> None:
    source = wrap('templates: { t: { services: { s: { type: "dokcer", image: "x" } } } },')
    diagnostic = only(check(source), "bad-enum")
    assert diagnostic.range == at(source, '"dokcer"')
    assert '"docker"' in diagnostic.message


def test_missing_required_in_array_item_points_at_brace() -> None:
    source = wrap('templates: [{ label: "no id" }],')
    diagnostic = only(check(source), "missing-required")
    assert diagnostic.range == at(source, '{ label', 1, 1)
    assert "`id`" in diagnostic.message


def test_regex_with_escapes_points_at_whole_string() -> None:
    source = wrap(SVC % 'readyPattern: "\\\\d+("')
    diagnostic = only(check(source), "invalid-regex")
    assert diagnostic.range == at(source, '"\\\\d+("')


def test_js_named_groups_are_accepted() -> None:
    result = check(wrap(SVC % 'readyPattern: "(?<port>\\\\d+) \\\\u00e9"'))
    assert result.diagnostics == []


@pytest.mark.parametrize("pattern", ["(?<port>\\\\d+) \\\\k<port>", "(a)\\\\1", "(?=ready)r",
                                     "(?:a{1000}){1000}"])
def test_patterns_re2_refuses_are_reported(pattern: str) -> None:
    """Services match readyPattern with RE2 (linear time): what it refuses is an error here."""
    diagnostic = only(check(wrap(SVC % f'readyPattern: "{pattern}"')), "invalid-regex")
    assert "RE2" in diagnostic.message


def test_const_scalar_is_reported_where_used() -> None:
    source = "const p = 99999;\n" + wrap(SVC % 'ports: [{ name: "a", preferred: p }]')
    diagnostic = only(check(source), "port-out-of-range")
    use = at(source, "preferred: p")
    column = use.start.character + len("preferred: ")
    assert diagnostic.range == Range.of(use.start.line, column, use.start.line, column + 1)


def test_template_port_duplicates_service_port() -> None:
    source = wrap(
        'templates: { t: { ports: [{ name: "web", port: 4000 }],\n'
        '  services: { s: { run: "x", ports: [{ name: "p", preferred: 4000 }] } } } },'
    )
    diagnostic = only(check(source), "duplicate-port")
    assert diagnostic.range == at(source, "4000", 2)


@pytest.mark.parametrize("prefix", ["-x/", "/x", "a..b/", "a~b", "a^", "a:b", "a?", "a*", "a[",
                                    "a\\\\b", "a b"])
def test_bad_branch_prefixes(prefix: str) -> None:
    result = check(wrap(f'worktrees: {{ branchPrefix: "{prefix}" }},'))
    assert codes(result) == ["bad-branch-prefix"]
    assert result.config is not None
    assert result.config.worktrees.branch_prefix == "synthetic/"


@pytest.mark.parametrize("prefix", ["", "synthetic/", "agents/x/", "team.a/"])
def test_good_branch_prefixes(prefix: str) -> None:
    # With a template: a config without one gets a warning of its own.
    result = check(wrap(f'worktrees: {{ branchPrefix: "{prefix}" }}, templates: {{ a: {{}} }},'))
    assert result.diagnostics == []
    assert result.config is not None and result.config.worktrees.branch_prefix == prefix


@pytest.mark.parametrize("path", ["/etc/passwd", "../x", "a/../../b", "~/x", "C:\\\\x"])
def test_escaping_paths(path: str) -> None:
    source = wrap(f'templates: {{ t: {{ prompts: ["{path}"] }} }},')
    assert codes(check(source)) == ["path-escapes-repo"]


def test_no_match_warnings(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "brief.md").write_text("x")
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / ".env.local").write_text("x")
    source = wrap(
        'promptSources: ["docs/*.md", "missing/*.md", { path: "docs/brief.md" }],\n'
        'templates: { t: { prompts: ["docs/brief.md", "docs/nope.md"],\n'
        '  includePatterns: [".env*", "*.secret"] } },'
    )
    result = check(source, tmp_path)
    warnings = [d for d in result.diagnostics if d.code == "no-match"]
    assert [d.range for d in warnings] == [
        at(source, '"missing/*.md"'), at(source, '"docs/nope.md"'), at(source, '"*.secret"')
    ]
    assert all(d.severity == "warning" for d in warnings)
    assert not result.has_errors


def test_no_match_not_checked_without_root() -> None:
    assert check(wrap('templates: { t: { prompts: ["docs/nope.md"] } },')).diagnostics == []


def test_lsp_form() -> None:
    diagnostic = only(check(wrap('templates: { t: { type: "x" } },')), "bad-enum")
    lsp = diagnostic.to_lsp()
    assert lsp["severity"] == 1 and lsp["code"] == "bad-enum" and lsp["source"] == "synthetic"
    assert lsp["range"] == {"start": {"line": 1, "character": 24},
                            "end": {"line": 1, "character": 27}}


@pytest.mark.parametrize(
    ("spec", "code"),
    [("²", "bad-port-spec"), ("٣٣", "bad-port-spec"), ("9" * 5000, "port-out-of-range"),
     ("80:" + "9" * 5000, "port-out-of-range"), ("123456", "port-out-of-range")],
)
def test_docker_port_spec_digits_are_ascii_and_bounded(spec: str, code: str) -> None:
    # Unicode digits pass str.isdigit() but not int(); 5,000 digits pass
    # both checks but exceed Python's int conversion limit.
    source = wrap(f'templates: {{ t: {{ services: {{ d: {{ type: "docker", image: "i", '
                  f'ports: ["{spec}"] }} }} }} }},')
    diagnostic = only(check(source), code)
    assert diagnostic.range == at(source, f'"{spec}"')


# A problem inside a `const` that is used or spread in several places is one
# problem, at one place: it is reported once (issue 7, item 15).
SHARED = [
    'const base = { lable: "x" };\n'
    "export default { templates: { a: { ...base }, b: { ...base } } };\n",
    'const base = { lable: "x", type: "planing" };\n'
    "export default { templates: { a: base, b: base, c: { ...base } } };\n",
    'const svc = { run: "x", readyPatern: "y", readyTimeoutMs: "5s" };\n'
    "export default { templates: { a: { services: { s: svc, t: { ...svc } } } } };\n",
    "const env = { A: 5 };\n"
    "export default { templates: { a: { env }, b: { env: { ...env } } } };\n",
    # The shared value itself is wrong at each use: one diagnostic, not one
    # per `templates[i]`.
    "const a = [1];\nexport default { templates: [a, a, a] };\n",
]


@pytest.mark.parametrize("source", SHARED, ids=["spread-twice", "used-and-spread", "service",
                                                "env", "positions"])
def test_problem_in_a_shared_const_is_reported_once(source: str) -> None:
    result = check(source)
    assert result.diagnostics
    places = [(d.code, d.range) for d in result.diagnostics]
    assert len(places) == len(set(places)), [d.format_human("f") for d in result.diagnostics]


def test_different_problems_at_one_place_are_all_reported() -> None:
    # Two required fields missing from one object, both shown at its `{`,
    # twice over through a shared const: each field once.
    source = 'const s = { cwd: "a" };\n' + wrap("templates: { t: { services: [s, s] } },")
    found = [d for d in check(source).diagnostics if d.code == "missing-required"]
    assert sorted(d.data["field"] for d in found) == ["id", "run"]
    assert found[0].range == found[1].range == at(source, "{ cwd", 1, 1)


def _include(*patterns: str) -> str:
    quoted = ", ".join(f'"{p}"' for p in patterns)
    return wrap(f"templates: {{ t: {{ includePatterns: [{quoted}] }} }},")


def test_include_pattern_with_leading_slash_is_anchored_not_escaping(tmp_path: Path) -> None:
    # .gitignore style (issue 7, item 16): `/.env` is the .env at the root.
    (tmp_path / ".env").write_text("x")
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / ".env.local").write_text("x")
    source = _include("/.env", "/.env.local", ".env.local")
    result = check(source, tmp_path)
    assert codes(result) == ["no-match"]  # only /.env.local: it is not at the root
    assert result.diagnostics[0].range == at(source, '"/.env.local"')
    assert result.config is not None
    assert result.config.templates["t"].include_patterns == ["/.env", "/.env.local", ".env.local"]


@pytest.mark.parametrize("pattern", ["/../x", "//etc/passwd", "/a/../../x", "../x", "~/x"])
def test_include_pattern_escaping_with_dots_is_still_refused(pattern: str) -> None:
    assert codes(check(_include(pattern))) == ["path-escapes-repo"]


def test_prompt_with_leading_slash_is_still_absolute() -> None:
    # Prompts are paths, not .gitignore patterns: `/docs/x.md` is absolute.
    assert codes(check(wrap('templates: { t: { prompts: ["/docs/x.md"] } },'))) == [
        "path-escapes-repo"
    ]


# Accepted configs that would misbehave get a warning (issue 7, item 17).
def _warnings(source: str, root: Path | None = None) -> list[tuple[str, Range]]:
    result = check(source, root)
    assert not result.has_errors, [d.format_human("f") for d in result.diagnostics]
    assert all(d.severity == "warning" for d in result.diagnostics)
    return [(d.code, d.range) for d in result.diagnostics]


TEMPLATES = 'templates: { impl: { label: "Implement" } },'


@pytest.mark.parametrize("root", ["wt", ".", "./.worktrees", "a/../b", "sub/dir/"])
def test_worktree_root_inside_the_checkout_warns(root: str) -> None:
    source = wrap(f'{TEMPLATES}\nworktrees: {{ root: "{root}" }},')
    assert _warnings(source) == [("worktree-root-inside-repo", at(source, f'"{root}"'))]


def test_absolute_worktree_root_inside_the_checkout_warns(tmp_path: Path) -> None:
    source = wrap(f'{TEMPLATES}\nworktrees: {{ root: "{tmp_path}/wt" }},')
    assert _warnings(source, tmp_path) == [
        ("worktree-root-inside-repo", at(source, f'"{tmp_path}/wt"'))
    ]


@pytest.mark.parametrize("root", ["../repo.worktrees", "/var/tmp/worktrees", "~/worktrees", ""])
def test_worktree_root_outside_the_checkout_is_fine(root: str, tmp_path: Path) -> None:
    assert _warnings(wrap(f'{TEMPLATES}\nworktrees: {{ root: "{root}" }},'), tmp_path) == []


@pytest.mark.parametrize("prefix", ["agents", "synthetic-", "team/agents", "agents/x-"])
def test_branch_prefix_without_trailing_slash_warns(prefix: str) -> None:
    source = wrap(f'{TEMPLATES}\nworktrees: {{ branchPrefix: "{prefix}" }},')
    assert _warnings(source) == [("branch-prefix-no-slash", at(source, f'"{prefix}"'))]
    diagnostic = check(source).diagnostics[0]
    assert diagnostic.data["suggestion"] == prefix + "/"
    assert "`/`" in diagnostic.message


@pytest.mark.parametrize(
    ("body", "needle", "length"),
    [("", "{", 1), ("templates: {},", "{}", None), ("templates: [],", "[]", None),
     ("templates: undefined,", "undefined", None)],
)
def test_config_without_templates_warns(body: str, needle: str, length: int | None) -> None:
    # Every `synthetic new` would fail: say so where templates belong.
    source = wrap(body)
    assert _warnings(source) == [("no-templates", at(source, needle, 1, length))]


def test_templates_dropped_for_errors_do_not_also_warn() -> None:
    result = check(wrap('templates: { t: { type: "planing" } },'))
    assert codes(result) == ["bad-enum"]
