"""`deprecator notify` with the real slack_sdk WebClient against a fake Slack Web API server."""

from __future__ import annotations

import json
import sqlite3
import time

import orjson
import pytest

from tests.notify.fake_slack import FakeSlack, validate_message
from tests.helpers import invoke
from tests.notify.notify_project import DEFAULT_ROWS, row, write_project

TODAY = "2026-12-02"
PRIVATE = "alice.private@home.example"


@pytest.fixture
def project(in_tmp, slack_env, monkeypatch):
    monkeypatch.setenv("DEPRECATOR_TODAY", TODAY)
    write_project(in_tmp, slack_env.base_url)
    return in_tmp


def notify(*args, code=0):
    return invoke(["notify", *args], code)


def posts(fake: FakeSlack) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for m in fake.messages:
        out.setdefault(m["channel"], []).append(m)
    return out


def all_text(m: dict) -> str:
    return json.dumps(m, ensure_ascii=False)


def test_sends_one_message_per_owner_with_the_real_webclient(project, slack_env):
    fake = slack_env.fake
    r = notify()
    by_channel = posts(fake)
    # alice and bob by DM (looked up by email), svc_looker's team channel, the svc_* pattern's channel
    assert sorted(by_channel) == ["CBI", "CPLATFORM", "DUALICE", "DUBOB"]
    assert all(len(v) == 1 for v in by_channel.values())
    assert fake.violations == []
    assert [q.params["email"] for q in fake.calls("users.lookupByEmail")] == ["alice@corp.example",
                                                                             "bob@corp.example"]
    alice = by_channel["DUALICE"][0]
    text = all_text(alice)
    # both models alice uses, in one message, with her most frequent query rewritten and redacted
    assert "analytics.customer_facts" in text and "analytics.order_facts" in text
    assert "select customer_id AS cust_id, name from analytics.entity_customers where email = '***'" in text
    assert "(3 runs)" in text and "2027-03-31" in text and "119 days left" in text
    assert "https://wiki.corp.example/guides/customer_facts" in text and "#analytics-engineering" in text
    assert PRIVATE not in "".join(all_text(m) for m in fake.messages)
    # a blocker in words: svc_etl's query uses a removed column
    assert "legacy_flag" in all_text(by_channel["CPLATFORM"][0])
    assert "cannot be rewritten automatically" in all_text(by_channel["CPLATFORM"][0])
    # every message carries its outbox id; the outbox has each as sent with Slack's ts
    db = sqlite3.connect("state.db")
    rows = db.execute("select id, status, ts, channel_id from notify_outbox").fetchall()
    assert sorted((s, c) for _, s, _, c in rows) == [("sent", "CBI"), ("sent", "CPLATFORM"), ("sent", "DUALICE"),
                                                    ("sent", "DUBOB")]
    assert {m["metadata"]["event_payload"]["outbox_id"]: m["ts"] for m in fake.messages} == \
        {i: ts for i, _, ts, _ in rows}
    # unmapped, ignored and dbt's own queries are listed, never sent
    assert "Weird User" in r.stdout and "dbt_runner" in r.stdout and "ci-bot" in r.stdout
    assert "4 sent" in r.stdout
    # every request authenticated with the token, which appears nowhere else
    assert {q.auth for q in fake.requests} == {f"Bearer {fake.token}"}
    assert fake.token not in r.stdout + r.stderr
    assert fake.token.encode() not in open("state.db", "rb").read()


def test_unmapped_users_are_in_the_json_report_with_the_payloads(project, slack_env):
    r = notify("--dry-run", "--format", "json")
    data = orjson.loads(r.stdout)
    assert [c["user"] for c in data["unmapped"]] == ["Weird User"]
    assert {c["user"]: c["status"] for c in data["not_notified"]} == {"ci-bot": "dbt", "dbt_runner": "ignored"}
    notices = {n["owner"]["name"]: n for n in data["notices"]}
    assert set(notices) == {"alice", "bob", "bi", "svc_etl"}
    for n in notices.values():
        assert n["status"] == "would send"
        assert validate_message(n["payload"]) == []
    assert notices["bi"]["destination"] == "#bi-alerts"
    assert slack_env.fake.requests == []    # a dry run talks to nobody


