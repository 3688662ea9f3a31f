"""PostgreSQL: stale plans say what changed, the audit record, replacement type checks, batched probes."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from deprecator.apply import apply_plan, plan_warehouse, rollback_apply
from deprecator.errors import StalePlanError
from deprecator.plan import Plan
from deprecator.warehouse.postgres.probes import prime_column_types, type_categories
from deprecator.warehouse.postgres import PostgresWarehouse
from tests.pg_cluster import owned_customer_tables, run_sql
from tests.pg.pg_views import REGISTRY, pg_target, setup_views, view_fingerprints, views_of

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize("change,expected", [
    ('GRANT SELECT ON analytics.names TO "{r2}"', "grants of view analytics.names changed"),
    ('ALTER VIEW analytics.names OWNER TO "{r1}"', "owner and grants of view analytics.names changed"),
    ("COMMENT ON COLUMN analytics.names.name IS 'new'", "comments of view analytics.names changed"),
    ("ALTER VIEW analytics.names SET (security_barrier = false)", "options of view analytics.names changed"),
    ("CREATE OR REPLACE VIEW analytics.names_upper WITH (security_invoker = true) AS SELECT cust_id, upper(name) "
     "AS uname FROM analytics.names WHERE cust_id < 50 WITH CASCADED CHECK OPTION",
     "definition of view analytics.names_upper changed"),
    ("CREATE INDEX counts_extra ON analytics.counts (n)", "indexes of view analytics.counts changed"),
    ("REFRESH MATERIALIZED VIEW analytics.ids_later", "status of view analytics.ids_later changed"),
    # the same privileges, but a NULL ACL made explicit
    ("GRANT SELECT ON analytics.ids_later TO CURRENT_USER", "grants of view analytics.ids_later changed"),
])
def test_a_stale_plan_names_the_field_that_changed(pg_db, pg_roles, tmp_path, change, expected):
    setup_views(pg_db, pg_roles)
    wh, registry, state = pg_target(pg_db, tmp_path)
    try:
        plan = Plan.from_json(plan_warehouse(wh, registry)[0].to_json())     # as saved by `plan --out`
        before = {k: v.fingerprint() for k, v in views_of(wh).items()}
        run_sql(pg_db, change.format(r1=pg_roles[1], r2=pg_roles[2]))
        with pytest.raises(StalePlanError) as e:
            apply_plan(plan, wh, registry, state)
        assert e.value.changes == [expected]
        assert sum(1 for k, v in views_of(wh).items() if v.fingerprint() != before.get(k)) == 1   # nothing applied
        assert state.list_applies() == []
    finally:
        wh.close()
        state.close()


def test_registry_and_replacement_changes_are_named(pg_db, pg_roles, tmp_path):
    setup_views(pg_db, pg_roles)
    wh, registry, state = pg_target(pg_db, tmp_path)
    try:
        plan, _ = plan_warehouse(wh, registry)
        # a rule change (not a new sunset date, which leaves the rewrite as it is)
        (tmp_path / "deprecations.yml").write_text(REGISTRY + "    removed_columns: [legacy_flag]\n")
        from deprecator.registry import load_registry
        changed = load_registry(tmp_path / "deprecations.yml", "postgres", ("analytics",))
        with pytest.raises(StalePlanError) as e:
            apply_plan(plan, wh, changed, state)
        assert e.value.changes == ["the registry changed: deprecation analytics.customer_facts changed"]

        run_sql(pg_db, "ALTER TABLE analytics.entity_customers RENAME COLUMN name TO full_name")
        with pytest.raises(StalePlanError) as e:
            apply_plan(plan, wh, registry, state)
        assert e.value.changes[0] == "the columns of analytics.entity_customers changed since the plan"
        assert ("view analytics.names would now be blocked instead of rewrite: column name does not exist in the "
                "replacement analytics.entity_customers") in e.value.changes
    finally:
        wh.close()
        state.close()


class RacingWarehouse(PostgresWarehouse):
    """A real warehouse where another session changes a grant after apply's check, before its lock."""

    race: str = ""

    def execute_atomically(self, statements, verify=(), expected=None):
        if self.race:
            run_sql(self.url, self.race)
        return super().execute_atomically(statements, verify, expected)


def test_a_change_landing_after_the_check_is_caught_in_the_transaction_and_named(pg_db, pg_roles, tmp_path):
    setup_views(pg_db, pg_roles)
    _, registry, state = pg_target(pg_db, tmp_path)
    wh = RacingWarehouse(pg_db, default_schema=["analytics"])
    try:
        plan, _ = plan_warehouse(wh, registry)
        wh.race = "COMMENT ON VIEW analytics.names_upper IS 'changed meanwhile'"
        with pytest.raises(StalePlanError) as e:
            apply_plan(plan, wh, registry, state)
        assert e.value.changes == ["comments of view analytics.names_upper changed"]
        assert "customer_facts" in views_of(wh)["analytics.names"].definition
        [rec] = state.list_applies()
        assert rec.status == "failed"
    finally:
        wh.close()
        state.close()


