from __future__ import annotations

import os
import shutil
from typing import Iterator

import pytest

# Fixtures shared across test modules live in these plain (non-test) modules; pytest
# finds them here, so test modules use them by parameter name without importing them:
# pg_db, pg_roles, pgss_cluster (pg_cluster); slack_server, slack_env (notify/notify_project);
# env, the SQLite plan/apply project (sqlite_project). Helpers (run_sql, make_warehouse, ...)
# are imported from those modules; a test module never imports from another test module.
pytest_plugins = ["tests.pg_cluster", "tests.notify.notify_project", "tests.sqlite_project"]

DEFAULT_PG_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Run the test with the working directory in a fresh temporary folder."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _answers(url: str) -> bool:
    import sqlalchemy as sa

    from deprecator.db import create_engine

    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        return True
    except sa.exc.OperationalError:
        return False
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """URL of a real PostgreSQL server (superuser) for the suite.

    ``DEPRECATOR_TEST_PG_URL`` when set; else the local server CI always has;
    else, on a machine with a Docker engine and no local server, a throwaway
    testcontainers PostgreSQL. Never a mock.
    """
    explicit = os.environ.get("DEPRECATOR_TEST_PG_URL")
    if explicit or _answers(DEFAULT_PG_URL):
        yield explicit or DEFAULT_PG_URL
        return
    if shutil.which("docker") and os.path.exists("/var/run/docker.sock"):
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:15", driver="psycopg2") as pg:
            yield pg.get_connection_url()
        return
    pytest.fail(f"no PostgreSQL at {DEFAULT_PG_URL} (set DEPRECATOR_TEST_PG_URL, start the server, or run Docker)")
