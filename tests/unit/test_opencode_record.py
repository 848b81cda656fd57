"""The managed OpenCode server's record: opencode/server.toml and the 0600 password."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from state_format.errors import BrokenRecordError
from state_format.owner import Owner
from synthetic_ls.runtime.opencode_record import (
    ServerRecord,
    password_path,
    read_password,
    read_server,
    record_path,
    remove_server,
    write_server,
)


def test_round_trip_and_password_is_owner_only(tmp_path: Path) -> None:
    assert read_server(tmp_path) is None and read_password(tmp_path) is None
    rec = ServerRecord("http://127.0.0.1:4096", Owner.current(), "2026-01-01T00:00:00Z", "x.log")
    write_server(tmp_path, rec, "s3cret")
    assert read_server(tmp_path) == rec
    assert read_password(tmp_path) == "s3cret"
    assert stat.S_IMODE(os.stat(password_path(tmp_path)).st_mode) == 0o600
    text = record_path(tmp_path).read_text()
    assert "s3cret" not in text and 'url = "http://127.0.0.1:4096"' in text
    remove_server(tmp_path)
    remove_server(tmp_path)  # twice is fine
    assert read_server(tmp_path) is None and read_password(tmp_path) is None


@pytest.mark.parametrize("body", ['url = 3\npid = 5\n', 'url = "http://x"\npid = "a"\n', "= ="])
def test_a_broken_record_is_reported(tmp_path: Path, body: str) -> None:
    record_path(tmp_path).parent.mkdir()
    record_path(tmp_path).write_text(body)
    with pytest.raises(BrokenRecordError):
        read_server(tmp_path)