def test_the_audit_record_holds_before_and_after_grants_and_who_ran_it(pg_db, pg_roles, tmp_path):
    # bigint: analytics.names keeps CREATE OR REPLACE? no: its type changes, so it is dropped and recreated
    setup_views(pg_db, pg_roles, new_id_type="bigint")
    wh, registry, state = pg_target(pg_db, tmp_path)
    try:
        before = views_of(wh)
        plan, _ = plan_warehouse(wh, registry)
        result = apply_plan(plan, wh, registry, state)
        rec = state.get_apply(result.apply_id)
        assert rec.actor and rec.actor != "" and rec.kind == "apply" and rec.status == "applied"
        owner, reader, colreader = pg_roles
        names = rec.before["analytics.names"]
        assert names["definition"] == before["analytics.names"].definition
        assert [tuple(g) for g in names["grants"]] == list(before["analytics.names"].grants)
        assert (reader, "SELECT", "", "YES") in {tuple(g) for g in names["grants"]}
        assert (colreader, "SELECT", "name", "NO") in {tuple(g) for g in names["grants"]}
        assert names["owner"] == owner and names["comment"] == "customer names"
        assert names["column_comments"] == {"cust_id": "the id"} and names["options"] == {"security_barrier": "true"}
        after_now = views_of(wh)
        after = rec.after["analytics.names"]
        assert after["definition"] == after_now["analytics.names"].definition != names["definition"]
        assert [tuple(g) for g in after["grants"]] == list(after_now["analytics.names"].grants)
        assert after["owner"] == owner and after["options"] == {"security_barrier": "true"}
        assert rec.before["analytics.counts"]["extra"]["indexes"][0]["name"] == "counts_n"

        rolled = rollback_apply(result.apply_id, wh, state)
        restored = views_of(wh)
        fingerprints = view_fingerprints(wh)
        rb = state.get_apply(rolled.apply_id)
        assert rb.actor and rb.rollback_of == result.apply_id
        for name, b in rec.before.items():
            assert [tuple(g) for g in b["grants"]] == list(restored[name].grants), name   # exactly, grant options too
            assert restored[name].owner == b["owner"] and restored[name].comment == b["comment"], name
            assert restored[name].options == b["options"], name
            assert rb.after[name]["grants"] == b["grants"], name
            assert fingerprints[name] == before[name].fingerprint(), name
    finally:
        wh.close()
        state.close()


def test_a_replacement_column_of_an_incompatible_type_blocks_the_view(pg_db, pg_roles, tmp_path):
    setup_views(pg_db, pg_roles, new_id_type="text")
    wh, registry, state = pg_target(pg_db, tmp_path)
    try:
        plan, _ = plan_warehouse(wh, registry)
        by = {v.name: v for v in plan.views}
        names = by["analytics.names"]
        assert names.action == "blocked"
        reasons = [b.reason for b in names.blockers]
        assert ("column cust_id (mapped to customer_id) has an incompatible type in the replacement "
                "analytics.entity_customers: integer in analytics.customer_facts, text in analytics.entity_customers"
                ) in reasons
        assert names.blockers[0].deprecation == "analytics.customer_facts" and names.blockers[0].line is not None
        assert not names.statements
        # a view that does not use the column is still rewritten
        run_sql(pg_db, "CREATE VIEW analytics.only_names AS SELECT name FROM analytics.customer_facts")
        plan, _ = plan_warehouse(wh, registry)
        assert {v.name: v.action for v in plan.views}["analytics.only_names"] == "rewrite"
    finally:
        wh.close()
        state.close()


def test_a_rewritten_definition_that_would_not_compile_blocks_the_view(pg_db, pg_roles, tmp_path):
    # integer -> numeric is one type category, but `&` exists only for integers
    setup_views(pg_db, pg_roles, new_id_type="numeric")
    run_sql(pg_db, "CREATE VIEW analytics.odd AS SELECT cust_id & 1 AS bit FROM analytics.customer_facts")
    wh, registry, state = pg_target(pg_db, tmp_path)
    try:
        plan, _ = plan_warehouse(wh, registry)
        odd = {v.name: v for v in plan.views}["analytics.odd"]
        assert odd.action == "blocked" and not odd.statements
        [b] = odd.blockers
        assert b.reason == ("the rewritten definition does not compile on the warehouse: "
                            "operator does not exist: numeric & integer")
        # the other views are planned as usual and apply
        assert {v.name: v.action for v in plan.views}["analytics.names"] == "rewrite"
        result = apply_plan(plan, wh, registry, state)
        assert "analytics.odd" in result.blocked and "customer_facts" in views_of(wh)["analytics.odd"].definition
    finally:
        wh.close()
        state.close()


