"""Plan and apply on a real PostgreSQL server: DDL choice, restoration, locks, staleness, rollback."""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from deprecator.apply import apply_plan, plan_warehouse, rollback_apply
from deprecator.errors import ApplyError, LockError, StalePlanError
from deprecator.operations import Operation
from deprecator.registry import load_registry
from deprecator.sql.model import RelationName
from deprecator.state import StateStore
from deprecator.warehouse.postgres.executor import ADVISORY_LOCK_KEY
from deprecator.warehouse.postgres import PostgresWarehouse, quote_ident
from tests.pg_cluster import CUSTOMER_FACTS_REGISTRY, owned_customer_tables, run_sql
from tests.pg.pg_views import pg_target, setup_views, view_fingerprints, views_of

pytestmark = pytest.mark.postgres

REGISTRY = CUSTOMER_FACTS_REGISTRY


def R(s: str, n: str) -> RelationName:
    return RelationName(None, s, n)


def _kept(v):
    """Everything apply must keep, i.e. all but the definition and the column types."""
    return (v.owner, v.comment, v.column_comments, v.grants, v.options, tuple(c for c, _ in v.columns),
            v.extra, v.kind)


def test_create_or_replace_keeps_everything_and_rolls_back(pg_db, pg_roles, tmp_path):
    setup_views(pg_db, pg_roles)
    wh, registry, state = pg_target(pg_db, tmp_path)
    before = views_of(wh)
    plan, _ = plan_warehouse(wh, registry)
    by = {v.name: v for v in plan.views}
    assert by["analytics.names"].action == "rewrite"
    # nothing upstream is dropped: only CREATE OR REPLACE, which keeps owner, grants and comments (no
    # statement that changes nothing: the executor checks the view kept its OID instead of a COMMENT guard)
    assert [op.kind for op in by["analytics.names"].operations] == ["replace_view"]
    assert by["analytics.names"].statements[0].startswith('CREATE OR REPLACE VIEW "analytics"."names" ("cust_id", "name") WITH (security_barrier = \'true\')')
    # a view on it whose own definition does not change needs nothing but the guard
    assert by["analytics.names_upper"].statements == ('COMMENT ON VIEW "analytics"."names_upper" IS \'a view on a view\'',)
    assert by["analytics.counts"].statements[0].startswith('DROP MATERIALIZED VIEW IF EXISTS "analytics"."counts"')
    assert "analytics.untouched" not in by

    result = apply_plan(plan, wh, registry, state)
    assert result.apply_id and set(result.changed) >= {"analytics.names", "analytics.counts", "analytics.ids_later"}
    after = views_of(wh)
    for name in before:
        assert _kept(after[name]) == _kept(before[name]), name
    assert "entity_customers" in after["analytics.names"].definition
    assert "customer_facts" not in after["analytics.counts"].definition
    assert after["analytics.counts"].extra == {"indexes": [{"name": "counts_n", "definition":
                                               "CREATE UNIQUE INDEX counts_n ON analytics.counts USING btree (n)"}],
                                               "populated": True}
    assert after["analytics.ids_later"].extra["populated"] is False
    eng = sa.create_engine(pg_db)
    with eng.connect() as c:
        assert c.exec_driver_sql("SELECT n FROM analytics.counts").scalar() == 3      # refreshed from the replacement
        assert c.exec_driver_sql("SELECT count(*) FROM analytics.names_upper").scalar() == 3
    eng.dispose()
    assert result.mismatches == ()

    rolled = rollback_apply(result.apply_id, wh, state)
    restored = views_of(wh)
    fingerprints = view_fingerprints(wh)
    for name in before:
        assert restored[name].definition == before[name].definition, name
        assert _kept(restored[name]) == _kept(before[name]), name
        assert fingerprints[name] == before[name].fingerprint(), name
    assert rolled.mismatches == ()
    wh.close()
    state.close()


