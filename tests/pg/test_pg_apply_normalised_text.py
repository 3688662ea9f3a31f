"""After an apply, "the warehouse now holds a different text than planned" only when the view really differs.

Found on a real server: a view over public."Mixed Case" rewritten to analytics.mixed_new (its column
mapped to uni) is planned as `m."uni" ... FROM analytics."mixed_new" m` (the author's quoting kept),
PostgreSQL stores `m.uni ... FROM analytics.mixed_new m`, and every such apply warned. The planned
text is now compared as the server would store it.
"""

from __future__ import annotations

from pathlib import Path

from deprecator.warehouse.postgres import PostgresWarehouse
from tests.helpers import invoke
from tests.pg_cluster import run_sql

WARNING = "warning: the warehouse now holds a different text than planned for"


def _project(pg_db: str, tmp_path: Path) -> Path:
    run_sql(pg_db,
            "CREATE SCHEMA analytics",
            'CREATE TABLE public."Mixed Case" (id int, "Old Col" int)',
            "CREATE TABLE analytics.mixed_new (id int, uni int)",
            'CREATE VIEW analytics.mixed_v AS SELECT m.id, m."Old Col" FROM public."Mixed Case" m')
    (tmp_path / "deprecations.yml").write_text(
        'deprecations:\n  - model: public."Mixed Case"\n    replacement: analytics.mixed_new\n'
        "    sunset: 2027-03-31\n    columns:\n      '\"Old Col\"': uni\n")
    (tmp_path / "deprecator.yml").write_text(
        f"warehouse:\n  url: {pg_db}\nregistry: deprecations.yml\nstate:\n  url: sqlite:///state.db\n")
    return tmp_path / "deprecator.yml"


def test_quotes_the_server_drops_are_not_a_different_text(pg_db, tmp_path, monkeypatch):
    config = _project(pg_db, tmp_path)
    monkeypatch.chdir(tmp_path)
    plan = invoke(["--config", str(config), "plan", "--out", "plan.json"])
    assert 'm."uni" AS "Old Col"' in plan.stdout and 'FROM analytics."mixed_new" m' in plan.stdout  # as planned
    r = invoke(["--config", str(config), "apply", "plan.json"])
    assert "~ analytics.mixed_v" in r.stdout
    assert WARNING not in r.stderr, r.stderr
    wh = PostgresWarehouse(pg_db)
    try:
        [view] = [v for v in wh.list_views() if v.relation.name == "mixed_v"]
        assert view.definition == 'SELECT m.id,\n    m.uni AS "Old Col"\n   FROM analytics.mixed_new m'
    finally:
        wh.close()


def test_the_stored_text_of_a_definition_is_what_the_server_would_store(pg_db, tmp_path):
    _project(pg_db, tmp_path)
    wh = PostgresWarehouse(pg_db)
    try:
        stored = wh.stored_definition('SELECT m.id, m."uni" AS "Old Col" FROM analytics."mixed_new" m')
        assert stored == 'SELECT m.id,\n    m.uni AS "Old Col"\n   FROM analytics.mixed_new m'
        # a text that reads something else stays different, and one that does not compile has no stored text
        assert wh.stored_definition('SELECT m.id, m.id AS "Old Col" FROM analytics.mixed_new m') != stored
        assert wh.stored_definition("SELECT nothing FROM analytics.no_such_table") is None
    finally:
        wh.close()
