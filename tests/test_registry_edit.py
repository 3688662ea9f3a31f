"""add_deprecation: appends keeping every existing byte, validates first, writes atomically."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from deprecator.errors import ConfigError, RegistryError
from deprecator.registry import add_deprecation, load_registry

EXISTING = """\
# Deprecations of the analytics team.
# Reviewed in #data-governance every Monday.

deprecations:
  # the big one
  - model: analytics.customer_facts   # owned by AE
    replacement: analytics.entity_customers
    sunset: 2027-03-31
    columns:
      cust_id: customer_id   # renamed in v2
    removed_columns: [legacy_flag]

  - model: analytics.orders_old
    replacement: analytics.orders
    sunset: 2027-06-30      # agreed with finance
# end of list: keep alphabetical? no, keep chronological.
"""


def test_append_keeps_the_whole_file_and_adds_only_the_entry(tmp_path):
    p = tmp_path / "deprecations.yml"
    p.write_text(EXISTING)
    dep = add_deprecation(
        p, model="analytics.sessions", replacement="analytics.sessions_v2", sunset="2027-09-30",
        announced=dt.date(2027, 1, 1), reason="Sessionization: rewritten", owner="web-analytics",
        contact="#web-analytics", migration_guide="migration_guides/sessions.md",
        columns={"sess_id": "session_id", "ts": "started_at"}, removed_columns=["bot_flag", "tmp"],
    )
    expected = EXISTING + (
        "\n"
        "  - model: analytics.sessions\n"
        "    replacement: analytics.sessions_v2\n"
        "    sunset: 2027-09-30\n"
        "    announced: 2027-01-01\n"
        '    reason: "Sessionization: rewritten"\n'
        "    owner: web-analytics\n"
        '    contact: "#web-analytics"\n'
        "    migration_guide: migration_guides/sessions.md\n"
        "    columns:\n"
        "      sess_id: session_id\n"
        "      ts: started_at\n"
        "    removed_columns: [bot_flag, tmp]\n"
    )
    assert p.read_text() == expected
    assert dep.model == "analytics.sessions" and dep.line == 18 and dep.path == str(p)
    reg = load_registry(p, "postgres")
    assert [d.model for d in reg.deprecations] == [
        "analytics.customer_facts", "analytics.orders_old", "analytics.sessions"]
    new = reg.deprecations[-1]
    assert new.reason == "Sessionization: rewritten" and new.contact == "#web-analytics"
    assert dict(new.columns) == {"sess_id": "session_id", "ts": "started_at"}
    assert new.removed_columns == ("bot_flag", "tmp") and new.announced == dt.date(2027, 1, 1)


def test_append_to_the_scaffold_drops_only_the_empty_list_marker(tmp_path):
    template = (Path(__file__).resolve().parent.parent / "templates" / "deprecations.yml").read_text()
    assert template.endswith("deprecations: []\n")
    p = tmp_path / "deprecations.yml"
    p.write_text(template)
    add_deprecation(p, model="analytics.a", replacement="analytics.b", sunset="2027-01-01")
    assert p.read_text() == template[: -len("deprecations: []\n")] + (
        "deprecations:\n"
        "  - model: analytics.a\n"
        "    replacement: analytics.b\n"
        "    sunset: 2027-01-01\n"
    )
    add_deprecation(p, model="analytics.c", replacement="analytics.d", sunset="2027-01-01")
    assert [d.model for d in load_registry(p, "postgres")] == ["analytics.a", "analytics.c"]


def test_empty_list_with_a_trailing_comment(tmp_path):
    p = tmp_path / "deprecations.yml"
    p.write_text("deprecations: []   # none yet\n")
    add_deprecation(p, model="a.b", replacement="a.c", sunset="2027-01-01")
    assert p.read_text() == (
        "deprecations: # none yet\n  - model: a.b\n    replacement: a.c\n    sunset: 2027-01-01\n")


def test_append_creates_a_missing_file(tmp_path):
    p = tmp_path / "sub" / "deprecations.yml"
    add_deprecation(p, model="analytics.a", replacement="analytics.b", sunset=dt.date(2027, 1, 1))
    assert p.read_text() == (
        "deprecations:\n  - model: analytics.a\n    replacement: analytics.b\n    sunset: 2027-01-01\n")


def test_append_follows_the_files_indentation(tmp_path):
    p = tmp_path / "deprecations.yml"
    text = (
        "deprecations:\n"
        "    -   model: analytics.a\n"
        "        replacement: analytics.b\n"
        "        sunset: 2027-01-01\n"
        "        columns:\n"
        "            x: y\n"
    )
    p.write_text(text)
    add_deprecation(p, model="analytics.c", replacement="analytics.d", sunset="2027-01-01", columns={"p": "q"})
    assert p.read_text() == text + (
        "    -   model: analytics.c\n"
        "        replacement: analytics.d\n"
        "        sunset: 2027-01-01\n"
        "        columns:\n"
        "            p: q\n"
    )


def test_append_keeps_crlf_and_a_missing_final_newline(tmp_path):
    p = tmp_path / "deprecations.yml"
    text = "deprecations:\r\n  - model: a.b\r\n    replacement: a.c\r\n    sunset: 2027-01-01"
    p.write_bytes(text.encode())
    add_deprecation(p, model="a.x", replacement="a.y", sunset="2027-01-01")
    assert p.read_bytes().decode() == text + (
        "\r\n  - model: a.x\r\n    replacement: a.y\r\n    sunset: 2027-01-01\r\n")


def test_awkward_values_are_quoted_and_read_back(tmp_path):
    p = tmp_path / "deprecations.yml"
    values = {"reason": "yes: no # not a comment", "owner": "null", "contact": "@team, 'quoted'",
              "migration_guide": "2027-01-01"}
    add_deprecation(p, model="a.b", replacement="a.c", sunset="2027-01-01", **values)
    d = load_registry(p, "postgres").deprecations[0]
    assert (d.reason, d.owner, d.contact, d.migration_guide) == tuple(values.values())


@pytest.mark.parametrize(
    "kwargs, words, line",
    [
        ({"model": "ANALYTICS.CUSTOMER_FACTS", "replacement": "analytics.x"}, "registered twice", 18),
        ({"model": "analytics.entity_customers", "replacement": "analytics.customer_facts"},
         "replacement cycle: analytics.customer_facts -> analytics.entity_customers", 6),
        ({"model": "analytics.z", "replacement": "Analytics.Z"}, "replaced by itself", 19),
        ({"model": "analytics.z", "replacement": "analytics.y", "announced": "2028-01-01"}, "is after the sunset", 21),
        ({"model": "analytics.z", "replacement": "analytics.y", "columns": {"a": "b"}, "removed_columns": ["a"]},
         "is both renamed", 23),
    ],
)
def test_invalid_additions_are_refused_and_the_file_is_untouched(tmp_path, kwargs, words, line):
    p = tmp_path / "deprecations.yml"
    p.write_text(EXISTING)
    before = p.stat().st_mtime_ns
    with pytest.raises(RegistryError) as e:
        add_deprecation(p, sunset="2027-12-31", **kwargs)
    assert words in str(e.value) and e.value.line == line and str(p) in str(e.value)
    assert "was not changed" in str(e.value)
    assert p.read_text() == EXISTING and p.stat().st_mtime_ns == before
    assert sorted(os.listdir(tmp_path)) == ["deprecations.yml"]


@pytest.mark.parametrize("field, kwargs", [
    ("sunset", {"sunset": "2027-02-29"}),
    ("sunset", {"sunset": "march"}),
    ("announced", {"sunset": "2027-01-01", "announced": "01/01/2026"}),
])
def test_bad_dates_from_the_command_line_are_refused(tmp_path, field, kwargs):
    p = tmp_path / "deprecations.yml"
    with pytest.raises(ConfigError) as e:
        add_deprecation(p, model="a.b", replacement="a.c", **kwargs)
    assert e.value.field == field
    assert not p.exists()


def test_an_already_broken_registry_is_not_appended_to(tmp_path):
    p = tmp_path / "deprecations.yml"
    p.write_text("deprecations:\n  - model: a.b\n    sunset: 2027-01-01\n")
    with pytest.raises(RegistryError, match="missing `replacement`"):
        add_deprecation(p, model="a.x", replacement="a.y", sunset="2027-01-01")
    assert p.read_text() == "deprecations:\n  - model: a.b\n    sunset: 2027-01-01\n"


def test_a_failed_write_loses_nothing(tmp_path, monkeypatch):
    p = tmp_path / "deprecations.yml"
    p.write_text(EXISTING)

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        add_deprecation(p, model="analytics.z", replacement="analytics.y", sunset="2027-01-01")
    monkeypatch.undo()
    assert p.read_text() == EXISTING
    assert sorted(os.listdir(tmp_path)) == ["deprecations.yml"]


def test_non_empty_flow_list_still_gets_the_entry(tmp_path):
    p = tmp_path / "deprecations.yml"
    p.write_text("# mine\ndeprecations: [{model: a.b, replacement: a.c, sunset: 2027-01-01}]\n")
    add_deprecation(p, model="a.x", replacement="a.y", sunset="2027-01-01")
    text = p.read_text()
    assert text.startswith("# mine\n")
    assert [d.model for d in load_registry(p, "postgres")] == ["a.b", "a.x"]


def test_hostile_names_round_trip_exactly(tmp_path):
    p = tmp_path / "deprecations.yml"
    model = 'analytics."x""; DROP TABLE y; --"'
    replacement = 'analytics."my table #1"'
    # column names are SQL identifiers: quoted ones may hold anything YAML treats specially
    columns = {'"Weird Col"': '"new: col"', '"Q"': '"#q"', '"x\'y"': '"it\'s ""y"""'}
    add_deprecation(p, model=model, replacement=replacement, sunset="2027-01-01", columns=columns,
                    removed_columns=['"a, b"', '"[c]"'])
    reg = load_registry(p, "postgres")
    (d,) = reg.deprecations
    assert (d.model, d.replacement, dict(d.columns), d.removed_columns) == (
        model, replacement, columns, ('"a, b"', '"[c]"'))
    (rule,) = reg.rewrite_rules()
    assert rule.old.name == 'x"; DROP TABLE y; --' and rule.new.name == "my table #1"
    assert reg.names_for_prefilter() == frozenset({'x"; drop table y; --'})
