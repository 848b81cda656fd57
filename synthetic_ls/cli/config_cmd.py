"""Commands of the `synthetic` CLI (filled in by the matching issue)."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: "argparse._SubParsersAction[Any]") -> None:
    """Add this module's commands to the top-level parser."""
