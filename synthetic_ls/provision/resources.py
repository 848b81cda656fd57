"""The ordered list of per-construct resources: creation walks it forwards, removal backwards.

Adding a resource is one module with a :class:`~synthetic_ls.provision.lifecycle.Resource`
subclass and one line here. Each resource is one instance, named here so
that an operation reads what it made with ``work.results.of(PORTS)``.
"""

from __future__ import annotations

from typing import Any

from synthetic_ls.provision.include_files import IncludeFilesResource
from synthetic_ls.provision.lifecycle import Resource
from synthetic_ls.provision.ports import PortsResource
from synthetic_ls.provision.prompt_bundle import PromptBundleResource
from synthetic_ls.provision.services import ServicesResource
from synthetic_ls.provision.session import SessionResource
from synthetic_ls.provision.worktree import WorktreeResource

WORKTREE = WorktreeResource()
INCLUDE_FILES = IncludeFilesResource()
PORTS = PortsResource()
PROMPT_BUNDLE = PromptBundleResource()
SERVICES = ServicesResource()
SESSION = SessionResource()

RESOURCES: tuple[Resource[Any], ...] = (
    WORKTREE,
    INCLUDE_FILES,
    PORTS,
    PROMPT_BUNDLE,  # after the ports: the bundle names them
    SERVICES,
    SESSION,
)

#: The resources that belong to a construct's worktree (``worktree add`` / ``worktree rm``).
WORKTREE_RESOURCES: tuple[Resource[Any], ...] = tuple(r for r in RESOURCES if r.with_worktree)
