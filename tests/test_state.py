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


def test_usage_in_window_adds_up_the_stored_deltas_and_says_what_it_covers(tmp_path):
    from deprecator.state import UsageWindow

    store = StateStore(f"sqlite:///{tmp_path / 's.db'}")
    t = [dt.datetime(2026, 11, 2) + dt.timedelta(days=2 * i) for i in range(6)]   # readings every two days
    dep = "analytics.customer_facts"

    def scan(i, delta, resets=0):
        # the cumulative figures stay as the source counted them; the delta is the window since the last reading
        store.record_scan(t[i], {}, [UsageSnapshot(dep, 100 + i, 2, {"ann": 60, "bob": 40 + i}, t[0], t[i],
                                                   delta=UsageWindow(sum(delta.values()), delta, t[i - 1], t[i],
                                                                     resets=resets))])
    try:
        store.record_scan(t[0], {}, [UsageSnapshot(dep, 100, 2, {"ann": 60, "bob": 40}, t[0], t[0])])  # no window
        scan(1, {"ann": 3})
        scan(2, {"ann": 1, "bob": 2}, resets=1)
        scan(3, {})
        [first, *_] = store.usage_history(dep)
        assert first.delta is None and store.usage_history(dep)[1].delta == UsageWindow(3, {"ann": 3}, t[0], t[1],
                                                                                         1, 0)
        # a week asked for: the windows wholly inside it, and the readings they actually span
        week = store.usage_in_window(dep, t[0], t[0] + dt.timedelta(days=7))
        assert week == UsageWindow(6, {"ann": 4, "bob": 2}, t[0], t[3], scans=3, resets=1, gaps=0)
        assert week.distinct_users == 2
        # a window not wholly inside is left out (never guessed), and a reading with no recorded scan is a gap
        assert store.usage_in_window(dep, t[1], t[3]) == UsageWindow(3, {"ann": 1, "bob": 2}, t[1], t[3], 2, 1, 0)
        scan(5, {"bob": 5})       # the scan of t[4] was never recorded: the window t[3]..t[4] is missing
        gap = store.usage_in_window(dep, t[0], t[5])
        assert (gap.queries, gap.start, gap.end, gap.gaps) == (11, t[0], t[5], 1)
        assert store.usage_in_window(dep, t[5], t[5]) is None
        assert store.usage_in_window("analytics.other", t[0], t[5]) is None
    finally:
        store.close()


def test_a_version_3_store_gains_the_usage_window_columns_keeping_its_rows(tmp_path):
    db = tmp_path / "v3.db"
    StateStore(f"sqlite:///{db}").close()
    conn = sqlite3.connect(db)     # take it back to what schema v3 had for the two tables v4 changes
    conn.executescript("""
        DROP TABLE usage_snapshots; DROP TABLE pgss_calls;
        CREATE TABLE usage_snapshots (id INTEGER PRIMARY KEY, scan_id INTEGER NOT NULL, deprecation VARCHAR(512) NOT NULL,
            taken_at DATETIME NOT NULL, queries INTEGER NOT NULL, distinct_users INTEGER NOT NULL, per_user TEXT NOT NULL,
            window_start DATETIME, window_end DATETIME);
        CREATE TABLE pgss_calls (snapshot_id INTEGER NOT NULL, dbid BIGINT NOT NULL, userid BIGINT NOT NULL,
            queryid BIGINT NOT NULL, toplevel BOOLEAN NOT NULL, calls BIGINT NOT NULL);
        INSERT INTO scans VALUES (1, '2026-11-01 00:00:00', '2026-11-01 00:00:01', '{}');
        INSERT INTO usage_snapshots VALUES (1, 1, 'analytics.customer_facts', '2026-11-01 00:00:01', 7, 1, '{"ann": 7}',
            NULL, NULL);
        INSERT INTO pgss_snapshots VALUES (1, 'pg', '2026-11-01 00:00:00', NULL);
        INSERT INTO pgss_calls VALUES (1, 1, 10, 99, 1, 7);
        UPDATE deprecator_meta SET value = '3' WHERE key = 'schema_version';
    """)
    conn.commit()
    conn.close()
    store = StateStore(f"sqlite:///{db}")
    try:
        assert store.schema_version() == SCHEMA_VERSION
        [snap] = store.usage_history()
        assert (snap.queries, snap.per_user, snap.delta) == (7, {"ann": 7}, None)
    finally:
        store.close()
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT calls, seen_by FROM pgss_calls").fetchall() == [(7, None)]
    conn.close()


@pytest.mark.postgres
def test_a_version_3_store_on_postgresql_upgrades_to_bigint_counts(pg_db):
    import sqlalchemy as sa

    StateStore(pg_db).close()
    eng = sa.create_engine(pg_db)
    with eng.begin() as c:   # back to schema v3's shape of the tables v4 changes
        c.exec_driver_sql("ALTER TABLE usage_snapshots ALTER COLUMN queries TYPE INTEGER")
        for col in ("delta_start", "delta_end", "delta_queries", "delta_per_user", "delta_resets"):
            c.exec_driver_sql(f"ALTER TABLE usage_snapshots DROP COLUMN {col}")
        c.exec_driver_sql("ALTER TABLE pgss_calls DROP COLUMN seen_by")
        c.exec_driver_sql("UPDATE deprecator_meta SET value = '3' WHERE key = 'schema_version'")
    store = StateStore(pg_db)
    try:
        assert store.schema_version() == SCHEMA_VERSION
        store.record_scan(dt.datetime(2026, 11, 1), {}, [UsageSnapshot("a.b", 3_000_000_000, 1, {"svc": 3_000_000_000})])
        assert store.usage_history("a.b")[0].queries == 3_000_000_000     # more calls than an INTEGER holds
    finally:
        store.close()
    with eng.connect() as c:
        cols = {r[0]: r[1] for r in c.exec_driver_sql(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name IN "
            "('usage_snapshots', 'pgss_calls')")}
    eng.dispose()
    assert cols["queries"] == "bigint" and cols["delta_queries"] == "bigint" and "seen_by" in cols
