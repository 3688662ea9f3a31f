"""apply_plan / rollback_apply on real SQLite files with a real registry and state store."""

from __future__ import annotations

import dataclasses
import sqlite3

import pytest

from deprecator.apply import apply_plan, plan_warehouse, rollback_apply
from deprecator.errors import ApplyError, DeprecatorError, OtherWarehouseError, StalePlanError
from deprecator.plan import Plan
from deprecator.registry import load_registry
from deprecator.state import StateStore
from deprecator.warehouse.sqlite import SQLiteWarehouse
from tests.sqlite_project import EXPECTED_AFTER, REGISTRY, VIEWS, ddl, definitions, make_warehouse, master


def test_apply_rewrites_records_and_returns_the_id(env):
    plan = env.plan()
    result = apply_plan(plan, env.wh, env.registry, env.state)
    assert result.apply_id
    assert set(result.changed) == {"main.direct_v", "main.side_v", "main.cte_over_table"}
    assert result.blocked == ("main.blocked_v",)
    assert result.mismatches == ()
    defs = definitions(env.db)
    for name, text in EXPECTED_AFTER.items():
        assert defs[name] == text
    assert defs["blocked_v"] == VIEWS["blocked_v"]
    rec = env.state.get_apply(result.apply_id)
    assert rec.kind == "apply" and rec.statements == plan.statements()
    assert rec.before["main.direct_v"]["definition"] == VIEWS["direct_v"]
    assert rec.after["main.direct_v"]["definition"] == EXPECTED_AFTER["direct_v"]
    # every affected view still answers, with the same rows
    conn = sqlite3.connect(env.db)
    assert conn.execute("SELECT * FROM top_v ORDER BY 1").fetchall() == [("a",), ("b",)]
    conn.close()
    # nothing left to do but the blocked view
    again = env.plan()
    assert not again.has_changes and [v.relation.name for v in again.blocked] == ["blocked_v"]


def test_saved_plan_applies_after_a_json_round_trip(env):
    plan = Plan.from_json(env.plan().to_json())
    assert apply_plan(plan, env.wh, env.registry, env.state).apply_id


def test_stale_plan_refused_naming_what_changed(env):
    plan = env.plan()
    before = master(env.db)
    ddl(env.db,
        "DROP VIEW side_v", "CREATE VIEW side_v AS SELECT c.cust_id, c.name FROM customer_facts c",   # changed
        "DROP VIEW on_on",                                                                            # dropped
        "CREATE VIEW newcomer AS SELECT cust_id FROM customer_facts")                                 # added
    changed = master(env.db)
    with pytest.raises(StalePlanError) as e:
        apply_plan(plan, env.wh, env.registry, env.state)
    assert e.value.changes == [
        "definition and columns of view main.side_v changed",
        "view main.on_on was dropped",
        "view main.newcomer now needs rewriting (reads customer_facts) and is not in the plan",
    ]
    assert "main.newcomer" in str(e.value) and "deprecator plan" in str(e.value)
    assert master(env.db) == changed != before
    assert env.state.list_applies() == []


def test_registry_change_makes_the_plan_stale(env):
    plan = env.plan()
    env.registry_path.write_text(REGISTRY.replace("[legacy_flag]", "[legacy_flag, unused_col]"))
    with pytest.raises(StalePlanError) as e:
        apply_plan(plan, env.wh, env.registry, env.state)
    assert e.value.changes == ["the registry changed: deprecation customer_facts changed"]


def test_a_registry_change_the_rewrite_does_not_read_leaves_the_plan_valid(env):
    """Only the rules fingerprint: a new sunset date, owner, reason or contact applies the saved plan as it is."""
    plan = Plan.from_json(env.plan().to_json())
    env.registry_path.write_text(REGISTRY.replace("2027-03-31", "2027-06-30")
                                 + "    owner: someone-else\n    reason: moved\n    contact: '#x'\n")
    assert env.registry.deprecations[0].owner == "someone-else"
    result = apply_plan(plan, env.wh, env.registry, env.state)
    assert result.apply_id and definitions(env.db)["direct_v"] == EXPECTED_AFTER["direct_v"]


