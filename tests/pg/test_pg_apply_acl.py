"""PostgreSQL: a view whose ACL is NULL (never granted) keeps a NULL ACL through apply and rollback;
a dependent only checked by a guard is shown as checked, not as recreated."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import sqlalchemy as sa

from deprecator.apply import apply_plan, plan_warehouse, rollback_apply
from deprecator.plan import render_text
from deprecator.registry import load_registry
from deprecator.state import StateStore
from deprecator.warehouse.postgres import PostgresWarehouse
from tests.pg_cluster import CUSTOMER_FACTS_REGISTRY, run_sql

pytestmark = pytest.mark.postgres

REGISTRY = CUSTOMER_FACTS_REGISTRY

RELS = ("analytics.v", "analytics.v_on_v", "analytics.mv")


def _setup(url: str, new_id_type: str, reader: str) -> None:
    run_sql(url,
            "CREATE SCHEMA analytics",
            "CREATE TABLE analytics.customer_facts (cust_id int)",
            f"CREATE TABLE analytics.entity_customers (customer_id {new_id_type})",
            "INSERT INTO analytics.entity_customers VALUES (1), (2)",
            # never granted: relacl IS NULL on all three; v has a column grant only (attacl set, relacl NULL)
            "CREATE VIEW analytics.v AS SELECT cust_id FROM analytics.customer_facts",
            f'GRANT SELECT (cust_id) ON analytics.v TO "{reader}"',
            "CREATE VIEW analytics.v_on_v AS SELECT cust_id + 1 AS next_id FROM analytics.v",
            "CREATE MATERIALIZED VIEW analytics.mv AS SELECT cust_id FROM analytics.customer_facts",
            "CREATE INDEX mv_idx ON analytics.mv (cust_id)")


def _target(url: str, tmp_path: Path, *, temp_function: bool = True):
    reg = tmp_path / "deprecations.yml"
    reg.write_text(REGISTRY)
    wh = PostgresWarehouse(url, default_schema=["analytics"])
    wh.apply_settings = dataclasses.replace(wh.apply_settings, reset_function=temp_function)
    return wh, load_registry(reg, "postgres", ("analytics",)), StateStore(f"sqlite:///{tmp_path}/state.db")


def _acls(url: str) -> dict[str, tuple[str | None, tuple[str | None, ...]]]:
    """relacl and every column's attacl, as text (None: NULL)."""
    eng = sa.create_engine(url)
    try:
        with eng.connect() as c:
            out = {}
            for rel in RELS:
                relacl = c.exec_driver_sql("SELECT relacl::text FROM pg_class WHERE oid = %s::regclass", (rel,)).scalar()
                attacl = tuple(c.exec_driver_sql(
                    "SELECT attacl::text FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
                    "ORDER BY attnum", (rel,)).scalars())
                out[rel] = (relacl, attacl)
            return out
    finally:
        eng.dispose()


def _fingerprints(wh: PostgresWarehouse) -> dict[str, str]:
    return {str(v.relation): v.fingerprint() for v in wh.list_views()}


@pytest.mark.parametrize("temp_function", [True, False])
def test_null_acl_stays_null_through_drop_recreate_and_rollback(pg_db, pg_roles, tmp_path, temp_function):
    reader = pg_roles[0]
    _setup(pg_db, "bigint", reader)     # int -> bigint: v and v_on_v are dropped and recreated, mv always is
    before = _acls(pg_db)
    assert before["analytics.v"] == (None, (f"{{{reader}=r/postgres}}",))
    assert before["analytics.mv"][0] is None and before["analytics.v_on_v"][0] is None
    wh, registry, state = _target(pg_db, tmp_path, temp_function=temp_function)
    try:
        views = {str(v.relation): v for v in wh.list_views()}
        assert all(views[r].default_acl for r in RELS)
        fp_before = _fingerprints(wh)
        plan, _ = plan_warehouse(wh, registry)
        by = {v.name: v for v in plan.views}
        assert by["analytics.v"].statements[:2] == ('DROP VIEW IF EXISTS "analytics"."v_on_v"',
                                                    'DROP VIEW IF EXISTS "analytics"."v"')
        assert by["analytics.v_on_v"].action == "recreate"
        assert not any(s.startswith("GRANT ALL") or s.startswith("GRANT SELECT ON") for s in plan.statements())
        result = apply_plan(plan, wh, registry, state)
        assert (wh.last_stats["reset_calls"] > 0) is temp_function
        after = _acls(pg_db)
        assert after == before            # NULL stays NULL; the column grant is back, nothing explicit added
        now = {str(v.relation): v for v in wh.list_views()}
        assert now["analytics.v"].columns == (("cust_id", "bigint"),)
        assert all(now[r].default_acl for r in RELS)

        rollback_apply(result.apply_id, wh, state)
        assert _acls(pg_db) == before
        assert _fingerprints(wh) == fp_before
    finally:
        wh.close()
        state.close()