def test_batched_probes_give_the_same_types_and_errors_as_one_at_a_time(pg_db):
    run_sql(pg_db, "CREATE TABLE t (a int, b text, c timestamptz)")
    defs = [f"SELECT a + {i} AS x, b, c FROM public.t" for i in range(5)] + [
        "SELECT nope FROM public.t", "SELECT a::numeric(10,2) AS n FROM public.t", "SELECT a FROM public.t;"]
    batched = PostgresWarehouse(pg_db)
    single = PostgresWarehouse(pg_db)
    try:
        import deprecator.warehouse.postgres.probes as pg_apply
        old = pg_apply.PROBE_BATCH
        pg_apply.PROBE_BATCH = 3          # several batches, one of them with a failing definition
        try:
            prime_column_types(batched, defs)
        finally:
            pg_apply.PROBE_BATCH = old
        for d in defs:
            assert batched._types_cache[d] == single.column_types(d), d
            # the same message (the context lines quote each probe's own name)
            first = [(w.compile_error(d) or "").splitlines()[:1] for w in (batched, single)]
            assert first[0] == first[1], d
        assert batched._types_cache[defs[0]] == ("integer", "text", "timestamp with time zone")
        assert batched._types_cache[defs[6]] == ("numeric(10,2)",)
        assert 'column "nope" does not exist' in (batched.compile_error(defs[5]) or "")
        # nothing is left behind, and the categories are PostgreSQL's
        eng = sa.create_engine(pg_db)
        with eng.connect() as c:
            assert c.execute(sa.text("SELECT count(*) FROM pg_class WHERE relname LIKE 'deprecator_probe%'")).scalar() == 0
        eng.dispose()
        cats = type_categories(batched)
        assert cats["integer"] == cats["bigint"] == cats["numeric"] == "N" and cats["text"] == "S"
        assert cats["timestamp with time zone"] == cats["timestamp without time zone"] == "D"
    finally:
        batched.close()
        single.close()


@pytest.mark.parametrize("batch_size", [1, 3, 100])
def test_a_failing_statement_inside_a_batch_is_named_and_nothing_changes(pg_db, pg_roles, tmp_path, batch_size):
    import dataclasses

    from deprecator.errors import ApplyError

    setup_views(pg_db, pg_roles)
    wh, registry, state = pg_target(pg_db, tmp_path)
    wh.apply_settings = dataclasses.replace(wh.apply_settings, batch_size=batch_size)
    try:
        before = {k: v.fingerprint() for k, v in views_of(wh).items()}
        plan, _ = plan_warehouse(wh, registry)
        stmts = plan.statements()
        bad = "CREATE VIEW analytics.broken AS SELECT nope FROM analytics.customer_facts"
        k = len(stmts) // 2
        stmts = stmts[:k] + [bad] + stmts[k:]
        with pytest.raises(ApplyError, match=f"statement {k + 1} of {len(stmts)} failed") as ei:
            wh.execute_atomically(stmts, verify=[])
        assert ei.value.statement == bad
        assert {k: v.fingerprint() for k, v in views_of(wh).items()} == before
        # and the same statements without the bad one apply in batches
        wh.execute_atomically(plan.statements(), verify=[v.relation for v in plan.changes])
        assert "entity_customers" in views_of(wh)["analytics.names"].definition
    finally:
        wh.close()
        state.close()


def test_a_new_view_on_a_planned_view_makes_the_plan_stale(pg_db, pg_roles, tmp_path):
    setup_views(pg_db, pg_roles)
    wh, registry, state = pg_target(pg_db, tmp_path)
    try:
        plan, _ = plan_warehouse(wh, registry)
        run_sql(pg_db, "CREATE VIEW analytics.late AS SELECT uname FROM analytics.names_upper",
                "CREATE VIEW analytics.late_direct AS SELECT name FROM analytics.customer_facts",
                "CREATE VIEW analytics.near_miss AS SELECT 1 AS customer_facts_v2")
        with pytest.raises(StalePlanError) as e:
            apply_plan(plan, wh, registry, state)
        assert e.value.changes == [
            "view analytics.late now reads analytics.names_upper, which the plan replaces, and is not in the plan",
            "view analytics.late_direct now needs rewriting (reads analytics.customer_facts) and is not in the plan",
        ]
    finally:
        wh.close()
        state.close()


