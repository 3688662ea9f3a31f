"""`deprecator scan` reads dbt models (SQL with Jinja) as `check` does, on the real dbt project
tests/data/dbt_shop (its manifest.json written by a real `dbt parse`)."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.dbt_project import SHOP
from tests.helpers import invoke

REGISTRY = """deprecations:
  - model: analytics.stg_customers
    replacement: analytics.entity_customers
    sunset: 2027-03-31
  - model: analytics.entity_customers
    replacement: analytics.customers_v3
    sunset: 2027-06-30
"""


def _project(tmp_path, monkeypatch, manifest: bool):
    dest = tmp_path / "shop"
    shutil.copytree(SHOP, dest)
    (dest / "deprecations.yml").write_text(REGISTRY, encoding="utf-8")
    dbt = "dbt:\n  manifest: manifest.json\n" if manifest else ""
    (dest / "deprecator.yml").write_text(
        "warehouse:\n  dialect: postgres\n  default_schema: analytics\nregistry: deprecations.yml\n"
        f"paths: [models/]\nstate:\n  url: sqlite:///state.db\n{dbt}", encoding="utf-8")
    monkeypatch.chdir(dest)
    return dest


def _at(path: str, line: int, written: str) -> tuple[str, int, int]:
    """(path, line, column), the column found in the file's text, not by the code under test."""
    text = (SHOP / path).read_text(encoding="utf-8").split("\n")[line - 1]
    return path, line, text.index(written) + 1


def _scan() -> dict:
    return json.loads(invoke(["scan", "--format", "json"]).stdout)


@pytest.mark.parametrize("manifest", [False, True])
def test_refs_and_raw_names_in_models_are_found_at_their_places(tmp_path, monkeypatch, manifest):
    _project(tmp_path, monkeypatch, manifest)
    report = _scan()
    got = sorted((f["deprecation"], f["path"], f["line"], f["column"], f["source"], f["via"])
                 for f in report["findings"] if f["deprecation"].startswith("analytics."))   # the registry's
    stg = [("analytics.stg_customers", *_at(p, 1 if "v1" in p or "v2" in p or "entity" in p else 2,
                                           "ref('stg_customers')"), "dbt_model", "ref")
           for p in ("models/marts/customer_facts.sql", "models/marts/dim_customers_v1.sql",
                     "models/marts/dim_customers_v2.sql", "models/marts/entity_customers.sql")]
    ent = [("analytics.entity_customers", *_at("models/marts/every_ref_form.sql", 7, "ref('entity_customers')"),
            "dbt_model", "ref"),
           # raw_name.sql has no Jinja: an ordinary file, as before
           ("analytics.entity_customers", *_at("models/marts/raw_name.sql", 2, "analytics.entity_customers"),
            "file", None)]
    assert got == sorted(stg + ent)
    # no model is reported as not parsed: the Jinja is read, not handed to the SQL parser
    assert [u for u in report["unparsed"] if "customer" in u["object"]] == []
    notes = {f["note"] for f in report["findings"] if f["via"] == "ref"}
    if manifest:
        assert notes == {None}
    else:   # mapped by the model's name: the output says so
        assert notes and all(n and "by model name" in n for n in notes)


def test_text_report_lists_dbt_models(tmp_path, monkeypatch):
    _project(tmp_path, monkeypatch, True)
    out = invoke(["scan"]).stdout
    head = out.split("\n\n")[0]
    assert "no references found" not in head
    # models counted once each, then every place (a model may name it more than once)
    import re
    shown = [(int(m), int(r)) for m, r in re.findall(r"(\d+) dbt models? \((\d+) references?\):", out)]
    report = _scan()
    expected = []
    for dep in sorted({f["deprecation"] for f in report["findings"] if f["source"] == "dbt_model"}):
        places = {(f["path"], f["line"], f["column"]) for f in report["findings"]
                  if f["source"] == "dbt_model" and f["deprecation"] == dep}
        expected.append((len({p for p, _, _ in places}), len(places)))
    assert sorted(shown) == sorted(expected) and any(m < r for m, r in shown), (shown, out)
    assert "models/marts/customer_facts.sql:2:" in head


def test_a_model_whose_jinja_does_not_parse_is_reported(tmp_path, monkeypatch):
    dest = _project(tmp_path, monkeypatch, False)
    (dest / "models" / "broken.sql").write_text("select * from {{ ref('stg_customers') \n", encoding="utf-8")
    report = _scan()
    broken = [u for u in report["unparsed"] if u["object"] == "models/broken.sql"]
    assert len(broken) == 1 and "Jinja" in broken[0]["error"], report["unparsed"]


def test_models_dbt_marks_deprecated_are_scanned_too(tmp_path, monkeypatch):
    """With `dbt: manifest:`, a model with a deprecation_date is a deprecation for the scan as for check and
    list: its ref()s and the raw name of its relation are found, with an empty registry."""
    dest = _project(tmp_path, monkeypatch, True)
    (dest / "deprecations.yml").write_text("deprecations: []\n", encoding="utf-8")
    report = json.loads(invoke(["scan", "--format", "json"], env={"DEPRECATOR_TODAY": "2026-12-02"}).stdout)
    got = sorted((f["deprecation"], f["path"], f["line"], f["column"], f["via"]) for f in report["findings"])
    form = "models/marts/every_ref_form.sql"
    facts, v1 = "shop.analytics_marts.cust_facts_tbl", "shop.analytics.dim_customers_v1"
    assert got == sorted([
        (facts, *_at("models/marts/dynamic_ref.sql", 1, "ref(var('facts_model', 'customer_facts'))"),
         "dynamic_ref"),
        (facts, *_at(form, 1, "ref('customer_facts')"), "ref"),
        (facts, *_at(form, 2, 'ref("customer_facts")'), "ref"),
        (facts, *_at(form, 4, "ref('shop', 'customer_facts')"), "ref"),
        (v1, *_at(form, 7, "ref('dim_customers', v=1)"), "ref"),
        (v1, *_at(form, 9, "ref('dim_customers', version='1')"), "ref"),
        (facts, *_at("models/marts/raw_name.sql", 4, "analytics_marts.cust_facts_tbl"), None),
    ])
    out = invoke(["scan"], env={"DEPRECATOR_TODAY": "2026-12-02"}).stdout
    assert "shop.analytics_marts.cust_facts_tbl -> analytics.entity_customers (sunset 2027-03-31)" in out
    assert "dim_customers_v1 -> ref('dim_customers', v=2) (sunset 2027-01-31)" in out
