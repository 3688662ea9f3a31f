"""No way around the reviewed plan, on real SQLite files: a saved plan is applied only when every entry
carries its seal and every operation is what deprecator derives again from the warehouse and the
registry; rollback cannot get stuck, and says why it refuses before showing anything."""

from __future__ import annotations

import json
import sqlite3

import pytest

from deprecator.apply import apply_plan, prepare_rollback, rollback_apply
from deprecator.errors import DeprecatorError, LockError, RollbackRefused, StalePlanError
from deprecator.plan import Plan
from tests.helpers import invoke
from tests.sqlite_project import (CONFIG, EXPECTED_AFTER, REGISTRY, VIEWS, ddl, definitions, make_warehouse, master,
                                  reseal_entry)


def _edited(plan: Plan, view: str, edit) -> Plan:
    """The plan as a reviewer's JSON file, with one view's entry edited by ``edit(dict)``."""
    d = json.loads(plan.to_json())
    [entry] = [v for v in d["views"] if v["name"] == view]
    edit(entry)
    return Plan.from_json(json.dumps(d))


def extra_op(entry: dict, sql: str | None = None, kind: str = "create_view") -> dict:
    """An operation as someone editing the plan file would add it (any kind will do)."""
    return {"kind": kind, "relation": entry["relation"], "sql": EXTRA if sql is None else sql}


EXTRA = "CREATE TABLE exfiltrated AS SELECT * FROM customer_facts"


@pytest.mark.parametrize("seal", ["delete", None, "0" * 32, ""])
def test_an_entry_without_its_seal_is_refused_with_what_was_added(env, seal):
    def edit(entry):
        entry["operations"].append(extra_op(entry))
        if seal == "delete":
            del entry["seal"]
        else:
            entry["seal"] = seal

    plan = _edited(env.plan(), "main.side_v", edit)
    before = master(env.db)
    with pytest.raises(StalePlanError) as e:
        apply_plan(plan, env.wh, env.registry, env.state)
    kinds = [(c.kind, c.view) for c in e.value.records]
    assert kinds == [("entry_edited", "main.side_v"), ("rewritten_differently", "main.side_v")]
    why = "its seal is missing" if seal in ("delete", None, "") else "it no longer matches its seal"
    assert e.value.changes[0].endswith(f"its entry was edited after the plan was made ({why})")
    assert e.value.changes[1] == ("view main.side_v would now be rewritten differently: the plan's statement 3, "
                                  f"`{EXTRA}`, is not one deprecator derives from the warehouse and the registry")
    assert master(env.db) == before and env.state.list_applies() == []


def test_a_resealed_edit_is_still_refused_beyond_the_seal(env):
    """The seal is only a checksum: the operations are derived again and compared one by one."""
    plan = _edited(env.plan(), "main.side_v", lambda e: (e["operations"].append(extra_op(e)), reseal_entry(e)))
    assert plan.edited() == []
    before = master(env.db)
    with pytest.raises(StalePlanError) as e:
        apply_plan(plan, env.wh, env.registry, env.state)
    assert [(c.kind, c.view) for c in e.value.records] == [("rewritten_differently", "main.side_v")]
    assert EXTRA in e.value.changes[0]
    assert master(env.db) == before


@pytest.mark.parametrize("field,edit,expected", [
    ("after", lambda e: e.update(after=e["after"] + " WHERE 1 = 1"),
     "the plan's new definition is not the rewrite of its current definition"),
    ("inverse", lambda e: e["inverse_operations"][1].update(sql=e["inverse_operations"][1]["sql"] + " WHERE 0 = 1"),
     "the plan's inverse statement 2 is `CREATE VIEW side_v AS SELECT c.cust_id FROM customer_facts c WHERE 0 = 1`, "
     "deprecator derives `CREATE VIEW side_v AS SELECT c.cust_id FROM customer_facts c`"),
    ("statements", lambda e: e["operations"].pop(),
     "the plan lacks the statement `CREATE VIEW side_v AS SELECT c.customer_id AS cust_id FROM entity_customers c`, "
     "which deprecator derives"),
])
def test_every_operation_must_be_the_derived_one(env, field, edit, expected):
    plan = _edited(env.plan(), "main.side_v", lambda e: (edit(e), reseal_entry(e)))
    before = master(env.db)
    with pytest.raises(StalePlanError) as e:
        apply_plan(plan, env.wh, env.registry, env.state)
    assert any(expected in c for c in e.value.changes), e.value.changes
    assert master(env.db) == before


