"""End to end: `deprecator scan` over a PostgreSQL warehouse, its views and its history tables."""

from __future__ import annotations

import json

import pytest

from tests.helpers import invoke
from tests.pg_cluster import run_sql

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
            "$$ BEGIN EXECUTE 'TRUNCATE analytics.' || lower('customer_facts'); END $$",
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
    assert dyn["status"] == "fallback" and "PL/pgSQL body runs SQL built at run time" in dyn["error"]
    assert "line 1: EXECUTE 'TRUNCATE analytics.' || lower('customer_facts') (SQL concatenated" in dyn["error"]
    text = invoke(["scan"], code=0).stdout
    assert '    1 function: analytics.big_ones()' in text    # it reads; Purge deletes, audit inserts
    assert "    1 plpgsql function: analytics.tally()" in text
    assert ('  Producers (write it), switch these off:\n    1 function: analytics."Purge"()\n'
            "    1 plpgsql function: analytics.audit()\n    1 view rule: analytics.inbox rule copy_old\n") in text


# (function, body, what the scan must say): every form of EXECUTE in a real PL/pgSQL function.
# "read"/"write": a finding with that role (the SQL could be seen and was read); "line N: ...": the
# body is listed as not fully analysed with that reason; None: nothing at all.
EXECUTE_FUNCTIONS = [
    ("c_into", "DECLARE n int; BEGIN\n  EXECUTE 'SELECT count(*) FROM analytics.customer_facts' INTO n;\nEND",
     "read"),
    ("c_using", "DECLARE x int := 1; BEGIN\n  EXECUTE 'DELETE FROM analytics.customer_facts WHERE cust_id = $1' "
     "USING x;\nEND", "write"),
    ("c_concat", "DECLARE r record; BEGIN\n  EXECUTE 'SELECT * FROM analytics.' || 'customer_facts' INTO r;\nEND",
     "read"),
    ("c_dollar", "BEGIN\n  EXECUTE $q$INSERT INTO analytics.customer_facts VALUES (1, 'a')$q$;\nEND", "write"),
    ("c_label_only", "BEGIN\n  EXECUTE 'SELECT ''customer_facts''';\nEND", None),
    ("c_return_query", "BEGIN\n  RETURN QUERY EXECUTE 'SELECT cust_id FROM analytics.customer_facts';\nEND", "read"),
    ("c_for", "DECLARE r record; BEGIN\n  FOR r IN EXECUTE 'SELECT cust_id FROM analytics.customer_facts' LOOP\n"
     "  END LOOP;\nEND", "read"),
    ("c_open", "DECLARE c refcursor; BEGIN\n  OPEN c FOR EXECUTE 'SELECT 1 FROM analytics.customer_facts';\nEND",
     "read"),
    ("d_variable", "DECLARE v text := 'SELECT 1'; BEGIN\n  EXECUTE v;\nEND",
     "line 2: EXECUTE v (SQL held in a variable)"),
    ("d_format", "DECLARE r record; t text := 'customer_facts'; BEGIN\n  EXECUTE format('SELECT * FROM %I', t) "
     "INTO r;\nEND", "line 2: EXECUTE format('SELECT * FROM %I', t) (SQL built by format() at run time)"),
    ("d_concat", "DECLARE t text := 'x'; BEGIN\n  EXECUTE 'TRUNCATE ' || t;\nEND",
     "line 2: EXECUTE 'TRUNCATE ' || t (SQL concatenated at run time)"),
    ("d_escape", "BEGIN\n  EXECUTE E'SELECT 1 FROM analytics.customer_facts';\nEND",
     "line 2: EXECUTE E'SELECT 1 FROM analytics.customer_facts' (an E'...' escape string is not read)"),
    ("d_return_query", "DECLARE t text := 'x'; BEGIN\n  RETURN QUERY EXECUTE format('SELECT 1 FROM %I', t);\nEND",
     "line 2: EXECUTE format('SELECT 1 FROM %I', t) (SQL built by format() at run time)"),
    ("d_for", "DECLARE r record; q text := 'SELECT 1'; BEGIN\n  FOR r IN EXECUTE q LOOP\n  END LOOP;\nEND",
     "line 2: EXECUTE q (SQL held in a variable)"),
    ("d_open", "DECLARE c refcursor; q text := 'SELECT 1'; BEGIN\n  OPEN c FOR EXECUTE q;\nEND",
     "line 2: EXECUTE q (SQL held in a variable)"),
    ("plain", "BEGIN\n  PERFORM 1;\nEND", None),
]


