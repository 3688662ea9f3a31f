"""deprecator.sql.plpgsql: the SQL a PL/pgSQL body runs, for the reference engine."""

from __future__ import annotations

import pytest

from deprecator.sql import find_references
from deprecator.sql.plpgsql import plpgsql_sql, read_plpgsql

BODY = """
DECLARE
  n int := (SELECT count(*) FROM analytics.d1);
  r record;
  c CURSOR FOR SELECT id FROM analytics.d2;
BEGIN
  SELECT count(*) INTO STRICT n FROM analytics.s1 /* why */ WHERE 1 = 1;
  IF n > 0 AND EXISTS (SELECT 1 FROM analytics.c1) THEN
    UPDATE analytics.u1 SET name = CASE WHEN name IS NULL THEN 'x' ELSE name END;
  ELSIF n < (SELECT 0 FROM analytics.c2) THEN NULL;
  ELSE RAISE NOTICE 'customer_facts %', n;
  END IF;
  <<outer>>
  FOR r IN SELECT * FROM analytics.l1 LOOP PERFORM analytics.notify(r.id); END LOOP;
  FOR i IN 1..10 LOOP n := n + (SELECT 1 FROM analytics.a1); END LOOP;
  INSERT INTO analytics.i1 (a) VALUES (1) RETURNING id INTO n;
  OPEN c FOR SELECT 1 FROM analytics.o1;
  RETURN QUERY SELECT 1 FROM analytics.r1;
  RETURN NEXT (SELECT 2 FROM analytics.r2);
EXCEPTION WHEN others THEN RETURN NULL;
END
"""


def test_the_sql_of_every_construct_is_kept_and_control_flow_is_not():
    sql = plpgsql_sql(BODY)
    result = find_references(sql, "postgres", ("analytics",))
    assert result.status == "parsed", (result.error, sql)
    assert sorted({r.relation.name for r in result.references}) == [
        "a1", "c1", "c2", "d1", "d2", "i1", "l1", "o1", "r1", "r2", "s1", "u1"]
    # INTO names variables, not a table; the RAISE message is not SQL
    assert "INTO STRICT" not in sql and "RETURNING id;" in sql and "RAISE" not in sql
    assert "SELECT count(*) FROM analytics.s1 /* why */ WHERE 1 = 1;" in sql




def test_a_body_with_no_sql_gives_nothing():
    assert plpgsql_sql("BEGIN RAISE NOTICE 'hi'; END") == ""
    assert plpgsql_sql("") == ""


# Every form of EXECUTE, as the third line of a body: (statement, relations read as SQL with their
# roles, the reason it cannot be read or None). A constant string is SQL that can be seen, so it is
# read; SQL built at run time cannot be, so the body is reported with the line and the form.
EXECUTE_MATRIX = [
    ("EXECUTE 'SELECT count(*) FROM analytics.customer_facts' INTO v;", [("customer_facts", "read")], None),
    ("EXECUTE 'SELECT count(*) FROM analytics.customer_facts' INTO STRICT v USING a, b;",
     [("customer_facts", "read")], None),
    ("EXECUTE 'DELETE FROM analytics.customer_facts WHERE cust_id = $1' USING x;",
     [("customer_facts", "write")], None),
    ("EXECUTE 'SELECT 1 FROM t1 WHERE a = $1' USING (SELECT max(cust_id) FROM analytics.customer_facts);",
     [("t1", "read"), ("customer_facts", "read")], None),          # USING's parameters are evaluated
    ("EXECUTE q INTO r USING (SELECT max(cust_id) FROM analytics.customer_facts);",
     [("customer_facts", "read")], "EXECUTE q (SQL held in a variable)"),
    ("EXECUTE 'SELECT * FROM ' || 'analytics.customer_facts' || ' WHERE cust_id = $1' INTO r USING x;",
     [("customer_facts", "read")], None),
    ("EXECUTE $q$INSERT INTO analytics.customer_facts VALUES (1, 'a;b')$q$;", [("customer_facts", "write")], None),
    ("EXECUTE 'SELECT ''it''''s'' FROM analytics.customer_facts';", [("customer_facts", "read")], None),
    ("EXECUTE 'SELECT ''customer_facts''';", [], None),               # a string inside the SQL: no use
    ("RETURN QUERY EXECUTE 'SELECT cust_id FROM analytics.customer_facts WHERE cust_id > $1' USING n;",
     [("customer_facts", "read")], None),
    ("FOR r IN EXECUTE 'SELECT cust_id FROM analytics.customer_facts' LOOP n := n + 1; END LOOP;",
     [("customer_facts", "read")], None),
    ("OPEN c FOR EXECUTE 'SELECT cust_id FROM analytics.customer_facts';", [("customer_facts", "read")], None),
    ("EXECUTE v;", [], "EXECUTE v (SQL held in a variable)"),
    ("EXECUTE v INTO r USING x;", [], "EXECUTE v (SQL held in a variable)"),
    ("EXECUTE format('SELECT * FROM %I', t) INTO r;", [],
     "EXECUTE format('SELECT * FROM %I', t) (SQL built by format() at run time)"),
    ("EXECUTE format('TRUNCATE analytics.customer_facts');", [],
     "EXECUTE format('TRUNCATE analytics.customer_facts') (SQL built by format() at run time)"),
    ("EXECUTE 'TRUNCATE ' || tbl;", [], "EXECUTE 'TRUNCATE ' || tbl (SQL concatenated at run time)"),
    ("EXECUTE 'SELECT 1 FROM ' || quote_ident(t) INTO v;", [],
     "EXECUTE 'SELECT 1 FROM ' || quote_ident(t) (SQL concatenated at run time)"),
    ("EXECUTE E'SELECT 1 FROM analytics.customer_facts';", [],
     "EXECUTE E'SELECT 1 FROM analytics.customer_facts' (an E'...' escape string is not read)"),
    ("RETURN QUERY EXECUTE format('SELECT cust_id FROM %s', t);", [],
     "EXECUTE format('SELECT cust_id FROM %s', t) (SQL built by format() at run time)"),
    ("FOR r IN EXECUTE q USING 1 LOOP n := n + 1; END LOOP;", [], "EXECUTE q (SQL held in a variable)"),
    ("OPEN c FOR EXECUTE sql_text;", [], "EXECUTE sql_text (SQL held in a variable)"),
    ("EXECUTE (SELECT q FROM analytics.queries LIMIT 1);", [("queries", "read")],   # the expression is read
     "EXECUTE (SELECT q FROM analytics.queries LIMIT 1) (SQL built at run time)"),
]


@pytest.mark.parametrize("statement, relations, dynamic", EXECUTE_MATRIX, ids=[m[0][:50] for m in EXECUTE_MATRIX])
def test_execute_forms(statement, relations, dynamic):
    body = f"DECLARE\n  v int;\nBEGIN {statement}\n  SELECT 1 FROM analytics.other;\nEND"
    read = read_plpgsql(body)
    result = find_references(read.sql, "postgres", ("analytics",))
    assert result.status == "parsed", (result.error, read.sql)
    got = [(r.relation.name, r.role) for r in result.references if r.relation.name != "other"]
    assert got == relations, read.sql
    assert [r.relation.name for r in result.references].count("other") == 1   # the rest is still read
    if dynamic is None:
        assert read.dynamic == ()
    else:
        assert [str(d) for d in read.dynamic] == [f"line 3: {dynamic}"]
