"""The executor: plan against a live warehouse, apply a plan, roll an apply back.

Apply re-reads the warehouse and refuses a stale plan, runs every statement in
one transaction (``Warehouse.execute_atomically``, which re-checks the
fingerprints after taking the write lock and verifies each view answers), and
records before/after definitions in the state store. Rollback runs the recorded
inverse statements the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence

from deprecator.config import Config
from deprecator.errors import DeprecatorError, StalePlanError
from deprecator.plan import Plan, build_plan, ordered_statements, unified_diff
from deprecator.sql.model import RelationName, RewriteRule
from deprecator.state import StateStore
from deprecator.warehouse import connect
from deprecator.warehouse.base import ViewInfo, Warehouse


class RegistryLike(Protocol):
    def fingerprint(self) -> str: ...

    def rewrite_rules(self, dialect: str | None = None, default_schema: Any = None,
                      default_catalog: str | None = None) -> list[RewriteRule]: ...


@dataclass(frozen=True)
class ApplyResult:
    apply_id: str | None                 # None when there was nothing to apply
    kind: str                            # "apply" | "rollback"
    changed: tuple[str, ...] = ()        # views whose definition changed, in order
    blocked: tuple[str, ...] = ()        # views the plan left alone (blocked)
    statements: tuple[str, ...] = ()
    # Views whose definition after the run differs from what was intended (should be empty).
    mismatches: tuple[str, ...] = field(default_factory=tuple)


def open_target(config: Config) -> tuple[Warehouse, Any]:
    """Connect to the configured warehouse and load the registry normalized for it."""
    from deprecator.registry import load_registry

    warehouse = connect(config)
    try:
        registry = load_registry(config.registry_path, warehouse.dialect, tuple(warehouse.default_schema),
                                 warehouse.default_catalog)
    except BaseException:
        warehouse.close()
        raise
    return warehouse, registry


def open_state(config: Config) -> StateStore:
    return StateStore(config.state_url, config.root)


def plan_warehouse(warehouse: Warehouse, registry: RegistryLike) -> tuple[Plan, list[ViewInfo]]:
    """Read the warehouse and build the plan (also returns the views read)."""
    dialect = warehouse.dialect
    schema, catalog = tuple(warehouse.default_schema), warehouse.default_catalog
    rules = registry.rewrite_rules(dialect, schema, catalog)
    views = warehouse.list_views()
    columns: dict[RelationName, list[tuple[str, str]] | None] = {}
    for rule in rules:
        for rel in (rule.old, rule.new):
            if rel not in columns:
                columns[rel] = warehouse.relation_columns(rel)
    plan = build_plan(views, rules, dialect, registry.fingerprint(), schema, catalog, warehouse.display_url,
                      relation_columns=columns, ddl=warehouse)
    return plan, views


def stale_changes(plan: Plan, fresh: Plan, views_now: Sequence[ViewInfo], registry_fingerprint: str) -> list[str]:
    """What changed between ``plan`` and now, by name; empty when the plan still holds."""
    changes: list[str] = []
    if plan.warehouse and fresh.warehouse and plan.warehouse != fresh.warehouse:
        changes.append(f"the plan was made for the warehouse {plan.warehouse}, not {fresh.warehouse}")
    if plan.dialect != fresh.dialect:
        changes.append(f"the plan was made for dialect {plan.dialect}, the warehouse is {fresh.dialect}")
    if plan.registry_fingerprint != registry_fingerprint:
        changes.append("the registry (deprecations.yml) changed")
    now = {v.relation: v.fingerprint() for v in views_now}
    fresh_by_rel = {v.relation: v for v in fresh.views}
    for v in plan.views:
        fp = now.get(v.relation)
        if fp is None:
            changes.append(f"view {v.name} was dropped")
            continue
        if fp != v.fingerprint:
            changes.append(f"view {v.name} was changed")
            continue
        # Same view text, different plan: the replacement or its columns changed.
        f = fresh_by_rel.get(v.relation)
        if f is None:
            if v.statements:
                changes.append(f"view {v.name} no longer needs rewriting")
        elif f.action != v.action:
            why = f": {f.blockers[0].reason}" if f.blockers else ""
            changes.append(f"view {v.name} would now be {f.action} instead of {v.action}{why}")
        elif (f.drop, f.statements) != (v.drop, v.statements):
            changes.append(f"view {v.name} would now be rewritten differently")
    planned = {v.relation for v in plan.views}
    for v in fresh.views:
        if v.relation not in planned and v.action != "unchanged":
            changes.append(f"view {v.name} now needs rewriting ({v.action}) and is not in the plan")
    return changes


def apply_plan(plan: Plan, warehouse: Warehouse, registry: RegistryLike, state: StateStore) -> ApplyResult:
    """Apply exactly ``plan``'s statements in one transaction; record the apply; return its id."""
    fresh, views_now = plan_warehouse(warehouse, registry)
    changes = stale_changes(plan, fresh, views_now, registry.fingerprint())
    if changes:
        raise StalePlanError(changes)
    blocked = tuple(v.name for v in plan.blocked)
    if not plan.has_changes:
        return ApplyResult(None, "apply", blocked=blocked)
    statements = plan.statements()
    # Rewritten views must answer; a dependent that was already broken is not ours to fix.
    broken = {v.relation for v in views_now if (v.extra or {}).get("error")}
    verify = [v.relation for v in plan.views
              if v.action in ("rewrite", "recreate") or (v.action == "unchanged" and v.relation not in broken)]
    warehouse.execute_atomically(statements, verify=verify, expected=plan.fingerprints())

    after_views = {v.relation: v for v in warehouse.list_views()}
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    mismatches = []
    for v in plan.changes:
        now = after_views.get(v.relation)
        before[v.name] = {"relation": _rel(v.relation), "definition": v.before, "fingerprint": v.fingerprint,
                          "statements": list(v.statements), "inverse": list(v.inverse),
                          "drop": list(v.drop), "inverse_drop": list(v.inverse_drop)}
        after[v.name] = {"relation": _rel(v.relation), "definition": now.definition if now else None,
                         "fingerprint": now.fingerprint() if now else None}
        if now is None or now.definition != v.after:
            mismatches.append(v.name)
    apply_id = _record(state, warehouse=warehouse.display_url, statements=statements, before=before,
                       after=after, kind="apply")
    return ApplyResult(apply_id, "apply", tuple(v.name for v in plan.changes), blocked, tuple(statements),
                       tuple(mismatches))


