"""`deprecator digest --format FMT` without --out prints the digest in FMT (what was asked for), needs no
Slack token and sends nothing; a bare `deprecator digest` still sends it to Slack."""

from __future__ import annotations

import json

import pytest

from tests.helpers import invoke
from tests.notify.notify_project import write_project


@pytest.fixture
def project(in_tmp, slack_env, monkeypatch):
    monkeypatch.setenv("DEPRECATOR_TODAY", "2026-12-02")
    write_project(in_tmp, slack_env.base_url, extra_slack='  digest_channel: "#data-deprecations"\n')
    invoke(["scan", "--quiet"])
    return in_tmp


@pytest.mark.parametrize("fmt, starts", [("html", "<!DOCTYPE html>"), ("markdown", "#"),
                                         ("text", "Deprecation digest"), ("json", "{")])
def test_a_format_without_out_prints_it_and_sends_nothing(project, slack_env, monkeypatch, fmt, starts):
    expected = invoke(["digest", "--dry-run", "--format", fmt]).stdout
    monkeypatch.delenv("SLACK_BOT_TOKEN")            # no token needed
    out = invoke(["digest", "--format", fmt]).stdout
    assert out == expected and out.lstrip().startswith(starts), out[:200]
    assert slack_env.fake.messages == []
    if fmt == "json":
        assert json.loads(out)["deprecations"]


def test_without_a_format_the_digest_is_still_sent(project, slack_env):
    assert "Sent the digest" in invoke(["digest"]).stdout
    assert len(slack_env.fake.messages) == 1
