"""Config operations: find a repository's config, check it, write a starter one.

One function finds the config (:func:`locate_config`); checking returns the
diagnostics with the path they are about, in one JSON form for every face.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from typing_extensions import TypedDict

from synthetic_ls.errors import ConflictError, NotFoundError, SyntheticError

if TYPE_CHECKING:
    from synthetic_ls.config import ConfigResult

#: The config's file name (a test keeps it equal to synthetic_ls.config.CONFIG_FILENAME).
CONFIG_FILENAME = "synthetic.config.ts"


def _not_a_repo(what: str) -> SyntheticError:
    return SyntheticError(f"not inside a git repository; {what}", code="not-a-repository")


def locate_config(
    path: Path | str | None = None, *, cwd: Path | None = None
) -> tuple[Path, Path | None]:
    """The config file to use and the repository root its paths are checked against.

    ``path`` None means ``synthetic.config.ts`` at the root of the repository
    around ``cwd``; a given path is used as it is (its folder is then the
    root for paths in it). Raises NotFoundError when there is no such file.
    """
    from synthetic_ls.config import config_path, find_repo_root

    if path is not None:
        given = Path(path)
        if not os.path.lexists(given):
            raise NotFoundError(f"{path}: no such file")
        return given, None
    root = find_repo_root(cwd or Path.cwd())
    if root is None:
        raise _not_a_repo(f"give the path of a {CONFIG_FILENAME}")
    found = config_path(root)
    if not os.path.lexists(found):
        raise NotFoundError(
            f"no {CONFIG_FILENAME} at {root}; a starter one can be written", code="no-config"
        )
    return found, root


@dataclass(frozen=True)
class CheckResult:
    """The diagnostics of one config file."""

    path: Path
    result: ConfigResult

    @property
    def has_errors(self) -> bool:
        """True when any diagnostic is an error."""
        return bool(self.result.has_errors)

    def to_dict(self) -> dict[str, Any]:
        """``{"file", "errors", "warnings", "diagnostics": [LSP diagnostics]}``."""
        diagnostics = self.result.diagnostics
        return {
            "file": str(self.path),
            "errors": sum(d.severity == "error" for d in diagnostics),
            "warnings": sum(d.severity == "warning" for d in diagnostics),
            "diagnostics": [d.to_lsp() for d in diagnostics],
        }


def check_config(path: Path | str | None = None, *, cwd: Path | None = None) -> CheckResult:
    """Check a config file (see :func:`locate_config`) without running anything in it."""
    from synthetic_ls.config import check_config_file

    found, root = locate_config(path, cwd=cwd)
    return CheckResult(found, check_config_file(found, root))


class ConfigInitJson(TypedDict):
    """``synthetic.config.init``: the starter config file written."""

    file: str


@dataclass(frozen=True)
class InitResult:
    """Where the starter config was written."""

    path: Path

    def to_dict(self) -> ConfigInitJson:
        """``{"file"}``."""
        return {"file": str(self.path)}


def write_starter(cwd: Path | None = None) -> InitResult:
    """Write the commented starter config at the repository root; never overwrite one."""
    from synthetic_ls.config import STARTER_CONFIG, config_path, find_repo_root

    root = find_repo_root(cwd or Path.cwd())
    if root is None:
        raise _not_a_repo(f"the {CONFIG_FILENAME} lives at a repository's root")
    path = config_path(root)
    try:
        # O_EXCL: never replace a file, even one created a moment ago.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    except FileExistsError:
        raise ConflictError(f"{path} already exists; it is not overwritten") from None
    except OSError as exc:
        raise SyntheticError(f"cannot write {path}: {exc.strerror}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(STARTER_CONFIG)
    return InitResult(path)
