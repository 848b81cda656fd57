"""Copy a template's ``includePatterns`` (untracked files such as ``.env``) into a worktree.

Patterns follow .gitignore conventions: a pattern without a slash matches a
file name at any depth (``.env*``), one with a slash is anchored at the
repository root (``config/*.local``), ``**`` crosses folders. git lists the
candidates (untracked files only: tracked ones are already in the new
checkout), which also keeps nested repositories and ``.git`` out.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path

from synthetic_ls.git.command import run_git
from synthetic_ls.git.repo import GitRepo

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


class _Refused(Exception):
    """A path the copy will not touch; ``str(exc)`` is the reason shown in ``skipped``."""


#: Open a folder, refusing (ELOOP) when the name is a symlink.
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _open_folders(root_fd: int, parts: tuple[str, ...], *, create: bool, where: str) -> int:
    """Open ``parts`` below ``root_fd`` one folder at a time and return the last one's fd.

    Each component is opened relative to its parent's fd with ``O_NOFOLLOW``,
    so no symlink anywhere on the path is followed, and nothing can swap a
    folder for a symlink between a check and the use. With ``create`` missing
    folders are made (``mkdir`` never follows a symlink either). ``where``
    names the tree in messages ("the worktree", "the main checkout").
    """
    fd = os.dup(root_fd)
    try:
        for i, name in enumerate(parts):
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(name, 0o777, dir_fd=fd)
            try:
                child = os.open(name, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno not in (errno.ELOOP, errno.ENOTDIR, errno.ENOENT):
                    raise
                shown = "/".join(parts[: i + 1])
                if exc.errno == errno.ENOENT:
                    raise _Refused(f"{shown} is gone from {where}") from None
                if stat.S_ISLNK(os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode):
                    raise _Refused(
                        f"{shown} in {where} is a symlink; nothing is copied through one"
                    ) from None
                raise _Refused(f"{shown} in {where} is not a folder") from None
            os.close(fd)
            fd = child
        return fd
    except BaseException:
        os.close(fd)
        raise


def _clone_or_copy(src_fd: int, dst_fd: int) -> bool:
    """Copy file contents between open fds, by reflink when the filesystem can; True if so."""
    try:
        fcntl.ioctl(dst_fd, _FICLONE, src_fd)
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
    # closefd=False: the caller owns and closes both fds.
    with open(src_fd, "rb", closefd=False) as fsrc, open(dst_fd, "wb", closefd=False) as fdst:
        shutil.copyfileobj(fsrc, fdst, 1024 * 1024)
    return False


def _copy_one(
    repo: GitRepo, src_root_fd: int, dest_root_fd: int, rel: str, report: CopyReport
) -> None:
    """Copy one file or symlink; raise :class:`_Refused` to skip it with a reason."""
    *folders, name = Path(rel).parts
    src_dir = _open_folders(src_root_fd, tuple(folders), create=False, where="the main checkout")
    try:
        st = os.stat(name, dir_fd=src_dir, follow_symlinks=False)
        if stat.S_ISLNK(st.st_mode):
            target = os.readlink(name, dir_fd=src_dir)
            resolved = (repo.main_root.joinpath(*folders) / target).resolve()
            if not resolved.is_relative_to(repo.main_root) or resolved.is_relative_to(
                repo.common_dir
            ):
                raise _Refused(f"symlink points outside the repository ({target})")
            dst_dir = _open_folders(dest_root_fd, tuple(folders), create=True, where="the worktree")
            try:
                os.symlink(target, name, dir_fd=dst_dir)
            except FileExistsError:
                raise _Refused("already exists in the worktree") from None
            finally:
                os.close(dst_dir)
            report.copied.append(rel)
            return
        if not stat.S_ISREG(st.st_mode):
            raise _Refused("not a regular file")
        # O_NONBLOCK: a FIFO swapped in after the stat must not hang the open.
        src = os.open(
            name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=src_dir
        )
    except FileNotFoundError:
        raise _Refused("is gone from the main checkout") from None
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
        raise _Refused("became a symlink while copying") from None
    finally:
        os.close(src_dir)
    try:
        st = os.fstat(src)
        if not stat.S_ISREG(st.st_mode):
            raise _Refused("not a regular file")
        dst_dir = _open_folders(dest_root_fd, tuple(folders), create=True, where="the worktree")
        try:
            # O_EXCL|O_NOFOLLOW: never open an existing file, nor follow a
            # (possibly dangling) symlink the branch put at this name.
            dst = os.open(
                name,
                os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                0o600,
                dir_fd=dst_dir,
            )
        except FileExistsError:
            raise _Refused("already exists in the worktree") from None
        finally:
            os.close(dst_dir)
        try:
            if _clone_or_copy(src, dst):
                report.reflinked += 1
            os.fchmod(dst, stat.S_IMODE(st.st_mode))
        finally:
            os.close(dst)
    finally:
        os.close(src)
    report.copied.append(rel)


def copy_included(
    repo: GitRepo, dest_root: Path, patterns: list[str], *, exclude: list[Path] | None = None
) -> CopyReport:
    """Copy untracked files of the main checkout matching ``patterns`` into ``dest_root``.

    Relative paths and permission bits are kept. A symlink is recreated as a
    symlink only when it points inside the repository; one pointing outside
    is skipped, never followed. Files that already exist in the destination
    are left alone. Folders in ``exclude`` (other worktrees) are not searched.

    The destination is a checkout of a branch that may be hostile (a pull
    request under review can commit ``config`` as a symlink to anywhere), so
    no write follows a symlink: every folder on the way, in the worktree and
    in the main checkout, is opened relative to its parent with
    ``O_NOFOLLOW``, and files are created with ``O_EXCL | O_NOFOLLOW``. Such
    paths are reported in ``skipped`` with the reason.
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
    candidates = []
    for rel in sorted(filter(None, proc.stdout.split("\0"))):
        parts = Path(rel).parts
        if ".git" in parts or ".." in parts or Path(rel).is_absolute():
            report.skipped.append((rel, "inside .git"))
            continue
        if any((src_root / rel).is_relative_to(e) for e in excluded):
            continue
        candidates.append(rel)
    if not candidates:
        return report
    src_root_fd = os.open(src_root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        dest_root_fd = os.open(dest_root, _DIR_FLAGS)
        try:
            for rel in candidates:
                try:
                    _copy_one(repo, src_root_fd, dest_root_fd, rel, report)
                except _Refused as refused:
                    report.skipped.append((rel, str(refused)))
        finally:
            os.close(dest_root_fd)
    finally:
        os.close(src_root_fd)
    return report


def ignored_files(worktree: Path, patterns: list[str] | None) -> list[str]:
    """Ignored files in ``worktree`` that match ``patterns`` (all of them for None).

    With None, folders that hold nothing but ignored files (``node_modules/``,
    ``build/``) are left out whole: they are generated, and listing them file
    by file could take long.
    """
    args = ["ls-files", "-z", "--others", "--ignored", "--exclude-standard"]
    specs: list[str] = []
    if patterns is None:
        args.append("--directory")
    else:
        specs = [_pathspec(p) for p in patterns if p.strip()]
        if not specs:
            return []
    proc = run_git(worktree, *args, "--", *specs, step="listing ignored files")
    return sorted(rel for rel in proc.stdout.split("\0") if rel and not rel.endswith("/"))
