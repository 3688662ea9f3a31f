"""Benchmarks: one command.

    python3 -m bench                       # (a) 1M-row scan, (b) naive baseline, (c) corpus
    python3 -m bench --only a --rows 200000
    python3 -m bench --only b --baseline-rows 20000
    python3 -m bench --only c --corpus ../shared/corpora/bigquery-etl/sql
    python3 -m bench --only popular --old REV [--new REV] --repeat 3   # floor vs old vs new, same run
    python3 -m bench --only notify --only digest --only check --only codemod --only demo

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

from bench.generate import generate_history, generate_popular_history

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DATA = HERE / ".data"
DEFAULT_CORPUS = REPO.parent / "shared" / "corpora" / "bigquery-etl" / "sql"


# Benchmarks of other commands, each a module of its own that prints one JSON line: one command runs any of them.
STANDALONE = {"notify": "bench.notify_bench", "digest": "bench.digest_bench", "check": "bench.check_bench",
              "codemod": "bench.codemod_bench", "demo": "bench.demo_bench"}


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


def popular_file(rows: int, seed: int) -> tuple[Path, Path, dict[str, Any]]:
    """The "popular table retired" history and its registry (generated once, then reused)."""
    path = DATA / f"popular-{rows}-s{seed}.jsonl"
    meta_path = path.with_suffix(".meta.json")
    registry = path.with_suffix(".registry.yml")
    if not (path.exists() and meta_path.exists() and registry.exists()):
        t0 = time.perf_counter()
        meta = generate_popular_history(path, rows, seed=seed)
        meta["generate_s"] = round(time.perf_counter() - t0, 1)
        meta["bytes"] = path.stat().st_size
        meta_path.write_bytes(orjson.dumps(meta))
    return path, registry, orjson.loads(meta_path.read_bytes())


def export_commit(rev: str) -> tuple[str, Path]:
    """``git archive`` of the package at ``rev`` into bench/.data (the checkout is not touched)."""
    sha = subprocess.run(["git", "rev-parse", rev], cwd=REPO, check=True, capture_output=True,
                         text=True).stdout.strip()
    dest = DATA / f"tree-{sha[:12]}"
    if not (dest / "deprecator" / "__init__.py").exists():
        dest.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "archive", sha, "deprecator"], cwd=REPO, check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    return sha, dest


# The findings' keys of the JSON contract when this benchmark was written; keys added since (additive
# by the contract) are left out of the digest, so reports of both commits can be compared.
FINDING_KEYS = ("deprecation", "relation", "source", "object", "path", "line", "column", "user", "count",
                "first_seen", "last_seen", "columns", "ambiguous", "note", "role")


def report_digest(path: Path, fmt: str) -> tuple[str, int, dict[str, Any]]:
    """sha256 (16 hex) of a scan report: for JSON its findings (FINDING_KEYS of each) and unparsed
    list, for text every line but the last (which has the elapsed time). Also the findings count and,
    per finding key outside FINDING_KEYS, its distinct values (at most 3)."""
    import hashlib

    data = path.read_bytes()
    if fmt == "text":
        lines = data.decode().rstrip("\n").split("\n")
        return hashlib.sha256("\n".join(lines[:-1]).encode()).hexdigest()[:16], 0, {}
    doc = orjson.loads(data)
    del data
    h = hashlib.sha256()
    extra: dict[str, set[str]] = {}
    for f in doc["findings"]:
        h.update(orjson.dumps([f.get(k) for k in FINDING_KEYS]))
        for k in f.keys() - set(FINDING_KEYS):
            if len(extra.setdefault(k, set())) < 3:
                extra[k].add(repr(f[k]))
    h.update(orjson.dumps(doc["unparsed"], option=orjson.OPT_SORT_KEYS))
    return h.hexdigest()[:16], len(doc["findings"]), {k: sorted(v) for k, v in extra.items()}


def digest_in_child(path: Path, fmt: str) -> tuple[str, int, dict[str, Any]]:
    """report_digest in a child process: loading a 345 MB report here would raise this process's
    memory, and a forked measurement child starts with its parent's peak (getrusage's maxrss)."""
    out = subprocess.run([sys.executable, "-c", "import sys, orjson; from pathlib import Path; "
                          "from bench.run import report_digest; "
                          "sys.stdout.write(orjson.dumps(report_digest(Path(sys.argv[1]), sys.argv[2])).decode())",
                          str(path), fmt], cwd=REPO, check=True, capture_output=True, text=True).stdout
    digest, n, extra = orjson.loads(out)
    return digest, n, extra


def _median(xs: list[float]) -> float:
    ys = sorted(xs)
    mid = len(ys) // 2
    return ys[mid] if len(ys) % 2 else round((ys[mid - 1] + ys[mid]) / 2, 2)


def popular_part(rows: int, seed: int, repeat: int, old: str | None, workers: list[str],
                 a_rows: int, new: str | None = None) -> dict[str, Any]:
    """Floor, old commit and this checkout back to back, ``repeat`` times; then the text report of
    each once (identity), then the 3%-candidate (a) scan old vs new, ``repeat`` times."""
    path, registry, meta = popular_file(rows, seed)
    trees: dict[str, list[str]] = {}
    commits: dict[str, str] = {}
    for name, rev in (("old", old), ("new", new)):
        if rev:
            sha, tree = export_commit(rev)
            trees[name], commits[name] = ["--deprecator", str(tree)], sha
        elif name == "new":
            trees[name], commits[name] = [], "working tree"
    out = DATA / "popular-report.out"
    runs: dict[str, list[dict[str, Any]]] = {"floor": [], **{k: [] for k in trees}}
    for i in range(repeat):
        load = os.getloadavg()
        r = measure(["floor", str(path), "--registry", str(registry)])
        r["loadavg_before"] = load
        runs["floor"].append(r)
        print(f"  [{i + 1}/{repeat}] floor {r['wall_s']} s {r['peak_tree_rss_mb']} MB  load {load}", flush=True)
        for name, extra in trees.items():
            load = os.getloadavg()
            r = measure(["cli-scan", str(path), "--registry", str(registry), "--out", str(out), *workers, *extra])
            r["loadavg_before"] = load
            r["digest"], r["findings"], r["added_keys"] = digest_in_child(out, "json")
            runs[name].append(r)
            print(f"  [{i + 1}/{repeat}] {name} {r['wall_s']} s {r['peak_tree_rss_mb']} MB digest {r['digest']} "
                  f"findings {r['findings']:,}  load {load}", flush=True)
    text = {}
    for name, extra in trees.items():
        r = measure(["cli-scan", str(path), "--registry", str(registry), "--out", str(out), "--format", "text",
                     *workers, *extra])
        r["digest"], _, _ = digest_in_child(out, "text")
        (DATA / f"popular-report-{name}.txt").write_bytes(out.read_bytes())   # to diff by hand
        text[name] = r
        print(f"  text report {name} {r['wall_s']} s {r['peak_tree_rss_mb']} MB digest {r['digest']}", flush=True)
    out.unlink(missing_ok=True)
    a_path, a_meta = history_file(a_rows, seed)
    a_runs: dict[str, list[dict[str, Any]]] = {k: [] for k in trees}
    for i in range(repeat):
        for name, extra in trees.items():
            r = measure(["scan", str(a_path), *workers, *extra])
            a_runs[name].append(r)
            print(f"  [{i + 1}/{repeat}] (a) {name} {r['wall_s']} s {r['peak_tree_rss_mb']} MB", flush=True)

    def summary(rs: list[dict[str, Any]]) -> dict[str, Any]:
        walls, peaks = [r["wall_s"] for r in rs], [r["peak_tree_rss_mb"] for r in rs]
        return {"wall_s_median": _median(walls), "wall_s_min": min(walls), "wall_s_max": max(walls),
                "peak_mb_median": _median(peaks), "peak_mb_min": min(peaks), "peak_mb_max": max(peaks)}

    res: dict[str, Any] = {"data": meta, "commits": commits, "runs": runs, "text": text, "a_data": a_meta,
                           "a_runs": a_runs}
    res["summary"] = {k: summary(v) for k, v in runs.items()}
    res["a_summary"] = {k: summary(v) for k, v in a_runs.items()}
    fl = res["summary"]["floor"]["wall_s_median"]
    for k in trees:
        res["summary"][k]["x_floor"] = round(res["summary"][k]["wall_s_median"] / fl, 2)
    digests = {k: sorted({r["digest"] for r in v}) for k, v in runs.items() if k != "floor"}
    res["json_digests"] = digests
    res["identical_json"] = len({d for ds in digests.values() for d in ds}) == 1
    res["identical_text"] = len({t["digest"] for t in text.values()}) == 1
    new = res["summary"]["new"]
    res["targets"] = {"peak_mb < 500": new["peak_mb_median"] < 500, "wall <= 1.2 x floor": new["x_floor"] <= 1.2}
    return res


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
    ap.add_argument("--only", action="append", choices=["a", "b", "c", "popular", "pg-scan", "pg-apply",
                                                        *sorted(STANDALONE)],
                    help="run only this part (repeatable); default: a, b, c (pg-*: bench/pg_run.py; "
                         f"{', '.join(sorted(STANDALONE))}: the bench.<name>_bench modules with their defaults)")
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows in the (a) history export")
    ap.add_argument("--baseline-rows", type=int, default=100_000, help="rows in the (b) baseline comparison")
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="SQL corpus for (c)")
    ap.add_argument("--workers", type=int, default=None, help="scan workers (default: one per CPU)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--popular-rows", type=int, default=1_000_000, help="rows in the popular-table history")
    ap.add_argument("--old", metavar="REV", help="popular: also measure the package at this commit (git archive)")
    ap.add_argument("--new", metavar="REV", help="popular: measure the package at this commit instead of the working tree")
    ap.add_argument("--repeat", type=int, default=3, help="popular: runs per contender")
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

    if "popular" in parts:
        print(f"\n== (popular) a popular table is retired: {a.popular_rows:,} rows, floor vs old vs new", flush=True)
        results["popular"] = popular_part(a.popular_rows, a.seed, a.repeat, a.old, workers, a.rows, a.new)
        _print("(popular) summary", {k: results["popular"][k] for k in
                                     ("summary", "a_summary", "json_digests", "identical_json", "identical_text",
                                      "targets")})

    for part in sorted(parts & set(STANDALONE)):   # each prints one JSON line
        print(f"\n== ({part}) python3 -m {STANDALONE[part]}", flush=True)
        done = subprocess.run([sys.executable, "-m", STANDALONE[part]], cwd=REPO, stdout=subprocess.PIPE,
                              text=True, check=True)
        results[part] = orjson.loads(done.stdout.strip().splitlines()[-1])
        _print(f"({part})", results[part])
    if parts <= set(STANDALONE):
        return

    if parts & {"pg-scan", "pg-apply"}:   # PostgreSQL parts: own database, results in results/pg_latest.json
        from bench.pg_run import run_parts

        run_parts(sorted(parts & {"pg-scan", "pg-apply"}), links=link_specs(a.link), link_latency_ms=a.link_latency_ms)
        if not parts & {"a", "b", "c", "popular"}:
            return

    out = HERE / "results" / "latest.json"
    out.parent.mkdir(exist_ok=True)
    out.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2, default=str))
    print(f"\nwrote {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
