"""One measurement in a fresh process (so peak memory is this run's alone).

    python3 -m bench.measure scan  HISTORY.jsonl [--workers N]
    python3 -m bench.measure naive HISTORY.jsonl
    python3 -m bench.measure corpus DIR [--workers N]
    python3 -m bench.measure cli-scan HISTORY.jsonl --registry R.yml --out FILE [--format json|text]
    python3 -m bench.measure floor HISTORY.jsonl --registry R.yml

``--deprecator DIR`` imports the ``deprecator`` package from DIR (an export of an
older commit), so old and new code run through the same measuring code.

Prints one JSON object on stdout.

The other benchmarks share its measuring helpers: ``time_cli`` (the CLI in fresh
processes, wall and CPU) and ``scratch_database`` (a PostgreSQL database created
for a run and dropped after it).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import functools
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator, Mapping

import orjson

from bench.generate import REGISTRY_YAML

DIALECT = "postgres"
SCHEMA = ("analytics",)
PG_SERVER = os.environ.get("DEPRECATOR_BENCH_PG_SERVER", "postgresql+psycopg2://postgres@127.0.0.1:5432")


def children_cpu_s() -> float:
    """User + system seconds of the waited-for child processes so far."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def time_cli(args: list[str], repeat: int, cwd: Path,
             env: Mapping[str, str] | None = None) -> tuple[dict[str, float], subprocess.CompletedProcess[str]]:
    """``python -m deprecator ARGS`` in ``cwd``, ``repeat`` times, each in a fresh process (interpreter
    start and imports included): best and median wall and CPU (user + system of the child)
    seconds, and the last run, whose output the caller reads."""
    times: list[float] = []
    cpu: list[float] = []
    last = None
    for _ in range(repeat):
        start, c0 = time.perf_counter(), children_cpu_s()
        last = subprocess.run([sys.executable, "-m", "deprecator", *args], cwd=cwd, capture_output=True,
                              text=True, env=None if env is None else {**os.environ, **env})
        times.append(time.perf_counter() - start)
        cpu.append(children_cpu_s() - c0)
    assert last is not None
    return {"best_s": round(min(times), 3), "median_s": round(statistics.median(times), 3),
            "cpu_best_s": round(min(cpu), 3), "cpu_median_s": round(statistics.median(cpu), 3)}, last


def pg_admin(server: str, *stmts: str) -> list[Any]:
    """Run statements on ``server``'s ``postgres`` database, autocommit (CREATE/DROP DATABASE);
    the last one's rows."""
    import sqlalchemy as sa

    eng = sa.create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with eng.connect() as c:
            rows: list[Any] = []
            for s in stmts:
                r = c.exec_driver_sql(s)
                rows = list(r.all()) if r.returns_rows else []
            return rows
    finally:
        eng.dispose()


@contextlib.contextmanager
def scratch_database(name: str, server: str = PG_SERVER, *, keep: bool = False) -> Iterator[str]:
    """A fresh database ``name`` on ``server`` (one left over by an interrupted run is dropped
    first), its URL; dropped at the end, unless ``keep``."""
    pg_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    try:
        yield f"{server}/{name}"
    finally:
        if not keep:
            pg_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _registry() -> Any:
    from deprecator.registry import parse_registry

    return parse_registry(REGISTRY_YAML, "bench-deprecations.yml", DIALECT, SCHEMA)


def _registry_file(path: Path) -> Any:
    from deprecator.registry import parse_registry

    return parse_registry(path.read_text(), str(path), DIALECT, SCHEMA)


def _rusage() -> dict[str, float]:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "cpu_self_s": round(me.ru_utime + me.ru_stime, 2),
        "cpu_children_s": round(kids.ru_utime + kids.ru_stime, 2),
        "maxrss_self_mb": round(me.ru_maxrss / 1024, 1),
        "maxrss_largest_child_mb": round(kids.ru_maxrss / 1024, 1),
    }


def scan(history: Path, workers: int | None, registry_path: Path | None = None) -> dict[str, Any]:
    from deprecator.config import Config, HistorySourceConfig, WarehouseConfig
    from deprecator.scan import run_scan

    registry = _registry() if registry_path is None else _registry_file(registry_path)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        config = Config(path=None, root=root, warehouse=WarehouseConfig(dialect=DIALECT, default_schema=SCHEMA),
                        registry_path=root / "deprecations.yml",
                        history=(HistorySourceConfig("file", history.resolve()),),
                        state_url=f"sqlite:///{root}/state.db")
        t0 = time.perf_counter()
        report = run_scan(config, registry, workers=workers)   # records a snapshot, as the CLI does
        wall = time.perf_counter() - t0
    uses = sum(f.count for f in report.findings)
    return {"wall_s": round(wall, 2), "stats": report.stats, "findings": len(report.findings),
            "deprecated_uses": uses, **_rusage()}


