"""``synthetic doctor``: compare construct records, git's worktree list and branches.

Each inconsistency is a :class:`Finding` with a stable ``kind``. With ``fix``
the safe repairs are made (nothing that could lose a person's work); the rest
come with advice on what to do by hand.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pygit2

from state_format.errors import RecordNotFoundError
from state_format.records import Construct
from state_format.store import Store
from synthetic_ls.git import branches, worktree_admin
from synthetic_ls.git.repo import GitError, GitRepo, run_git
from synthetic_ls.ops import worktrees as wt

#: Finding kinds, in the order they are reported.
KINDS = (
    "config-error",
    "broken-record",
    "interrupted-creation",
    "moved-worktree",
    "missing-worktree",
    "prunable-entry",
    "unregistered-worktree",
    "orphan-branch",
)


@dataclass
class Finding:
    """One inconsistency: what, where, whether ``--fix`` repaired it, what to do if not."""

    kind: str
    subject: str
    message: str
    fixed: bool = False
    advice: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The ``--json`` shape of a finding."""
        return {
            "kind": self.kind,
            "subject": self.subject,
            "message": self.message,
            "fixed": self.fixed,
            "advice": self.advice or None,
        }


@dataclass
class DoctorReport:
    """All findings of one run."""

    findings: list[Finding] = field(default_factory=list)

    @property
    def unresolved(self) -> list[Finding]:
        """Findings that still need attention."""
        return [f for f in self.findings if not f.fixed]


def _settings(store: Store, git: GitRepo) -> tuple[wt.WorktreeSettings, Finding | None]:
    """Worktree settings from the config, and a ``config-error`` finding if it has errors.

    A broken config must not stop the doctor: the checks go on with what
    could be read (else the defaults), and the config is reported, so that
    a run never says all is well while ``new`` and ``worktree add`` refuse.
    """
    from synthetic_ls.config import CONFIG_FILENAME, load_config

    path = store.repo.worktree / CONFIG_FILENAME
    try:
        result = load_config(store.repo.worktree)
    except Exception as exc:  # a reader bug must not hide the rest of the report
        return wt.worktree_settings(git, None), Finding(
            "config-error", str(path), f"{path} could not be read: {exc}", advice=_CONFIG_ADVICE
        )
    finding = None
    if result.exists and result.has_errors:
        errors = result.errors
        finding = Finding(
            "config-error",
            str(path),
            f"{path} has {len(errors)} error(s); the first: {errors[0].format_human(str(path))}",
            advice=_CONFIG_ADVICE,
        )
    return wt.worktree_settings(git, result.config), finding


_CONFIG_ADVICE = (
    "run `synthetic config check` to see every error and fix the file; until then "
    "`new` and `worktree add` refuse, and the other checks may use the default "
    "worktree folder and branch prefix"
)


def _gitdir_of(path: Path) -> Path | None:
    """The admin dir a linked worktree's ``.git`` file points to, if it is one."""
    dotgit = path / ".git"
    if not dotgit.is_file():
        return None
    try:
        text = dotgit.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None
    if not text.startswith("gitdir:"):
        return None
    target = Path(text.removeprefix("gitdir:").strip())
    return (path / target).resolve() if not target.is_absolute() else target.resolve()