def test_changed_column_types_drop_and_recreate_dependents(pg_db, pg_roles, tmp_path):
    setup_views(pg_db, pg_roles, new_id_type="bigint")
    wh, registry, state = pg_target(pg_db, tmp_path)
    before = views_of(wh)
    plan, _ = plan_warehouse(wh, registry)
    by = {v.name: v for v in plan.views}
    names_stmts = by["analytics.names"].statements
    # the dependent goes first, then the view itself
    assert names_stmts[:3] == ('DROP VIEW IF EXISTS "analytics"."names_upper"', 'DROP VIEW IF EXISTS "analytics"."names"',
                               names_stmts[2])
    assert names_stmts[2].startswith('CREATE VIEW "analytics"."names" ("cust_id", "name") WITH (security_barrier')
    assert by["analytics.names_upper"].action == "recreate"
    result = apply_plan(plan, wh, registry, state)
    after = views_of(wh)
    assert after["analytics.names"].columns == (("cust_id", "bigint"), ("name", "text"))
    assert after["analytics.names_upper"].columns[0] == ("cust_id", "bigint")
    for name in ("analytics.names", "analytics.names_upper"):
        assert _kept(after[name]) == _kept(before[name]), name
    # rolling back changes the types back: drop and recreate again, everything as before
    rollback_apply(result.apply_id, wh, state)
    assert view_fingerprints(wh) == {k: v.fingerprint() for k, v in before.items()}
    wh.close()
    state.close()


def test_second_apply_fails_fast_on_the_advisory_lock(pg_db, pg_roles, tmp_path):
    setup_views(pg_db, pg_roles)
    wh, registry, state = pg_target(pg_db, tmp_path)
    plan, _ = plan_warehouse(wh, registry)
    holder_engine = sa.create_engine(pg_db)
    holder = holder_engine.connect()
    try:
        holder.begin()
        holder.exec_driver_sql(f"SELECT pg_advisory_xact_lock({ADVISORY_LOCK_KEY})")
        t0 = time.monotonic()
        with pytest.raises(LockError, match="another apply is running"):
            apply_plan(plan, wh, registry, state)
        assert time.monotonic() - t0 < 15     # the holder never lets go: waiting would never end
        holder.rollback()
    finally:
        holder.close()
        holder_engine.dispose()
    assert "customer_facts" in views_of(wh)["analytics.names"].definition      # nothing changed
    apply_plan(plan, wh, registry, state)                                     # and it works once free
    wh.close()


def test_reader_lock_times_out_then_retry_succeeds_or_fails_cleanly(pg_db, pg_roles, tmp_path):
    setup_views(pg_db, pg_roles)
    wh, registry, state = pg_target(pg_db, tmp_path, lock_timeout_ms=200, lock_retries=2, lock_backoff_s=0.3)
    plan, _ = plan_warehouse(wh, registry)
    eng = sa.create_engine(pg_db)
    reader = eng.connect()
    try:
        # a reader that never lets go: every attempt times out, nothing changes
        reader.begin()
        reader.exec_driver_sql("SELECT * FROM analytics.names").all()
        t0 = time.monotonic()
        with pytest.raises(LockError, match="gave up after 3 attempts") as ei:
            apply_plan(plan, wh, registry, state)
        assert time.monotonic() - t0 < 30     # 3 x 200 ms lock waits + 0.9 s backoff, plus a loaded machine
        assert ei.value.statement and "analytics" in ei.value.statement
        reader.rollback()
        assert "customer_facts" in views_of(wh)["analytics.names"].definition

        # a reader that finishes during the backoff: the retry succeeds. The reader lets go
        # when the first attempt has timed out (apply says it is waiting), not after a fixed
        # delay, which a loaded machine can overtake before apply even asks for the lock.
        reader.begin()
        reader.exec_driver_sql("SELECT * FROM analytics.names").all()
        heard: list[str] = []

        def progress(message: str) -> None:
            heard.append(message)
            if reader.in_transaction():
                reader.rollback()

        apply_plan(plan, wh, registry, state, progress=progress)
        assert wh.last_attempts == 2
        assert heard and "waiting for a lock on analytics." in heard[0] and "attempt 2 of 3" in heard[0]
        assert "entity_customers" in views_of(wh)["analytics.names"].definition
    finally:
        reader.close()
        eng.dispose()
        wh.close()


def test_concurrent_ddl_between_plan_and_apply_is_stale(pg_db, pg_roles, tmp_path):
    setup_views(pg_db, pg_roles)
    wh, registry, state = pg_target(pg_db, tmp_path)
    plan, _ = plan_warehouse(wh, registry)
    run_sql(pg_db, f'GRANT SELECT ON analytics.names_upper TO "{pg_roles[2]}"')
    with pytest.raises(StalePlanError) as e:
        apply_plan(plan, wh, registry, state)
    assert e.value.changes == ["grants of view analytics.names_upper changed"]
    # the in-transaction re-check catches a change that lands after the first check
    stale = {v.relation: v.fingerprint for v in plan.views}
    with pytest.raises(StalePlanError, match="analytics.names_upper was changed"):
        wh.execute_atomically(plan.statements(), verify=[], expected=stale)
    assert "customer_facts" in views_of(wh)["analytics.names"].definition
    wh.close()