def test_an_entry_for_a_view_that_needs_nothing_is_refused(env):
    """An entry smuggled in for a view no deprecation touches (copied fingerprint, valid seal)."""
    plan = env.plan()
    d = json.loads(plan.to_json())
    [unrelated] = [v for v in env.wh.list_views() if v.relation.name == "unrelated"]
    from deprecator.plan import view_parts

    entry = {**d["views"][0], "relation": [None, "main", "unrelated"], "name": "main.unrelated", "action": "rewrite",
             "before": unrelated.definition, "after": unrelated.definition, "fingerprint": unrelated.fingerprint(),
             "parts": view_parts(unrelated), "operations": [extra_op(d["views"][0])], "inverse_operations": [],
             "drop_operations": [], "inverse_drop_operations": []}
    reseal_entry(entry)
    d["views"].append(entry)
    with pytest.raises(StalePlanError) as e:
        apply_plan(Plan.from_json(json.dumps(d)), env.wh, env.registry, env.state)
    assert e.value.changes == ["view main.unrelated no longer needs rewriting, but the plan has statements for it"]
    assert "exfiltrated" not in {r[1] for r in master(env.db)}


def test_the_cli_refuses_an_edited_plan_file(in_tmp):
    make_warehouse(in_tmp / "wh.db")
    (in_tmp / "deprecator.yml").write_text(CONFIG)
    (in_tmp / "deprecations.yml").write_text(REGISTRY)
    invoke(["plan", "--out", "plan.json"])
    d = json.loads((in_tmp / "plan.json").read_text())
    [entry] = [v for v in d["views"] if v["name"] == "main.direct_v"]
    entry["operations"].append(extra_op(entry))
    del entry["seal"]
    (in_tmp / "plan.json").write_text(json.dumps(d))
    before = master(in_tmp / "wh.db")
    err = invoke(["apply", "plan.json"], 2).stderr
    assert "its seal is missing" in err and f"`{EXTRA}`, is not one deprecator derives" in err
    assert master(in_tmp / "wh.db") == before


# -- progress and Ctrl-C -------------------------------------------------------------


def _hold_write_lock(db):
    conn = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    conn.execute("BEGIN IMMEDIATE")
    return conn


def test_waiting_for_the_write_lock_is_said_through_progress(env):
    holder = _hold_write_lock(env.db)
    heard: list[str] = []

    def progress(message: str) -> None:   # the holder lets go once apply says it waits (not on a timer)
        heard.append(message)
        if holder.in_transaction:
            holder.execute("ROLLBACK")

    try:
        result = apply_plan(env.plan(), env.wh, env.registry, env.state, progress=progress)
    finally:
        holder.close()
    assert heard == [f"waiting for the write lock on {env.db} (up to 5 s)"]
    assert result.apply_id and definitions(env.db)["direct_v"] == EXPECTED_AFTER["direct_v"]


