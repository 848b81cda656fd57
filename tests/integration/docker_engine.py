"""A real Docker engine for the docker and compose services tests, and their image.

The engine is whatever ``docker version`` reaches (in CI, the dockerd that
``scripts/engine.sh start`` started). Without one the tests skip, except
under ``SYNTHETIC_E2E_REQUIRED=1`` (scripts/test.sh), where that is a failure.

The image, ``synthetic-test/busybox:1``, is built here with no registry: a
root filesystem of Debian's static busybox (``bin/busybox`` and one symlink
per applet) given to ``docker import``. It is built once per machine (under
a file lock, for pytest-xdist's workers) and kept.

Everything a test makes is labelled ``synthetic.state=<its repository's
state folder>`` by Synthetic; :class:`Cleanup` removes all of it afterwards.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from filelock import FileLock

IMAGE = "synthetic-test/busybox:1"
REQUIRED = os.environ.get("SYNTHETIC_E2E_REQUIRED") == "1"


def docker(*argv: str, timeout: float = 60, **kw: object) -> subprocess.CompletedProcess[str]:
    """Run ``docker ARGV`` (output captured, never raising on a failure)."""
    return subprocess.run(["docker", *argv], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, **kw)  # type: ignore[call-overload, no-any-return]


def engine_problem() -> str | None:
    """Why no engine can be used here, or None."""
    if shutil.which("docker") is None:
        return "no docker client on PATH"
    try:
        result = docker("version", "--format", "{{.Server.Version}}", timeout=20)
    except subprocess.TimeoutExpired:
        return "docker version did not answer in 20 s"
    if result.returncode != 0:
        return f"no Docker engine answers: {result.stderr.strip()[-300:]}"
    return None


def _busybox() -> Path | None:
    for candidate in ("/usr/bin/busybox", "/bin/busybox"):
        if os.access(candidate, os.X_OK):
            return Path(candidate)
    return None


def _rootfs_tar(busybox: Path) -> bytes:
    """A tar of ``bin/busybox`` and ``bin/<applet>`` -> ``busybox`` for each applet."""
    applets = subprocess.run([str(busybox), "--list"], capture_output=True, text=True,
                             check=True, timeout=30).stdout.split()
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for folder in ("bin", "tmp"):
            info = tarfile.TarInfo(folder)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if folder == "tmp" else 0o755
            tar.addfile(info)
        tar.add(str(busybox), arcname="bin/busybox")
        # Not `busybox` itself: a link of that name would replace the binary with a loop.
        for applet in sorted(set(applets) - {"busybox"}):
            info = tarfile.TarInfo(f"bin/{applet}")
            info.type, info.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(info)
    return out.getvalue()


def ensure_image() -> None:
    """Build :data:`IMAGE` unless it exists (idempotent; one builder at a time)."""
    with FileLock(Path(tempfile.gettempdir()) / "synthetic-test-busybox-image.lock"):
        if docker("image", "inspect", IMAGE).returncode == 0:
            return
        busybox = _busybox()
        if busybox is None:
            raise RuntimeError("no busybox to build the test image from (apt install "
                               "busybox-static)")
        made = subprocess.run(
            ["docker", "import", "--change", "ENV PATH=/bin", "-", IMAGE],
            input=_rootfs_tar(busybox), capture_output=True, timeout=300,
        )
        if made.returncode != 0:
            raise RuntimeError(f"docker import failed: {made.stderr.decode()[-500:]}")


def require_engine() -> None:
    """Skip (or, when required, fail) without an engine; build the image once."""
    problem = engine_problem()
    if problem is not None:
        if REQUIRED:
            pytest.fail(f"the docker tests need a Docker engine ({problem}); "
                        "start one with scripts/engine.sh start")
        pytest.skip(f"needs a Docker engine: {problem}")
    ensure_image()


def wait_until(check: Callable[[], object], timeout: float = 60.0,
               what: str = "condition") -> None:
    """Poll ``check()`` until it is true; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def state_dir(repo: Path) -> Path:
    """The state folder of ``repo``, as Synthetic labels what it makes (``synthetic.state``)."""
    from state_format.store import Store

    return Store.open(repo).local_dir


def labelled(kind: str, label: str) -> list[str]:
    """Names of the containers (``kind`` ``ps``, stopped ones too) or volumes (``volume``)
    carrying ``label``."""
    if kind == "ps":
        result = docker("ps", "-a", "--filter", f"label={label}", "--format", "{{.Names}}")
    else:
        result = docker("volume", "ls", "--filter", f"label={label}", "--format", "{{.Name}}")
    assert result.returncode == 0, result.stderr
    return sorted(result.stdout.split())


def running(name: str) -> bool | None:
    """Whether container ``name`` runs (None: there is no such container)."""
    result = docker("inspect", "-f", "{{.State.Running}}", name)
    if result.returncode != 0:
        return None
    return result.stdout.strip() == "true"


class Cleanup:
    """What a test made on the engine, removed afterwards (by label, stopped ones too)."""

    def __init__(self) -> None:
        self.repos: list[Path] = []
        self.projects: list[str] = []

    def repo(self, repo: Path) -> Path:
        """Remove, after the test, everything labelled with ``repo``'s state folder."""
        self.repos.append(repo)
        return repo

    def project(self, construct_id: str) -> None:
        """Remove, after the test, compose project ``synthetic-<construct id>`` (its
        volumes are labelled by compose, not by Synthetic)."""
        self.projects.append(f"synthetic-{construct_id}")

    def labels(self) -> list[str]:
        """Every label whose containers and volumes go."""
        return ([f"synthetic.state={state_dir(r)}" for r in self.repos]
                + [f"com.docker.compose.project={p}" for p in self.projects])

    def run(self) -> list[str]:
        """Remove it all; the names of what was still there."""
        left: list[str] = []
        for label in self.labels():
            containers = labelled("ps", label)
            if containers:
                docker("rm", "-f", "-v", *containers, timeout=120)
            volumes = labelled("volume", label)
            for volume in volumes:
                docker("volume", "rm", "-f", volume)
            left += containers + volumes
        return left


@pytest.fixture
def engine() -> Iterator[Cleanup]:
    """A reachable engine with the test image; afterwards, what the test made is removed."""
    require_engine()
    cleanup = Cleanup()
    yield cleanup
    cleanup.run()
