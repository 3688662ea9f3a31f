"""Fault injection: SIGKILL `deprecator apply` at many points inside its transaction.

Each run works on a fresh copy of one template database. To stop the apply at
a known point, a reader holds a lock on one view (a different one each run,
spread over the plan's order); the apply's transaction runs every statement
before the first one touching that view, then waits for the lock, and the test
kills it there with SIGKILL. Afterwards every view's definition, owner,
grants, comments, options and indexes must be exactly as before. One run
without a reader completes, and must leave exactly the applied state.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from deprecator.warehouse.postgres.executor import ADVISORY_LOCK_KEY
from deprecator.warehouse.postgres import PostgresWarehouse
from tests.pg_cluster import admin_engine, run_sql

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

KILL_POINTS = int(os.environ.get("DEPRECATOR_KILL_POINTS", "8"))
VIEWS = 60
ROOT = Path(__file__).resolve().parents[2]


def _template(url: str, name: str) -> None:
    run_sql(url, f'CREATE DATABASE "{name}"')
    db = make_url(url).set(database=name).render_as_string(hide_password=False)
    stmts = ["CREATE SCHEMA analytics",
             "CREATE TABLE analytics.customer_facts (cust_id int, name text)",
             "CREATE TABLE analytics.entity_customers (customer_id bigint, name text)",
             "INSERT INTO analytics.entity_customers SELECT g, 'n' || g FROM generate_series(1, 100) g"]
    for i in range(VIEWS):
        src = "analytics.customer_facts" if i % 4 == 0 else f"analytics.v{i - 1}"
        kind = "MATERIALIZED VIEW" if i % 10 == 5 else "VIEW"
        stmts.append(f"CREATE {kind} analytics.v{i} AS SELECT cust_id, name FROM {src}")
        stmts.append(f"COMMENT ON {kind} analytics.v{i} IS 'view {i}'")
        stmts.append(f"GRANT SELECT ON analytics.v{i} TO PUBLIC")
        if kind == "MATERIALIZED VIEW":
            stmts.append(f"CREATE INDEX v{i}_id ON analytics.v{i} (cust_id)")
    run_sql(db, *stmts)


def _state(url: str) -> dict[str, str]:
    wh = PostgresWarehouse(url)
    try:
        return {str(v.relation): v.fingerprint() for v in wh.list_views()}
    finally:
        wh.close()


def _wait_idle(admin_url: str, db: str, timeout: float = 20) -> None:
    """Until the killed client's backend has noticed and rolled back."""
    eng = admin_engine(admin_url)
    deadline = time.time() + timeout
    with eng.connect() as c:
        while time.time() < deadline:
            n = c.execute(sa.text("SELECT count(*) FROM pg_stat_activity WHERE datname = :d AND pid <> pg_backend_pid()"),
                          {"d": db}).scalar()
            if n == 0:
                break
            time.sleep(0.05)
    eng.dispose()


def _child_waiting(conn: sa.Connection, db: str, reader_pid: int) -> bool:
    """True when a backend of ``db`` other than the reader waits for a lock (the apply is stuck inside)."""
    return bool(conn.execute(sa.text(
        "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE NOT l.granted AND a.datname = :d AND l.pid <> :r"), {"d": db, "r": reader_pid}).scalar())


def _holds_apply_lock(conn: sa.Connection, db: str) -> bool:
    return bool(conn.execute(sa.text(
        "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
        "WHERE l.locktype = 'advisory' AND d.datname = :d AND l.objid = :k AND l.granted"),
        {"d": db, "k": ADVISORY_LOCK_KEY & 0xFFFFFFFF}).scalar())


def test_sigkill_during_apply_leaves_everything_as_before(pg_url, tmp_path):
    tmpl = "dep_tmpl_" + uuid.uuid4().hex[:8]
    _template(pg_url, tmpl)
    copies: list[str] = []
    (tmp_path / "deprecations.yml").write_text(
        "deprecations:\n  - model: analytics.customer_facts\n    replacement: analytics.entity_customers\n"
        "    sunset: 2027-03-31\n    columns:\n      cust_id: customer_id\n")
    try:
        tmpl_url = make_url(pg_url).set(database=tmpl).render_as_string(hide_password=False)
        before = _state(tmpl_url)

        def run(block_view: str | None) -> tuple[str, dict[str, str]]:
            name = "dep_kill_" + uuid.uuid4().hex[:8]
            run_sql(pg_url, f'CREATE DATABASE "{name}" TEMPLATE "{tmpl}"')
            copies.append(name)
            db_url = make_url(pg_url).set(database=name).render_as_string(hide_password=False)
            cfg = tmp_path / f"{name}.yml"
            cfg.write_text(f"warehouse:\n  url: {db_url}\n  default_schema: analytics\n"
                           "registry: deprecations.yml\n"
                           f"state:\n  url: sqlite:///{tmp_path}/{name}.db\n")
            reader_engine = sa.create_engine(db_url, poolclass=sa.pool.NullPool)
            reader = reader_engine.connect()
            reader.begin()
            reader_pid = reader.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            if block_view is not None:
                reader.exec_driver_sql(f"SELECT * FROM analytics.{block_view} LIMIT 0").all()
            proc = subprocess.Popen([sys.executable, "-m", "deprecator", "--config", str(cfg), "apply", "--auto-approve"],
                                    cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            watcher = admin_engine(pg_url)
            outcome = "completed"
            with watcher.connect() as c:
                while proc.poll() is None and block_view is not None:
                    if _holds_apply_lock(c, name) and _child_waiting(c, name, reader_pid):
                        proc.send_signal(signal.SIGKILL)
                        outcome = "killed"
                        break
                    time.sleep(0.005)
                proc.wait(timeout=120)
            watcher.dispose()
            reader.rollback()
            reader.close()
            reader_engine.dispose()
            if outcome == "completed":
                assert proc.returncode == 0, proc.stderr.read().decode()
            _wait_idle(pg_url, name)
            state = _state(db_url)
            run_sql(pg_url, f'DROP DATABASE "{name}" WITH (FORCE)')
            copies.remove(name)
            return outcome, state

        outcome, after = run(None)
        assert outcome == "completed" and after != before
        changed_views = sorted(n for n in before if after.get(n) != before[n])
        step = max(1, len(changed_views) // KILL_POINTS)
        targets = [n.split(".", 1)[1] for n in changed_views[::step][:KILL_POINTS]]
        killed = 0
        for view in targets:
            outcome, state = run(view)
            assert outcome == "killed", f"the apply finished although {view} was locked"
            partial = sorted(n for n in before if state.get(n) != before[n])
            assert not partial, f"SIGKILL while waiting on {view} left changed views: {partial[:5]}"
            killed += 1
        print(f"\nfault injection: SIGKILL at {killed} points inside the apply transaction "
              f"(waiting on {', '.join(targets)}); every view, grant and comment as before each time")
        assert killed == len(targets) >= min(KILL_POINTS, len(changed_views))
    finally:
        for name in [*copies, tmpl]:
            try:
                run_sql(pg_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except sa.exc.SQLAlchemyError:  # keep cleaning up the others
                pass
