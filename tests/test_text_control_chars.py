"""Text output for people never carries control characters from the data (a user name, a query, a view or
file name holding ESC sequences or newlines would clear the screen or forge report lines): they are shown
escaped (``\\x1b``, ``\\n``), while JSON output keeps the data exact. Scan, plan and check; notify and
digest are in tests/notify/test_notify_control_chars.py."""

from __future__ import annotations

import json
import sqlite3
import subprocess

import orjson

from tests.helpers import invoke

# an OSC title sequence ended by BEL (click's own ANSI stripping for non-terminals leaves it alone), a
# screen clear (CSI) and a newline that would start a forged line
EVIL = "ev\x1b]0;pwned\x07il\x1b[2J\nFORGED LINE"
SHOWN = "ev\\x1b]0;pwned\\x07il\\x1b[2J\\nFORGED LINE"


def _no_controls(text: str) -> None:
    bad = {c for c in text if (ord(c) < 32 and c != "\n") or 0x7F <= ord(c) < 0xA0}
    assert not bad, (bad, text)
    assert not any(line.upper().startswith("FORGED") for line in text.splitlines()), text


def test_visible_escapes_controls_and_keeps_everything_else():
    from deprecator.text import visible, visible_block

    assert visible(EVIL) == SHOWN
    assert visible("plain Übersicht \\ text") == "plain Übersicht \\ text"
    assert visible("a\tb\rc\x00d\x7fe\x9bf\u2028g") == "a\\tb\\rc\\x00d\\x7fe\\x9bf\\u2028g"
    # a block of SQL keeps its lines and tabs, not the rest
    assert visible_block("select 1\n\tfrom t\x1b[2J\r\n") == "select 1\n\tfrom t\\x1b[2J\\r\n"


def _history_project(root, rows):
    (root / "deprecator.yml").write_text("warehouse:\n  dialect: postgres\n  default_schema: analytics\n"
                                         "registry: deprecations.yml\nhistory:\n  - type: file\n"
                                         "    path: history.jsonl\nstate:\n  url: sqlite:///state.db\n")
    (root / "deprecations.yml").write_text("deprecations:\n  - model: analytics.customer_facts\n"
                                           "    replacement: analytics.entity_customers\n    sunset: 2027-03-31\n")
    (root / "history.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))


def test_scan_text_escapes_user_names_and_unparsed_texts(in_tmp):
    _history_project(in_tmp, [
        {"query_text": "select * from analytics.customer_facts", "user_name": EVIL},
        {"query_text": "select * from analytics.customer_facts where \x1b]0;x\x07 (", "user_name": "bob"},
    ])
    out = invoke(["scan", "--workers", "1"]).stdout
    _no_controls(out)
    assert f"1 query by 1 user ({SHOWN} 1)" in out, out
    assert "where \\x1b]0;x\\x07 (" in out, out
    # JSON keeps the data exact (it escapes controls itself)
    doc = json.loads(invoke(["scan", "--workers", "1", "--format", "json"]).stdout)
    assert EVIL in {f.get("user") for f in doc["findings"]}


def test_plan_text_escapes_view_names(in_tmp):
    con = sqlite3.connect(in_tmp / "wh.db")
    con.executescript('CREATE TABLE customer (id INTEGER); CREATE TABLE customer_v2 (id INTEGER);'
                      f'CREATE VIEW "{EVIL}" AS SELECT id FROM customer;')
    con.close()
    (in_tmp / "deprecator.yml").write_text("warehouse:\n  url: sqlite:///wh.db\n  dialect: sqlite\n"
                                          "  default_schema: main\nregistry: deprecations.yml\n")
    (in_tmp / "deprecations.yml").write_text("deprecations:\n  - model: main.customer\n"
                                             "    replacement: main.customer_v2\n    sunset: 2027-03-31\n")
    out = invoke(["plan"]).stdout
    _no_controls(out)
    shown = SHOWN.lower()   # SQLite's catalog folds ASCII letters
    assert f'~ main."{shown}": rewrite' in out and f'--- main."{shown}" (current)' in out, out
    assert shown in invoke(["scan", "--workers", "1"]).stdout


def test_check_text_and_github_escape_file_names(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    repo.mkdir()

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                       env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "GIT_AUTHOR_NAME": "t",
                            "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
                            "GIT_COMMITTER_EMAIL": "t@example.com"})

    git("init", "-q", "-b", "main")
    (repo / "deprecator.yml").write_text("registry: deprecations.yml\nwarehouse:\n  default_schema: analytics\n")
    (repo / "deprecations.yml").write_text("deprecations:\n  - model: analytics.customer_facts\n"
                                           "    replacement: analytics.entity_customers\n    sunset: 2027-03-31\n")
    git("add", "-A")
    git("commit", "-q", "-m", "init")
    git("checkout", "-q", "-b", "feature")
    name = "bad\x1b]0;x\x07name.sql"
    (repo / name).write_text("select * from analytics.customer_facts\n")
    git("add", "-A")
    git("commit", "-q", "-m", "new")
    monkeypatch.chdir(repo)
    env = {"DEPRECATOR_TODAY": "2026-12-02", "GITHUB_STEP_SUMMARY": ""}
    out = invoke(["check", "--base", "main"], 1, env=env).stdout
    _no_controls(out)
    assert "bad\\x1b]0;x\\x07name.sql:1:" in out, out
    gh = invoke(["check", "--base", "main", "--format", "github"], 1, env=env).stdout
    _no_controls(gh)
    assert name in {f["path"] for f in json.loads(
        invoke(["check", "--base", "main", "--format", "json"], 1, env=env).stdout)["findings"]}
