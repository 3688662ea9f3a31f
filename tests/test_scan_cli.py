"""`deprecator scan` through the one CLI helper."""

from __future__ import annotations

import json

import orjson
import pytest

from tests.helpers import invoke

CONFIG = """\
warehouse:
  dialect: postgres
  default_schema: analytics
registry: deprecations.yml
history:
  - type: file
    path: history.jsonl
paths: [models]
state:
  url: sqlite:///.deprecator/state.db
"""

REGISTRY = """\
deprecations:
  - model: analytics.customer_facts
    replacement: analytics.entity_customers
    sunset: 2027-03-31
  - model: analytics.unused
    replacement: analytics.used
    sunset: 2027-03-31
"""


def _project(root):
    (root / "deprecator.yml").write_text(CONFIG)
    (root / "deprecations.yml").write_text(REGISTRY)
    (root / "models").mkdir()
    (root / "models" / "a.sql").write_text("select 1;\nselect * from customer_facts\n")
    (root / "models" / "bad.sql").write_bytes(b"select \xff from customer_facts")
    rows = [{"query_text": "select cust_id from analytics.customer_facts", "user_name": u,
             "start_time": "2026-11-0%dT08:00:00Z" % d} for u, d in [("ann", 1), ("ann", 2), ("bob", 3)]]
    lines = [orjson.dumps(r) for r in rows] + [b'{"user_name": "x"}']
    (root / "history.jsonl").write_bytes(b"\n".join(lines) + b"\n")


def test_scan_text(in_tmp):
    _project(in_tmp)
    out = invoke(["scan", "--workers", "1"]).stdout
    assert "analytics.customer_facts -> analytics.entity_customers (sunset 2027-03-31)" in out
    assert "3 queries by 2 users (ann 2, bob 1), last seen 2026-11-03 08:00" in out
    assert ("  Readers (read it), migrate to analytics.entity_customers:\n"
            "    3 queries by 2 users (ann 2, bob 1)\n"
            "    1 file reference:\n      models/a.sql:2:15\n") in out
    assert ", 1 malformed row) in " in out and " with 1 worker.\n" in out + "\n"
    assert "analytics.unused -> analytics.used (sunset 2027-03-31)\n  no references found" in out
    assert "file models/bad.sql: error: not UTF-8 (invalid byte 0xff at line 1)" in out
    assert "history history.jsonl:4: malformed: query_text is missing" in out
    assert "\rscanning" not in out


def test_scan_json_contract(in_tmp):
    _project(in_tmp)
    doc = json.loads(invoke(["scan", "--format", "json", "--quiet"]).stdout)
    assert set(doc) == {"findings", "unparsed", "stats", "usage", "weekly"}   # usage: issue 7, additive
    # a history file has no cumulative counters: no source basis, no window since the previous scan
    assert doc["usage"]["sources"] == []
    assert {d["deprecation"]: (d["queries"], d["users"], d["window"]) for d in doc["usage"]["deprecations"]} == {
        "analytics.customer_facts": (3, 2, None), "analytics.unused": (0, 0, None)}
    keys = {"deprecation", "relation", "source", "object", "path", "line", "column", "user", "count",
            "first_seen", "last_seen", "columns", "ambiguous", "note",   # ambiguous/note: issue 3, additive
            "role", "via", "pattern"}   # issue 7, additive (via/pattern: BigQuery wildcard tables)
    assert all(set(f) == keys for f in doc["findings"])
    files = [f for f in doc["findings"] if f["source"] == "file"]
    assert [(f["path"], f["line"], f["column"]) for f in files] == [("models/a.sql", 2, 15)]
    users = sorted((f["user"], f["count"]) for f in doc["findings"] if f["source"] == "history")
    assert users == [("ann", 2), ("bob", 1)]
    assert {u["status"] for u in doc["unparsed"]} == {"error", "malformed"}
    assert doc["stats"]["malformed_rows"] == 1 and doc["stats"]["texts_read"] == 4


def test_scan_path_option_and_missing_path(in_tmp):
    _project(in_tmp)
    (in_tmp / "extra.sql").write_text("select * from analytics.customer_facts")
    doc = json.loads(invoke(["scan", "--path", "extra.sql", "--format", "json"]).stdout)
    assert {f["object"] for f in doc["findings"] if f["source"] == "file"} == {"extra.sql"}
    # a --path naming nothing is a typo, not a clean scan (issue 7)
    r = invoke(["scan", "--path", "extra.sql", "--path", "nope/*.sql", "--format", "json"], 2)
    assert r.stdout == "" and "error: --path nope/*.sql: matched no .sql files" in r.stderr
    r = invoke(["scan", "--path", "modles/"], 2)
    assert "error: --path modles/: no such file or folder" in r.stderr and "no references found" not in r.stdout


