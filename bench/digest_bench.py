"""`deprecator digest` at scale: 5,000 users across 20 deprecations, eight weeks of history.

    python3 -m bench.digest_bench                      # 5,000 users, 20 deprecations, 8 weeks
    python3 -m bench.digest_bench --users 500 --deprecations 5

A generated history export (deterministic, seed 42): every user runs 1-4 query
shapes against 1-4 of the deprecated models, a few times a week, each model's use
falling week by week at its own rate (some to zero, some flat), with the rows'
own timestamps over eight ISO weeks. The scan runs once and is recorded (its
weekly cells are what the digest reads); then, timed apart: gathering the digest
from the state store (weekly figures, owners of the last weeks' users, views,
applies), rendering it as text, JSON, Markdown, the HTML page with its SVG
charts, and the Slack Block Kit message. Prints one JSON line.
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
    "select count(*) from {m} where country = '{lit}'",
    "select c.cust_id, o.amount from {m} c join analytics.orders o on o.cust_id = c.cust_id",
]
TODAY = _dt.date(2026, 12, 2)       # a Wednesday; the last complete week starts 2026-11-23


def generate(folder: Path, users: int, deprecations: int, weeks: int = 8, seed: int = 42) -> int:
    rnd = random.Random(seed)
    reg = ["deprecations:"]
    for i in range(deprecations):
        reg += [f"  - model: analytics.old_model_{i:02d}", f"    replacement: analytics.new_model_{i:02d}",
                "    sunset: 2027-03-31"]
    (folder / "deprecations.yml").write_text("\n".join(reg) + "\n")
    (folder / "deprecator.yml").write_text(
        "warehouse:\n  dialect: postgres\n  default_schema: analytics\nregistry: deprecations.yml\n"
        "history:\n  - type: file\n    path: history.jsonl\nstate:\n  url: sqlite:///state.db\n"
        "owners:\n  email_domain: corp.example\n  ignore: [\"user_0000*\"]\n"
        "slack:\n  fallback_channel: \"#data-deprecations\"\n  digest_channel: \"#data-deprecations\"\n")
    decay = [rnd.choice((0.5, 0.7, 0.85, 1.0, 1.1)) for _ in range(deprecations)]
    first_monday = TODAY - _dt.timedelta(days=TODAY.weekday() + 7 * weeks)
    rows = 0
    with (folder / "history.jsonl").open("w") as out:
        for u in range(users):
            user = f"user_{u:05d}"
            for _ in range(rnd.randint(1, 4)):
                d = rnd.randrange(deprecations)
                text = SHAPES[rnd.randrange(len(SHAPES))].format(m=f"analytics.old_model_{d:02d}",
                                                                 lit=f"v{rnd.randrange(10**6)}")
                per_week = rnd.randint(1, 4)
                for w in range(weeks):
                    runs = int(per_week * decay[d] ** w + rnd.random())
                    for _ in range(runs):
                        rows += 1
                        t = _dt.datetime.combine(first_monday + _dt.timedelta(days=7 * w + rnd.randrange(7)),
                                                 _dt.time(rnd.randrange(24), rnd.randrange(60)))
                        out.write(json.dumps({"query_text": text, "user_name": user,
                                              "start_time": t.isoformat() + "Z"}) + "\n")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=5000)
    ap.add_argument("--deprecations", type=int, default=20)
    ap.add_argument("--weeks", type=int, default=8)
    args = ap.parse_args()

    from deprecator.config import load_config
    from deprecator.notify.digest_service import gather_digest, render_digest, slack_message
    from deprecator.scan import run_scan
    from deprecator.state import StateStore

    with tempfile.TemporaryDirectory(prefix="deprecator-digest-bench-") as tmp:
        folder = Path(tmp)
        rows = generate(folder, args.users, args.deprecations, args.weeks)
        config = load_config(folder / "deprecator.yml")
        registry = config.load_registry()
        t0 = time.perf_counter()
        report = run_scan(config, registry, progress=False)
        scan_s = time.perf_counter() - t0
        state = StateStore(config.state_url, config.root)
        try:
            t0 = time.perf_counter()
            digest = gather_digest(config, registry, state, TODAY)
            gather_s = time.perf_counter() - t0
        finally:
            state.close()
        timings = {}
        sizes = {}
        for fmt in ("text", "json", "markdown", "html"):
            t0 = time.perf_counter()
            sizes[fmt] = len(render_digest(digest, fmt))
            timings[fmt] = round(time.perf_counter() - t0, 3)
        t0 = time.perf_counter()
        _, blocks = slack_message(digest)
        timings["slack_blocks"] = round(time.perf_counter() - t0, 3)
        statuses: dict[str, int] = {}
        for d in digest.deprecations:
            statuses[d.status] = statuses.get(d.status, 0) + 1
        print(json.dumps({
            "users": args.users, "deprecations": args.deprecations, "weeks": args.weeks, "rows": rows,
            "findings": len(report.findings), "weekly_cells": len(report.weekly),
            "scan_s": round(scan_s, 2), "gather_s": round(gather_s, 3), "render_s": timings,
            "html_bytes": sizes["html"], "slack_blocks": len(blocks), "statuses": statuses,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }))


if __name__ == "__main__":
    main()
