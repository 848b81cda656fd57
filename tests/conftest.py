"""Every test keeps the person's answers (``synthetic trust``) in a folder of its own.

Consent is remembered under ``$XDG_DATA_HOME/synthetic/trust``: a test must
neither read the answers of the machine's user nor leave its own there.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _own_trust_store(tmp_path_factory: pytest.TempPathFactory,
                     monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path_factory.mktemp("xdg-data")
    monkeypatch.setenv("XDG_DATA_HOME", str(folder))
    return folder
