"""Where the registry names no `migration_guide`, the check and the notices link the generated guide
(`deprecator guide` writes it to migration_guides/<table>.md beside deprecator.yml), once it is written."""

from __future__ import annotations

import json

import orjson

from tests.check.check_project import ENV, commit, git, write
from tests.helpers import invoke
from tests.notify.notify_project import write_project

REGISTRY = """\
deprecations:
  - model: analytics.Customer_Facts
    replacement: analytics.entity_customers
    sunset: 2027-03-31
"""


def _guides(out: str) -> set:
    return {f["guide"] for f in json.loads(out)["findings"]}


def test_check_links_the_generated_guide_once_it_exists(tmp_path, monkeypatch):
    r = tmp_path / "repo"
    r.mkdir()
    git(r, "init", "-q", "-b", "main")
    # deprecator.yml in a sub-folder of the repository, as dbt projects often are
    write(r, "transform/deprecator.yml", "registry: deprecations.yml\nwarehouse:\n  default_schema: analytics\n")
    write(r, "transform/deprecations.yml", REGISTRY)
    write(r, "transform/models/a.sql", "select cust_id from analytics.customer_facts\n")
    commit(r, "init")
    monkeypatch.chdir(r)
    args = ["--config", "transform/deprecator.yml", "check", "transform/models", "--format", "json"]
    assert _guides(invoke(args, 1, env=ENV).stdout) == {None}      # never generated: no link to nothing
    # `deprecator guide` writes it beside deprecator.yml, named as registered (Customer_Facts.md)
    invoke(["--config", "transform/deprecator.yml", "guide", "analytics.Customer_Facts", "--no-scan"], env=ENV)
    assert (r / "transform/migration_guides/Customer_Facts.md").is_file()
    assert _guides(invoke(args, 1, env=ENV).stdout) == {"transform/migration_guides/Customer_Facts.md"}
    text = invoke(args[:-2], 1, env=ENV).stdout
    assert "guide: transform/migration_guides/Customer_Facts.md" in text


def test_notices_link_the_generated_guide_when_the_registry_names_none(in_tmp, slack_env, monkeypatch):
    monkeypatch.setenv("DEPRECATOR_TODAY", "2026-12-02")
    write_project(in_tmp, slack_env.base_url)

    def payloads() -> str:
        data = orjson.loads(invoke(["notify", "--dry-run", "--format", "json"]).stdout)
        return json.dumps([n["payload"] for n in data["notices"]])

    assert "order_facts.md" not in payloads()
    (in_tmp / "migration_guides").mkdir()
    (in_tmp / "migration_guides" / "order_facts.md").write_text("# order_facts\n")
    after = payloads()
    assert json.dumps("*Migration guide*\n`migration_guides/order_facts.md`")[1:-1] in after
    # the registry's own guide still wins where it names one
    assert "wiki.corp.example/guides/customer_facts" in after
