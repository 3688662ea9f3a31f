"""Migration guides: column table, a real consumer's rewrite with literals redacted, templates, CLI."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from deprecator import demo
from deprecator.errors import ConfigError
from deprecator.guide import (ColumnChange, ExampleText, build_guide, column_changes, pick_example,
                              render_guide)
from deprecator.registry import load_registry
from tests.helpers import invoke

TODAY = dt.date(2026, 12, 1)


def _registry(tmp_path: Path, dialect: str = "postgres", extra: str = ""):
    p = tmp_path / "deprecations.yml"
    p.write_text(
        "deprecations:\n"
        "  - model: analytics.customer_facts\n"
        "    replacement: analytics.entity_customers\n"
        "    sunset: 2027-03-31\n"
        "    announced: 2026-11-01\n"
        "    reason: Replaced by the customer entity model\n"
        "    owner: analytics-engineering\n"
        '    contact: "#analytics-engineering"\n'
        "    columns: {cust_id: customer_id}\n"
        "    removed_columns: [legacy_flag]\n" + extra,
        encoding="utf-8")
    return load_registry(p, dialect)


# ---------------------------------------------------------------- literals (deprecator.sql.literals; its
# dialect matrix is in tests/notify/test_notify.py)

def test_a_query_whose_literals_cannot_be_redacted_is_never_an_example(tmp_path):
    (rule,) = _registry(tmp_path).rewrite_rules()
    secret = "SELECT cust_id FROM analytics.customer_facts WHERE e = 'ada@corp.example' -- ada@corp.example"
    ex, _ = pick_example([ExampleText(secret, "q", 9)], rule, "postgres")
    assert ex is None or "ada@corp.example" not in ex.before + ex.after


# ---------------------------------------------------------------- columns

def test_column_table_from_both_column_lists():
    rows = column_changes({"cust_id": "customer_id"}, ["legacy_flag"],
                          ["cust_id", "name", "legacy_flag"], ["customer_id", "name", "segment"])
    assert rows == (ColumnChange("cust_id", "customer_id", "renamed"), ColumnChange("name", "name", "kept"),
                    ColumnChange("legacy_flag", None, "removed"), ColumnChange(None, "segment", "new"))


def test_column_table_without_a_warehouse_lists_the_registry_only():
    rows = column_changes({"cust_id": "customer_id"}, ["legacy_flag"], None, None)
    assert rows == (ColumnChange("cust_id", "customer_id", "renamed"), ColumnChange("legacy_flag", None, "removed"))


# ---------------------------------------------------------------- example

def test_example_is_the_most_used_consumer_that_rewrites(tmp_path):
    reg = _registry(tmp_path)
    (rule,) = reg.rewrite_rules()
    cands = [
        ExampleText("SELECT legacy_flag FROM analytics.customer_facts", "a", 50),   # blocked: removed column
        ExampleText("SELECT cust_id FROM analytics.customer_facts WHERE email = 'ada@corp.example'", "b", 9),
        ExampleText("SELECT cust_id FROM analytics.customer_facts", "c", 2),
    ]
    ex, note = pick_example(cands, rule, "postgres")
    assert note is None and ex.origin == "b"
    assert ex.before == "SELECT cust_id FROM analytics.customer_facts WHERE email = '***'"
    assert ex.after == "SELECT customer_id AS cust_id FROM analytics.entity_customers WHERE email = '***'"


def test_no_example_says_why(tmp_path):
    (rule,) = _registry(tmp_path).rewrite_rules()
    assert pick_example([], rule, "postgres") == (None, "no consumer's SQL was found to take an example from")
    ex, note = pick_example([ExampleText("SELECT legacy_flag FROM analytics.customer_facts", "the view v", 1)],
                            rule, "postgres")
    assert ex is None and "the view v" in note and "legacy_flag" in note


# ---------------------------------------------------------------- rendering

def _guide(tmp_path, **kw):
    reg = _registry(tmp_path)
    (dep,) = reg.deprecations
    (rule,) = reg.rewrite_rules()
    return build_guide(dep, today=TODAY, rule=rule, dialect="postgres", **kw)


def test_guide_sections(tmp_path):
    text = render_guide(_guide(tmp_path, examples=[ExampleText("SELECT cust_id FROM analytics.customer_facts", "q", 3)],
                               findings=[]))
    for heading in ("# Migrating from `analytics.customer_facts` to `analytics.entity_customers`", "## Why",
                    "## Timeline", "## Column mapping", "## Before and after", "## Who is still affected",
                    "## Whom to ask"):
        assert heading in text
    assert "| Stage on 2026-12-01 | deprecated, 120 days to the sunset |" in text
    assert "| `cust_id` | `customer_id` | renamed |" in text
    assert "Only the registered renames and removals are listed" in text
    assert "SELECT customer_id AS cust_id FROM analytics.entity_customers" in text
    assert "Nobody, as far as" in text


def test_guide_without_a_scan_says_so(tmp_path):
    text = render_guide(_guide(tmp_path))
    assert "Not scanned: run `deprecator scan`" in text
    assert "No example: no consumer's SQL was found" in text


def test_a_users_template_replaces_the_shipped_one(tmp_path):
    folder = tmp_path / "tpl"
    folder.mkdir()
    (folder / "migration_guide.md.j2").write_text("Move off {{ g.model }} by {{ g.sunset }}.\n")
    assert render_guide(_guide(tmp_path), folder) == "Move off analytics.customer_facts by 2027-03-31.\n"


def test_a_broken_template_names_the_file_and_line(tmp_path):
    folder = tmp_path / "tpl"
    folder.mkdir()
    (folder / "migration_guide.md.j2").write_text("ok\n{{ g.no_such_field }}\n")
    with pytest.raises(ConfigError) as e:
        render_guide(_guide(tmp_path), folder)
    assert str(folder / "migration_guide.md.j2") + ":2" in str(e.value) and "no_such_field" in str(e.value)


# ---------------------------------------------------------------- command

@pytest.fixture
def demo_dir(tmp_path, monkeypatch):
    d = tmp_path / "demo"
    demo.write_demo_files(d, TODAY)
    monkeypatch.chdir(d)
    return d


def test_guide_command_writes_the_registered_path(demo_dir):
    (demo_dir / "migration_guides" / "customer_facts.md").unlink()
    out = invoke(["guide", "customer_facts", "--today", "2026-12-01"]).stdout
    written = (demo_dir / "migration_guides" / "customer_facts.md").read_text()
    assert "Wrote the migration guide of customer_facts" in out
    assert "4 views: main.customer_summary" in written
    assert "| `lifetime_value` | `lifetime_value` | same name |" in written   # columns from the warehouse


def test_guide_command_out_folder_stdout_and_json(demo_dir):
    invoke(["guide", "customer_facts", "--out", "docs"])
    assert (demo_dir / "docs" / "customer_facts.md").read_text().startswith("# Migrating from `customer_facts`")
    text = invoke(["guide", "customer_facts", "--stdout", "--no-scan"]).stdout
    assert "Not scanned" in text
    data = json.loads(invoke(["guide", "customer_facts", "--format", "json", "--today", "2026-12-01"]).stdout)
    assert data["days_to_sunset"] == 120 and data["example"]["after"].startswith("SELECT customer_id AS cust_id")
    assert "alice" not in json.dumps(data["example"])   # a shared guide never says who ran the query


def test_guide_command_templates_from_config(demo_dir):
    (demo_dir / "my_templates").mkdir()
    (demo_dir / "my_templates" / "migration_guide.md.j2").write_text("custom {{ g.replacement }}\n")
    cfg = demo_dir / "deprecator.yml"
    cfg.write_text(cfg.read_text() + "templates: my_templates\n")
    assert invoke(["guide", "customer_facts", "--stdout", "--no-scan"]).stdout == "custom entity_customers\n"


def test_guide_command_errors(demo_dir):
    err = invoke(["guide", "no_such_model"], 2).stderr
    assert "no_such_model is not a registered deprecation" in err and "customer_facts" in err
    cfg = demo_dir / "deprecator.yml"
    cfg.write_text(cfg.read_text() + "templates: missing_folder\n")
    err = invoke(["guide", "customer_facts", "--no-scan"], 2).stderr
    assert "deprecator.yml:" in err and "templates" in err and "does not exist" in err
