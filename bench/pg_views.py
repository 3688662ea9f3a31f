"""PostgreSQL plan + apply benchmark: N dependent views, deprecator vs the bare DDL.

``setup(url, n)`` builds ``analytics.customer_facts`` (deprecated), its
replacement ``analytics.entity_customers`` (``cust_id`` renamed
``customer_id``; ``created_at`` becomes ``timestamptz``) and ``n`` views:

* 3 in 4 keep their columns and types after the rewrite: ``CREATE OR REPLACE``;
* 1 in 4 select ``created_at``, whose type changes: drop and recreate;
* 1 in 10 is a view on an earlier view (so some dependents of a recreated
  view must be dropped and recreated too);
* every view has a grant to a reader role and a comment; every 3rd a column
  grant, every 2nd a column comment, every 5th ``security_barrier``.

``bare_ddl(n)`` is what a careful human would run for the same views in one
transaction, written from the setup (not from deprecator's plan):
``CREATE OR REPLACE`` with the option restated, or drop the dependents and the
view, create, grant, comment, recreate the dependents. ``end_state`` reads back
what both must leave: columns and types, ACLs, comments, options, and that no
view reads the deprecated table any more.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

READER = "deprecator_bench_reader"
ANALYST = "deprecator_bench_analyst"
REGISTRY = """deprecations:
  - model: analytics.customer_facts
    replacement: analytics.entity_customers
    sunset: 2027-03-31
    columns:
      cust_id: customer_id
