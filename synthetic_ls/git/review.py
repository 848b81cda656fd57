"""Git steps for reviewing and landing a construct's branch.

Everything here runs the real ``git`` (not libgit2), so that a repository's
hooks, attributes and config apply exactly as they would by hand. Functions
only read, except :func:`run_step` callers in :mod:`synthetic_ls.ops.review`,
which also roll back. This module does not import pygit2: ``synthetic diff``
and ``land`` start faster without it.
"""

from __future__ import annotations

import os
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

from typing_extensions import TypedDict

from synthetic_ls.git.command import GitError, git_bytes, run_git

#: Keeps paths unquoted in git's text output (``-z`` output never quotes).
_PLAIN = ("-c", "core.quotepath=false")


class FileChangeJson(TypedDict):
    """A changed file: ``status`` is git's letter (A, M, D, T, ``?`` untracked); counts
    are null for a binary file."""

    path: str
    status: str
    additions: int | None
    deletions: int | None


@dataclass(frozen=True)
class FileChange:
    """One changed file: ``status`` is git's letter (A, M, D, T, ``?`` untracked)."""

    path: str
    status: str
    additions: int | None = None  # None: binary, or not counted
    deletions: int | None = None

    def to_dict(self) -> FileChangeJson:
        return {
            "path": self.path,
            "status": self.status,
            "additions": self.additions,
            "deletions": self.deletions,
        }


class CommitJson(TypedDict):
    """A commit: ``time`` is the committer's, in seconds since the epoch."""

    id: str
    time: int
    author: str
    subject: str
    files: list[str]


@dataclass(frozen=True)
class Commit:
    """A commit of the construct's branch."""

    id: str
    time: int  # committer time, seconds since the epoch
    author: str
    subject: str
    files: tuple[str, ...] = ()

    def to_dict(self) -> CommitJson:
        return {
            "id": self.id,
            "time": self.time,
            "author": self.author,
            "subject": self.subject,
            "files": list(self.files),
        }


def rev(cwd: Path, name: str) -> str | None:
    """The commit ``name`` points at, or None."""
    proc = run_git(
        cwd, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{name}^{{commit}}",
        step="resolving a revision", check=False,
    )
    return proc.stdout.strip() or None if proc.returncode == 0 else None


def is_ancestor(cwd: Path, ancestor: str, descendant: str) -> bool:
    """True if ``ancestor`` is reachable from ``descendant``."""
    proc = run_git(
        cwd, "merge-base", "--is-ancestor", ancestor, descendant,
        step="comparing commits", check=False,
    )
    return proc.returncode == 0


def merge_base(cwd: Path, a: str, b: str) -> str | None:
    """The best common ancestor of ``a`` and ``b``, or None (unrelated histories)."""
    proc = run_git(cwd, "merge-base", a, b, step="finding the merge base", check=False)
    return proc.stdout.strip() or None if proc.returncode == 0 else None


def _parse_raw_numstat(text: str) -> list[FileChange]:
    """Parse ``git diff --raw --numstat -z --no-renames`` output."""
    items = text.split("\0")
    raw: list[tuple[str, str]] = []
    counts: dict[str, tuple[int | None, int | None]] = {}
    i = 0
    while i < len(items):
        item = items[i]
        if not item:
            i += 1
            continue
        if item.startswith(":"):
            raw.append((item.rsplit(" ", 1)[-1][:1], items[i + 1]))
            i += 2
            continue
        added, deleted, path = item.split("\t", 2)
        counts[path] = (
            int(added) if added != "-" else None,
            int(deleted) if deleted != "-" else None,
        )
        i += 1
    return [FileChange(path, status, *counts.get(path, (None, None))) for status, path in raw]


def committed_changes(cwd: Path, base: str, head: str) -> list[FileChange]:
    """Files changed between ``base`` and ``head`` (trees; no renames paired)."""
    proc = run_git(
        cwd, "diff", "--raw", "--numstat", "-z", "--no-renames", "--no-ext-diff",
        base, head, "--", step="diffing the branch",
    )
    return _parse_raw_numstat(proc.stdout)


def uncommitted_changes(worktree: Path) -> list[FileChange]:
    """Tracked changes against HEAD (staged or not), then untracked files, in ``worktree``.

    One ``git status`` scan; the tracked changes are diffed (for line counts)
    only when there are some.
    """
    proc = run_git(
        worktree, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames",
        step="checking the worktree",
    )
    entries = [e for e in proc.stdout.split("\0") if e]
    untracked = [e[3:] for e in entries if e.startswith("?? ")]
    out: list[FileChange] = []
    if len(untracked) < len(entries):
        diff = run_git(
            worktree, "diff", "HEAD", "--raw", "--numstat", "-z", "--no-renames",
            "--no-ext-diff", "--", step="diffing the worktree",
        )
        out = _parse_raw_numstat(diff.stdout)
    counted = sorted(untracked)
    return out + [
        FileChange(p, "?", *(_untracked_lines(worktree, p) if i < UNTRACKED_COUNTED
                             else (None, None)))
        for i, p in enumerate(counted)
    ]


