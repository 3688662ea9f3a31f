"""The generic pushed-down SQL history source, on a real PostgreSQL history table."""

from __future__ import annotations

import datetime as dt
import random

import pytest
import sqlalchemy as sa

from deprecator.errors import SourceError
from deprecator.sources.base import SqlText
from deprecator.prefilter import Prefilter
from deprecator.sources.sql_history import SqlHistorySource, name_needles, pushed_down_query
from deprecator.sql import pgunicode
from deprecator.sql import find_references
from deprecator.sql.model import RelationName
from tests.spellings import unicode_spelling

pytestmark = pytest.mark.postgres

T0 = dt.datetime(2026, 11, 1, 9, 0, 0)

ROWS = [
    # text, user, minutes after T0
    ("select * from analytics.customer_facts", "alice", 0),
    ("select * from analytics.customer_facts", "alice", 30),
    ("select * from analytics.customer_facts", "bob", 10),
    ("SELECT id FROM ANALYTICS.CUSTOMER_FACTS WHERE x = 1", "carol", 5),     # case differs
    ('select 1 from "Odd""Name"', "dave", 1),                                 # quoted name with a quote
    ("select 1 from customerXfacts", "eve", 2),                               # `_` must not act as a wildcard
    ('select 1 from "100%_done"', "frank", 3),
    ("select 1 from \"100abc_done\"", "frank", 4),                            # `%` must not act as a wildcard
    ("select * from orders", "alice", 6),
    ('select 1 from "ÜberFacts"', "gina", 9),                              # non-ASCII name, other case
    ("select * from orders", "bob", 7),
    (None, "nobody", 8),
]


def _history(url: str) -> None:
    eng = sa.create_engine(url)
    with eng.begin() as c:
        c.exec_driver_sql("CREATE TABLE hist (query_text text, user_name text, start_time timestamptz, extra int)")
        c.execute(sa.text("INSERT INTO hist VALUES (:t, :u, :s, 0)"),
                  [{"t": t, "u": u, "s": (T0 + dt.timedelta(minutes=m)).replace(tzinfo=dt.timezone.utc)}
                   for t, u, m in ROWS])
    eng.dispose()


def _read(src):
    return [i for i in src.read()]


def test_pushed_down_filter_and_grouping(pg_db):
    _history(pg_db)
    names = [RelationName(None, "analytics", "customer_facts"), 'Odd"Name', "100%_done", "überfacts"]
    items = _read(SqlHistorySource(pg_db, "SELECT query_text, user_name, start_time FROM hist", names))
    assert all(isinstance(i, SqlText) and i.source == "sql" for i in items)
    got = sorted((i.text, i.user, i.count, i.first_seen, i.last_seen) for i in items)
    assert got == sorted([
        ("select * from analytics.customer_facts", "alice", 2, T0, T0 + dt.timedelta(minutes=30)),
        ("select * from analytics.customer_facts", "bob", 1, T0 + dt.timedelta(minutes=10), T0 + dt.timedelta(minutes=10)),
        ("SELECT id FROM ANALYTICS.CUSTOMER_FACTS WHERE x = 1", "carol", 1, T0 + dt.timedelta(minutes=5), T0 + dt.timedelta(minutes=5)),
        ('select 1 from "Odd""Name"', "dave", 1, T0 + dt.timedelta(minutes=1), T0 + dt.timedelta(minutes=1)),
        ('select 1 from "100%_done"', "frank", 1, T0 + dt.timedelta(minutes=3), T0 + dt.timedelta(minutes=3)),
        ('select 1 from "ÜberFacts"', "gina", 1, T0 + dt.timedelta(minutes=9), T0 + dt.timedelta(minutes=9)),
    ])
    assert "hist" not in items[0].object or "***" not in items[0].object


def test_no_names_means_no_filter_and_empty_list_means_nothing(pg_db):
    _history(pg_db)
    q = "SELECT query_text, user_name, start_time FROM hist"
    everything = _read(SqlHistorySource(pg_db, q, None))
    assert sum(i.count for i in everything) == len(ROWS) - 1          # the NULL text is dropped
    assert len(everything) == 10                                       # distinct (text, user) pairs
    assert _read(SqlHistorySource(pg_db, q, [])) == []


def test_user_query_bind_parameters_and_hostile_values(pg_db):
    _history(pg_db)
    q = "SELECT query_text, user_name, start_time FROM hist WHERE start_time >= :since AND user_name <> :who;"
    items = _read(SqlHistorySource(pg_db, q, ["orders", "'; DROP TABLE hist; --"],
                                   params={"since": T0 + dt.timedelta(minutes=6, seconds=30), "who": "x'; --"}))
    assert [(i.text, i.user, i.count) for i in items] == [("select * from orders", "bob", 1)]
    eng = sa.create_engine(pg_db)
    with eng.connect() as c:
        assert c.exec_driver_sql("SELECT count(*) FROM hist").scalar() == len(ROWS)
    eng.dispose()


