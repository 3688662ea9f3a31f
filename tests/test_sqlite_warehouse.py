"""The SQLite warehouse adapter on real database files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from deprecator.config import Config, WarehouseConfig
from deprecator.errors import ApplyError, ConfigError, LockError, StalePlanError, WarehouseError
from deprecator.sql.model import RelationName
from deprecator.warehouse import connect
from deprecator.warehouse.sqlite import SQLiteWarehouse

V1 = "CREATE VIEW v1 AS\n-- keep me\nSELECT cust_id, name /* inline */ FROM customer_facts"
V2 = 'CREATE VIEW "V2" AS SELECT cust_id FROM v1'


def make_db(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE customer_facts (cust_id INTEGER, name TEXT, legacy_flag INTEGER);"
        "CREATE TABLE entity_customers (customer_id INTEGER, name TEXT);"
        "INSERT INTO customer_facts VALUES (1, 'a', 0);"
    )
    conn.execute(V1)
    conn.execute(V2)
    conn.commit()
    conn.close()
    return path


def master(path: Path) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name").fetchall()
    finally:
        conn.close()


@pytest.fixture
def wh(tmp_path):
    db = make_db(tmp_path / "wh.db")
    w = SQLiteWarehouse(f"sqlite:///{db}")
    yield w
    w.close()


def rel(name: str) -> RelationName:
    return RelationName(None, "main", name)


def test_list_views_keeps_the_create_text_byte_for_byte(wh):
    views = {str(v.relation): v for v in wh.list_views()}
    assert sorted(views) == ["main.v1", "main.v2"]
    assert views["main.v1"].definition == V1
    assert views["main.v1"].definition_is_create
    assert views["main.v2"].definition == V2
    assert views["main.v1"].columns == (("cust_id", "INTEGER"), ("name", "TEXT"))


def test_relation_columns(wh):
    assert wh.relation_columns(rel("entity_customers")) == [("customer_id", "INTEGER"), ("name", "TEXT")]
    assert wh.relation_columns(rel("ENTITY_CUSTOMERS")) == [("customer_id", "INTEGER"), ("name", "TEXT")]
    assert wh.relation_columns(rel("v2")) == [("cust_id", "INTEGER")]
    assert wh.relation_columns(rel("nope")) is None
    assert wh.relation_columns(RelationName(None, "other", "entity_customers")) is None


def test_fingerprint_changes_with_the_definition(wh, tmp_path):
    before = {v.relation: v.fingerprint() for v in wh.list_views()}
    conn = sqlite3.connect(tmp_path / "wh.db")
    conn.executescript("DROP VIEW v1; CREATE VIEW v1 AS\n-- keep me!\nSELECT cust_id, name FROM customer_facts;")
    conn.close()
    after = {v.relation: v.fingerprint() for v in wh.list_views()}
    assert before[rel("v1")] != after[rel("v1")]
    assert before[rel("v2")] == after[rel("v2")]


def test_execute_atomically_commits_ddl(wh, tmp_path):
    new = "CREATE VIEW v1 AS\n-- keep me\nSELECT customer_id AS cust_id, name /* inline */ FROM entity_customers"
    view = {v.relation: v for v in wh.list_views()}[rel("v1")]
    stmts = wh.replace_view_statements(view, new)
    assert stmts == ['DROP VIEW "main"."v1"', new]
    wh.execute_atomically(stmts, verify=[rel("v1"), rel("v2")])
    assert {n: s for _, n, _, s in master(tmp_path / "wh.db")}["v1"] == new


def test_failing_statement_halfway_changes_nothing(wh, tmp_path):
    db = tmp_path / "wh.db"
    before = master(db)
    stmts = [
        'DROP VIEW "main"."v1"',
        "CREATE VIEW v1 AS SELECT customer_id FROM entity_customers",
        'DROP VIEW "main"."v2"',
        "CREATE VIEW v2 AS SELECT FROM nowhere WHERE",   # syntax error, after three DDL statements ran
    ]
    with pytest.raises(ApplyError) as e:
        wh.execute_atomically(stmts)
    assert e.value.statement == stmts[3]
    assert "statement 4 of 4" in str(e.value)
    assert master(db) == before
    # the connection is usable afterwards (no transaction left open)
    assert not wh._conn.in_transaction
    wh.execute_atomically(['DROP VIEW "main"."v2"', V2])


def test_verification_failure_rolls_back(wh, tmp_path):
    db = tmp_path / "wh.db"
    before = master(db)
    # SQLite accepts a view over a missing column at CREATE time; only querying it fails.
    stmts = ['DROP VIEW "main"."v1"', "CREATE VIEW v1 AS SELECT no_such_column FROM entity_customers"]
    with pytest.raises(ApplyError) as e:
        wh.execute_atomically(stmts, verify=[rel("v1")])
    assert "main.v1 does not answer" in str(e.value)
    assert master(db) == before


def test_expected_fingerprints_checked_inside_the_transaction(wh, tmp_path):
    db = tmp_path / "wh.db"
    before = master(db)
    fp = {v.relation: v.fingerprint() for v in wh.list_views()}
    with pytest.raises(StalePlanError) as e:
        wh.execute_atomically(['DROP VIEW "main"."v1"'], expected={rel("v1"): "0" * 64, rel("v2"): fp[rel("v2")],
                                                                  rel("v9"): None, rel("v8"): "1" * 64})
    assert e.value.changes == ["view main.v1 was changed", "view main.v8 was dropped"]
    with pytest.raises(StalePlanError) as e:    # None: the view must not exist
        wh.execute_atomically(['DROP VIEW "main"."v1"'], expected={rel("v1"): fp[rel("v1")], rel("v2"): None})
    assert e.value.changes == ["view main.v2 was created"]
    assert master(db) == before
    wh.execute_atomically(['DROP VIEW "main"."v2"', V2], expected=fp)


def test_write_lock_held_elsewhere_fails_fast(tmp_path):
    db = make_db(tmp_path / "wh.db")
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        w = SQLiteWarehouse(f"sqlite:///{db}", timeout=0.1)
        with pytest.raises(LockError):
            w.execute_atomically(['DROP VIEW "main"."v2"'])
        w.close()
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert len(master(db)) == 4


def test_connect_resolves_relative_paths_from_the_config_folder(tmp_path):
    make_db(tmp_path / "wh.db")
    cfg = Config(path=tmp_path / "deprecator.yml", root=tmp_path,
                 warehouse=WarehouseConfig(url="sqlite:///wh.db", dialect="sqlite"),
                 registry_path=tmp_path / "deprecations.yml")
    w = connect(cfg)
    try:
        assert w.dialect == "sqlite"
        assert w.default_schema == ("main",)
        assert len(w.list_views()) == 2
    finally:
        w.close()


def test_connect_errors(tmp_path):
    with pytest.raises(WarehouseError, match="not found"):
        connect("sqlite:///missing.db", root=tmp_path)
    assert not (tmp_path / "missing.db").exists()
    with pytest.raises(WarehouseError, match="no warehouse adapter for 'oracle'"):
        connect("oracle://scott:tiger@host/db")
    with pytest.raises(ConfigError, match="warehouse.url"):
        connect(WarehouseConfig(url=None))
    with pytest.raises(WarehouseError) as e:
        connect("sqlite://")
    assert "database file" in str(e.value)


def test_connect_masks_passwords_in_errors():
    with pytest.raises(WarehouseError) as e:
        connect("oracle://scott:s3cretpw@host/db")
    assert "s3cretpw" not in str(e.value)
