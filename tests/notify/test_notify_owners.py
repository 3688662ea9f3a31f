"""Owner resolution (precedence, unmapped, ignored, dbt) and the owners:/slack: config sections."""

from __future__ import annotations

import textwrap

import pytest

from deprecator.config import load_config
from deprecator.errors import ConfigError
from deprecator.notify.owners import OwnerResolver, is_dbt_query

OWNERS = """\
owners:
  users:
    alice: {email: alice@corp.example}
    Carol: {slack_user: U0CAROL}
    svc_looker: {team: bi, slack_channel: "#bi-alerts"}
    svc_nobody: {team: finance}
    dbt_runner: {email: dbt@corp.example}
  patterns:
    - match: "svc_*"
      slack_channel: "#data-platform"
    - match: "svc_etl*"
      slack_channel: "#never-reached"
    - match: "ana_*"
      team: analysts
      email: analysts@corp.example
  email_domain: corp.example
  ignore: ["dbt_runner", "airflow_*"]
"""


def resolver(tmp_path, text=OWNERS):
    p = tmp_path / "deprecator.yml"
    p.write_text(text)
    return OwnerResolver(load_config(p).owners)


@pytest.mark.parametrize("user, status, key, how", [
    ("dbt_runner", "ignored", None, None),                 # ignore wins over an owners.users entry
    ("airflow_scheduler", "ignored", None, None),           # ignore takes globs
    ("alice", "owner", "email:alice@corp.example", "owners.users.alice"),
    ("carol", "owner", "slack:U0CAROL", "owners.users.Carol"),  # case-insensitive after exact
    ("svc_looker", "owner", "channel:#bi-alerts", "owners.users.svc_looker"),  # users before patterns
    ("svc_etl_nightly", "owner", "channel:#data-platform", "owners.patterns[0] (svc_*)"),  # first match wins
    ("svc_nobody", "owner", "team:finance", "owners.users.svc_nobody"),
    ("ana_jo", "owner", "email:analysts@corp.example", "owners.patterns[2] (ana_*)"),
    ("dave@other.example", "owner", "email:dave@other.example", "the user name is an email"),
    ("erin", "owner", "email:erin@corp.example", "owners.email_domain (corp.example)"),
    ("Weird User", "unmapped", None, None),
])
def test_precedence(tmp_path, user, status, key, how):
    r = resolver(tmp_path).user(user)
    assert r.status == status
    assert (r.owner.key if r.owner else None) == key
    assert (r.owner.how if r.owner else None) == how
    if status != "owner":
        assert r.reason


def test_without_an_email_domain_users_are_unmapped_not_dropped(tmp_path):
    r = resolver(tmp_path, "owners:\n  users:\n    alice: {email: alice@corp.example}\n")
    assert r.user("bob").status == "unmapped" and "owners.email_domain" in r.user("bob").reason
    assert r.user(None).status == "unmapped"


def test_dbt_query_comment(tmp_path):
    dbt = '/* {"app": "dbt", "dbt_version": "1.8.0", "node_id": "model.shop.orders"} */\nselect * from t'
    assert is_dbt_query(dbt)
    assert not is_dbt_query('/* {"app": "looker"} */ select * from t')
    assert not is_dbt_query("select 'dbt' from t /* dbt */")
    assert resolver(tmp_path).user("alice", dbt).status == "dbt"


def write(tmp_path, body):
    p = tmp_path / "deprecator.yml"
    p.write_text(textwrap.dedent(body))
    return p


@pytest.mark.parametrize("body, line, field, words", [
    ("owners:\n  userz: {}\n", 2, "owners.userz", "unknown key"),
    ("owners:\n  users:\n    alice: alice@corp.example\n", 3, "owners.users.alice", "expected a mapping"),
    ("owners:\n  users:\n    alice: {email: not-an-email}\n", 3, "owners.users.alice.email", "not an email"),
    ("owners:\n  users:\n    alice: {name: Alice}\n", 3, "owners.users.alice", "nowhere to send"),
    ("owners:\n  users:\n    alice: {slack_channel: bi-alerts}\n", 3, "owners.users.alice.slack_channel",
     "not a channel"),
    ("owners:\n  patterns:\n    - slack_channel: \"#x\"\n", 3, "owners.patterns[0].match", "needs `match:`"),
    ("owners:\n  patterns: {match: x}\n", 2, "owners.patterns", "expected a list"),
    ("owners:\n  email_domain: \"@\"\n", 2, "owners.email_domain", "not a mail domain"),
    ("owners:\n  ignore: {a: 1}\n", 2, "owners.ignore", "expected a list"),
    ("slack:\n  chanel: x\n", 2, "slack.chanel", "unknown key"),
    ("slack:\n  base_url: slack.com\n", 2, "slack.base_url", "not an http(s) URL"),
    ("slack:\n  fallback_channel: data\n", 2, "slack.fallback_channel", "not a channel"),
    ("slack:\n  cooldown: 7\n", 2, "slack.cooldown", "expected a duration"),
    ("slack:\n  templates: nowhere/\n", 2, "slack.templates", "does not exist"),
])
def test_config_errors_name_file_line_field(tmp_path, body, line, field, words):
    p = write(tmp_path, body)
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert (e.value.line, e.value.field) == (line, field), str(e.value)
    assert words in str(e.value) and str(p.resolve()) in str(e.value)


def test_slack_section_values_and_the_token_never_shown(tmp_path, monkeypatch):
    monkeypatch.setenv("MY_SLACK_TOKEN", "xoxb-1234-secret")
    p = write(tmp_path, """\
        slack:
          token: ${MY_SLACK_TOKEN}
          base_url: http://127.0.0.1:9/api/
          fallback_channel: "#data-deprecations"
          digest_channel: C0123
          cooldown: 36h
    """)
    cfg = load_config(p)
    assert cfg.slack.token == "xoxb-1234-secret" and cfg.slack.cooldown_s == 36 * 3600
    assert cfg.slack.digest_channel == "C0123" and cfg.slack.base_url == "http://127.0.0.1:9/api/"
    assert "xoxb-1234-secret" not in repr(cfg) and "xoxb-1234-secret" not in repr(cfg.slack)