def test_a_view_the_plan_does_not_know_is_never_silently_dropped(pg_db, pg_roles, tmp_path):
    setup_views(pg_db, pg_roles, new_id_type="bigint")
    # pg_depend records this dependency (regclass constant); the AST engine cannot see it
    run_sql(pg_db, "CREATE VIEW analytics.sneaky AS SELECT 'analytics.names'::regclass AS r")
    wh, registry, state = pg_target(pg_db, tmp_path)
    before = views_of(wh)
    plan, _ = plan_warehouse(wh, registry)
    assert "analytics.sneaky" not in {v.name for v in plan.views}
    with pytest.raises(ApplyError, match="would drop views it does not recreate: analytics.sneaky"):
        apply_plan(plan, wh, registry, state)
    assert {k: v.fingerprint() for k, v in views_of(wh).items()} == {k: v.fingerprint() for k, v in before.items()}
    wh.close()


def test_failing_statement_is_named_and_nothing_changes(pg_db, pg_roles, tmp_path):
    setup_views(pg_db, pg_roles)
    wh, registry, state = pg_target(pg_db, tmp_path)
    before = {k: v.fingerprint() for k, v in views_of(wh).items()}
    plan, _ = plan_warehouse(wh, registry)
    stmts = plan.statements() + ["CREATE VIEW analytics.broken AS SELECT nope FROM analytics.customer_facts"]
    with pytest.raises(ApplyError, match=f"statement {len(stmts)} of {len(stmts)} failed") as ei:
        wh.execute_atomically(stmts, verify=[R("analytics", "names")])
    assert "analytics.broken" in ei.value.statement
    assert {k: v.fingerprint() for k, v in views_of(wh).items()} == before
    wh.close()


HOSTILE_SCHEMA = 'we ird"; DROP TABLE victim; --'     # holds the view
TABLE_SCHEMA = "Mixed Case"                            # holds the tables
HOSTILE_OLD = "Old Facts"
HOSTILE_NEW = "select"
HOSTILE_VIEW = 'V"; DROP TABLE victim'


def _hostile(url: str, roles: list[str], old: str = HOSTILE_OLD) -> None:
    q = quote_ident
    s, t = q(HOSTILE_SCHEMA), q(TABLE_SCHEMA)
    run_sql(url,
            "CREATE TABLE public.victim (x int)",
            f"CREATE SCHEMA {s}", f"CREATE SCHEMA {t}",
            f'CREATE TABLE {t}.{q(old)} ({q("id col")} int, {q("from")} text)',
            f'CREATE TABLE {t}.{q(HOSTILE_NEW)} ({q("new id")} int, {q("from")} text)',
            f'CREATE VIEW {s}.{q(HOSTILE_VIEW)} AS SELECT {q("id col")}, {q("from")} FROM {t}.{q(old)}',
            f'GRANT SELECT ON {s}.{q(HOSTILE_VIEW)} TO "{roles[1]}"',
            f'GRANT SELECT ({q("from")}) ON {s}.{q(HOSTILE_VIEW)} TO "{roles[2]}"',
            f"COMMENT ON VIEW {s}.{q(HOSTILE_VIEW)} IS 'it''s hostile'",
            f'COMMENT ON COLUMN {s}.{q(HOSTILE_VIEW)}.{q("from")} IS \'"; DROP TABLE victim; --\'')


def _hostile_registry(tmp_path: Path, old: str = HOSTILE_OLD) -> Path:
    q = quote_ident
    model = f"{q(TABLE_SCHEMA)}.{q(old)}"
    repl = f"{q(TABLE_SCHEMA)}.{q(HOSTILE_NEW)}"
    reg = tmp_path / "deprecations.yml"
    reg.write_text("deprecations:\n"
                   f"  - model: '{model}'\n"
                   f"    replacement: '{repl}'\n"
                   "    sunset: 2027-03-31\n"
                   "    columns:\n"
                   "      '\"id col\"': '\"new id\"'\n")   # SQL spellings: quoted, as they need quotes
    return reg


def _victim_exists(url: str) -> bool:
    eng = sa.create_engine(url)
    with eng.connect() as c:
        found = c.exec_driver_sql("SELECT to_regclass('public.victim') IS NOT NULL").scalar()
    eng.dispose()
    return bool(found)