def test_one_query_with_bound_needles_is_sent():
    from sqlalchemy.dialects import postgresql, sqlite

    q = "select query_text, user_name, start_time from h"
    pg = pushed_down_query(q, ["customer_facts", "a%b", "überfacts"], "postgresql").compile(dialect=postgresql.dialect())
    assert 'lower(deprecator_history.query_text COLLATE "C") LIKE ANY' in str(pg) and "GROUP BY" in str(pg)
    assert "ILIKE" in str(pg)                                          # the non-ASCII name keeps ILIKE
    assert pg.params["deprecator_needles"] == ["%a\\%b%", "%customer\\_facts%", '%u&"%']
    generic = str(pushed_down_query(q, ["customer_facts", "a%b"], "sqlite").compile(dialect=sqlite.dialect()))
    assert "lower(" in generic and "LIKE" in generic and "COLLATE" not in generic
    for sql in (str(pg), generic):
        assert "customer_facts" not in sql and "a%b" not in sql        # values travel as bind parameters


def test_needles():
    assert name_needles(["Customer_Facts", 'a"b', RelationName(None, "s", "Orders"), "orders_v2"]) == \
        ['a""b', 'a"b', "customer_facts", "orders", 'u&"']
    # the prefilter's escapes: a backtick is doubled (MySQL) or backslashed (BigQuery) inside backticks
    assert {"x`y", "x``y", "x\\`y"} <= set(name_needles(["X`Y"]))


def test_bad_query_is_a_source_error_naming_the_columns(pg_db):
    _history(pg_db)
    with pytest.raises(SourceError, match="query_text, user_name, start_time"):
        _read(SqlHistorySource(pg_db, "SELECT query_text FROM hist", ["orders"]))
    with pytest.raises(SourceError, match="empty"):
        _read(SqlHistorySource(pg_db, "  ", ["orders"]))


def test_user_query_with_percent_signs_and_casts(pg_db):
    _history(pg_db)
    q = ("SELECT query_text, user_name, start_time::timestamp AS start_time FROM hist "
         "WHERE query_text NOT LIKE '%orders%' AND start_time > '2026-11-01 09:00:00+00'")
    items = _read(SqlHistorySource(pg_db, q, ["customer_facts"]))
    assert sorted((i.user, i.count) for i in items) == [("alice", 1), ("bob", 1), ("carol", 1)]


def test_history_query_runs_read_only(pg_db):
    _history(pg_db)
    eng = sa.create_engine(pg_db)
    with eng.begin() as c:
        c.exec_driver_sql("CREATE SEQUENCE side_effect")
    eng.dispose()
    q = "SELECT query_text, user_name, start_time FROM hist, LATERAL (SELECT nextval('side_effect')) AS w"
    with pytest.raises(SourceError, match="read-only transaction"):
        _read(SqlHistorySource(pg_db, q, ["orders"]))


def test_unicode_escaped_names_pass_the_pushdown_and_reach_the_parser(pg_db):
    """PostgreSQL reads ``U&"customer_\\0066acts"`` as customer_facts: the pushed-down filter keeps
    every such text (its bare name is nowhere in it), and the engine reads the name as the server does."""
    rng = random.Random("pg-unicode")
    spelled = ['U&"customer_\\0066acts"', "u&\"customer!005Ffacts\" UESCAPE '!'", 'U&"\\+000063ustomer_facts"']
    spelled += [unicode_spelling(rng, "customer_facts") for _ in range(12)]
    eng = sa.create_engine(pg_db)
    with eng.begin() as c:
        c.exec_driver_sql("CREATE TABLE customer_facts (cust_id int)")
        c.exec_driver_sql("CREATE TABLE hist (query_text text, user_name text, start_time timestamptz)")
        for s in spelled:
            # the server itself: each spelling names the table, so each text is a true reference
            assert c.exec_driver_sql(f"SELECT count(cust_id) FROM {s}").scalar() == 0, s
        for _ in range(30):   # the test's encoder agrees with the server on odd names too
            name = "".join(rng.choice('abcXYZ_019 "`]éßΣ$𝔣') for _ in range(rng.randint(1, 10)))
            spelling = unicode_spelling(rng, name)
            cur = c.exec_driver_sql(f"SELECT 1 AS {spelling}")
            assert cur.cursor.description[0][0] == name
            # ... and the engine's decoder with both
            assert pgunicode.identifiers(spelling) == [(0, len(spelling), name)], spelling
        texts = [f"select cust_id from {s} where cust_id > 0" for s in spelled]
        c.execute(sa.text("INSERT INTO hist VALUES (:t, 'ursula', :s)"),
                  [{"t": t, "s": T0.replace(tzinfo=dt.timezone.utc)}
                   for t in texts + ["select 1 from orders", 'select "u&x" from orders']])
    eng.dispose()
    items = _read(SqlHistorySource(pg_db, "SELECT query_text, user_name, start_time FROM hist", ["customer_facts"]))
    assert sorted(i.text for i in items) == sorted(texts)
    pf = Prefilter(["customer_facts"])
    for text in texts:
        assert pf.may_reference(text)
        # the engine decodes U& identifiers as the server does (each spelling was checked on it above)
        result = find_references(text, "postgres", ("public",))
        assert result.status == "parsed", (text, result.error)
        assert [(str(r.relation), r.written, r.exact_span) for r in result.references] == [
            ("public.customer_facts", text[len("select cust_id from "):-len(" where cust_id > 0")], True)], text


