"""Stale-plan reasons are records with a kind (deprecator.errors.StaleChange, also exported by deprecator.plan),
carried by StalePlanError, on real SQLite."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from deprecator.apply import apply_plan, check_plan, rollback_apply
from deprecator.errors import StalePlanError
from deprecator.plan import StaleChange, registry_change_records, view_change
from deprecator.warehouse.sqlite import SQLiteWarehouse
from tests.sqlite_project import REGISTRY, VIEWS, ddl


def test_a_stale_change_reads_as_its_message_and_is_a_value():
    c = StaleChange("view_dropped", "main.v", "view main.v was dropped")
    assert str(c) == "view main.v was dropped" and f"{c}" == str(c)
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.kind = "view_changed"  # type: ignore[misc]
    assert view_change("main.v", {"owner": "a", "grants": "g"}, {"owner": "b", "grants": "h"}) == StaleChange(
        "view_changed", "main.v", "owner and grants of view main.v changed")
    assert str(view_change("main.v", {}, {"owner": "b"})) == "view main.v was changed"
    assert [(c.kind, str(c)) for c in registry_change_records({"a": "1", "b": "2"}, {"a": "9", "c": "3"}, "r.yml")] == [
        ("registry", "the registry changed: deprecation a changed"),
        ("registry", "the registry changed: deprecation b was removed"),
        ("registry", "the registry changed: deprecation c was added")]
    assert registry_change_records({}, {"a": "1"}, "r.yml") == [
        StaleChange("registry", None, "the registry (r.yml) changed")]


def test_check_plan_gives_each_reason_its_kind_and_view(env):
    plan = env.plan()
    ddl(env.db, "DROP VIEW side_v", "CREATE VIEW side_v AS SELECT c.cust_id, c.name FROM customer_facts c",
        "DROP VIEW on_on", "CREATE VIEW newcomer AS SELECT cust_id FROM customer_facts")
    env.registry_path.write_text(REGISTRY.replace("[legacy_flag]", "[legacy_flag, unused_col]"))
    changes = check_plan(plan, env.wh, env.registry, env.wh.list_views())
    assert [(c.kind, c.view) for c in changes] == [
        ("registry", None), ("view_changed", "main.side_v"), ("view_dropped", "main.on_on"),
        ("new_reader", "main.newcomer")]
    with pytest.raises(StalePlanError) as e:
        apply_plan(plan, env.wh, env.registry, env.state)
    assert e.value.changes == [str(c) for c in changes]   # the error carries the sentences, unchanged


def test_replacement_change_keeps_only_how_planned_views_would_now_be_handled(env):
    """A new view whose NAME reads like a replan message is reported once, as a new reader
    (filtering the fresh plan's sentences by their text reported it twice)."""
    plan = env.plan()
    ddl(env.db, "DROP TABLE entity_customers", "CREATE TABLE entity_customers (customer_id INTEGER)",
        'CREATE VIEW "x would now be y" AS SELECT cust_id FROM customer_facts', "DROP VIEW on_on")
    changes = check_plan(plan, env.wh, env.registry, env.wh.list_views())
    assert [(c.kind, c.view) for c in changes] == [
        ("view_dropped", "main.on_on"), ("replacement_columns", None), ("action_changed", "main.direct_v"),
        ("new_reader", "main.x would now be y")]
    assert str(changes[-1]) == ("view main.x would now be y now needs rewriting (reads customer_facts) "
                                "and is not in the plan")


def test_rollback_refusal_lists_the_same_sentences(env):
    applied = apply_plan(env.plan(), env.wh, env.registry, env.state)
    ddl(env.db, "DROP VIEW direct_v")
    with pytest.raises(StalePlanError) as e:
        rollback_apply(applied.apply_id, env.wh, env.state)
    assert e.value.changes == [f"view main.direct_v was dropped since apply {applied.apply_id}"]


# -- the error carries the records -------------------------------------------------


def test_the_refusal_carries_the_records_and_reads_as_before(env):
    plan = env.plan()
    ddl(env.db, "DROP VIEW on_on")
    env.registry_path.write_text(REGISTRY.replace("[legacy_flag]", "[legacy_flag, unused_col]"))
    with pytest.raises(StalePlanError) as e:
        apply_plan(plan, env.wh, env.registry, env.state)
    assert e.value.records == (
        StaleChange("registry", None, "the registry changed: deprecation customer_facts changed"),
        StaleChange("view_dropped", "main.on_on", "view main.on_on was dropped"))
    assert e.value.changes == [str(c) for c in e.value.records]
    assert e.value.message == ("the saved plan is stale; the following changed since it was made:\n"
                               "  - the registry changed: deprecation customer_facts changed\n"
                               "  - view main.on_on was dropped")


def test_a_rollback_refusal_carries_its_records(env):
    applied = apply_plan(env.plan(), env.wh, env.registry, env.state)
    ddl(env.db, "DROP VIEW side_v", "CREATE VIEW side_v AS SELECT 1 AS cust_id")
    with pytest.raises(StalePlanError) as e:
        rollback_apply(applied.apply_id, env.wh, env.state)
    assert e.value.records == (
        StaleChange("view_changed", "main.side_v",
                    f"definition and columns of view main.side_v changed since apply {applied.apply_id}"),)


class ChangedMeanwhile(SQLiteWarehouse):
    """A real SQLite warehouse where a view changes after apply's check, before its transaction."""

    def __init__(self, db: Path, *race: str) -> None:
        super().__init__(f"sqlite:///{db}")
        self.db, self.race = db, race

    def execute_atomically(self, statements, verify=(), expected=None):
        ddl(self.db, *self.race)
        return super().execute_atomically(statements, verify=verify, expected=expected)


def test_a_change_the_warehouse_finds_in_its_transaction_is_reported_as_records(env):
    plan = env.plan()
    # the same columns from another text: only the definition changes
    wh = ChangedMeanwhile(env.db, "DROP VIEW side_v", VIEWS["side_v"] + " WHERE 1 = 1")
    try:
        # the warehouse's own re-check gives sentences only
        with pytest.raises(StalePlanError) as direct:
            wh.execute_atomically(plan.statements(), verify=[], expected=plan.fingerprints())
        assert direct.value.records == () and direct.value.changes == ["view main.side_v was changed"]
        ddl(env.db, "DROP VIEW side_v", VIEWS["side_v"])     # as planned again
        # apply says what changed, field by field, as a record
        with pytest.raises(StalePlanError) as e:
            apply_plan(plan, wh, env.registry, env.state)
    finally:
        wh.close()
    assert e.value.records == (StaleChange("view_changed", "main.side_v", "definition of view main.side_v changed"),)
    assert [r.status for r in env.state.list_applies()] == ["failed"]


def test_stale_change_lives_beside_the_error_and_plan_still_exports_it():
    import deprecator.errors
    import deprecator.plan

    assert deprecator.plan.StaleChange is deprecator.errors.StaleChange
    assert StalePlanError(["view main.v was created"]).records == ()
    mixed = StalePlanError([StaleChange("view_dropped", "main.v", "view main.v was dropped"), "view main.w was created"])
    assert mixed.changes == ["view main.v was dropped", "view main.w was created"]
    assert [c.view for c in mixed.records] == ["main.v"]