def test_hostile_names_in_registry_and_warehouse(pg_db, pg_roles, tmp_path):
    _hostile(pg_db, pg_roles)
    wh = PostgresWarehouse(pg_db)
    registry = load_registry(_hostile_registry(tmp_path), "postgres", ("public",))
    state = StateStore(f"sqlite:///{tmp_path}/state.db")
    before = views_of(wh)
    plan, _ = plan_warehouse(wh, registry)
    assert [v.action for v in plan.views] == ["rewrite"], [(v.name, v.action, v.blockers) for v in plan.views]
    result = apply_plan(plan, wh, registry, state)
    after = views_of(wh)
    name = f"{HOSTILE_SCHEMA}.{HOSTILE_VIEW}"
    assert HOSTILE_OLD not in after[name].definition
    assert '"Mixed Case"."select"' in after[name].definition and '"new id" AS "id col"' in after[name].definition
    assert _kept(after[name]) == _kept(before[name])
    assert _victim_exists(pg_db)
    rollback_apply(result.apply_id, wh, state)
    assert views_of(wh)[name].fingerprint() == before[name].fingerprint()
    assert _victim_exists(pg_db)
    wh.close()
    state.close()


def test_a_name_with_an_embedded_quote_is_blocked_not_guessed(pg_db, pg_roles, tmp_path):
    # The rewriter cannot place an exact span on a "" escape (yet): it must block, never guess.
    old = 'Old "Facts"; DROP TABLE victim'
    _hostile(pg_db, pg_roles, old=old)
    wh = PostgresWarehouse(pg_db)
    registry = load_registry(_hostile_registry(tmp_path, old), "postgres", ("public",))
    plan, _ = plan_warehouse(wh, registry)
    assert [v.action for v in plan.views] in (["blocked"], ["rewrite"])
    if plan.views[0].action == "rewrite":     # once the rewriter handles it, it must apply cleanly
        apply_plan(plan, wh, registry, StateStore(f"sqlite:///{tmp_path}/state.db"))
        assert '"Mixed Case"."select"' in views_of(wh)[f"{HOSTILE_SCHEMA}.{HOSTILE_VIEW}"].definition
    assert _victim_exists(pg_db)
    wh.close()


def test_dry_run_does_not_touch_state(pg_db, pg_roles, tmp_path):
    """Planning compiles new definitions as temporary views only; nothing persists."""
    setup_views(pg_db, pg_roles)
    wh, registry, _ = pg_target(pg_db, tmp_path)
    before = {k: v.fingerprint() for k, v in views_of(wh).items()}
    plan_warehouse(wh, registry)
    wh.close()
    wh2 = PostgresWarehouse(pg_db)
    assert {k: v.fingerprint() for k, v in views_of(wh2).items()} == before
    wh2.close()
    assert dataclasses.is_dataclass(wh.apply_settings)


@pytest.fixture(scope="module")
def small_lock_cluster():
    """A throwaway cluster whose lock table nominally holds 80 entries (10 x 8 backends)."""
    from tests.pg_cluster import PG_BIN, start_cluster

    if not (PG_BIN / "initdb").exists():
        pytest.skip(f"PostgreSQL server binaries not found under {PG_BIN}")
    cluster = start_cluster({"max_locks_per_transaction": "10", "max_connections": "5",
                             "autovacuum_max_workers": "1", "max_worker_processes": "1", "max_wal_senders": "0",
                             "superuser_reserved_connections": "1"})
    yield cluster
    cluster.stop()
    import shutil
    shutil.rmtree(cluster.datadir.parent, ignore_errors=True)


def test_lock_table_too_small_is_refused_before_starting(small_lock_cluster, tmp_path):
    url = small_lock_cluster.url
    n = 200          # replaced in place, about 2 locks each: more than the 330 this cluster's lock table holds
    run_sql(url, "CREATE SCHEMA analytics",
            "CREATE TABLE analytics.customer_facts (cust_id int)", "CREATE TABLE analytics.entity_customers (customer_id int)",
            *[f"CREATE VIEW analytics.v{i} AS SELECT cust_id FROM analytics.customer_facts" for i in range(n)])
    wh, registry, state = pg_target(url, tmp_path)
    before = {k: v.fingerprint() for k, v in views_of(wh).items()}
    plan, _ = plan_warehouse(wh, registry)
    assert len(plan.changes) == n
    with pytest.raises(ApplyError, match=r"needs about \d+ locks .* max_locks_per_transaction 10") as ei:
        apply_plan(plan, wh, registry, state)
    assert "never splits" in str(ei.value)
    assert wh.last_stats["locks_estimated"] > wh.last_stats["lock_capacity"]

    # Shared-memory slack lets PostgreSQL hold more than the nominal room, so to see the real
    # failure the estimate guards against, another session fills the lock table first.
    filler_engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    filler = filler_engine.connect()
    held = 0
    try:
        while True:
            filler.exec_driver_sql(f"SELECT pg_advisory_lock({held})")
            held += 1
    except sa.exc.OperationalError:
        pass
    for k in range(held - 40, held):        # room for the catalog reads, not for the apply
        filler.exec_driver_sql(f"SELECT pg_advisory_unlock({k})")
    try:
        with pytest.raises(ApplyError, match="needs about"):
            wh.execute_atomically(plan.statements(), verify=[v.relation for v in plan.changes])
        wh.apply_settings = dataclasses.replace(wh.apply_settings, check_lock_budget=False)
        with pytest.raises(ApplyError, match="ran out of lock table space"):
            wh.execute_atomically(plan.statements(), verify=[v.relation for v in plan.changes])
    finally:
        filler.exec_driver_sql("SELECT pg_advisory_unlock_all()")
        filler.close()
        filler_engine.dispose()
    assert held > 80
    assert {k: v.fingerprint() for k, v in views_of(wh).items()} == before
    wh.close()
    state.close()


