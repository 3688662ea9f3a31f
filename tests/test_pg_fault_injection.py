"""Fault injection: SIGKILL `deprecator apply` at many points inside its transaction.

Each run works on a fresh copy of one template database: a `deprecator apply
--auto-approve` process starts, the test waits until it holds the apply's
advisory lock (its transaction has begun), sleeps a different delay each time
and kills it with SIGKILL. Afterwards every view's definition, owner, grants,
comments, options and indexes must be exactly as before (or, if the kill came
after the commit, exactly as a completed apply leaves them): never in between.
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

from deprecator.warehouse.pg_apply import ADVISORY_LOCK_KEY
from deprecator.warehouse.postgres import PostgresWarehouse
from tests.pg_cluster import _admin, run_sql

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

KILL_POINTS = int(os.environ.get("DEPRECATOR_KILL_POINTS", "8"))
VIEWS = 60
ROOT = Path(__file__).resolve().parents[1]


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
    eng = _admin(admin_url)
    deadline = time.time() + timeout
    with eng.connect() as c:
        while time.time() < deadline:
            n = c.execute(sa.text("SELECT count(*) FROM pg_stat_activity WHERE datname = :d AND pid <> pg_backend_pid()"),
                          {"d": db}).scalar()
            if n == 0:
                break
            time.sleep(0.05)
    eng.dispose()


def _holds_lock(conn: sa.Connection, db: str) -> bool:
    return bool(conn.execute(sa.text(
        "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
        "WHERE l.locktype = 'advisory' AND d.datname = :d AND l.objid = :k AND l.granted"),
        {"d": db, "k": ADVISORY_LOCK_KEY & 0xFFFFFFFF}).scalar())


def test_sigkill_during_apply_leaves_everything_as_before(pg_url, tmp_path):
    tmpl = "dep_tmpl_" + uuid.uuid4().hex[:8]
    _template(pg_url, tmpl)
    copies: list[str] = []
    try:
        tmpl_url = make_url(pg_url).set(database=tmpl).render_as_string(hide_password=False)
        before = _state(tmpl_url)
        # one complete apply gives the "after" state and the transaction's duration
        results = {"before": 0, "after": 0}
        durations = []
        (tmp_path / "deprecations.yml").write_text(
            "deprecations:\n  - model: analytics.customer_facts\n    replacement: analytics.entity_customers\n"
            "    sunset: 2027-03-31\n    columns:\n      cust_id: customer_id\n")

        def run(delay: float | None) -> str:
            name = "dep_kill_" + uuid.uuid4().hex[:8]
            run_sql(pg_url, f'CREATE DATABASE "{name}" TEMPLATE "{tmpl}"')
            copies.append(name)
            db_url = make_url(pg_url).set(database=name).render_as_string(hide_password=False)
            cfg = tmp_path / f"{name}.yml"
            cfg.write_text(f"warehouse:\n  url: {db_url}\n  default_schema: analytics\n"
                           "registry: deprecations.yml\n"
                           f"state:\n  url: sqlite:///{tmp_path}/{name}.db\n")
            proc = subprocess.Popen([sys.executable, "-m", "deprecator", "--config", str(cfg), "apply", "--auto-approve"],
                                    cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            watcher = _admin(pg_url)
            outcome = "completed"
            with watcher.connect() as c:
                started = None
                while proc.poll() is None:
                    if _holds_lock(c, name):
                        started = time.monotonic()
                        break
                    time.sleep(0.002)
                if delay is not None and started is not None:
                    while proc.poll() is None and time.monotonic() - started < delay:
                        time.sleep(0.001)
                    if proc.poll() is None:
                        proc.send_signal(signal.SIGKILL)
                        outcome = "killed"
                proc.wait(timeout=120)
                if delay is None and started is not None:
                    while _holds_lock(c, name):
                        time.sleep(0.002)
                    durations.append(time.monotonic() - started)
            watcher.dispose()
            if outcome == "completed":
                assert proc.returncode == 0, proc.stderr.read().decode()
            _wait_idle(pg_url, name)
            state = _state(db_url)
            run_sql(pg_url, f'DROP DATABASE "{name}" WITH (FORCE)')
            copies.remove(name)
            return outcome, state

        outcome, after = run(None)
        assert outcome == "completed" and after != before
        tx = durations[0]
        kills_inside = 0
        for k in range(KILL_POINTS):
            delay = tx * k / KILL_POINTS
            outcome, state = run(delay)
            if state == before:
                results["before"] += 1
            elif state == after:
                results["after"] += 1
            else:
                changed = sorted(n for n in before if state.get(n) != before[n])
                pytest.fail(f"kill at {delay:.3f}s left a partial state: {changed[:5]}")
            kills_inside += outcome == "killed"
        print(f"\nfault injection: {KILL_POINTS} kill points over a {tx:.3f}s apply transaction, "
              f"{kills_inside} killed inside it; states: {results}")
        # most kills land inside the transaction (the last ones may come just after the commit)
        assert kills_inside >= KILL_POINTS // 2 and results["before"] >= KILL_POINTS // 2
    finally:
        for name in copies:
            run_sql(pg_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        run_sql(pg_url, f'DROP DATABASE IF EXISTS "{tmpl}" WITH (FORCE)')