def test_dry_run_needs_no_token_and_a_real_run_names_the_missing_variable(project, monkeypatch, slack_env):
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    r = notify("--dry-run")
    assert "would send: alice -> DM alice@corp.example" in r.stdout
    assert "where email = '***'" in r.stdout and PRIVATE not in r.stdout
    r = notify(code=2)
    assert "slack.token" in r.stderr and "SLACK_BOT_TOKEN is not set" in r.stderr
    assert slack_env.fake.requests == []


def test_no_redact_shows_literals(project, slack_env):
    r = notify("--dry-run", "--no-redact")
    assert PRIVATE in r.stdout
    assert "literal values in queries are redacted" not in r.stdout


def test_only_one_model(project, slack_env):
    r = notify("--only", "analytics.order_facts", "--format", "json")
    data = orjson.loads(r.stdout)
    assert [n["owner"]["name"] for n in data["notices"]] == ["alice"]
    assert "customer_facts" not in all_text(slack_env.fake.messages[0])
    notify("--only", "analytics.nope", code=2)


def test_cooldown_and_changes(project, slack_env, monkeypatch):
    fake = slack_env.fake
    notify()
    assert len(fake.messages) == 4
    r = notify()
    assert len(fake.messages) == 4 and "4 skipped" in r.stdout and "slack.cooldown" in r.stdout
    assert "Dry run: 4 skipped." in notify("--dry-run").stdout    # a dry run shows the cool-down too
    # a new query by bob: only bob is told again
    rows = DEFAULT_ROWS + [row("bob", "select name from analytics.customer_facts where cust_id = 42")]
    write_project(project, slack_env.base_url, rows)
    r = notify()
    assert [m["channel"] for m in fake.messages[4:]] == ["DUBOB"]
    # the stage changes when the sunset passes: everyone using customer_facts is told again
    monkeypatch.setenv("DEPRECATOR_TODAY", "2027-04-02")
    notify()
    assert sorted(m["channel"] for m in fake.messages[5:]) == ["CBI", "CPLATFORM", "DUALICE", "DUBOB"]
    assert "days ago" in all_text(fake.messages[-1])


def test_cooldown_elapses(project, slack_env):
    write_project(project, slack_env.base_url, extra_slack="  cooldown: 1s\n")
    notify()
    notify()
    assert len(slack_env.fake.messages) == 4
    time.sleep(1.1)
    notify()
    assert len(slack_env.fake.messages) == 8


def test_lookup_failure_goes_to_the_fallback_channel_saying_for_whom(project, slack_env):
    fake = slack_env.fake
    del fake.users["bob@corp.example"]
    r = notify()
    fallback = posts(fake)["CFALLBACK"]
    assert len(fallback) == 1
    assert "Meant for bob (bob@corp.example)" in all_text(fallback[0])
    assert "users_not_found" in r.stdout and "meant for bob" in r.stdout


@pytest.mark.parametrize("error", ["channel_not_found", "not_in_channel"])
def test_a_channel_error_is_reported_and_does_not_stop_the_others(project, slack_env, error):
    fake = slack_env.fake
    fake.fail("chat.postMessage", error=error, when=lambda p: p.get("channel") == "#bi-alerts")
    r = notify(code=1)
    assert sorted(posts(fake)) == ["CPLATFORM", "DUALICE", "DUBOB"]
    assert "Not reached:" in r.stdout and f"bi: chat.postMessage: {error}" in r.stdout
    # failed rows are not "sent": the next run tries bi again
    notify()
    assert sorted(posts(fake)) == ["CBI", "CPLATFORM", "DUALICE", "DUBOB"]