def test_registry_additions_and_removals_are_named(env):
    plan = env.plan()
    env.registry_path.write_text(REGISTRY.replace("customer_facts", "other_facts"))
    with pytest.raises(StalePlanError) as e:
        apply_plan(plan, env.wh, env.registry, env.state)
    assert e.value.changes[:2] == ["the registry changed: deprecation customer_facts was removed",
                                   "the registry changed: deprecation other_facts was added"]


def test_a_view_the_plan_does_not_name_is_not_parsed_at_apply(env, monkeypatch):
    """The staleness check parses only views whose text names a deprecated or planned relation."""
    import deprecator.apply as apply_mod
    from deprecator.sql import find_references

    ddl(env.db, "CREATE VIEW unrelated_two AS SELECT 1 AS x", "CREATE VIEW mentions AS SELECT 'customer_facts' AS x")
    plan = env.plan()
    parsed = []
    monkeypatch.setattr(apply_mod, "find_references", lambda sql, *a, **k: parsed.append(sql) or find_references(sql, *a, **k))
    monkeypatch.setattr(apply_mod, "plan_warehouse", None)   # apply plans the planned views again, never everything
    assert apply_plan(plan, env.wh, env.registry, env.state).apply_id
    # only the views outside the plan whose text names customer_facts (a CTE of that name, a string)
    assert sorted(parsed) == ["CREATE VIEW cte_only AS WITH customer_facts AS (SELECT 1 AS cust_id) SELECT cust_id "
                              "FROM customer_facts", "CREATE VIEW mentions AS SELECT 'customer_facts' AS x"]


def test_plan_for_another_warehouse_is_refused(env, tmp_path):
    """Bound to the warehouse's identity (for SQLite, the file), refused with its own error, not as stale."""
    other = make_warehouse(tmp_path / "other.db")
    with SQLiteWarehouse(f"sqlite:///{other}") as elsewhere:
        plan = plan_warehouse(elsewhere, env.registry)[0]
    before = master(env.db)
    with pytest.raises(OtherWarehouseError) as e:
        apply_plan(plan, env.wh, env.registry, env.state)
    assert not isinstance(e.value, StalePlanError) and "stale" not in str(e.value)
    assert str(e.value).startswith(f"this plan was made for a different warehouse: SQLite file {other.resolve()}")
    assert f"connects to SQLite file {env.db.resolve()}" in str(e.value)
    assert master(env.db) == before and env.state.list_applies() == []


def test_a_plan_applies_through_any_url_spelling_of_the_same_file(env, tmp_path, monkeypatch):
    """A relative path, a symlink, or the URL's label do not make the same SQLite file another warehouse."""
    plan = Plan.from_json(env.plan().to_json())
    (tmp_path / "link.db").symlink_to(env.db)
    monkeypatch.chdir(tmp_path)
    with SQLiteWarehouse("sqlite:///link.db") as wh:
        assert wh.display_url != env.wh.display_url and wh.identity() == env.wh.identity()
        assert apply_plan(plan, wh, env.registry, env.state).apply_id
    assert definitions(env.db)["direct_v"] == EXPECTED_AFTER["direct_v"]


class FaultyDdl(SQLiteWarehouse):
    """A real SQLite warehouse whose DDL for one view is wrong: fault injection, not a mock.

    Plan and the apply's fresh re-plan both use it, so the plan is not stale and
    the bad statement really runs, after the DDL for the views before it.
    """

    def __init__(self, url: str, view: str, extra: list[str]) -> None:
        super().__init__(url)
        self.faulty_view, self.extra = view, extra

    def replace_view_statements(self, view, new_definition):
        stmts = super().replace_view_statements(view, new_definition)
        if view.relation.name == self.faulty_view and new_definition != VIEWS[self.faulty_view]:
            return stmts[:1] + self.extra
        return stmts