#: Untracked files whose lines are counted (the rest show no counts), and the
#: largest one counted: a stat is a glance, not a scan of a build folder.
UNTRACKED_COUNTED = 1000
UNTRACKED_MAX_BYTES = 1 << 20
#: Where git looks for a NUL to call a file binary (its own heuristic's span).
_BINARY_PROBE = 8000


def _untracked_lines(worktree: Path, rel: str) -> tuple[int | None, int | None]:
    """``(lines, 0)`` for an untracked text file, as ``git diff --numstat`` counts a new
    file; ``(None, None)`` for a binary, special or too large one."""
    try:
        fd = os.open(worktree / rel, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None, None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > UNTRACKED_MAX_BYTES:
            return None, None
        data = handle.read(UNTRACKED_MAX_BYTES)
    if b"\0" in data[:_BINARY_PROBE]:
        return None, None
    return data.count(b"\n") + (0 if not data or data.endswith(b"\n") else 1), 0


def branch_tips(cwd: Path, *branches: str) -> dict[str, str]:
    """The commits of the local ``branches`` that exist (short name -> commit), in one call."""
    proc = run_git(
        cwd, "for-each-ref", "--format=%(refname) %(objectname)",
        *[f"refs/heads/{b}" for b in branches], step="reading branches",
    )
    out: dict[str, str] = {}
    for line in proc.stdout.splitlines():
        ref, _, oid = line.rpartition(" ")
        out[ref.removeprefix("refs/heads/")] = oid
    return out


def patch(cwd: Path, *args: str) -> str:
    """``git diff`` text (``args``: the revisions, or ``HEAD`` in a worktree)."""
    return run_git(cwd, *_PLAIN, "diff", "--no-ext-diff", *args, "--", step="diffing").stdout


_SEP = "\x1e"


def commits_between(cwd: Path, base: str, head: str) -> list[Commit]:
    """Commits reachable from ``head`` but not ``base``, oldest first, with their files."""
    proc = run_git(
        cwd, *_PLAIN, "log", "--reverse", "--name-only", "--no-renames",
        f"--format={_SEP}%H%x1f%ct%x1f%an%x1f%s", f"{base}..{head}", "--",
        step="listing the branch's commits",
    )
    out: list[Commit] = []
    for chunk in proc.stdout.split(_SEP)[1:]:
        header, _, rest = chunk.partition("\n")
        cid, when, author, subject = header.split("\x1f", 3)
        files = tuple(line for line in rest.splitlines() if line)
        out.append(Commit(cid, int(when), author, subject, files))
    return out


def dirty_lines(worktree: Path) -> list[str]:
    """``git status --porcelain`` lines of tracked changes (``XY path``) in ``worktree``."""
    proc = run_git(
        worktree, *_PLAIN, "status", "--porcelain", "--untracked-files=no",
        step="checking for local changes",
    )
    return [line for line in proc.stdout.splitlines() if line]


@dataclass(frozen=True)
class MergeCheck:
    """What ``git merge-tree --write-tree`` says about merging two commits."""

    clean: bool
    tree: str
    conflicts: list[str]
    messages: str


def merge_check(cwd: Path, ours: str, theirs: str) -> MergeCheck:
    """Would merging ``theirs`` into ``ours`` conflict? Touches no worktree or index."""
    proc = run_git(
        cwd, "merge-tree", "--write-tree", "--name-only", "-z", ours, theirs,
        step="checking the merge", check=False,
    )
    if proc.returncode not in (0, 1):
        raise GitError("checking the merge (git merge-tree)", proc.stderr)
    head, _, messages = proc.stdout.partition("\0\0")
    tree, *names = head.split("\0")
    conflicts = sorted({n for n in names if n})
    return MergeCheck(
        proc.returncode == 0, tree, conflicts, messages.replace("\0", " ").strip()
    )


def hook_path(cwd: Path, name: str) -> Path | None:
    """The hook ``name`` git would run in ``cwd`` (honours core.hooksPath), if executable."""
    proc = run_git(cwd, "rev-parse", "--git-path", f"hooks/{name}", step="finding hooks")
    path = Path(proc.stdout.strip())
    if not path.is_absolute():
        path = cwd / path
    return path if path.is_file() and os.access(path, os.X_OK) else None


#: Files in a checkout's git dir that say an operation stopped half-way.
_OPERATIONS = {
    "MERGE_HEAD": "a merge", "rebase-merge": "a rebase", "rebase-apply": "a rebase or am",
    "CHERRY_PICK_HEAD": "a cherry-pick", "REVERT_HEAD": "a revert", "BISECT_LOG": "a bisect",
}


def operation_in_progress(cwd: Path) -> str | None:
    """``"a merge is in progress"`` (or a rebase ...) in the checkout at ``cwd``, else None."""
    args: list[str] = []
    for name in _OPERATIONS:
        args += ["--git-path", name]
    lines = run_git(cwd, "rev-parse", *args, step="checking for operations").stdout.splitlines()
    for name, line in zip(_OPERATIONS, lines, strict=False):
        path = Path(line)
        if (path if path.is_absolute() else cwd / path).exists():
            return f"{_OPERATIONS[name]} in progress"
    return None


def checkout_of(cwd: Path, branch: str) -> Path | None:
    """The worktree (main checkout or linked) that has ``branch`` checked out, if any."""
    proc = run_git(cwd, "worktree", "list", "--porcelain", "-z", step="git worktree list")
    path: str | None = None
    for item in proc.stdout.split("\0"):
        key, _, value = item.partition(" ")
        if key == "worktree":
            path = value
        elif key == "branch" and value == f"refs/heads/{branch}" and path is not None:
            return Path(path)
    return None


def git_dir_file(cwd: Path, name: str) -> Path:
    """Path of ``name`` (``MERGE_HEAD`` ...) in the git dir of the checkout at ``cwd``."""
    proc = run_git(cwd, "rev-parse", "--git-path", name, step="finding the git dir")
    path = Path(proc.stdout.strip())
    return path if path.is_absolute() else cwd / path


def run_step(
    cwd: Path, *args: str, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a git command that may fail for a reason to report (conflict, hook); never raises."""
    return run_git(cwd, *args, step=f"git {args[0]}", check=False, input=input)


@dataclass(frozen=True)
class Blob:
    """A path's entry in a commit, read with a size cap.

    ``kind`` is git's object type (``blob``; ``commit`` for a submodule) or
    ``missing``; ``data`` is None when the entry is missing, not a blob, or
    larger than the cap (``size`` still tells how large).
    """

    kind: str
    size: int
    data: bytes | None


def _git_bytes(
    cwd: Path, *args: str, input: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    try:
        return git_bytes(cwd, *args, input=input)
    except FileNotFoundError:
        raise GitError("reading a file", "the git command was not found on PATH") from None


def read_blob(cwd: Path, commit: str, path: str, limit: int) -> Blob:
    """The file ``path`` as of ``commit``, its bytes only when at most ``limit``.

    The size is asked first (``cat-file --batch-check``), so a huge file in
    an untrusted branch is never read into memory.
    """
    spec = f"{commit}:{path}\n".encode("utf-8", "surrogateescape")
    proc = _git_bytes(cwd, "cat-file", "--batch-check", input=spec)
    fields = proc.stdout.decode("utf-8", "replace").split()
    if proc.returncode != 0 or len(fields) != 3 or fields[-1] == "missing":
        return Blob("missing", 0, None)
    oid, kind, size_text = fields
    size = int(size_text) if size_text.isdigit() else 0
    if kind != "blob" or size > limit:
        return Blob(kind, size, None)
    data = _git_bytes(cwd, "cat-file", "blob", oid)
    if data.returncode != 0:
        raise GitError(f"reading {path}", data.stderr.decode("utf-8", "replace"))
    return Blob(kind, size, data.stdout)


def untracked_in_the_way(checkout: Path, base: str, head: str) -> list[str]:
    """Untracked files in ``checkout``, ignored ones included, that a landing of
    ``base..head`` would write over: files the branch adds or changes.

    git refuses to overwrite an untracked file, but not an ignored one: an
    agent's commit of a ``.env`` would replace the person's own on landing.
    """
    changed = run_git(
        checkout, "diff", "--name-only", "-z", "--no-renames", base, head, "--",
        step="listing the files the landing writes",
    ).stdout
    # Only a path that is there, and that the checkout does not track, is in the way.
    present = [p for p in changed.split("\0") if p and os.path.lexists(checkout / p)]
    if not present:
        return []
    tracked: set[str] = set()
    for start in range(0, len(present), 500):  # bounded command lines
        listed = run_git(
            checkout, "--literal-pathspecs", "ls-files", "-z", "--", *present[start:start + 500],
            step="looking for untracked files in the checkout",
        ).stdout
        tracked.update(p for p in listed.split("\0") if p)
    return sorted(p for p in present if p not in tracked)
