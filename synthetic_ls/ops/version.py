"""This Synthetic's version and the state format it reads and writes (``synthetic version``).

Another machine's Synthetic is asked for this over SSH (``synthetic host
check``): the two must share the state format version to work on each
other's constructs.
"""

from __future__ import annotations

from dataclasses import dataclass

from typing_extensions import TypedDict

from state_format.marker import CURRENT_VERSION
from synthetic_ls import __version__


class VersionJson(TypedDict):
    """``synthetic version --json``: the program's version and its state format version."""

    version: str
    state_format: int


@dataclass(frozen=True)
class VersionInfo:
    """The program's version and the state format version it reads and writes."""

    version: str
    state_format: int

    def to_dict(self) -> VersionJson:
        """The JSON form."""
        return {"version": self.version, "state_format": self.state_format}


def version_info() -> VersionInfo:
    """This Synthetic's version and state format version; reads nothing."""
    return VersionInfo(__version__, CURRENT_VERSION)
