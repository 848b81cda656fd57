"""Open the repository a command runs in and run git safely."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pygit2

from state_format.paths import RepoPaths, find_repo
from synthetic_ls.errors import InvalidInputError, NotFoundError, SyntheticError
from synthetic_ls.git.command import run_git


@dataclass(frozen=True)
class GitRepo:
    """A repository as Synthetic sees it: the main checkout and its common dir."""

    repo: pygit2.Repository  # opened on the common dir: the main checkout
    here: pygit2.Repository  # the checkout the command runs in (may be a linked worktree)
    main_root: Path
    common_dir: Path

    @classmethod
    def discover(cls, start: Path) -> GitRepo:
        """Find the repository containing ``start`` (main checkout or linked worktree).

        The state format's locator (``git rev-parse``) finds the common dir and
        the checkout, so both layers agree on the repository and give the same
        errors outside one or in a bare one.
        """
        paths = find_repo(start)
        try:
            here = pygit2.Repository(str(paths.worktree))
            main = pygit2.Repository(str(paths.common_dir))
        except pygit2.GitError as exc:
            raise _unopenable(paths, exc) from None
        if not _same_repository(Path(here.path), paths.common_dir):
            # pygit2 found a repository at the checkout, but not the one git
            # named (GIT_DIR pointing elsewhere): never mix two repositories.
            raise _unopenable(paths, None)
        if main.workdir is None:
            raise SyntheticError(
                f"{paths.common_dir} has no main checkout", code="not-a-repository"
            )
        return cls(
            repo=main,
            here=here,
            main_root=Path(main.workdir).resolve(),
            common_dir=paths.common_dir.resolve(),
        )

    def outermost_working_tree(self) -> Path:
        """The working tree of the outermost superproject around this repository.

        The main checkout itself when it is not a submodule. Asks
        ``git rev-parse --show-superproject-working-tree`` level by level,
        so a submodule of a submodule leads to the top.
        """
        current = self.main_root
        seen = {current}
        while True:
            proc = run_git(
                current,
                "rev-parse",
                "--show-superproject-working-tree",
                step="finding the superproject",
                check=False,
            )
            above = proc.stdout.strip()
            if proc.returncode != 0 or not above:
                return current
            parent = Path(above).resolve()
            if parent in seen:  # a loop cannot happen in git; never spin on one
                return current
            seen.add(parent)
            current = parent

    def resolve(self, rev: str) -> tuple[str, str]:
        """Resolve ``rev`` (branch, tag, commit, ``HEAD``) to ``(commit id, ref name)``.

        The ref name is the full ref when ``rev`` named a branch or tag, else ``""``.
        """
        if not rev.strip() or rev.startswith("-"):
            raise NotFoundError(f"no such branch, tag or commit: {rev!r}")
        obj: pygit2.Object | pygit2.Commit
        ref: pygit2.Reference | None
        try:
            # `here`, so that HEAD means the checkout the command runs in.
            obj, ref = self.here.resolve_refish(rev)
        except (KeyError, pygit2.InvalidSpecError, ValueError):
            try:
                obj = self.here.revparse_single(rev)
                ref = None
            except (KeyError, pygit2.InvalidSpecError, ValueError):
                raise NotFoundError(f"no such branch, tag or commit: {rev!r}") from None
        try:
            commit = obj.peel(pygit2.Commit)
        except (pygit2.InvalidSpecError, ValueError, KeyError):
            raise NotFoundError(f"{rev!r} does not name a commit") from None
        return str(commit.id), (ref.name if ref is not None else "")

    def head(self) -> tuple[str, str]:
        """HEAD of the checkout the command runs in, as ``(commit id, ref name or "")``."""
        repo = self.here
        if repo.head_is_unborn:
            raise SyntheticError(
                "the repository has no commits yet; commit once before creating worktrees",
                code="no-commits",
            )
        head = repo.head
        ref = head.name if not repo.head_is_detached else ""
        return str(head.peel(pygit2.Commit).id), ref


def _same_repository(here_git_dir: Path, common_dir: Path) -> bool:
    """True if ``here_git_dir`` is ``common_dir`` or one of its linked worktrees' git dirs."""
    here_git_dir, common_dir = here_git_dir.resolve(), common_dir.resolve()
    return here_git_dir == common_dir or (
        here_git_dir.parent.name == "worktrees" and here_git_dir.parent.parent == common_dir
    )


def _unopenable(paths: RepoPaths, exc: pygit2.GitError | None) -> SyntheticError:
    """The clear error for a repository git found but libgit2 cannot open as one."""
    fmt = run_git(
        paths.common_dir,
        "rev-parse",
        "--show-object-format",
        step="reading the object format",
        check=False,
    ).stdout.strip()
    if fmt and fmt != "sha1":
        # libgit2's SHA-256 support is experimental and not in pygit2's
        # builds; refusing up front beats a traceback half-way through.
        return InvalidInputError(
            f"{paths.worktree} is a {fmt.upper().replace('SHA', 'SHA-')} repository "
            f"(git init --object-format={fmt}); Synthetic's git library (libgit2, through "
            "pygit2) cannot read those yet, so worktree commands are not available here. "
            "Constructs without a worktree still work here",
            code="sha256-repository",
        )
    git_dir = os.environ.get("GIT_DIR")
    if git_dir:
        return SyntheticError(
            f"GIT_DIR is set ({git_dir}), but {paths.worktree} is not a checkout of that "
            "repository; unset GIT_DIR, or run synthetic inside the repository's checkout",
            code="not-a-repository",
        )
    detail = f": {exc}" if exc is not None else ""
    return SyntheticError(
        f"cannot open the git repository of {paths.worktree}{detail}",
        code="not-a-repository",
    )
