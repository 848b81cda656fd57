"""Special files where the state expects small regular files (issue 7, items 4 and 18).

A FIFO blocks a plain ``open``; ``/dev/zero`` never ends; a huge file eats
memory. Each case runs in a child process with a memory cap and a timeout
(sf_helpers.run_guarded), so a regression fails the test instead of hanging
or exhausting the machine.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sf_helpers import add_construct, make_repo, run_guarded

from state_format import files, listing
from state_format.errors import BrokenRecordError
from state_format.listing import cache_path, list_constructs
from state_format.records import Construct
from state_format.store import Store


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    monkeypatch.setattr(listing, "RACY_NS", 0)  # let fresh files be cached
    return Store.open(make_repo(tmp_path / "repo"))


def _bad_record(store: Store, how: str) -> Path:
    """Put a non-regular file named like a record beside the good ones."""
    path = store.folder(Construct) / "bad-1.toml"
    if how == "fifo":
        os.mkfifo(path)
    elif how == "dev-zero":
        path.symlink_to("/dev/zero")
    elif how == "dangling":
        path.symlink_to("gone-1.toml")
    elif how == "symlink":
        good = next(store.folder(Construct).glob("*.toml"))
        path.symlink_to(good.name)
    elif how == "folder":
        path.mkdir()
    elif how == "huge":
        with open(path, "wb") as f:  # valid TOML, just far too big
            f.write(b'id = "bad-1"\n# ' + b"x" * (files.MAX_RECORD_BYTES + 10) + b"\n")
    return path


BAD_RECORDS = {
    "fifo": "named pipe",
    "dev-zero": "symbolic link",
    "dangling": "does not exist",
    "symlink": "symbolic link",
    "folder": "folder",
    "huge": "larger than",
}


@pytest.mark.parametrize("how", list(BAD_RECORDS))
@pytest.mark.parametrize("action", ["ls", "list"])
def test_a_special_record_is_reported_and_the_others_listed(
    store: Store, how: str, action: str
) -> None:
    good = add_construct(store, "good")
    path = _bad_record(store, how)
    # Cold, then with the cache written by the first run; then the record alone.
    *lists, out = run_guarded(store.repo.worktree, [action], [action], ["get", "bad-1"])
    for listed in lists:
        assert listed["rows"] == [good.id]
        (bad,) = listed["broken"]
        assert bad["path"] == str(path) and BAD_RECORDS[how] in bad["detail"], bad
    assert out["error"] == "BrokenRecordError" and out["exit_code"] == 4
    assert BAD_RECORDS[how] in out["message"]
    assert os.path.lexists(path)  # reported, never removed or replaced


@pytest.mark.parametrize("how", ["fifo", "dev-zero", "folder", "huge"])
def test_a_special_marker_is_a_broken_marker(tmp_path: Path, how: str) -> None:
    repo = make_repo(tmp_path / "repo")
    state = repo / ".git" / "synthetic"
    state.mkdir()
    marker = state / "format.toml"
    if how == "fifo":
        os.mkfifo(marker)
    elif how == "dev-zero":
        marker.symlink_to("/dev/zero")
    elif how == "folder":
        marker.mkdir()
    else:
        marker.write_bytes(b"version = 1\n#" + b"x" * (files.MAX_RECORD_BYTES + 1))
    for out in run_guarded(repo, ["ls"], ["list"], ["create", "x"]):
        assert out.get("error") == "BrokenRecordError", out
        assert out["exit_code"] == 4 and str(marker) in out["message"]
    assert os.path.lexists(marker) and not (state / "constructs").exists()


@pytest.mark.parametrize("how", ["fifo", "dev-zero", "folder-link", "huge"])
def test_a_special_cache_is_discarded_and_rebuilt(
    store: Store, how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [add_construct(store, f"c{i}").id for i in range(3)]
    cache = cache_path(store.root)
    cache.parent.mkdir(exist_ok=True)
    if how == "fifo":
        os.mkfifo(cache)
    elif how == "dev-zero":
        cache.symlink_to("/dev/zero")
    elif how == "folder-link":  # the whole cache folder pointing elsewhere
        os.rmdir(cache.parent)
        elsewhere = store.root.parent / "elsewhere"
        elsewhere.mkdir()
        cache.parent.symlink_to(elsewhere)
    else:
        # A cache over the (here lowered) size limit, whose entries would show
        # if it were used: it must be ignored without even being parsed.
        list_constructs(store.root)
        size = cache.stat().st_size
        doc = json.loads(cache.read_text())
        for entry in doc["entries"].values():
            entry[4]["name"] = "from the cache"
        cache.write_text(json.dumps(doc) + " " * size)
        monkeypatch.setattr(files, "MAX_CACHE_BYTES", size * 3 // 2)
        result = list_constructs(store.root)
        assert [r.name for r in result.records] == ["c0", "c1", "c2"] and result.broken == []
        assert cache.stat().st_size < size * 3 // 2  # rewritten
        return
    for out in run_guarded(store.repo.worktree, ["ls"], ["ls"]):
        assert out == {"rows": ids, "broken": []}
    if how == "folder-link":
        assert not list((store.root.parent / "elsewhere").iterdir())  # nothing written there
    else:
        assert cache.is_file() and not cache.is_symlink()  # replaced by a real cache
        assert len(json.loads(cache.read_text())["entries"]) == 3


def test_limits_are_what_the_spec_says() -> None:
    readme = (Path(files.__file__).parent / "README.md").read_text()
    assert files.MAX_RECORD_BYTES == 1 << 20 and "1 MiB" in readme
    assert files.MAX_CACHE_BYTES == 64 << 20 and "64 MiB" in readme


def test_a_special_record_is_never_written_through(store: Store) -> None:
    good = add_construct(store, "good")
    target = store.root.parent / "outside.toml"
    target.write_text(store.path_of(Construct, good.id).read_text().replace(good.id, "bad-1"))
    link = store.folder(Construct) / "bad-1.toml"
    link.symlink_to(target)
    before = target.read_text()
    with pytest.raises(BrokenRecordError, match="symbolic link"):
        store.update(Construct, "bad-1", lambda c: {"name": "through the link"})
    with pytest.raises(BrokenRecordError, match="symbolic link"):
        store.delete(Construct, "bad-1")
    assert link.is_symlink() and target.read_text() == before


def test_a_cache_entry_never_vouches_for_a_special_file(store: Store) -> None:
    # Even a cache entry whose key matches (a forged or very unlucky cache) is
    # not used for a FIFO: the file is opened (without blocking) and reported.
    good = add_construct(store, "good")
    list_constructs(store.root)
    fifo = store.folder(Construct) / "bad-1.toml"
    os.mkfifo(fifo)
    st = os.lstat(fifo)
    doc = json.loads(cache_path(store.root).read_text())
    (entry,) = doc["entries"].values()
    doc["entries"]["bad-1.toml"] = [st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns,
                                    *entry[4:]]  # fmt: skip
    cache_path(store.root).write_text(json.dumps(doc))
    result = list_constructs(store.root)
    assert [r.id for r in result.records] == [good.id]
    assert [b.path for b in result.broken] == [str(fifo)]