def test_ctrl_c_while_waiting_is_journalled_as_interrupted_and_changes_nothing(env):
    holder = _hold_write_lock(env.db)
    before = master(env.db)

    def press_ctrl_c(message: str) -> None:
        raise KeyboardInterrupt

    try:
        with pytest.raises(KeyboardInterrupt):
            apply_plan(env.plan(), env.wh, env.registry, env.state, progress=press_ctrl_c)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert master(env.db) == before
    [rec] = env.state.list_applies()
    assert rec.status == "interrupted"
    assert rec.error == "interrupted (Ctrl-C) before the warehouse committed; nothing was changed"
    with pytest.raises(DeprecatorError) as e:
        rollback_apply(rec.id, env.wh, env.state)
    assert str(e.value).startswith(f"apply {rec.id} is interrupted: there is nothing of it to roll back (it was "
                                   "interrupted before the warehouse committed")


def test_a_held_lock_is_still_a_lock_error_naming_that_nothing_changed(env):
    holder = _hold_write_lock(env.db)
    env.wh._conn.execute("PRAGMA busy_timeout = 100")
    env.wh.timeout = 0.1
    try:
        with pytest.raises(LockError, match="nothing was changed"):
            apply_plan(env.plan(), env.wh, env.registry, env.state, progress=lambda m: None)
    finally:
        holder.execute("ROLLBACK")
        holder.close()


# -- rollback ---------------------------------------------------------------------------


def test_a_refused_rollback_names_the_field_and_can_be_forced_or_narrowed(env):
    original = master(env.db)
    applied = apply_plan(env.plan(), env.wh, env.registry, env.state)
    ddl(env.db, "DROP VIEW side_v", EXPECTED_AFTER["side_v"] + " WHERE 1 = 1")   # same columns, other text
    changed = master(env.db)
    with pytest.raises(RollbackRefused) as e:
        prepare_rollback(applied.apply_id, env.wh, env.state)
    assert e.value.changes == [f"definition of view main.side_v changed since apply {applied.apply_id}"]
    assert str(e.value).startswith(f"cannot roll back apply {applied.apply_id}: these views changed since it")
    assert "--force" in str(e.value) and "--view" in str(e.value) and "lost" in str(e.value)
    assert master(env.db) == changed

    # only the views named: side_v keeps its later change, the others go back
    part = rollback_apply(applied.apply_id, env.wh, env.state, views=["main.direct_v", "main.cte_over_table"])
    defs = definitions(env.db)
    assert set(part.changed) == {"main.direct_v", "main.cte_over_table"}
    assert defs["direct_v"] == VIEWS["direct_v"] and defs["side_v"] == EXPECTED_AFTER["side_v"] + " WHERE 1 = 1"
    with pytest.raises(DeprecatorError, match="main.direct_v was already rolled back by " + part.apply_id):
        prepare_rollback(applied.apply_id, env.wh, env.state, views=["main.direct_v"])

    # the rest, forced: the change made since is lost, as --force says
    forced = prepare_rollback(applied.apply_id, env.wh, env.state, force=True)
    assert forced.views == ("main.side_v",) and [c.view for c in forced.forced] == ["main.side_v"]
    rollback_apply(applied.apply_id, env.wh, env.state, force=True)
    assert master(env.db) == original
    with pytest.raises(DeprecatorError, match="already rolled back"):
        prepare_rollback(applied.apply_id, env.wh, env.state, force=True)


def test_rolling_back_a_failed_apply_says_so_before_anything_else(in_tmp):
    make_warehouse(in_tmp / "wh.db")
    (in_tmp / "deprecator.yml").write_text(CONFIG)
    (in_tmp / "deprecations.yml").write_text(REGISTRY)
    from deprecator.state import StateStore

    store = StateStore("sqlite:///.deprecator/state.db", in_tmp)
    apply_id = store.record_apply(warehouse="sqlite:///wh.db", statements=["SELECT 1"], kind="apply",
                                  status="pending", before={"main.direct_v": {"relation": [None, "main", "direct_v"],
                                                                              "definition": "x", "fingerprint": "y",
                                                                              "statements": [], "inverse": []}},
                                  after={"main.direct_v": {"definition": "z"}})
    store.finish_apply(apply_id, status="failed", error="statement 1 of 1 failed")
    store.close()
    r = invoke(["rollback", apply_id], 2, input="y\n")
    assert r.stdout == ""                                       # no diff, no question
    assert r.stderr.startswith(f"error: apply {apply_id} is failed: there is nothing of it to roll back "
                               "(it failed, so nothing of it was committed); error: statement 1 of 1 failed")


