"""readyPattern against hostile output: linear-time matching, line by line (issue 20, items 10-11).

Real services (shell commands) on real repositories, through ``create_construct``:

* ``^(a+)+$`` against a line of ``a`` and a ``!`` takes Python's backtracking
  ``re`` about 2^40 steps; with RE2 the wait ends at ``readyTimeoutMs``, as
  for any service that never gets ready, and the rollback leaves nothing;
* a ready line followed by 200 KB more output is seen;
* the error of a service that prints one enormous line quotes a few short lines.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from state_format.records import Construct, Service
from state_format.store import Store
from synthetic_ls.errors import SyntheticError
from synthetic_ls.ops.constructs import (
    CreateOptions,
    RemoveOptions,
    create_construct,
    remove_construct,
)
from synthetic_ls.ready_pattern import LINE_LIMIT, LineMatcher
from tests.gitrepo import GIT_ENV
from tests.integration.services_helpers import (
    config,
    groups_fixture,  # noqa: F401  (the `groups` fixture)
    make_service_repo,
    recorded_groups,
)


@pytest.fixture(autouse=True)
def _env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("SYNTHETIC_WORKTREES_DIR", str(tmp_path / "wt"))


def shell_service(run: str, pattern: str, timeout_ms: int) -> str:
    """A process service running the shell command ``run`` (a TS string literal)."""
    return (f'{{ run: {run!r}, readyPattern: {pattern!r}, '
            f'readyTimeoutMs: {timeout_ms} }}').replace("'", '"')


def test_a_catastrophic_pattern_keeps_the_timeout(tmp_path: Path, groups: list[int]) -> None:
    service = shell_service("printf %s\\\\n " + "a" * 40 + "!; sleep 600", "^(a+)+$", 1500)
    repo = make_service_repo(tmp_path, config(f"api: {service}"))
    store = Store.open(repo)
    with pytest.raises(SyntheticError) as caught:
        create_construct(store, CreateOptions(name="Hostile"))
    assert caught.value.code == "service-timeout", caught.value
    assert "a" * 40 + "!" in str(caught.value)  # it quotes what the service printed
    assert store.list(Construct).records == [] and store.list(Service).records == []


def test_a_ready_line_followed_by_much_more_output_is_seen(
    tmp_path: Path, groups: list[int]
) -> None:
    flood = "echo ok; head -c 200000 /dev/zero | tr \\\\0 x; echo; sleep 600"
    repo = make_service_repo(tmp_path, config(f"api: {shell_service(flood, '^ok$', 60000)}"))
    store = Store.open(repo)
    result = create_construct(store, CreateOptions(name="Flood"))
    groups.extend(recorded_groups(repo))
    assert [s["state"] for s in result.to_dict()["services"]] == ["ready"]
    remove_construct(store, RemoveOptions(ref=result.construct.id))


def test_an_enormous_line_is_quoted_short(tmp_path: Path, groups: list[int]) -> None:
    flood = "head -c 500000 /dev/zero | tr \\\\0 x; sleep 600"
    repo = make_service_repo(tmp_path, config(f"api: {shell_service(flood, 'never', 1500)}"))
    store = Store.open(repo)
    with pytest.raises(SyntheticError) as caught:
        create_construct(store, CreateOptions(name="Flood"))
    assert caught.value.code == "service-timeout"
    assert "xxxx" in str(caught.value) and len(str(caught.value)) < 5000


def test_line_matching() -> None:
    matcher = LineMatcher("^ready$")
    assert not matcher.feed("warming up\nrea")
    assert matcher.feed("dy\n")  # a line split across two reads
    assert LineMatcher("Serving").feed("Serving HTTP")  # an unfinished line counts
    assert LineMatcher("ok").feed("ok" + "x" * (3 * LINE_LIMIT))
    assert not LineMatcher("^(a+)+$").feed("a" * (2 * LINE_LIMIT) + "\n")  # not at the cut
    long_then_ready = LineMatcher("^ready")
    assert not long_then_ready.feed("y" * (2 * LINE_LIMIT))
    assert long_then_ready.feed("ready?\nready\n")  # the long line's end is not a line start


def test_a_program_that_block_buffers_a_pipe_is_seen_ready(
    tmp_path: Path, groups: list[int]
) -> None:
    """Issue 20, item 12: Python without -u (and without PYTHONUNBUFFERED) buffers its
    output in blocks when it is a file or a pipe; services write to a pseudo-terminal, so
    the ready line arrives at once. It also sees a terminal, and its colours are no bother."""
    program = (
        "import sys, time\n"
        "print('\\x1b[32mServing HTTP\\x1b[0m' if sys.stdout.isatty() else 'no tty')\n"
        "time.sleep(600)\n"
    )
    service = ('{ run: "python3 ${constructDir}/buffered.py", readyPattern: "^Serving HTTP$", '
               'readyTimeoutMs: 60000, env: { PYTHONUNBUFFERED: "" } }')
    repo = make_service_repo(tmp_path, config(f"web: {service}"), {"buffered.py": program})
    store = Store.open(repo)
    result = create_construct(store, CreateOptions(name="Buffered"))
    groups.extend(recorded_groups(repo))
    assert [s["state"] for s in result.to_dict()["services"]] == ["ready"]
    remove_construct(store, RemoveOptions(ref=result.construct.id))