def test_not_in_channel_for_real(project, slack_env):
    slack_env.fake.not_member.add("CPLATFORM")
    r = notify(code=1)
    assert "svc_etl: chat.postMessage: not_in_channel: the app is not a member of the channel" in r.stdout


def test_invalid_auth_stops_with_exit_2_and_no_token_anywhere(project, slack_env, monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-wrong-token-value-123")
    r = notify(code=2)
    assert "invalid_auth" in r.stderr and "xoxb-wrong-token-value-123" not in r.stdout + r.stderr
    assert slack_env.fake.messages == []


def test_rate_limit_is_retried_after_retry_after(project, slack_env):
    fake = slack_env.fake
    fake.fail("chat.postMessage", status=429, retry_after=1, times=1)
    notify()
    assert len(fake.messages) == 4
    calls = fake.calls("chat.postMessage")
    assert len(calls) == 5 and calls[1].at - calls[0].at >= 1.0


def test_server_error_on_lookup_is_retried(project, slack_env):
    fake = slack_env.fake
    fake.fail("users.lookupByEmail", status=500, times=1)
    notify()
    assert len(fake.messages) == 4 and len(fake.calls("users.lookupByEmail")) == 3


def test_server_error_on_post_is_settled_by_the_next_run(project, slack_env):
    fake = slack_env.fake
    fake.fail("chat.postMessage", status=500, times=-1, when=lambda p: p.get("channel") == "DUBOB")
    r = notify(code=1)
    assert "bob: chat.postMessage: internal_error (HTTP 500)" in r.stdout
    assert "whether it was posted is unknown" in r.stdout
    assert len(fake.calls("chat.postMessage")) == 4      # a post is not blindly retried on a 5xx
    fake.faults.clear()
    r = notify()
    assert "never arrived; it is due again" in r.stdout
    assert [m["channel"] for m in fake.messages].count("DUBOB") == 1


def test_template_override(project, slack_env):
    tpl = project / "my_templates"
    tpl.mkdir()
    (tpl / "slack_notice.json.j2").write_text(
        '[{"type": "section", "text": {"type": "mrkdwn", "text": {{ ("Custom for " ~ owner.name ~ ": "'
        ' ~ (items | map(attribute="model") | join(", "))) | tojson }}}}]')
    write_project(project, slack_env.base_url, extra_slack="  templates: my_templates\n")
    notify()
    blocks = {m["channel"]: m["blocks"] for m in slack_env.fake.messages}
    assert blocks["DUALICE"] == [{"type": "section", "text": {
        "type": "mrkdwn", "text": "Custom for alice: analytics.customer_facts, analytics.order_facts"}}]
    # the text template was not overridden: the shipped one is used
    assert "deprecated models you still use" in slack_env.fake.messages[0]["text"] or \
        "deprecated model you still use" in slack_env.fake.messages[0]["text"]


def test_a_broken_template_is_a_clear_error(project, slack_env):
    tpl = project / "my_templates"
    tpl.mkdir()
    (tpl / "slack_notice.json.j2").write_text("[{{ nope( }}]")
    write_project(project, slack_env.base_url, extra_slack="  templates: my_templates\n")
    r = notify("--dry-run", code=2)
    assert "slack_notice.json.j2" in r.stderr and "Traceback" not in r.stderr


def test_limits_many_models_and_a_huge_query(in_tmp, slack_env, monkeypatch):
    """30 deprecated models and a 20,000-character query: within Slack's limits, "and N more"."""
    monkeypatch.setenv("DEPRECATOR_TODAY", TODAY)
    reg = ["deprecations:"]
    rows = []
    for i in range(30):
        reg += [f"  - model: analytics.old_{i:02d}", f"    replacement: analytics.new_{i:02d}",
                "    sunset: 2027-03-31"]
        rows.append(row("alice", f"select * from analytics.old_{i:02d}"))
    wide = ", ".join(f"col_{j} AS alias_{j}" for j in range(1200))
    rows += [row("alice", f"select {wide} from analytics.old_00")] * 5
    write_project(in_tmp, slack_env.base_url, rows)
    (in_tmp / "deprecations.yml").write_text("\n".join(reg) + "\n")
    notify()
    fake = slack_env.fake
    assert fake.violations == [] and len(fake.messages) == 1
    blocks = fake.messages[0]["blocks"]
    assert len(blocks) <= 50
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks if b["type"] == "section" and "text" in b)
    text = all_text(fake.messages[0])
    assert "more characters" in text
    more = [b for b in blocks if b["type"] == "section" and "more deprecated model" in b["text"]["text"]]
    assert len(more) == 1 and "…and 21 more deprecated models you use" in more[0]["text"]["text"]
    assert "analytics.old_29" in more[0]["text"]["text"]


