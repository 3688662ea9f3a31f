"""`deprecator list` shows the models dbt marks deprecated (`deprecation_date`), read from the manifest a
real `dbt parse` wrote (tests/data/dbt_shop), merged with the registry as `check` merges them."""

from __future__ import annotations

import json
import shutil

from tests.dbt_project import SHOP
from tests.helpers import invoke

TODAY = {"DEPRECATOR_TODAY": "2026-12-02"}


def _project(tmp_path, monkeypatch, registry: str, manifest: bool = True):
    dest = tmp_path / "shop"
    shutil.copytree(SHOP, dest)
    (dest / "deprecations.yml").write_text(registry, encoding="utf-8")
    dbt = "dbt:\n  manifest: manifest.json\n" if manifest else ""
    (dest / "deprecator.yml").write_text(
        "warehouse:\n  dialect: postgres\n  default_schema: analytics\nregistry: deprecations.yml\n" + dbt,
        encoding="utf-8")
    monkeypatch.chdir(dest)
    return dest


def test_an_empty_registry_lists_the_manifests_deprecated_models(tmp_path, monkeypatch):
    _project(tmp_path, monkeypatch, "deprecations: []\n")
    out = invoke(["list"], env=TODAY).stdout
    assert "No deprecations" not in out
    assert "shop.analytics_marts.cust_facts_tbl (dbt)" in out and "analytics.entity_customers" in out
    assert "shop.analytics.dim_customers_v1 (dbt)" in out and "ref('dim_customers', v=2)" in out
    assert "2 deprecations from the dbt manifest manifest.json" in out
    data = json.loads(invoke(["list", "--format", "json"], env=TODAY).stdout)
    got = {d["model"]: (d["origin"], d["replacement"], d["sunset"], d["stage"], d["days_to_sunset"])
           for d in data["deprecations"]}
    assert got == {
        "shop.analytics_marts.cust_facts_tbl": ("dbt", "analytics.entity_customers", "2027-03-31", "deprecated", 119),
        "shop.analytics.dim_customers_v1": ("dbt", "ref('dim_customers', v=2)", "2027-01-31", "deprecated", 60),
    }
    assert data["manifest"] == "manifest.json"


def test_the_registry_wins_where_both_name_a_model(tmp_path, monkeypatch):
    _project(tmp_path, monkeypatch, """deprecations:
  - model: analytics_marts.cust_facts_tbl
    replacement: analytics.entity_customers
    sunset: 2027-06-30
""")
    data = json.loads(invoke(["list", "--format", "json"], env=TODAY).stdout)
    got = [(d["model"], d["origin"], d["sunset"]) for d in data["deprecations"]]
    assert got == [("analytics_marts.cust_facts_tbl", "registry", "2027-06-30"),
                   ("shop.analytics.dim_customers_v1", "dbt", "2027-01-31")]
    assert any("disagree; the registry wins" in n for n in data["notes"])
    out = invoke(["list"], env=TODAY).stdout
    assert "disagree; the registry wins" in out


def test_without_a_manifest_the_output_is_unchanged(tmp_path, monkeypatch):
    _project(tmp_path, monkeypatch, "deprecations: []\n", manifest=False)
    out = invoke(["list"], env=TODAY).stdout
    assert out.startswith("No deprecations in deprecations.yml.")
    data = json.loads(invoke(["list", "--format", "json"], env=TODAY).stdout)
    assert set(data) == {"today", "registry", "deprecations"} and data["deprecations"] == []
