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
from deprecator.redact import redact
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
    reconcile_pending(warehouse, state)
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
    before: dict[str, Any] = {}
    planned: dict[str, Any] = {}
    for v in plan.changes:
        before[v.name] = {"relation": _rel(v.relation), "definition": v.before, "fingerprint": v.fingerprint,
                          "statements": list(v.statements), "inverse": list(v.inverse),
                          "drop": list(v.drop), "inverse_drop": list(v.inverse_drop)}
        planned[v.name] = {"relation": _rel(v.relation), "definition": v.after, "fingerprint": None}
    # Journal first: a record exists before the warehouse can change, so a process
    # killed after the warehouse commit leaves a pending record to reconcile.
    apply_id = _record(state, warehouse=warehouse.display_url, statements=statements, before=before,
                       after=planned, kind="apply", status="pending")
    _execute(warehouse, state, apply_id, statements, verify, plan.fingerprints())

    after_views = {v.relation: v for v in warehouse.list_views()}
    after: dict[str, Any] = {}
    mismatches = []
    for v in plan.changes:
        now = after_views.get(v.relation)
        after[v.name] = {"relation": _rel(v.relation), "definition": now.definition if now else None,
                         "fingerprint": now.fingerprint() if now else None}
        if now is None or now.definition != v.after:
            mismatches.append(v.name)
    _settle(state, apply_id, after)
    return ApplyResult(apply_id, "apply", tuple(v.name for v in plan.changes), blocked, tuple(statements),
                       tuple(mismatches))


def _execute(warehouse: Warehouse, state: StateStore, apply_id: str, statements: Sequence[str],
             verify: Sequence[RelationName], expected: Any) -> None:
    try:
        warehouse.execute_atomically(statements, verify=verify, expected=expected)
    except BaseException as e:
        # The transaction rolled back: the journal entry records that nothing changed.
        try:
            state.finish_apply(apply_id, status="failed", error=redact(str(e)) or e.__class__.__name__)
        except Exception:
            pass  # the warehouse error is the one worth reporting
        raise


def _settle(state: StateStore, apply_id: str, after: dict[str, Any]) -> None:
    try:
        state.finish_apply(apply_id, status="applied", after=after)
    except Exception as e:
        raise DeprecatorError(
            f"the views were changed and committed, but the state store could not mark apply {apply_id} done: {e}",
            hint="`deprecator applies` reconciles a pending apply with the warehouse on its next run",
        ) from None


def reconcile_pending(warehouse: Warehouse, state: StateStore) -> list[tuple[str, str]]:
    """Settle pending journal entries of this warehouse by looking at what it holds now.

    An entry stays pending only when a process stopped between writing it and
    settling it. If every view holds the planned definition the apply committed;
    if every view holds the previous one it did not. Returns (apply id, new status).
    """
    pending = [r for r in state.list_applies() if r.status == "pending" and r.warehouse == warehouse.display_url]
    if not pending:
        return []
    now = {v.relation: v for v in warehouse.list_views()}
    settled = []
    for rec in pending:
        current = {name: now.get(_unrel(b["relation"])) for name, b in rec.before.items()}
        if all(c is not None and c.definition == (rec.after.get(n) or {}).get("definition") for n, c in current.items()):
            after = {n: {"relation": rec.before[n]["relation"], "definition": c.definition,
                         "fingerprint": c.fingerprint()} for n, c in current.items() if c is not None}
            state.finish_apply(rec.id, status="applied", after=after)
            settled.append((rec.id, "applied"))
        elif all(c is not None and c.fingerprint() == b["fingerprint"] for (n, c), b in
                 zip(current.items(), rec.before.values())):
            state.finish_apply(rec.id, status="not applied", error="the process stopped before the warehouse committed")
            settled.append((rec.id, "not applied"))
    return settled


def rollback_apply(apply_id: str, warehouse: Warehouse, state: StateStore) -> ApplyResult:
    """Restore the definitions an apply replaced, atomically, refusing if the views changed since."""
    reconcile_pending(warehouse, state)
    rec = state.get_apply(apply_id)
    if rec.status != "applied":
        raise DeprecatorError(f"apply {apply_id} is {rec.status}: there is nothing of it to roll back"
                              + (f" ({rec.error})" if rec.error else ""))
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
    planned = {name: {"relation": b["relation"], "definition": b["definition"], "fingerprint": None}
               for name, b in rec.before.items()}
    journal_before = {name: {"relation": b["relation"], "definition": rec.after[name]["definition"],
                             "fingerprint": rec.after[name]["fingerprint"],
                             "statements": list(b["inverse"]), "inverse": list(b["statements"]),
                             "drop": list(b.get("inverse_drop", [])), "inverse_drop": list(b.get("drop", []))}
                      for name, b in rec.before.items()}
    new_id = _record(state, warehouse=warehouse.display_url, statements=statements, before=journal_before,
                     after=planned, kind="rollback", rollback_of=apply_id, status="pending")
    _execute(warehouse, state, new_id, statements, verify, expected)

    restored = {v.relation: v for v in warehouse.list_views()}
    new_after: dict[str, Any] = {}
    mismatches = []
    for name, b in rec.before.items():
        v = restored.get(_unrel(b["relation"]))
        new_after[name] = {"relation": b["relation"], "definition": v.definition if v else None,
                           "fingerprint": v.fingerprint() if v else None}
        if v is None or v.definition != b["definition"]:
            mismatches.append(name)
    _settle(state, new_id, new_after)
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
    # Written before the warehouse is touched: if the journal cannot be written, nothing changes.
    try:
        return state.record_apply(**kwargs)
    except Exception as e:
        raise DeprecatorError(
            f"the state store could not record the apply, so nothing was changed: {e}",
            hint="check `state.url` in deprecator.yml",
        ) from None


def _rel(r: RelationName) -> list[str | None]:
    return [r.catalog, r.schema, r.name]


def _unrel(v: Sequence[str | None]) -> RelationName:
    return RelationName(v[0], v[1], str(v[2]))
