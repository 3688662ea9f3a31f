"""`deprecator dbt codemod`: refs to deprecated models rewritten in place, on real files and real git repos."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from deprecator.dbt.codemod import run_codemod
from deprecator.dbt.refs import scan_jinja
from deprecator.registry import load_registry
from tests.dbt_project import SHOP, dbt_venv, git, manifest, node, repo
from tests.helpers import invoke

REGISTRY = """\
deprecations:
  - model: analytics_marts.cust_facts_tbl   # customer_facts (alias cust_facts_tbl, schema marts)
    replacement: analytics.entity_customers
    sunset: 2027-03-31
  - model: analytics.dim_customers_v1
    replacement: analytics.dim_customers_v2
    sunset: 2027-01-31
"""


@pytest.fixture
def shop(tmp_path, monkeypatch):
    dest = tmp_path / "shop"
    shutil.copytree(SHOP, dest)
    (dest / "deprecations.yml").write_text(REGISTRY)
    monkeypatch.chdir(dest)
    return repo(dest)


def _refs(path: Path) -> list[tuple[str | None, str | None, str | None]]:
    return [(r.package, r.name, r.version) for r in scan_jinja(path.read_text()).refs if r.kind == "ref"]


def test_the_diff_applies_with_git_and_the_refs_point_at_the_replacements(shop):
    before = {p: p.read_bytes() for p in shop.rglob("*.sql")}
    res = invoke(["dbt", "codemod", ".", "--manifest", "manifest.json"], 1)   # 1: the dynamic ref is blocked
    patch = shop / "codemod.patch"
    patch.write_text(res.stdout)
    assert {p: p.read_bytes() for p in shop.rglob("*.sql")} == before     # a diff writes nothing
    git(shop, "apply", "--check", str(patch))
    git(shop, "apply", str(patch))
    form = shop / "models/marts/every_ref_form.sql"
    assert _refs(form) == [
        (None, "entity_customers", None), (None, "entity_customers", None), ("shop", "entity_customers", None),
        (None, "dim_customers", "2"), (None, "entity_customers", None), (None, "dim_customers", "2")]
    # only the literals changed: the same text with the old names put back is the file as it was
    old = form.read_text().replace("'entity_customers')", "'customer_facts')").replace(
        '"entity_customers"', '"customer_facts"').replace("v=2", "v=1").replace("version='2'", "version='1'")
    assert old.replace("ref('customer_facts')])", "ref('entity_customers')])") == before[form].decode()
    # the exposure's depends_on in the properties YAML follows too, and only that line changes
    schema = shop / "models/marts/schema.yml"
    assert schema.read_text() == (SHOP / "models/marts/schema.yml").read_text().replace(
        "      - ref('customer_facts')", "      - ref('entity_customers')")
    # the dynamic ref is reported with its place, its file untouched
    assert "models/marts/dynamic_ref.sql:1:18: blocked (dynamic_ref" in res.stderr
    assert (shop / "models/marts/dynamic_ref.sql").read_bytes() == before[shop / "models/marts/dynamic_ref.sql"]
    # nothing left to do but the dynamic ref
    again = invoke(["dbt", "codemod", ".", "--manifest", "manifest.json"], 1)
    assert again.stdout == ""


def test_write_changes_the_files_in_place_as_the_diff_would(shop, tmp_path):
    diff = invoke(["dbt", "codemod", ".", "--manifest", "manifest.json"], 1).stdout
    other = tmp_path / "other"
    shutil.copytree(shop, other)
    (other / "p.patch").write_text(diff)
    git(other, "apply", "p.patch")
    res = invoke(["dbt", "codemod", ".", "--manifest", "manifest.json", "--write"], 1)
    assert res.stdout == "" and "Wrote 2 file(s)" in res.stderr
    assert "  ~ models/marts/every_ref_form.sql\n  ~ models/marts/schema.yml\n" in res.stderr
    for p in shop.rglob("*.sql"):
        assert p.read_bytes() == (other / p.relative_to(shop)).read_bytes(), p
    assert git(shop, "status", "--porcelain").split() == ["M", "models/marts/every_ref_form.sql",
                                                          "M", "models/marts/schema.yml"]


def test_json_lists_edits_and_typed_blockers(shop):
    data = json.loads(invoke(["dbt", "codemod", ".", "--manifest", "manifest.json", "--format", "json"], 1).stdout)
    by_path = {f["path"]: f for f in data["files"]}
    assert by_path["models/marts/dynamic_ref.sql"]["status"] == "blocked"
    assert not by_path["models/marts/dynamic_ref.sql"]["applied"] and by_path["models/marts/schema.yml"]["applied"]
    assert [b["kind"] for b in by_path["models/marts/dynamic_ref.sql"]["blockers"]] == ["dynamic_ref"]
    form = by_path["models/marts/every_ref_form.sql"]
    assert form["status"] == "rewrite" and {e["kind"] for e in form["edits"]} == {"ref"}
    assert [(e["line"], e["old"], e["new"]) for e in form["edits"]][:2] == [
        (1, "'customer_facts'", "'entity_customers'"), (2, '"customer_facts"', '"entity_customers"')]
    assert data["summary"] == {"rewritten": 2, "partial": 0, "blocked": 1}


# --------------------------------------------------------------------------- columns (generated projects)

COLUMNS = """\
deprecations:
  - model: analytics.customer_facts
    replacement: analytics.entity_customers
    sunset: 2027-03-31
    columns:
      cust_id: customer_id
      email_addr: email
