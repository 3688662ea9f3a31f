"""With a PostgreSQL warehouse, unqualified names resolve to the first search-path schema that holds them (issue 3)."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from sqlalchemy.engine import make_url

from deprecator.sql.model import RelationName
from deprecator.state import StateStore
from deprecator.warehouse.postgres import PostgresWarehouse
from tests.helpers import invoke
from tests.pg_cluster import run_sql

pytestmark = pytest.mark.postgres

REGISTRY = """\
deprecations:
  - model: analytics.customer_facts
    replacement: analytics.entity_customers
    sunset: 2027-03-31
  - model: analytics.orders
    replacement: analytics.entity_orders
    sunset: 2027-03-31
  - model: analytics.events
    replacement: analytics.entity_events
    sunset: 2027-03-31
    dropped: true       # in no schema: registered as dropped, or scan and plan refuse the name (issue 7)
"""

# customer_facts: only in analytics; orders: in staging and analytics; events: in neither (dropped).
SCHEMA = ("CREATE SCHEMA staging", "CREATE SCHEMA analytics",
          "CREATE TABLE analytics.entity_customers (id int)", "CREATE TABLE analytics.entity_orders (id int)",
          "CREATE TABLE analytics.entity_events (id int)",   # the replacements exist (issue 7)
          "CREATE TABLE analytics.customer_facts (id int)",
          "CREATE TABLE analytics.orders (id int)", "CREATE TABLE staging.orders (id int)")


def _rel(schema: str, name: str) -> RelationName:
    return RelationName(None, schema, name)


def test_existing_relations_reads_the_catalog(pg_db):
    run_sql(pg_db, *SCHEMA,
            'CREATE SCHEMA "We""ird; DROP TABLE x"',
            'CREATE TABLE "We""ird; DROP TABLE x"."Mixed Case" (id int)',
            "CREATE VIEW staging.v AS SELECT 1 AS id",
            "CREATE MATERIALIZED VIEW staging.mv AS SELECT 1 AS id",
            "CREATE TABLE staging.parted (id int) PARTITION BY RANGE (id)",
            "CREATE SEQUENCE staging.seq", "CREATE INDEX orders_idx ON staging.orders (id)")
    wh = PostgresWarehouse(pg_db)
    try:
        db = make_url(pg_db).database
        asked = {_rel("analytics", "customer_facts"), _rel("staging", "customer_facts"),
                 _rel("staging", "orders"), _rel("analytics", "orders"),
                 _rel('We"ird; DROP TABLE x', "Mixed Case"), _rel('We"ird; DROP TABLE x', "mixed case"),
                 _rel("staging", "v"), _rel("staging", "mv"), _rel("staging", "parted"),
                 _rel("staging", "seq"), _rel("staging", "orders_idx"), _rel("nowhere", "orders"),
                 RelationName(None, None, "orders"),                 # unqualified: never in the answer
                 RelationName(db, "staging", "v"), RelationName("other_db", "staging", "v")}
        assert wh.existing_relations(asked) == {
            _rel("analytics", "customer_facts"), _rel("staging", "orders"), _rel("analytics", "orders"),
            _rel('We"ird; DROP TABLE x', "Mixed Case"), _rel("staging", "v"), _rel("staging", "mv"),
            _rel("staging", "parted"), RelationName(db, "staging", "v")}
        assert wh.existing_relations([]) == set()
        # the hostile schema was only bound as a parameter, never executed
        assert wh.existing_relations([_rel("staging", "orders")]) == {_rel("staging", "orders")}
    finally:
        wh.close()


def _files_project(root, url: str | None) -> None:
    wh = f"  url: {url}\n" if url else ""
    (root / "deprecator.yml").write_text(
        f"warehouse:\n{wh}  dialect: postgres\n  default_schema: [staging, analytics]\nregistry: deprecations.yml\n"
        "paths: [models]\nstate:\n  url: sqlite:///.deprecator/state.db\n")
    (root / "deprecations.yml").write_text(REGISTRY)
    (root / "models").mkdir(exist_ok=True)
    (root / "models" / "a.sql").write_text(
        "select id from customer_facts;\nselect id from orders;\nselect id from events;\n"
        "select id from analytics.orders\n")


def _findings(paths: tuple[str, ...] = ()) -> list[dict]:
    return json.loads(invoke(["scan", "--workers", "0", "--format", "json", *paths]).stdout)["findings"]


def test_files_resolve_against_the_warehouse(pg_db, in_tmp):
    run_sql(pg_db, *SCHEMA)
    _files_project(in_tmp, None)
    # without a warehouse every unqualified name stays ambiguous, reported as its first candidate
    before = {f["line"]: f for f in _findings()}
    assert set(before) == {1, 2, 3, 4}
    assert all(before[n]["ambiguous"] and before[n]["relation"].startswith("staging.") for n in (1, 2, 3))

    _files_project(in_tmp, pg_db)
    found = _findings()
    by_line = {f["line"]: f for f in found}
    assert set(by_line) == {1, 3, 4}, found      # line 2 reads staging.orders: not a use of analytics.orders
    cf = by_line[1]
    assert (cf["deprecation"], cf["relation"], cf["ambiguous"]) == (
        "analytics.customer_facts", "analytics.customer_facts", False)
    assert "resolved via search path (staging, analytics) to analytics.customer_facts" in cf["note"]
    assert "staging.customer_facts does not exist" in cf["note"]
    ev = by_line[3]
    assert (ev["deprecation"], ev["relation"], ev["ambiguous"]) == ("analytics.events", "analytics.events", True)
    assert "none of staging.events, analytics.events exists" in ev["note"]
    assert by_line[4]["relation"] == "analytics.orders" and by_line[4]["note"] is None
    out = invoke(["scan", "--workers", "0"]).stdout
    assert "1 name resolution note (1 ambiguous):" in out, out
    assert "models/a.sql:1:16: `customer_facts` is unqualified: resolved via search path" in out, out

    # the same file with orders dropped from staging: now it is a use of analytics.orders
    run_sql(pg_db, "DROP TABLE staging.orders")
    by_line = {f["line"]: f for f in _findings()}
    assert by_line[2]["relation"] == "analytics.orders" and by_line[2]["ambiguous"] is False


def test_pg_stat_statements_role_search_path_resolves_against_the_warehouse(pgss_cluster, in_tmp):
    name = "pgss_res_" + uuid.uuid4().hex[:10]
    run_sql(pgss_cluster.url, f'CREATE DATABASE "{name}"')
    url = make_url(pgss_cluster.url).set(database=name).render_as_string(hide_password=False)
    tag = uuid.uuid4().hex[:6]
    alice, carol = f"alice_{tag}", f"carol_{tag}"
    try:
        run_sql(url, "CREATE EXTENSION pg_stat_statements", *SCHEMA,
                "CREATE TABLE analytics.events (id int)",
                *[f'CREATE ROLE "{r}" LOGIN' for r in (alice, carol)],
                *[f'GRANT USAGE ON SCHEMA staging, analytics TO "{r}"' for r in (alice, carol)],
                *[f'GRANT SELECT ON ALL TABLES IN SCHEMA staging, analytics TO "{r}"' for r in (alice, carol)],
                f'ALTER ROLE "{alice}" SET search_path = staging, analytics')
        run_sql(make_url(url).set(username=alice).render_as_string(hide_password=False),
                "SELECT id FROM customer_facts WHERE id = 1", "SELECT id FROM orders WHERE id = 2",
                "SELECT id FROM events WHERE id = 3")
        run_sql(make_url(url).set(username=carol).render_as_string(hide_password=False),
                "SELECT id FROM analytics.orders WHERE id = 4")
        run_sql(url, "DROP TABLE analytics.events")     # what alice read is gone: nothing settles the name now
        (in_tmp / "deprecations.yml").write_text(REGISTRY)
        config = ("warehouse:\n{wh}  dialect: postgres\n  default_schema: public\nregistry: deprecations.yml\n"
                  f"history:\n  - type: pg_stat_statements\n    url: {url}\n"
                  "state:\n  url: sqlite:///.deprecator/state.db\n")

        def ours() -> dict[tuple[str, str], dict]:
            found = [f for f in _findings() if f["source"] == "pg_stat_statements" and f["user"] in (alice, carol)]
            out = {(f["user"], f["deprecation"]): f for f in found}
            assert len(out) == len(found), found
            return out

        # no warehouse: today's behaviour, every name of alice's is ambiguous
        (in_tmp / "deprecator.yml").write_text(config.format(wh=""))
        before = ours()
        assert {k for k, f in before.items() if f["ambiguous"]} == {
            (alice, "analytics.customer_facts"), (alice, "analytics.orders"), (alice, "analytics.events")}
        assert before[(alice, "analytics.customer_facts")]["relation"] == "staging.customer_facts"

        (in_tmp / "deprecator.yml").write_text(config.format(wh=f"  url: {url}\n"))
        found = ours()
        assert set(found) == {(alice, "analytics.customer_facts"), (alice, "analytics.events"),
                              (carol, "analytics.orders")}, found   # alice's orders is staging.orders
        cf = found[(alice, "analytics.customer_facts")]
        assert cf["relation"] == "analytics.customer_facts" and cf["ambiguous"] is False
        assert "resolved via search path (staging, analytics) to analytics.customer_facts" in cf["note"]
        ev = found[(alice, "analytics.events")]
        assert ev["ambiguous"] is True and "none of staging.events, analytics.events exists" in ev["note"]
        assert found[(carol, "analytics.orders")]["note"] is None
        # usage snapshots count only real uses: alice's orders query is not one
        out = invoke(["scan", "--workers", "0"]).stdout
        assert f"({alice}): `customer_facts` is unqualified: resolved via search path" in out, out
        # the statements are in pg_stat_statements but none ran again since the previous scans
        for model in ("customer_facts", "orders", "events"):
            assert re.search(rf"^analytics\.{model} -> .*\n  .*\n    counted since .*; none since the previous scan ",
                             out, re.M), out
        store = StateStore("sqlite:///.deprecator/state.db", in_tmp)
        try:
            orders = store.usage_history("analytics.orders")[-1]
            customer_facts = store.usage_history("analytics.customer_facts")[-1]
        finally:
            store.close()
        assert alice not in orders.per_user and carol in orders.per_user, orders
        assert alice in customer_facts.per_user, customer_facts
    finally:
        run_sql(pgss_cluster.url, f'DROP DATABASE "{name}" WITH (FORCE)', *[f'DROP ROLE "{r}"' for r in (alice, carol)])


SYSTEM_REGISTRY = """\
deprecations:
  - model: analytics.pg_class
    replacement: analytics.entity_classes
    sunset: 2027-03-31
