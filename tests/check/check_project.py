"""A git repository for `deprecator check` tests: the registry, the environment and small git helpers.

Shared by the check, check-dbt, guide-link and pre-commit-hook tests (a plain module, not a test module,
so importing it collects no tests twice).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

TODAY = "2026-12-02"
REGISTRY = """\
deprecations:
  - model: analytics.customer_facts
    replacement: analytics.entity_customers
    sunset: 2027-03-31
    migration_guide: migration_guides/customer_facts.md
  - model: analytics.old_orders
    replacement: analytics.orders
    sunset: 2026-11-30
"""
ENV = {"DEPRECATOR_TODAY": TODAY, "GITHUB_STEP_SUMMARY": ""}


def git(repo: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True,
                          env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
                               "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"})
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def write(repo: Path, rel: str, text: str) -> None:
    p = repo / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")


def commit(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
