"""``SYNTHETIC_OPENCODE_LOAD_TIMEOUT``: how long a folder-loading call waits."""

from __future__ import annotations

import pytest

from synthetic_ls.errors import SyntheticError
from synthetic_ls.opencode.client import (
    FOLDER_LOAD_TIMEOUT,
    LOAD_TIMEOUT_ENV,
    folder_load_timeout,
)


def test_unset_waits_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(LOAD_TIMEOUT_ENV, raising=False)
    assert folder_load_timeout() == FOLDER_LOAD_TIMEOUT


def test_a_number_of_seconds_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LOAD_TIMEOUT_ENV, " 12.5 ")
    assert folder_load_timeout() == 12.5


@pytest.mark.parametrize("bad", ["soon", "0", "-3", "nan", "inf"])
def test_anything_else_is_refused_with_a_clear_code(
    monkeypatch: pytest.MonkeyPatch, bad: str
) -> None:
    monkeypatch.setenv(LOAD_TIMEOUT_ENV, bad)
    with pytest.raises(SyntheticError) as raised:
        folder_load_timeout()
    assert raised.value.code == "invalid-input"
    assert LOAD_TIMEOUT_ENV in str(raised.value)