def test_failing_statement_rolls_back_everything(env):
    bad = "CREATE VIEW side_v AS SELECT FROM WHERE"
    wh = FaultyDdl(f"sqlite:///{env.db}", "side_v", [bad])
    try:
        plan = plan_warehouse(wh, env.registry)[0]
        stmts = plan.statements()
        assert stmts.index(bad) == len(stmts) - 1      # the earlier DROP/CREATE pairs run first
        before = master(env.db)
        with pytest.raises(ApplyError) as e:
            apply_plan(plan, wh, env.registry, env.state)
    finally:
        wh.close()
    assert e.value.statement == bad
    assert bad in str(e.value) and "nothing was changed" in str(e.value)
    assert master(env.db) == before
    # The journal keeps the attempt, settled as failed, with the failing statement.
    [rec] = env.state.list_applies()
    assert rec.status == "failed" and bad in rec.error


def test_verification_failure_rolls_back(env):
    # Accepted by CREATE VIEW, fails when queried: SQLite binds view bodies lazily.
    broken = "CREATE VIEW direct_v AS SELECT no_such_column AS cust_id, name FROM entity_customers"
    wh = FaultyDdl(f"sqlite:///{env.db}", "direct_v", [broken])
    try:
        plan = plan_warehouse(wh, env.registry)[0]
        before = master(env.db)
        with pytest.raises(ApplyError, match="main.direct_v does not answer"):
            apply_plan(plan, wh, env.registry, env.state)
    finally:
        wh.close()
    assert master(env.db) == before


def test_a_tampered_plan_is_refused(env):
    plan = env.plan()
    views = list(plan.views)
    i = next(i for i, v in enumerate(views) if v.relation.name == "side_v")
    first = views[i].operations[0]
    views[i] = dataclasses.replace(views[i], operations=(first, dataclasses.replace(first, sql="DROP TABLE customer_facts")))
    before = master(env.db)
    with pytest.raises(StalePlanError, match="view main.side_v would now be rewritten differently"):
        apply_plan(dataclasses.replace(plan, views=tuple(views)), env.wh, env.registry, env.state)
    assert master(env.db) == before


def test_rollback_restores_definitions_byte_for_byte(env):
    original = master(env.db)
    applied = apply_plan(env.plan(), env.wh, env.registry, env.state)
    assert master(env.db) != original
    rolled = rollback_apply(applied.apply_id, env.wh, env.state)
    assert master(env.db) == original
    assert rolled.kind == "rollback" and rolled.mismatches == ()
    rec = env.state.get_apply(rolled.apply_id)
    assert rec.kind == "rollback" and rec.rollback_of == applied.apply_id
    assert env.state.get_apply(applied.apply_id).rolled_back_by == rolled.apply_id
    with pytest.raises(DeprecatorError, match="already rolled back"):
        rollback_apply(applied.apply_id, env.wh, env.state)
    # a rollback can itself be undone, which re-applies the rewrite
    rollback_apply(rolled.apply_id, env.wh, env.state)
    assert definitions(env.db)["direct_v"] == EXPECTED_AFTER["direct_v"]


def test_rollback_refused_when_views_changed_since(env):
    applied = apply_plan(env.plan(), env.wh, env.registry, env.state)
    ddl(env.db, "DROP VIEW direct_v", "CREATE VIEW direct_v AS SELECT customer_id AS cust_id FROM entity_customers")
    current = master(env.db)
    with pytest.raises(StalePlanError) as e:
        rollback_apply(applied.apply_id, env.wh, env.state)
    assert e.value.changes == [f"definition and columns of view main.direct_v changed since apply {applied.apply_id}"]
    assert master(env.db) == current


