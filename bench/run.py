"""Benchmarks: one command.

    python3 -m bench                       # (a) 1M-row scan, (b) naive baseline, (c) corpus
    python3 -m bench --only a --rows 200000
    python3 -m bench --only b --baseline-rows 20000
    python3 -m bench --only c --corpus ../shared/corpora/bigquery-etl/sql

Every measurement runs in a fresh child process; its peak memory is sampled
from /proc (the RSS of the process and all its worker processes, summed;
shared copy-on-write pages are counted once per process, so this over-states)
next to getrusage's per-process peaks. Results go to stdout and to
bench/results/latest.json.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import orjson

from bench.generate import generate_history

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DATA = HERE / ".data"
DEFAULT_CORPUS = REPO.parent / "shared" / "corpora" / "bigquery-etl" / "sql"


def _tree_rss_kb(pid: int) -> int:
    total = 0
    stack = [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
            with open(f"/proc/{p}/task/{p}/children") as fh:
                stack += [int(c) for c in fh.read().split()]
        except (OSError, ValueError):
            continue
    return total


def run_child(module: str, args: list[str]) -> dict[str, Any]:
    """Run ``python3 -m MODULE ARGS`` and sample its process tree's RSS every 20 ms.

    The child prints its result as JSON on its last line.
    """
    proc = subprocess.Popen([sys.executable, "-m", module, *args], cwd=REPO,
                            stdout=subprocess.PIPE, text=True)
    peak = [0]

    def sample() -> None:
        while proc.poll() is None:
            peak[0] = max(peak[0], _tree_rss_kb(proc.pid))
            time.sleep(0.02)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    out, _ = proc.communicate()
    t.join()
    if proc.returncode != 0:
        raise SystemExit(f"{module} {' '.join(args)} failed with exit code {proc.returncode}")
    result = orjson.loads(out.strip().splitlines()[-1])
    result["peak_tree_rss_mb"] = round(peak[0] / 1024, 1)
    return result


def measure(args: list[str]) -> dict[str, Any]:
    """One measurement of (a)/(b)/(c) in a fresh child process (bench.measure)."""
    return run_child("bench.measure", args)


def history_file(rows: int, seed: int) -> tuple[Path, dict[str, Any]]:
    path = DATA / f"history-{rows}-s{seed}.jsonl"
    meta_path = path.with_suffix(".meta.json")
    if path.exists() and meta_path.exists():
        return path, orjson.loads(meta_path.read_bytes())
    t0 = time.perf_counter()
    meta = generate_history(path, rows, seed=seed)
    meta["generate_s"] = round(time.perf_counter() - t0, 1)
    meta["bytes"] = path.stat().st_size
    meta_path.write_bytes(orjson.dumps(meta))
    return path, meta


def machine() -> dict[str, Any]:
    import sqlglot

    cpu = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    return {"nproc": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
            "sqlglot": sqlglot.__version__, "platform": platform.platform(), "loadavg_at_start": load}


def _print(title: str, data: dict[str, Any]) -> None:
    print(f"\n== {title}")
    for k, v in data.items():
        print(f"  {k}: {v}")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python3 -m bench", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", action="append", choices=["a", "b", "c", "pg-scan", "pg-apply"],
                    help="run only this part (repeatable); default: a, b, c (pg-*: bench/pg_run.py)")
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows in the (a) history export")
    ap.add_argument("--baseline-rows", type=int, default=100_000, help="rows in the (b) baseline comparison")
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="SQL corpus for (c)")
    ap.add_argument("--workers", type=int, default=None, help="scan workers (default: one per CPU)")
    ap.add_argument("--seed", type=int, default=42)
    from bench.pg_run import add_link_options, link_specs

    add_link_options(ap)
    a = ap.parse_args(argv)
    parts = set(a.only or ["a", "b", "c"])
    workers = [] if a.workers is None else ["--workers", str(a.workers)]
    results: dict[str, Any] = {"machine": machine(), "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    _print("machine", results["machine"])

    if "a" in parts:
        path, meta = history_file(a.rows, a.seed)
        res = measure(["scan", str(path), *workers])
        results["a"] = {"data": meta, "scan": res,
                        "targets": {"wall_s < 10": res["wall_s"] < 10, "peak_mb < 500": res["peak_tree_rss_mb"] < 500}}
        _print(f"(a) scan of a {a.rows:,}-row JSONL history", results["a"])

    if "b" in parts:
        path, meta = history_file(a.baseline_rows, a.seed)
        ours = measure(["scan", str(path), *workers])
        naive = measure(["naive", str(path)])
        speedup = naive["wall_s"] / ours["wall_s"] if ours["wall_s"] else None
        results["b"] = {
            "data": meta, "scan": ours, "naive": naive,
            "speedup": round(speedup, 1) if speedup else None,
            "speedup_cpu": round(naive["cpu_self_s"] / max(ours["cpu_self_s"] + ours["cpu_children_s"], 0.01), 1),
            "same_answer": ours["deprecated_uses"] == naive["deprecated_uses"],
            "naive_extrapolated_to_rows_s (linear, an estimate)": {
                str(a.rows): round(naive["ms_per_row"] * a.rows / 1000, 0)},
        }
        _print(f"(b) naive baseline vs scan, {a.baseline_rows:,} rows", results["b"])

    if "c" in parts:
        if not a.corpus.is_dir():
            print(f"\n== (c) skipped: corpus {a.corpus} not found")
        else:
            results["c"] = measure(["corpus", str(a.corpus), *workers])
            _print(f"(c) reference finding and rewrite on {a.corpus}", results["c"])

    if parts & {"pg-scan", "pg-apply"}:   # PostgreSQL parts: own database, results in results/pg_latest.json
        from bench.pg_run import run_parts

        run_parts(sorted(parts & {"pg-scan", "pg-apply"}), links=link_specs(a.link), link_latency_ms=a.link_latency_ms)
        if not parts & {"a", "b", "c"}:
            return

    out = HERE / "results" / "latest.json"
    out.parent.mkdir(exist_ok=True)
    out.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2, default=str))
    print(f"\nwrote {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
