from __future__ import annotations

import os

import pytest


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Run the test with the working directory in a fresh temporary folder."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="session")
def pg_url() -> str:
    """URL of the PostgreSQL server the suite uses (CI always has one)."""
    return os.environ.get("DEPRECATOR_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
