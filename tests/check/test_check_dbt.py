"""The check on a dbt project with a manifest: refs mapped to relations, deprecation_date, versions, depends_on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deprecator.dbt.manifest import load_manifest
from deprecator.errors import ConfigError
from tests.check.check_project import ENV, commit, git, write
from tests.dbt_project import manifest
from tests.helpers import invoke


REGISTRY = """\
deprecations:
  - model: marts.cust_facts_tbl
    replacement: marts.entity_customers
    sunset: 2027-03-31
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    r = tmp_path / "shop"
    r.mkdir()
    git(r, "init", "-q", "-b", "main")
    write(r, "deprecator.yml", "registry: deprecations.yml\ndbt:\n  manifest: target/manifest.json\n")
    write(r, "deprecations.yml", REGISTRY)
    write(r, "target/manifest.json", json.dumps(manifest()))
    write(r, ".gitignore", "target/\n")
    write(r, "models/user_model.sql", "select 1 as id\n")
    commit(r, "init")
    git(r, "checkout", "-q", "-b", "feature")
    monkeypatch.chdir(r)
    return r


def report(*args: str, code: int) -> dict:
    return json.loads(invoke(["check", "--base", "main", "--format", "json", *args], code, env=ENV).stdout)


def test_refs_map_to_relations_through_the_manifest(project):
    # the model `customer_facts` builds marts.cust_facts_tbl: only the manifest can tell
    write(project, "models/user_model.sql", "select * from {{ ref('customer_facts') }}\n")
    commit(project, "use it")
    (f,) = report(code=1)["findings"]
    assert (f["deprecation"], f["written"], f["mapped_by"], f["relation"]) == (
        "marts.cust_facts_tbl", "ref('customer_facts')", "manifest", "dev.marts.cust_facts_tbl")
    # without the manifest the ref cannot be mapped: by name it does not match
    (project / "deprecator.yml").write_text("registry: deprecations.yml\n")
    assert report(code=0)["findings"] == []


def test_models_with_a_deprecation_date_and_versions(project):
    write(project, "models/user_model.sql",
          "select * from {{ ref('dim_customers', v=1) }}\n"
          "union all select * from {{ ref('dim_customers') }}\n"            # the latest version: fine
          "union all select * from {{ ref('dim_customers', version='1') }}\n"
          "union all select * from {{ ref('shop', 'legacy_orders') }}\n")
    commit(project, "versions")
    got = [(f["line"], f["deprecation"], f["replacement"], f["sunset"]) for f in report(code=1)["findings"]]
    assert got == [(1, "dev.marts.dim_customers_v1", "ref('dim_customers', v=2)", "2027-02-01"),
                   (3, "dev.marts.dim_customers_v1", "ref('dim_customers', v=2)", "2027-02-01"),
                   (4, "dev.marts.legacy_orders", "marts.orders", "2027-05-01")]


def test_dynamic_refs_use_the_manifests_depends_on(project):
    write(project, "models/dyn.sql", "select * from {{ ref(var('source_model')) }}\n")
    commit(project, "dynamic")
    (f,) = report(code=1)["findings"]
    assert (f["via"], f["mapped_by"], f["column"], f["deprecation"]) == (
        "dynamic_ref", "depends_on", 18, "marts.cust_facts_tbl")
    # without a manifest it is a note: only dbt knows where it points
    (project / "deprecator.yml").write_text("registry: deprecations.yml\n")
    r = invoke(["check", "--base", "main"], 0, env=ENV)
    assert "models/dyn.sql:1:18: note: ref(var('source_model')) is dynamic" in r.stdout


def test_refs_missing_from_the_manifest_are_said_plainly(project):
    write(project, "models/user_model.sql", "select * from {{ ref('brand_new_model') }} -- customer_facts\n")
    commit(project, "new")
    notes = report(code=0)["notes"]
    assert any("ref('brand_new_model') is not in the manifest" in n["message"] for n in notes)


def test_registry_and_manifest_disagreeing_is_reported(project):
    (project / "deprecations.yml").write_text(REGISTRY + """\
  - model: marts.legacy_orders
    replacement: marts.orders_v2
    sunset: 2027-06-30
""")
    write(project, "models/user_model.sql", "select * from {{ ref('legacy_orders') }}\n")
    commit(project, "both")
    out = report(code=1)
    (f,) = out["findings"]
    assert f["deprecation"] == "marts.legacy_orders" and f["sunset"] == "2027-06-30"   # the registry wins
    assert any("disagree; the registry wins" in n["message"] for n in out["notes"])


def test_name_only_matches_say_so(project):
    (project / "deprecator.yml").write_text("registry: deprecations.yml\n")
    write(project, "models/user_model.sql", "select * from {{ ref('cust_facts_tbl') }}\n")
    commit(project, "by name")
    r = invoke(["check", "--base", "main"], 1, env=ENV)
    assert "matched to deprecations by model name only; give --manifest" in r.stdout


