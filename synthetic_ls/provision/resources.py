"""The ordered list of per-construct resources: creation walks it forwards, removal backwards.

Adding a resource is one module with a :class:`~synthetic_ls.provision.lifecycle.Resource`
subclass and one line here.
"""

from __future__ import annotations

from synthetic_ls.provision.include_files import IncludeFilesResource
from synthetic_ls.provision.lifecycle import Resource
from synthetic_ls.provision.ports import PortsResource
from synthetic_ls.provision.prompt_bundle import PromptBundleResource
from synthetic_ls.provision.services import ServicesResource
from synthetic_ls.provision.session import SessionResource
from synthetic_ls.provision.worktree import WorktreeResource

RESOURCES: tuple[Resource, ...] = (
    WorktreeResource(),
    IncludeFilesResource(),
    PortsResource(),
    PromptBundleResource(),  # after the ports: the bundle names them
    ServicesResource(),
    SessionResource(),
)

#: The resources that belong to a construct's worktree (``worktree add`` / ``worktree rm``).
WORKTREE_RESOURCES: tuple[Resource, ...] = tuple(r for r in RESOURCES if r.with_worktree)