def test_nothing_to_apply_records_nothing(env):
    apply_plan(env.plan(), env.wh, env.registry, env.state)
    result = apply_plan(env.plan(), env.wh, env.registry, env.state)
    assert result.apply_id is None and result.blocked == ("main.blocked_v",)
    assert len(env.state.list_applies()) == 1


def test_hostile_view_names_are_quoted_never_executed(tmp_path):
    name = 'weird "name"; DROP TABLE customer_facts; --'
    views = {"hostile": 'CREATE VIEW "weird ""name""; DROP TABLE customer_facts; --" AS\n'
                        "SELECT cust_id FROM customer_facts -- keep"}
    db = make_warehouse(tmp_path / "wh.db", views)
    (tmp_path / "deprecations.yml").write_text(REGISTRY)
    registry = load_registry(tmp_path / "deprecations.yml", "sqlite", ("main",))
    original = master(db)
    wh = SQLiteWarehouse(f"sqlite:///{db}")
    state = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        plan = plan_warehouse(wh, registry)[0]
        assert [v.name for v in plan.rewrites] == [f"main.{name.lower()}"]   # SQLite names fold
        applied = apply_plan(plan, wh, registry, state)
        defs = definitions(db)
        assert set(defs) == {name}
        assert defs[name].endswith("SELECT customer_id AS cust_id FROM entity_customers -- keep")
        assert any(n == "customer_facts" for _, n, _, _ in master(db))     # nothing was executed from the name
        rollback_apply(applied.apply_id, wh, state)
        assert master(db) == original
    finally:
        wh.close()
        state.close()


def test_an_already_broken_dependent_does_not_block_the_apply(tmp_path):
    views = {"direct_v": VIEWS["direct_v"],
             "broken_dep": "CREATE VIEW broken_dep AS SELECT d.name FROM direct_v d JOIN gone g ON g.x = d.cust_id",
             "broken_direct": "CREATE VIEW broken_direct AS SELECT c.name FROM customer_facts c JOIN gone g ON g.x = c.cust_id"}
    db = make_warehouse(tmp_path / "wh.db", views)
    (tmp_path / "deprecations.yml").write_text(REGISTRY)
    registry = load_registry(tmp_path / "deprecations.yml", "sqlite", ("main",))
    wh = SQLiteWarehouse(f"sqlite:///{db}")
    state = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        plan = plan_warehouse(wh, registry)[0]
        actions = {v.relation.name: v.action for v in plan.views}
        assert actions == {"direct_v": "rewrite", "broken_direct": "blocked", "broken_dep": "unchanged"}
        reason = next(v for v in plan.views if v.relation.name == "broken_direct").blockers[0].reason
        assert reason == "the view does not answer even now: no such table: main.gone"
        result = apply_plan(plan, wh, registry, state)
        assert result.changed == ("main.direct_v",)
        assert definitions(db)["direct_v"] == EXPECTED_AFTER["direct_v"]
    finally:
        wh.close()
        state.close()


def test_replacement_changed_since_the_plan_is_stale(env):
    plan = env.plan()
    ddl(env.db, "DROP TABLE entity_customers", "CREATE TABLE entity_customers (customer_id INTEGER)")
    before = master(env.db)
    with pytest.raises(StalePlanError) as e:
        apply_plan(plan, env.wh, env.registry, env.state)
    assert ("view main.direct_v would now be blocked instead of rewrite: "
            "column name does not exist in the replacement main.entity_customers") in e.value.changes
    assert master(env.db) == before


class Stop(BaseException):
    """Stands in for the process dying: nothing after it runs."""