@pytest.mark.parametrize("new_type", ["int", "bigint"])
def test_lock_estimate_covers_what_the_apply_holds(pg_db, tmp_path, new_type):
    run_sql(pg_db, "CREATE SCHEMA analytics", "CREATE TABLE analytics.customer_facts (cust_id int)",
            f"CREATE TABLE analytics.entity_customers (customer_id {new_type})",
            *[f"CREATE VIEW analytics.v{i} AS SELECT cust_id FROM analytics.customer_facts" for i in range(10)],
            *[f"CREATE VIEW analytics.w{i} AS SELECT cust_id FROM analytics.v{i}" for i in range(10)])
    wh, registry, state = pg_target(pg_db, tmp_path)
    plan, _ = plan_warehouse(wh, registry)
    apply_plan(plan, wh, registry, state)
    held, estimated = wh.last_stats["locks_held"], wh.last_stats["locks_estimated"]
    assert held <= estimated <= 2 * held, wh.last_stats
    wh.close()


def test_lock_estimate_matches_pg_locks_by_operation_kind(pg_db, tmp_path):
    """Views replaced in place, dependents only checked, views recreated for a type change: the estimate
    from the operations' kinds is never under what the apply holds at its commit (pg_locks), and within 10%."""
    from collections import Counter

    n = 300
    stmts = ["CREATE SCHEMA analytics", "CREATE TABLE analytics.customer_facts (cust_id int, amount int)",
             "CREATE TABLE analytics.entity_customers (customer_id int, amount bigint)"]
    for i in range(n):
        col = "amount" if i % 5 == 0 else "cust_id"        # amount changes type: those views are recreated
        stmts.append(f"CREATE VIEW analytics.v{i} AS SELECT {col} FROM analytics.customer_facts WHERE cust_id > {i}")
        if i % 3 == 0:
            stmts.append(f"CREATE VIEW analytics.w{i} AS SELECT * FROM analytics.v{i}")
    run_sql(pg_db, *stmts)
    wh, registry, state = pg_target(pg_db, tmp_path)
    plan, _ = plan_warehouse(wh, registry)
    kinds = Counter(op.kind for op in plan.operations())
    assert kinds["replace_view"] >= 200 and kinds["drop_view"] >= 60 and kinds["guard"] >= 60, kinds
    # a view replaced in place gets its CREATE OR REPLACE only: no COMMENT restating what it has
    assert all([op.kind for op in v.operations] == ["replace_view"] for v in plan.rewrites
               if any(op.kind == "replace_view" for op in v.operations) and not v.drop_operations
               and "drop_view" not in {op.kind for op in v.operations})
    apply_plan(plan, wh, registry, state)
    held, estimated = wh.last_stats["locks_held"], wh.last_stats["locks_estimated"]
    assert held <= estimated <= 1.1 * held, wh.last_stats
    wh.close()
    state.close()


def test_a_view_replaced_in_place_after_being_dropped_fails_the_apply(pg_db, pg_roles, tmp_path):
    """CREATE OR REPLACE of a view an earlier statement dropped would create it without its grants: refused."""
    from deprecator.operations import Operation

    setup_views(pg_db, pg_roles)
    wh = PostgresWarehouse(pg_db, default_schema=["analytics"])
    views = views_of(wh)
    before = {k: v.fingerprint() for k, v in views.items()}
    upper = views["analytics.names_upper"]
    body = upper.definition.strip().rstrip(";")
    ops = [Operation("drop_view", upper.relation, 'DROP VIEW "analytics"."names_upper"'),
           Operation("replace_view", upper.relation, f'CREATE OR REPLACE VIEW "analytics"."names_upper" AS {body}')]
    with pytest.raises(ApplyError, match="names_upper was dropped by an earlier statement"):
        wh.execute_atomically(ops, verify=[upper.relation])
    assert {k: v.fingerprint() for k, v in views_of(wh).items()} == before
    # restated (owner, grants, comment follow), the same statements are a recreate: no refusal
    assert wh.last_stats is not None
    wh.close()