def run_doctor(store: Store, *, fix: bool = False) -> DoctorReport:
    """Find (and with ``fix`` repair) inconsistencies between records and git."""
    git = GitRepo.discover(store.repo.worktree)
    settings, config_finding = _settings(store, git)
    report = DoctorReport()
    if config_finding is not None:
        report.findings.append(config_finding)
    listing = store.list_constructs()
    constructs = listing.records
    for broken in listing.broken:
        # Never rewritten or deleted here: a person broke it, a person fixes it.
        report.findings.append(
            Finding(
                "broken-record",
                broken.path,
                str(broken),
                advice="fix the file by hand (its worktree and branch, if any, "
                "show up below as having no construct until then)",
            )
        )

    # 1. Creations interrupted by a crash: roll back (always safe: nothing was handed over).
    for construct in constructs:
        if wt.is_interrupted(construct):
            finding = Finding(
                "interrupted-creation",
                construct.id,
                f"construct {construct.id} was being created by process "
                f"{construct.spawn_pid}, which is gone",
            )
            if fix:
                with store.lock():
                    notes = wt.rollback_spawn(store, git, construct)
                finding.fixed = True
                finding.message += f"; rolled back: {', '.join(notes)}"
            else:
                finding.advice = "run `synthetic doctor --fix` to roll it back"
            report.findings.append(finding)
    if fix:
        constructs = store.list_constructs().records
    live = [c for c in constructs if not wt.is_interrupted(c)]

    all_entries = worktree_admin.list_worktrees(git)
    entries = [e for e in all_entries if not e.is_main]
    managed_root = settings.root.resolve()
    by_path = {e.path.resolve(): e for e in entries}
    admin_dir = git.common_dir / "worktrees"

    # Worktrees moved by hand (`mv`): a folder whose .git points at an admin
    # entry that git now believes lives elsewhere.
    moved_to: dict[Path, Path] = {}  # admin dir -> new folder
    if settings.root.is_dir():
        for child in sorted(settings.root.iterdir()):
            gitdir = _gitdir_of(child)
            if gitdir is None or gitdir.parent != admin_dir.resolve():
                continue
            if child.resolve() not in by_path:
                moved_to[gitdir] = child.resolve()

    # 2. Records whose worktree is not where they say.
    for construct in live:
        if not construct.workspace_path:
            continue
        path = Path(construct.workspace_path)
        if path.resolve() in by_path and path.exists():
            continue
        new_path = _find_moved(git, construct, entries, moved_to)
        if new_path is not None:
            finding = Finding(
                "moved-worktree",
                construct.id,
                f"worktree of {construct.id} moved from {path} to {new_path}",
            )
            if fix:
                with contextlib.suppress(GitError):
                    run_git(
                        git.main_root,
                        "worktree",
                        "repair",
                        "--",
                        str(new_path),
                        step="git worktree repair",
                    )
                _set_fields(store, construct.id, {"workspace_path": str(new_path)})
                finding.fixed = True
                finding.message += "; record and git updated"
            else:
                finding.advice = "run `synthetic doctor --fix` to record the new place"
            report.findings.append(finding)
            continue
        branch_left = bool(construct.branch) and branches.branch_exists(git, construct.branch or "")
        finding = Finding(
            "missing-worktree",
            construct.id,
            f"worktree of {construct.id} is gone: {path}",
            advice=(
                f"recreate it with `synthetic worktree add {construct.id}`"
                + (f" (branch {construct.branch} is still there)" if branch_left else "")
                + f", or remove the construct with `synthetic rm {construct.id}`"
            ),
        )
        if fix:
            _set_fields(store, construct.id, {"workspace_path": None})
            finding.fixed = True
            finding.message += "; cleared workspace_path in the record"
        report.findings.append(finding)

    # 3. Administrative entries whose folder is gone.
    if fix:  # moves were repaired above: look again
        all_entries = worktree_admin.list_worktrees(git)
    # An entry git calls prunable because its folder was moved is repaired
    # above, not pruned: pruning would cut the moved worktree off from git.
    moved_from = {_recorded_path(git, admin) for admin in moved_to} if not fix else set()
    prunable = [
        e
        for e in all_entries
        if not e.is_main and e.prunable and e.path.resolve() not in moved_from
    ]
    if prunable and fix:
        worktree_admin.prune(git)  # one prune clears every stale entry
        all_entries = worktree_admin.list_worktrees(git)
    for entry in prunable:
        finding = Finding(
            "prunable-entry",
            str(entry.path),
            f"git still lists worktree {entry.path} ({entry.prunable_reason or 'folder gone'})",
        )
        if fix:
            finding.fixed = True
            finding.message += "; pruned"
        else:
            finding.advice = "run `synthetic doctor --fix` (git worktree prune)"
        report.findings.append(finding)

    # 4. Worktrees in the managed folder that no record claims.
    constructs = store.list_constructs().records if fix else constructs
    claimed = {Path(c.workspace_path).resolve() for c in constructs if c.workspace_path}
    for entry in all_entries:
        if entry.is_main or entry.prunable:
            continue
        resolved = entry.path.resolve()
        if resolved in claimed or not resolved.is_relative_to(managed_root):
            continue
        report.findings.append(
            Finding(
                "unregistered-worktree",
                str(entry.path),
                f"worktree {entry.path} (branch {entry.branch or 'detached'}) has no construct",
                advice=f"register it with `synthetic import {entry.path}`, or remove it with "
                f"`git worktree remove {entry.path}`",
            )
        )

    # 5. Branches under the prefix that no construct and no worktree uses.
    used = {c.branch for c in constructs if c.branch}
    checked_out = {e.branch for e in all_entries if e.branch}
    prefix = settings.branch_prefix
    for name in sorted(git.repo.branches.local):
        if not name.startswith(prefix) or name in used or name in checked_out:
            continue
        merged = branches.reachable_from_other_branches(git, name)
        finding = Finding(
            "orphan-branch",
            name,
            f"branch {name} belongs to no construct"
            + (" (fully merged)" if merged else " (has commits found on no other branch)"),
        )
        if fix and merged:
            branches.delete_branch(git, name)
            finding.fixed = True
            finding.message += "; deleted"
        elif not merged:
            finding.advice = (
                f"inspect it (`git log {name}`); delete it with `git branch -D {name}` "
                f"or keep working on it with `synthetic import` after `git worktree add`"
            )
        else:
            finding.advice = "run `synthetic doctor --fix` to delete it"
        report.findings.append(finding)

    report.findings.sort(key=lambda f: KINDS.index(f.kind))
    return report


def _recorded_path(git: GitRepo, admin: Path) -> Path | None:
    """The folder git's admin entry ``admin`` believes its worktree is in."""
    try:
        return Path(git.repo.lookup_worktree(admin.name).path).resolve()
    except (KeyError, ValueError, pygit2.GitError):
        return None


def _find_moved(
    git: GitRepo,
    construct: Construct,
    entries: list[worktree_admin.WorktreeEntry],
    moved_to: dict[Path, Path],
) -> Path | None:
    """Where a construct's worktree went, if it was moved rather than deleted."""
    if not construct.branch:
        return None
    old = Path(construct.workspace_path or "")
    for entry in entries:
        # `git worktree move` keeps git's list right: same branch, new existing path.
        if (
            entry.branch == construct.branch
            and not entry.prunable
            and entry.path.exists()
            and entry.path.resolve() != old.resolve()
        ):
            return entry.path
    for admin, new_folder in moved_to.items():
        # A plain `mv`: git's admin entry still names the old folder.
        recorded = _recorded_path(git, admin)
        if recorded == old.resolve() or admin.name == old.name:
            return new_folder
    return None


def _set_fields(store: Store, construct_id: str, fields: dict[str, Any]) -> None:
    with contextlib.suppress(RecordNotFoundError):
        store.update(Construct, construct_id, lambda _c: fields)