def test_default_privileges_on_a_null_acl_view_are_revoked(pg_db, pg_roles, tmp_path):
    """ALTER DEFAULT PRIVILEGES makes the recreated ACL explicit: what it added is revoked, and the
    result is the built-in privileges as an explicit ACL (the documented limitation)."""
    reader, other = pg_roles[0], pg_roles[1]
    _setup(pg_db, "bigint", reader)
    run_sql(pg_db, f'ALTER DEFAULT PRIVILEGES IN SCHEMA analytics GRANT SELECT, INSERT ON TABLES TO "{other}"',
            "ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO PUBLIC")
    before = _acls(pg_db)
    wh, registry, state = _target(pg_db, tmp_path)
    try:
        grants_before = {str(v.relation): v.grants for v in wh.list_views()}
        plan, _ = plan_warehouse(wh, registry)
        result = apply_plan(plan, wh, registry, state)
        for rel, (relacl, attacl) in _acls(pg_db).items():
            assert relacl == "{postgres=arwdDxt/postgres}", rel       # explicit, but only the owner's privileges
            assert attacl == before[rel][1], rel
        views = {str(v.relation): v for v in wh.list_views()}
        assert {k: v.grants for k, v in views.items()} == grants_before
        assert not any(v.default_acl for v in views.values())
        eng = sa.create_engine(pg_db)
        with eng.connect() as c:
            assert c.exec_driver_sql(f"SELECT has_table_privilege('{other}', 'analytics.mv', 'SELECT')").scalar() is False
            assert c.exec_driver_sql("SELECT has_table_privilege('public', 'analytics.v_on_v', 'SELECT')").scalar() is False
        eng.dispose()
        rollback_apply(result.apply_id, wh, state)
        restored = {str(v.relation): v for v in wh.list_views()}
        assert {k: v.grants for k, v in restored.items()} == grants_before
    finally:
        wh.close()
        state.close()


def test_a_grant_that_makes_a_null_acl_explicit_makes_the_plan_stale(pg_db, pg_roles, tmp_path):
    from deprecator.errors import StalePlanError

    _setup(pg_db, "int", pg_roles[0])
    wh, registry, state = _target(pg_db, tmp_path)
    try:
        plan, _ = plan_warehouse(wh, registry)
        grants = {str(v.relation): v.grants for v in wh.list_views()}
        run_sql(pg_db, "GRANT SELECT ON analytics.mv TO postgres")     # same privileges, now an explicit ACL
        assert {str(v.relation): v.grants for v in wh.list_views()} == grants
        with pytest.raises(StalePlanError) as e:
            apply_plan(plan, wh, registry, state)
        assert e.value.changes == ["grants of view analytics.mv changed"]
    finally:
        wh.close()
        state.close()


def test_a_dependent_only_checked_is_shown_as_checked_not_recreated(pg_db, pg_roles, in_tmp):
    from tests.helpers import invoke

    run_sql(pg_db,
            "CREATE SCHEMA analytics",
            "CREATE TABLE analytics.customer_facts (cust_id int)",
            "CREATE TABLE analytics.entity_customers (customer_id int)",
            "CREATE VIEW analytics.cust_summary AS SELECT cust_id FROM analytics.customer_facts",
            "CREATE VIEW analytics.cust_on_summary AS SELECT cust_id FROM analytics.cust_summary")
    (in_tmp / "deprecations.yml").write_text(REGISTRY)
    (in_tmp / "deprecator.yml").write_text(
        f"warehouse:\n  url: {pg_db}\n  default_schema: analytics\nregistry: deprecations.yml\n"
        "state:\n  url: sqlite:///.deprecator/state.db\n")
    wh = PostgresWarehouse(pg_db, default_schema=["analytics"])
    try:
        reg = load_registry(in_tmp / "deprecations.yml", "postgres", ("analytics",))
        plan, _ = plan_warehouse(wh, reg)
        by = {v.name: v for v in plan.views}
        dep = by["analytics.cust_on_summary"]
        assert dep.action == "unchanged" and not dep.drop
        assert dep.statements == ("COMMENT ON VIEW \"analytics\".\"cust_on_summary\" IS NULL",)   # the guard stays
        assert plan.summary() == "Plan: 1 view to rewrite, 0 blocked, 1 unchanged"
        assert "= analytics.cust_on_summary: checked, not changed (reads analytics.cust_summary, replaced in place)" \
            in render_text(plan).splitlines()

        out = invoke(["plan"]).output
        assert "= analytics.cust_on_summary: checked, not changed (reads analytics.cust_summary, replaced in place)" in out
        assert "recreate" not in out
        assert "Plan: 1 view to rewrite, 0 blocked, 1 unchanged" in out

        eng = sa.create_engine(pg_db)
        with eng.connect() as c:
            oid = c.exec_driver_sql("SELECT 'analytics.cust_on_summary'::regclass::oid").scalar()
        applied = invoke(["apply", "--auto-approve"]).output
        assert "Applied: 1 view rewritten" in applied and "  ~ analytics.cust_summary" in applied
        assert "~ analytics.cust_on_summary" not in applied
        assert "Checked, not changed (they read a view replaced in place): analytics.cust_on_summary" in applied
        with eng.connect() as c:   # the same relation: it was not recreated
            assert c.exec_driver_sql("SELECT 'analytics.cust_on_summary'::regclass::oid").scalar() == oid
            assert "entity_customers" in c.exec_driver_sql(
                "SELECT pg_get_viewdef('analytics.cust_summary'::regclass)").scalar()
        eng.dispose()
    finally:
        wh.close()