def test_fit_blocks_never_exceeds_slack_limits():
    from deprecator.notify.render import fit_blocks

    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 5000}} for _ in range(80)]
    out = fit_blocks(blocks)
    assert len(out) == 50 and "31 more blocks" in out[-1]["elements"][0]["text"]
    assert validate_message({"text": "t", "blocks": out}) == []
    # the fake server rejects what Slack rejects
    assert validate_message({"text": "t", "blocks": blocks})
    assert validate_message({"text": "x" * 40001})
    assert validate_message({"blocks": [{"type": "sektion"}]})
    assert validate_message({"blocks": [{"type": "section"}]})


def test_a_post_answered_with_a_server_error_but_posted_is_recorded_not_duplicated(project, slack_env):
    fake = slack_env.fake
    fake.fail("chat.postMessage", status=503, process=True, when=lambda p: p.get("channel") == "DUALICE")
    r = notify(code=1)
    assert "alice: chat.postMessage: internal_error (HTTP 503)" in r.stdout
    assert [m["channel"] for m in fake.messages].count("DUALICE") == 1
    r = notify()
    assert "had arrived" in r.stdout and "4 skipped" in r.stdout
    assert [m["channel"] for m in fake.messages].count("DUALICE") == 1


def test_unverifiable_pending_notice_is_not_resent(project, slack_env):
    fake = slack_env.fake
    fake.fail("chat.postMessage", status=500, process=True, when=lambda p: p.get("channel") == "DUBOB")
    notify(code=1)
    fake.fail("conversations.history", error="missing_scope", times=-1)
    r = notify(code=1)
    assert "could not check whether notice" in r.stdout and "missing_scope" in r.stdout
    assert "unverified: bob" in r.stdout and "not re-sent to avoid a duplicate" in r.stdout
    assert [m["channel"] for m in fake.messages].count("DUBOB") == 1
    fake.faults.clear()
    r = notify()
    assert "had arrived" in r.stdout
    assert [m["channel"] for m in fake.messages].count("DUBOB") == 1


def test_resend_unverified_sends_what_cannot_be_checked(project, slack_env):
    fake = slack_env.fake
    fake.fail("chat.postMessage", status=500, when=lambda p: p.get("channel") == "DUBOB")   # not posted
    notify(code=1)
    fake.fail("conversations.history", error="missing_scope", times=-1)
    assert "unverified: bob" in notify(code=1).stdout
    r = notify("--resend-unverified")
    assert "counted as lost (--resend-unverified)" in r.stdout
    assert [m["channel"] for m in fake.messages].count("DUBOB") == 1