def test_plpgsql_execute_forms_on_real_functions(pg_db, in_tmp):
    """Constant EXECUTE strings are read as SQL; run-time SQL lists the body with the line and form,
    even when it spells no deprecated name (d_variable, d_concat, d_for, d_open do not)."""
    statements = ["CREATE SCHEMA analytics", "CREATE TABLE analytics.customer_facts (cust_id int, name text)",
                  "CREATE TABLE analytics.entity_customers (customer_id int, name text)"]
    for name, body, _ in EXECUTE_FUNCTIONS:
        returns = "SETOF int" if "RETURN QUERY" in body else "void"
        statements.append(f"CREATE FUNCTION analytics.{name}() RETURNS {returns} LANGUAGE plpgsql AS $fn${body}$fn$"
                          .replace("%", "%%"))    # the driver's parameter marker
    run_sql(pg_db, *statements)
    (in_tmp / "deprecations.yml").write_text(
        "deprecations:\n  - model: analytics.customer_facts\n    replacement: analytics.entity_customers\n"
        "    sunset: 2027-03-31\n")
    (in_tmp / "deprecator.yml").write_text(
        f"warehouse:\n  url: {pg_db}\n  default_schema: analytics\nregistry: deprecations.yml\n"
        "state:\n  url: sqlite:///.deprecator/state.db\n")
    report = json.loads(invoke(["scan", "--format", "json"], code=0).stdout)
    found = {f["object"]: f["role"] for f in report["findings"] if f["source"] == "plpgsql_function"}
    listed = {u["object"]: u for u in report["unparsed"]}
    for name, _, expect in EXECUTE_FUNCTIONS:
        obj = f"analytics.{name}()"
        if expect in ("read", "write"):
            assert found.get(obj) == expect and obj not in listed, (name, found.get(obj), listed.get(obj))
        elif expect is None:
            assert obj not in found and obj not in listed, name
        else:
            assert obj not in found, name
            assert listed[obj]["status"] == "fallback", listed[obj]
            assert expect in listed[obj]["error"], (name, listed[obj]["error"])
    text = invoke(["scan"], code=0).stdout
    assert ("  plpgsql_function analytics.d_variable(): fallback: PL/pgSQL body runs SQL built at run time, which "
            "cannot be read, so it may use any relation: line 2: EXECUTE v (SQL held in a variable)") in text


def test_without_default_schema_files_resolve_with_the_servers_search_path(pg_db, in_tmp):
    """No default_schema: `select * from customer` in a file is public.customer, as plan resolves it
    (the scan said "no references found" for the file before)."""
    run_sql(pg_db, "CREATE TABLE public.customer (id int)", "CREATE TABLE public.customers (id int)",
            "CREATE VIEW public.v AS SELECT id FROM customer")
    (in_tmp / "deprecations.yml").write_text(
        "deprecations:\n  - model: customer\n    replacement: customers\n    sunset: 2027-03-31\n")
    (in_tmp / "deprecator.yml").write_text(f"warehouse:\n  url: {pg_db}\nregistry: deprecations.yml\n")
    (in_tmp / "a.sql").write_text("select * from customer\n")
    doc = json.loads(invoke(["scan", "--path", "a.sql", "--format", "json"]).stdout)
    assert sorted((f["source"], f["object"], f["relation"]) for f in doc["findings"]) == [
        ("file", "a.sql", "public.customer"), ("view", "public.v", "public.customer")]
