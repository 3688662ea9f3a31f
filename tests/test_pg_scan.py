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
