"""The two historical shapes, defaults and normalisation of the model."""

from __future__ import annotations

from cfg_helpers import DATA, check, wrap

from synthetic_ls.config import (
    ComposeService,
    DockerService,
    EnvRef,
    ProcessService,
    check_config_file,
    resolve_env,
)


def test_record_form_sample() -> None:
    result = check(
        (DATA / "record-form.synthetic.config.ts").read_text(), None
    )
    assert result.diagnostics == []
    cfg = result.config
    assert cfg is not None
    assert list(cfg.templates) == ["web-api", "basic"]
    web = cfg.get_template("web-api")
    assert web is not None and web.label == "Web API Server" and web.type == "implementation"
    assert [s.id for s in web.services] == ["api", "db"]
    api, db = web.services
    assert isinstance(api, ProcessService) and api.name == "api" and api.cwd == "./api"
    assert api.env["DATABASE_URL"] == "postgres://localhost/app"
    assert api.ports[0].preferred == 3000 and api.ports[0].env == "PORT"
    assert isinstance(db, DockerService)
    assert db.ports[0].preferred == 5432 and db.ports[0].container == 5432
    assert web.agent is not None and web.agent.provider_id == "opencode"
    assert web.include_patterns == [".env*", "*.local"]
    assert cfg.opencode.token == EnvRef(name="OPENCODE_TOKEN")
    assert [p.path for p in cfg.prompt_sources] == ["docs/prompts/**/*.md",
                                                    "docs/agents/base-brief.md"]
    assert cfg.get_template("nope") is None


def test_array_form_sample() -> None:
    result = check((DATA / "array-form.synthetic.config.ts").read_text())
    assert result.diagnostics == []
    cfg = result.config
    assert cfg is not None
    assert list(cfg.templates) == ["full-stack", "planning"]
    full = cfg.templates["full-stack"]
    web, stack = full.services
    assert isinstance(web, ProcessService) and web.name == "Web Dev Server"
    assert web.ready_pattern == "Local:\\s+http://"
    assert isinstance(stack, ComposeService) and stack.services == ["redis"]
    assert cfg.opencode.token == EnvRef(name="OPENCODE_TOKEN", default="")
    assert cfg.prompt_sources[0].order == 0


def test_both_shapes_give_the_same_model() -> None:
    record = check(wrap('templates: { a: { label: "A", services: { s: { run: "x" } } } },'))
    array = check(wrap('templates: [{ id: "a", label: "A", services: [{ id: "s", run: "x" }] }],'))
    assert record.config is not None and array.config is not None
    assert record.config.model_dump() == array.config.model_dump()


def test_defaults() -> None:
    cfg = check(wrap('templates: { a: { services: { s: { run: "x" } } } },')).config
    assert cfg is not None
    tpl = cfg.templates["a"]
    assert tpl.id == "a" and tpl.label == "a" and tpl.type == "manual"
    service = tpl.services[0]
    assert service.type == "process" and service.id == "s" and service.name == "s"
    assert cfg.worktrees.root is None and cfg.worktrees.branch_prefix == "synthetic/"
    assert cfg.default_template_id is None


def test_defaults_and_worktrees() -> None:
    cfg = check(wrap('defaults: { templateId: "a" }, templates: { a: {} },\n'
                     'worktrees: { root: "../wt", branchPrefix: "agent/" },')).config
    assert cfg is not None
    assert cfg.default_template_id == "a"
    assert cfg.worktrees.root == "../wt" and cfg.worktrees.branch_prefix == "agent/"


def test_template_level_ports_and_string_lists() -> None:
    cfg = check(wrap(
        'templates: { a: { ports: [{ name: "web", preferred: 3001, service: "w" }],\n'
        '  setup: "npm ci", services: { w: { run: "x", setup: "make" },\n'
        '  d: { type: "docker", image: "i", command: "run", ports: [8080, "9000:90"] } } } },'
    )).config
    assert cfg is not None
    tpl = cfg.templates["a"]
    assert tpl.ports[0].preferred_port == 3001 and tpl.setup == ["npm ci"]
    w = tpl.get_service("w")
    d = tpl.get_service("d")
    assert isinstance(w, ProcessService) and w.setup == ["make"]
    assert isinstance(d, DockerService) and d.command == ["run"]
    assert [(p.preferred, p.container) for p in d.ports] == [(8080, 8080), (9000, 90)]


def test_bad_field_keeps_the_rest() -> None:
    result = check(wrap('templates: { a: { type: "bogus", label: "A" }, b: { services: 5 } },'))
    assert result.has_errors
    assert result.config is not None
    assert result.config.templates["a"].label == "A"
    assert result.config.templates["a"].type == "manual"
    assert "b" in result.config.templates


def test_object_missing_required_is_dropped() -> None:
    result = check(wrap('templates: [{ label: "no id" }, { id: "ok" }],'))
    assert result.config is not None and list(result.config.templates) == ["ok"]


def test_resolve_env() -> None:
    cfg = check(wrap(
        'templates: { a: { env: { A: process.env.A, B: process.env.B ?? "dflt", C: "c" } } },'
    )).config
    assert cfg is not None
    env = cfg.templates["a"].env
    assert env["A"] == EnvRef(name="A")
    assert resolve_env(env, {"A": "1"}) == {"A": "1", "B": "dflt", "C": "c"}
    assert resolve_env(env, {"B": "2"}) == {"B": "2", "C": "c"}
    assert resolve_env([EnvRef(name="X")], {}) == [None]
    assert resolve_env("plain", {}) == "plain"


def test_load_config_absent(tmp_path: object) -> None:
    from pathlib import Path

    from synthetic_ls.config import load_config

    root = Path(str(tmp_path))
    result = load_config(root)
    assert result.config is None and result.diagnostics == [] and result.exists is False
    assert result.path == root / "synthetic.config.ts"
    (root / "synthetic.config.ts").write_text("export default { templates: { a: {} } };\n")
    loaded = load_config(root)
    assert loaded.exists and loaded.config is not None and not loaded.has_errors


def test_check_config_file_default_root(tmp_path: object) -> None:
    from pathlib import Path

    root = Path(str(tmp_path))
    (root / "synthetic.config.ts").write_text(wrap('templates: { a: { prompts: ["x.md"] } },'))
    result = check_config_file(root / "synthetic.config.ts")
    assert [d.code for d in result.diagnostics] == ["no-match"]
