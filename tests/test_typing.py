"""mypy passes on the package: strict on the core (deprecator.sql, deprecator.plan), defaults elsewhere."""

from __future__ import annotations

import configparser
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# The per-module flags that ``--strict`` turns on (mypy --help); the core sets them all.
STRICT_FLAGS = (
    "disallow_any_generics", "disallow_subclassing_any", "disallow_untyped_calls", "disallow_untyped_defs",
    "disallow_incomplete_defs", "check_untyped_defs", "disallow_untyped_decorators", "warn_unused_ignores",
    "warn_return_any", "no_implicit_reexport", "strict_equality", "extra_checks",
)


@pytest.mark.slow
def test_mypy_passes_on_the_package() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", "setup.cfg", "deprecator"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    output = proc.stdout + proc.stderr
    assert "No module named mypy" not in output, "mypy is not installed: pip install -e '.[dev]'"
    assert proc.returncode == 0, f"mypy failed (exit {proc.returncode}):\n{output}"
    assert "Success" in proc.stdout, output


def test_core_is_configured_strict_and_nothing_else_is() -> None:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    core = [name for name in cfg.sections() if name.startswith("mypy-") and "deprecator.plan" in name.split(",")]
    assert len(core) == 1, "setup.cfg needs one [mypy-...] section covering deprecator.plan"
    section = cfg[core[0]]
    assert "deprecator.sql.*" in core[0].removeprefix("mypy-").split(",")
    missing = [flag for flag in STRICT_FLAGS if not section.getboolean(flag, fallback=False)]
    assert not missing, f"core mypy section lacks strict flags: {missing}"
    # `strict = True` in any section turns strict mode on for every module (python/mypy#11401).
    assert not any(cfg.has_option(name, "strict") for name in cfg.sections() if name.startswith("mypy")), (
        "use the individual strict flags; `strict` applies to the whole package"
    )
