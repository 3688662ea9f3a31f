"""`plan`'s text writes view and relation names as SQL, quoted where they must be, as the scan report does,
so a name can be copied back into a query; the saved plan's JSON keeps the names as the catalog has them."""

from __future__ import annotations

import json
import sqlite3

import sqlalchemy as sa

from deprecator.db import create_engine

from tests.helpers import invoke


def test_plan_headers_quote_names_that_need_quotes(in_tmp):
    con = sqlite3.connect(in_tmp / "wh.db")
    con.executescript('CREATE TABLE "Kunden Stamm" (id INTEGER); CREATE TABLE kunden_v2 (id INTEGER);'
                      'CREATE VIEW "Kunden Übersicht" AS SELECT id FROM "Kunden Stamm";'
                      'CREATE VIEW plain_v AS SELECT id FROM "Kunden Stamm";')
    con.close()
    (in_tmp / "deprecator.yml").write_text("warehouse:\n  url: sqlite:///wh.db\n  dialect: sqlite\n"
                                          "  default_schema: main\nregistry: deprecations.yml\n")
    (in_tmp / "deprecations.yml").write_text('deprecations:\n  - model: main."Kunden Stamm"\n'
                                             "    replacement: main.kunden_v2\n    sunset: 2027-03-31\n")
    out = invoke(["plan"]).stdout
    # (SQLite's catalog gives the name case-folded as SQLite folds it: ASCII letters only)
    assert '~ main."kunden Übersicht": rewrite (reads main."Kunden Stamm")' in out, out
    assert "~ main.plain_v: rewrite" in out, out
    # the same quoting as the scan report
    assert '2 views: main."kunden Übersicht", main.plain_v' in invoke(["scan", "--workers", "1"]).stdout
    invoke(["plan", "--out", "plan.json"])
    doc = json.loads((in_tmp / "plan.json").read_text())
    assert "main.kunden Übersicht" in {v["name"] for v in doc["views"]}


def test_plan_headers_quote_names_that_need_quotes_postgres(pg_db, in_tmp, monkeypatch):
    engine = create_engine(pg_db)
    with engine.begin() as c:
        c.execute(sa.text('CREATE TABLE customer (id int); CREATE TABLE customer_v2 (id int);'
                          'CREATE VIEW "Kunden Übersicht" AS SELECT id FROM customer;'
                          'CREATE VIEW "order" AS SELECT id FROM customer'))
    engine.dispose()
    monkeypatch.setenv("WH_URL", pg_db)
    (in_tmp / "deprecator.yml").write_text("warehouse:\n  url: ${WH_URL}\n  default_schema: public\n"
                                          "registry: deprecations.yml\n")
    (in_tmp / "deprecations.yml").write_text("deprecations:\n  - model: public.customer\n"
                                             "    replacement: public.customer_v2\n    sunset: 2027-03-31\n")
    out = invoke(["plan"]).stdout
    assert '~ public."Kunden Übersicht": rewrite (reads public.customer)' in out, out
    assert '~ public."order": rewrite (reads public.customer)' in out, out
    invoke(["plan", "--out", "plan.json"])
    doc = json.loads((in_tmp / "plan.json").read_text())
    assert {"public.Kunden Übersicht", "public.order"} <= {v["name"] for v in doc["views"]}
