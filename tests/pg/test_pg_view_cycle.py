"""Views that read each other on a real PostgreSQL server: CREATE OR REPLACE VIEW lets one close a cycle."""

from __future__ import annotations

import pytest

from deprecator.errors import ViewCycleError
from deprecator.sql.model import RelationName
from deprecator.warehouse.postgres import PostgresWarehouse
from tests.helpers import invoke
from tests.pg_cluster import CUSTOMER_FACTS_REGISTRY, run_sql

pytestmark = pytest.mark.postgres


def test_views_reading_each_other_are_named_by_the_catalog_and_refused_by_plan(pg_db, in_tmp):
    run_sql(pg_db,
            "CREATE SCHEMA analytics",
            "CREATE TABLE analytics.customer_facts (cust_id int, name text)",
            "CREATE TABLE analytics.entity_customers (customer_id int, name text)",
            "CREATE VIEW analytics.cyc_a AS SELECT cust_id FROM analytics.customer_facts",
            "CREATE VIEW analytics.cyc_b AS SELECT cust_id FROM analytics.cyc_a",
            "CREATE VIEW analytics.after_cyc AS SELECT cust_id FROM analytics.cyc_b",
            # PostgreSQL accepts this; querying either view then fails with infinite recursion
            "CREATE OR REPLACE VIEW analytics.cyc_a AS SELECT cust_id FROM analytics.customer_facts "
            "UNION ALL SELECT cust_id FROM analytics.cyc_b")
    wh = PostgresWarehouse(pg_db)
    try:
        with pytest.raises(ViewCycleError) as e:
            wh.dependents([RelationName(None, "analytics", "customer_facts")])
    finally:
        wh.close()
    assert e.value.cycle == ("analytics.cyc_a", "analytics.cyc_b", "analytics.cyc_a")
    (in_tmp / "deprecations.yml").write_text(CUSTOMER_FACTS_REGISTRY)
    (in_tmp / "deprecator.yml").write_text(
        f"warehouse:\n  url: {pg_db}\n  default_schema: analytics\nregistry: deprecations.yml\n"
        "state:\n  url: sqlite:///.deprecator/state.db\n")
    err = invoke(["plan"], 2).stderr
    assert ("error: views analytics.cyc_a -> analytics.cyc_b -> analytics.cyc_a read each other "
            "(each reads the next)") in err