"""

MODELS = {
    # renamed columns, qualified and not; Jinja elsewhere on the line and a CRLF file kept as written
    "a.sql": ("{{ config(materialized='table') }}\r\n-- a comment stays\r\n"
              "select cust_id, cf.email_addr as email, {{ var('x') }} as v\r\n"
              "from {{ ref('customer_facts') }} cf\r\nwhere cf.cust_id > 0\r\n"),
    "b.sql": 'select * from {{ ref("customer_facts") }}\n',
    "c.sql": "select c.cust_id, o.cust_id as oid from {{ ref('customer_facts') }} c join {{ ref('orders') }} o on true",
    "d.sql": "select cust_id from {{ ref('customer_facts') }}\n"
             "{% if is_incremental() %}where cust_id > (select max(cust_id) from {{ this }}){% endif %}\n",
    "e.sql": "select * from {{ dbt_utils.union_relations(relations=[ref('customer_facts'), ref('orders')]) }}\n",
    "f.sql": "select 1 as x from {{ ref('orders') }}\n",
    # a {{ ... }} over three lines: the relation stands on the line of the call
    "h.sql": "select cust_id from {{\n    ref('customer_facts')\n}} as cf\n",
}
AFTER = {
    "a.sql": ("{{ config(materialized='table') }}\r\n-- a comment stays\r\n"
              "select customer_id AS cust_id, cf.email as email, {{ var('x') }} as v\r\n"
              "from {{ ref('entity_customers') }} cf\r\nwhere cf.customer_id > 0\r\n"),
    "c.sql": "select c.customer_id AS cust_id, o.cust_id as oid from {{ ref('entity_customers') }} c "
             "join {{ ref('orders') }} o on true",
    "h.sql": "select customer_id AS cust_id from {{\n    ref('entity_customers')\n}} as cf\n",
}


@pytest.fixture
def cols(tmp_path, monkeypatch):
    proj = tmp_path / "proj"
    (proj / "models").mkdir(parents=True)
    (proj / "dbt_project.yml").write_text("name: proj\nprofile: proj\n")
    for name, text in MODELS.items():
        (proj / "models" / name).write_bytes(text.encode())
    (proj / "deprecations.yml").write_text(COLUMNS)
    monkeypatch.chdir(proj)
    return repo(proj)


def test_mapped_columns_are_rewritten_where_unambiguous(cols):
    res = invoke(["dbt", "codemod", "."], 1)
    (cols / "p.patch").write_bytes(res.stdout_bytes)
    git(cols, "apply", "--check", "p.patch")
    git(cols, "apply", "p.patch")
    for name, text in MODELS.items():
        assert (cols / "models" / name).read_bytes() == AFTER.get(name, text).encode(), name
    assert "refs matched by table name" in res.stderr


def test_blocked_files_keep_every_byte_and_say_why(cols):
    reg = load_registry(cols / "deprecations.yml", "postgres")
    result = run_codemod(cols, reg)
    status = {f.path: (f.status, [b.kind for b in f.blockers]) for f in result.files}
    assert status == {
        "models/a.sql": ("rewrite", []),
        "models/b.sql": ("blocked", ["column"]),            # SELECT * over columns that differ
        "models/c.sql": ("rewrite", []),
        "models/d.sql": ("blocked", ["column"]),            # cust_id in a subquery over {{ this }}
        "models/e.sql": ("blocked", ["ref_in_expression"]),  # columns cannot be followed through a macro
        "models/h.sql": ("rewrite", []),
    }
    b = next(f for f in result.files if f.path == "models/b.sql")
    assert b.after == b.before and b.diff() == ""
    assert "SELECT * over analytics.customer_facts" in b.blockers[0].reason
    assert "ref('entity_customers')" in b.blockers[0].reason     # no placeholder name leaks into a reason


def test_without_column_changes_a_ref_is_renamed_even_where_columns_cannot_be_followed(cols):
    (cols / "deprecations.yml").write_text(COLUMNS.split("    columns:")[0])
    reg = load_registry(cols / "deprecations.yml", "postgres")
    result = run_codemod(cols, reg)
    assert {f.path: f.status for f in result.files} == {f"models/{n}.sql": "rewrite" for n in "abcdeh"}
    e = next(f for f in result.files if f.path == "models/e.sql")
    assert e.after == MODELS["e.sql"].replace("ref('customer_facts')", "ref('entity_customers')")


def test_a_dynamic_ref_named_in_the_text_blocks_without_a_manifest_but_literal_refs_are_rewritten(cols):
    (cols / "models" / "g.sql").write_text(
        "select x from {{ ref(var('m', 'customer_facts')) }} union all select x from {{ ref('customer_facts') }}\n")
    (cols / "deprecations.yml").write_text(COLUMNS.split("    columns:")[0])
    result = run_codemod(cols, load_registry(cols / "deprecations.yml", "postgres"))
    g = next(f for f in result.files if f.path == "models/g.sql")
    assert g.status == "partial" and [b.kind for b in g.blockers] == ["dynamic_ref"]
    assert g.after.endswith("{{ ref('entity_customers') }}\n") and "var('m', 'customer_facts')" in g.after


# the jaffle-shop staging pattern: a SELECT * CTE over the ref, columns picked (and renamed) in the next one
STAGING = """\
with source as (

    select * from {{ ref('customer_facts') }}

),

