"""PostgreSQL scan benchmark: the pushed-down ``type: sql`` history source vs fetching every row.

Data (``setup``): a pool of distinct texts made by ``bench.generate.ShapeGen``
(same shapes, deprecated spellings and near misses as the JSONL benchmark) is
COPYed into ``bench_pool``; the history table is then filled in one
``INSERT ... SELECT ... FROM generate_series`` that draws pool texts with a
Zipf-like popularity (every pool text at least once), 2,000 users and start
times spread over 30 days.

Both measurements go through ``deprecator.scan.run_scan`` with the same
deprecator.yml (``history: - type: sql``) and the same registry:

* ``pushdown``: the configured source, i.e. deprecator wraps the user's query
  so PostgreSQL filters on the deprecated names and groups identical texts;
* ``fetchall``: the baseline, a source that runs the user's query as is and
  streams every row to deprecator, which dedupes, prefilters and parses locally.

The findings of the two must be identical (asserted by the runner).
"""

from __future__ import annotations

import io
import random
import resource
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import sqlalchemy as sa

from bench.generate import DEPRECATED, DEPRECATED_SPELLINGS, NEAR_MISSES, REGISTRY_YAML, ShapeGen
from deprecator.sources.sql_history import pushed_down_query as _ORIGINAL_PUSHED_DOWN_QUERY

TABLE = "bench_history.query_history"
USER_QUERY = f"SELECT query_text, user_name, start_time FROM {TABLE}"
USERS = 2000
START = "2026-10-27 00:00:00+00"


def _raw(url: str) -> Any:
    import psycopg2

    return psycopg2.connect(sa.engine.make_url(url).render_as_string(hide_password=False)
                            .replace("postgresql+psycopg2://", "postgresql://"))


def setup(url: str, rows: int, *, distinct_ratio: float = 0.10, mention_ratio: float = 0.03,
          seed: int = 42) -> dict[str, Any]:
    """(Re)create ``bench_history.query_history`` with ``rows`` rows; return what was generated."""
    t0 = time.perf_counter()
    rng = random.Random(seed)
    gen = ShapeGen(rng)
    n_distinct = max(1, int(rows * distinct_ratio))
    buf = io.StringIO()
    mentions = near = 0
    for uid in range(n_distinct):
        r = rng.random()
        mention, kind = None, "plain"
        if r < mention_ratio:
            mention = rng.choice(DEPRECATED_SPELLINGS[rng.choice(DEPRECATED)])
            kind, mentions = "mention", mentions + 1
        elif r < mention_ratio * 1.5:
            mention = rng.choice(NEAR_MISSES)
            kind, near = "near_miss", near + 1
        text = gen.text(uid, mention)
        # text format of COPY: escape backslash, tab, newline, carriage return
        esc = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
        buf.write(f"{kind}\t{esc}\n")
    conn = _raw(url)
    try:
        cur = conn.cursor()
        cur.execute("DROP SCHEMA IF EXISTS bench_history CASCADE")
        cur.execute("CREATE SCHEMA bench_history")
        cur.execute("CREATE TABLE bench_history.pool (id serial PRIMARY KEY, kind text NOT NULL, text text NOT NULL)")
        buf.seek(0)
        cur.copy_expert("COPY bench_history.pool (kind, text) FROM STDIN", buf)
        # shuffle popularity ranks over the pool (so rank 1 is no particular shape)
        cur.execute("CREATE TABLE bench_history.rank AS SELECT row_number() OVER (ORDER BY md5(id::text || %s)) AS rank, id "
                    "FROM bench_history.pool", (str(seed),))
        cur.execute("CREATE UNIQUE INDEX ON bench_history.rank (rank)")
        cur.execute(f"""CREATE TABLE {TABLE} (
            query_id bigint PRIMARY KEY, query_text text NOT NULL, user_name text NOT NULL,
            start_time timestamptz NOT NULL, warehouse text, duration_ms integer, rows_produced bigint)""")
        cur.execute("SELECT setseed(%s)", (((seed % 1000) / 1000.0),))
        # rank: the first n_distinct rows take every rank once, the rest a Zipf-like 1/(rank+10) draw
        cur.execute(f"""
            INSERT INTO {TABLE}
            SELECT g.i, p.text, 'user_' || lpad(g.u::text, 5, '0'),
                   timestamptz %(start)s + g.i * (interval '30 days' / %(rows)s),
                   'wh_' || (g.rk %% 4), (g.rk * 37) %% 60000, g.rk %% 1000
            FROM (
                SELECT i, floor(random() * %(users)s)::int AS u,
                       CASE WHEN i <= %(n)s THEN i
                            ELSE least(%(n)s, floor(10 * exp(random() * ln((%(n)s + 10) / 10.0)) - 10)::int + 1)
                       END AS rk
                FROM generate_series(1, %(rows)s) AS i
            ) g
            JOIN bench_history.rank r ON r.rank = g.rk
            JOIN bench_history.pool p ON p.id = r.id
        """, dict(start=START, rows=rows, users=USERS, n=n_distinct))
        conn.commit()
        conn.autocommit = True
        cur.execute(f"VACUUM ANALYZE {TABLE}")
        cur.execute(f"""SELECT count(*), count(DISTINCT query_text), count(DISTINCT user_name),
                               min(start_time), max(start_time), sum(octet_length(query_text)),
                               pg_total_relation_size('{TABLE}')
                        FROM {TABLE}""")
        n, distinct, users, tmin, tmax, text_bytes, table_bytes = cur.fetchone()
        cur.execute(f"""SELECT p.kind, count(*) FROM {TABLE} h JOIN bench_history.pool p ON p.text = h.query_text
                        GROUP BY p.kind""")
        by_kind = dict(cur.fetchall())
    finally:
        conn.close()
    return {"rows": n, "distinct_texts": distinct, "users": users, "first": str(tmin), "last": str(tmax),
            "pool_mentioning": mentions, "pool_near_misses": near,
            "rows_mentioning": by_kind.get("mention", 0), "rows_near_miss": by_kind.get("near_miss", 0),
            "text_mb": round(text_bytes / 2**20, 1), "table_mb": round(table_bytes / 2**20, 1),
            "setup_s": round(time.perf_counter() - t0, 1)}