def test_default_acl_blocks_map_to_their_function_only_when_they_are_exactly_ours():
    from deprecator.operations import Operation
    from deprecator.sql.model import RelationName
    from deprecator.warehouse.postgres.ddl import (as_function_call, default_acl_block, qualified, quote_literal,
                                                   revoke_all_block)

    for rel in [RelationName(None, "analytics", "v"), RelationName(None, 'a"b', "x y"),
                RelationName(None, "s", "$deprecator$ DROP"), RelationName(None, "s", "it's")]:
        lit = quote_literal(qualified(rel))
        call = as_function_call(Operation("default_grants", rel, default_acl_block(lit)))
        assert call == ("pg_temp.deprecator_default_acl", f"SELECT pg_temp.deprecator_default_acl({lit})")
        call = as_function_call(Operation("reset_grants", rel, revoke_all_block(lit)))
        assert call == ("pg_temp.deprecator_reset_acl", f"SELECT pg_temp.deprecator_reset_acl({lit})")
        sql = default_acl_block(lit).replace("GRANT ALL", "GRANT SELECT")
        assert as_function_call(Operation("default_grants", rel, sql)) is None
        # the kind says which function, the relation which argument: a block of another relation runs as written
        other = RelationName(None, "analytics", "w")
        assert as_function_call(Operation("reset_grants", other, revoke_all_block(lit))) is None


@pytest.mark.parametrize("default_privileges", [False, True])
def test_null_acl_with_hostile_names(pg_db, pg_roles, tmp_path, default_privileges):
    from deprecator.warehouse.postgres import quote_ident as q

    reader = pg_roles[0]
    schema, view, col = 'S"; DROP TABLE victim; --', 'M"v $deprecator$', 'c"ol; DROP TABLE victim'
    run_sql(pg_db,
            "CREATE TABLE public.victim (x int)",
            "CREATE SCHEMA analytics",
            "CREATE TABLE analytics.customer_facts (cust_id int)",
            "CREATE TABLE analytics.entity_customers (customer_id int)",
            f"CREATE SCHEMA {q(schema)}",
            f"CREATE MATERIALIZED VIEW {q(schema)}.{q(view)} AS SELECT cust_id AS {q(col)} FROM analytics.customer_facts",
            f'GRANT SELECT ({q(col)}) ON {q(schema)}.{q(view)} TO "{reader}"',
            *([f'ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO "{pg_roles[1]}"'] if default_privileges else []))
    rel = f"{q(schema)}.{q(view)}"

    def acl() -> tuple[str | None, str | None]:
        eng = sa.create_engine(pg_db)
        with eng.connect() as c:
            out = c.exec_driver_sql(
                "SELECT c.relacl::text, a.attacl::text FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid "
                "AND a.attnum = 1 WHERE c.oid = %s::regclass", (rel,)).one()
        eng.dispose()
        return out[0], out[1]

    before = acl()
    assert before == (None, f"{{{reader}=r/postgres}}")
    wh, registry, state = _target(pg_db, tmp_path)
    try:
        plan, _ = plan_warehouse(wh, registry)
        assert [v.action for v in plan.views] == ["rewrite"]
        result = apply_plan(plan, wh, registry, state)
        expected = ("{postgres=arwdDxt/postgres}", before[1]) if default_privileges else before
        assert acl() == expected
        rollback_apply(result.apply_id, wh, state)
        assert acl() == expected
        eng = sa.create_engine(pg_db)
        with eng.connect() as c:
            assert c.exec_driver_sql("SELECT to_regclass('public.victim') IS NOT NULL").scalar()
        eng.dispose()
    finally:
        wh.close()
        state.close()