def rollback_apply(apply_id: str, warehouse: Warehouse, state: StateStore) -> ApplyResult:
    """Restore the definitions an apply replaced, atomically, refusing if the views changed since."""
    rec = state.get_apply(apply_id)
    if rec.rolled_back_by:
        raise DeprecatorError(f"apply {apply_id} was already rolled back by {rec.rolled_back_by}",
                              hint=f"`deprecator rollback {rec.rolled_back_by}` re-applies it")
    if rec.warehouse != warehouse.display_url:
        raise DeprecatorError(f"apply {apply_id} was made on {rec.warehouse}, not on {warehouse.display_url}")
    now = {v.relation: v for v in warehouse.list_views()}
    changes = []
    expected: dict[RelationName, str | None] = {}
    per_view: list[tuple[list[str], list[str]]] = []
    verify: list[RelationName] = []
    for name, b in rec.before.items():
        rel = _unrel(b["relation"])
        fp_after = rec.after.get(name, {}).get("fingerprint")
        cur = now.get(rel)
        if cur is None:
            changes.append(f"view {name} was dropped since apply {apply_id}")
        elif cur.fingerprint() != fp_after:
            changes.append(f"view {name} was changed since apply {apply_id}")
        expected[rel] = fp_after
        per_view.append((b.get("inverse_drop", []), b["inverse"]))
        verify.append(rel)
    if changes:
        raise StalePlanError(changes)
    statements = ordered_statements(per_view)
    warehouse.execute_atomically(statements, verify=verify, expected=expected)

    restored = {v.relation: v for v in warehouse.list_views()}
    new_before: dict[str, Any] = {}
    new_after: dict[str, Any] = {}
    mismatches = []
    for name, b in rec.before.items():
        rel = _unrel(b["relation"])
        v = restored.get(rel)
        new_before[name] = {"relation": b["relation"], "definition": rec.after[name]["definition"],
                            "fingerprint": rec.after[name]["fingerprint"],
                            "statements": list(b["inverse"]), "inverse": list(b["statements"]),
                            "drop": list(b.get("inverse_drop", [])), "inverse_drop": list(b.get("drop", []))}
        new_after[name] = {"relation": b["relation"], "definition": v.definition if v else None,
                           "fingerprint": v.fingerprint() if v else None}
        if v is None or v.definition != b["definition"]:
            mismatches.append(name)
    new_id = _record(state, warehouse=warehouse.display_url, statements=statements, before=new_before,
                     after=new_after, kind="rollback", rollback_of=apply_id)
    return ApplyResult(new_id, "rollback", tuple(rec.before), (), tuple(statements), tuple(mismatches))


def rollback_preview(apply_id: str, state: StateStore) -> tuple[Any, str]:
    """The apply record and a diff of what rolling it back would restore."""
    rec = state.get_apply(apply_id)
    diffs = []
    for name, b in rec.before.items():
        current = rec.after.get(name, {}).get("definition") or ""
        diffs.append(unified_diff(current, b["definition"] or "", name, ("current", "restored")))
    return rec, "\n".join(d for d in diffs if d)


def _record(state: StateStore, **kwargs: Any) -> str:
    # The warehouse transaction has committed; the state store is another database.
    try:
        return state.record_apply(**kwargs)
    except Exception as e:
        raise DeprecatorError(
            f"the views were changed and committed, but the state store could not record it: {e}",
            hint="keep the plan (or the statements above): its inverse statements restore the previous definitions",
        ) from None


def _rel(r: RelationName) -> list[str | None]:
    return [r.catalog, r.schema, r.name]


def _unrel(v: Sequence[str | None]) -> RelationName:
    return RelationName(v[0], v[1], str(v[2]))