def test_a_statement_ending_in_a_line_comment_does_not_swallow_the_next_one(pg_db, pg_roles, tmp_path):
    setup_views(pg_db, pg_roles)
    wh, registry, state = pg_target(pg_db, tmp_path)
    try:
        wh.execute_atomically(["COMMENT ON VIEW analytics.names IS 'x' -- trailing comment",
                               "COMMENT ON VIEW analytics.names_upper IS 'y'"])
        views = views_of(wh)
        assert (views["analytics.names"].comment, views["analytics.names_upper"].comment) == ("x", "y")
        run_sql(pg_db, "CREATE TABLE public.t (a int)")
        defs = ["SELECT a FROM public.t -- why", "SELECT a::text AS b FROM public.t"]
        prime_column_types(wh, defs)
        assert [wh._types_cache[d] for d in defs] == [("integer",), ("text",)]
    finally:
        wh.close()
        state.close()


def test_revoke_blocks_map_to_the_function_only_when_they_are_exactly_ours():
    from deprecator.operations import Operation
    from deprecator.sql.model import RelationName
    from deprecator.warehouse.postgres.ddl import as_function_call, qualified, quote_literal, revoke_all_block

    for rel in [RelationName(None, "analytics", "v"), RelationName(None, 'a"b', "x y"),
                RelationName(None, "s", "$deprecator$ DROP"), RelationName(None, "s", "it's")]:
        lit = quote_literal(qualified(rel))
        block = revoke_all_block(lit)
        assert as_function_call(Operation("reset_grants", rel, block))[1] == f"SELECT pg_temp.deprecator_reset_acl({lit})"
        assert as_function_call(Operation("reset_grants", rel, block.replace("REVOKE ALL", "GRANT ALL"))) is None
        assert as_function_call(Operation("sql", rel, block)) is None          # untyped: run as written
    rel = RelationName(None, "analytics", "v")
    assert as_function_call(Operation("reset_grants", rel, "DO $deprecator$ BEGIN NULL; END $deprecator$")) is None
    assert as_function_call(Operation("reset_grants", rel, "SELECT 1")) is None


@pytest.mark.parametrize("temp", [True, False])
def test_recreated_views_keep_grants_with_and_without_the_temp_function(pg_db, pg_roles, pg_url, tmp_path, temp):
    """An applier without TEMP on the database: no probes (no blockers from them), revoke blocks run as written."""
    owner, reader, _ = pg_roles
    applier = f"{owner}_applier"
    run_sql(pg_url, f'CREATE ROLE "{applier}" LOGIN IN ROLE "{owner}"')
    db = sa.engine.make_url(pg_db).database
    try:
        run_sql(pg_db,
                *owned_customer_tables(owner),
                "CREATE VIEW analytics.names AS SELECT cust_id, name FROM analytics.customer_facts",
                "CREATE VIEW analytics.upper_names AS SELECT cust_id, upper(name) AS u FROM analytics.names",
                *[f'ALTER VIEW analytics.{v} OWNER TO "{owner}"' for v in ("names", "upper_names")],
                f'GRANT SELECT ON analytics.names TO "{reader}" WITH GRANT OPTION',
                f'GRANT SELECT (u) ON analytics.upper_names TO "{reader}"',
                f'ALTER DEFAULT PRIVILEGES FOR ROLE "{applier}" IN SCHEMA analytics GRANT ALL ON TABLES TO PUBLIC',
                *([] if temp else [f'REVOKE TEMPORARY ON DATABASE "{db}" FROM PUBLIC']))
        applier_url = sa.engine.make_url(pg_db).set(username=applier).render_as_string(hide_password=False)
        wh, registry, state = pg_target(applier_url, tmp_path)
        before = views_of(wh)
        plan, _ = plan_warehouse(wh, registry)
        assert not plan.blocked and plan.views[0].statements[0].startswith('DROP VIEW IF EXISTS "analytics"."upper')
        result = apply_plan(plan, wh, registry, state)
        assert (wh.last_stats["reset_calls"] > 0) is temp
        after = views_of(wh)
        for name in before:
            assert after[name].grants == before[name].grants, name     # the default PUBLIC grant was revoked
            assert after[name].owner == before[name].owner, name
        assert after["analytics.names"].columns[0] == ("cust_id", "bigint")
        rollback_apply(result.apply_id, wh, state)
        # upper_names had a NULL ACL (a column grant only): the applier's default PUBLIC grant was
        # revoked, which leaves the owner's built-in privileges as an explicit ACL
        assert view_fingerprints(wh, ("analytics.upper_names",)) == {k: v.fingerprint() for k, v in before.items()}
        wh.close()
        state.close()
    finally:
        run_sql(pg_db, f'DROP OWNED BY "{applier}" CASCADE')
        run_sql(pg_url, f'DROP ROLE IF EXISTS "{applier}"')
