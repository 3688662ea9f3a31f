"""The SQLite warehouse most plan/apply tests work on: tables, views on customer_facts (one blocked by a
removed column), what the rewritten views read, the registry and config for it, and small helpers.

Shared by the plan, apply, API and CLI tests (a plain module, not a test module, so importing it
collects no tests twice).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Iterator

import pytest

from deprecator.apply import plan_warehouse
from deprecator.plan import Plan
from deprecator.registry import load_registry
from deprecator.state import StateStore
from deprecator.warehouse.sqlite import SQLiteWarehouse

TABLES = (
    "CREATE TABLE customer_facts (cust_id INTEGER, name TEXT, legacy_flag INTEGER);"
    "CREATE TABLE entity_customers (customer_id INTEGER, name TEXT);"
    "CREATE TABLE other (x INTEGER);"
    "INSERT INTO customer_facts VALUES (1, 'a', 0), (2, 'b', 1);"
    "INSERT INTO entity_customers VALUES (1, 'a'), (2, 'b');"
)

VIEWS = {
    "direct_v": "CREATE VIEW direct_v AS\n-- comment stays\nSELECT cust_id, name /* inline */ FROM customer_facts",
    "side_v": "CREATE VIEW side_v AS SELECT c.cust_id FROM customer_facts c",
    "on_view": "CREATE VIEW on_view AS SELECT name FROM direct_v",
    "top_v": "CREATE VIEW top_v AS SELECT d.name FROM direct_v d JOIN side_v s ON s.cust_id = d.cust_id",
    "on_on": "CREATE VIEW on_on AS SELECT * FROM top_v",
    "cte_only": ("CREATE VIEW cte_only AS WITH customer_facts AS (SELECT 1 AS cust_id) "
                 "SELECT cust_id FROM customer_facts"),
    "cte_over_table": ("CREATE VIEW cte_over_table AS\nWITH customer_facts AS ( -- shadows\n"
                       "  SELECT cust_id FROM main.customer_facts\n)\nSELECT cust_id FROM customer_facts"),
    "unrelated": "CREATE VIEW unrelated AS SELECT x FROM other",
    "blocked_v": "CREATE VIEW blocked_v AS SELECT name, legacy_flag FROM customer_facts",
}

EXPECTED_AFTER = {
    "direct_v": "CREATE VIEW direct_v AS\n-- comment stays\nSELECT customer_id AS cust_id, name /* inline */ FROM entity_customers",
    "side_v": "CREATE VIEW side_v AS SELECT c.customer_id AS cust_id FROM entity_customers c",
    "cte_over_table": ("CREATE VIEW cte_over_table AS\nWITH customer_facts AS ( -- shadows\n"
                       "  SELECT customer_id AS cust_id FROM main.entity_customers\n)\nSELECT cust_id FROM customer_facts"),
}

def make_warehouse(path: Path, views: dict[str, str] = VIEWS, tables: str = TABLES) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript(tables)
    for sql in views.values():
        conn.execute(sql)
    conn.commit()
    conn.close()
    return path


REGISTRY = """\
deprecations:
  - model: customer_facts
    replacement: entity_customers
    sunset: 2027-03-31
    columns:
      cust_id: customer_id
    removed_columns: [legacy_flag]
"""


def master(path: Path) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name").fetchall()
    finally:
        conn.close()


def definitions(path: Path) -> dict[str, str]:
    return {name: sql for typ, name, _, sql in master(path) if typ == "view"}


def ddl(path: Path, *statements: str) -> None:
    conn = sqlite3.connect(path)
    conn.executescript(";\n".join(statements) + ";")
    conn.close()


class Env:
    def __init__(self, tmp: Path) -> None:
        self.db = make_warehouse(tmp / "wh.db")
        self.registry_path = tmp / "deprecations.yml"
        self.registry_path.write_text(REGISTRY)
        self.wh = SQLiteWarehouse(f"sqlite:///{self.db}")
        self.state = StateStore(f"sqlite:///{tmp / 'state.db'}")

    @property
    def registry(self):
        return load_registry(self.registry_path, "sqlite", ("main",))

    def plan(self) -> Plan:
        return plan_warehouse(self.wh, self.registry)[0]

    def close(self) -> None:
        self.wh.close()
        self.state.close()


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    """The project in ``tmp_path``: warehouse wh.db, the registry and a state store; closed after the test."""
    e = Env(tmp_path)
    yield e
    e.close()


CONFIG = """\
warehouse:
  url: sqlite:///wh.db
  dialect: sqlite
  default_schema: main
registry: deprecations.yml
state:
  url: sqlite:///.deprecator/state.db
"""


def reseal_entry(entry: dict) -> None:
    """What someone who read the source would do: recompute the seal over the edited entry."""
    from deprecator.plan import OPERATION_FIELDS, Operation, ViewPlan
    from deprecator.sql.model import RelationName

    v = ViewPlan(relation=RelationName.from_json(entry["relation"]), action=entry["action"], before=entry["before"],
                 after=entry["after"], fingerprint=entry["fingerprint"],
                 **{f: tuple(Operation.from_json(op) for op in entry[f]) for f in OPERATION_FIELDS})
    entry["seal"] = v.sealed()
