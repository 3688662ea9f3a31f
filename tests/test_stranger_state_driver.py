"""A state store URL whose database driver is not installed is a clear error, not a traceback.

Found by pointing ``state.url`` at MySQL on a machine without MySQLdb: every command that
opens the state store (scan, applies, ...) crashed with ModuleNotFoundError and exit 1.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from deprecator.errors import DeprecatorError
from deprecator.state import StateStore
from tests.helpers import invoke

URL = "mysql://someone@127.0.0.1:1/state"


def _driver_missing() -> bool:
    try:
        import MySQLdb  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        return True
    return False


pytestmark = pytest.mark.skipif(not _driver_missing(), reason="MySQLdb is installed here")


def test_state_store_names_the_missing_driver(tmp_path: Path) -> None:
    with pytest.raises(DeprecatorError, match="MySQLdb") as info:
        StateStore(URL, tmp_path)
    assert "cannot open the state store" in str(info.value)


def test_applies_exits_2_with_a_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "deprecations.yml").write_text("deprecations: []\n")
    (tmp_path / "deprecator.yml").write_text(f"registry: deprecations.yml\nstate:\n  url: {URL}\n")
    monkeypatch.chdir(tmp_path)
    result = invoke(["applies"], 2)
    assert "cannot open the state store" in result.stderr and "MySQLdb" in result.stderr
