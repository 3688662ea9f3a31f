"""`deprecator dbt sync`: the registry's deprecations written into dbt properties YAML, every other byte kept."""

from __future__ import annotations

import difflib
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.dbt_project import SHOP, dbt_venv, git, repo
from tests.helpers import invoke

REGISTRY = """\
deprecations:
  - model: analytics_marts.cust_facts_tbl
    replacement: analytics.entity_customers
    sunset: 2027-04-30
    contact: "#customer-data"
    migration_guide: https://wiki.example.com/customer-facts
  - model: analytics.dim_customers_v1
    replacement: analytics.dim_customers_v2
    sunset: 2027-01-31
    owner: "@bo"
"""


def load(path: Path):
    return YAML(typ="safe", pure=True).load(path.read_text())


@pytest.fixture
def shop(tmp_path, monkeypatch):
    dest = tmp_path / "shop"
    shutil.copytree(SHOP, dest)
    (dest / "deprecations.yml").write_text(REGISTRY)
    monkeypatch.chdir(dest)
    return repo(dest)


def _changed_lines(before: str, after: str) -> tuple[list[str], list[str]]:
    removed, added = [], []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, before.splitlines(), after.splitlines()).get_opcodes():
        if op != "equal":
            removed += before.splitlines()[i1:i2]
            added += after.splitlines()[j1:j2]
    return removed, added


def test_sync_writes_the_dates_and_meta_keeping_every_other_line(shop):
    schema = shop / "models/marts/schema.yml"
    before = schema.read_text()
    res = invoke(["dbt", "sync", ".", "--manifest", "manifest.json"])
    assert "Synced 2 model(s) in 1 file(s)" in res.stderr
    after = schema.read_text()
    removed, added = _changed_lines(before, after)
    # only the values that change are replaced, in place; everything added is one of the synced keys
    assert removed == ["    deprecation_date: 2027-03-31"]
    assert added == ["    deprecation_date: 2027-04-30",
                     "          guide: https://wiki.example.com/customer-facts",
                     "          contact: \"#customer-data\"",
                     "        config:", "          meta:", "            deprecator:",
                     "              replacement: analytics.dim_customers_v2",
                     "              contact: \"@bo\""]
    data = load(schema)
    facts = next(m for m in data["models"] if m["name"] == "customer_facts")
    assert str(facts["deprecation_date"]) == "2027-04-30"
    assert facts["config"]["meta"] == {"owner": "@ana", "deprecator": {
        "replacement": "analytics.entity_customers", "guide": "https://wiki.example.com/customer-facts",
        "contact": "#customer-data"}}
    v1 = next(m for m in data["models"] if m["name"] == "dim_customers")["versions"][0]
    assert str(v1["deprecation_date"]) == "2027-01-31" and v1["config"]["meta"]["deprecator"]["contact"] == "@bo"
    # idempotent: a second run changes nothing and --check agrees
    again = invoke(["dbt", "sync", ".", "--manifest", "manifest.json"])
    assert "Up to date" in again.stderr and schema.read_text() == after
    invoke(["dbt", "sync", ".", "--manifest", "manifest.json", "--check"], 0)


def test_check_and_dry_run_write_nothing_and_the_dry_run_diff_applies(shop):
    res = invoke(["dbt", "sync", ".", "--manifest", "manifest.json", "--check"], 1)
    assert "Out of date: 2 model(s)" in res.stderr
    dry = invoke(["dbt", "sync", ".", "--manifest", "manifest.json", "--dry-run"])
    assert git(shop, "status", "--porcelain") == ""
    (shop / "s.patch").write_text(dry.stdout)
    git(shop, "apply", "s.patch")
    invoke(["dbt", "sync", ".", "--manifest", "manifest.json", "--check"], 0)
    data = json.loads(invoke(["dbt", "sync", ".", "--manifest", "manifest.json", "--format", "json"]).stdout)
    assert not data["out_of_date"] and {c["action"] for c in data["changes"]} == {"unchanged"}


COMMENTED = """\
# team properties: keep this comment
version: 2

models:
    # the legacy model
    -   name: customer_facts   # trailing comment
        description: 'Old, with "quotes".'
        deprecation_date: "2020-01-01"  # wrong date, fixed by sync
        meta: {owner: "@ana"}
        columns:
            -   name: cust_id
                tests: [not_null]   # flow list kept
    -   name: other
"""


