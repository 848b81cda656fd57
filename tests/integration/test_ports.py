"""Port allocation: real bind tests, the preferred port, and many processes at once."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from state_format.records import PortAllocation, utc_now
from state_format.store import Store
from synthetic_ls.provision.ports import PortSpec, allocate, port_is_free, release
from tests.gitrepo import make_repo
from tests.integration.services_helpers import env

#: One allocating process: four ports for its own construct, printed as JSON.
ALLOCATE = """
import json, sys
from state_format.store import Store
from synthetic_ls.provision.ports import PortSpec, allocate
store = Store.open(sys.argv[1])
specs = [PortSpec("web", f"p{i}", 24000, None) for i in range(4)]
print(json.dumps([r.port for r in allocate(store, sys.argv[2], specs)]))
"""


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(make_repo(tmp_path / "app"))


def _listen(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    sock = socket.socket()
    sock.bind((host, port))
    sock.listen()
    return sock


def test_a_free_preferred_port_is_used_and_a_taken_one_is_not(store: Store) -> None:
    holder = _listen()
    taken = holder.getsockname()[1]
    try:
        assert not port_is_free(taken)
        got = allocate(store, "c-one", [PortSpec("api", None, taken, None)])
        assert got[0].port != taken and port_is_free(got[0].port)
        assert taken < got[0].port <= taken + 100  # the next free one above it
    finally:
        holder.close()
    free = got[0].port + 7
    assert port_is_free(free)
    again = allocate(store, "c-two", [PortSpec("api", None, free, None)])
    assert again[0].port == free


def test_a_port_held_on_the_wildcard_address_counts_as_taken(store: Store) -> None:
    holder = _listen("0.0.0.0")
    try:
        port = holder.getsockname()[1]
        assert not port_is_free(port)
        got = allocate(store, "c-one", [PortSpec("api", None, port, None)])
        assert got[0].port != port
    finally:
        holder.close()


def test_a_port_allocated_to_another_construct_is_never_handed_out(store: Store) -> None:
    first = allocate(store, "c-one", [PortSpec("api", None, 25000, None)])[0].port
    # Nothing listens on it (the service is stopped), yet it stays reserved.
    assert port_is_free(first)
    second = allocate(store, "c-two", [PortSpec("api", None, first, None)])[0].port
    assert second != first
    # Asking again for the same construct gives its own ports back, not new ones.
    assert allocate(store, "c-one", [PortSpec("api", None, 25000, None)])[0].port == first
    assert release(store, "c-one") == [f"released port {first} (api)"]
    third = allocate(store, "c-three", [PortSpec("api", None, first, None)])[0].port
    assert third == first


def test_many_processes_allocating_at_once_never_share_a_port(store: Store) -> None:
    # A record written by hand (as another tool might) is respected too.
    store.create(PortAllocation(id="other-web-port", construct_id="other", service_name="web",
                                port=24000, allocated_at=utc_now()))
    procs = [
        subprocess.Popen([sys.executable, "-c", ALLOCATE, str(store.repo.worktree), f"c-{n}"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=env(store.repo.worktree))
        for n in range(8)
    ]
    ports: list[int] = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        ports.extend(json.loads(out))
    assert len(ports) == 32
    assert len(set(ports)) == 32 and 24000 not in ports
    records = store.list(PortAllocation).records
    assert len({r.port for r in records}) == len(records) == 33
