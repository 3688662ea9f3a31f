"""`deprecator digest` end to end: a real scan's weekly figures in the state store, every format,
Slack through the real slack_sdk WebClient against the fake server, and the HTML page in a real browser."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
import subprocess

import pytest

from tests.helpers import invoke
from tests.notify.notify_project import row, write_project

TODAY = "2026-12-02"      # a Wednesday: the last complete week is 2026-11-23 .. 29


def _rows():
    out = []
    # customer_facts: 8, 6, 4, 2 uses in the four weeks before TODAY's; order_facts flat
    for week, n in ((dt.date(2026, 11, 2), 8), (dt.date(2026, 11, 9), 6), (dt.date(2026, 11, 16), 4),
                    (dt.date(2026, 11, 23), 2)):
        for i in range(n):
            user = ("alice", "bob", "dbt_runner", "Weird User")[i % 4]
            t = dt.datetime.combine(week + dt.timedelta(days=i % 7), dt.time(9, 0))
            out.append(row(user, "select cust_id from analytics.customer_facts", t.isoformat() + "Z"))
        for i in range(3):
            t = dt.datetime.combine(week + dt.timedelta(days=i), dt.time(10, 0))
            out.append(row("svc_looker", "select * from analytics.order_facts", t.isoformat() + "Z"))
    # dbt running a model (its query comment): a consumer that cannot act, shown apart
    out.append(row("ci-bot", '/* {"app": "dbt", "node_id": "model.x"} */ select cust_id from analytics.customer_facts',
                   "2026-11-25T06:00:00Z"))
    # this week's (partial) uses are not reported as a week
    out.append(row("alice", "select cust_id from analytics.customer_facts", "2026-12-01T08:00:00Z"))
    return out


@pytest.fixture
def project(in_tmp, slack_env, monkeypatch):
    monkeypatch.setenv("DEPRECATOR_TODAY", TODAY)
    write_project(in_tmp, slack_env.base_url, _rows(), extra_slack='  digest_channel: "#data-deprecations"\n')
    invoke(["scan", "--quiet"])
    return in_tmp


def test_digest_json_from_a_scan(project):
    data = json.loads(invoke(["digest", "--dry-run", "--format", "json"]).stdout)
    assert data["week"] == "2026-11-23"
    cf, of = data["deprecations"]
    assert [w["uses"] for w in cf["weeks"]] == [8, 6, 4, 3]
    assert cf["this_week"]["uses"] == 3 and cf["last_week"]["uses"] == 4 and cf["change"] == -1
    assert cf["status"] == "on track" and cf["sparkline"] == "█▆▅▄"
    # owners: alice and bob map to people; dbt_runner is a service user that cannot act; Weird User is unmapped
    assert [u["name"] for u in cf["consumers"]["users"]] == ["alice", "bob"]
    assert cf["consumers"]["unmapped_users"] == ["Weird User"]
    assert [u["name"] for u in cf["consumers"]["cannot_act"]] == ["dbt_runner", "dbt runs as ci-bot"]
    assert of["status"] == "stalled" and [w["uses"] for w in of["weeks"]] == [3, 3, 3, 3]


def test_rescanning_does_not_change_the_digest(project):
    first = invoke(["digest", "--dry-run", "--format", "json"]).stdout
    invoke(["scan", "--quiet"])
    assert invoke(["digest", "--dry-run", "--format", "json"]).stdout == first


def test_text_and_markdown(project):
    text = invoke(["digest", "--dry-run"]).stdout
    assert "analytics.customer_facts -> analytics.entity_customers: ON TRACK" in text
    assert "last week 3 uses by 3 users; the week before 4 uses by 4 users (-1)" in text
    assert "consumers that cannot act (dbt's own runs, owners.ignore): dbt_runner (2), dbt runs as ci-bot (1)" in text
    assert "unmapped users (no owner): Weird User" in text
    md = invoke(["digest", "--dry-run", "--format", "markdown"]).stdout
    assert md.startswith("# Deprecation digest, week of 2026-11-23\n\n")
    assert "| `analytics.order_facts` | `analytics.entity_orders` | **stalled** |" in md


def test_fewer_than_two_weeks_says_so(in_tmp, slack_env, monkeypatch):
    monkeypatch.setenv("DEPRECATOR_TODAY", TODAY)
    write_project(in_tmp, slack_env.base_url, [row("alice", "select 1 from analytics.customer_facts",
                                                   "2026-11-24T09:00:00Z")])
    invoke(["scan", "--quiet"])
    text = invoke(["digest", "--dry-run", "--only", "analytics.customer_facts"]).stdout
    assert "TOO EARLY TO TELL" in text and "one complete week of data so far; a trend needs two" in text


def test_sends_once_per_week_to_the_digest_channel(project, slack_env):
    fake = slack_env.fake
    out = invoke(["digest"]).stdout
    assert "Sent the digest of 2 deprecations to #data-deprecations" in out
    (msg,) = fake.messages
    assert msg["channel"] == "CFALLBACK" and fake.violations == []
    assert "analytics.customer_facts" in json.dumps(msg) and "█▆▅▄" in json.dumps(msg, ensure_ascii=False)
    assert "already sent" in invoke(["digest"]).stdout and len(fake.messages) == 1
    invoke(["digest", "--force"])
    assert len(fake.messages) == 2
    assert fake.token.encode() not in open("state.db", "rb").read()


def test_slack_refusal_and_missing_channel_are_errors(project, slack_env):
    slack_env.fake.fail("chat.postMessage", error="not_in_channel")
    err = invoke(["digest"], 2).stderr
    assert "the digest was not sent to #data-deprecations" in err and "not_in_channel" in err
    rows = sqlite3.connect("state.db").execute("select status from notify_outbox").fetchall()
    assert rows == [("failed",)]


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def test_html_page_renders_in_a_real_browser(project, tmp_path):
    invoke(["digest", "--format", "html", "--out", "report.html"])
    page = (project / "report.html").read_text()
    assert "<script" not in page and "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    browser = _chromium()
    if browser is None:
        pytest.skip("no chromium on this machine (.ci/run installs Debian's chromium package)")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}"]
    url = (project / "report.html").as_uri()
    dom = subprocess.run([browser, *flags, "--dump-dom", url], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    assert "Deprecation digest, week of 2026-11-23" in html
    # each deprecation's burn-down is drawn: a bar per week with its figure, the sunset line
    assert html.count('class="burndown"') == 2
    assert html.count('class="week"') == 8 and 'data-uses="8"' in html
    assert html.count('class="sunset"') == 2
    shot = tmp_path / "digest.png"
    run = subprocess.run([browser, *flags, "--window-size=1000,1400", f"--screenshot={shot}", url],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and shot.stat().st_size > 10_000, run.stderr[-2000:]
