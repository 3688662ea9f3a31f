"""The state store on a real SQLite file: versioned schema, usage snapshots, the apply journal."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest

from deprecator.errors import DeprecatorError
from deprecator.state import MIGRATIONS, SCHEMA_VERSION, StateStore, UsageSnapshot


def test_fresh_store_is_at_the_current_version_and_relative_paths_resolve(tmp_path):
    store = StateStore("sqlite:///.deprecator/state.db", tmp_path)
    try:
        assert store.schema_version() == SCHEMA_VERSION == len(MIGRATIONS)
    finally:
        store.close()
    assert (tmp_path / ".deprecator" / "state.db").is_file()


def test_a_version_1_store_upgrades_in_place_keeping_its_rows(tmp_path):
    db = tmp_path / "old.db"
    # The v1 applies table, as an early deprecator wrote it.
    conn = sqlite3.connect(db)
    conn.executescript("""
        CREATE TABLE deprecator_meta (key VARCHAR(64) PRIMARY KEY, value TEXT NOT NULL);
        INSERT INTO deprecator_meta VALUES ('schema_version', '1');
        CREATE TABLE scans (id INTEGER PRIMARY KEY, started_at DATETIME NOT NULL, finished_at DATETIME NOT NULL, stats TEXT NOT NULL);
        CREATE TABLE usage_snapshots (id INTEGER PRIMARY KEY, scan_id INTEGER NOT NULL, deprecation VARCHAR(512) NOT NULL,
            taken_at DATETIME NOT NULL, queries INTEGER NOT NULL, distinct_users INTEGER NOT NULL, per_user TEXT NOT NULL,
            window_start DATETIME, window_end DATETIME);
        CREATE TABLE applies (id VARCHAR(32) PRIMARY KEY, created_at DATETIME NOT NULL, actor VARCHAR(256) NOT NULL,
            warehouse VARCHAR(1024) NOT NULL, kind VARCHAR(16) NOT NULL, rollback_of VARCHAR(32), statements TEXT NOT NULL,
            before TEXT NOT NULL, after TEXT NOT NULL, rolled_back_by VARCHAR(32));
        INSERT INTO applies VALUES ('old-1', '2026-01-01 00:00:00', 'maya', 'sqlite:///wh.db', 'apply', NULL, '[]', '{}', '{}', NULL);
    """)
    conn.commit()
    conn.close()
    store = StateStore(f"sqlite:///{db}")
    try:
        assert store.schema_version() == SCHEMA_VERSION
        [rec] = store.list_applies()
        assert (rec.id, rec.actor, rec.status) == ("old-1", "maya", "applied")
    finally:
        store.close()


def test_a_newer_store_is_refused_with_a_hint(tmp_path):
    db = tmp_path / "new.db"
    StateStore(f"sqlite:///{db}").close()
    conn = sqlite3.connect(db)
    conn.execute("UPDATE deprecator_meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    conn.commit()
    conn.close()
    with pytest.raises(DeprecatorError, match="newer than this deprecator knows") as e:
        StateStore(f"sqlite:///{db}")
    assert "upgrade deprecator" in str(e.value)


def test_usage_snapshots_round_trip_per_deprecation(tmp_path):
    store = StateStore(f"sqlite:///{tmp_path / 's.db'}")
    try:
        t0 = dt.datetime(2026, 11, 1)
        store.record_scan(t0, {"texts": 3}, [
            UsageSnapshot("analytics.customer_facts", 5, 2, {"alice": 4, "bob": 1}, t0, t0 + dt.timedelta(days=7)),
            UsageSnapshot("analytics.orders_v1", 1, 1, {"carol": 1}),
        ])
        [snap] = store.usage_history("analytics.customer_facts")
        assert (snap.queries, snap.distinct_users, snap.per_user) == (5, 2, {"alice": 4, "bob": 1})
        assert snap.window_start == t0 and snap.scan_id is not None
        assert len(store.usage_history()) == 2
    finally:
        store.close()


def test_unknown_apply_id_is_a_clear_error(tmp_path):
    store = StateStore(f"sqlite:///{tmp_path / 's.db'}")
    try:
        with pytest.raises(DeprecatorError, match="no apply with id 'nope'"):
            store.get_apply("nope")
    finally:
        store.close()


def test_unreachable_store_names_the_url_without_its_password():
    with pytest.raises(DeprecatorError) as e:
        StateStore("postgresql+psycopg2://maya:s3cr3t-pw@127.0.0.1:1/none")
    assert "s3cr3t-pw" not in str(e.value) and "***" in str(e.value)


def test_weekly_usage_is_never_counted_twice_by_a_rescan(tmp_path):
    from deprecator.state import WeeklyUse

    w1, w2 = dt.date(2026, 11, 16), dt.date(2026, 11, 23)
    first = [WeeklyUse("a.cf", "history:h.jsonl", w1, "alice", 5), WeeklyUse("a.cf", "history:h.jsonl", w1, "bob", 2),
             WeeklyUse("a.cf", "history:h.jsonl", w2, "alice", 1)]
    store = StateStore(f"sqlite:///{tmp_path / 's.db'}")
    try:
        t = dt.datetime(2026, 11, 24)
        store.record_scan(t, {}, [], weekly=first, objects=[("a.cf", "view", "main.v")])
        store.record_scan(t, {}, [], weekly=first)                       # the same history again
        assert store.weekly_usage() == {"a.cf": [(w1, 7, 2), (w2, 1, 1)]}
        # the current week grew; the oldest week slid out of the source's window (not seen): kept
        store.record_scan(t, {}, [], weekly=[WeeklyUse("a.cf", "history:h.jsonl", w2, "alice", 4)])
        assert store.weekly_usage("a.cf") == {"a.cf": [(w1, 7, 2), (w2, 4, 1)]}
        # another source adds to the same week; a user seen by both counts once among the users
        store.record_scan(t, {}, [], weekly=[WeeklyUse("a.cf", "sql:wh", w2, "alice", 3),
                                             WeeklyUse("a.cf", "sql:wh", w2, None, 1)])
        assert store.weekly_usage("a.cf")["a.cf"][-1] == (w2, 8, 2)
        assert store.weekly_users("a.cf", w2) == [("alice", 7), ("", 1)]
        assert store.latest_objects("a.cf") == {}          # the latest scan found no view reading it
        store.record_scan(t, {}, [], objects=[("a.cf", "view", "main.v"), ("a.cf", "file", "m.sql")])
        assert store.latest_objects("a.cf") == {"file": ["m.sql"], "view": ["main.v"]}
    finally:
        store.close()
