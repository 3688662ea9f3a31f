"""deprecations.yml: validation errors (file, line, field), chains, stages, lookups."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest

from deprecator.errors import ConfigError, RegistryError
from deprecator.registry import Deprecation, load_registry, today
from deprecator.sql.model import RelationName


def write(tmp_path: Path, text: str, name: str = "deprecations.yml") -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return p


def problems(path: Path, dialect: str = "postgres", **kw) -> list[ConfigError]:
    with pytest.raises(RegistryError) as e:
        load_registry(path, dialect, **kw)
    assert e.value.problems
    return e.value.problems


def only(path: Path, dialect: str = "postgres", **kw) -> ConfigError:
    ps = problems(path, dialect, **kw)
    assert len(ps) == 1, [str(p) for p in ps]
    return ps[0]


def assert_at(p: ConfigError, path: Path, line: int, field: str, *words: str) -> None:
    msg = str(p)
    assert p.path == str(path) and p.line == line and p.field == field, (p.path, p.line, p.field, msg)
    assert msg.startswith(f"{path}:{line}: {field}: "), msg
    for w in words:
        assert w in msg, msg


GOOD = """
# The registry of the analytics team.
deprecations:
  - model: analytics.customer_facts      # the old one
    replacement: analytics.entity_customers
    sunset: 2027-03-31
    announced: 2026-12-01
    reason: Replaced by the customer entity model
    owner: analytics-engineering
    contact: "#analytics-engineering"
    migration_guide: migration_guides/customer_facts.md
    columns:
      cust_id: customer_id
    removed_columns: [legacy_flag]
