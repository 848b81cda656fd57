"""Checks that look across fields of the built model (references, port clashes, advice)."""

from __future__ import annotations

import os
import posixpath
import re
from pathlib import Path

from synthetic_ls.config.diagnostics import Code
from synthetic_ls.config.schema import DockerService, ProcessService, SyntheticConfig, Template
from synthetic_ls.config.source import Span, excerpt, excerpt_list
from synthetic_ls.config.validate import Validator, did_you_mean
from synthetic_ls.config.values import Arr, Obj, Str


def check_config(config: SyntheticConfig, validator: Validator) -> None:
    """Run every cross-field check on a built config."""
    _check_default_template(config, validator)
    _check_templates_defined(config, validator)
    _check_worktree_root(config, validator)
    _check_branch_prefix(config, validator)
    shared = _prompt_entries(validator.located(config), "promptSources")
    services_used: dict[str, list[tuple[str, int, int, str, str]]] = {}
    for template in config.templates.values():
        _check_ports(template, validator)
        _check_port_services(template, validator)
        _check_port_env_names(template, validator)
        _check_prompt_services(template, shared, validator, services_used)
        _check_isolation(template, validator)
        _check_checks(template, validator)


def _prompt_entries(located: object, key: str) -> list[tuple[str, Span]]:
    """The paths of a prompt list as written (``"a.md"`` or ``{ path: "a.md" }``), with spans."""
    if not isinstance(located, Obj):
        return []
    written = located.get(key)
    if not isinstance(written, Arr):
        return []
    out: list[tuple[str, Span]] = []
    for item in written.items:
        path = item.get("path") if isinstance(item, Obj) else item
        if isinstance(path, Str) and path.value:
            out.append((path.value, path.span))
    return out


#: The most distinct prompt entries whose files are read for the services they use.
PROMPT_ENTRIES_READ = 50


def _check_prompt_services(
    template: Template,
    shared: list[tuple[str, Span]],
    validator: Validator,
    read: dict[str, list[tuple[str, int, int, str, str]]],
) -> None:
    # `${services.web.url}` in a file of this template's prompts, or of the
    # shared promptSources, needs a service `web` here: creation refuses it.
    # Bounded as the other file checks: each entry read once (``read``),
    # only entries that match a file, and at most PROMPT_ENTRIES_READ of them.
    root = validator.repo_root
    if root is None:
        return
    from synthetic_ls.prompts.lint import services_in_files

    ids = [s.id for s in template.services]
    own = _prompt_entries(validator.located(template), "prompts")
    for entry, span in [*own, *shared]:
        if entry not in read:
            if len(read) >= PROMPT_ENTRIES_READ or not validator.matches(entry):
                continue
            read[entry] = services_in_files(root, entry)
        for file, line, column, variable, service in read[entry]:
            if service in ids:
                continue
            validator.rep.warning(
                Code.UNKNOWN_PROMPT_SERVICE,
                span,
                f"{excerpt(file)}:{line}:{column} uses ${{{excerpt(variable)}}}, but template "
                f'"{excerpt(template.id)}" has no service "{excerpt(service)}" (services: '
                f"{excerpt_list(ids)}); creating a construct of it would fail.",
                template=template.id, variable=variable, file=file,
            )


def _check_templates_defined(config: SyntheticConfig, validator: Validator) -> None:
    # Valid, but every `synthetic new` would then fail. Not said when the
    # file has errors: `new` refuses it for those anyway, and the templates
    # may be in the part that is broken (or were dropped for their errors).
    if config.templates or any(d.severity == "error" for d in validator.rep.diagnostics):
        return
    root = validator.located(config)
    if not isinstance(root, Obj):
        return
    written = root.get("templates")
    if isinstance(written, Obj | Arr) and (
        written.entries if isinstance(written, Obj) else written.items
    ):
        return
    validator.rep.warning(
        Code.NO_TEMPLATES,
        written.span if written is not None else root.open_span,
        "No templates are defined, so `synthetic new` has nothing to create a construct "
        'from. Add one, e.g. `templates: { impl: { label: "Implement" } }`.',
    )


