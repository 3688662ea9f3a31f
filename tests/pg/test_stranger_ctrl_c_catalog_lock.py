"""Ctrl-C while the catalog read waits for a lock exits at once (130), not when the lock goes.

Found by running `deprecator plan` while another session held an ACCESS EXCLUSIVE lock on a
view (a long ALTER, a dbt run recreating views): pg_get_viewdef waited for the lock in
libpq, where Python cannot raise KeyboardInterrupt, so Ctrl-C did nothing until the other
session committed (minutes, hours). Apply already cancels the server's statement on Ctrl-C;
the catalog reads of scan, plan and apply's staleness check now do too.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from tests.pg_cluster import admin_engine, run_sql


def test_ctrl_c_while_plan_waits_for_a_locked_view(pg_db: str, tmp_path: Path) -> None:
    run_sql(pg_db,
            "CREATE SCHEMA analytics",
            "CREATE TABLE analytics.customer_facts (cust_id int, name text)",
            "CREATE TABLE analytics.entity_customers (customer_id int, name text)",
            "CREATE VIEW analytics.v AS SELECT cust_id, name FROM analytics.customer_facts")
    (tmp_path / "deprecations.yml").write_text(
        "deprecations:\n  - model: analytics.customer_facts\n    replacement: analytics.entity_customers\n"
        "    sunset: 2027-03-31\n    columns:\n      cust_id: customer_id\n")
    (tmp_path / "deprecator.yml").write_text(
        f"warehouse:\n  url: {pg_db}\n  default_schema: analytics\nregistry: deprecations.yml\n")
    holder = admin_engine(pg_db).connect()
    proc = None
    try:
        holder.exec_driver_sql("BEGIN")
        holder.exec_driver_sql("LOCK TABLE analytics.v IN ACCESS EXCLUSIVE MODE")
        proc = subprocess.Popen([sys.executable, "-m", "deprecator", "plan"], cwd=tmp_path,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        waiting = admin_engine(pg_db)
        deadline = time.time() + 60
        with waiting.connect() as c:    # until the plan's catalog read waits for the lock
            while not c.exec_driver_sql(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND application_name = 'deprecator' AND wait_event_type = 'Lock'").scalar():
                assert time.time() < deadline and proc.poll() is None, "the plan never waited for the lock"
                time.sleep(0.1)
        waiting.dispose()
        sent = time.time()
        proc.send_signal(signal.SIGINT)
        try:
            out, err = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            raise AssertionError("Ctrl-C did not end `deprecator plan` while it waited for a lock") from None
        assert proc.returncode == 130, (proc.returncode, err.decode())
        assert time.time() - sent < 15
        assert err.decode().strip() == "interrupted; nothing was changed"
        assert b"Traceback" not in out + err
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        try:
            holder.exec_driver_sql("ROLLBACK")
        except sa.exc.SQLAlchemyError:
            pass
        holder.close()