def test_two_real_concurrent_applies_one_proceeds_one_fails_fast(pg_db, pg_roles, tmp_path):
    setup_views(pg_db, pg_roles)
    # A waits on a reader's lock for up to 60 s, holding the apply lock all that time
    wh_a, registry, state = pg_target(pg_db, tmp_path, lock_timeout_ms=60000, lock_retries=0)
    wh_b = PostgresWarehouse(pg_db, default_schema=["analytics"])
    plan, _ = plan_warehouse(wh_a, registry)
    eng = sa.create_engine(pg_db)
    watch = sa.create_engine(pg_db, isolation_level="AUTOCOMMIT")
    reader = eng.connect()
    outcome: dict[str, object] = {}
    t = None
    try:
        reader.begin()
        reader.exec_driver_sql("SELECT * FROM analytics.names_upper").all()   # keeps apply A inside its transaction

        def apply_a() -> None:
            try:
                outcome["a"] = apply_plan(plan, wh_a, registry, state).apply_id
            except Exception as e:  # reported by the assertion below
                outcome["a"] = e

        t = threading.Thread(target=apply_a)
        t.start()
        with watch.connect() as probe:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not probe.exec_driver_sql(
                    "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                    f"WHERE l.locktype = 'advisory' AND l.objid = {ADVISORY_LOCK_KEY} AND l.granted "
                    "AND a.datname = current_database()").scalar():
                time.sleep(0.01)
        t0 = time.monotonic()
        with pytest.raises(LockError, match="another apply is running"):
            wh_b.execute_atomically(plan.statements(), verify=[], expected=plan.fingerprints())
        assert time.monotonic() - t0 < 30     # had it waited, it would wait for A, i.e. for the reader: forever
        reader.rollback()
        t.join(timeout=120)
        assert isinstance(outcome["a"], str), outcome
        assert "entity_customers" in views_of(wh_b)["analytics.names"].definition
    finally:
        reader.close()
        if t is not None:
            t.join(timeout=120)
        eng.dispose()
        watch.dispose()
        wh_a.close()
        wh_b.close()


def test_compile_error_names_why_a_rewritten_definition_would_fail(pg_db):
    run_sql(pg_db, "CREATE TABLE t (a int)")
    wh = PostgresWarehouse(pg_db)
    assert wh.compile_error("SELECT a FROM public.t") is None
    assert wh.column_types("SELECT a, a::text AS b FROM public.t") == ("integer", "text")
    err = wh.compile_error("SELECT nope FROM public.t")
    assert err is not None and 'column "nope" does not exist' in err
    # probing leaves nothing behind
    assert wh.relation_columns(RelationName(None, "pg_temp", "deprecator_probe")) is None
    wh.close()


def test_cli_plan_apply_rollback_on_postgres(pg_db, pg_roles, in_tmp):
    import json

    from tests.helpers import invoke

    setup_views(pg_db, pg_roles)
    (in_tmp / "deprecations.yml").write_text(REGISTRY)
    (in_tmp / "deprecator.yml").write_text(
        f"warehouse:\n  url: {pg_db}\n  default_schema: analytics\nregistry: deprecations.yml\n"
        "state:\n  url: sqlite:///.deprecator/state.db\n")
    wh = PostgresWarehouse(pg_db)
    before = {k: v.fingerprint() for k, v in views_of(wh).items()}
    invoke(["plan", "--out", "plan.json", "--detailed-exitcode"], code=2)
    plan = json.loads((in_tmp / "plan.json").read_text())
    assert {v["name"] for v in plan["views"] if v["action"] == "rewrite"} >= {"analytics.names", "analytics.counts"}
    out = json.loads(invoke(["apply", "plan.json", "--format", "json"]).stdout)
    apply_id = out["apply_id"]
    assert "entity_customers" in views_of(wh)["analytics.names"].definition
    # the same saved plan is now stale
    stale = invoke(["apply", "plan.json"], code=2)
    assert "stale" in stale.output
    invoke(["rollback", apply_id, "--auto-approve"])
    assert view_fingerprints(wh) == before
    wh.close()


