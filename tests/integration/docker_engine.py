"""A real Docker engine for the docker and compose services tests, and their image.

The engine is whatever ``docker version`` reaches (in CI, the dockerd that
``scripts/engine.sh start`` started). Without one the tests skip, except
under ``SYNTHETIC_E2E_REQUIRED=1`` (scripts/test.sh), where that is a failure.

The image, ``synthetic-test/busybox:1``, is built here with no registry: a
root filesystem of Debian's static busybox (``bin/busybox`` and one symlink
per applet) given to ``docker import``. It is built once per machine (under
a file lock, for pytest-xdist's workers) and kept.

``synthetic-test/agent:2`` (:func:`ensure_agent_image`) is the same plus
what OpenCode's binary needs to run from a bind mount (it is mounted, not
copied, by the container runtime of isolated constructs): the host's glibc
loader and libraries at the paths the binary asks for, ``/etc/passwd``, and
the host's git (with its two libraries) for the agent to commit with.

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
#: The image isolated constructs' agents run in (busybox, glibc: OpenCode's binary runs;
#: git: the agent commits its work). 2: git added.
AGENT_IMAGE = "synthetic-test/agent:2"
#: The host's git and the libraries it links to beyond glibc (Debian's), copied if present.
GIT_FILES = ("/usr/bin/git", "/lib/x86_64-linux-gnu/libpcre2-8.so.0",
             "/lib/x86_64-linux-gnu/libz.so.1")
#: What ``ldd`` lists for OpenCode's linux-x64 binary (glibc, dynamically linked).
GLIBC_FILES = ("/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
               "/lib/x86_64-linux-gnu/libc.so.6", "/lib/x86_64-linux-gnu/libpthread.so.0",
               "/lib/x86_64-linux-gnu/libdl.so.2", "/lib/x86_64-linux-gnu/libm.so.6")
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


def _rootfs_tar(busybox: Path, *, glibc: bool = False) -> bytes:
    """A tar of ``bin/busybox`` and ``bin/<applet>`` -> ``busybox`` for each applet.

    ``glibc``: also the host's glibc files of :data:`GLIBC_FILES` (a symlink
    stays a symlink, its target is added too), ``etc/passwd`` with root.
    """
    applets = subprocess.run([str(busybox), "--list"], capture_output=True, text=True,
                             check=True, timeout=30).stdout.split()
    out = io.BytesIO()
    folders = ["bin", "tmp"] + (["etc", "lib", "lib/x86_64-linux-gnu", "lib64"] if glibc else [])
    with tarfile.open(fileobj=out, mode="w") as tar:
        for folder in folders:
            info = tarfile.TarInfo(folder)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if folder == "tmp" else 0o755
            tar.addfile(info)
        if glibc:
            for name in GLIBC_FILES:
                # lstat, not the resolved file: /lib64's loader is a link to /lib's.
                if os.path.islink(name):
                    info = tarfile.TarInfo(name.lstrip("/"))
                    info.type, info.linkname = tarfile.SYMTYPE, os.readlink(name)
                    tar.addfile(info)
                else:
                    tar.add(os.path.realpath(name), arcname=name.lstrip("/"))
            if all(os.path.exists(name) for name in GIT_FILES):
                # git in /bin (the image's PATH); commit, add, update-ref are built in.
                tar.add(os.path.realpath(GIT_FILES[0]), arcname="bin/git")
                for name in GIT_FILES[1:]:
                    tar.add(os.path.realpath(name), arcname=name.lstrip("/"))
            passwd = b"root:x:0:0:root:/root:/bin/sh\n"
            info = tarfile.TarInfo("etc/passwd")
            info.size, info.mode = len(passwd), 0o644
            tar.addfile(info, io.BytesIO(passwd))
        tar.add(str(busybox), arcname="bin/busybox")
        # Not `busybox` itself: a link of that name would replace the binary with a loop.
        for applet in sorted(set(applets) - {"busybox"}):
            info = tarfile.TarInfo(f"bin/{applet}")
            info.type, info.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(info)
    return out.getvalue()


def _build(image: str, *, glibc: bool) -> None:
    """``docker import`` the root filesystem as ``image`` unless it exists.

    One builder at a time (a file lock: pytest-xdist's workers).
    """
    lock = "synthetic-test-" + image.replace("/", "-").replace(":", "-") + "-image.lock"
    with FileLock(Path(tempfile.gettempdir()) / lock):
        if docker("image", "inspect", image).returncode == 0:
            return
        busybox = _busybox()
        if busybox is None:
            raise RuntimeError("no busybox to build the test image from (apt install "
                               "busybox-static)")
        made = subprocess.run(
            ["docker", "import", "--change", "ENV PATH=/bin", "-", image],
            input=_rootfs_tar(busybox, glibc=glibc), capture_output=True, timeout=300,
        )
        if made.returncode != 0:
            raise RuntimeError(f"docker import failed: {made.stderr.decode()[-500:]}")


def ensure_image() -> None:
    """Build :data:`IMAGE` unless it exists (idempotent; one builder at a time)."""
    _build(IMAGE, glibc=False)


def ensure_agent_image() -> None:
    """Build :data:`AGENT_IMAGE` (busybox, glibc, ``/etc/passwd``) unless it exists."""
    missing = [name for name in GLIBC_FILES if not os.path.exists(name)]
    if missing:
        why = f"the agent image copies the host's glibc, which has no {missing[0]}"
        if REQUIRED:
            pytest.fail(why)
        pytest.skip(why)
    _build(AGENT_IMAGE, glibc=True)


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
