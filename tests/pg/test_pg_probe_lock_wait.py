"""A lock on the replacement is not a compile error.

Found on a real server: with `LOCK TABLE analytics.invoice_new IN ACCESS EXCLUSIVE MODE` held by
another session (the replacement, which no view reads yet, so the catalog read does not wait),
`deprecator plan` waited for the compile probe's lock timeout, then blocked the view with "the
rewritten definition does not compile on the warehouse: canceling statement due to lock timeout"
and a hint that did not help, exit 0. A probe that runs out of time waiting for a lock now fails
the plan saying so (exit 2), and writes no plan.
"""

from __future__ import annotations

import threading

import sqlalchemy as sa

from tests.helpers import invoke
from tests.pg_cluster import admin_engine, invoice_project, run_sql


def test_a_lock_on_the_replacement_fails_the_plan_clearly(pg_db, in_tmp):
    invoice_project(pg_db, in_tmp)
    eng = admin_engine(pg_db)
    conn = eng.connect()
    pid = int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar() or 0)
    timer = threading.Timer(30, run_sql, (pg_db, f"SELECT pg_terminate_backend({pid})"))   # never hang
    timer.daemon = True
    try:
        conn.exec_driver_sql("BEGIN")
        conn.exec_driver_sql("LOCK TABLE analytics.invoice_new IN ACCESS EXCLUSIVE MODE")
        timer.start()
        r = invoke(["plan", "--out", "plan.json"], 2)
    finally:
        timer.cancel()
        try:
            conn.exec_driver_sql("ROLLBACK")
        except sa.exc.SQLAlchemyError:
            pass
        conn.close()
        eng.dispose()
    assert "waited 5 s for a lock another session holds" in r.stderr
    assert "does not compile" not in r.stdout + r.stderr
    assert not (in_tmp / "plan.json").exists()
    # with the lock gone the same plan is made, and the view is rewritten
    invoke(["plan", "--out", "plan.json"])
    assert "analytics.invoice_new" in (in_tmp / "plan.json").read_text()
