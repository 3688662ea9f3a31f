"""A scan that is not recorded (guide, notify) stores no pg_stat_statements reading either.

Found by running `deprecator guide` between two weekly scans: the guide's scan stored
its counter reading, so the next scan's window started there ("2 queries since the
previous scan", the previous scan being the guide) and the calls between the last
real scan and the guide were in no recorded window: lost from the usage snapshots the
digest's weekly figures are made of.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
from sqlalchemy.engine import make_url

from tests.helpers import invoke
from tests.pg_cluster import run_sql

pytestmark = pytest.mark.postgres


@pytest.fixture
def db(pgss_cluster: Any) -> Iterator[tuple[str, str]]:
    name = "pgss_" + uuid.uuid4().hex[:10]
    role = "ann_" + uuid.uuid4().hex[:6]
    run_sql(pgss_cluster.url, f'CREATE DATABASE "{name}"')
    url = make_url(pgss_cluster.url).set(database=name).render_as_string(hide_password=False)
    run_sql(url,
            "CREATE EXTENSION pg_stat_statements",
            "CREATE SCHEMA analytics",
            "CREATE TABLE analytics.customer_facts (id int)", "CREATE TABLE analytics.entity_customers (id int)",
            f'CREATE ROLE "{role}" LOGIN', f'GRANT USAGE ON SCHEMA analytics TO "{role}"',
            f'GRANT SELECT ON analytics.customer_facts TO "{role}"')
    yield url, role
    run_sql(pgss_cluster.url, f'DROP DATABASE "{name}" WITH (FORCE)', f'DROP ROLE "{role}"')


def _run_as(url: str, role: str, times: int) -> None:
    as_role = make_url(url).set(username=role).render_as_string(hide_password=False)
    run_sql(as_role, *["SELECT count(*) FROM analytics.customer_facts"] * times)


def test_guide_between_two_scans_loses_no_calls(db: tuple[str, str], tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    url, role = db
    (tmp_path / "deprecations.yml").write_text(
        "deprecations:\n  - model: analytics.customer_facts\n    replacement: analytics.entity_customers\n"
        "    sunset: 2027-03-31\n")
    (tmp_path / "deprecator.yml").write_text(
        f"warehouse:\n  url: {url}\n  default_schema: analytics\nregistry: deprecations.yml\n"
        "history:\n  - type: pg_stat_statements\n")
    monkeypatch.chdir(tmp_path)
    _run_as(url, role, 1)
    invoke(["scan", "--quiet"])                      # the first reading: no window yet
    _run_as(url, role, 3)
    invoke(["guide", "analytics.customer_facts", "--stdout"])
    _run_as(url, role, 2)
    out = invoke(["scan", "--quiet", "--format", "json"]).stdout
    import json

    usage = json.loads(out)["usage"]["deprecations"][0]
    assert usage["window"]["queries"] == 5, usage["window"]      # 3 before the guide + 2 after
    assert usage["window"]["per_user"] == {role: 5}