def _check_worktree_root(config: SyntheticConfig, validator: Validator) -> None:
    # Worktrees inside the checkout show up as untracked folders in its
    # `git status`, and file watchers and test runners walk into them.
    root = config.worktrees.root
    span = validator.field_span(config.worktrees, "root")
    if not root or span is None or not _inside_checkout(root, validator.repo_root):
        return
    name = validator.repo_root.name if validator.repo_root is not None else "<repo>"
    validator.rep.warning(
        Code.WORKTREE_ROOT_INSIDE_REPO,
        span,
        f'`worktrees.root` "{excerpt(root)}" is inside the repository checkout: every '
        "construct's worktree would show as an untracked folder in the checkout's "
        "`git status`, and file watchers and test runners would walk into it. Use a folder "
        f'outside it, e.g. "../{excerpt(name)}.worktrees", or leave it unset for that default.',
    )


def _check_isolation(template: Template, validator: Validator) -> None:
    # A container needs exactly one source of its image; bubblewrap takes none.
    isolation = template.isolation
    if isolation is None:
        return
    span = validator.field_span(isolation, "runtime") or validator.field_span(
        template, "isolation")
    if span is None:
        return
    given = [k for k in ("image", "devcontainer") if getattr(isolation, k)]
    if isolation.runtime == "container" and len(given) != 1:
        message = ("`isolation` with `runtime: \"container\"` needs an `image` (e.g. "
                   '"node:22") or a `devcontainer` (e.g. ".devcontainer/devcontainer.json")'
                   if not given else "`isolation` takes an `image` or a `devcontainer`, not both")
        validator.rep.error(Code.ISOLATION_IMAGE, span, message)
    elif isolation.runtime == "bubblewrap" and given:
        validator.rep.error(
            Code.ISOLATION_IMAGE, span,
            f"`isolation` with `runtime: \"bubblewrap\"` uses the machine's own files: "
            f"`{given[0]}` is for `runtime: \"container\"`",
        )


#: What a check's name may hold: it is typed on a command line (``synthetic check REF NAME``).
_CHECK_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:-]*")


def _check_checks(template: Template, validator: Validator) -> None:
    # A check's name is typed as an argument, so no spaces and no leading `-`;
    # a blank command would pass without checking anything.
    located = validator.located(template)
    written = located.get("checks") if isinstance(located, Obj) else None
    if not isinstance(written, Obj):
        return
    for name, entry in written.entries.items():
        if not _CHECK_NAME.fullmatch(name) or len(name) > 64:
            validator.rep.error(
                Code.BAD_CHECK_NAME, entry.key_span,
                f'Check name "{excerpt(name)}" must be letters, digits, `_`, `.`, `:` or `-` '
                "(not first), at most 64: it is typed as `synthetic check REF NAME`.",
            )
        check = template.checks.get(name)
        if check is not None and not check.run.strip():
            value = entry.value
            run = value.get("run") if isinstance(value, Obj) else value
            validator.rep.error(
                Code.EMPTY_CHECK, run.span if run is not None else entry.key_span,
                f'Check "{excerpt(name)}" runs nothing: give it a shell command '
                '(e.g. "pytest -q"); an empty one would always pass.',
            )


def _inside_checkout(root: str, repo_root: Path | None) -> bool:
    """Whether ``worktrees.root`` (relative to the repository root) lies inside the checkout."""
    expanded = os.path.expanduser(root)
    if not os.path.isabs(expanded):
        normal = posixpath.normpath(expanded.replace("\\", "/"))
        return normal != ".." and not normal.startswith("../")
    if repo_root is None:
        return False  # an absolute path: unknown without the repository's place
    # Resolve links on both sides: /tmp/x and /private/tmp/x are one folder.
    folder = Path(os.path.realpath(expanded))
    return folder.is_relative_to(os.path.realpath(repo_root))