def naive(history: Path) -> dict[str, Any]:
    """Parse every row, one by one, in one process: no dedupe, no prefilter."""
    from deprecator.sql import find_references

    registry = _registry()
    rows = uses = 0
    status: collections.Counter[str] = collections.Counter()
    t0 = time.perf_counter()
    with open(history, "rb") as fh:
        for line in fh:
            row = orjson.loads(line)
            res = find_references(row["query_text"], DIALECT, default_schema=SCHEMA)
            status[res.status] += 1
            rows += 1
            hits = set()
            for ref in res.references:
                dep = registry.by_relation(ref.relation)
                if dep is None:
                    for cand in ref.candidates:
                        dep = registry.by_relation(cand)
                        if dep is not None:
                            break
                if dep is not None:
                    hits.add((dep.model, str(ref.relation)))
            uses += len(hits)
    wall = time.perf_counter() - t0
    return {"wall_s": round(wall, 2), "rows": rows, "ms_per_row": round(1000 * wall / max(rows, 1), 3),
            "status": dict(status), "deprecated_uses": uses, **_rusage()}


def cli_scan(history: Path, registry: Path, out: Path, fmt: str, workers: int | None) -> dict[str, Any]:
    """``deprecator scan --format FMT --quiet`` end to end (config, scan, snapshot, report written to ``out``)."""
    import contextlib

    from deprecator.cli import main as cli

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "deprecator.yml").write_text(
            f"warehouse:\n  dialect: {DIALECT}\n  default_schema: {SCHEMA[0]}\nregistry: {registry.resolve()}\n"
            f"history:\n  - type: file\n    path: {history.resolve()}\nstate:\n  url: sqlite:///{root}/state.db\n")
        args = ["--config", str(root / "deprecator.yml"), "scan", "--format", fmt, "--quiet"]
        if workers is not None:
            args += ["--workers", str(workers)]
        t0 = time.perf_counter()
        with open(out, "w") as fh, contextlib.redirect_stdout(fh):
            try:
                cli.main(args, standalone_mode=False)
            except SystemExit as e:
                if e.code:
                    raise
        wall = time.perf_counter() - t0
    return {"wall_s": round(wall, 2), "output_bytes": out.stat().st_size, **_rusage()}


def floor(history: Path, registry_path: Path) -> dict[str, Any]:
    """The one-process floor: read every row, aggregate per (text, user), parse each text that may name
    a deprecated relation once, match its references. No workers, no report, no state store."""
    from deprecator.prefilter import Prefilter
    from deprecator.sql import find_references

    registry = _registry_file(registry_path)
    t0 = time.perf_counter()
    may_reference = Prefilter(registry.names_for_prefilter()).may_reference
    fromiso = __import__("datetime").datetime.fromisoformat
    seen: dict[str, bool] = {}
    agg: dict[str, dict[str | None, list[Any]]] = {}   # candidate text -> user -> [count, first, last]
    rows = 0
    with open(history, "rb") as fh:
        for line in fh:
            row = orjson.loads(line)
            rows += 1
            text = row["query_text"]
            passes = seen.get(text)
            if passes is None:
                passes = seen[text] = may_reference(text)
            if not passes:
                continue
            ts = fromiso(row["start_time"][:-1])
            users = agg.get(text)
            if users is None:
                users = agg[text] = {}
            a = users.get(row["user_name"])
            if a is None:
                users[row["user_name"]] = [1, ts, ts]
            else:
                a[0] += 1
                a[1] = min(a[1], ts)
                a[2] = max(a[2], ts)
    read_s = time.perf_counter() - t0
    findings = uses = 0
    status: collections.Counter[str] = collections.Counter()
    for text, users in agg.items():
        res = find_references(text, DIALECT, default_schema=SCHEMA)
        status[res.status] += 1
        deps = set()
        for ref in res.references:
            for rel in (ref.relation, *ref.candidates):
                dep = registry.by_relation(rel)
                if dep is not None:
                    deps.add((dep.model, str(rel)))
                    break
        if deps:
            findings += len(deps) * len(users)
            uses += len(deps) * sum(a[0] for a in users.values())
    wall = time.perf_counter() - t0
    return {"wall_s": round(wall, 2), "read_aggregate_s": round(read_s, 2), "rows": rows, "distinct_texts": len(seen),
            "candidates": len(agg), "status": dict(status), "findings": findings, "deprecated_uses": uses,
            **_rusage()}


