"""A configured dbt manifest marks the SQLite views dbt builds: plan blocks them, as on PostgreSQL."""

from __future__ import annotations

import json

import pytest

from tests.helpers import invoke
from tests.sqlite_project import CONFIG, REGISTRY, make_warehouse


def _node(name: str, schema: str, *, alias: str | None = None, relation_name: str | None = None,
          materialized: str = "view", resource_type: str = "model") -> dict:
    """One manifest node in the v12 shape (the fields dbt_relations reads, plus the usual ones)."""
    return {
        "database": "main", "schema": schema, "name": name, "resource_type": resource_type,
        "package_name": "jaffle", "path": f"{name}.sql", "original_file_path": f"models/{name}.sql",
        "unique_id": f"{resource_type}.jaffle.{name}", "fqn": ["jaffle", name], "alias": alias or name,
        "checksum": {"name": "sha256", "checksum": "0" * 64},
        "config": {"enabled": True, "materialized": materialized, "tags": [], "meta": {}},
        "relation_name": relation_name, "raw_code": "select 1", "depends_on": {"macros": [], "nodes": []},
    }


def _manifest() -> dict:
    nodes = [
        _node("direct_v", "main", relation_name='"main"."direct_v"'),
        # no relation_name: schema + alias; another case than the warehouse (SQLite folds names)
        _node("side_model", "main", alias="SIDE_V"),
        # same name in another schema is not the warehouse's main.blocked_v
        _node("blocked_v", "elsewhere", relation_name='"elsewhere"."blocked_v"'),
        # ephemeral models build nothing
        _node("cte_over_table", "main", materialized="ephemeral"),
    ]
    return {"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json",
                         "dbt_version": "1.9.1", "adapter_type": "sqlite"},
            "nodes": {n["unique_id"]: n for n in nodes}, "sources": {}, "macros": {}, "exposures": {},
            "metrics": {}, "groups": {}, "selectors": {}, "disabled": {}, "parent_map": {}, "child_map": {},
            "group_map": {}, "saved_queries": {}, "semantic_models": {}, "unit_tests": {}}


@pytest.fixture
def project(in_tmp):
    make_warehouse(in_tmp / "wh.db")
    (in_tmp / "deprecations.yml").write_text(REGISTRY)
    (in_tmp / "dbt" / "target").mkdir(parents=True)
    (in_tmp / "dbt" / "target" / "manifest.json").write_text(json.dumps(_manifest()))
    (in_tmp / "deprecator.yml").write_text(CONFIG + "dbt:\n  manifest: dbt/target/manifest.json\n")
    return in_tmp


def _actions() -> dict[str, dict]:
    data = json.loads(invoke(["plan", "--format", "json"]).stdout)
    return {v["name"]: v for v in data["views"]}


def test_plan_blocks_views_the_manifest_builds(project):
    by = _actions()
    for name in ("main.direct_v", "main.side_v"):
        assert by[name]["action"] == "blocked", by[name]
        assert by[name]["blockers"][0]["reason"].startswith("managed by dbt"), by[name]
    # not built by dbt in main: rewritten / blocked for their own reasons, as without a manifest
    assert by["main.cte_over_table"]["action"] == "rewrite"
    assert not any(b["reason"].startswith("managed by dbt") for b in by["main.blocked_v"]["blockers"])

    out = invoke(["plan"]).stdout
    assert "! main.direct_v: blocked" in out
    assert "managed by dbt: a change in the warehouse would be overwritten on its next run" in out

    # without the dbt section the same views are rewritten
    (project / "deprecator.yml").write_text(CONFIG)
    by = _actions()
    assert by["main.direct_v"]["action"] == "rewrite" and by["main.side_v"]["action"] == "rewrite"


def test_missing_manifest_is_a_config_error(project):
    (project / "dbt" / "target" / "manifest.json").unlink()
    r = invoke(["plan"], 2)          # configuration error
    assert "dbt.manifest" in r.stderr and "does not exist" in r.stderr