renamed as (

    select
        cust_id as customer_key,
        email_addr,
        source.region
    from source
    where source.cust_id is not null

)

select * from renamed
"""


def test_columns_are_followed_through_a_select_star_cte(cols):
    (cols / "models" / "stg_customers.sql").write_text(STAGING)
    (cols / "models" / "all_columns.sql").write_text(STAGING.replace("select * from renamed", "select * from source"))
    result = run_codemod(cols, load_registry(cols / "deprecations.yml", "postgres"))
    files = {f.path: f for f in result.files}
    stg = files["models/stg_customers.sql"]
    assert (stg.status, stg.blockers) == ("rewrite", ())
    assert stg.after == (STAGING.replace("ref('customer_facts')", "ref('entity_customers')")
                         .replace("cust_id as customer_key", "customer_id as customer_key")
                         .replace("email_addr,", "email AS email_addr,")
                         .replace("source.cust_id is", "source.customer_id is"))
    # the model's own columns would change names through `select * from source`: blocked, untouched
    star = files["models/all_columns.sql"]
    assert star.status == "blocked" and star.after == star.before
    assert [b.kind for b in star.blockers] == ["column"]
    assert "SELECT * over 'source', which is SELECT * over analytics.customer_facts" in star.blockers[0].reason


@pytest.mark.slow
def test_a_staging_chain_rewritten_through_select_star_ctes_builds_the_same_table(tmp_path, monkeypatch):
    """dbt build (DuckDB) before and after the codemod: the mart reads the replacement, same columns, same rows."""
    proj = tmp_path / "jaffle"
    (proj / "models").mkdir(parents=True)
    (proj / "seeds").mkdir()
    (proj / "dbt_project.yml").write_text("name: jaffle\nprofile: jaffle\nconfig-version: 2\n"
                                          "models:\n  jaffle:\n    materialized: table\n")
    (proj / "profiles.yml").write_text("jaffle:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
                                       "      path: target/j.duckdb\n      schema: analytics\n")
    (proj / "seeds" / "raw_customers.csv").write_text("id,first_name\n1,Ann\n2,Bo\n3,Cy\n")
    (proj / "models" / "stg_customers.sql").write_text(
        "with source as (select * from {{ ref('raw_customers') }}),\n"
        "renamed as (select id as customer_id, first_name from source)\nselect * from renamed\n")
    (proj / "models" / "entity_customers.sql").write_text(
        "select customer_id as customer_key, first_name as given_name from {{ ref('stg_customers') }}\n")
    (proj / "models" / "customers.sql").write_text(
        "with customers as (\n    select * from {{ ref('stg_customers') }}\n),\n"
        "final as (\n    select customers.customer_id, first_name, customers.customer_id * 10 as score\n"
        "    from customers\n    where customers.customer_id > 1\n)\nselect * from final\n")
    (proj / "deprecations.yml").write_text(
        "deprecations:\n  - model: analytics.stg_customers\n    replacement: analytics.entity_customers\n"
        "    sunset: 2027-03-31\n    columns:\n      customer_id: customer_key\n      first_name: given_name\n")
    monkeypatch.chdir(proj)
    repo(proj)
    dbt = dbt_venv()
    dump = ("import duckdb; c = duckdb.connect('target/j.duckdb', read_only=True); "
            "print([r[0] for r in c.execute('describe analytics.customers').fetchall()]); "
            "print(c.execute('select * from analytics.customers order by 1').fetchall())")

    def build() -> str:
        proc = subprocess.run([str(dbt), "build", "--profiles-dir", ".", "--project-dir", "."], cwd=proj,
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        out = subprocess.run([str(dbt.parent / "python"), "-c", dump], cwd=proj, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        return out.stdout

    before = build()
    assert before == "['customer_id', 'first_name', 'score']\n[(2, 'Bo', 20), (3, 'Cy', 30)]\n"
    res = invoke(["dbt", "codemod", ".", "--write"], 1)   # 1: entity_customers itself reads stg_customers
    assert "  ~ models/customers.sql\n" in res.stderr
    assert (proj / "models" / "customers.sql").read_text() == (
        "with customers as (\n    select * from {{ ref('entity_customers') }}\n),\n"
        "final as (\n    select customers.customer_key AS customer_id, given_name AS first_name, "
        "customers.customer_key * 10 as score\n"
        "    from customers\n    where customers.customer_key > 1\n)\nselect * from final\n")
    assert build() == before


@pytest.mark.slow
def test_dbt_parse_reads_the_rewritten_project(shop):
    dbt = dbt_venv()
    invoke(["dbt", "codemod", ".", "--manifest", "manifest.json", "--write"], 1)
    proc = subprocess.run([str(dbt), "parse", "--profiles-dir", ".", "--project-dir", "."], cwd=shop,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    nodes = json.loads((shop / "target" / "manifest.json").read_text())["nodes"]
    assert sorted(nodes["model.shop.every_ref_form"]["depends_on"]["nodes"]) == [
        "model.shop.dim_customers.v2", "model.shop.entity_customers"]
    exposures = json.loads((shop / "target" / "manifest.json").read_text())["exposures"]
    assert exposures["exposure.shop.churn_dashboard"]["depends_on"]["nodes"] == ["model.shop.entity_customers"]


def test_a_ref_in_properties_yaml_is_blocked_when_columns_change(cols):
    props = ("version: 2\nmodels:\n  - name: orders\n    columns:\n      - name: cust_id\n"
             "        tests:\n          - relationships:\n              to: ref('customer_facts')\n"
             "              field: cust_id\n")
    (cols / "models" / "props.yml").write_text(props)
    result = run_codemod(cols, load_registry(cols / "deprecations.yml", "postgres"))
    y = next(f for f in result.files if f.path == "models/props.yml")
    assert (y.status, [(b.kind, b.line, b.column) for b in y.blockers]) == ("blocked", [("yaml_ref", 8, 19)])
    # without column changes the same ref is renamed in place
    (cols / "deprecations.yml").write_text(COLUMNS.split("    columns:")[0])
    result = run_codemod(cols, load_registry(cols / "deprecations.yml", "postgres"))
    y = next(f for f in result.files if f.path == "models/props.yml")
    assert y.after == props.replace("ref('customer_facts')", "ref('entity_customers')")


def test_version_arguments_follow_the_replacement(tmp_path, monkeypatch):
    """A generated manifest: to an unversioned model the version argument goes, to an older version one comes."""
    proj = tmp_path / "p"
    (proj / "models").mkdir(parents=True)
    (proj / "dbt_project.yml").write_text("name: shop\nprofile: shop\n")
    (proj / "manifest.json").write_text(json.dumps(manifest()))
    (proj / "models" / "user_model.sql").write_text(
        "select * from {{ ref('dim_customers', v=1) }} join {{ ref( \"dim_customers\" , version = '1' ) }} using (id)\n"
        "union all select * from {{ ref('shop', 'customer_facts') }}\n")
    monkeypatch.chdir(proj)

    def run(model: str, replacement: str) -> str:
        (proj / "deprecations.yml").write_text(
            f"deprecations:\n  - {{model: {model}, replacement: {replacement}, sunset: 2027-03-31}}\n")
        result = run_codemod(proj, load_registry(proj / "deprecations.yml", "postgres"),
                             manifest_path=proj / "manifest.json")
        [f] = result.files
        assert f.status == "rewrite"
        return f.after

    assert run("marts.dim_customers_v1", "marts.entity_customers") == (
        "select * from {{ ref('entity_customers') }} join {{ ref( \"entity_customers\" ) }} using (id)\n"
        "union all select * from {{ ref('shop', 'customer_facts') }}\n")
    # to a version that is not the latest, the ref pins it
    assert run("marts.cust_facts_tbl", "marts.dim_customers_v1").endswith(
        "union all select * from {{ ref('shop', 'dim_customers', v=1) }}\n")


def test_a_properties_file_that_does_not_parse_is_reported_not_skipped(cols):
    (cols / "models" / "props.yml").write_text("models:\n  - name: customer_facts\n   bad: [\n")
    result = run_codemod(cols, load_registry(cols / "deprecations.yml", "postgres"))
    y = next(f for f in result.files if f.path == "models/props.yml")
    assert (y.status, [(b.kind, b.line) for b in y.blockers]) == ("blocked", [("yaml_parse", 3)])


def test_without_a_registry_the_models_dbt_marks_deprecated_are_migrated(shop):
    """customer_facts: deprecation_date + meta.deprecator.replacement; dim_customers v1: an older version."""
    (shop / "deprecations.yml").unlink()
    registered = invoke(["dbt", "codemod", ".", "--manifest", "manifest.json"], 1)
    git(shop, "checkout", "-q", "--", ".")
    (shop / "deprecations.yml").write_text(REGISTRY)
    assert invoke(["dbt", "codemod", ".", "--manifest", "manifest.json"], 1).stdout == registered.stdout
    (shop / "deprecations.yml").unlink()
    data = json.loads(invoke(["dbt", "codemod", ".", "--manifest", "manifest.json", "--format", "json"], 1).stdout)
    assert {t["deprecation"]: t["replacement_ref"] for t in data["targets"]} == {
        "shop.analytics_marts.cust_facts_tbl": "ref('entity_customers')",
        "shop.analytics.dim_customers_v1": "ref('dim_customers')"}


def test_a_folder_of_models_without_dbt_project_yml_is_walked_itself(cols):
    (cols / "dbt_project.yml").unlink()
    res = invoke(["dbt", "codemod", "models"], 1)
    assert res.stdout.count("diff --git") == 3 and "diff --git a/models/a.sql b/models/a.sql" in res.stdout
    # walking the whole folder reads deprecator's own YAML too: it is no dbt properties file, never edited
    (cols / "deprecations.yml").write_text(COLUMNS.split("    columns:")[0] + "    reason: use ref('customer_facts')\n")
    res = invoke(["dbt", "codemod", "."], 0)
    assert "deprecations.yml" not in res.stdout and res.stdout.count("diff --git") == 6


def test_the_replacement_and_what_it_reads_are_never_pointed_at_the_replacement(tmp_path, monkeypatch):
    """As in the view plan: a ref rewritten inside the replacement (or a model it reads) would be a cycle."""
    proj = tmp_path / "p"
    (proj / "models").mkdir(parents=True)
    (proj / "dbt_project.yml").write_text("name: shop\nprofile: shop\n")
    nodes = dict([node("customer_facts", alias="cust_facts_tbl"),
                  node("bridge", depends=["model.shop.customer_facts"]),
                  node("entity_customers", depends=["model.shop.bridge"]),
                  node("user_model", depends=["model.shop.customer_facts"])])
    (proj / "manifest.json").write_text(json.dumps({
        "metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json",
                     "project_name": "shop"}, "nodes": nodes, "sources": {}}))
    for name in ("bridge", "entity_customers", "user_model"):
        up = "bridge" if name == "entity_customers" else "customer_facts"
        (proj / "models" / f"{name}.sql").write_text(f"select * from {{{{ ref('{up}') }}}}\n")
    (proj / "deprecations.yml").write_text(
        "deprecations:\n  - {model: marts.cust_facts_tbl, replacement: marts.entity_customers, sunset: 2027-03-31}\n")
    monkeypatch.chdir(proj)
    reg = load_registry(proj / "deprecations.yml", "postgres")
    got = {f.path: (f.status, [b.kind for b in f.blockers])
           for f in run_codemod(proj, reg, manifest_path=proj / "manifest.json").files}
    assert got == {"models/bridge.sql": ("blocked", ["cycle"]), "models/user_model.sql": ("rewrite", [])}
    # without a manifest only the replacement's own file can be told
    (proj / "models" / "entity_customers.sql").write_text("select * from {{ ref('customer_facts') }}\n")
    (proj / "deprecations.yml").write_text(
        "deprecations:\n  - {model: marts.customer_facts, replacement: marts.entity_customers, sunset: 2027-03-31}\n")
    got = {f.path: (f.status, [b.kind for b in f.blockers])
           for f in run_codemod(proj, load_registry(proj / "deprecations.yml", "postgres")).files}
    assert got == {"models/entity_customers.sql": ("blocked", ["cycle"]), "models/bridge.sql": ("rewrite", []),
                   "models/user_model.sql": ("rewrite", [])}