"""


# ---------------------------------------------------------------- loading the good case

def test_issue_example_loads_every_field(tmp_path):
    p = write(tmp_path, GOOD)
    reg = load_registry(p, "postgres")
    assert reg.path == p
    (d,) = reg.deprecations
    assert d == Deprecation(
        model="analytics.customer_facts",
        replacement="analytics.entity_customers",
        sunset=dt.date(2027, 3, 31),
        announced=dt.date(2026, 12, 1),
        reason="Replaced by the customer entity model",
        owner="analytics-engineering",
        contact="#analytics-engineering",
        migration_guide="migration_guides/customer_facts.md",
        columns={"cust_id": "customer_id"},
        removed_columns=("legacy_flag",),
        path=str(p),
        line=3,
    )
    assert d.target == "analytics.entity_customers"


@pytest.mark.parametrize("text", ["", "# only a comment\n", "deprecations: []\n", "deprecations:\n"])
def test_empty_registries_are_valid(tmp_path, text):
    p = tmp_path / "deprecations.yml"
    p.write_text(text)
    reg = load_registry(p, "postgres")
    assert reg.deprecations == () and len(reg) == 0
    assert reg.rewrite_rules() == [] and reg.names_for_prefilter() == frozenset()


def test_quoted_iso_date_string_is_accepted(tmp_path):
    p = write(tmp_path, """
        deprecations:
          - {model: a.b, replacement: a.c, sunset: "2027-01-31"}
    """)
    assert load_registry(p, "postgres").deprecations[0].sunset == dt.date(2027, 1, 31)


def test_missing_file_says_run_init(tmp_path):
    with pytest.raises(ConfigError) as e:
        load_registry(tmp_path / "nope.yml", "postgres")
    assert str(tmp_path / "nope.yml") in str(e.value)
    assert "deprecator init" in str(e.value)
    assert not isinstance(e.value, RegistryError)


# ---------------------------------------------------------------- every error names file, line, field


def test_same_name_is_another_relation_under_another_default_schema(tmp_path):
    # invalid/self_replacement_through_default_schema.yml is the error under `analytics`
    p = write(tmp_path, """
        deprecations:
          - model: customer_facts
            replacement: analytics.customer_facts
            sunset: 2027-01-01
    """)
    assert len(load_registry(p, "postgres", default_schema="public")) == 1


def test_quoted_mixed_case_is_a_different_relation_in_postgres(tmp_path):
    p = write(tmp_path, """
        deprecations:
          - model: analytics.customer_facts
            replacement: analytics.entity_customers
            sunset: 2027-01-01
          - model: analytics."Customer_Facts"
            replacement: analytics.entity_customers
            sunset: 2027-01-01
    """)
    assert len(load_registry(p, "postgres")) == 2


def test_yaml_syntax_error_names_the_line(tmp_path):
    p = write(tmp_path, """
        deprecations:
          - model: analytics.a
            replacement: [analytics.b
            sunset: 2027-01-01
    """)
    with pytest.raises(ConfigError) as e:
        load_registry(p, "postgres")
    assert e.value.path == str(p) and e.value.line == 4   # where the parser noticed the unclosed [
    assert str(e.value).startswith(f"{p}:{e.value.line}: invalid YAML")


def test_duplicate_key_in_an_entry(tmp_path):
    p = write(tmp_path, """
        deprecations:
          - model: analytics.a
            replacement: analytics.b
            sunset: 2027-01-01
            sunset: 2028-01-01
    """)
    with pytest.raises(ConfigError) as e:
        load_registry(p, "postgres")
    assert e.value.line == 5 and 'duplicate key "sunset"' in str(e.value)


# ---------------------------------------------------------------- chains

CHAIN = """
deprecations:
  - model: analytics.a
    replacement: analytics.b
    sunset: 2027-01-01
    columns:
      cust_id: customer_id
      nm: name
    removed_columns: [legacy]
  - model: ANALYTICS.B
    replacement: analytics.c
    sunset: 2027-06-01
    columns:
      customer_id: id
      region: area
    removed_columns: [name, junk]
  - model: analytics.c
    replacement: analytics.d
    sunset: 2028-01-01
    columns:
      id: customer_key
"""


def test_chain_resolves_to_the_final_replacement_and_composes_columns(tmp_path):
    p = write(tmp_path, CHAIN)
    reg = load_registry(p, "postgres")
    a, b, c = reg.deprecations
    assert [d.target for d in reg.deprecations] == ["analytics.d", "analytics.d", "analytics.d"]
    assert a.replacement == "analytics.b"
    # a.cust_id -> b.customer_id -> c.id -> d.customer_key; a.nm -> b.name (removed in c);
    # a.region keeps its name into b, then is renamed to area.
    assert dict(a.target_columns) == {"cust_id": "customer_key", "region": "area"}
    assert sorted(a.target_removed_columns) == ["junk", "legacy", "nm"]
    assert dict(b.target_columns) == {"customer_id": "customer_key", "region": "area"}
    assert sorted(b.target_removed_columns) == ["junk", "name"]
    assert c.final_replacement is None and c.target == "analytics.d"
    assert dict(c.target_columns) == {"id": "customer_key"}


def test_rewrite_rules_point_at_the_end_of_the_chain(tmp_path):
    reg = load_registry(write(tmp_path, CHAIN), "postgres")
    rules = reg.rewrite_rules()
    assert [(str(r.old), str(r.new), r.label) for r in rules] == [
        ("analytics.a", "analytics.d", "analytics.a"),
        ("analytics.b", "analytics.d", "ANALYTICS.B"),
        ("analytics.c", "analytics.d", "analytics.c"),
    ]
    assert dict(rules[0].columns) == {"cust_id": "customer_key", "region": "area"}
    assert rules[0].removed_columns == frozenset({"junk", "legacy", "nm"})
    snow = reg.rewrite_rules("snowflake", "analytics", "prod")
    assert snow[0].old == RelationName("PROD", "ANALYTICS", "A")


def test_chain_with_unqualified_names_and_default_schema(tmp_path):
    p = write(tmp_path, """
        deprecations:
          - model: customer_facts
            replacement: customers_v2
            sunset: 2027-01-01
          - model: analytics.customers_v2
            replacement: analytics.customers_v3
            sunset: 2027-01-01
    """)
    reg = load_registry(p, "postgres", default_schema=("analytics",))
    assert reg.deprecations[0].target == "analytics.customers_v3"
    assert str(reg.rewrite_rules()[0].old) == "analytics.customer_facts"


# ---------------------------------------------------------------- value behaviour

def test_stages_and_days(tmp_path):
    reg = load_registry(write(tmp_path, GOOD), "postgres")
    d = reg.deprecations[0]
    assert d.stage(dt.date(2026, 11, 30)) == "announced"
    assert d.stage(dt.date(2026, 12, 1)) == "deprecated"
    assert d.stage(dt.date(2027, 3, 31)) == "deprecated"
    assert d.stage(dt.date(2027, 4, 1)) == "sunset passed"
    assert d.days_to_sunset(dt.date(2027, 3, 1)) == 30
    assert d.days_to_sunset(dt.date(2027, 4, 10)) == -10


def test_past_sunset_is_allowed(tmp_path):
    p = write(tmp_path, """
        deprecations:
          - {model: analytics.a, replacement: analytics.b, sunset: 2001-01-01}
    """)
    d = load_registry(p, "postgres").deprecations[0]
    assert d.stage(dt.date.today()) == "sunset passed"


def test_today_override(monkeypatch):
    monkeypatch.setenv("DEPRECATOR_TODAY", "2027-01-02")
    assert today() == dt.date(2027, 1, 2)
    assert today("2030-05-05") == dt.date(2030, 5, 5)
    with pytest.raises(ConfigError, match="today"):
        today("tomorrow")


def test_lookups_and_prefilter_names(tmp_path):
    p = write(tmp_path, """
        deprecations:
          - model: analytics.Customer_Facts
            replacement: analytics.entity_customers
            sunset: 2027-01-01
          - model: prod.raw."Orders"
            replacement: prod.raw.orders_v2
            sunset: 2027-01-01
    """)
    reg = load_registry(p, "postgres")
    assert reg.names_for_prefilter() == frozenset({"customer_facts", "orders"})
    assert reg.by_relation(RelationName(None, "analytics", "customer_facts")).model == "analytics.Customer_Facts"
    assert reg.by_relation(RelationName("prod", "analytics", "customer_facts")).model == "analytics.Customer_Facts"
    assert reg.by_relation(RelationName("prod", "raw", "Orders")).model == 'prod.raw."Orders"'
    assert reg.by_relation(RelationName("dev", "raw", "Orders")) is None
    assert reg.by_relation(RelationName(None, "raw", "orders")) is None
    assert reg.by_model("ANALYTICS.CUSTOMER_FACTS").model == "analytics.Customer_Facts"


def test_fingerprint_ignores_comments_and_layout_but_not_content(tmp_path):
    a = load_registry(write(tmp_path, GOOD, "a.yml"), "postgres")
    compact = """
        deprecations:
        - {model: analytics.customer_facts, replacement: analytics.entity_customers, sunset: 2027-03-31,
           announced: 2026-12-01, reason: Replaced by the customer entity model, owner: analytics-engineering,
           contact: "#analytics-engineering", migration_guide: migration_guides/customer_facts.md,
           columns: {cust_id: customer_id}, removed_columns: [legacy_flag]}
    """
    b = load_registry(write(tmp_path, compact, "b.yml"), "postgres")
    assert a.fingerprint() == b.fingerprint()
    assert len(a.fingerprint()) == 64
    c = load_registry(write(tmp_path, GOOD.replace("2027-03-31", "2027-04-30"), "c.yml"), "postgres")
    assert c.fingerprint() != a.fingerprint()
    d = load_registry(write(tmp_path, GOOD.replace("cust_id: customer_id", "cust_id: cid"), "d.yml"), "postgres")
    assert d.fingerprint() != a.fingerprint()


def test_to_dict_has_stable_keys(tmp_path):
    d = load_registry(write(tmp_path, GOOD), "postgres").deprecations[0]
    out = d.to_dict(dt.date(2027, 3, 1))
    assert out["stage"] == "deprecated" and out["days_to_sunset"] == 30
    assert set(out) == {
        "model", "replacement", "final_replacement", "sunset", "announced", "reason", "owner", "contact",
        "migration_guide", "columns", "removed_columns", "final_columns", "final_removed_columns", "origin",
        "path", "line", "stage", "days_to_sunset", "dropped",   # dropped: issue 7, additive
    }


def test_records_can_key_sets_and_dicts(tmp_path):
    reg = load_registry(write(tmp_path, CHAIN), "postgres")
    again = load_registry(write(tmp_path, CHAIN), "postgres")
    assert len(set(reg.deprecations) | set(again.deprecations)) == 3
    assert {d: d.model for d in reg}[again.deprecations[1]] == "ANALYTICS.B"
    assert hash(reg) == hash(again) and reg == again


def test_the_commented_example_in_the_scaffold_is_valid(tmp_path):
    template = (Path(__file__).resolve().parent.parent / "templates" / "deprecations.yml").read_text()
    lines = template.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("#   - model:"))
    example = [ln[1:] for ln in lines[start:] if ln.startswith("#   ")]
    assert example and example[0].lstrip().startswith("- model:")
    p = write(tmp_path, "deprecations:\n" + "\n".join(example) + "\n")
    (d,) = load_registry(p, "postgres").deprecations
    assert (d.model, d.replacement, d.sunset, d.announced) == (
        "analytics.customer_facts", "analytics.entity_customers", dt.date(2027, 3, 31), dt.date(2026, 12, 1))
    assert dict(d.columns) == {"cust_id": "customer_id"} and d.removed_columns == ("legacy_flag",)
    assert d.contact == "#analytics-engineering"


def test_bigquery_table_names_are_case_sensitive(tmp_path):
    p = write(tmp_path, """
        deprecations:
          - model: my-project.analytics.Customer_Facts
            replacement: my-project.analytics.entity_customers
            sunset: 2027-01-01
          - model: my-project.analytics.customer_facts
            replacement: my-project.analytics.entity_customers
            sunset: 2027-01-01
    """)
    reg = load_registry(p, "bigquery")
    assert [str(r.old) for r in reg.rewrite_rules()] == [
        "my-project.analytics.Customer_Facts", "my-project.analytics.customer_facts"]


def test_chain_composition_compares_columns_as_the_dialect_does(tmp_path):
    p = write(tmp_path, """
        deprecations:
          - model: analytics.a
            replacement: analytics.b
            sunset: 2027-01-01
            columns: {Cust_ID: customer_id}
          - model: analytics.b
            replacement: analytics.c
            sunset: 2027-01-01
            columns: {CUSTOMER_ID: id}
            removed_columns: [Legacy]
          - model: analytics.x
            replacement: analytics.b
            sunset: 2027-01-01
            columns: {'"Legacy"': kept}
    """)
    a, _, x = load_registry(p, "postgres").deprecations
    assert dict(a.target_columns) == {"Cust_ID": "id"} and a.target_removed_columns == ("Legacy",)
    # A quoted "Legacy" is a different column from unquoted Legacy (= legacy) in postgres.
    assert dict(x.target_columns) == {'"Legacy"': "kept", "CUSTOMER_ID": "id"}
    assert x.target_removed_columns == ("Legacy",)


def test_chain_composition_reads_quoted_spellings_with_escaped_quotes(tmp_path):
    p = write(tmp_path, """
        deprecations:
          - model: analytics.a
            replacement: analytics.b
            sunset: 2027-01-01
            columns: {'"Cust ID"': '"we""ird"', '"Name"': full_name}
          - model: analytics.b
            replacement: analytics.c
            sunset: 2027-01-01
            columns: {'"we""ird"': customer_id}
            removed_columns: [FULL_NAME]
    """)
    a, _ = load_registry(p, "postgres").deprecations
    # "we""ird" in A's mapping is the column B renames; full_name is FULL_NAME folded, which B removes
    assert dict(a.target_columns) == {'"Cust ID"': "customer_id"}
    assert a.target_removed_columns == ('"Name"',)