def test_least_privilege_applier_member_of_the_owner_role(pg_db, pg_roles, pg_url, tmp_path):
    owner, reader, _ = pg_roles
    applier = f"{owner}_applier"
    run_sql(pg_url, f'CREATE ROLE "{applier}" LOGIN IN ROLE "{owner}"')
    try:
        run_sql(pg_db,
                *owned_customer_tables(owner),
                "CREATE VIEW analytics.names AS SELECT cust_id, name FROM analytics.customer_facts",
                "CREATE VIEW analytics.upper_names AS SELECT cust_id, upper(name) AS u FROM analytics.names",
                "CREATE MATERIALIZED VIEW analytics.n AS SELECT count(*) AS c FROM analytics.customer_facts",
                *[f'ALTER {k} analytics.{v} OWNER TO "{owner}"'
                  for k, v in (("VIEW", "names"), ("VIEW", "upper_names"), ("MATERIALIZED VIEW", "n"))],
                f'GRANT SELECT ON analytics.names, analytics.upper_names, analytics.n TO "{reader}"',
                "COMMENT ON VIEW analytics.names IS 'kept'")
        applier_url = sa.engine.make_url(pg_db).set(username=applier).render_as_string(hide_password=False)
        wh, registry, state = pg_target(applier_url, tmp_path)
        before = views_of(wh)
        plan, _ = plan_warehouse(wh, registry)
        result = apply_plan(plan, wh, registry, state)
        after = views_of(wh)
        for name in before:
            assert _kept(after[name]) == _kept(before[name]), name
        assert after["analytics.names"].columns[0] == ("cust_id", "bigint")     # recreated, as a non-superuser
        rollback_apply(result.apply_id, wh, state)
        assert {k: v.fingerprint() for k, v in views_of(wh).items()} == {k: v.fingerprint() for k, v in before.items()}
        wh.close()
        state.close()
    finally:
        run_sql(pg_db, f'DROP OWNED BY "{applier}" CASCADE')
        run_sql(pg_url, f'DROP ROLE IF EXISTS "{applier}"')


def test_guard_fails_the_apply_if_a_view_without_restatement_was_dropped(pg_db, pg_roles, tmp_path):
    setup_views(pg_db, pg_roles, new_id_type="bigint")
    wh = PostgresWarehouse(pg_db, default_schema=["analytics"])
    views = views_of(wh)
    before = {k: v.fingerprint() for k, v in views.items()}
    names, upper = views["analytics.names"], views["analytics.names_upper"]
    # told (wrongly) that nothing it reads is dropped before it, the dependent gets only its guard
    from deprecator.operations import DdlContext

    upper_stmts = wh.replace_view_statements(upper, upper.definition, DdlContext(upstream_dropped=False, current=upper))
    assert upper_stmts == ['COMMENT ON VIEW "analytics"."names_upper" IS \'a view on a view\'']
    names_stmts = wh.replace_view_statements(
        names, "SELECT cust_id::bigint AS cust_id, name FROM analytics.customer_facts WHERE cust_id > 0")
    assert names_stmts[0] == 'DROP VIEW IF EXISTS "analytics"."names_upper"'
    with pytest.raises(ApplyError, match='"analytics.names_upper" does not exist') as ei:
        wh.execute_atomically(names_stmts + upper_stmts, verify=[names.relation, upper.relation])
    assert ei.value.statement == upper_stmts[0]
    assert {k: v.fingerprint() for k, v in views_of(wh).items()} == before
    wh.close()


def test_the_ddl_of_a_view_does_not_depend_on_what_was_asked_before(pg_db, pg_roles, tmp_path):
    """The adapter is a function of (view, new definition, context): asking for the DDL of the view it
    reads first (a drop and recreate) changes nothing; only the context the planner passes does."""
    from deprecator.operations import DdlContext

    setup_views(pg_db, pg_roles, new_id_type="bigint")
    wh = PostgresWarehouse(pg_db, default_schema=["analytics"])
    views = views_of(wh)
    names, upper = views["analytics.names"], views["analytics.names_upper"]
    kept = DdlContext(upstream_dropped=False, current=upper)
    first = wh.view_operations(upper, upper.definition, kept)
    names_ops = wh.view_operations(
        names, "SELECT cust_id::bigint AS cust_id, name FROM analytics.customer_facts WHERE cust_id > 0",
        DdlContext(upstream_dropped=False, current=names))
    assert names_ops[0].kind == "drop_view" and names_ops[0].relation == upper.relation
    assert wh.view_operations(upper, upper.definition, kept) == first == [
        Operation("guard", upper.relation, 'COMMENT ON VIEW "analytics"."names_upper" IS \'a view on a view\'')]
    restated = wh.view_operations(upper, upper.definition, DdlContext(upstream_dropped=True, current=upper))
    assert {"set_owner", "comment"} <= {op.kind for op in restated}
    # the plan passes the context: its entry for names_upper restates what the drop of names removes
    plan = build_plan_for(wh, tmp_path)
    entry = next(v for v in plan.views if v.name == "analytics.names_upper")
    assert {"set_owner", "comment"} <= {op.kind for op in entry.operations}
    wh.close()


