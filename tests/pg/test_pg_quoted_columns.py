"""Columns whose names need quotes, mapped in the registry and rewritten on a real PostgreSQL warehouse."""

from __future__ import annotations

import sqlalchemy as sa
import pytest

from tests.helpers import invoke
from tests.pg_cluster import run_sql

pytestmark = pytest.mark.postgres


def test_plan_and_apply_with_quoted_column_mappings(pg_db, in_tmp):
    run_sql(pg_db,
            "CREATE SCHEMA crm",
            'CREATE TABLE crm."Customer Facts" ("Cust ID" int, "Full Name" text, "Region" text)',
            'CREATE TABLE crm.entity_customers (customer_id int, "Full Name" text, region text)',
            "INSERT INTO crm.entity_customers VALUES (1, 'Ann', 'EU'), (2, 'Bob', 'US')",
            'CREATE VIEW crm.eu_customers AS SELECT "Cust ID", "Full Name" FROM crm."Customer Facts" '
            "WHERE \"Region\" = 'EU'",
            'CREATE VIEW crm.names AS SELECT cf."Cust ID" AS id, cf."Region" FROM crm."Customer Facts" cf')
    (in_tmp / "deprecator.yml").write_text(
        f"warehouse:\n  url: {pg_db}\n  default_schema: crm\nregistry: deprecations.yml\n"
        "state:\n  url: sqlite:///.deprecator/state.db\n")
    invoke(["deprecate", 'crm."Customer Facts"', "--replacement", "crm.entity_customers", "--sunset", "2027-06-30",
            "--column", '"Cust ID"=customer_id', "--column", '"Region"=region'])
    out = invoke(["plan", "--out", "plan.json"]).stdout
    # the catalog's columns are compared with the names the spellings mean (not blocked as missing)
    assert "Plan: 2 views to rewrite, 0 blocked" in out, out
    assert '+SELECT "entity_customers"."customer_id" AS "Cust ID",' in out
    assert '+    cf."region" AS "Region"' in out
    invoke(["apply", "plan.json"])
    eng = sa.create_engine(pg_db)
    try:
        with eng.connect() as c:
            assert c.exec_driver_sql("SELECT * FROM crm.eu_customers").all() == [(1, "Ann")]
            rows = c.exec_driver_sql("SELECT * FROM crm.names ORDER BY id")
            assert list(rows.keys()) == ["id", "Region"] and rows.all() == [(1, "EU"), (2, "US")]
    finally:
        eng.dispose()


def test_a_removed_quoted_column_blocks_with_its_hint(pg_db, in_tmp):
    run_sql(pg_db,
            "CREATE SCHEMA crm",
            'CREATE TABLE crm.facts ("Cust ID" int, "Legacy Flag" bool)',
            "CREATE TABLE crm.entity_customers (customer_id int)",
            'CREATE VIEW crm.flags AS SELECT "Cust ID", "Legacy Flag" FROM crm.facts')
    (in_tmp / "deprecator.yml").write_text(
        f"warehouse:\n  url: {pg_db}\n  default_schema: crm\nregistry: deprecations.yml\n"
        "state:\n  url: sqlite:///.deprecator/state.db\n")
    invoke(["deprecate", "crm.facts", "--replacement", "crm.entity_customers", "--sunset", "2027-06-30",
            "--column", '"Cust ID"=customer_id', "--removed-column", '"Legacy Flag"'])
    out = invoke(["plan"]).stdout
    assert "reason (line 2): column 'Legacy Flag' of crm.facts is removed in crm.entity_customers" in out, out
    assert ('to unblock: "Legacy Flag" has no equivalent in the replacement crm.entity_customers: remove it '
            "from the view") in out, out
