"""The scan end to end: real files, a real history export, a real SQLite warehouse, the state store."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import signal
import sqlite3
from pathlib import Path

import orjson
import pytest

from deprecator.config import Config, HistorySourceConfig, WarehouseConfig
from deprecator.registry import load_registry
from deprecator.errors import SourceError
from deprecator.scan import build_sources, format_report_text, run_scan
from deprecator.sources.base import SqlText
from deprecator.sources.files import FileSource
from deprecator.sources.history_file import HistoryFileSource
from deprecator.sql import find_references
from deprecator.state import StateStore

REGISTRY = """\
deprecations:
  - model: analytics.customer_facts
    replacement: analytics.entity_customers
    sunset: 2027-03-31
    columns:
      cust_id: customer_id
  - model: analytics.old_orders
    replacement: analytics.orders
    sunset: 2027-03-31
"""


def _history_rows():
    q1 = "select cust_id, region from ANALYTICS.CUSTOMER_FACTS where region = 'eu'"
    q2 = "select count(*) from analytics.orders"
    q3 = "select * from analytics.old_orders o join analytics.customer_facts c on o.cid = c.cust_id"
    q4 = 'select 1 from "CUSTOMER_FACTS"'     # quoted: a different relation in postgres
    rows = [
        {"query_text": q1, "user_name": "ann", "start_time": "2026-11-01T09:00:00Z", "warehouse": "wh"},
        {"query_text": q1, "user_name": "ann", "start_time": "2026-11-03T09:00:00Z"},
        {"query_text": q1, "user_name": "ann", "start_time": "2026-11-02T09:00:00Z"},
        {"query_text": q1, "user_name": "bob", "start_time": "2026-11-05T09:00:00Z"},
        *[{"query_text": q2, "user_name": "cy", "start_time": "2026-11-01T00:00:00Z"}] * 5,
        {"query_text": q3, "user_name": "bob", "start_time": "2026-11-04T00:00:00Z"},
        {"query_text": q4, "user_name": "dee", "start_time": "2026-11-04T00:00:00Z"},
        {"query_text": "select from from where", "user_name": "eve", "start_time": "2026-11-04T00:00:00Z"},
    ]
    lines = [orjson.dumps(r) for r in rows]
    lines.insert(6, b'{"query_text": "select 1", "start_time": "not a time"}')   # line 7: malformed
    return b"\n".join(lines) + b"\n"


@pytest.fixture
def project(tmp_path):
    (tmp_path / "deprecations.yml").write_text(REGISTRY)
    (tmp_path / "history.jsonl").write_bytes(_history_rows())
    models = tmp_path / "models"
    models.mkdir()
    (models / "report.sql").write_text(
        "-- weekly report\nselect c.cust_id\nfrom\n  analytics.customer_facts c\n"
        "join analytics.old_orders o on o.cid = c.cust_id\n")
    (models / "shadow.sql").write_text(
        "with customer_facts as (select 1 as cust_id)\nselect cust_id from customer_facts\n")
    (models / "clean.sql").write_text("select * from analytics.entity_customers\n")
    (models / "broken.sql").write_text("select customer_facts from (((\n")
    config = Config(
        path=tmp_path / "deprecator.yml", root=tmp_path,
        warehouse=WarehouseConfig(dialect="postgres", default_schema=("analytics",)),
        registry_path=tmp_path / "deprecations.yml",
        history=(HistorySourceConfig("file", Path("history.jsonl")),),
        sql_paths=("models",),
        state_url="sqlite:///.deprecator/state.db",
    )
    registry = load_registry(config.registry_path, "postgres", ("analytics",))
    return config, registry


def test_scan_files_and_history(project):
    config, registry = project
    report = run_scan(config, registry, workers=2)
    doc = report.to_dict()
    assert set(doc) == {"findings", "unparsed", "stats", "usage", "weekly"}
    # uses per ISO week from the rows' own times: 2026-11-01 is a Sunday, so ann's first run is a week earlier
    assert doc["weekly"] == {
        "analytics.customer_facts": [
            {"week": "2026-10-26", "label": "2026-W44", "uses": 1, "users": 1},
            {"week": "2026-11-02", "label": "2026-W45", "uses": 4, "users": 2}],
        "analytics.old_orders": [{"week": "2026-11-02", "label": "2026-W45", "uses": 1, "users": 1}],
    }
    f = [x for x in doc["findings"] if x["source"] == "file"]
    assert [(x["deprecation"], x["path"], x["line"], x["column"]) for x in f] == [
        ("analytics.customer_facts", "models/report.sql", 4, 3),
        ("analytics.old_orders", "models/report.sql", 5, 6),
    ]
    assert f[0]["relation"] == "analytics.customer_facts" and f[0]["user"] is None and f[0]["count"] == 1
    h = [x for x in doc["findings"] if x["source"] == "history"]
    got = [(x["deprecation"], x["user"], x["count"], x["first_seen"], x["last_seen"]) for x in h]
    assert sorted(got) == [
        ("analytics.customer_facts", "ann", 3, "2026-11-01T09:00:00", "2026-11-03T09:00:00"),
        ("analytics.customer_facts", "bob", 1, "2026-11-04T00:00:00", "2026-11-04T00:00:00"),
        ("analytics.customer_facts", "bob", 1, "2026-11-05T09:00:00", "2026-11-05T09:00:00"),
        ("analytics.old_orders", "bob", 1, "2026-11-04T00:00:00", "2026-11-04T00:00:00"),
    ]
    assert all(x["object"] == "history.jsonl" and x["path"] is None and x["line"] is None for x in h)
    unparsed = {(u["source"], u["object"], u["status"]) for u in doc["unparsed"]}
    assert ("file", "models/broken.sql", "error") in unparsed
    assert ("history", "history.jsonl", "malformed") in unparsed
    malformed = [u for u in doc["unparsed"] if u["status"] == "malformed"]
    assert malformed[0]["line"] == 7 and "start_time" in malformed[0]["error"]
    s = doc["stats"]
    assert s["texts_read"] == 4 + 12          # 4 files, 12 good rows
    assert s["malformed_rows"] == 1
    assert s["distinct_texts"] == 4 + 5
    # clean.sql, the orders-only query and the garbage row cannot mention a deprecated name
    assert s["prefiltered_out"] == 3
    assert s["parsed"] + s["fallback"] + s["error"] == s["distinct_texts"] - s["prefiltered_out"]
    # broken.sql is the one error; shadow.sql (a CTE of the same name) and q4 (a quoted other relation) parse
    assert (s["parsed"], s["fallback"], s["error"]) == (5, 0, 1) and s["workers"] == 2


def test_scan_records_usage_snapshots_from_history_only(project):
    config, registry = project
    report = run_scan(config, registry, workers=1)
    assert report.scan_id is not None
    store = StateStore(config.state_url, config.root)
    snaps = {s.deprecation: s for s in store.usage_history()}
    store.close()
    cf = snaps["analytics.customer_facts"]
    assert (cf.queries, cf.distinct_users, cf.per_user) == (5, 2, {"ann": 3, "bob": 2})
    assert cf.window_start == dt.datetime(2026, 11, 1, 9) and cf.window_end == dt.datetime(2026, 11, 5, 9)
    oo = snaps["analytics.old_orders"]
    assert (oo.queries, oo.per_user) == (1, {"bob": 1})


def test_files_only_scan_records_no_snapshots(project):
    config, registry = project
    report = run_scan(config, registry, sources=[FileSource(("models",), root=config.root)], workers=1)
    assert report.snapshots == () and report.scan_id is not None
    assert {f.source for f in report.findings} == {"file"}
    store = StateStore(config.state_url, config.root)
    assert store.usage_history() == []
    store.close()


def test_every_history_type_is_built_through_the_factory_table(project):
    config, _ = project
    sources, closers = build_sources(config)
    assert [s.kind for s in sources] == ["file", "history"] and closers == []
    assert sources[1].name == "history.jsonl"   # shown relative to the config's folder
    with pytest.raises(SourceError, match="needs a path"):
        build_sources(dataclasses.replace(config, history=(HistorySourceConfig("file"),)))
    with pytest.raises(SourceError, match="unknown history source type 'nope'") as e:
        build_sources(dataclasses.replace(config, history=(HistorySourceConfig("nope"),)))
    assert e.value.hint == "known types: file, pg_stat_statements, sql"


def test_paths_replace_sql_paths_and_history_is_still_read(project, in_tmp):
    config, registry = project
    report = run_scan(config, registry, paths=["models/report.sql"], workers=0, record=False)
    assert {(f.source, f.object) for f in report.findings} == {("file", "models/report.sql"),
                                                               ("history", "history.jsonl")}


def test_warehouse_views_source(tmp_path):
    db = tmp_path / "wh.db"
    con = sqlite3.connect(db)
    con.executescript("""
        create table customer_facts (cust_id int, region text);
        create table entity_customers (customer_id int, region text);
        create view eu as select cust_id from customer_facts where region = 'eu';
        create view eu_count as select count(*) as n from eu;
        create view fresh as select customer_id from entity_customers;
    """)
    con.close()
    (tmp_path / "deprecations.yml").write_text(
        "deprecations:\n  - model: customer_facts\n    replacement: entity_customers\n    sunset: 2027-01-01\n"
        "  - model: eu\n    replacement: fresh\n    sunset: 2027-01-01\n")
    config = Config(path=None, root=tmp_path,
                    warehouse=WarehouseConfig(url=f"sqlite:///{db}", dialect="sqlite", default_schema=("main",)),
                    registry_path=tmp_path / "deprecations.yml", state_url=f"sqlite:///{tmp_path}/state.db")
    registry = load_registry(config.registry_path, "sqlite", ("main",))
    report = run_scan(config, registry, workers=1)
    views = [(f.source, f.object, f.deprecation, f.columns) for f in report.findings]
    # eu's own CREATE VIEW statement is not a use of eu; eu_count's SELECT is
    assert views == [("view", "main.eu", "customer_facts", ("cust_id", "region")),
                     ("view", "main.eu_count", "eu", ())]
    assert report.stats["distinct_texts"] == 3 and report.snapshots == ()


def test_hostile_texts_cost_one_text_each(project, in_tmp):
    config, registry = project
    deep = "select * from analytics.customer_facts where x in " + "(select 1 from t where y in " * 300 + \
        "(1)" + ")" * 300
    huge = "select * from analytics.customer_facts where x in (" + ",".join(["1"] * 60000) + ")"
    rows = [{"query_text": deep, "user_name": "a"}, {"query_text": huge, "user_name": "b"},
            {"query_text": "select cust_id from analytics.customer_facts", "user_name": "c"}]
    (config.root / "history.jsonl").write_bytes(b"\n".join(orjson.dumps(r) for r in rows))
    report = run_scan(config, registry, workers=1, max_chars=100_000, record=False, paths=["models/clean.sql"])
    errors = {u.error.split(" (")[0] for u in report.unparsed if u.source == "history"}
    assert "too large" in errors
    assert any(u.error == "too large (120051 chars > limit 100000)" for u in report.unparsed)
    assert any("nested" in u.error for u in report.unparsed if u.source == "history"), report.unparsed
    assert [f.user for f in report.findings if f.source == "history"] == ["c"]


def crash_on_sentinel(text, dialect, default_schema=(), default_catalog=None):
    """Test-only parse function: the real engine, except a sentinel text kills the worker."""
    if "/* SEGV */" in text:
        os.kill(os.getpid(), signal.SIGSEGV)
    return find_references(text, dialect, default_schema=default_schema, default_catalog=default_catalog)


def test_a_crashing_worker_costs_one_text_and_the_scan_goes_on(project):
    config, registry = project
    rows = [{"query_text": f"select cust_id from analytics.customer_facts where id = {i}", "user_name": f"u{i}"}
            for i in range(20)]
    rows[3]["query_text"] = "select /* SEGV */ cust_id from analytics.customer_facts"
    rows[11]["query_text"] = "select /* SEGV */ 2 from analytics.customer_facts"
    (config.root / "history.jsonl").write_bytes(b"\n".join(orjson.dumps(r) for r in rows))
    report = run_scan(config, registry, workers=2, parse_fn=crash_on_sentinel, record=False,
                      sources=[HistoryFileSource(config.root / "history.jsonl", object_name="h")])
    crashed = [u for u in report.unparsed if u.status == "error"]
    assert [u.error for u in crashed] == ["worker crashed: signal 11 (SIGSEGV)"] * 2
    assert sorted(u.text for u in crashed) == sorted([rows[3]["query_text"], rows[11]["query_text"]])
    assert sorted(f.user for f in report.findings) == sorted(f"u{i}" for i in range(20) if i not in (3, 11))
    assert report.stats["error"] == 2 and report.stats["parsed"] == 18 and report.stats["worker_crashes"] == 2


class _ListSource:
    """A pre-aggregated source (as pg_stat_statements is): rows with counts and a per-text search path."""

    kind = "pg_stat_statements"
    name = "test"

    def __init__(self, items):
        self.items = items

    def read(self):
        return iter(self.items)


def test_same_text_with_different_search_paths_is_parsed_per_path(project):
    config, registry = project
    text = "select cust_id from customer_facts"
    t0 = dt.datetime(2026, 11, 1)
    items = [
        SqlText(text, "pg_stat_statements", "db", user="ann", count=7, first_seen=t0, last_seen=t0,
                default_schema=("analytics",)),
        SqlText(text, "pg_stat_statements", "db", user="bob", count=5, default_schema=("public",)),
        SqlText(text, "pg_stat_statements", "db", user="cy", count=2, default_schema=("public", "analytics")),
    ]
    report = run_scan(config, registry, sources=[_ListSource(items)], workers=1)
    # bob's path cannot reach analytics; cy's can (public first, but nothing says public has the table)
    assert [(f.user, f.count) for f in report.findings] == [("ann", 7), ("cy", 2)]
    assert report.stats["distinct_texts"] == 1 and report.stats["parsed"] == 3
    assert report.stats["queries_read"] == 14
    snap = {s.deprecation: s for s in report.snapshots}["analytics.customer_facts"]
    assert (snap.queries, snap.per_user, snap.window_start) == (9, {"ann": 7, "cy": 2}, t0)


def test_text_report_says_when_history_texts_have_no_runs_counted(project):
    config, registry = project
    items = [SqlText("select cust_id from analytics.customer_facts", "pg_stat_statements", "db/queryid=1",
                     user="ann", count=0)]
    report = run_scan(config, registry, sources=[_ListSource(items)], workers=0, record=False)
    text = format_report_text(report, registry)
    assert ("analytics.customer_facts -> analytics.entity_customers (sunset 2027-03-31)\n"
            "  Readers (read it), migrate to analytics.entity_customers:\n"
            "    1 query text in the history, with no runs counted\n"
            "analytics.old_orders -> analytics.orders (sunset 2027-03-31)\n  no references found\n") in text


def test_a_history_column_named_search_path_is_data_not_a_search_path(project):
    config, registry = project
    text = "select cust_id from customer_facts"
    items = [SqlText(text, "history", "h.jsonl", user="ann", extra={"search_path": "analytics"}),
             SqlText(text, "history", "h.jsonl", user="bob", extra={"search_path": "public"})]
    report = run_scan(config, registry, sources=[_ListSource(items)], workers=0, record=False)
    # both resolve with the configured default schema (analytics), whatever the export's extra column says
    assert [(f.user, f.relation) for f in report.findings] == [("ann", "analytics.customer_facts"),
                                                               ("bob", "analytics.customer_facts")]
    assert report.stats["parsed"] == 1


def test_a_default_search_path_origin_is_noted_on_the_finding(project):
    config, registry = project
    text = "select cust_id from customer_facts"
    items = [SqlText(text, "pg_stat_statements", "db", user="ann", default_schema=("analytics",),
                     search_path_origin="default"),
             SqlText(text, "pg_stat_statements", "db", user="bob", default_schema=("analytics",),
                     search_path_origin="role"),
             # an extra column of the same name is the user's data, not an origin
             SqlText(text, "history", "h.jsonl", user="cy", extra={"search_path_origin": "default"})]
    report = run_scan(config, registry, sources=[_ListSource(items)], workers=0, record=False)
    notes = {f.user: f.note for f in report.findings}
    assert set(notes) == {"ann", "bob", "cy"}
    assert notes["ann"] == ("`customer_facts` is unqualified and role ann sets no search_path: the configured "
                            "default was assumed (a SET search_path inside a session is not visible)")
    assert notes["bob"] is None and notes["cy"] is None

def test_fallback_keeps_the_references_it_found_and_is_reported(project):
    config, registry = project
    (config.root / "models" / "mixed.sql").write_text(
        "select cust_id from analytics.customer_facts;\nVACUUM FULL analytics.customer_facts;\n")
    report = run_scan(config, registry, workers=1, record=False,
                      sources=[FileSource(("models/mixed.sql",), root=config.root)])
    assert [(f.path, f.line, f.column) for f in report.findings] == [("models/mixed.sql", 1, 21)]
    assert [(u.object, u.status) for u in report.unparsed] == [("models/mixed.sql", "fallback")]
    assert "not understood" in report.unparsed[0].error
    assert report.stats["fallback"] == 1 and report.stats["parsed"] == 0


def test_progress_callback_sees_every_row_and_every_byte(project, capsys):
    config, registry = project
    calls = []
    run_scan(config, registry, workers=1, record=False, progress=calls.append)
    last_read = [c for c in calls if c.phase == "read"][-1]
    assert last_read.texts_read == 16  # 4 files + 12 good rows
    # the files and the history export know their size: all of it was read
    size = sum(p.stat().st_size for p in (config.root / "models").rglob("*.sql")) \
        + (config.root / "history.jsonl").stat().st_size
    assert last_read.bytes_total == size and last_read.bytes_read == size
    out = capsys.readouterr()
    assert out.err == "" and out.out == ""   # the library reports; it never writes to the terminal


def test_a_broken_statement_keeps_the_others_findings_and_the_text_is_listed_as_error(project):
    config, registry = project
    # the second statement does not parse; the first and third still name deprecated relations
    text = ("select cust_id from analytics.customer_facts where note <> 'a;b';\n"
            "select cust_id from where;\n"
            "select * from analytics.old_orders;\n")
    (config.root / "models" / "partly.sql").write_text(text)
    (config.root / "partly.jsonl").write_bytes(orjson.dumps(
        {"query_text": text, "user_name": "ann", "start_time": "2026-11-04T00:00:00Z"}) + b"\n")
    report = run_scan(config, registry, workers=1, record=False,
                      sources=[FileSource(("models/partly.sql",), root=config.root),
                               HistoryFileSource(config.root / "partly.jsonl", object_name="partly.jsonl")])
    files = [(f.deprecation, f.path, f.line, f.column, f.columns) for f in report.findings if f.source == "file"]
    assert files == [("analytics.customer_facts", "models/partly.sql", 1, 21, ("cust_id", "note")),
                     ("analytics.old_orders", "models/partly.sql", 3, 15, None)]
    hist = sorted((f.deprecation, f.user, f.count) for f in report.findings if f.source == "history")
    assert hist == [("analytics.customer_facts", "ann", 1), ("analytics.old_orders", "ann", 1)]
    listed = sorted((u.source, u.object, u.status) for u in report.unparsed)
    assert listed == [("file", "models/partly.sql", "error"), ("history", "partly.jsonl", "error")]
    assert all("statement 2 of 3 (line 2) did not parse" in u.error for u in report.unparsed)
    assert report.stats["error"] == 1 and report.stats["parsed"] == 0


def test_findings_say_whether_the_text_reads_writes_or_alters_the_relation(project):
    """A job that still writes the old table is a producer to switch off, not a consumer to migrate."""
    config, registry = project
    both = "insert into analytics.customer_facts select * from analytics.customer_facts where cust_id < 0"
    items = [
        SqlText("select cust_id from analytics.customer_facts", "pg_stat_statements", "db/q1", user="ann", count=4),
        SqlText("insert into analytics.customer_facts (cust_id) select id from staging.c", "pg_stat_statements",
                "db/q2", user="etl", count=9),
        SqlText(both, "pg_stat_statements", "db/q3", user="etl", count=2),
        SqlText("grant select on analytics.customer_facts to ann", "pg_stat_statements", "db/q4", user="dba",
                count=1),
    ]
    (config.root / "models" / "load.sql").write_text(
        "truncate analytics.customer_facts;\ncopy analytics.customer_facts from '/tmp/x.csv';\n"
        "comment on table analytics.customer_facts is 'old';\n")
    report = run_scan(config, registry, sources=[_ListSource(items), FileSource(("models/load.sql",),
                                                                               root=config.root)],
                      workers=0, record=False)
    got = sorted((f.object, f.user, f.role, f.count) for f in report.findings)
    assert got == [("db/q1", "ann", "read", 4), ("db/q2", "etl", "write", 9),
                   ("db/q3", "etl", "read", 2), ("db/q3", "etl", "write", 2),    # read and written: both
                   ("db/q4", "dba", "ddl", 1),
                   ("models/load.sql", None, "ddl", 1),
                   ("models/load.sql", None, "write", 1), ("models/load.sql", None, "write", 1)]
    assert [(f.line, f.role) for f in report.findings if f.source == "file"] == [(1, "write"), (2, "write"),
                                                                                 (3, "ddl")]
    assert all(f.to_dict()["role"] == f.role for f in report.findings)
    # usage counts each run once per deprecation, whatever the text does with it
    snap = {s.deprecation: s for s in report.snapshots}["analytics.customer_facts"]
    assert (snap.queries, snap.per_user) == (16, {"ann": 4, "etl": 11, "dba": 1})
    text = format_report_text(report, registry)
    assert ("analytics.customer_facts -> analytics.entity_customers (sunset 2027-03-31)\n"
            "  16 queries by 3 users (etl 11, ann 4, dba 1)\n"
            "  Readers (read it), migrate to analytics.entity_customers:\n"
            "    6 queries by 2 users (ann 4, etl 2)\n"
            "  Producers (write it), switch these off:\n"
            "    11 queries by 1 user (etl 11)\n"
            "    2 file references:\n      models/load.sql:1:10\n      models/load.sql:2:6\n"
            "  DDL (alter, drop, grant, comment on it), move these to analytics.entity_customers or remove them:\n"
            "    1 query by 1 user (dba 1)\n"
            "    1 file reference:\n      models/load.sql:3:18\n") in text, text


def test_rescanning_the_same_history_never_counts_a_week_twice(project):
    from deprecator.state import StateStore

    config, registry = project
    for _ in range(2):
        run_scan(config, registry, workers=0)
    store = StateStore(config.state_url, config.root)
    try:
        weekly = store.weekly_usage()
        objects = store.latest_objects("analytics.customer_facts")
    finally:
        store.close()
    assert weekly["analytics.customer_facts"] == [(dt.date(2026, 10, 26), 1, 1), (dt.date(2026, 11, 2), 4, 2)]
    assert objects == {"file": ["models/report.sql"]}


def test_a_bigquery_wildcard_table_reads_every_deprecated_table_its_pattern_covers(tmp_path):
    """`p.d.events_2023*` never names events_20230105, yet reads it: found (past the prefilter), marked as via
    the wildcard in JSON and in the text report; a table the pattern does not cover is not found."""
    (tmp_path / "deprecations.yml").write_text(
        "deprecations:\n"
        "  - model: mkt.ga.events_20230105\n    replacement: mkt.ga.events_v2\n    sunset: 2027-03-31\n"
        "  - model: mkt.ga.events_20230106\n    replacement: mkt.ga.events_v2\n    sunset: 2027-03-31\n"
        "  - model: mkt.ga.sessions_2023\n    replacement: mkt.ga.sessions_v2\n    sunset: 2027-03-31\n")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "daily.sql").write_text(
        "SELECT event_name, _TABLE_SUFFIX AS day\nFROM `mkt.ga.events_2023*`\n"
        "WHERE _TABLE_SUFFIX BETWEEN '0101' AND '0131'\n")
    (tmp_path / "models" / "direct.sql").write_text("SELECT 1 FROM `mkt.ga.events_20230106` AS e\n")
    config = Config(path=tmp_path / "deprecator.yml", root=tmp_path,
                    warehouse=WarehouseConfig(dialect="bigquery", default_schema=("ga",), default_catalog="mkt"),
                    registry_path=tmp_path / "deprecations.yml", sql_paths=("models",),
                    state_url="sqlite:///.deprecator/state.db")
    registry = load_registry(config.registry_path, "bigquery", ("ga",), "mkt")
    history = [SqlText("SELECT COUNT(*) FROM `mkt`.`ga`.`events_*`", "pg_stat_statements", "jobs/q1",
                       user="ann", count=3)]
    report = run_scan(config, registry, sources=[_ListSource(history), FileSource(("models",), root=tmp_path)],
                      workers=0, record=False)
    got = sorted((f["deprecation"], f["object"], f["line"], f["via"], f["pattern"], f["columns"])
                 for f in report.to_dict()["findings"])
    assert got == [
        ("mkt.ga.events_20230105", "jobs/q1", None, "wildcard", "mkt.ga.events_*", []),
        ("mkt.ga.events_20230105", "models/daily.sql", 2, "wildcard", "mkt.ga.events_2023*", ["event_name"]),
        ("mkt.ga.events_20230106", "jobs/q1", None, "wildcard", "mkt.ga.events_*", []),
        ("mkt.ga.events_20230106", "models/daily.sql", 2, "wildcard", "mkt.ga.events_2023*", ["event_name"]),
        ("mkt.ga.events_20230106", "models/direct.sql", 1, None, None, []),
    ]
    assert {f.relation for f in report.findings} == {"mkt.ga.events_20230105", "mkt.ga.events_20230106"}
    text = format_report_text(report, registry)
    assert ("  2 uses only via a wildcard table, which reads every table its pattern covers (never rewritten "
            "automatically):\n    models/daily.sql:2:6: mkt.ga.events_2023*\n"
            "    pg_stat_statements jobs/q1 (ann): mkt.ga.events_*\n") in text, text
    assert "mkt.ga.sessions_2023 -> mkt.ga.sessions_v2 (sunset 2027-03-31)\n  no references found" in text


def test_without_default_schema_unqualified_names_resolve_as_the_warehouse_does(tmp_path):
    """No default_schema configured: SQLite searches main, PostgreSQL its search_path; plan does the same,
    so the scan must not report 'no references found' for `select * from customer` (it did)."""
    import sqlite3

    from deprecator.config import load_config

    conn = sqlite3.connect(tmp_path / "wh.db")
    conn.executescript("create table customer(id int); create table customers(id int);"
                       "create view v as select id from customer;")
    conn.close()
    (tmp_path / "deprecator.yml").write_text("warehouse:\n  url: sqlite:///wh.db\nregistry: deprecations.yml\n"
                                             "paths: [a.sql]\n")
    (tmp_path / "deprecations.yml").write_text(
        "deprecations:\n  - model: customer\n    replacement: customers\n    sunset: 2027-01-01\n")
    (tmp_path / "a.sql").write_text("select * from customer\n")
    config = load_config(tmp_path / "deprecator.yml")
    report = run_scan(config, config.load_registry(), workers=0, record=False)
    assert sorted((f.source, f.object) for f in report.findings) == [("file", "a.sql"), ("view", "main.v")]