def test_the_cli_refuses_a_rollback_without_printing_the_diff(in_tmp):
    make_warehouse(in_tmp / "wh.db")
    (in_tmp / "deprecator.yml").write_text(CONFIG)
    (in_tmp / "deprecations.yml").write_text(REGISTRY)
    out = invoke(["apply", "--auto-approve", "--format", "json"]).stdout
    apply_id = json.loads(out)["apply_id"]
    ddl(in_tmp / "wh.db", "DROP VIEW side_v", EXPECTED_AFTER["side_v"] + " WHERE 1 = 1")
    r = invoke(["rollback", apply_id, "--auto-approve"], 2)
    assert "---" not in r.stdout + r.stderr and "Rolling back" not in r.stdout + r.stderr
    assert f"definition of view main.side_v changed since apply {apply_id}" in r.stderr
    assert f"`deprecator rollback {apply_id} --force`" in r.stderr
    assert f"`deprecator rollback {apply_id} --view NAME`" in r.stderr
    r = invoke(["rollback", apply_id, "--view", "main.direct_v", "--auto-approve"])
    assert "Rolled back: 1 view restored" in r.stdout
    [left] = [line for line in r.stdout.splitlines() if line.startswith("Left as the apply made them: ")]
    assert sorted(left.split(": ")[1].split(", ")) == ["main.cte_over_table", "main.side_v"]
    r = invoke(["rollback", apply_id, "--force", "--auto-approve"])
    assert f"warning: --force discards these changes made since the apply:\n  - definition of view main.side_v " \
           f"changed since apply {apply_id}" in r.stderr
    assert definitions(in_tmp / "wh.db")["side_v"] == VIEWS["side_v"]
    log = json.loads(invoke(["applies", "--format", "json"]).stdout)
    parts = [(e["id"], len(e["views"])) for e in log if e["rollback_of"] == apply_id]
    assert [n for _, n in parts] == [1, 2]
    text = invoke(["applies"]).stdout
    assert (f"(rolled back by {parts[0][0]}: 1 view, {parts[1][0]}: 2 views)") in text


# -- plan --detailed-exitcode ------------------------------------------------------------------


@pytest.mark.parametrize("args", [["--format", "yaml"], ["--out"], ["--no-such-option"], ["extra-argument"]])
def test_detailed_exitcode_usage_errors_exit_1_as_terraform(in_tmp, args):
    r = invoke(["plan", "--detailed-exitcode", *args], 1)
    assert "Error:" in r.stderr
    invoke(["plan", *args], 2)


def test_entries_repeated_or_reordered_are_refused(env):
    """The statements run in the plan's order of views: it must be deprecator's dependency order, each view once."""
    d = json.loads(env.plan().to_json())
    names = [v["name"] for v in d["views"]]
    twice = {**d, "views": d["views"] + [d["views"][0]]}
    with pytest.raises(StalePlanError) as e:
        apply_plan(Plan.from_json(json.dumps(twice)), env.wh, env.registry, env.state)
    assert e.value.changes == [f"view {names[0]} has more than one entry in the plan"]
    swapped = {**d, "views": [d["views"][1], d["views"][0], *d["views"][2:]]}
    before = master(env.db)
    with pytest.raises(StalePlanError) as e:
        apply_plan(Plan.from_json(json.dumps(swapped)), env.wh, env.registry, env.state)
    assert e.value.changes == [f"the plan lists view {names[1]} where deprecator's dependency order has {names[0]}: "
                               "its statements would run in another order"]
    assert master(env.db) == before and env.state.list_applies() == []
