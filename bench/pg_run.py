"""PostgreSQL benchmarks of issue 3 (also reachable as ``python3 -m bench --only pg-scan --only pg-apply``).

    python3 -m bench.pg_run                        # both parts
    python3 -m bench.pg_run --only pg-scan --rows 200000
    python3 -m bench.pg_run --only pg-apply --views 1,100,1000
    python3 -m bench.pg_run --only pg-scan --link relay,1000mbit,100mbit --link-latency-ms 1

pg-scan: a 1,000,000-row history table in PostgreSQL, scanned end to end by
``run_scan`` through the configured ``history: - type: sql`` source (the
pushed-down query) and, in the same run, through a source that fetches every
row and lets deprecator scan them locally. The findings must be identical.
Each measurement runs in a fresh child process whose peak RSS (process tree,
sampled every 20 ms) is reported.

With ``--link 1000mbit,100mbit`` (``--link-latency-ms 1``) pg-scan then runs
the same contest again through each shaped link (bench/link.py, a relay in its
own process), after the localhost one and on the same data.

pg-apply: plan + apply for 1, 100 and 1,000 dependent views against the bare
DDL for the same views in one transaction; end states compared.

The database (default ``deprecator_bench`` on 127.0.0.1:5432) is created at
the start and dropped at the end (``--keep-db`` keeps it). Results go to
stdout and bench/results/pg_latest.json.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa

from bench.measure import PG_SERVER, pg_admin, scratch_database

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_SERVER = PG_SERVER
DEFAULT_DB = "deprecator_bench"


def child(args: list[str]) -> dict[str, Any]:
    """Run ``python3 -m bench.pg_measure ARGS`` in a fresh process, peak RSS sampled."""
    from bench.run import run_child

    return run_child("bench.pg_measure", args)


def server_info(server: str) -> dict[str, Any]:
    rows = pg_admin(server, "SELECT version(), current_setting('max_parallel_workers_per_gather'), "
                          "current_setting('work_mem'), current_setting('shared_buffers'), "
                          "current_setting('max_locks_per_transaction'), current_setting('max_connections')")
    v, par, wm, sb, locks, conns = rows[0]
    return {"version": v, "max_parallel_workers_per_gather": par, "work_mem": wm, "shared_buffers": sb,
            "max_locks_per_transaction": locks, "max_connections": conns}


def _commit() -> str | None:
    if os.environ.get("DEPRECATOR_BENCH_COMMIT"):
        return os.environ["DEPRECATOR_BENCH_COMMIT"]
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def _dirty() -> list[str] | None:
    try:
        out = subprocess.run(["git", "status", "--porcelain", "--", "deprecator"], cwd=REPO, capture_output=True,
                             text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None   # not a git checkout (e.g. a `git archive` export): nothing uncommitted
    return [line[3:] for line in out.splitlines()]


def _print(title: str, data: Any) -> None:
    print(f"\n== {title}")
    if isinstance(data, dict):
        for k, v in data.items():
            print(f"  {k}: {v}")
    else:
        print(data)
    sys.stdout.flush()


def _contest(url: str, repeat: int, workers: int | None, relay: Any = None) -> dict[str, Any]:
    """Reads alone, then ``repeat`` alternating scans of each contender against ``url``; findings must agree.

    With a ``relay`` (bench.link.RelayProcess) each measurement also records the relay's CPU seconds
    and the bytes it carried (PostgreSQL wire protocol, both directions) during that measurement.
    """
    w = [] if workers is None else ["--workers", str(workers)]

    def one(args: list[str]) -> dict[str, Any]:
        if relay is None:
            return child(args)
        cpu0, n0 = relay.cpu_s(), len(relay.settled())
        r = child(args)
        conns = relay.settled()[n0:]
        cpu = relay.cpu_s() - cpu0
        r["link"] = {"relay_cpu_s": round(cpu, 2), "relay_cpu_per_wall": round(cpu / max(r["wall_s"], 1e-9), 2),
                     "connections": len(conns),
                     "wire_mb_to_client": round(sum(c["to_client"] for c in conns) / 2**20, 1),
                     "wire_mb_to_server": round(sum(c["to_server"] for c in conns) / 2**20, 2)}
        return r

    reads = {m: one(["scan", f"{m}:read", url]) for m in ("fetchall", "pushdown")}
    _print("pg-scan: history read alone (no parsing)", reads)
    runs: dict[str, list[dict[str, Any]]] = {"pushdown": [], "fetchall": []}
    for _ in range(repeat):           # alternate, so load from other processes hits both alike
        for mode in ("pushdown", "fetchall"):
            r = one(["scan", mode, url, *w])
            runs[mode].append(r)
            _print(f"pg-scan {mode}", {k: r[k] for k in ("wall_s", "rows_transferred", "text_mb_transferred",
                                                         "findings", "findings_sha256", "peak_tree_rss_mb",
                                                         "loadavg", "link") if k in r})
    best = {m: min(rs, key=lambda r: r["wall_s"]) for m, rs in runs.items()}
    digests = {r["findings_sha256"] for rs in runs.values() for r in rs}
    same = (len(digests) == 1 and len({r["findings"] for rs in runs.values() for r in rs}) == 1
            and len({r["findings_sha256_any_url"] for rs in runs.values() for r in rs}) == 1)
    if not same:
        raise SystemExit(f"pg-scan: the pushed-down and the fetch-all scans disagree: {digests}")
    speedup = best["fetchall"]["wall_s"] / best["pushdown"]["wall_s"]
    keys = ("wall_s", "rows_transferred", "text_mb_transferred", "peak_tree_rss_mb", "maxrss_largest_child_mb",
            "cpu_self_s", "cpu_children_s", "link")
    return {
        "read_only": reads, "runs": runs,
        # peak_tree_rss_mb is the sampled figure to quote: getrusage's maxrss_self of a child carries
        # the parent's RSS across exec on Linux (the parent built the data), so it is left out here.
        "best": {m: {k: r[k] for k in keys if k in r} for m, r in best.items()},
        "same_findings": same, "findings": best["pushdown"]["findings"], "findings_sha256": digests.pop(),
        "findings_sha256_any_url": best["pushdown"]["findings_sha256_any_url"],
        "uses_by_deprecation": best["pushdown"]["uses_by_deprecation"],
        "speedup": round(speedup, 2),
        "targets": {"speedup >= 10": speedup >= 10, "pushdown wall < 10 s": best["pushdown"]["wall_s"] < 10},
    }


def run_scan_part(url: str, rows: int, repeat: int, workers: int | None, links: list[str] | None = None,
                  link_latency_ms: float = 1.0) -> dict[str, Any]:
    """Localhost contest; then, per link spec (bench.link.parse_spec), the same contest through a shaped relay."""
    from bench.link import RelayProcess, parse_spec
    from bench.pg_scan import explain, setup

    data = setup(url, rows)
    _print(f"pg-scan data ({rows:,} rows)", data)
    out: dict[str, Any] = {"data": data, **_contest(url, repeat, workers)}
    out["explain_shipped"] = explain(url)
    _print("pg-scan result (localhost)", {k: v for k, v in out.items()
                                          if k not in ("runs", "explain_shipped", "read_only")})
    _print("pg-scan EXPLAIN ANALYZE of the shipped pushed-down query", out["explain_shipped"])
    if links:
        out["links"] = {}
        u = sa.engine.make_url(url)
        for spec in links:
            mbit, ms = parse_spec(spec, link_latency_ms)
            name = "relay (no cap, no delay)" if mbit is None else f"{mbit:g} Mbit/s, {ms:g} ms one way"
            relay = RelayProcess(f"{u.host or '127.0.0.1'}:{u.port or 5432}", mbit, ms)
            try:
                _print(f"pg-scan through the link: {name}", {"relay port": relay.port, "uptime": _uptime()})
                via = u.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)
                r = {"spec": spec, "mbit": mbit, "one_way_latency_ms": ms, **_contest(via, repeat, workers, relay)}
            finally:
                relay.stop()
            r["uptime_after"] = _uptime()
            out["links"][name] = r
            if r["findings_sha256_any_url"] != out["findings_sha256_any_url"]:
                raise SystemExit(f"pg-scan: findings through {name} differ from the localhost findings")
            _print(f"pg-scan result ({name})", {k: v for k, v in r.items() if k not in ("runs", "read_only")})
    return out


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run_apply_part(url: str, sizes: list[int], repeat: int) -> dict[str, Any]:
    from bench.pg_views import drop_roles, ensure_roles

    ensure_roles(url)
    out: dict[str, Any] = {}
    try:
        for n in sizes:
            runs = [child(["views", str(n), url]) for _ in range(repeat)]
            if not all(x["same_end_state"] for x in runs):
                raise SystemExit(f"pg-apply {n}: deprecator and the bare DDL left different views")
            # best of each contender independently (the machine is shared: the minimum is the least disturbed)
            bare = min(runs, key=lambda x: x["bare"]["wall_s"])["bare"]
            dep = min(runs, key=lambda x: x["deprecator"]["total_s"])["deprecator"]
            r = {"views": n, "kinds": runs[0]["kinds"], "bare": bare, "deprecator": dep,
                 "ratio_total_vs_bare": round(dep["total_s"] / bare["wall_s"], 2),
                 "ratio_apply_vs_bare": round(dep["apply_s"] / bare["wall_s"], 2),
                 "ratio_in_transaction_vs_bare": round(dep["apply_breakdown_s"]["execute_atomically"] / bare["wall_s"], 2),
                 "same_end_state": True,
                 "all_runs": [{"bare_s": x["bare"]["wall_s"], "plan_s": x["deprecator"]["plan_s"],
                               "apply_s": x["deprecator"]["apply_s"], "total_s": x["deprecator"]["total_s"],
                               "peak_tree_rss_mb": x["peak_tree_rss_mb"], "loadavg": x["loadavg"]} for x in runs]}
            out[str(n)] = r
            _print(f"pg-apply {n} views", r)
    finally:
        drop_roles(url)
    big = out.get(str(max(sizes)))
    if big:
        out["target_within_1.5x_at_max"] = big["ratio_total_vs_bare"] <= 1.5
    return out


def run_parts(parts: list[str], *, server: str = DEFAULT_SERVER, db: str = DEFAULT_DB, rows: int = 1_000_000,
              sizes: list[int] | None = None, repeat: int = 2, workers: int | None = None,
              keep_db: bool = False, links: list[str] | None = None, link_latency_ms: float = 1.0) -> dict[str, Any]:
    from bench.run import machine

    import sqlglot.parser

    mach = {**machine(), "sqlglot_compiled (sqlglotc)": sqlglot.parser.__file__.endswith(".so")}
    results: dict[str, Any] = {"machine": mach, "postgres": server_info(server), "commit": _commit(),
                               "uncommitted_deprecator_files": _dirty(),
                               "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    _print("machine", {**results["machine"], "postgres": results["postgres"]["version"],
                       "commit": results["commit"], "uncommitted": results["uncommitted_deprecator_files"]})
    with scratch_database(db, server, keep=keep_db) as url:
        if "pg-scan" in parts:
            results["pg_scan"] = run_scan_part(url, rows, repeat, workers, links, link_latency_ms)
        if "pg-apply" in parts:
            results["pg_apply"] = run_apply_part(url, sizes or [1, 100, 1000], repeat)
    results["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    results["loadavg_at_end"] = os.getloadavg()
    out = HERE / "results" / "pg_latest.json"
    out.parent.mkdir(exist_ok=True)
    out.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2, default=str))
    print(f"\nwrote {out}")
    return results


def add_link_options(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--link", default=None, metavar="SPECS",
                    help="pg-scan also through shaped relays (bench/link.py), after the localhost run: "
                         "comma-separated 1000mbit, 100mbit@20ms, or relay (no cap, no delay)")
    ap.add_argument("--link-latency-ms", type=float, default=1.0,
                    help="one-way delay for link specs without @MS (default 1)")


def link_specs(arg: str | None) -> list[str] | None:
    return [x.strip() for x in arg.split(",") if x.strip()] if arg else None


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python3 -m bench.pg_run", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", action="append", choices=["pg-scan", "pg-apply"])
    ap.add_argument("--server", default=DEFAULT_SERVER, help="SQLAlchemy URL of the server, without database")
    ap.add_argument("--db", default=DEFAULT_DB, help="database created for the run and dropped after")
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--views", default="1,100,1000", help="comma-separated view counts")
    ap.add_argument("--repeat", type=int, default=2,
                    help="runs of each scan (alternating) and of each view count; the best is compared")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--keep-db", action="store_true")
    add_link_options(ap)
    a = ap.parse_args(argv)
    run_parts(a.only or ["pg-scan", "pg-apply"], server=a.server, db=a.db, rows=a.rows,
              sizes=[int(x) for x in a.views.split(",") if x.strip()], repeat=a.repeat, workers=a.workers,
              keep_db=a.keep_db, links=link_specs(a.link), link_latency_ms=a.link_latency_ms)


if __name__ == "__main__":
    main()