def write_project(root: Path, url: str) -> Path:
    """deprecator.yml (history: type sql, no warehouse views) and the registry; returns the config path."""
    (root / "deprecations.yml").write_text(REGISTRY_YAML)
    cfg = root / "deprecator.yml"
    cfg.write_text(
        "warehouse:\n  dialect: postgres\n  default_schema: [analytics]\n"
        "registry: deprecations.yml\n"
        "history:\n"
        "  - type: sql\n"
        f"    url: {url}\n"
        f"    query: \"{USER_QUERY}\"\n"
        "state: sqlite:///state.db\n"
    )
    return cfg


@dataclass
class FetchAllSource:
    """The baseline: every history row travels to deprecator, which scans them locally."""

    url: str
    query: str
    object_name: str
    batch_size: int = 5000
    kind: str = "sql"
    rows: int = 0
    text_bytes: int = 0

    @property
    def name(self) -> str:
        return self.object_name

    def read(self) -> Iterator[Any]:
        from deprecator.sources.base import SqlText, parse_timestamp

        engine = sa.create_engine(self.url)
        try:
            with engine.connect() as conn:
                conn = conn.execution_options(postgresql_readonly=True, stream_results=True,
                                              yield_per=self.batch_size)
                with conn.begin():
                    for text, user, start in conn.execute(sa.text(self.query)):
                        self.rows += 1
                        self.text_bytes += len(text)
                        ts = parse_timestamp(start)
                        yield SqlText(text=text, source=self.kind, object=self.object_name, user=user,
                                      count=1, first_seen=ts, last_seen=ts)
        finally:
            engine.dispose()


