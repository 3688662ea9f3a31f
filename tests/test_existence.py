"""Registered names the warehouse lacks are errors for scan, plan and deprecate (with "did you
mean" from the catalog), on real SQLite and real PostgreSQL; a model registered as dropped is
scanned in history (and files) only."""

from __future__ import annotations

import sqlite3

import orjson
import pytest
import sqlalchemy as sa

from deprecator.db import create_engine
from tests.helpers import invoke

SQLITE_CONFIG = """\
warehouse:
  url: sqlite:///wh.db
  dialect: sqlite
  default_schema: main
registry: deprecations.yml
history:
  - type: file
    path: history.jsonl
state:
  url: sqlite:///.deprecator/state.db
"""

PG_CONFIG = """\
warehouse:
  url: ${WH_URL}
  default_schema: public
registry: deprecations.yml
history:
  - type: file
    path: history.jsonl
state:
  url: sqlite:///.deprecator/state.db
"""


def _entry(model, replacement, dropped=False):
    return (f"  - model: {model}\n    replacement: {replacement}\n    sunset: 2027-03-31\n"
            + ("    dropped: true\n" if dropped else ""))


def _history(root, *texts):
    (root / "history.jsonl").write_bytes(b"".join(
        orjson.dumps({"query_text": t, "user_name": "ann"}) + b"\n" for t in texts))


@pytest.fixture(params=["sqlite", "postgres"])
def warehouse(request, in_tmp, monkeypatch):
    """A project over a real warehouse holding customer, customers_v2 and a view reading customer."""
    if request.param == "sqlite":
        con = sqlite3.connect(in_tmp / "wh.db")
        con.executescript("CREATE TABLE customer (id INTEGER); CREATE TABLE customers_v2 (id INTEGER);"
                          "CREATE VIEW customer_v AS SELECT id FROM customer;"
                          # SQLite keeps a view over a table that no longer exists
                          "CREATE VIEW stale_v AS SELECT id FROM gone;")
        con.close()
        (in_tmp / "deprecator.yml").write_text(SQLITE_CONFIG)
        schema = "main"
    else:
        pg_db = request.getfixturevalue("pg_db")
        engine = create_engine(pg_db)
        with engine.begin() as c:
            c.execute(sa.text("CREATE TABLE customer (id int); CREATE TABLE customers_v2 (id int);"
                              "CREATE VIEW customer_v AS SELECT id FROM customer"))
        engine.dispose()
        monkeypatch.setenv("WH_URL", pg_db)
        (in_tmp / "deprecator.yml").write_text(PG_CONFIG)
        schema = "public"
    _history(in_tmp, "select 1")
    return in_tmp, schema


def test_a_misspelt_model_or_replacement_fails_scan_and_plan_with_did_you_mean(warehouse):
    root, s = warehouse
    (root / "deprecations.yml").write_text("deprecations:\n" + _entry(f"{s}.custmer", f"{s}.customers_v3"))
    for command in (["scan"], ["plan"], ["apply", "--auto-approve"]):
        r = invoke(command, 2)
        assert "no references found" not in r.stdout and "No changes" not in r.stdout
        assert f"deprecations.yml:2: model: {s}.custmer does not exist in " in r.stderr
        assert f"hint: did you mean {s}.customer or {s}.customer_v? (if it was already dropped" in r.stderr
        assert f"deprecations.yml:2: replacement: {s}.customers_v3 does not exist in " in r.stderr
        assert f"did you mean {s}.customers_v2" in r.stderr


def test_deprecate_refuses_a_name_the_warehouse_lacks_and_leaves_the_registry_alone(warehouse):
    root, s = warehouse
    (root / "deprecations.yml").write_text("deprecations: []\n")
    r = invoke(["deprecate", f"{s}.custmer", "--replacement", f"{s}.customers_v2", "--sunset", "2027-03-31"], 2)
    assert f"model: {s}.custmer does not exist" in r.stderr and f"did you mean {s}.customer or" in r.stderr
    assert "register it with --dropped" in r.stderr and "deprecations.yml was not changed" in r.stderr
    assert (root / "deprecations.yml").read_text() == "deprecations: []\n"
    # a model registered as dropped must be gone
    r = invoke(["deprecate", f"{s}.customer", "--replacement", f"{s}.customers_v2", "--sunset", "2027-03-31",
                "--dropped"], 2)
    assert f"{s}.customer is registered as dropped but exists" in r.stderr and "leave out --dropped" in r.stderr
    invoke(["deprecate", f"{s}.customer", "--replacement", f"{s}.customers_v2", "--sunset", "2027-03-31"])
    invoke(["deprecate", f"{s}.gone", "--replacement", f"{s}.customers_v2", "--sunset", "2027-03-31", "--dropped"])
    assert "    dropped: true\n" in (root / "deprecations.yml").read_text()


def test_a_dropped_model_is_scanned_in_history_only_and_plan_accepts_it(warehouse):
    root, s = warehouse
    (root / "deprecations.yml").write_text("deprecations:\n" + _entry(f"{s}.gone", f"{s}.customers_v2", True))
    _history(root, f"select id from {s}.gone", "select 1")
    doc = orjson.loads(invoke(["scan", "--format", "json", "--workers", "1"]).stdout)
    assert [(f["source"], f["user"]) for f in doc["findings"]] == [("history", "ann")]   # not SQLite's stale_v
    invoke(["plan"])
    # registered as dropped while it exists: the scan would skip the views that read it
    (root / "deprecations.yml").write_text("deprecations:\n" + _entry(f"{s}.customer", f"{s}.customers_v2", True))
    r = invoke(["scan"], 2)
    assert f"deprecations.yml:2: dropped: {s}.customer is registered as dropped but exists" in r.stderr


def test_names_that_exist_scan_as_before(warehouse):
    root, s = warehouse
    (root / "deprecations.yml").write_text("deprecations:\n" + _entry(f"{s}.customer", f"{s}.customers_v2"))
    doc = orjson.loads(invoke(["scan", "--format", "json", "--workers", "1"]).stdout)
    assert [(f["source"], f["object"]) for f in doc["findings"]] == [("view", f"{s}.customer_v")]


def test_deprecate_offline_registers_with_a_warning_and_scan_checks_later(in_tmp, pg_url, monkeypatch):
    from sqlalchemy.engine import make_url

    missing_db = make_url(pg_url).set(database="no_such_db_for_deprecator").render_as_string(hide_password=False)
    monkeypatch.setenv("WH_URL", missing_db)
    (in_tmp / "deprecator.yml").write_text(PG_CONFIG)
    r = invoke(["deprecate", "public.custmer", "--replacement", "public.customers", "--sunset", "2027-03-31"])
    assert "warning: public.custmer and public.customers were not checked against the warehouse" in r.stderr
    assert "model: public.custmer" in (in_tmp / "deprecations.yml").read_text()
