"""SIGKILL an apply at several points: the SQLite warehouse is always wholly before or wholly after."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.sqlite_project import REGISTRY, master

REPO = Path(__file__).resolve().parent.parent
N_VIEWS = 200

SCRIPT = """
import sys
from deprecator.apply import apply_plan, plan_warehouse
from deprecator.registry import load_registry
from deprecator.state import StateStore
from deprecator.warehouse.sqlite import SQLiteWarehouse
db, reg, state = sys.argv[1:4]
wh = SQLiteWarehouse("sqlite:///" + db)
registry = load_registry(reg, "sqlite", ("main",))
plan = plan_warehouse(wh, registry)[0]
store = StateStore("sqlite:///" + state)
print("start", flush=True)
apply_plan(plan, wh, registry, store)
print("done", flush=True)
"""


def build(db: Path) -> None:
    import sqlite3

    conn = sqlite3.connect(db)
    conn.executescript("CREATE TABLE customer_facts (cust_id INTEGER, name TEXT, legacy_flag INTEGER);"
                       "CREATE TABLE entity_customers (customer_id INTEGER, name TEXT);")
    for i in range(N_VIEWS):
        conn.execute(f"CREATE VIEW v{i} AS\n-- view {i}\nSELECT c.cust_id, c.name FROM customer_facts c WHERE c.cust_id > {i}")
    conn.commit()
    conn.close()


def run(tmp: Path, db: Path, kill_after: float | None) -> str:
    """Apply in a child process (state store beside ``db``), SIGKILLed after ``kill_after`` s."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(db), str(tmp / "deprecations.yml"), str(db) + ".state"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert first == "start\n", proc.stderr.read() if proc.stderr else first
    t0 = time.perf_counter()
    if kill_after is not None:
        time.sleep(kill_after)
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    if kill_after is None:
        assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
        return f"{time.perf_counter() - t0:.3f}"
    return "killed" if proc.returncode == -signal.SIGKILL else "finished"


def assert_journal_matches(db: Path, registry_path: Path, changed: bool) -> None:
    """No audit gap: once reconciled, the journal says applied exactly when the warehouse changed."""
    from deprecator.apply import reconcile_pending
    from deprecator.state import StateStore
    from deprecator.warehouse.sqlite import SQLiteWarehouse

    store = StateStore("sqlite:///" + str(db) + ".state")
    wh = SQLiteWarehouse("sqlite:///" + str(db))
    try:
        reconcile_pending(wh, store)
        statuses = [r.status for r in store.list_applies()]
    finally:
        wh.close()
        store.close()
    assert "pending" not in statuses, statuses
    assert statuses.count("applied") == (1 if changed else 0), (changed, statuses)


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_kill_during_apply_leaves_all_or_nothing(tmp_path):
    (tmp_path / "deprecations.yml").write_text(REGISTRY)
    pristine = tmp_path / "pristine.db"
    build(pristine)
    before = master(pristine)

    # One full run gives the "after" state and how long an apply takes here.
    done_db = tmp_path / "done.db"
    shutil.copy(pristine, done_db)
    duration = float(run(tmp_path, done_db, None))
    after = master(done_db)
    assert after != before

    outcomes = []
    points = [duration * f for f in (0.05, 0.3, 0.6, 0.9, 1.2)]
    for i, delay in enumerate(points):
        db = tmp_path / f"k{i}.db"
        shutil.copy(pristine, db)
        outcome = run(tmp_path, db, delay)
        state = master(db)        # opening the file rolls a hot journal back
        assert state in (before, after), f"partial state after a kill at {delay:.3f}s"
        outcomes.append((outcome, "after" if state == after else "before"))
        assert_journal_matches(db, tmp_path / "deprecations.yml", state == after)
    # The kills must have landed inside the apply at least once, or the test proved nothing.
    print("kill outcomes:", outcomes, f"apply took {duration:.3f}s")
    assert ("killed", "before") in outcomes, outcomes