class _Counting:
    """Wraps a source to count the items (rows) and text characters it delivers."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.kind, self.name = inner, inner.kind, inner.name
        self.rows = self.text_bytes = 0

    def read(self) -> Iterator[Any]:
        for item in self.inner.read():
            self.rows += 1
            self.text_bytes += len(getattr(item, "text", ""))
            yield item


def _rusage() -> dict[str, float]:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"cpu_self_s": round(me.ru_utime + me.ru_stime, 2), "cpu_children_s": round(kids.ru_utime + kids.ru_stime, 2),
            "maxrss_self_mb": round(me.ru_maxrss / 1024, 1), "maxrss_largest_child_mb": round(kids.ru_maxrss / 1024, 1)}


def _finding_key(f: Any) -> tuple:
    return (f.deprecation, f.relation, f.source, f.object, f.user, f.count, f.first_seen, f.last_seen, f.columns)


def measure(mode: str, url: str, workers: int | None = None) -> dict[str, Any]:
    """One scan (``pushdown`` or ``fetchall``) end to end through run_scan; run in a fresh process."""
    from deprecator.config import load_config
    from deprecator.scan import build_sources, run_scan

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        config = load_config(write_project(root, url))
        registry = config.load_registry()
        sources, _ = build_sources(config)
        assert len(sources) == 1 and sources[0].kind == "sql", sources   # only the history, no views/files
        configured = sources[0]
        # MODE[+c][+client][:read]; +c and +client are the suggested changes, sized in this child process only
        spec, _, read_only = mode.partition(":")
        base, *tweaks = spec.split("+")
        if "c" in tweaks:        # filter: lower(text COLLATE "C") LIKE ANY (...) instead of ILIKE per needle
            import deprecator.sources.sql_history as sh

            sh.pushed_down_query = pushed_down_query_c
        if "client" in tweaks:   # no server-side cursor: PostgreSQL never runs a cursor's query in parallel
            engine = sa.create_engine(url)
            engine.dialect.supports_server_side_cursors = False
            configured.engine = engine
        if base == "pushdown":
            src: Any = _Counting(configured)
        elif base == "fetchall":
            src = FetchAllSource(url, USER_QUERY, object_name=f"sql history ({configured.name})")
        else:
            raise ValueError(mode)
        if read_only:   # the history read alone: every row/group delivered, nothing parsed
            t1 = time.perf_counter()
            for _ in src.read():
                pass
            return {"mode": mode, "wall_s": round(time.perf_counter() - t1, 2), "rows_transferred": src.rows,
                    "text_mb_transferred": round(src.text_bytes / 2**20, 1), **_rusage()}
        report = run_scan(config, registry, sources=[src], workers=workers)
        wall = time.perf_counter() - t0
    findings = sorted((_finding_key(f) for f in report.findings), key=repr)
    unparsed = sorted((u.status, u.error, u.text) for u in report.unparsed)
    import hashlib

    digest = hashlib.sha256(repr((findings, unparsed)).encode()).hexdigest()[:16]
    # the same without the history URL (its port differs through a bench.link relay), to compare across links
    masked = sorted((k[:3] + (k[3].replace(configured.name, "<history url>"),) + k[4:] for k in findings), key=repr)
    digest_any_url = hashlib.sha256(repr((masked, unparsed)).encode()).hexdigest()[:16]
    by_dep: dict[str, int] = {}
    for f in report.findings:
        by_dep[f.deprecation] = by_dep.get(f.deprecation, 0) + f.count
    return {"mode": mode, "wall_s": round(wall, 2), "rows_transferred": src.rows,
            "text_mb_transferred": round(src.text_bytes / 2**20, 1),
            "findings": len(report.findings), "uses_by_deprecation": by_dep, "unparsed": len(report.unparsed),
            "findings_sha256": digest, "findings_sha256_any_url": digest_any_url, "stats": report.stats, **_rusage()}


def pushed_down_query_c(user_query: str, names: Any) -> Any:
    """The suggested PostgreSQL variant: ``lower(query_text COLLATE "C") LIKE ANY (patterns)``.

    Same wrapping and grouping as ``sql_history.pushed_down_query``; only the
    filter differs: lower() under the C collation folds ASCII only (what
    PostgreSQL itself does to unquoted identifiers) and runs once per row
    instead of once per needle inside ILIKE's Unicode case folding. Needles
    with non-ASCII characters keep ILIKE. Benchmark-only, to size the change.
    """
    from sqlalchemy.dialects.postgresql import ARRAY

    from deprecator.sources import sql_history as sh

    stmt = _ORIGINAL_PUSHED_DOWN_QUERY(user_query, None)
    if names is None:
        return stmt
    needles = sh.name_needles(names)
    inner = stmt.get_final_froms()[0]
    qt = inner.c.query_text
    ascii_n = [n for n in needles if n.isascii()]
    other = [n for n in needles if not n.isascii()]

    def pat(n: str) -> str:
        return "%" + n.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"

    conds = []
    if ascii_n:
        conds.append(sa.func.lower(qt.collate("C")).like(
            sa.any_(sa.bindparam("deprecator_needles", [pat(n) for n in ascii_n], type_=ARRAY(sa.Text)))))
    conds += [qt.icontains(n, autoescape=True) for n in other]
    return stmt.where(sa.or_(*conds)) if conds else stmt.where(sa.false())


def explain(url: str, variant: str = "pushdown") -> str:
    """EXPLAIN ANALYZE of the pushed-down query (for the report; not timed)."""
    from deprecator.registry import parse_registry
    from deprecator.sources.sql_history import pushed_down_query

    reg = parse_registry(REGISTRY_YAML, "bench-deprecations.yml", "postgres", ("analytics",))
    names = sorted(reg.names_for_prefilter())
    # The shipped query is dialect-aware: on PostgreSQL it filters with lower(... COLLATE "C") LIKE ANY.
    stmt = pushed_down_query_c(USER_QUERY, names) if "+c" in variant else pushed_down_query(USER_QUERY, names, "postgresql")
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            compiled = stmt.compile(dialect=conn.dialect)
            rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + str(compiled),
                                        compiled.params).fetchall()  # type: ignore[arg-type]
    finally:
        engine.dispose()
    return "\n".join(r[0] for r in rows)