def test_bigquery_backslash_escaped_names_pass_the_pushdown(pg_db):
    """`customer\\x5ffacts` is customer_facts in BigQuery: the filter keeps texts with a backslash and
    a backtick (on PostgreSQL and through the generic LIKE form), and drops a backslash alone."""
    from sqlalchemy.dialects import postgresql

    escaped = ["select * from ds.`customer\\x5ffacts`", "SELECT 1 FROM `p.ds.\\143ustomer_facts` t",
               "select * from ds.`customer\\u005Ffacts` where x = '\\\\'"]
    dropped = ["select regexp_contains(x, r'\\d+') from ds.t", "select '`' from orders"]
    eng = sa.create_engine(pg_db)
    with eng.begin() as c:
        c.exec_driver_sql("CREATE TABLE hist (query_text text, user_name text, start_time timestamptz)")
        c.execute(sa.text("INSERT INTO hist VALUES (:t, 'bq', :s)"),
                  [{"t": t, "s": T0.replace(tzinfo=dt.timezone.utc)} for t in escaped + dropped])
    eng.dispose()
    q = "SELECT query_text, user_name, start_time FROM hist"
    eng = sa.create_engine(pg_db)
    for dialect in ("postgresql", None):   # PostgreSQL's strpos() form, and the LIKE form other warehouses get
        stmt = pushed_down_query(q, ["customer_facts"], dialect)
        assert ("strpos(" in str(stmt.compile(dialect=postgresql.dialect()))) == (dialect == "postgresql")
        with eng.connect() as c:
            got = sorted(r.query_text for r in c.execute(stmt))
        assert got == sorted(escaped), dialect
    eng.dispose()
    pf = Prefilter(["customer_facts"])
    for text in escaped:
        assert pf.may_reference(text)
        refs = find_references(text, "bigquery", ("ds",), "p").references
        assert [r.relation.name for r in refs] == ["customer_facts"], text


def _weekly_rows(url: str, ts_type: str) -> None:
    eng = sa.create_engine(url)
    with eng.begin() as c:
        c.exec_driver_sql(f"CREATE TABLE hist (query_text text, user_name text, start_time {ts_type})")
        # Sunday 23:30 and Monday 00:10 fall in different ISO weeks; the Saturday joins the Sunday's
        days = [dt.datetime(2026, 11, 28, 12, 0), dt.datetime(2026, 11, 29, 23, 30), dt.datetime(2026, 11, 30, 0, 10)]
        c.execute(sa.text("INSERT INTO hist VALUES ('select * from customer_facts', 'alice', :s)"),
                  [{"s": d} for d in days])
    eng.dispose()


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_rows_are_grouped_per_iso_week_so_each_row_lies_in_one_week(backend, pg_db, tmp_path):
    url = pg_db if backend == "postgresql" else f"sqlite:///{tmp_path / 'h.db'}"
    _weekly_rows(url, "timestamp" if backend == "postgresql" else "text")
    items = _read(SqlHistorySource(url, "SELECT query_text, user_name, start_time FROM hist", ["customer_facts"]))
    got = sorted((i.count, i.first_seen, i.last_seen) for i in items)
    assert got == [(1, dt.datetime(2026, 11, 30, 0, 10), dt.datetime(2026, 11, 30, 0, 10)),
                   (2, dt.datetime(2026, 11, 28, 12, 0), dt.datetime(2026, 11, 29, 23, 30))]


def test_deprecators_own_statements_and_roles_are_not_usage(pg_db):
    """A query log keeps what deprecator sent (its marker) and what its own roles ran: neither is usage."""
    from deprecator.db import STATEMENT_MARKER

    _history(pg_db)
    eng = sa.create_engine(pg_db)
    with eng.begin() as c:
        c.execute(sa.text("INSERT INTO hist VALUES (:t, :u, :s, 0)"), [
            {"t": f"{STATEMENT_MARKER} CREATE OR REPLACE VIEW v AS SELECT 1 FROM analytics.customer_facts",
             "u": "maya", "s": T0},
            {"t": "select * from analytics.customer_facts", "u": "deprecator_apply", "s": T0}])
    eng.dispose()
    names = [RelationName(None, "analytics", "customer_facts")]
    query = "SELECT query_text, user_name, start_time FROM hist"
    everyone = {(i.user, i.text) for i in _read(SqlHistorySource(pg_db, query, names))}
    assert ("deprecator_apply", "select * from analytics.customer_facts") in everyone
    assert not any(t.startswith(STATEMENT_MARKER) for _, t in everyone)       # the marker alone leaves it out
    users = {i.user for i in _read(SqlHistorySource(pg_db, query, names, own_roles=("deprecator_apply",)))}
    assert users == {"alice", "bob", "carol"}
