"""The scan's text output writes relation names as SQL, quoted where they must be, so they can be
copied back into a query (issue 7); on real PostgreSQL and real SQLite."""

from __future__ import annotations

import sqlite3

import sqlalchemy as sa

from deprecator.db import create_engine
from tests.helpers import invoke

REGISTRY = """\
deprecations:
  - model: {s}.customer
    replacement: {s}.customer_v2
    sunset: 2027-03-31
"""


def test_view_names_that_need_quotes_are_quoted_in_text_output_postgres(pg_db, in_tmp, monkeypatch):
    engine = create_engine(pg_db)
    with engine.begin() as c:
        c.execute(sa.text('CREATE TABLE customer (id int); CREATE TABLE customer_v2 (id int);'
                          'CREATE VIEW "Customer Report" AS SELECT id FROM customer;'
                          'CREATE VIEW "order" AS SELECT id FROM customer;'
                          'CREATE VIEW plain_v AS SELECT id FROM customer'))
    engine.dispose()
    monkeypatch.setenv("WH_URL", pg_db)
    (in_tmp / "deprecator.yml").write_text("warehouse:\n  url: ${WH_URL}\n  default_schema: public\n"
                                          "registry: deprecations.yml\n")
    (in_tmp / "deprecations.yml").write_text(REGISTRY.format(s="public"))
    out = invoke(["scan", "--workers", "1"]).stdout
    assert '3 views: public."Customer Report", public."order", public.plain_v' in out, out
    # JSON keeps the names as the catalog has them (the stable contract)
    doc = invoke(["scan", "--workers", "1", "--format", "json"]).stdout
    assert '"object": "public.Customer Report"' in doc


def test_view_names_that_need_quotes_are_quoted_in_text_output_sqlite(in_tmp):
    con = sqlite3.connect(in_tmp / "wh.db")
    con.executescript('CREATE TABLE customer (id INTEGER); CREATE TABLE customer_v2 (id INTEGER);'
                      'CREATE VIEW "by region" AS SELECT id FROM customer;')
    con.close()
    (in_tmp / "deprecator.yml").write_text("warehouse:\n  url: sqlite:///wh.db\n  dialect: sqlite\n"
                                          "  default_schema: main\nregistry: deprecations.yml\n")
    (in_tmp / "deprecations.yml").write_text(REGISTRY.format(s="main"))
    out = invoke(["scan", "--workers", "1"]).stdout
    assert '1 view: main."by region"' in out, out
