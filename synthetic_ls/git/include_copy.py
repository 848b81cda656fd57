"""Copy a template's ``includePatterns`` (untracked files such as ``.env``) into a worktree.

Patterns follow .gitignore conventions: a pattern without a slash matches a
file name at any depth (``.env*``), one with a slash is anchored at the
repository root (``config/*.local``), ``**`` crosses folders. git lists the
candidates (untracked files only: tracked ones are already in the new
checkout), which also keeps nested repositories and ``.git`` out.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from synthetic_ls.git.repo import GitRepo, run_git

# ioctl number of FICLONE (linux/fs.h): share the source's blocks (btrfs, xfs).
_FICLONE = 0x40049409


@dataclass
class CopyReport:
    """What an include copy did: files copied, and files skipped with the reason."""

    copied: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    reflinked: int = 0


def _pathspec(pattern: str) -> str:
    """Turn a .gitignore-style pattern into a git glob pathspec."""
    pat = pattern.strip()
    anchored = "/" in pat.rstrip("/")
    pat = pat.lstrip("/")
    if pat.endswith("/"):
        pat += "**"
    return f":(glob){pat}" if anchored else f":(glob)**/{pat}"


def _clone_or_copy(src: Path, dst: Path) -> bool:
    """Copy file contents, by reflink when the filesystem can; True if reflinked."""
    with open(src, "rb") as fsrc, open(dst, "wb") as fdst:
        try:
            fcntl.ioctl(fdst.fileno(), _FICLONE, fsrc.fileno())
            return True
        except OSError as exc:
            if exc.errno not in (
                errno.EOPNOTSUPP,
                errno.ENOTTY,
                errno.EXDEV,
                errno.EINVAL,
                errno.EBADF,
                errno.ENOSYS,
                errno.EPERM,
            ):
                raise
        shutil.copyfileobj(fsrc, fdst, 1024 * 1024)
    return False


def copy_included(
    repo: GitRepo, dest_root: Path, patterns: list[str], *, exclude: list[Path] | None = None
) -> CopyReport:
    """Copy untracked files of the main checkout matching ``patterns`` into ``dest_root``.

    Relative paths and permission bits are kept. A symlink is recreated as a
    symlink only when it points inside the repository; one pointing outside
    is skipped, never followed. Files that already exist in the destination
    are left alone. Folders in ``exclude`` (other worktrees) are not searched.
    """
    report = CopyReport()
    specs = [_pathspec(p) for p in patterns if p.strip()]
    if not specs:
        return report
    src_root = repo.main_root
    proc = run_git(
        src_root, "ls-files", "-z", "--others", "--", *specs, step="listing include files"
    )
    excluded = [e.resolve() for e in (exclude or [])]
    for rel in sorted(filter(None, proc.stdout.split("\0"))):
        parts = Path(rel).parts
        if ".git" in parts or ".." in parts:
            report.skipped.append((rel, "inside .git"))
            continue
        src = src_root / rel
        if any(src.is_relative_to(e) for e in excluded):
            continue
        dst = dest_root / rel
        if dst.exists() or dst.is_symlink():
            report.skipped.append((rel, "already exists in the worktree"))
            continue
        # A parent folder that is a symlink out of the repository would make
        # us read outside it; resolve the parent and check.
        if not src.parent.resolve().is_relative_to(src_root):
            report.skipped.append((rel, "its folder is a symlink out of the repository"))
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            target = os.readlink(src)
            resolved = (src.parent / target).resolve()
            if not resolved.is_relative_to(src_root) or resolved.is_relative_to(repo.common_dir):
                report.skipped.append((rel, f"symlink points outside the repository ({target})"))
                continue
            os.symlink(target, dst)
            report.copied.append(rel)
            continue
        if not src.is_file():
            report.skipped.append((rel, "not a regular file"))
            continue
        if _clone_or_copy(src, dst):
            report.reflinked += 1
        shutil.copymode(src, dst)
        report.copied.append(rel)
    return report
