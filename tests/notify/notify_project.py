"""A small deprecator project for notice tests: registry, history export, owners and slack config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

import pytest

from tests.notify.fake_slack import FakeSlack, FakeSlackServer

REGISTRY = """\
deprecations:
  - model: analytics.customer_facts
    replacement: analytics.entity_customers
    sunset: 2027-03-31
    announced: 2026-11-01
    reason: Replaced by the customer entity model
    contact: "#analytics-engineering"
    migration_guide: https://wiki.corp.example/guides/customer_facts
    columns:
      cust_id: customer_id
    removed_columns: [legacy_flag]
  - model: analytics.order_facts
    replacement: analytics.entity_orders
    sunset: 2027-06-30
    owner: analytics-engineering
"""

OWNERS = """\
owners:
  users:
    alice: {email: alice@corp.example}
    svc_looker: {team: bi, slack_channel: "#bi-alerts"}
  patterns:
    - match: "svc_*"
      slack_channel: "#data-platform"
  email_domain: corp.example
  ignore: ["dbt_runner"]
"""


def config_text(base_url: str, *, extra_slack: str = "", owners: str = OWNERS, state: str = "state.db") -> str:
    return f"""\
warehouse:
  dialect: postgres
  default_schema: analytics
registry: deprecations.yml
history:
  - type: file
    path: history.jsonl
state:
  url: sqlite:///{state}
{owners}slack:
  token: ${{SLACK_BOT_TOKEN}}
  base_url: {base_url}
  fallback_channel: "#data-deprecations"
{extra_slack}"""


def row(user: str, text: str, t: str = "2026-11-20T10:00:00Z") -> dict[str, Any]:
    return {"query_text": text, "user_name": user, "start_time": t}


DEFAULT_ROWS = [
    *[row("alice", "select cust_id, name from analytics.customer_facts where email = 'alice.private@home.example'")] * 3,
    row("alice", "select * from analytics.order_facts"),
    row("bob", "select cf.cust_id from analytics.customer_facts cf"),
    row("svc_looker", "select count(*) from analytics.customer_facts"),
    row("svc_etl", "select legacy_flag from analytics.customer_facts"),
    row("dbt_runner", "select 1 from analytics.customer_facts"),
    row("ci-bot", '/* {"app": "dbt", "node_id": "model.x"} */ select cust_id from analytics.customer_facts'),
    row("Weird User", "select cust_id from analytics.customer_facts"),
]


def write_project(root: Path, base_url: str, rows: Iterable[dict[str, Any]] = DEFAULT_ROWS, **kw: Any) -> Path:
    (root / "deprecations.yml").write_text(REGISTRY)
    (root / "history.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = root / "deprecator.yml"
    cfg.write_text(config_text(base_url, **kw))
    return cfg


def standard_workspace(fake: FakeSlack) -> None:
    """alice, bob, the svc_etl pattern's and svc_looker's channels, and the fallback channel."""
    fake.add_user("alice@corp.example", "UALICE")
    fake.add_user("bob@corp.example", "UBOB")
    fake.add_channel("#bi-alerts", "CBI")
    fake.add_channel("#data-platform", "CPLATFORM")
    fake.add_channel("#data-deprecations", "CFALLBACK")


@pytest.fixture
def slack_server():
    server = FakeSlackServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def slack_env(monkeypatch, slack_server):
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack_server.fake.token)
    standard_workspace(slack_server.fake)
    return slack_server
