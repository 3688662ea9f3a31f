"""deprecator.sql.plpgsql: the SQL a PL/pgSQL body runs, for the reference engine."""

from __future__ import annotations

from deprecator.sql import find_references
from deprecator.sql.plpgsql import plpgsql_sql

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


def test_sql_built_at_run_time_is_kept_so_the_text_is_a_fallback_not_clean():
    sql = plpgsql_sql("BEGIN EXECUTE 'TRUNCATE ' || 'analytics.customer_facts'; END")
    result = find_references(sql, "postgres", ("analytics",))
    assert result.status == "fallback" and result.references == ()


def test_a_body_with_no_sql_gives_nothing():
    assert plpgsql_sql("BEGIN RAISE NOTICE 'hi'; END") == ""
    assert plpgsql_sql("") == ""