def _check_branch_prefix(config: SyntheticConfig, validator: Validator) -> None:
    # A prefix without a trailing `/` still works ("agents-fix-k3x9"), but
    # the branches are then not grouped in a folder; usually a slip.
    prefix = config.worktrees.branch_prefix
    span = validator.field_span(config.worktrees, "branchPrefix")
    if not prefix or prefix.endswith("/") or span is None:
        return
    validator.rep.warning(
        Code.BRANCH_PREFIX_NO_SLASH,
        span,
        f'Branch prefix "{excerpt(prefix)}" does not end with `/`: branches will be named '
        f'"{excerpt(prefix)}<id>", not grouped under "{excerpt(prefix)}/". Add the `/` unless '
        "that is what you want.",
        suggestion=prefix + "/",
    )


def _check_default_template(config: SyntheticConfig, validator: Validator) -> None:
    wanted = config.defaults.template_id
    if wanted is None or wanted in config.templates:
        return
    span = validator.field_span(config.defaults, "templateId")
    if span is None:
        return
    # `allowed` (and `suggestion`) as for bad-enum: the quick fixes offer each id.
    known = list(config.templates)
    suggestion = did_you_mean(wanted, known)
    validator.rep.error(
        Code.UNKNOWN_TEMPLATE,
        span,
        f'`defaults.templateId` names "{excerpt(wanted)}", which is not a template id '
        f"(known: {excerpt_list(config.templates)}).",
        allowed=known,
        **({"suggestion": suggestion} if suggestion else {}),
    )


def _check_ports(template: Template, validator: Validator) -> None:
    # Ports of one construct are allocated together: two requests preferring
    # the same host port in one template can never both get it.
    seen: dict[int, tuple[str, Span]] = {}
    requests: list[tuple[int, str, Span]] = []
    for service in template.services:
        if isinstance(service, ProcessService | DockerService):
            for port in service.ports:
                span = validator.field_span(port, "preferred")
                if port.preferred is not None and span is not None:
                    requests.append((port.preferred, f'service "{excerpt(service.id)}"', span))
    for tport in template.ports:
        alias = "preferred" if tport.preferred is not None else "port"
        span = validator.field_span(tport, alias)
        number = tport.preferred_port
        if number is not None and span is not None:
            requests.append((number, f'template port "{excerpt(tport.name)}"', span))
    requests.sort(key=lambda r: r[2].start)
    for number, owner, span in requests:
        first = seen.get(number)
        if first is None:
            seen[number] = (owner, span)
            continue
        line = validator.rep.source.line(first[1].start) + 1
        validator.rep.error(
            Code.DUPLICATE_PORT,
            span,
            f"Preferred port {number} is also requested by {first[0]} (line {line}) in template "
            f'"{excerpt(template.id)}"; choose a different port.',
        )


def _check_port_env_names(template: Template, validator: Validator) -> None:
    # Every port of a construct is exported to all its services under its
    # `env` name: two ports naming the same variable would give it one value
    # for two servers, and the second one fails to bind.
    seen: dict[str, tuple[str, Span]] = {}
    for service in template.services:
        if not isinstance(service, ProcessService | DockerService):
            continue
        for port in service.ports:
            span = validator.field_span(port, "env")
            if not port.env or span is None:
                continue
            owner = f'port "{excerpt(port.name)}" of service "{excerpt(service.id)}"'
            first = seen.setdefault(port.env, (owner, span))
            if first[1] is span:
                continue
            line = validator.rep.source.line(first[1].start) + 1
            validator.rep.error(
                Code.DUPLICATE_PORT_ENV,
                span,
                f'Environment variable "{excerpt(port.env)}" also receives {first[0]} (line '
                f'{line}) in template "{excerpt(template.id)}": every service sees every '
                "port, so each needs its own variable.",
            )


def _check_port_services(template: Template, validator: Validator) -> None:
    ids = [s.id for s in template.services]
    for tport in template.ports:
        if tport.service is None or tport.service in ids:
            continue
        span = validator.field_span(tport, "service")
        if span is None:
            continue
        validator.rep.error(
            Code.UNKNOWN_SERVICE,
            span,
            f'Port "{excerpt(tport.name)}" names service "{excerpt(tport.service)}", which '
            f'template "{excerpt(template.id)}" does not have (services: {excerpt_list(ids)}).',
        )