@pytest.mark.parametrize("name, content, message", [
    ("history.jsonl", b"", "history.jsonl: the history export is empty"),
    ("history.jsonl", b"\n\n", "history.jsonl: the history export is empty"),
    ("history.csv", b"", "history.csv: the history export is empty"),
    ("history.csv", b"query_text,user_name,start_time\n", "history.csv: the history export has only a header, no rows"),
    ("history.csv", b"query_text,user_name,start_time\n,ann,2026-01-01\nselect 1,bob,yesterday\n",
     "history.csv: no valid row in the history export, only 2 malformed rows; the first, line 2: query_text is empty"),
    ("history.jsonl", b"{not json\n",
     "history.jsonl: no valid row in the history export, only 1 malformed row; the first, line 1: bad JSON"),
    ("history.jsonl", b'{"sql": "select * from analytics.customer_facts", "user": "ann"}\n',
     "history.jsonl: the rows have no 'query_text' key (the first row has: sql, user)\n"
     "  hint: if 'sql' holds the SQL, set `text_column: sql` on this history source"),
])
def test_a_history_export_without_a_usable_row_is_an_error(in_tmp, name, content, message):
    _project(in_tmp)
    (in_tmp / "deprecator.yml").write_text(CONFIG.replace("history.jsonl", name))
    (in_tmp / name).write_bytes(content)
    r = invoke(["scan"], 2)
    assert message in r.stderr and "no references found" not in r.stdout


def test_json_unparsed_says_how_many_malformed_rows_it_left_out(in_tmp):
    _project(in_tmp)
    good = orjson.dumps({"query_text": "select * from analytics.customer_facts", "user_name": "ann"})
    (in_tmp / "history.jsonl").write_bytes(b"\n".join([good] + [b"{oops"] * 250) + b"\n")
    doc = json.loads(invoke(["scan", "--format", "json", "--workers", "1"]).stdout)
    rows = [u for u in doc["unparsed"] if u["status"] == "malformed"]
    assert len(rows) == 101 and doc["stats"]["malformed_rows"] == 250
    assert rows[-1]["line"] == 102
    assert rows[-1]["error"] == ("150 more malformed rows from line 102 on, not listed (the first 100 are; "
                                 "all 250 are counted in stats.malformed_rows)")


def test_scan_without_registry_is_a_config_error(in_tmp):
    (in_tmp / "deprecator.yml").write_text(CONFIG)
    result = invoke(["scan"], code=2)
    assert "registry file not found" in result.stderr


def test_scan_max_chars(in_tmp):
    _project(in_tmp)
    doc = json.loads(invoke(["scan", "--format", "json", "--max-chars", "20"]).stdout)
    too_large = [u for u in doc["unparsed"] if u["error"].startswith("too large")]
    assert {u["object"] for u in too_large} == {"models/a.sql", "history.jsonl"}
    assert [u["line"] for u in too_large if u["source"] == "file"] == [None]
    assert doc["findings"] == []


def test_progress_line_shows_how_much_of_how_much_and_the_time_left():
    from deprecator.cli.scan_cmds import progress_text
    from deprecator.scan import ScanProgress

    assert progress_text(ScanProgress("read", 120_000, 12_500_000, 50_000_000, elapsed=4.0, eta_seconds=12.2)) == (
        "scanning: 120,000 texts read, 12.5 MB of 50.0 MB (25%), about 12s left")
    assert progress_text(ScanProgress("read", 7, elapsed=1.0)) == "scanning: 7 texts read"   # a catalog: no size
    assert progress_text(ScanProgress("parse", 9_000, parsed=300, to_parse=1_200, eta_seconds=95)) == (
        "scanning: 9,000 texts read; parsed 300 of 1,200 distinct candidates (25%), about 1m35s left")


def _scan_on_a_terminal(root, *args):
    """Run `deprecator scan` with stderr on a real pseudo-terminal; returns (exit code, what the terminal got)."""
    import os
    import pty
    import subprocess
    import sys

    master, slave = pty.openpty()
    try:
        proc = subprocess.run([sys.executable, "-m", "deprecator", "scan", "--workers", "1", *args], cwd=root,
                              stdout=subprocess.PIPE, stderr=slave, timeout=120)
        os.close(slave)
        seen = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:          # the terminal closed: everything was read
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(master)
    return proc.returncode, seen.decode()


def test_scan_shows_progress_with_the_size_on_a_terminal_and_stays_quiet_with_quiet(in_tmp):
    _project(in_tmp)
    size = (in_tmp / "history.jsonl").stat().st_size + sum(p.stat().st_size for p in (in_tmp / "models").iterdir())
    code, terminal = _scan_on_a_terminal(in_tmp)
    assert code == 0 and f"scanning: 4 texts read, {size} B of {size} B (100%)" in terminal, terminal
    assert terminal.endswith("\r\x1b[K")               # the line is cleared before the report
    code, terminal = _scan_on_a_terminal(in_tmp, "--quiet")
    assert code == 0 and terminal == ""
