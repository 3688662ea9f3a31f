"""Dependency graph from pg_depend/pg_rewrite on a real PostgreSQL server."""

from __future__ import annotations

import pytest

from deprecator.sql.model import RelationName
from deprecator.warehouse.postgres import PostgresWarehouse
from tests.pg_cluster import run_sql

pytestmark = pytest.mark.postgres


def R(s: str, n: str) -> RelationName:
    return RelationName(None, s, n)


def _names(views):
    return [f"{v.relation.schema}.{v.relation.name}" for v in views]


def _assert_topological(views, edges):
    pos = {v.relation: i for i, v in enumerate(views)}
    for v in views:
        for dep in edges.get(v.relation, ()):
            if dep in pos:
                assert pos[dep] < pos[v.relation], f"{v.relation} comes before {dep} which it reads"


def test_diamond_transitive_each_once_in_topological_order(pg_db):
    #        base
    #       /    \
    #  z_left   a_right      (names chosen so alphabetical order is NOT topological)
    #       \    /
    #       m_join  ->  mv (materialized)  ->  after_mv
    run_sql(pg_db,
            "CREATE SCHEMA w",
            "CREATE TABLE w.base (id int, v text)",
            "CREATE TABLE w.other (id int)",
            "CREATE VIEW w.z_left AS SELECT id, v FROM w.base",
            "CREATE VIEW w.a_right AS SELECT id FROM w.base WHERE id > 1",
            "CREATE VIEW w.m_join AS SELECT l.id, l.v FROM w.z_left l JOIN w.a_right r USING (id)",
            "CREATE MATERIALIZED VIEW w.mv AS SELECT id FROM w.m_join",
            "CREATE VIEW w.after_mv AS SELECT id FROM w.mv",
            "CREATE VIEW w.unrelated AS SELECT id FROM w.other",
            "CREATE VIEW w.b_on_a_right AS SELECT id FROM w.a_right")
    wh = PostgresWarehouse(pg_db)
    deps = wh.dependents([R("w", "base")])
    names = _names(deps)
    assert sorted(names) == sorted(["w.z_left", "w.a_right", "w.m_join", "w.mv", "w.after_mv", "w.b_on_a_right"])
    assert len(names) == len(set(names))
    _assert_topological(deps, wh.dependency_edges())
    # ties are broken by name, so the order is deterministic
    assert names == ["w.a_right", "w.b_on_a_right", "w.z_left", "w.m_join", "w.mv", "w.after_mv"]
    assert deps[3].kind == "view" and deps[4].kind == "materialized_view"


def test_dependents_of_a_view_and_of_nothing(pg_db):
    run_sql(pg_db,
            "CREATE TABLE t (id int)",
            "CREATE VIEW v1 AS SELECT id FROM t",
            "CREATE VIEW v2 AS SELECT id FROM v1",
            "CREATE TABLE lonely (x int)")
    wh = PostgresWarehouse(pg_db)
    assert _names(wh.dependents([R("public", "v1")])) == ["public.v2"]
    assert wh.dependents([R("public", "lonely")]) == []
    assert wh.dependents([R("public", "does_not_exist")]) == []
    # a deprecated view that reads another deprecated relation is itself a dependent
    assert _names(wh.dependents([R("public", "t"), R("public", "v1")])) == ["public.v1", "public.v2"]


def test_edges_cover_subqueries_ctes_and_lateral(pg_db):
    run_sql(pg_db,
            "CREATE TABLE a (id int)", "CREATE TABLE b (id int)", "CREATE TABLE c (id int)", "CREATE TABLE d (id int)",
            "CREATE VIEW v AS WITH x AS (SELECT id FROM a) SELECT x.id FROM x "
            "WHERE x.id IN (SELECT id FROM b) AND EXISTS (SELECT 1 FROM c) "
            "UNION ALL SELECT l.id FROM a, LATERAL (SELECT id FROM d WHERE d.id = a.id) l")
    edges = PostgresWarehouse(pg_db).dependency_edges()
    assert edges[R("public", "v")] == {R("public", "a"), R("public", "b"), R("public", "c"), R("public", "d")}


def test_cross_check_agrees_on_ordinary_views_and_reports_disagreements(pg_db):
    run_sql(pg_db,
            "CREATE SCHEMA s",
            "CREATE TABLE s.t (id int)", "CREATE TABLE s.u (id int)",
            # a CTE shadowing a real table's name: neither side may count s.u
            "CREATE VIEW s.v1 AS WITH u AS (SELECT id FROM s.t) SELECT id FROM u",
            "CREATE VIEW s.v2 AS SELECT t.id FROM s.t JOIN s.v1 USING (id) WHERE id IN (SELECT id FROM s.u)",
            'CREATE TABLE s."Odd ""Name""" (id int)',
            'CREATE VIEW s.v3 AS SELECT id FROM s."Odd ""Name"""',
            # a regclass constant is a pg_depend dependency the AST cannot see as a relation
            "CREATE VIEW s.v4 AS SELECT 's.u'::regclass AS r, id FROM s.t",
            # a definition the engine cannot parse is a disagreement too, never "agrees"
            "CREATE TABLE s.x (doc xml)",
            "CREATE VIEW s.v5 AS SELECT xt.id FROM s.x, XMLTABLE('/r' PASSING x.doc COLUMNS id int PATH '@id') xt")
    wh = PostgresWarehouse(pg_db, default_schema=["s"])
    found = wh.cross_check()
    assert [(str(d.view), str(d.relation), d.only_in) for d in found] == [
        ("s.v4", "s.u", "pg_depend"), ("s.v5", "None", "parse")]
    assert "error" in found[1].detail
