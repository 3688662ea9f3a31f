"""A catalog read that waits for a lock says so, retries with apply's lock settings, then gives up clearly.

Found on a real server: with `LOCK TABLE public.invoice IN ACCESS EXCLUSIVE MODE` held in another
session, `deprecator scan`, `plan` and `apply` sat silent (52 s in the tester's run) because
pg_get_viewdef takes a share lock on every table a view reads. Catalog reads now wait at most
warehouse.lock_timeout per try, tell the progress callback (the CLI's stderr) who holds the lock,
and after warehouse.lock_retries fail naming the relation and the holding session (exit 2).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Iterator

import pytest
import sqlalchemy as sa

from deprecator import api
from deprecator.config import load_config
from tests.helpers import invoke
from tests.pg_cluster import admin_engine, invoice_project, run_sql

DEFINITION = "SELECT invoice.id,\n    invoice.amount\n   FROM public.invoice"
LOCK_SETTINGS = "  lock_timeout: 200ms\n  lock_retries: 2\n  lock_backoff: 100ms\n"


def _project(pg_db: str, tmp_path: Path) -> Path:
    return invoice_project(pg_db, tmp_path, LOCK_SETTINGS)


@pytest.fixture
def holder(pg_db: str) -> Iterator[tuple[sa.Connection, int]]:
    """Another session holding ACCESS EXCLUSIVE on public.invoice in an open transaction, and its pid."""
    eng = admin_engine(pg_db)
    conn = eng.connect()
    try:
        pid = int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar() or 0)
        yield conn, pid
    finally:
        try:
            conn.exec_driver_sql("ROLLBACK")
        except sa.exc.SQLAlchemyError:
            pass
        conn.close()
        eng.dispose()


def _lock(conn: sa.Connection, pg_db: str, pid: int) -> threading.Timer:
    """Take the lock; the returned timer ends the holding session after 30 s, so that a catalog read
    that waits for the lock without a bound ends too (and the test fails instead of hanging)."""
    conn.exec_driver_sql("BEGIN")
    conn.exec_driver_sql("LOCK TABLE public.invoice IN ACCESS EXCLUSIVE MODE")
    timer = threading.Timer(30, run_sql, (pg_db, f"SELECT pg_terminate_backend({pid})"))
    timer.daemon = True
    timer.start()
    return timer


def _definition(pg_db: str) -> str:
    eng = admin_engine(pg_db)
    try:
        with eng.connect() as c:
            c.exec_driver_sql("SET search_path = ''")
            return str(c.exec_driver_sql("SELECT pg_get_viewdef('analytics.inv_v'::regclass, true)").scalar())
    finally:
        eng.dispose()


@pytest.mark.parametrize("args", [["plan"], ["scan"], ["apply", "--auto-approve"]])
def test_a_locked_table_is_reported_while_waiting_then_a_clear_error(pg_db, tmp_path, holder, monkeypatch, args):
    config = _project(pg_db, tmp_path)
    monkeypatch.chdir(tmp_path)
    conn, pid = holder
    timer = _lock(conn, pg_db, pid)
    started = time.monotonic()
    try:
        r = invoke(["--config", str(config), *args], code=2)
    finally:
        timer.cancel()
    assert time.monotonic() - started < 20
    waits = [line for line in r.stderr.splitlines() if line.startswith("waiting for a lock")]
    assert [w.split(", attempt ")[1].split(" in ")[0] for w in waits] == ["2 of 3", "3 of 3"], r.stderr
    for w in waits:
        assert w.startswith(f"waiting for a lock on public.invoice (held by pid {pid}"), w
    [error] = [line for line in r.stderr.splitlines() if line.startswith("error: ")]
    assert f"pg_terminate_backend({pid})" in r.stderr.strip().splitlines()[-1]      # the hint
    assert "public.invoice" in error and f"pid {pid}" in error and "another session holds a lock" in error, error
    assert "Applied" not in r.stdout
    assert "Traceback" not in r.stdout + r.stderr
    conn.exec_driver_sql("ROLLBACK")
    assert _definition(pg_db).strip().rstrip(";") == DEFINITION


def test_the_catalog_read_goes_on_when_the_lock_is_released_while_it_waits(pg_db, tmp_path, holder):
    config = load_config(_project(pg_db, tmp_path))
    conn, pid = holder
    timer = _lock(conn, pg_db, pid)
    heard: list[str] = []

    def progress(message: str) -> None:
        heard.append(message)
        conn.exec_driver_sql("ROLLBACK")      # the other session finishes while plan waits to retry

    try:
        planned = api.make_plan(config, progress=progress)
    finally:
        timer.cancel()
    assert len(heard) == 1 and heard[0].startswith(f"waiting for a lock on public.invoice (held by pid {pid}"), heard
    assert [str(v.relation) for v in planned.plan.changes] == ["analytics.inv_v"]
