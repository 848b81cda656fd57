"""``synthetic import PATH``: register an existing linked worktree as a construct."""

from __future__ import annotations

from pathlib import Path

from state_format.protocol import StateStore
from state_format.records import Construct
from state_format.statuses import Status
from synthetic_ls.errors import ConflictError, InvalidInputError, NotFoundError
from synthetic_ls.git import worktree_admin
from synthetic_ls.git.repo import GitRepo
from synthetic_ls.ops.constructs import normalize_description, normalize_name, write_record
from synthetic_ls.ops.views import ConstructResult, views
from synthetic_ls.provision.context import Context


def import_worktree(
    store: StateStore,
    path: Path,
    *,
    name: str | None = None,
    template_id: str | None = None,
    description: str = "",
) -> ConstructResult:
    """Register the linked worktree at ``path`` (made by hand or another tool).

    The worktree must belong to this repository, must not be the main
    checkout, and must not be registered already. Its branch (if any) is
    recorded; the base is the main checkout's current branch and the commit
    where the two diverged.
    """
    git = GitRepo.discover(store.repo.worktree)
    target = Path(path).expanduser().resolve()
    entries = worktree_admin.list_worktrees(git)
    entry = next((e for e in entries if e.path.resolve() == target), None)
    if entry is None:
        raise NotFoundError(
            f"{target} is not a worktree of this repository (see `git worktree list`)"
        )
    if entry.is_main:
        raise InvalidInputError(f"{target} is the main checkout, not a linked worktree")
    if entry.prunable or not target.exists():
        raise NotFoundError(f"worktree {target} no longer exists; run `synthetic doctor`")
    for construct in store.list_constructs().records:
        if construct.workspace_path and Path(construct.workspace_path).resolve() == target:
            raise ConflictError(f"{target} is already construct {construct.id}")
    chosen_template = Context(store).choose_template(template_id)[0]
    clean_name = normalize_name(name if name is not None else target.name)
    base_ref = ""
    base_commit = entry.head or ""
    main = git.repo
    if not main.head_is_unborn and not main.head_is_detached and entry.head:
        base_ref = main.head.name
        merge_base = main.merge_base(entry.head, main.head.target)
        if merge_base is not None:
            base_commit = str(merge_base)
    extra = {
        "workspace_path": str(target),
        "branch": entry.branch or None,
        # The person's branch: removing the construct never deletes it.
        "branch_owned": False if entry.branch else None,
        "base_ref": base_ref or None,
        "base_commit": base_commit or None,
    }
    construct = write_record(
        store,
        clean_name,
        normalize_description(description),
        chosen_template,
        Status.READY,
        extra,
    )
    file = store.location(Construct, construct.id)
    return ConstructResult(views(store.repo.worktree, [construct], [file], inspect=False)[0])