def test_apply_interrupted_after_commit_is_reconciled_from_the_journal(env, monkeypatch):
    from deprecator.apply import reconcile_pending

    plan = env.plan()
    real_finish = StateStore.finish_apply

    def die_before_settling(self, apply_id, *, status, **kw):
        if status == "applied":
            raise Stop()
        return real_finish(self, apply_id, status=status, **kw)

    monkeypatch.setattr(StateStore, "finish_apply", die_before_settling)
    with pytest.raises(Stop):
        apply_plan(plan, env.wh, env.registry, env.state)
    monkeypatch.setattr(StateStore, "finish_apply", real_finish)

    [rec] = env.state.list_applies()
    assert rec.status == "pending"                  # committed, but nobody settled it
    assert reconcile_pending(env.wh, env.state) == [(rec.id, "applied")]
    settled = env.state.get_apply(rec.id)
    assert settled.status == "applied"
    assert {n: a["definition"] for n, a in settled.after.items()} == {v.name: v.after for v in plan.changes}
    # ...and the reconciled record is good enough to roll back from.
    before = {v.name: v.before for v in plan.changes}
    rollback_apply(rec.id, env.wh, env.state)
    now = {v.relation: v.definition for v in env.wh.list_views()}
    assert {v.name: now[v.relation] for v in plan.changes} == before


def test_apply_interrupted_before_commit_is_settled_as_not_applied(env, monkeypatch):
    from deprecator.apply import reconcile_pending

    plan = env.plan()
    before = master(env.db)
    env.state.record_apply(warehouse=env.wh.display_url, statements=plan.statements(), kind="apply",
                           status="pending",
                           before={v.name: {"relation": [v.relation.catalog, v.relation.schema, v.relation.name],
                                            "definition": v.before, "fingerprint": v.fingerprint}
                                   for v in plan.changes},
                           after={v.name: {"definition": v.after} for v in plan.changes})
    [rec] = env.state.list_applies()
    assert reconcile_pending(env.wh, env.state) == [(rec.id, "not applied")]
    assert master(env.db) == before
    with pytest.raises(DeprecatorError, match="not applied"):
        rollback_apply(rec.id, env.wh, env.state)


@pytest.mark.parametrize("version", [1, 2, 3])
def test_a_plan_of_an_older_format_is_refused_clearly(env, version):
    import json

    d = env.plan().to_dict()
    d["format_version"] = version
    with pytest.raises(DeprecatorError) as e:
        Plan.from_json(json.dumps(d), source="old.json")
    assert str(e.value).startswith(f"old.json: plan format version {version} is not supported (this deprecator "
                                   "reads and writes version 4; the plan was made by an older deprecator)")
    assert "deprecator plan --out PLAN" in str(e.value)


def test_instead_of_triggers_survive_the_drop_and_create_and_the_rollback(env):
    """SQLite has no CREATE OR REPLACE VIEW: DROP VIEW takes the view's triggers with it, so apply recreates them."""
    ddl(env.db,
        "CREATE TABLE inbox (cust_id INTEGER, name TEXT)",
        'CREATE TRIGGER "direct ins" INSTEAD OF INSERT ON direct_v BEGIN '
        "INSERT INTO inbox VALUES (NEW.cust_id, NEW.name); END",
        "CREATE TRIGGER side_del INSTEAD OF DELETE ON side_v BEGIN DELETE FROM inbox; END")
    original = master(env.db)
    assert [t["name"] for t in {str(v.relation): v for v in env.wh.list_views()}["main.direct_v"].extra["triggers"]] \
        == ["direct ins"]
    applied = apply_plan(env.plan(), env.wh, env.registry, env.state)
    after = master(env.db)
    assert [r for r in after if r[0] == "trigger"] == [r for r in original if r[0] == "trigger"]
    conn = sqlite3.connect(env.db)
    conn.execute("INSERT INTO direct_v (cust_id, name) VALUES (7, 'g')")
    conn.commit()
    assert conn.execute("SELECT * FROM inbox").fetchall() == [(7, "g")]
    conn.execute("DELETE FROM inbox")
    conn.commit()
    conn.close()
    rollback_apply(applied.apply_id, env.wh, env.state)
    assert master(env.db) == original
