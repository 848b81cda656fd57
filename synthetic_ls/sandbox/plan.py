"""What a construct's sandbox sees: its worktree, the git it needs, its own home; nothing else.

The plan is a list of layers applied in order over a read-only view of the
machine (bubblewrap) or an image (a container):

* **hidden** (an empty folder put over it): the person's home, the main
  checkout, every other worktree of the repository, the state folder
  (``.git/synthetic``: records, logs, the OpenCode password), the other
  worktrees' git folders, ``/tmp`` and ``/run`` (where sockets such as the
  Docker engine's and the SSH agent's live);
* **read-only**: the repository's git folder (config, refs, HEAD);
* **writable**: the worktree, its own git folder (index, HEAD), the object
  store, the folder of the construct's branch ref and its reflog: what
  ``git commit`` on the construct's branch writes;
* the sandbox's **home**, ``<state>/sandboxes/<id>/home``: OpenCode's data for
  this construct (its sessions), kept until the construct is removed.

What is left writable beyond the worktree is said plainly in the README:
the object store is shared (objects are content-addressed, so adding one
changes no other), and the branch's ref folder holds the other branches of
the same prefix.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from state_format.records import Construct

#: Under the state folder: one folder per isolated construct (its home, its server's record).
SANDBOXES = "sandboxes"


@dataclass(frozen=True)
class Layer:
    """One step of the view: ``hide`` a folder (an empty read-only one over it), give it a
    ``scratch`` (empty, writable) one, or ``bind`` ``source`` at ``target``."""

    kind: str  # "hide" (empty, read-only) | "scratch" (empty, writable) | "bind"
    target: Path
    source: Path | None = None
    writable: bool = False


@dataclass(frozen=True)
class SandboxPlan:
    """A construct's sandbox: the layers over the machine's files, its worktree and home."""

    construct_id: str
    worktree: Path
    home: Path
    layers: tuple[Layer, ...]

    def binds(self) -> list[Layer]:
        """The bind layers alone (what a container mounts: an image has nothing to hide)."""
        return [layer for layer in self.layers if layer.kind == "bind"]


def sandbox_dir(state_dir: Path, construct_id: str) -> Path:
    """``<state>/sandboxes/<id>``: the construct's sandbox home and its server's record."""
    return state_dir / SANDBOXES / construct_id


def _admin_dir(worktree: Path) -> Path | None:
    """The worktree's own git folder, from its ``.git`` file (``gitdir: ...``)."""
    try:
        text = (worktree / ".git").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    if not text.startswith("gitdir:"):
        return None
    found = Path(text[len("gitdir:"):].strip())
    return (found if found.is_absolute() else worktree / found).resolve()


def plan_for(state_dir: Path, checkout: Path, construct: Construct,
             other_worktrees: list[Path]) -> SandboxPlan:
    """The sandbox of ``construct``, whose worktree must exist.

    ``state_dir`` is ``<git common dir>/synthetic``; ``checkout`` the main
    checkout; ``other_worktrees`` every other worktree of the repository.
    Folders the view needs that do not exist yet (the branch's reflog
    folder, the home) are made here, in the repository's git folder and the
    state folder only.
    """
    if not construct.workspace_path:
        raise ValueError(f"construct {construct.id} has no worktree to isolate")
    worktree = Path(construct.workspace_path).resolve()
    common = state_dir.resolve().parent
    home = sandbox_dir(state_dir.resolve(), construct.id) / "home"
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Scratch folders of its own (writable, empty): the machine's hold sockets
    # (the Docker engine's, an SSH agent's) and other people's files.
    layers = [Layer("scratch", Path("/tmp")), Layer("scratch", Path("/run"))]
    hidden = [Path(os.path.expanduser("~")).resolve(), checkout.resolve(),
              *(p.resolve() for p in other_worktrees)]
    layers += [Layer("hide", p) for p in _outermost(hidden) if p != Path("/") and p.is_dir()]
    layers.append(Layer("bind", common, common))
    layers += [Layer("hide", state_dir.resolve()), Layer("hide", common / "worktrees")]
    layers.append(Layer("bind", common / "objects", common / "objects", writable=True))
    admin = _admin_dir(worktree)
    if admin is not None and admin.is_dir():
        layers.append(Layer("bind", admin, admin, writable=True))
    if construct.branch:
        # git writes `<ref>.lock` beside the ref, then renames it: the folder must be writable.
        ref_dir = (common / "refs" / "heads" / construct.branch).parent
        log_dir = (common / "logs" / "refs" / "heads" / construct.branch).parent
        for folder in (ref_dir, log_dir):
            folder.mkdir(parents=True, exist_ok=True)
            layers.append(Layer("bind", folder, folder, writable=True))
    layers.append(Layer("bind", worktree, worktree, writable=True))
    layers.append(Layer("bind", home, home, writable=True))
    return SandboxPlan(construct.id, worktree, home, tuple(layers))


def _outermost(paths: list[Path]) -> list[Path]:
    """The paths with those inside another left out (hiding the outer hides them), in order."""
    out: list[Path] = []
    for path in sorted(set(paths), key=lambda p: len(p.parts)):
        if not any(path.is_relative_to(kept) for kept in out):
            out.append(path)
    return out
