"""dbt-managed views: relations a dbt manifest (schema v12) builds are marked, not rewritten."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from deprecator.errors import ConfigError
from deprecator.sql.model import RelationName
from deprecator.warehouse.dbt import dbt_relations, mark_dbt_managed
from deprecator.warehouse.postgres import PostgresWarehouse
from tests.pg_cluster import run_sql

MANIFEST = Path(__file__).parent.parent / "data" / "pg" / "dbt_manifest_v12.json"


def _manifest_for(db: str, tmp_path: Path) -> Path:
    """The fixture manifest, built against database ``db`` (dbt writes the target database into it)."""
    p = tmp_path / "manifest.json"
    p.write_text(MANIFEST.read_text().replace("DBNAME", db))
    return p


def R(s: str, n: str) -> RelationName:
    return RelationName(None, s, n)


def test_dbt_relations_from_manifest(tmp_path):
    rels = dbt_relations(_manifest_for("warehouse", tmp_path), database="warehouse")
    assert set(rels) == {
        R("analytics", "stg_customers"), R("analytics", "customers"), R("analytics", "order_summary"),
        R("Marts", "Revenue View"),          # alias wins over the model name; quoted case kept
        R("analytics", "raw_seed"),
    }
    assert rels[R("Marts", "Revenue View")] == "model.jaffle.Mixed Model"
    # without a database filter, nodes built in other databases count too
    assert R("analytics", "other_db_view") in dbt_relations(_manifest_for("warehouse", tmp_path))


@pytest.mark.postgres
def test_views_built_by_dbt_are_marked(pg_db, tmp_path):
    run_sql(pg_db,
            "CREATE SCHEMA analytics", 'CREATE SCHEMA "Marts"',
            "CREATE TABLE analytics.customer_facts (id int)",
            "CREATE VIEW analytics.stg_customers AS SELECT id FROM analytics.customer_facts",
            'CREATE VIEW "Marts"."Revenue View" AS SELECT id FROM analytics.stg_customers',
            "CREATE MATERIALIZED VIEW analytics.order_summary AS SELECT count(*) AS n FROM analytics.customer_facts",
            "CREATE VIEW analytics.hand_made AS SELECT id FROM analytics.customer_facts",
            "CREATE VIEW analytics.other_db_view AS SELECT id FROM analytics.customer_facts")
    manifest = _manifest_for(make_url(pg_db).database, tmp_path)
    wh = PostgresWarehouse(pg_db, dbt_manifest=manifest)
    managed = {str(v.relation): v.managed_by for v in wh.list_views()}
    assert managed == {
        "analytics.stg_customers": "dbt", "Marts.Revenue View": "dbt", "analytics.order_summary": "dbt",
        "analytics.hand_made": None,
        "analytics.other_db_view": None,     # the manifest builds it in another database
    }
    deps = wh.dependents([R("analytics", "customer_facts")])
    assert {str(v.relation): v.managed_by for v in deps}["Marts.Revenue View"] == "dbt"
    # marking never changes the fingerprint (a plan made without the manifest is not stale)
    plain = {v.relation: v.fingerprint() for v in PostgresWarehouse(pg_db).list_views()}
    assert {v.relation: v.fingerprint() for v in wh.list_views()} == plain
    assert mark_dbt_managed([], manifest) == []


def test_bad_manifests_are_clear_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        dbt_relations(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"nodes": {\n  "model.x": ')
    with pytest.raises(ConfigError) as ei:
        dbt_relations(bad)
    assert "bad.json:2" in str(ei.value)
    bad.write_text('{"metadata": {}}')
    with pytest.raises(ConfigError, match="nodes"):
        dbt_relations(bad)
    bad.write_text('{"nodes": {"model.p.x": {"resource_type": "model", "config": {"materialized": "view"}}}}')
    with pytest.raises(ConfigError, match=r"nodes\.model\.p\.x"):
        dbt_relations(bad)
