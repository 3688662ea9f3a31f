"""`deprecator notify --dry-run` at scale: 5,000 users across 20 deprecations.

    python3 -m bench.notify_bench                      # 5,000 users, 20 deprecations
    python3 -m bench.notify_bench --users 500 --deprecations 5

A generated history (deterministic, seed 42): every user runs 1-4 query shapes
against 1-4 deprecated models, each with its own literal values (so the texts
are distinct per user, as ad-hoc queries are), a few hundred rows per
deprecation-heavy user down to one; 10% of the queries use a removed column
(blocked rewrites). Owners come from ``owners.email_domain``. The scan runs
once (timed apart); then the notices are built, every owner's most frequent
query rewritten and redacted, and every message rendered (the dry run), timed
per phase. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import random
import resource
import tempfile
import time
from pathlib import Path

SHAPES = [
    "select cust_id, name from {m} where email = '{lit}@corp.example'",
    "select count(*) from {m} where country = '{lit}' and ltv > {n}",
    "select c.cust_id, o.amount from {m} c join analytics.orders o on o.cust_id = c.cust_id where o.id = {n}",
    "with x as (select cust_id, legacy_flag from {m} where segment = '{lit}') select * from x",
    "select name, sum(ltv) from {m} where signup > date '2026-01-{d:02d}' group by name order by 2 desc limit 50",
]


def generate(folder: Path, users: int, deprecations: int, seed: int = 42) -> int:
    rnd = random.Random(seed)
    reg = ["deprecations:"]
    for i in range(deprecations):
        reg += [f"  - model: analytics.old_model_{i:02d}", f"    replacement: analytics.new_model_{i:02d}",
                "    sunset: 2027-03-31", "    columns:", "      cust_id: customer_id",
                "    removed_columns: [legacy_flag]",
                f"    migration_guide: https://wiki.corp.example/guides/old_model_{i:02d}"]
    (folder / "deprecations.yml").write_text("\n".join(reg) + "\n")
    (folder / "deprecator.yml").write_text(
        "warehouse:\n  dialect: postgres\n  default_schema: analytics\nregistry: deprecations.yml\n"
        "history:\n  - type: file\n    path: history.jsonl\nstate:\n  url: sqlite:///state.db\n"
        "owners:\n  email_domain: corp.example\nslack:\n  fallback_channel: \"#data-deprecations\"\n")
    start = _dt.datetime(2026, 11, 1)
    rows = 0
    with (folder / "history.jsonl").open("w") as out:
        for u in range(users):
            user = f"user_{u:05d}"
            for _ in range(rnd.randint(1, 4)):
                m = f"analytics.old_model_{rnd.randrange(deprecations):02d}"
                shape = SHAPES[rnd.randrange(len(SHAPES))]
                text = shape.format(m=m, lit=f"v{rnd.randrange(10**6)}", n=rnd.randrange(10**6), d=rnd.randint(1, 28))
                for _ in range(max(1, int(rnd.paretovariate(1.5)))):
                    rows += 1
                    t = start + _dt.timedelta(seconds=rows * 7)
                    out.write(json.dumps({"query_text": text, "user_name": user, "start_time": t.isoformat()}) + "\n")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=5000)
    ap.add_argument("--deprecations", type=int, default=20)
    args = ap.parse_args()
    from deprecator.config import load_config
    from deprecator.notify.notices import build_notices, render_notice, run_notify
    from deprecator.notify.render import Renderer
    from deprecator.scan import run_scan

    with tempfile.TemporaryDirectory(prefix="notify-bench-") as d:
        folder = Path(d)
        rows = generate(folder, args.users, args.deprecations)
        config = load_config(folder / "deprecator.yml", require_env=False)
        registry = config.load_registry()
        today = _dt.date(2026, 12, 2)
        t0 = time.perf_counter()
        report = run_scan(config, registry, record=False)
        t_scan = time.perf_counter() - t0
        t0 = time.perf_counter()
        built = build_notices(report.findings, registry, config, today)
        t_build = time.perf_counter() - t0
        t0 = time.perf_counter()
        renderer = Renderer(None)
        for n in built.notices:
            render_notice(renderer, n, today, meant_for=None, redacted=True)
        t_render = time.perf_counter() - t0
        t0 = time.perf_counter()
        result = run_notify(config, registry, dry_run=True, today=today, report=report)
        t_dry = time.perf_counter() - t0
        print(json.dumps({
            "users": args.users, "deprecations": args.deprecations, "history_rows": rows,
            "findings": len(report.findings), "notices": len(result.deliveries),
            "distinct_queries_shown": len({i.query.text for n in built.notices for i in n.items if i.query}),
            "scan_s": round(t_scan, 2), "build_notices_s": round(t_build, 2), "render_s": round(t_render, 2),
            "dry_run_without_scan_s": round(t_dry, 2),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }))


if __name__ == "__main__":
    main()