def build_plan_for(wh, tmp_path):
    reg = tmp_path / "deprecations.yml"
    reg.write_text(REGISTRY)
    return plan_warehouse(wh, load_registry(reg, "postgres", ("analytics",)))[0]


def test_acl_reads_the_same_after_drop_and_recreate(pg_db, pg_roles, tmp_path):
    setup_views(pg_db, pg_roles, new_id_type="bigint")

    def acl() -> str:
        eng = sa.create_engine(pg_db)
        with eng.connect() as c:
            out = c.exec_driver_sql("SELECT relacl::text FROM pg_class WHERE oid = 'analytics.names'::regclass").scalar()
        eng.dispose()
        return out

    before = acl()
    wh, registry, state = pg_target(pg_db, tmp_path)
    plan, _ = plan_warehouse(wh, registry)
    assert {v.name: v for v in plan.views}["analytics.names"].statements[1] == 'DROP VIEW IF EXISTS "analytics"."names"'
    apply_plan(plan, wh, registry, state)
    assert acl() == before          # same entries in the same order: pg_dump and \\dp show no diff
    wh.close()


def test_drop_and_recreate_keeps_triggers_rules_and_column_defaults(pg_db, pg_roles, tmp_path):
    """A DROP VIEW silently removes INSTEAD OF triggers, rules and column defaults; apply puts them back."""
    setup_views(pg_db, pg_roles, new_id_type="bigint")
    run_sql(pg_db,
            "CREATE TABLE analytics.inbox (cust_id bigint, name text)",
            "CREATE FUNCTION analytics.to_inbox() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN INSERT INTO analytics.inbox VALUES (NEW.cust_id, NEW.name); RETURN NEW; END $$",
            'CREATE TRIGGER "names ins" INSTEAD OF INSERT ON analytics.names '
            "FOR EACH ROW EXECUTE FUNCTION analytics.to_inbox()",
            "CREATE TRIGGER names_upd INSTEAD OF UPDATE ON analytics.names "
            "FOR EACH ROW EXECUTE FUNCTION analytics.to_inbox()",
            "ALTER VIEW analytics.names ALTER COLUMN name SET DEFAULT 'anonymous'",
            # a rule on the dependent view, which is dropped and recreated with it
            "CREATE RULE no_delete AS ON DELETE TO analytics.names_upper DO INSTEAD NOTHING")
    wh, registry, state = pg_target(pg_db, tmp_path)
    before = views_of(wh)
    assert [t["name"] for t in before["analytics.names"].extra["triggers"]] == ["names ins", "names_upd"]
    assert before["analytics.names"].extra["column_defaults"] == {"name": "'anonymous'::text"}
    assert [r["name"] for r in before["analytics.names_upper"].extra["rules"]] == ["no_delete"]
    plan, _ = plan_warehouse(wh, registry)
    by = {v.name: v for v in plan.views}
    assert by["analytics.names"].statements[1] == 'DROP VIEW IF EXISTS "analytics"."names"'   # recreated
    assert by["analytics.names_upper"].action == "recreate"
    result = apply_plan(plan, wh, registry, state)
    after = views_of(wh)
    for name in ("analytics.names", "analytics.names_upper"):
        assert _kept(after[name]) == _kept(before[name]), name
    # and they work: the trigger routes the insert, the default fills the column, the rule swallows the delete
    run_sql(pg_db, "INSERT INTO analytics.names (cust_id) VALUES (42)",
            "DELETE FROM analytics.names_upper")
    eng = sa.create_engine(pg_db)
    with eng.connect() as c:
        assert c.exec_driver_sql("SELECT cust_id, name FROM analytics.inbox").all() == [(42, "anonymous")]
        assert c.exec_driver_sql("SELECT count(*) FROM analytics.names_upper").scalar() == 3
    eng.dispose()
    rollback_apply(result.apply_id, wh, state)
    assert view_fingerprints(wh) == {k: v.fingerprint() for k, v in before.items()}
    wh.close()
    state.close()