"""


def _system_project(root, url: str | None, default_schema: str) -> None:
    wh = f"  url: {url}\n" if url else ""
    (root / "deprecator.yml").write_text(
        f"warehouse:\n{wh}  dialect: postgres\n  default_schema: {default_schema}\nregistry: deprecations.yml\n"
        "paths: [models]\nstate:\n  url: sqlite:///.deprecator/state.db\n")
    (root / "deprecations.yml").write_text(SYSTEM_REGISTRY)
    (root / "models").mkdir(exist_ok=True)
    (root / "models" / "a.sql").write_text("select relname from pg_class;\nselect relname from analytics.pg_class\n")


def test_unqualified_name_of_a_system_relation_reads_pg_catalog(pg_db, in_tmp):
    run_sql(pg_db, "CREATE SCHEMA staging", "CREATE SCHEMA analytics",
            "CREATE TABLE analytics.pg_class (relname text)", "CREATE TABLE analytics.entity_classes (relname text)")
    # without a warehouse nothing can say pg_catalog.pg_class exists: line 1 is reported
    _system_project(in_tmp, None, "[staging, analytics]")
    assert {f["line"] for f in _findings()} == {1, 2}

    # pg_catalog is searched first when the path does not list it: line 1 reads pg_catalog.pg_class
    for path in ("[staging, analytics]", "analytics"):
        _system_project(in_tmp, pg_db, path)
        found = _findings()
        assert [(f["line"], f["relation"]) for f in found] == [(2, "analytics.pg_class")], (path, found)

    # listed explicitly after analytics, pg_catalog is searched in its place: analytics.pg_class wins
    _system_project(in_tmp, pg_db, "[analytics, pg_catalog]")
    by_line = {f["line"]: f for f in _findings()}
    assert set(by_line) == {1, 2}
    assert (by_line[1]["relation"], by_line[1]["ambiguous"]) == ("analytics.pg_class", False)
    assert "resolved via search path (analytics, pg_catalog) to analytics.pg_class" in by_line[1]["note"]


def test_schema_usage_reads_privileges_in_one_query(pg_db, pg_roles):
    with_usage, without, _ = pg_roles
    run_sql(pg_db, "CREATE SCHEMA staging", "CREATE SCHEMA analytics",
            f'GRANT USAGE ON SCHEMA analytics TO "{with_usage}", "{without}"',
            f'GRANT USAGE ON SCHEMA staging TO "{with_usage}"')
    wh = PostgresWarehouse(pg_db)
    try:
        got = wh.schema_usage([with_usage, without, "no_such_role_x"], ["staging", "analytics", "nowhere"])
        assert got == {(with_usage, "staging"): True, (with_usage, "analytics"): True,
                       (without, "staging"): False, (without, "analytics"): True}
        assert wh.schema_usage([], ["staging"]) == {} and wh.schema_usage([without], []) == {}
    finally:
        wh.close()


def test_role_without_usage_on_the_first_schema_resolves_to_the_second(pgss_cluster, in_tmp):
    name = "pgss_use_" + uuid.uuid4().hex[:10]
    run_sql(pgss_cluster.url, f'CREATE DATABASE "{name}"')
    url = make_url(pgss_cluster.url).set(database=name).render_as_string(hide_password=False)
    tag = uuid.uuid4().hex[:6]
    alice, bob = f"alice_{tag}", f"bob_{tag}"
    try:
        run_sql(url, "CREATE EXTENSION pg_stat_statements", *SCHEMA,
                *[f'CREATE ROLE "{r}" LOGIN' for r in (alice, bob)],
                f'GRANT USAGE ON SCHEMA staging, analytics TO "{alice}"',
                f'GRANT USAGE ON SCHEMA analytics TO "{bob}"',            # bob: no USAGE on staging
                *[f'GRANT SELECT ON ALL TABLES IN SCHEMA staging, analytics TO "{r}"' for r in (alice, bob)],
                *[f'ALTER ROLE "{r}" SET search_path = staging, analytics' for r in (alice, bob)])
        # the same text: alice reads staging.orders, bob (who cannot use staging) analytics.orders
        for role in (alice, bob):
            run_sql(make_url(url).set(username=role).render_as_string(hide_password=False),
                    "SELECT id FROM orders WHERE id = 7")
        (in_tmp / "deprecations.yml").write_text(REGISTRY)
        (in_tmp / "deprecator.yml").write_text(
            f"warehouse:\n  url: {url}\n  dialect: postgres\n  default_schema: public\nregistry: deprecations.yml\n"
            f"history:\n  - type: pg_stat_statements\n    url: {url}\nstate:\n  url: sqlite:///.deprecator/state.db\n")
        found = [f for f in _findings() if f["source"] == "pg_stat_statements" and f["user"] in (alice, bob)]
        assert [(f["user"], f["relation"], f["ambiguous"]) for f in found] == [
            (bob, "analytics.orders", False)], found
        note = found[0]["note"]
        assert "resolved via search path (staging, analytics) to analytics.orders" in note, note
        assert "the role has no USAGE on schema staging, which PostgreSQL skips" in note, note
    finally:
        run_sql(pgss_cluster.url, f'DROP DATABASE "{name}" WITH (FORCE)', *[f'DROP ROLE "{r}"' for r in (alice, bob)])