@pytest.mark.parametrize("version,ok", [(9, False), (10, True), (11, True), (12, True), (13, False)])
def test_manifest_schema_versions(tmp_path, version, ok):
    p = tmp_path / "manifest.json"
    p.write_text(json.dumps(manifest(f"https://schemas.getdbt.com/dbt/manifest/v{version}.json")))
    if ok:
        assert load_manifest(p).schema == version
    else:
        with pytest.raises(ConfigError, match=f"schema v{version} is not supported"):
            load_manifest(p)


def test_an_unsupported_manifest_fails_the_check_with_exit_2(project):
    write(project, "target/manifest.json", json.dumps(manifest("https://schemas.getdbt.com/dbt/manifest/v7.json")))
    r = invoke(["check"], 2, env=ENV)
    assert "manifest.json: metadata.dbt_schema_version: dbt manifest schema v7 is not supported" in r.stderr


def test_a_manifest_without_registry_is_enough(project):
    (project / "deprecations.yml").unlink()
    write(project, "models/user_model.sql", "select * from {{ ref('legacy_orders') }}\n")
    commit(project, "manifest only")
    (f,) = report(code=1)["findings"]
    assert f["replacement"] == "marts.orders"


def test_manifest_nodes_for_a_file(tmp_path):
    p = tmp_path / "m.json"
    p.write_text(json.dumps(manifest()))
    m = load_manifest(p)
    assert [n.unique_id for n in m.nodes_for_file("models/dyn.sql")] == ["model.shop.dyn"]
    assert m.resolve_ref("dim_customers").version == "2"
    assert m.resolve_ref("dim_customers", version="1").version == "1"
    assert m.resolve_ref("customer_facts", "other_pkg") is None
    assert str(Path(m.path).name) == "m.json"


def test_relations_only_the_compiled_sql_shows_are_found(project):
    m = manifest()
    m["nodes"]["model.shop.user_model"]["compiled_code"] = (
        "select * from dev.marts.cust_facts_tbl  -- what {{ legacy_macro() }} renders to\n")
    # the second model has no compiled_code: dbt compile wrote target/compiled/ instead
    write(project, "target/compiled/shop/models/dyn.sql", "select * from marts.cust_facts_tbl\n")
    write(project, "target/manifest.json", json.dumps(m))
    write(project, "models/user_model.sql", "select * from {{ legacy_macro() }}\n")
    write(project, "models/dyn.sql", "select 1 as one -- no longer dynamic\n")
    commit(project, "macro")
    got = [(f["path"], f["line"], f["via"], f["deprecation"], f["new"]) for f in report(code=1)["findings"]]
    assert got == [("models/dyn.sql", 1, "compiled", "marts.cust_facts_tbl", True),
                   ("models/user_model.sql", 1, "compiled", "marts.cust_facts_tbl", True)]
    text = invoke(["check", "--base", "main"], 1, env=ENV).stdout
    assert "in the compiled SQL only (a macro or a variable writes it, not this file)" in text
    # a reference the file writes itself is reported at its place, not again from the compiled SQL
    write(project, "models/user_model.sql", "select * from {{ ref('customer_facts') }}\n")
    got = [(f["path"], f["via"]) for f in report(code=1)["findings"]]
    assert ("models/user_model.sql", "ref") in got and ("models/user_model.sql", "compiled") not in got


def test_a_dynamic_ref_outside_any_model_is_said_plainly(project):
    write(project, "macros/my_ref.sql",
          "{% macro my_ref(name) %}{{ return(builtins.ref(name)) }}{% endmacro %} -- was customer_facts\n")
    commit(project, "macro")
    notes = [n["message"] for n in report(code=0)["notes"]]
    assert any("builtins.ref(name) is dynamic and the manifest has no model for this file" in n for n in notes)


def test_sources_map_through_the_manifest(project):
    m = manifest()
    m["sources"] = {"source.shop.legacy_raw.customers": {
        "unique_id": "source.shop.legacy_raw.customers", "resource_type": "source", "package_name": "shop",
        "source_name": "legacy_raw", "name": "customers", "identifier": "customers_tbl",
        "relation_name": '"dev"."raw_v1"."customers_tbl"', "original_file_path": "models/sources.yml",
        "depends_on": {}, "meta": {}}}
    write(project, "target/manifest.json", json.dumps(m))
    (project / "deprecations.yml").write_text(REGISTRY + """\
  - model: raw_v1.customers_tbl
    replacement: raw_v2.customers
    sunset: 2027-03-31
""")
    write(project, "models/user_model.sql",
          "select * from {{ source('legacy_raw', 'customers') }}\n"
          "union all select * from {{ source('other', 'customers') }}\n")   # another source: not it
    commit(project, "source")
    (f,) = report(code=1)["findings"]
    assert (f["line"], f["via"], f["mapped_by"], f["deprecation"], f["relation"]) == (
        1, "source", "manifest", "raw_v1.customers_tbl", "dev.raw_v1.customers_tbl")