def _rewrite_fn(rules: Any, text: str, dialect: str, default_schema: Any = (), default_catalog: Any = None) -> Any:
    from deprecator.sql import rewrite
    from deprecator.sql.model import ParseResult

    r = rewrite(text, dialect, rules, default_schema, default_catalog)
    kind = "changed" if r.changed else ("blocked" if r.blockers and r.status == "parsed" else
                                        ("unchanged" if r.status == "parsed" else r.status))
    return ParseResult(r.status, error=kind if r.status == "parsed" else f"{kind}: {r.error}")


def corpus(root: Path, workers: int | None) -> dict[str, Any]:
    from deprecator.parallel import ParsePool
    from deprecator.sql.model import RelationName, RewriteRule

    files = sorted(p for p in root.rglob("*.sql") if p.is_file())
    texts: dict[int, str] = {}
    jinja = unreadable = 0
    for i, p in enumerate(files):
        try:
            t = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            unreadable += 1
            continue
        if "{{" in t or "{%" in t or "{#" in t:
            jinja += 1
            continue
        texts[i] = t
    t0 = time.perf_counter()
    with ParsePool("bigquery", workers=workers, timeout=300) as pool:
        results = pool.map(list(texts.items()))
        crashes = pool.crashes
    find_wall = time.perf_counter() - t0
    status = collections.Counter(r.status for r in results.values())
    errors = collections.Counter((r.error or "")[:80] for r in results.values() if r.status != "parsed")
    # Rewrite: deprecate the 5 most-referenced relations (to a *_v2 twin) and rewrite every file using them.
    counts: collections.Counter[RelationName] = collections.Counter()
    users: dict[RelationName, set[int]] = collections.defaultdict(set)
    for k, r in results.items():
        for ref in r.references:
            counts[ref.relation] += 1
            users[ref.relation].add(k)
    top = [rel for rel, _ in counts.most_common(5)]
    rules = [RewriteRule(old=rel, new=RelationName(rel.catalog, rel.schema, rel.name + "_v2"), label=str(rel))
             for rel in top]
    targets = sorted(set().union(*(users[r] for r in top))) if top else []
    # Reference finding alone on the same files, for an apples-to-apples ratio.
    t_same = time.perf_counter()
    with ParsePool("bigquery", workers=workers, timeout=300) as pool:
        pool.map([(k, texts[k]) for k in targets])
    find_same_wall = time.perf_counter() - t_same
    t1 = time.perf_counter()
    with ParsePool("bigquery", workers=workers, parse_fn=functools.partial(_rewrite_fn, rules), timeout=300) as pool:
        rw = pool.map([(k, texts[k]) for k in targets])
        rw_crashes = pool.crashes
    rw_wall = time.perf_counter() - t1
    rw_kinds = collections.Counter((r.error or r.status).split(":")[0] for r in rw.values())
    return {
        "files": len(files), "jinja_skipped": jinja, "unreadable": unreadable, "analysed": len(texts),
        "find_wall_s": round(find_wall, 2), "find_files_per_s": round(len(texts) / find_wall, 1),
        "status": dict(status), "worker_crashes": crashes,
        "top_errors": errors.most_common(5),
        "rewrite_rules": [str(r) for r in top], "rewrite_files": len(targets),
        "rewrite_wall_s": round(rw_wall, 2), "rewrite_files_per_s": round(len(targets) / rw_wall, 1) if rw_wall else None,
        "find_on_rewrite_files_wall_s": round(find_same_wall, 2),
        "rewrite_outcomes": dict(rw_kinds), "rewrite_worker_crashes": rw_crashes,
        **_rusage(),
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python3 -m bench.measure")
    ap.add_argument("what", choices=["scan", "naive", "corpus", "cli-scan", "floor"])
    ap.add_argument("path", type=Path)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--registry", type=Path, help="deprecations.yml (cli-scan, floor; scan: default bench registry)")
    ap.add_argument("--out", type=Path, help="where cli-scan writes the report")
    ap.add_argument("--format", default="json", choices=["json", "text"])
    ap.add_argument("--deprecator", type=Path, help="import the deprecator package from this folder")
    a = ap.parse_args(argv)
    if a.deprecator is not None:
        sys.path.insert(0, str(a.deprecator.resolve()))
    import deprecator

    if a.what == "cli-scan":
        out = cli_scan(a.path, a.registry, a.out, a.format, a.workers)
    elif a.what == "floor":
        out = floor(a.path, a.registry)
    elif a.what == "scan":
        out = scan(a.path, a.workers, a.registry)
    elif a.what == "naive":
        out = naive(a.path)
    else:
        out = corpus(a.path, a.workers)
    out["deprecator_from"] = str(Path(deprecator.__file__).parent.parent)
    sys.stdout.write(orjson.dumps(out, default=str).decode() + "\n")


if __name__ == "__main__":
    main()