"""


@dataclass(frozen=True)
class View:
    i: int
    kind: str                 # "replace" | "recreate" | "on_view"
    reads: int | None         # for on_view: the view it reads

    @property
    def name(self) -> str:
        return f"analytics.v_{self.i:04d}"

    def definition(self, new: bool) -> str:
        src = "analytics.entity_customers" if new else "analytics.customer_facts"
        cid = "customer_id AS cust_id" if new else "cust_id"
        if self.kind == "replace":
            return f"SELECT {cid}, name, amount FROM {src} WHERE region = 'r{self.i % 50}'"
        if self.kind == "recreate":
            return f"SELECT {cid}, created_at, amount FROM {src} WHERE amount > {self.i}"
        return f"SELECT cust_id, amount * 2 AS amount2 FROM analytics.v_{self.reads:04d}"

    @property
    def options(self) -> str:
        return " WITH (security_barrier)" if self.i % 5 == 0 else ""

    def extras(self) -> list[str]:
        out = [f"GRANT SELECT ON {self.name} TO {READER}", f"COMMENT ON VIEW {self.name} IS 'bench view {self.i}'"]
        if self.i % 3 == 0:
            out.append(f"GRANT SELECT (cust_id) ON {self.name} TO {ANALYST}")
        if self.i % 2 == 0:
            out.append(f"COMMENT ON COLUMN {self.name}.cust_id IS 'the customer'")
        return out

    def create(self, new: bool) -> list[str]:
        return [f"CREATE VIEW {self.name}{self.options} AS {self.definition(new)}", *self.extras()]


def views(n: int) -> list[View]:
    out = []
    for i in range(n):
        if i % 10 == 9:
            out.append(View(i, "on_view", i - 6))
        elif i % 4 == 3:
            out.append(View(i, "recreate", None))
        else:
            out.append(View(i, "replace", None))
    return out


def _engine(url: str) -> Any:
    return sa.create_engine(url)


def _dsn(url: str) -> str:
    return sa.engine.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _run(url: str, *stmts: str, autocommit: bool = False) -> list[Any]:
    """Run raw SQL (no parameter formatting: the text may contain %) in one transaction; last result rows."""
    import psycopg2

    conn = psycopg2.connect(_dsn(url))
    try:
        conn.autocommit = autocommit
        cur = conn.cursor()
        rows: list[Any] = []
        for s in stmts:
            cur.execute(s)
            rows = cur.fetchall() if cur.description else []
        if not autocommit:
            conn.commit()
        return rows
    finally:
        conn.close()


def ensure_roles(url: str) -> None:
    eng = _engine(url)
    try:
        with eng.begin() as c:
            for role in (READER, ANALYST):
                c.exec_driver_sql(f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') "
                                  f"THEN CREATE ROLE {role}; END IF; END $$")
    finally:
        eng.dispose()


def drop_roles(url: str) -> None:
    eng = _engine(url)
    try:
        with eng.begin() as c:
            c.exec_driver_sql("DROP SCHEMA IF EXISTS analytics CASCADE")
            for role in (READER, ANALYST):
                if c.exec_driver_sql(f"SELECT 1 FROM pg_roles WHERE rolname = '{role}'").scalar():
                    c.exec_driver_sql(f"DROP OWNED BY {role}")
                    c.exec_driver_sql(f"DROP ROLE {role}")
    finally:
        eng.dispose()


def setup(url: str, n: int) -> float:
    """(Re)create the schema with ``n`` dependent views; returns seconds taken."""
    t0 = time.perf_counter()
    stmts = [
        "DROP SCHEMA IF EXISTS analytics CASCADE",
        "CREATE SCHEMA analytics",
        "CREATE TABLE analytics.customer_facts (cust_id int, name text, amount numeric(12,2), region text, "
        "created_at timestamp)",
        "CREATE TABLE analytics.entity_customers (customer_id int, name text, amount numeric(12,2), region text, "
        "created_at timestamptz)",
        "INSERT INTO analytics.customer_facts SELECT g, 'n' || g, g, 'r' || (g % 50), "
        "timestamp '2026-01-01' + g * interval '1 hour' FROM generate_series(1, 200) g",
        "INSERT INTO analytics.entity_customers SELECT g, 'n' || g, g, 'r' || (g % 50), "
        "timestamptz '2026-01-01 00:00+00' + g * interval '1 hour' FROM generate_series(1, 200) g",
        f"GRANT USAGE ON SCHEMA analytics TO {READER}, {ANALYST}",
    ]
    for v in views(n):
        stmts += v.create(new=False)
    _run(url, *stmts)
    _run(url, "VACUUM ANALYZE", autocommit=True)   # catalog statistics fresh for both contenders
    return time.perf_counter() - t0


def bare_ddl(n: int) -> list[str]:
    """The statements a careful human writes for the same change (without the BEGIN/COMMIT)."""
    vs = views(n)
    readers: dict[int, list[View]] = {}
    for v in vs:
        if v.reads is not None:
            readers.setdefault(v.reads, []).append(v)
    out: list[str] = []
    for v in vs:
        if v.kind == "replace":
            # CREATE OR REPLACE keeps grants, comments and dependents; options must be restated
            out.append(f"CREATE OR REPLACE VIEW {v.name}{v.options} AS {v.definition(new=True)}")
        elif v.kind == "recreate":
            deps = readers.get(v.i, [])
            out += [f"DROP VIEW {d.name}" for d in deps]
            out.append(f"DROP VIEW {v.name}")
            out += v.create(new=True)
            for d in deps:
                out += d.create(new=False)
    return out


def run_bare(url: str, n: int) -> dict[str, Any]:
    import psycopg2

    stmts = bare_ddl(n)
    dsn = _dsn(url)
    t0 = time.perf_counter()
    conn = psycopg2.connect(dsn)
    try:
        cur = conn.cursor()
        for s in stmts:
            cur.execute(s)
        conn.commit()
    finally:
        conn.close()
    return {"wall_s": round(time.perf_counter() - t0, 3), "statements": len(stmts)}


def run_deprecator(url: str, n: int, tmp: Path) -> dict[str, Any]:
    """plan_warehouse then apply_plan, as ``deprecator plan`` / ``deprecator apply`` do, timed apart."""
    from deprecator.apply import apply_plan, plan_warehouse
    from deprecator.registry import load_registry
    from deprecator.state import StateStore
    from deprecator.warehouse.postgres import PostgresWarehouse

    import deprecator.apply as apply_mod

    reg_path = tmp / "deprecations.yml"
    reg_path.write_text(REGISTRY)
    phases: dict[str, float] = {}

    def timed(key: str, fn: Any) -> Any:     # instrumentation only: the call is unchanged
        def run(*a: Any, **k: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                phases[key] = phases.get(key, 0.0) + time.perf_counter() - t
        return run

    import deprecator.warehouse.postgres.probes as pg_apply_mod

    t0 = time.perf_counter()
    wh = PostgresWarehouse(url, default_schema=["analytics"])
    wh.execute_atomically = timed("execute_atomically", wh.execute_atomically)  # type: ignore[method-assign]
    wh.list_views = timed("list_views", wh.list_views)  # type: ignore[method-assign]
    registry = load_registry(reg_path, "postgres", ("analytics",))
    state = StateStore(f"sqlite:///{tmp}/state-{n}.db")
    patched = [(apply_mod, "plan_warehouse", "replan_for_staleness"), (apply_mod, "check_plan", "staleness_check"),
               (pg_apply_mod, "prime_column_types", "type_probes"), (pg_apply_mod, "type_categories", "type_categories")]
    originals = [getattr(m, name) for m, name, _ in patched]
    try:
        for (m, name, key), fn in zip(patched[2:], originals[2:]):
            setattr(m, name, timed(key, fn))
        plan, _ = plan_warehouse(wh, registry)
        t1 = time.perf_counter()
        plan_phases = {k: round(v, 3) for k, v in phases.items()}
        plan_phases["plan_other"] = round(t1 - t0 - sum(phases.values()), 3)
        phases.clear()
        for (m, name, key), fn in zip(patched[:2], originals[:2]):
            setattr(m, name, timed(key, fn))
        result = apply_plan(plan, wh, registry, state)
        t2 = time.perf_counter()
    finally:
        for (m, name, _), fn in zip(patched, originals):
            setattr(m, name, fn)
        wh.close()
        state.close()
    apply_s = t2 - t1
    breakdown = {k: round(v, 3) for k, v in phases.items()}
    breakdown["apply_other"] = round(apply_s - sum(phases.values()), 3)
    actions: dict[str, int] = {}
    for v in plan.views:
        actions[v.action] = actions.get(v.action, 0) + 1
    stmts = plan.statements()
    return {"plan_s": round(t1 - t0, 3), "apply_s": round(t2 - t1, 3), "total_s": round(t2 - t0, 3),
            "statements": len(stmts),
            "create_or_replace": sum(1 for s in stmts if s.startswith("CREATE OR REPLACE VIEW")),
            "drop": sum(1 for s in stmts if s.startswith("DROP ")),
            "actions": actions, "blocked": len(result.blocked), "changed": len(result.changed),
            "mismatches": list(result.mismatches), "plan_breakdown_s": plan_phases, "apply_breakdown_s": breakdown,
            "apply_stats": getattr(wh, "last_stats", None)}


def end_state(url: str) -> dict[str, Any]:
    """What both contenders must leave, per view (not the definition text, which each spells its way).

    ACL items are compared as sets: deprecator revokes and re-grants, so the
    owner's item may come after the others, which grants the same privileges.
    """
    rows = _run(url, """
                SELECT c.relname, (SELECT array_agg(x::text ORDER BY x::text) FROM unnest(c.relacl) x)::text, c.reloptions::text, obj_description(c.oid, 'pg_class'),
                       (SELECT array_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' '
                                         || coalesce((SELECT array_agg(x::text ORDER BY x::text) FROM unnest(a.attacl) x)::text, '') || ' ' || coalesce(col_description(c.oid, a.attnum), '')
                                         ORDER BY a.attnum)::text
                          FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
                       pg_get_viewdef(c.oid) LIKE '%customer_facts%'
                FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = 'analytics' AND c.relkind = 'v' ORDER BY 1""")
    state = {r[0]: tuple(r[1:5]) for r in rows}
    still = sorted(r[0] for r in rows if r[5])
    return {"views": state, "still_reading_deprecated": still}


def measure(url: str, n: int, tmp: Path) -> dict[str, Any]:
    """Bare DDL then deprecator on freshly built identical schemas; end states compared."""
    setup_s = setup(url, n)
    bare = run_bare(url, n)
    bare_state = end_state(url)
    setup(url, n)
    dep = run_deprecator(url, n, tmp)
    dep_state = end_state(url)
    same = bare_state["views"] == dep_state["views"]
    diff = [k for k in sorted(set(bare_state["views"]) | set(dep_state["views"]))
            if bare_state["views"].get(k) != dep_state["views"].get(k)]
    kinds: dict[str, int] = {}
    for v in views(n):
        kinds[v.kind] = kinds.get(v.kind, 0) + 1
    return {"views": n, "kinds": kinds, "setup_s": round(setup_s, 2), "bare": bare, "deprecator": dep,
            "ratio_total_vs_bare": round(dep["total_s"] / bare["wall_s"], 2) if bare["wall_s"] else None,
            "ratio_apply_vs_bare": round(dep["apply_s"] / bare["wall_s"], 2) if bare["wall_s"] else None,
            "same_end_state": same, "end_state_differences": diff[:10],
            "still_reading_deprecated": {"bare": bare_state["still_reading_deprecated"][:5],
                                         "deprecator": dep_state["still_reading_deprecated"][:5]}}
