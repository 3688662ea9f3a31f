"""The shipped `.pre-commit-hooks.yaml`, run for real by pre-commit (`try-repo`) in a consumer repository.

pre-commit builds the hook's environment by pip-installing this repository
(and its dependencies from the package index), so this test is slow. It runs
on a clone of the committed HEAD, as a user's pre-commit would: commit a change
to the hook before testing it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.check.check_project import REGISTRY, commit, git, write

ROOT = Path(__file__).resolve().parents[2]


def _hook_repo(tmp_path: Path) -> Path:
    """This repository as committed (a clone): what a user's pre-commit gets, without anyone's work in progress."""
    dest = tmp_path / "deprecator-src"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(dest)], check=True, capture_output=True)
    return dest


def _pre_commit(repo: Path, home: Path, hook_repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("pre-commit", path=str(Path(sys.executable).parent)) or "pre-commit"
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "DEPRECATOR_TODAY": "2026-12-02",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    return subprocess.run([exe, "try-repo", str(hook_repo), "deprecator-check", *args], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=900)


@pytest.mark.slow
def test_the_hook_fails_on_a_staged_new_reference_and_passes_once_accepted(tmp_path):
    repo = tmp_path / "consumer"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    write(repo, "deprecator.yml", "registry: deprecations.yml\n")
    write(repo, "deprecations.yml", REGISTRY)
    write(repo, "models/ok.sql", "select 1 as one\n")
    commit(repo, "init")
    home = tmp_path / "pre-commit-home"
    hook_repo = _hook_repo(tmp_path)

    write(repo, "models/new.sql", "select *\nfrom {{ ref('customer_facts') }}\n")
    git(repo, "add", "models/new.sql")
    proc = _pre_commit(repo, home, hook_repo)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "deprecator check (no new references to deprecated models)" in out and "Failed" in out
    assert "models/new.sql:2:9: error: new reference to deprecated analytics.customer_facts" in out

    # accepted into the baseline, the same staged file passes
    subprocess.run([sys.executable, "-m", "deprecator", "check", "--update-baseline"], cwd=repo, check=True,
                   capture_output=True, env={**os.environ, "DEPRECATOR_TODAY": "2026-12-02"})
    proc = _pre_commit(repo, home, hook_repo)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Passed" in proc.stdout
