"""What apply's re-derivation of a saved plan costs (issue 7), on the pg-apply views.

    python3 -m bench.apply_rederive 1000        # views; database h7_apply_rederive, created and dropped

One process: build the bench.pg_views schema with N dependent views, plan it,
then time ``check_plan`` (catalog read included) alternately without and with
planning the views again (``derive``), three times each; best of each is
printed. The difference is what apply PLAN now spends beyond the staleness
check it had before.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from bench import pg_views
from bench.measure import scratch_database
from deprecator.apply import check_plan, plan_warehouse
from deprecator.registry import load_registry
from deprecator.warehouse.postgres import PostgresWarehouse

DB = "h7_apply_rederive"


def main(n: int) -> None:
    with scratch_database(DB) as url:
        pg_views.ensure_roles(url)
        pg_views.setup(url, n)
        tmp = Path(tempfile.mkdtemp())
        (tmp / "deprecations.yml").write_text(pg_views.REGISTRY)
        wh = PostgresWarehouse(url, default_schema=["analytics"])
        registry = load_registry(tmp / "deprecations.yml", "postgres", ("analytics",))
        t = time.perf_counter()
        plan, _ = plan_warehouse(wh, registry)
        plan_s = time.perf_counter() - t
        runs: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(3):
            for derive in (False, True):
                t = time.perf_counter()
                changes = check_plan(plan, wh, registry, wh.list_views(), derive=derive)
                runs[derive].append(time.perf_counter() - t)
                assert changes == [], changes
        wh.close()
        print(f"views={n} plan_s={plan_s:.3f} check_without_derive={min(runs[False]):.3f} "
              f"check_with_derive={min(runs[True]):.3f} extra={min(runs[True]) - min(runs[False]):.3f} "
              f"loadavg={tuple(round(x, 2) for x in os.getloadavg())}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
