"""PostgreSQL test helpers: a fresh database per test, throwaway roles, and a throwaway cluster.

Tests share one server with other engineers' tests running in parallel, so each
test gets its own database (and roles with random names) and drops them after.
Tests that need server settings the shared server lacks (pg_stat_statements in
shared_preload_libraries) start their own cluster from the server binaries.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

PG_BIN = Path(os.environ.get("DEPRECATOR_PG_BIN", "/usr/lib/postgresql/15/bin"))


def admin_engine(url: str) -> sa.Engine:
    """An autocommit engine without a pool (test setup and teardown: CREATE/DROP DATABASE, roles)."""
    return sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)


@pytest.fixture
def pg_db(pg_url: str) -> Iterator[str]:
    """URL of a brand-new database, dropped after the test."""
    name = "dep_t_" + uuid.uuid4().hex[:12]
    admin = admin_engine(pg_url)
    with admin.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            # FORCE ends whatever a failed test left connected, so teardown never waits on it
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def terminate_others(url: str) -> None:
    """End the connections a failed test left open to this test database (never any other database)."""
    eng = admin_engine(url)
    try:
        with eng.connect() as c:
            c.exec_driver_sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = current_database() AND pid <> pg_backend_pid()")
    finally:
        eng.dispose()


@pytest.fixture
def pg_roles(pg_url: str, pg_db: str) -> Iterator[list[str]]:
    """Three fresh roles (cluster-wide, so with random names); dropped after the test."""
    tag = uuid.uuid4().hex[:8]
    names = [f"dep_r_{tag}_{i}" for i in range(3)]
    admin = admin_engine(pg_url)
    with admin.connect() as c:
        for n in names:
            c.exec_driver_sql(f'CREATE ROLE "{n}"')
    try:
        yield names
    finally:
        terminate_others(pg_db)       # a lock a failed test still holds would make DROP OWNED wait forever
        db = admin_engine(pg_db)
        with db.connect() as c:
            c.exec_driver_sql("SET lock_timeout = '30s'")
            for n in names:
                c.exec_driver_sql(f'DROP OWNED BY "{n}" CASCADE')
        db.dispose()
        with admin.connect() as c:
            for n in names:
                # the database may still hold grants if the test dropped it already
                c.exec_driver_sql(f'DROP ROLE IF EXISTS "{n}"')
        admin.dispose()


def run_sql(url: str, *statements: str) -> None:
    """Run statements in autocommit mode (test setup)."""
    eng = admin_engine(url)
    try:
        with eng.connect() as c:
            for s in statements:
                c.exec_driver_sql(s)
    finally:
        eng.dispose()


# -- throwaway cluster --------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(args: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


@dataclass
class Cluster:
    datadir: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.datadir), "-m", "immediate", "stop"]),
                       capture_output=True, timeout=60)


def start_cluster(settings: dict[str, str]) -> Cluster:
    """initdb + pg_ctl start on a free port in a temporary folder owned by postgres."""
    root = Path(tempfile.mkdtemp(prefix="dep_pg_"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    datadir = root / "data"
    subprocess.run(_as_postgres([str(PG_BIN / "initdb"), "-D", str(datadir), "-U", "postgres", "--auth=trust",
                                 "--no-sync", "-E", "UTF8"]), check=True, capture_output=True, timeout=120)
    port = _free_port()
    conf = dict(settings, port=str(port), listen_addresses="'127.0.0.1'", unix_socket_directories=f"'{root}'",
                fsync="off", max_connections="30", shared_buffers="16MB")
    with open(datadir / "postgresql.conf", "a") as f:
        for k, v in conf.items():
            f.write(f"{k} = {v}\n")
    subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(datadir), "-l", str(root / "log"), "-w", "start"]),
                   check=True, capture_output=True, timeout=120)
    cluster = Cluster(datadir, port)
    deadline = time.time() + 30
    while True:
        try:
            eng = admin_engine(cluster.url)
            with eng.connect() as c:
                c.exec_driver_sql("SELECT 1")
            eng.dispose()
            return cluster
        except sa.exc.OperationalError:
            if time.time() > deadline:
                cluster.stop()
                raise
            time.sleep(0.2)


@pytest.fixture(scope="session")
def pgss_cluster() -> Iterator[Cluster]:
    """A throwaway cluster with pg_stat_statements preloaded; skipped only if the server binaries are absent."""
    if not (PG_BIN / "initdb").exists():
        pytest.skip(f"PostgreSQL server binaries not found under {PG_BIN}")
    cluster = start_cluster({"shared_preload_libraries": "'pg_stat_statements'",
                             "pg_stat_statements.track": "all"})
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(cluster.datadir.parent, ignore_errors=True)


# The registry most PostgreSQL tests deprecate: customer_facts -> entity_customers, cust_id renamed.
CUSTOMER_FACTS_REGISTRY = """deprecations:
  - model: analytics.customer_facts
    replacement: analytics.entity_customers
    sunset: 2027-03-31
    columns:
      cust_id: customer_id
"""


def owned_customer_tables(owner: str) -> list[str]:
    """Statements: schema analytics with customer_facts and entity_customers owned by ``owner``."""
    return [
        "CREATE SCHEMA analytics",
        "CREATE TABLE analytics.customer_facts (cust_id int, name text)",
        "CREATE TABLE analytics.entity_customers (customer_id bigint, name text)",
        f'ALTER TABLE analytics.customer_facts OWNER TO "{owner}"',
        f'ALTER TABLE analytics.entity_customers OWNER TO "{owner}"',
        f'GRANT USAGE, CREATE ON SCHEMA analytics TO "{owner}"',
    ]


INVOICE_REGISTRY = ("deprecations:\n  - model: public.invoice\n    replacement: analytics.invoice_new\n"
                    "    sunset: 2027-03-31\n")


def invoice_project(pg_db: str, directory: Path, warehouse_settings: str = "") -> Path:
    """A project in ``directory`` retiring public.invoice for analytics.invoice_new, with one view
    (analytics.inv_v) reading it; ``warehouse_settings`` are extra `warehouse:` lines (indented).
    Returns its deprecator.yml."""
    run_sql(pg_db,
            "CREATE SCHEMA analytics",
            "CREATE TABLE public.invoice (id int, amount int)",
            "CREATE TABLE analytics.invoice_new (id int, amount int)",
            "CREATE VIEW analytics.inv_v AS SELECT id, amount FROM public.invoice")
    (directory / "deprecations.yml").write_text(INVOICE_REGISTRY)
    (directory / "deprecator.yml").write_text(
        f"warehouse:\n  url: {pg_db}\n{warehouse_settings}registry: deprecations.yml\n"
        "state:\n  url: sqlite:///state.db\n")
    return directory / "deprecator.yml"
