"""The notice templates load from an installed wheel (deprecator.templates), not only from the checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.notify.notify_project import write_project

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_notify_dry_run_from_an_installed_wheel(tmp_path):
    wheels, venv, work = tmp_path / "wheels", tmp_path / "venv", tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SLACK_BOT_TOKEN")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["DEPRECATOR_TODAY"] = "2026-12-02"

    def run(*a: str, **kw) -> subprocess.CompletedProcess:
        return subprocess.run(a, check=True, capture_output=True, text=True, env=env, **kw)

    src = tmp_path / "src"      # build from a copy: an in-tree build writes build/ into the checkout
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("deprecator", "templates"):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    for name in ("pyproject.toml", "setup.cfg", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(src))
    (wheel,) = wheels.glob("deprecator-*.whl")
    run(sys.executable, "-m", "venv", str(venv))
    py = venv / "bin" / "python"
    target = run(str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip()
    outer = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(target) / "_test_deps.pth").write_text("".join(f"{d}\n" for d in sorted(outer)))
    run(str(py), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel))
    write_project(work, "http://127.0.0.1:9/api/")
    out = run(str(venv / "bin" / "deprecator"), "notify", "--dry-run", cwd=str(work)).stdout
    assert "would send: alice -> DM alice@corp.example" in out
    assert "Your most frequent query (3 runs), rewritten for `analytics.entity_customers`" in out
    where = run(str(py), "-c", "import deprecator.notify; print(deprecator.notify.__file__)", cwd=str(work)).stdout
    assert str(venv) in where
