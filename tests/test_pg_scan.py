"""End to end: `deprecator scan` over a PostgreSQL warehouse, its views and its history tables."""

from __future__ import annotations

import json

import pytest

from tests.helpers import invoke
from tests.pg_cluster import pg_db, run_sql  # noqa: F401  (fixture)

pytestmark = pytest.mark.postgres


def test_scan_reads_views_and_pushed_down_sql_history(pg_db, in_tmp):
    run_sql(pg_db,
            "CREATE SCHEMA analytics",
            "CREATE TABLE analytics.customer_facts (cust_id int, name text)",
            "CREATE TABLE analytics.entity_customers (customer_id int, name text)",
            "CREATE VIEW analytics.top_customers AS SELECT cust_id FROM analytics.customer_facts WHERE cust_id < 10",
            "CREATE VIEW analytics.unrelated AS SELECT customer_id FROM analytics.entity_customers",
            "CREATE TABLE public.query_log (sql text, who text, at timestamptz)",
            "INSERT INTO public.query_log VALUES "
            "('select name from customer_facts where cust_id = 1', 'alice', '2026-11-01T10:00:00Z'), "
            "('select name from customer_facts where cust_id = 1', 'alice', '2026-11-02T10:00:00Z'), "
            "('select name from customer_facts where cust_id = 1', 'bob', '2026-11-03T10:00:00Z'), "
            "('select * from analytics.entity_customers', 'carol', '2026-11-03T10:00:00Z'), "
            "('select ''customer_facts'' as label', 'dave', '2026-11-04T10:00:00Z')")
    (in_tmp / "deprecations.yml").write_text(
        "deprecations:\n"
        "  - model: analytics.customer_facts\n"
        "    replacement: analytics.entity_customers\n"
        "    sunset: 2027-03-31\n"
        "    columns:\n"
        "      cust_id: customer_id\n")
    (in_tmp / "deprecator.yml").write_text(
        "warehouse:\n"
        f"  url: {pg_db}\n"
        "  default_schema: analytics\n"
        "registry: deprecations.yml\n"
        "history:\n"
        "  - type: sql\n"
        "    query: SELECT sql AS query_text, who AS user_name, at AS start_time FROM public.query_log\n"
        "state:\n"
        "  url: sqlite:///.deprecator/state.db\n")
    out = invoke(["scan", "--format", "json"], code=0).stdout
    report = json.loads(out)
    rows = sorted((f["source"], f["object"], f["user"], f["count"]) for f in report["findings"])
    assert [r for r in rows if r[0] == "view"] == [("view", "analytics.top_customers", None, 1)]
    hist = [r for r in rows if r[0] == "sql"]
    assert [(u, c) for _, _, u, c in hist] == [("alice", 2), ("bob", 1)]   # dave's string literal is no reference
    assert report["unparsed"] == []


def test_scan_reads_function_bodies_and_view_rules(pg_db, in_tmp):
    """pg_depend does not see what a function body reads: the scan reads the text, SQL and PL/pgSQL alike."""
    run_sql(pg_db,
            "CREATE SCHEMA analytics", "CREATE SCHEMA reporting",
            "CREATE TABLE analytics.customer_facts (cust_id int, name text)",
            "CREATE TABLE analytics.entity_customers (customer_id int, name text)",
            "CREATE TABLE reporting.customer_facts (cust_id int)",     # same name, another schema
            "SET search_path = analytics",
            # an unqualified name in a SQL body, resolved with the default schema
            "CREATE FUNCTION analytics.big_ones() RETURNS SETOF int LANGUAGE sql "
            "AS $$ SELECT cust_id FROM customer_facts WHERE cust_id > 100 $$",
            # the function's own search_path decides: this one reads reporting.customer_facts, not a use
            "CREATE FUNCTION analytics.elsewhere() RETURNS bigint LANGUAGE sql SET search_path = reporting "
            "AS $$ SELECT count(*) FROM customer_facts $$",
            # a SQL-standard body, deparsed by PostgreSQL (names qualified)
            'CREATE PROCEDURE analytics."Purge"() LANGUAGE sql BEGIN ATOMIC DELETE FROM customer_facts; END',
            # a string that only mentions the name
            "CREATE FUNCTION analytics.label() RETURNS text LANGUAGE sql AS $$ SELECT 'customer_facts' $$",
            # PL/pgSQL: the SQL it runs is read (an INSERT, a condition's subquery, a loop's query) ...
            "CREATE FUNCTION analytics.audit() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN INSERT INTO analytics.customer_facts (cust_id) VALUES (NEW.customer_id); RETURN NEW; END $$",
            "CREATE FUNCTION analytics.tally() RETURNS int LANGUAGE plpgsql AS $$ DECLARE n int := 0; r record; "
            "BEGIN IF EXISTS (SELECT 1 FROM analytics.customer_facts WHERE cust_id < 0) THEN RAISE 'bad'; END IF; "
            "FOR r IN SELECT cust_id FROM analytics.entity_customers LOOP n := n + 1; END LOOP; RETURN n; END $$",
            # ... but SQL built at run time cannot be: listed, with the reason, never silently clean
            "CREATE FUNCTION analytics.dyn() RETURNS void LANGUAGE plpgsql AS "
            "$$ BEGIN EXECUTE 'TRUNCATE analytics.' || 'customer_facts'; END $$",
            "CREATE VIEW analytics.inbox AS SELECT customer_id, name FROM analytics.entity_customers",
            "CREATE RULE copy_old AS ON INSERT TO analytics.inbox DO ALSO "
            "INSERT INTO analytics.customer_facts (cust_id, name) VALUES (new.customer_id, new.name)",
            "CREATE RULE nope AS ON DELETE TO analytics.inbox DO INSTEAD NOTHING")
    (in_tmp / "deprecations.yml").write_text(
        "deprecations:\n  - model: analytics.customer_facts\n    replacement: analytics.entity_customers\n"
        "    sunset: 2027-03-31\n")
    (in_tmp / "deprecator.yml").write_text(
        f"warehouse:\n  url: {pg_db}\n  default_schema: analytics\nregistry: deprecations.yml\n"
        "state:\n  url: sqlite:///.deprecator/state.db\n")
    report = json.loads(invoke(["scan", "--format", "json"], code=0).stdout)
    found = sorted((f["source"], f["object"], f["relation"]) for f in report["findings"])
    assert found == [
        ("function", 'analytics."Purge"()', "analytics.customer_facts"),
        ("function", "analytics.big_ones()", "analytics.customer_facts"),
        ("plpgsql_function", "analytics.audit()", "analytics.customer_facts"),
        ("plpgsql_function", "analytics.tally()", "analytics.customer_facts"),
        ("view_rule", "analytics.inbox rule copy_old", "analytics.customer_facts"),
    ]
    (dyn,) = report["unparsed"]
    assert dyn["source"] == "plpgsql_function" and dyn["object"] == "analytics.dyn()"
    assert dyn["status"] == "fallback" and "PL/pgSQL body, read as the SQL statements it runs" in dyn["error"]
    text = invoke(["scan"], code=0).stdout
    assert '    1 function: analytics.big_ones()' in text    # it reads; Purge deletes, audit inserts
    assert "    1 plpgsql function: analytics.tally()" in text
    assert ('  Producers (write it), switch these off:\n    1 function: analytics."Purge"()\n'
            "    1 plpgsql function: analytics.audit()\n    1 view rule: analytics.inbox rule copy_old\n") in text
