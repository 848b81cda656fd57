"""``synthetic.ports.list`` and ``synthetic.services.*``: the services commands of the server.

Kept apart from :mod:`synthetic_ls.lsp.commands` (which adds them to its
table) so that the services work stays in one place. Each takes one JSON
object, like every command: ``ref`` (a construct id, name or id prefix),
``service`` (one service; default all), plus ``root``.
"""

from __future__ import annotations

from typing import Any

from synthetic_ls.lsp.command_spec import parse


def ports_list(store: Any, args: dict[str, Any]) -> Any:
    """``synthetic ports --json``; ``ref`` limits it to one construct."""
    from synthetic_ls.ops.ports import list_ports

    return list_ports(store, **parse(args, list_ports))


def services_start(store: Any, args: dict[str, Any]) -> Any:
    """``synthetic services start REF [SERVICE] --json``."""
    from synthetic_ls.ops.services import start_services

    return start_services(store, **parse(args, start_services))


def services_stop(store: Any, args: dict[str, Any]) -> Any:
    """``synthetic services stop REF [SERVICE] --json``."""
    from synthetic_ls.ops.services import stop_services

    return stop_services(store, **parse(args, stop_services))


def services_restart(store: Any, args: dict[str, Any]) -> Any:
    """``synthetic services restart REF [SERVICE] --json``."""
    from synthetic_ls.ops.services import restart_services

    return restart_services(store, **parse(args, restart_services))


def services_status(store: Any, args: dict[str, Any]) -> Any:
    """``synthetic services status [REF] --json`` (every construct without ``ref``)."""
    from synthetic_ls.ops.services import services_status as status

    return status(store, **parse(args, status))


def services_logs(store: Any, args: dict[str, Any]) -> Any:
    """``synthetic services logs REF [SERVICE] --json``: ``path`` lets a client follow the file."""
    from synthetic_ls.ops.services import service_logs_tail

    return service_logs_tail(store, **parse(args, service_logs_tail))


def services_resume(store: Any, args: dict[str, Any]) -> Any:
    """``synthetic services resume [REF] --json``."""
    from synthetic_ls.ops.services import resume_services

    return resume_services(store, **parse(args, resume_services))


def services_open(store: Any, args: dict[str, Any]) -> Any:
    """``synthetic services open REF [SERVICE] --json``: a remote construct's service ports
    forwarded to this machine's loopback (``forwards[].url`` opens one here)."""
    from synthetic_ls.ops.remote_reach import open_services

    return open_services(store, **parse(args, open_services))


def commands() -> list[Any]:
    """The :class:`~synthetic_ls.lsp.commands.Command` entries of this module."""
    from synthetic_ls.lsp.command_spec import Command

    return [
        Command("synthetic.ports.list", ports_list),
        Command("synthetic.services.start", services_start, "Starting services"),
        Command("synthetic.services.stop", services_stop, "Stopping services"),
        Command("synthetic.services.restart", services_restart, "Restarting services"),
        Command("synthetic.services.status", services_status),
        Command("synthetic.services.logs", services_logs),
        Command("synthetic.services.resume", services_resume, "Resuming services"),
        Command("synthetic.services.open", services_open, "Forwarding services"),
    ]
