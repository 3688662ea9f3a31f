"""The lock budget of an apply against what it really holds (issue 8), at 3,000 views.

    python3 -m bench.apply_locks 3000          # views; database h8_apply_locks, created and dropped

The case the issue names: N views reading the deprecated table directly whose
columns keep their names and types, so each needs only ``CREATE OR REPLACE``.
One process: build them, plan, apply (one transaction), then print the
operations by kind, the statements run, the locks the lock budget estimated
and the locks the transaction held just before its commit (pg_locks of the
backend, ``locks_held``), and the server's lock table capacity.
"""

from __future__ import annotations

import collections
import os
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from bench.measure import scratch_database
from deprecator.apply import apply_plan, plan_warehouse
from deprecator.registry import load_registry
from deprecator.state import StateStore
from deprecator.warehouse.postgres import PostgresWarehouse

DB = "h8_apply_locks"
REGISTRY = """deprecations:
  - model: analytics.customer_facts
    replacement: analytics.entity_customers
    sunset: 2027-03-31
    columns:
      cust_id: customer_id
"""


def main(n: int) -> None:
    with scratch_database(DB) as url:
        setup = sa.create_engine(url)
        with setup.begin() as c:
            c.exec_driver_sql("CREATE SCHEMA analytics; "
                              "CREATE TABLE analytics.customer_facts (cust_id int, name text, amount numeric); "
                              "CREATE TABLE analytics.entity_customers (customer_id int, name text, amount numeric)")
            c.exec_driver_sql(";\n".join(
                f"CREATE VIEW analytics.v_{i:04d} AS SELECT cust_id, name, amount FROM analytics.customer_facts "
                f"WHERE amount > {i}" for i in range(n)))
        setup.dispose()
        tmp = Path(tempfile.mkdtemp())
        (tmp / "deprecations.yml").write_text(REGISTRY)
        wh = PostgresWarehouse(url, default_schema=["analytics"])
        registry = load_registry(tmp / "deprecations.yml", "postgres", ("analytics",))
        state = StateStore(f"sqlite:///{tmp}/state.db")
        t = time.perf_counter()
        plan, _ = plan_warehouse(wh, registry)
        plan_s = time.perf_counter() - t
        kinds = collections.Counter(op.kind for op in plan.operations())
        t = time.perf_counter()
        apply_plan(plan, wh, registry, state, derive=False)
        apply_s = time.perf_counter() - t
        st = wh.last_stats
        wh.close()
        state.close()
        print(f"views={n} operations={dict(kinds)} statements={sum(kinds.values())} "
              f"locks_estimated={st['locks_estimated']} locks_held={st['locks_held']} "
              f"lock_capacity={st['lock_capacity']} plan_s={plan_s:.2f} apply_s={apply_s:.2f} "
              f"loadavg={tuple(round(x, 2) for x in os.getloadavg())}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3000)
