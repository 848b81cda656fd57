"""Checks that look across fields of the built model (references, port clashes)."""

from __future__ import annotations

from synthetic_ls.config.diagnostics import Code
from synthetic_ls.config.schema import DockerService, ProcessService, SyntheticConfig, Template
from synthetic_ls.config.source import Span, excerpt, excerpt_list
from synthetic_ls.config.validate import Validator


def check_config(config: SyntheticConfig, validator: Validator) -> None:
    """Run every cross-field check on a built config."""
    _check_default_template(config, validator)
    for template in config.templates.values():
        _check_ports(template, validator)
        _check_port_services(template, validator)


def _check_default_template(config: SyntheticConfig, validator: Validator) -> None:
    wanted = config.defaults.template_id
    if wanted is None or wanted in config.templates:
        return
    span = validator.field_span(config.defaults, "templateId")
    if span is None:
        return
    validator.rep.error(
        Code.UNKNOWN_TEMPLATE,
        span,
        f'`defaults.templateId` names "{excerpt(wanted)}", which is not a template id '
        f"(known: {excerpt_list(config.templates)}).",
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