def test_dbt_model_owners_from_meta_then_group_then_exposure(project, slack_env):
    def model(name, deps=(), **extra):
        return {"resource_type": "model", "name": name, "package_name": "shop",
                "relation_name": f'"analytics"."{name}"', "original_file_path": f"models/{name}.sql",
                "depends_on": {"nodes": list(deps)}, **extra}

    cf = "model.shop.customer_facts"
    manifest = {
        "metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json",
                     "project_name": "shop"},
        "nodes": {
            cf: model("customer_facts"),
            "model.shop.orders_summary": model("orders_summary", [cf], meta={"owner": "alice@corp.example"}),
            "model.shop.churn": model("churn", [cf], group="finance"),
            "model.shop.ltv": model("ltv", [cf]),
            "model.shop.orphan": model("orphan", [cf]),
            "model.shop.unrelated": model("unrelated", [], meta={"owner": "zed@corp.example"}),
        },
        "sources": {},
        "groups": {"group.shop.finance": {"name": "finance", "owner": {"name": "Finance", "email": "fin@corp.example"}}},
        "exposures": {"exposure.shop.dash": {"name": "dash", "owner": {"name": "Maya", "email": "maya@corp.example"},
                                             "depends_on": {"nodes": ["model.shop.ltv"]}}},
    }
    (project / "target").mkdir()
    (project / "target" / "manifest.json").write_text(json.dumps(manifest))
    cfg = project / "deprecator.yml"
    cfg.write_text(cfg.read_text() + "dbt:\n  manifest: target/manifest.json\n")
    data = orjson.loads(notify("--dry-run", "--format", "json").stdout)
    notices = {n["owner"]["key"]: n for n in data["notices"]}
    alice = all_text(notices["email:alice@corp.example"]["payload"])
    assert "Your dbt models that depend on it:* orders_summary" in alice
    assert "churn" in all_text(notices["email:fin@corp.example"]["payload"])
    assert "ltv" in all_text(notices["email:maya@corp.example"]["payload"])
    assert "email:zed@corp.example" not in notices
    assert [c["user"] for c in data["unmapped"] if "dbt" in c["user"]] == ["dbt model orphan"]


def test_a_job_that_writes_the_deprecated_model_is_told_to_stop_not_given_a_rewrite(project, slack_env):
    rows = DEFAULT_ROWS + [row("carol", "insert into analytics.customer_facts (cust_id) select id from raw.c")] * 2
    write_project(project, slack_env.base_url, rows)
    data = orjson.loads(notify("--dry-run", "--format", "json").stdout)
    carol = next(n for n in data["notices"] if n["owner"]["name"] == "carol")
    text = all_text(carol["payload"])
    assert "2 runs of queries that write to or alter it: switch them off" in text
    assert "Your most frequent query" not in text and "entity_customers (cust_id)" not in text


def test_slack_unreachable_is_reported_per_owner_without_noise(project, slack_env):
    import socket

    with socket.socket() as s:          # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    write_project(project, f"http://127.0.0.1:{port}/api/")
    started = time.monotonic()
    r = notify(code=1)
    not_reached = r.stdout.split("Not reached:", 1)[1].strip().splitlines()
    assert len(not_reached) == 4
    assert all("could not connect to slack.base_url; nothing was sent" in line for line in not_reached)
    assert r.stderr == "" and "Traceback" not in r.stdout
    assert time.monotonic() - started < 10     # the connection is not retried for every owner
    # nothing is pending: the next run does not hold anyone back as unverified
    r = notify(code=1)
    assert "unverified" not in r.stdout


def test_an_overridden_template_that_breaks_the_limits_is_cut_not_rejected(project, slack_env):
    tpl = project / "my_templates"
    tpl.mkdir()
    (tpl / "slack_notice.json.j2").write_text(
        '[{"type": "header", "text": {"type": "plain_text", "text": {{ ("H" * 400) | tojson }}}}'
        '{% for i in range(80) %}, {"type": "section", "text": {"type": "mrkdwn", '
        '"text": {{ ("x" * 5000) | tojson }}}}{% endfor %}]')
    write_project(project, slack_env.base_url, extra_slack="  templates: my_templates\n")
    notify()
    fake = slack_env.fake
    assert fake.violations == [] and len(fake.messages) == 4
    blocks = fake.messages[0]["blocks"]
    assert len(blocks) == 50 and len(blocks[0]["text"]["text"]) == 150
    assert "more blocks not shown" in blocks[-1]["elements"][0]["text"]
