"""The check on a small real dbt project whose manifest.json a real `dbt parse` wrote (tests/data/dbt_shop)."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.dbt_project import SHOP, dbt_venv
from tests.helpers import invoke


@pytest.fixture
def shop(tmp_path, monkeypatch):
    dest = tmp_path / "shop"
    shutil.copytree(SHOP, dest)
    monkeypatch.chdir(dest)
    return dest


def _findings(manifest: str = "manifest.json") -> list[dict]:
    out = invoke(["check", "models", "--manifest", manifest, "--format", "json"], 1,
                 env={"DEPRECATOR_TODAY": "2026-12-02"}).stdout
    return json.loads(out)["findings"]


def _at(path: str, line: int, written: str) -> tuple[str, int, int, str]:
    """(path, line, column, written) with the column found in the file's text, not by the code under test."""
    text = (SHOP / path).read_text(encoding="utf-8").split("\n")[line - 1]
    return path, line, text.index(written) + 1, written


def test_every_ref_form_in_a_real_dbt_project(shop):
    got = [(f["path"], f["line"], f["column"], f["written"]) for f in _findings()]
    form = "models/marts/every_ref_form.sql"
    assert got == [
        _at("models/marts/dynamic_ref.sql", 1, "ref(var('facts_model', 'customer_facts'))"),
        _at(form, 1, "ref('customer_facts')"),
        _at(form, 2, 'ref("customer_facts")'),
        _at(form, 4, "ref('shop', 'customer_facts')"),
        _at(form, 7, "ref('dim_customers', v=1)"),
        _at(form, 9, "ref('dim_customers', version='1')"),
        _at("models/marts/raw_name.sql", 4, "analytics_marts.cust_facts_tbl"),
    ]


def test_deprecations_and_relations_come_from_the_manifest(shop):
    by_written = {f["written"]: f for f in _findings()}
    facts = by_written["ref('customer_facts')"]
    # the model builds analytics_marts.cust_facts_tbl (alias + dbt's schema naming): only the manifest knows
    assert facts["relation"] == "shop.analytics_marts.cust_facts_tbl" and facts["mapped_by"] == "manifest"
    assert facts["replacement"] == "analytics.entity_customers"          # meta.deprecator.replacement
    assert facts["sunset"] == "2027-03-31"
    v1 = by_written["ref('dim_customers', v=1)"]
    assert v1["replacement"] == "ref('dim_customers', v=2)" and v1["sunset"] == "2027-01-31"
    dyn = by_written["ref(var('facts_model', 'customer_facts'))"]
    assert (dyn["via"], dyn["mapped_by"]) == ("dynamic_ref", "depends_on")
    raw = by_written["analytics_marts.cust_facts_tbl"]
    assert (raw["via"], raw["mapped_by"]) == ("relation", "sql")


def _essentials(manifest: dict) -> dict:
    keep = ("relation_name", "deprecation_date", "version", "latest_version", "original_file_path", "group")
    return {uid: {**{k: n.get(k) for k in keep}, "depends_on": sorted(n["depends_on"]["nodes"])}
            for uid, n in manifest["nodes"].items() if n["resource_type"] == "model"}


@pytest.mark.slow
def test_the_committed_manifest_is_what_dbt_parse_writes(shop):
    dbt = dbt_venv()
    proc = subprocess.run([str(dbt), "parse", "--profiles-dir", ".", "--project-dir", "."], cwd=shop,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    fresh = json.loads((shop / "target" / "manifest.json").read_text())
    committed = json.loads((SHOP / "manifest.json").read_text())
    assert fresh["metadata"]["dbt_schema_version"] == committed["metadata"]["dbt_schema_version"]
    assert _essentials(fresh) == _essentials(committed), (
        "tests/data/dbt_shop/manifest.json is stale; regenerate it (see tests/data/dbt_shop/README.md)")
    # dbt itself warns about the deprecated refs, without file or line: the check gives both
    assert "slated for deprecation" in proc.stdout
    assert _findings("target/manifest.json") == _findings("manifest.json")
