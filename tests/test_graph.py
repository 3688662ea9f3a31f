"""deprecator.graph: the one dependency order (graphlib), its two tie rules, and views that read each other."""

from __future__ import annotations

import heapq
import random
from pathlib import Path

import pytest

from deprecator.apply import plan_warehouse
from deprecator.errors import ViewCycleError, WarehouseError
from deprecator.graph import dependency_order
from deprecator.registry import load_registry
from deprecator.warehouse.sqlite import SQLiteWarehouse
from tests.helpers import invoke
from tests.sqlite_project import CONFIG, REGISTRY, VIEWS, make_warehouse

# The diamond of tests/pg/test_pg_dependencies.py: alphabetical order is not topological.
DIAMOND = {
    "z_left": {"base"}, "a_right": {"base"}, "m_join": {"z_left", "a_right"}, "mv": {"m_join"},
    "after_mv": {"mv"}, "b_on_a_right": {"a_right"},
}


def test_level_by_level_each_level_sorted():
    order = dependency_order(DIAMOND, DIAMOND, key=str)
    assert order == ["a_right", "z_left", "b_on_a_right", "m_join", "mv", "after_mv"]


def test_smallest_ready_first():
    order = dependency_order(DIAMOND, DIAMOND, key=str, levels=False)
    assert order == ["a_right", "b_on_a_right", "z_left", "m_join", "mv", "after_mv"]


def test_reads_outside_the_nodes_and_of_itself_are_ignored():
    reads = {"a": {"a", "elsewhere"}, "b": {"a", "b"}}
    assert dependency_order(["b", "a"], reads, key=str) == ["a", "b"]
    assert dependency_order(["b", "a"], reads, key=str, levels=False) == ["a", "b"]
    assert dependency_order([], {}, key=str) == []


# The two hand-written sorts this helper replaced, kept here to pin their orders.
def _old_plan_order(nodes, reads):
    pending = set(nodes)
    indegree, readers = {}, {n: [] for n in pending}
    for n in pending:
        deps = (reads.get(n, set()) & pending) - {n}
        indegree[n] = len(deps)
        for d in deps:
            readers[d].append(n)
    order, ready = [], sorted(n for n in pending if indegree[n] == 0)
    while ready:
        order.extend(ready)
        nxt = []
        for n in ready:
            for m in readers[n]:
                indegree[m] -= 1
                if indegree[m] == 0:
                    nxt.append(m)
        ready = sorted(nxt)
    return order


def _old_catalog_order(nodes, reads, key):
    pending = {n: len(reads[n]) for n in nodes}
    readers = {}
    for n in nodes:
        for dep in reads[n]:
            readers.setdefault(dep, []).append(n)
    heap = [(key[n], n) for n, c in pending.items() if c == 0]
    heapq.heapify(heap)
    out = []
    while heap:
        _, n = heapq.heappop(heap)
        out.append(n)
        for r in readers.get(n, ()):
            pending[r] -= 1
            if pending[r] == 0:
                heapq.heappush(heap, (key[r], r))
    return out


@pytest.mark.parametrize("seed", range(200))
def test_same_orders_as_the_sorts_it_replaced(seed):
    rng = random.Random(seed)
    n = rng.randint(1, 40)
    names = rng.sample([f"{a}{b}" for a in "abcdefgh" for b in "abcdefgh"], n)
    rng.shuffle(names)
    # a random DAG: each node reads some of the nodes before it in a random topological order
    reads = {x: {y for y in names[:i] if rng.random() < 0.15} for i, x in enumerate(names)}
    assert dependency_order(names, reads, key=lambda r: r) == _old_plan_order(names, reads)
    # the catalog sorted oids (ints) by (schema, name)
    oid = {x: 1000 + i for i, x in enumerate(reversed(names))}
    key = {oid[x]: ("s", x) for x in names}
    oreads = {oid[x]: {oid[y] for y in reads[x]} for x in names}
    assert (dependency_order(set(oreads), oreads, key=key.__getitem__, levels=False)
            == _old_catalog_order(set(oreads), oreads, key))


@pytest.mark.parametrize("levels", [True, False])
def test_a_cycle_is_an_error_naming_it(levels):
    # c reads a, a reads b, b reads c: a cycle; d reads a (after it), e is apart
    reads = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    for nodes in (list(reads), list(reversed(reads))):
        with pytest.raises(ViewCycleError) as e:
            dependency_order(nodes, reads, key=str, levels=levels)
        assert e.value.cycle == ("a", "b", "c", "a")       # each reads the next; from the smallest
        assert e.value.message == "views a -> b -> c -> a read each other (each reads the next)"
        assert isinstance(e.value, WarehouseError) and e.value.exit_code == 2
        assert "fix or drop" in (e.value.hint or "")


def test_a_cycle_names_nodes_by_name():
    reads = {1: {2}, 2: {1}}
    with pytest.raises(ViewCycleError, match=r"views s\.x -> s\.y -> s\.x read each other"):
        dependency_order(reads, reads, key=str, name={1: "s.x", 2: "s.y"}.__getitem__)


# -- on a real SQLite database: SQLite lets views read each other (querying them fails) ---------

CYCLE = {
    "cyc_a": "CREATE VIEW cyc_a AS SELECT cust_id FROM customer_facts UNION ALL SELECT cust_id FROM cyc_b",
    "cyc_b": "CREATE VIEW cyc_b AS SELECT cust_id FROM cyc_a",
    "after_cyc": "CREATE VIEW after_cyc AS SELECT cust_id FROM cyc_b",
}


@pytest.fixture
def cyclic(in_tmp: Path) -> Path:
    make_warehouse(in_tmp / "wh.db", {**VIEWS, **CYCLE})
    (in_tmp / "deprecator.yml").write_text(CONFIG)
    (in_tmp / "deprecations.yml").write_text(REGISTRY)
    return in_tmp


def test_plan_refuses_views_reading_each_other(cyclic):
    import sqlite3

    with pytest.raises(sqlite3.OperationalError, match="circularly defined"):   # SQLite kept them
        sqlite3.connect(cyclic / "wh.db").execute("SELECT * FROM cyc_a").fetchall()
    wh = SQLiteWarehouse(f"sqlite:///{cyclic / 'wh.db'}")
    try:
        with pytest.raises(ViewCycleError) as e:
            plan_warehouse(wh, load_registry(cyclic / "deprecations.yml", "sqlite", ("main",)))
    finally:
        wh.close()
    assert e.value.cycle == ("main.cyc_a", "main.cyc_b", "main.cyc_a")
    err = invoke(["plan"], 2).stderr
    assert "error: views main.cyc_a -> main.cyc_b -> main.cyc_a read each other (each reads the next)" in err
    assert "hint: " in err and "Traceback" not in err
    invoke(["plan", "--detailed-exitcode"], 1)          # terraform's code for an error
    assert not (cyclic / "plan.json").exists()
    invoke(["plan", "--out", "plan.json"], 2)
    assert not (cyclic / "plan.json").exists()


def test_a_cycle_away_from_deprecated_relations_does_not_stop_the_plan(in_tmp):
    make_warehouse(in_tmp / "wh.db", {**VIEWS, "x_a": "CREATE VIEW x_a AS SELECT x FROM other UNION ALL SELECT x FROM x_b",
                                      "x_b": "CREATE VIEW x_b AS SELECT x FROM x_a"})
    (in_tmp / "deprecator.yml").write_text(CONFIG)
    (in_tmp / "deprecations.yml").write_text(REGISTRY)
    assert "Plan: 3 views to rewrite, 1 blocked, 3 unchanged" in invoke(["plan"]).stdout
