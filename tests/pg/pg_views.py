"""The views the PostgreSQL apply tests plan against: owner, grants, comments, options, a view on a view,
materialized views with an index, default privileges; and what apply must keep of them.

Shared by test_pg_apply and test_pg_apply_checks (a plain module, not a test module, so importing it
collects no tests twice).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from deprecator.registry import load_registry
from deprecator.state import StateStore
from deprecator.warehouse.postgres import PostgresWarehouse
from tests.pg_cluster import CUSTOMER_FACTS_REGISTRY as REGISTRY
from tests.pg_cluster import run_sql


def setup_views(url: str, roles: list[str], *, new_id_type: str = "int") -> None:
    """Schema analytics: the two tables and the views on customer_facts, ``roles`` = owner, reader, column reader."""
    owner, reader, colreader = roles
    run_sql(url,
            "CREATE SCHEMA analytics",
            "CREATE TABLE analytics.customer_facts (cust_id int, name text, legacy_flag boolean)",
            f"CREATE TABLE analytics.entity_customers (customer_id {new_id_type}, name text)",
            "INSERT INTO analytics.customer_facts VALUES (1, 'a', false), (2, 'b', true)",
            "INSERT INTO analytics.entity_customers VALUES (1, 'a'), (2, 'b'), (3, 'c')",
            f'GRANT USAGE ON SCHEMA analytics TO "{owner}", "{reader}", "{colreader}"',
            f'GRANT SELECT ON ALL TABLES IN SCHEMA analytics TO "{owner}"',
            "CREATE VIEW analytics.names WITH (security_barrier = true) AS "
            "SELECT cust_id, name FROM analytics.customer_facts WHERE cust_id > 0",
            f'ALTER VIEW analytics.names OWNER TO "{owner}"',
            f'GRANT SELECT ON analytics.names TO "{reader}" WITH GRANT OPTION',
            f'GRANT SELECT (name) ON analytics.names TO "{colreader}"',
            "COMMENT ON VIEW analytics.names IS 'customer names'",
            "COMMENT ON COLUMN analytics.names.cust_id IS 'the id'",
            "CREATE VIEW analytics.names_upper WITH (security_invoker = true) AS "
            "SELECT cust_id, upper(name) AS uname FROM analytics.names WHERE cust_id < 100 WITH CASCADED CHECK OPTION",
            f'GRANT SELECT ON analytics.names_upper TO "{reader}"',
            "COMMENT ON VIEW analytics.names_upper IS 'a view on a view'",
            "CREATE MATERIALIZED VIEW analytics.counts AS SELECT count(*) AS n FROM analytics.customer_facts",
            "CREATE UNIQUE INDEX counts_n ON analytics.counts (n)",
            f'GRANT SELECT ON analytics.counts TO "{reader}"',
            "CREATE MATERIALIZED VIEW analytics.ids_later AS SELECT cust_id FROM analytics.customer_facts WITH NO DATA",
            "CREATE VIEW analytics.untouched AS SELECT customer_id FROM analytics.entity_customers",
            # default privileges would add a grant to every newly created view: apply must not keep it
            f'ALTER DEFAULT PRIVILEGES IN SCHEMA analytics GRANT SELECT ON TABLES TO "{colreader}"')


def pg_target(url: str, tmp_path: Path, **kw):
    """The warehouse, the registry (customer_facts -> entity_customers) and a state store in ``tmp_path``."""
    reg = tmp_path / "deprecations.yml"
    reg.write_text(REGISTRY)
    wh = PostgresWarehouse(url, default_schema=["analytics"], **kw)
    registry = load_registry(reg, "postgres", ("analytics",))
    state = StateStore(f"sqlite:///{tmp_path}/state.db")
    return wh, registry, state


def views_of(wh):
    """The warehouse's views by qualified name."""
    return {str(v.relation): v for v in wh.list_views()}


# setup_views's ALTER DEFAULT PRIVILEGES adds a grant to every view apply recreates. analytics.ids_later
# has a NULL ACL: apply revokes the added grant, which leaves the built-in privileges as an explicit
# ACL (the limitation docs/postgresql.md states). Views with NULL ACLs and no default privileges
# keep them NULL (tests/pg/test_pg_apply_acl.py).
MADE_EXPLICIT = ("analytics.ids_later",)


def view_fingerprints(wh, made_explicit=MADE_EXPLICIT) -> dict[str, str]:
    """Fingerprint per view; a view in ``made_explicit`` must hold an explicit ACL (with the same grants)
    and is fingerprinted as if its ACL were still NULL, so everything else is compared exactly."""
    out = {}
    for name, v in views_of(wh).items():
        if name in made_explicit:
            assert not v.default_acl, name
            v = dataclasses.replace(v, default_acl=True)
        out[name] = v.fingerprint()
    return out
