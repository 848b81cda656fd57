"""Which environment variables a repository's prompt files may read: those the person allowed.

A prompt file comes from the repository, and its text goes to the agent and
so to the model's provider: ``${env.AWS_SECRET_ACCESS_KEY}`` in a cloned
repository's ``brief.md`` must not send the secret there. A prompt may read a
variable only when the person named it outside the repository:

* ``SYNTHETIC_PROMPT_ENV`` in the environment, names separated by commas or
  spaces (for one command: ``SYNTHETIC_PROMPT_ENV=TICKET synthetic new ...``);
* ``env = [...]`` under ``[prompts]`` in the user settings file
  (``$XDG_CONFIG_HOME/synthetic/settings.toml``, by default
  ``~/.config/synthetic/settings.toml``).

Nothing in the repository (the config included) can add a name.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from collections.abc import Mapping
from pathlib import Path

ALLOW_ENV = "SYNTHETIC_PROMPT_ENV"
#: The user settings file is small; a larger one is not read.
SETTINGS_MAX = 64 * 1024
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def settings_path(environ: Mapping[str, str] | None = None) -> Path:
    """The user settings file (which need not exist)."""
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_CONFIG_HOME") or str(Path(environ.get("HOME", "~")).expanduser()
                                                  / ".config")
    return Path(base) / "synthetic" / "settings.toml"


def allowed_names(environ: Mapping[str, str] | None = None) -> frozenset[str]:
    """The names the person allowed prompts to read (a broken settings file allows none)."""
    environ = os.environ if environ is None else environ
    names = set(_NAME.findall(environ.get(ALLOW_ENV, "")))
    names.update(_from_settings(settings_path(environ)))
    return frozenset(names)


def allowed_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The allowed variables that are set, with their values: what ``${env.NAME}`` may read."""
    environ = os.environ if environ is None else environ
    return {name: environ[name] for name in allowed_names(environ) if name in environ}


def _from_settings(path: Path) -> list[str]:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return []
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            return []
        data = handle.read(SETTINGS_MAX + 1)
    if len(data) > SETTINGS_MAX:
        return []
    try:
        settings = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        return []
    listed = settings.get("prompts", {}).get("env", []) if isinstance(
        settings.get("prompts"), dict) else []
    return [n for n in listed if isinstance(n, str) and _NAME.fullmatch(n)] if isinstance(
        listed, list) else []
