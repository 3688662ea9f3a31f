"""Unqualified names a search path leaves open are flagged in scan findings (issue 3)."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy.engine import make_url

from tests.helpers import invoke
from tests.pg_cluster import run_sql

REGISTRY = """\
deprecations:
  - model: analytics.customer_facts
    replacement: analytics.entity_customers
    sunset: 2027-03-31
"""


def _files_project(root, search_path: str) -> None:
    (root / "deprecator.yml").write_text(
        f"warehouse:\n  dialect: postgres\n  default_schema: {search_path}\nregistry: deprecations.yml\n"
        "paths: [models]\nstate:\n  url: sqlite:///.deprecator/state.db\n")
    (root / "deprecations.yml").write_text(REGISTRY)
    (root / "models").mkdir()
    (root / "models" / "a.sql").write_text("select id\nfrom customer_facts;\nselect id from analytics.customer_facts\n")


def test_a_search_path_of_several_schemas_makes_unqualified_names_ambiguous(in_tmp):
    _files_project(in_tmp, "[analytics, public]")
    data = json.loads(invoke(["scan", "--workers", "0", "--format", "json"]).stdout)
    by_line = {f["line"]: f for f in data["findings"]}
    assert set(by_line) == {2, 3}
    unq, qual = by_line[2], by_line[3]
    assert unq["ambiguous"] is True and unq["relation"] == "analytics.customer_facts"
    assert "`customer_facts` is unqualified" in unq["note"]
    assert "analytics.customer_facts, public.customer_facts" in unq["note"]
    assert qual["ambiguous"] is False and qual["note"] is None
    # the JSON contract only grew: every earlier key is still there
    assert {"deprecation", "relation", "source", "object", "path", "line", "column", "user", "count",
            "first_seen", "last_seen", "columns"} <= set(unq)

    out = invoke(["scan", "--workers", "0"]).stdout
    assert "1 name resolution note (1 ambiguous):" in out
    assert "models/a.sql:2:6: ambiguous: `customer_facts` is unqualified" in out


def test_a_single_schema_search_path_is_not_ambiguous(in_tmp):
    _files_project(in_tmp, "analytics")
    data = json.loads(invoke(["scan", "--workers", "0", "--format", "json"]).stdout)
    assert [(f["line"], f["ambiguous"], f["note"]) for f in data["findings"]] == [(2, False, None), (3, False, None)]
    assert "name resolution note" not in invoke(["scan", "--workers", "0"]).stdout


@pytest.mark.postgres
def test_pg_stat_statements_roles_search_paths_in_findings(pgss_cluster, in_tmp):
    name = "pgss_amb_" + uuid.uuid4().hex[:10]
    run_sql(pgss_cluster.url, f'CREATE DATABASE "{name}"')
    url = make_url(pgss_cluster.url).set(database=name).render_as_string(hide_password=False)
    tag = uuid.uuid4().hex[:6]
    alice, carol, dave = f"alice_{tag}", f"carol_{tag}", f"dave_{tag}"
    try:
        run_sql(url,
                "CREATE EXTENSION pg_stat_statements",
                "CREATE SCHEMA analytics", "CREATE TABLE analytics.customer_facts (id int)",
                *[f'CREATE ROLE "{r}" LOGIN' for r in (alice, carol, dave)],
                *[f'GRANT USAGE ON SCHEMA analytics TO "{r}"' for r in (alice, carol, dave)],
                *[f'GRANT SELECT ON analytics.customer_facts TO "{r}"' for r in (alice, carol, dave)],
                f'ALTER ROLE "{alice}" SET search_path = analytics, public')
        for role, stmt in ((alice, "SELECT id FROM customer_facts WHERE id = 7"),
                           (carol, "SELECT count(*) FROM analytics.customer_facts")):
            run_sql(make_url(url).set(username=role).render_as_string(hide_password=False), stmt)
        # dave sets his search path inside the session: the catalog cannot know
        run_sql(make_url(url).set(username=dave).render_as_string(hide_password=False),
                "SET search_path = analytics", "SELECT name_of_nothing FROM (SELECT id AS name_of_nothing FROM customer_facts) x")
        (in_tmp / "deprecations.yml").write_text(REGISTRY)
        (in_tmp / "deprecator.yml").write_text(
            "warehouse:\n  dialect: postgres\n  default_schema: analytics\nregistry: deprecations.yml\n"
            f"history:\n  - type: pg_stat_statements\n    url: {url}\n"
            "state:\n  url: sqlite:///.deprecator/state.db\n")
        data = json.loads(invoke(["scan", "--workers", "0", "--format", "json"]).stdout)
        ours = [f for f in data["findings"] if f["source"] == "pg_stat_statements" and f["user"] in (alice, carol, dave)]
        found = {f["user"]: f for f in ours}
        assert len(ours) == 3 and set(found) == {alice, carol, dave}, data["findings"]
        # alice's own search_path (analytics, public) leaves `customer_facts` open
        assert found[alice]["ambiguous"] is True
        assert "search path has several schemas (analytics, public)" in found[alice]["note"]
        # carol wrote the schema: nothing to guess
        assert found[carol]["ambiguous"] is False and found[carol]["note"] is None
        # dave's role has no search_path setting: the configured default (analytics) is assumed, and said so
        assert found[dave]["ambiguous"] is False and found[dave]["relation"] == "analytics.customer_facts"
        assert f"role {dave} sets no search_path: the configured default was assumed" in found[dave]["note"]
        out = invoke(["scan", "--workers", "0"]).stdout
        assert f"({alice}): ambiguous: `customer_facts` is unqualified" in out
    finally:
        run_sql(pgss_cluster.url, f'DROP DATABASE "{name}" WITH (FORCE)', *[f'DROP ROLE "{r}"' for r in (alice, carol, dave)])
