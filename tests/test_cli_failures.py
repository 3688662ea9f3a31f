"""The environment failing, through the CLI: one short error line, exit 2, never a traceback
(the helper re-raises any exception, so a traceback fails these tests)."""

from __future__ import annotations

import json
import sqlite3

import orjson
import pytest

from tests.helpers import invoke
from tests.sqlite_project import REGISTRY as APPLY_REGISTRY
from tests.sqlite_project import make_warehouse

CONFIG = """\
warehouse:
  dialect: postgres
  default_schema: analytics
registry: deprecations.yml
history:
  - type: file
    path: history.jsonl
state:
  url: {state}
"""

REGISTRY = """\
deprecations:
  - model: analytics.customer_facts
    replacement: analytics.entity_customers
    sunset: 2027-03-31
"""


def _project(root, state="sqlite:///.deprecator/state.db"):
    (root / "deprecator.yml").write_text(CONFIG.format(state=state))
    (root / "deprecations.yml").write_text(REGISTRY)
    (root / "history.jsonl").write_bytes(orjson.dumps(
        {"query_text": "select * from analytics.customer_facts", "user_name": "ann"}) + b"\n")


def _scans(db):
    con = sqlite3.connect(db)
    try:
        return con.execute("select count(*) from scans").fetchone()[0]
    finally:
        con.close()


def test_default_state_folder_is_created_on_demand(in_tmp):
    _project(in_tmp)
    invoke(["scan", "--quiet"])
    assert _scans(in_tmp / ".deprecator" / "state.db") == 1


@pytest.mark.parametrize("url", ["sqlite:///.deprecatr/state.db", "sqlite:///../elsewhere/typo/state.db"])
def test_a_mistyped_state_url_creates_no_folder_and_says_the_scan_was_not_recorded(in_tmp, url):
    project = in_tmp / "project"
    project.mkdir()
    _project(project, url)
    r = invoke(["--config", str(project / "deprecator.yml"), "scan"], 2)
    assert "analytics.customer_facts -> analytics.entity_customers" in r.stdout   # the result is still printed
    assert "1 query by 1 user (ann 1)" in r.stdout
    assert "the scan above was not recorded" in r.stderr and "does not exist" in r.stderr
    assert sorted(p.name for p in in_tmp.iterdir()) == ["project"]
    assert sorted(p.name for p in project.iterdir()) == ["deprecations.yml", "deprecator.yml", "history.jsonl"]


@pytest.mark.parametrize("flag", ["mode=ro", "immutable=1"])
def test_a_read_only_state_store_still_prints_the_scan(in_tmp, flag):
    _project(in_tmp)
    invoke(["scan", "--quiet"])                      # creates and migrates the store
    db = in_tmp / ".deprecator" / "state.db"
    (in_tmp / "deprecator.yml").write_text(CONFIG.format(state=f"sqlite:///file:{db}?{flag}&uri=true"))
    r = invoke(["scan", "--format", "json"], 2)
    doc = json.loads(r.stdout)
    assert [f["user"] for f in doc["findings"]] == ["ann"]
    assert "the scan above was not recorded" in r.stderr and "readonly database" in r.stderr
    assert "[SQL:" not in r.stderr and "[parameters:" not in r.stderr and len(r.stderr) < 600
    assert _scans(db) == 1


def test_apply_with_a_read_only_state_store_quotes_no_sql_parameters(in_tmp):
    """Recording an apply inserts every statement and definition: the error must not print them."""
    make_warehouse(in_tmp / "wh.db")
    (in_tmp / "deprecations.yml").write_text(APPLY_REGISTRY)
    config = ("warehouse:\n  url: sqlite:///wh.db\n  dialect: sqlite\n  default_schema: main\n"
              "registry: deprecations.yml\nstate:\n  url: {}\n")
    (in_tmp / "deprecator.yml").write_text(config.format("sqlite:///.deprecator/state.db"))
    invoke(["applies"])
    db = in_tmp / ".deprecator" / "state.db"
    (in_tmp / "deprecator.yml").write_text(config.format(f"sqlite:///file:{db}?mode=ro&uri=true"))
    r = invoke(["apply", "--auto-approve"], 2)
    assert "nothing was changed" in r.stderr and "readonly database" in r.stderr
    assert "[SQL:" not in r.stderr and "[parameters:" not in r.stderr and "CREATE VIEW" not in r.stderr
    assert len(r.stderr) < 600, r.stderr


@pytest.mark.parametrize("content", [b"\x7fELF\x02\x01\x01\x00\x00\xd0\xff garbage", b'{"format_version": 1, "views": [{"na'])
def test_a_binary_or_truncated_plan_file_is_an_error_not_a_traceback(in_tmp, content):
    make_warehouse(in_tmp / "wh.db")
    (in_tmp / "deprecations.yml").write_text(APPLY_REGISTRY)
    (in_tmp / "deprecator.yml").write_text("warehouse:\n  url: sqlite:///wh.db\n  dialect: sqlite\n"
                                          "registry: deprecations.yml\n")
    (in_tmp / "plan.json").write_bytes(content)
    r = invoke(["apply", "plan.json"], 2)
    assert r.stderr.startswith("error: plan.json: not a deprecator plan"), r.stderr


def test_database_errors_are_trimmed_to_the_reason():
    from deprecator.redact import trim_db_noise

    text = ("error: the state store could not record the apply, so nothing was changed: "
            "(sqlite3.OperationalError) attempt to write a readonly database\n"
            "[SQL: INSERT INTO applies (id, statements) VALUES (?, ?)]\n"
            f"[parameters: ('20261202-abc', '{'x' * 5000}')]\n"
            "(Background on this error at: https://sqlalche.me/e/20/e3q8)\n"
            "  hint: check `state.url` in deprecator.yml")
    assert trim_db_noise(text) == (
        "error: the state store could not record the apply, so nothing was changed: "
        "(sqlite3.OperationalError) attempt to write a readonly database\n"
        "  hint: check `state.url` in deprecator.yml")
