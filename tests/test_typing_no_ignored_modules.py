"""No module of the package is left out of the type check."""

from __future__ import annotations

import configparser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_no_mypy_section_ignores_errors() -> None:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    ignored = [name for name in cfg.sections()
               if name.startswith("mypy") and cfg.getboolean(name, "ignore_errors", fallback=False)]
    assert not ignored, f"mypy sections that hide every error of their modules: {ignored}"