def test_comments_order_and_layout_survive_and_flow_mappings_are_refused(tmp_path, monkeypatch):
    proj = tmp_path / "p"
    (proj / "models").mkdir(parents=True)
    (proj / "models" / "customer_facts.sql").write_text("select 1 as cust_id\n")
    (proj / "models" / "props.yml").write_text(COMMENTED)
    (proj / "deprecations.yml").write_text(
        "deprecations:\n  - model: analytics.customer_facts\n    replacement: analytics.entity_customers\n"
        "    sunset: 2027-03-31\n")
    monkeypatch.chdir(proj)
    # `meta: {...}` is a flow mapping: refused with the place, nothing written
    res = invoke(["dbt", "sync", "."], 2)
    assert "models/props.yml:9" in res.stderr and "meta" in res.stderr
    assert (proj / "models" / "props.yml").read_text() == COMMENTED
    fixed = COMMENTED.replace('        meta: {owner: "@ana"}\n', '        meta:\n            owner: "@ana"\n')
    (proj / "models" / "props.yml").write_text(fixed)
    invoke(["dbt", "sync", "."])
    after = (proj / "models" / "props.yml").read_text()
    assert after == fixed.replace('"2020-01-01"  # wrong', '2027-03-31  # wrong').replace(
        '            owner: "@ana"\n',
        '            owner: "@ana"\n            deprecator:\n                replacement: analytics.entity_customers\n')
    invoke(["dbt", "sync", ".", "--check"])
    # once `deprecator guide` has written the generated guide, the entry links it (and only then)
    (proj / "migration_guides").mkdir()
    (proj / "migration_guides" / "customer_facts.md").write_text("# guide\n")
    invoke(["dbt", "sync", ".", "--check"], 1)
    invoke(["dbt", "sync", "."])
    assert "                guide: migration_guides/customer_facts.md\n" in (proj / "models" / "props.yml").read_text()


def test_a_model_without_properties_gets_an_entry_in_deprecations_yml(tmp_path, monkeypatch):
    proj = tmp_path / "p"
    (proj / "models" / "staging").mkdir(parents=True)
    for name in ("stg_a", "stg_b"):
        (proj / "models" / "staging" / f"{name}.sql").write_text("select 1 as x\n")
    (proj / "deprecations.yml").write_text(
        "deprecations:\n"
        "  - {model: analytics.stg_a, replacement: analytics.stg_c, sunset: 2027-03-31}\n"
        "  - {model: analytics.stg_b, replacement: analytics.stg_c, sunset: 2027-04-30}\n"
        "  - {model: analytics.not_dbt, replacement: analytics.stg_c, sunset: 2027-04-30}\n")
    monkeypatch.chdir(proj)
    res = invoke(["dbt", "sync", "."])
    assert "skipped analytics.not_dbt: no model named not_dbt" in res.stderr
    made = proj / "models" / "staging" / "_deprecations.yml"
    data = load(made)
    assert [(m["name"], str(m["deprecation_date"]), m["config"]["meta"]["deprecator"]["replacement"])
            for m in data["models"]] == [("stg_a", "2027-03-31", "analytics.stg_c"),
                                         ("stg_b", "2027-04-30", "analytics.stg_c")]
    text = made.read_text()
    invoke(["dbt", "sync", ".", "--check"])
    assert made.read_text() == text


@pytest.mark.slow
def test_dbt_parse_reads_the_synced_deprecations_and_warns(shop):
    dbt = dbt_venv()
    (shop / "deprecations.yml").write_text(
        REGISTRY + "  - model: analytics.stg_customers\n    replacement: analytics.entity_customers\n"
                   "    sunset: 2027-06-30\n")
    invoke(["dbt", "sync", ".", "--manifest", "manifest.json"])
    assert (shop / "models/staging/_deprecations.yml").is_file()
    proc = subprocess.run([str(dbt), "parse", "--profiles-dir", ".", "--project-dir", "."], cwd=shop,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    nodes = json.loads((shop / "target" / "manifest.json").read_text())["nodes"]
    stg = nodes["model.shop.stg_customers"]
    assert stg["deprecation_date"].startswith("2027-06-30")
    assert stg["config"]["meta"]["deprecator"]["replacement"] == "analytics.entity_customers"
    assert nodes["model.shop.customer_facts"]["deprecation_date"].startswith("2027-04-30")
    assert "stg_customers" in proc.stdout and "slated for deprecation" in proc.stdout


def test_crlf_files_keep_their_line_endings(tmp_path, monkeypatch):
    proj = tmp_path / "p"
    (proj / "models").mkdir(parents=True)
    (proj / "models" / "m.sql").write_text("select 1 as x\n")
    (proj / "models" / "p.yml").write_bytes(b"version: 2\r\nmodels:\r\n  - name: m  # c\r\n    description: d\r\n")
    (proj / "deprecations.yml").write_text(
        'deprecations:\n  - {model: analytics.m, replacement: analytics.n, sunset: 2027-03-31, contact: "#x"}\n')
    monkeypatch.chdir(proj)
    invoke(["dbt", "sync", "."])
    assert (proj / "models" / "p.yml").read_bytes() == (
        b"version: 2\r\nmodels:\r\n  - name: m  # c\r\n    deprecation_date: 2027-03-31\r\n    config:\r\n"
        b"      meta:\r\n        deprecator:\r\n          replacement: analytics.n\r\n"
        b"          contact: \"#x\"\r\n    description: d\r\n")
    invoke(["dbt", "sync", ".", "--check"])
