"""`notify --dry-run` and `digest` text and Markdown never print control characters from the query history
(a user name with an ESC sequence and a newline): they are shown escaped; JSON keeps them exact."""

from __future__ import annotations

import json

from tests.helpers import invoke
from tests.notify.notify_project import DEFAULT_ROWS, row, write_project

EVIL = "ev\x1b]0;pwned\x07il\x1b[2J\nFORGED LINE"
SHOWN = "ev\\x1b]0;pwned\\x07il\\x1b[2J\\nFORGED LINE"


def _no_controls(text: str) -> None:
    bad = {c for c in text if (ord(c) < 32 and c not in "\n\t") or 0x7F <= ord(c) < 0xA0}
    assert not bad, (bad, text)
    assert not any(line.startswith("FORGED") for line in text.splitlines()), text


def test_notify_dry_run_text_escapes_user_names_and_queries(in_tmp, slack_env):
    write_project(in_tmp, slack_env.base_url, [
        *DEFAULT_ROWS, row(EVIL, "select cust_id from analytics.customer_facts"),
        row("alice", "select cust_id\n\tfrom analytics.customer_facts -- \x1b]0;t\x07\n"),
    ])
    out = invoke(["notify", "--dry-run"]).stdout
    _no_controls(out)
    assert SHOWN in out, out
    doc = json.loads(invoke(["notify", "--dry-run", "--format", "json"]).stdout)
    assert json.dumps(EVIL)[1:-1] in json.dumps(doc)   # the user exactly as the history has it


def test_digest_text_and_markdown_escape_user_names(in_tmp, slack_env, monkeypatch):
    monkeypatch.setenv("DEPRECATOR_TODAY", "2026-12-02")
    rows = [row(u, "select cust_id from analytics.customer_facts", t)
            for t in ("2026-11-17T09:00:00Z", "2026-11-24T09:00:00Z") for u in (EVIL, "zed")]
    write_project(in_tmp, slack_env.base_url, rows)
    invoke(["scan", "--quiet"])
    for fmt in ("text", "markdown"):
        out = invoke(["digest", "--dry-run", "--format", fmt]).stdout
        _no_controls(out)
        assert "ev\\x1b]0;pwned\\x07il" in out, (fmt, out)
    doc = json.loads(invoke(["digest", "--dry-run", "--format", "json"]).stdout)
    assert json.dumps(EVIL)[1:-1] in json.dumps(doc)   # the user exactly as the history has it
