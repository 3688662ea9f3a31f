"""View owners come from the PostgreSQL catalog: the owner role of a view that reads a deprecated
model is told, mapped through owners: like a history user."""

from __future__ import annotations

import pytest

from tests.helpers import invoke
from tests.pg_cluster import run_sql

pytestmark = pytest.mark.postgres


def test_view_owner_from_the_catalog_is_notified(pg_db, pg_roles, in_tmp, slack_env, monkeypatch):
    owner, stranger, _ = pg_roles
    run_sql(pg_db,
            "CREATE SCHEMA analytics",
            "CREATE TABLE analytics.customer_facts (cust_id int, name text, legacy_flag int)",
            "CREATE TABLE analytics.entity_customers (customer_id int, name text)",
            "CREATE VIEW analytics.vip AS SELECT cust_id, name FROM analytics.customer_facts",
            f'ALTER VIEW analytics.vip OWNER TO "{owner}"',
            "CREATE VIEW analytics.orphan AS SELECT name FROM analytics.customer_facts",
            f'ALTER VIEW analytics.orphan OWNER TO "{stranger}"')
    monkeypatch.setenv("DEPRECATOR_TODAY", "2026-12-02")
    (in_tmp / "deprecations.yml").write_text(
        "deprecations:\n  - model: analytics.customer_facts\n    replacement: analytics.entity_customers\n"
        "    sunset: 2027-03-31\n")
    (in_tmp / "deprecator.yml").write_text(f"""\
warehouse:
  url: {pg_db}
  default_schema: analytics
registry: deprecations.yml
state:
  url: sqlite:///state.db
owners:
  users:
    {owner}: {{email: amy@corp.example}}
slack:
  token: ${{SLACK_BOT_TOKEN}}
  base_url: {slack_env.base_url}
""")
    slack_env.fake.add_user("amy@corp.example", "UAMY")
    r = invoke(["notify"])
    msgs = slack_env.fake.messages
    assert [m["channel"] for m in msgs] == ["DUAMY"]
    text = str(msgs[0]["blocks"])
    assert "analytics.vip" in text and "deprecator plan" in text
    # the other view's owner is unmapped (no email_domain): listed, not dropped
    assert stranger in r.stdout and "Unmapped users" in r.stdout
