"""The executor: plan against a live warehouse, apply a plan, roll an apply back.

Apply reads the warehouse catalog once and refuses a stale plan, saying what
changed: per view, which of its fields (definition, owner, grants, comments,
options, columns, indexes) differ from the plan's fingerprints; which
deprecation of the registry changed; whether a replacement's columns changed;
and which new views read a deprecated or planned relation (only views whose
text names one are parsed). Each reason is a ``StaleChange`` (kind, view,
message), and ``StalePlanError.records`` carries them; callers filter on the
kind, users read the message. It does not plan again unless a replacement's
columns changed (then a fresh plan names the views affected) or the plan is
of format 1. It runs every statement in one transaction
(``Warehouse.execute_atomically``, which re-checks the fingerprints after
taking the write lock and verifies each view answers), and records
before/after definitions, owner, grants, comments and options in the state
store, with who ran it. Rollback runs the recorded inverse statements the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, Sequence

from deprecator.config import Config
from deprecator.errors import DeprecatorError, StaleChange, StaleKind, StalePlanError
from deprecator.redact import redact
from deprecator.plan import (Plan, TextIndex, build_plan, name_needles, ordered_statements, registry_change_records,
                             rule_for, unified_diff, view_change, view_parts)
from deprecator.sql import find_references
from deprecator.sql.model import RelationName, RewriteRule
from deprecator.state import StateStore
from deprecator.warehouse import connect, cross_check_plan
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
    mismatches: tuple[str, ...] = ()
    checked: tuple[str, ...] = ()        # dependents only checked inside the transaction, not changed


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


def registry_parts(registry: Any) -> dict[str, str]:
    """A fingerprint per deprecation (the content ``Registry.fingerprint`` covers), keyed by model."""
    return {str(d.model): d.fingerprint()[:16] for d in getattr(registry, "deprecations", ())}


def registry_name(registry: Any) -> str:
    """The registry's file name as the user named it (messages say which file changed)."""
    path = getattr(registry, "path", None)
    return Path(path).name if path else "deprecations.yml"


def _rules(warehouse: Warehouse, registry: RegistryLike) -> list[RewriteRule]:
    return registry.rewrite_rules(warehouse.dialect, tuple(warehouse.default_schema), warehouse.default_catalog)


def _relation_columns(warehouse: Warehouse, rules: Sequence[RewriteRule]) -> dict[RelationName, list[tuple[str, str]] | None]:
    columns: dict[RelationName, list[tuple[str, str]] | None] = {}
    for rule in rules:
        for rel in (rule.old, rule.new):
            if rel not in columns:
                columns[rel] = warehouse.relation_columns(rel)
    return columns


def _planning(warehouse: Warehouse) -> tuple[Any, dict[str, str] | None]:
    """(DDL maker, type categories): on PostgreSQL, batched compile checks and typcategory."""
    if warehouse.dialect == "postgres" and hasattr(warehouse, "column_types") and hasattr(warehouse, "read"):
        from deprecator.warehouse.pg_apply import PlanningDdl, type_categories

        return PlanningDdl(warehouse), type_categories(warehouse)
    return warehouse, None


def plan_warehouse(warehouse: Warehouse, registry: RegistryLike) -> tuple[Plan, list[ViewInfo]]:
    """Read the warehouse and build the plan (also returns the views read)."""
    dialect = warehouse.dialect
    schema, catalog = tuple(warehouse.default_schema), warehouse.default_catalog
    rules = _rules(warehouse, registry)
    views = warehouse.list_views()
    columns = _relation_columns(warehouse, rules)
    ddl, categories = _planning(warehouse)
    plan = build_plan(views, rules, dialect, registry.fingerprint(), schema, catalog, warehouse.display_url,
                      relation_columns=columns, ddl=ddl, registry_parts=registry_parts(registry),
                      type_categories=categories)
    return plan, views


def cross_check(warehouse: Warehouse, registry: RegistryLike, plan: Plan, views: Sequence[ViewInfo]) -> list[Any]:
    """Where the AST engine and the warehouse's dependency catalog disagree about ``plan``
    (``deprecator.warehouse.cross_check_plan``; ``[]`` for engines without one)."""
    return cross_check_plan(warehouse, [r.old for r in _rules(warehouse, registry)],
                            [v.relation for v in plan.views], views)


# What a fresh plan adds once a replacement's columns moved: how each planned view
# would now be handled. Drops, field changes and new readers are found without it.
_REPLAN_KINDS: frozenset[StaleKind] = frozenset({"action_changed", "rewritten_differently", "no_longer_needed"})


def stale_error(changes: Sequence[StaleChange | str]) -> StalePlanError:
    """The error listing ``changes``: records (kept on ``records``), or the warehouse's own sentences."""
    return StalePlanError(changes)


def check_plan(plan: Plan, warehouse: Warehouse, registry: RegistryLike,
               views_now: Sequence[ViewInfo]) -> list[StaleChange]:
    """What changed between ``plan`` and now, by name; empty when the plan still holds.

    One catalog read (``views_now``) and the rules' relations' columns; views are
    parsed only when they are not in the plan and their text names a deprecated or
    planned relation. A plan of format 1 (no field fingerprints) or whose
    replacements' columns changed is compared with a fresh plan instead.
    """
    if plan.format_version < 2:
        fresh, views_now = plan_warehouse(warehouse, registry)
        return stale_changes(plan, fresh, views_now, registry)
    changes: list[StaleChange] = []
    if plan.warehouse and warehouse.display_url and plan.warehouse != warehouse.display_url:
        changes.append(_other_warehouse(plan.warehouse, warehouse.display_url))
    if plan.dialect != warehouse.dialect:
        changes.append(_other_dialect(plan.dialect, warehouse.dialect))
    if plan.registry_fingerprint != registry.fingerprint():
        changes.extend(registry_change_records(plan.registry_parts, registry_parts(registry),
                                               registry_name(registry)))
    for name in plan.edited():
        changes.append(StaleChange("entry_edited", name, f"view {name} would now be rewritten differently: "
                                   "its entry was edited after the plan was made"))
    changes.extend(_view_changes(plan, views_now))
    rules = _rules(warehouse, registry)
    columns_now = _relation_columns(warehouse, rules)
    moved = []
    for rel, cols in plan.relations:
        cur_cols = columns_now[rel] if rel in columns_now else warehouse.relation_columns(rel)
        if (None if cur_cols is None else tuple(tuple(c) for c in cur_cols)) != cols:
            moved.append(rel)
            changes.append(StaleChange("replacement_columns", None,
                                       f"the columns of {rel} changed since the plan"
                                       if cur_cols is not None and cols is not None
                                       else f"{rel} was {'dropped' if cur_cols is None else 'created'} since the plan"))
    if moved:
        # A replacement changed: a fresh plan says which views that affects (and how).
        fresh, fresh_views = plan_warehouse(warehouse, registry)
        changes.extend(c for c in stale_changes(plan, fresh, fresh_views, registry) if c.kind in _REPLAN_KINDS)
    changes.extend(_new_readers(plan, warehouse, rules, views_now))
    return changes


def _new_readers(plan: Plan, warehouse: Warehouse, rules: Sequence[RewriteRule],
                 views_now: Sequence[ViewInfo]) -> list[StaleChange]:
    """Views not in the plan that now read a deprecated relation (or, where dependents are
    recreated, a planned view). Only views whose text names one are parsed."""
    planned = {v.relation for v in plan.views}
    needles = {n for r in rules for n in name_needles(r.old.name)}
    if warehouse.recreate_dependents:
        needles |= {n for rel in planned for n in name_needles(rel.name)}
    out: list[StaleChange] = []
    index = TextIndex()
    for v in views_now:
        if v.relation in planned or not index.mentions(v.relation, v.definition, needles):
            continue
        pr = find_references(v.definition, warehouse.dialect, default_schema=tuple(warehouse.default_schema),
                             default_catalog=warehouse.default_catalog)
        srcs = [r.relation for r in pr.references if r.role == "read"]
        hits = sorted({str(r.label or r.old) for s in srcs if (r := rule_for(s, rules)) is not None})
        name = str(v.relation)
        if hits:
            out.append(StaleChange("new_reader", name, f"view {name} now needs rewriting "
                                   f"(reads {', '.join(hits)}) and is not in the plan"))
        elif pr.status != "parsed":
            out.append(StaleChange("new_reader", name, f"view {name} may read a deprecated or planned view "
                                   "(its definition could not be parsed) and is not in the plan"))
        elif warehouse.recreate_dependents:
            reads = sorted({str(p) for s in srcs for p in planned if p == s or p.matches(s)} - {name})
            if reads:
                out.append(StaleChange("new_reader", name, f"view {name} now reads {', '.join(reads)}, "
                                       "which the plan replaces, and is not in the plan"))
    return out


def _other_warehouse(planned: str, now: str) -> StaleChange:
    return StaleChange("warehouse", None, f"the plan was made for the warehouse {planned}, not {now}")


def _other_dialect(planned: str, now: str) -> StaleChange:
    return StaleChange("dialect", None, f"the plan was made for dialect {planned}, the warehouse is {now}")


def _dropped(name: str, since: str = "") -> StaleChange:
    return StaleChange("view_dropped", name, f"view {name} was dropped{since}")


def stale_changes(plan: Plan, fresh: Plan, views_now: Sequence[ViewInfo],
                  registry: RegistryLike) -> list[StaleChange]:
    """What changed between ``plan`` and a ``fresh`` plan of now; empty when the plan still holds."""
    changes: list[StaleChange] = []
    if plan.warehouse and fresh.warehouse and plan.warehouse != fresh.warehouse:
        changes.append(_other_warehouse(plan.warehouse, fresh.warehouse))
    if plan.dialect != fresh.dialect:
        changes.append(_other_dialect(plan.dialect, fresh.dialect))
    if plan.registry_fingerprint != registry.fingerprint():
        changes.append(StaleChange("registry", None, f"the registry ({registry_name(registry)}) changed"))
    now = {v.relation: v.fingerprint() for v in views_now}
    fresh_by_rel = {v.relation: v for v in fresh.views}
    for v in plan.views:
        fp = now.get(v.relation)
        if fp is None:
            changes.append(_dropped(v.name))
            continue
        if fp != v.fingerprint:
            changes.append(StaleChange("view_changed", v.name, f"view {v.name} was changed"))
            continue
        # Same view text, different plan: the replacement or its columns changed.
        f = fresh_by_rel.get(v.relation)
        if f is None:
            if v.statements:
                changes.append(StaleChange("no_longer_needed", v.name, f"view {v.name} no longer needs rewriting"))
        elif f.action != v.action:
            why = f": {f.blockers[0].reason}" if f.blockers else ""
            changes.append(StaleChange("action_changed", v.name,
                                       f"view {v.name} would now be {f.action} instead of {v.action}{why}"))
        elif (f.drop, f.statements) != (v.drop, v.statements):
            changes.append(StaleChange("rewritten_differently", v.name,
                                       f"view {v.name} would now be rewritten differently"))
    planned = {v.relation for v in plan.views}
    for v in fresh.views:
        if v.relation not in planned and v.action != "unchanged":
            changes.append(StaleChange("new_reader", v.name,
                                       f"view {v.name} now needs rewriting ({v.action}) and is not in the plan"))
    return changes


def apply_plan(plan: Plan, warehouse: Warehouse, registry: RegistryLike, state: StateStore) -> ApplyResult:
    """Apply exactly ``plan``'s statements in one transaction; record the apply; return its id."""
    reconcile_pending(warehouse, state)
    views_now = warehouse.list_views()
    changes = check_plan(plan, warehouse, registry, views_now)
    if changes:
        raise stale_error(changes)
    if plan.format_version < 2:
        views_now = warehouse.list_views()   # check_plan re-planned; read the catalog as of now
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
    by_rel = {v.relation: v for v in views_now}
    for v in plan.changes:
        before[v.name] = {"relation": _rel(v.relation), "definition": v.before, "fingerprint": v.fingerprint,
                          "statements": list(v.statements), "inverse": list(v.inverse),
                          "drop": list(v.drop), "inverse_drop": list(v.inverse_drop),
                          **_snapshot(by_rel.get(v.relation))}
        planned[v.name] = {"relation": _rel(v.relation), "definition": v.after, "fingerprint": None}
    # Journal first: a record exists before the warehouse can change, so a process
    # killed after the warehouse commit leaves a pending record to reconcile.
    apply_id = _record(state, warehouse=warehouse.display_url, statements=statements, before=before,
                       after=planned, kind="apply", status="pending")
    try:
        _execute(warehouse, state, apply_id, statements, verify, plan.fingerprints())
    except StalePlanError as e:
        # Changed between the check above and the write lock: say what changed, field by field.
        raise stale_error(_view_changes(plan, warehouse.list_views()) or e.records or e.changes) from None

    after_views = {v.relation: v for v in warehouse.list_views()}
    after: dict[str, Any] = {}
    mismatches = []
    for v in plan.changes:
        now = after_views.get(v.relation)
        after[v.name] = {"relation": _rel(v.relation), "definition": now.definition if now else None,
                         "fingerprint": now.fingerprint() if now else None, **_snapshot(now)}
        if now is None or now.definition != v.after:
            mismatches.append(v.name)
    _settle(state, apply_id, after)
    return ApplyResult(apply_id, "apply", tuple(v.name for v in plan.changes if v.action != "unchanged"), blocked,
                       tuple(statements), tuple(mismatches),
                       checked=tuple(v.name for v in plan.changes if v.action == "unchanged"))


def _snapshot(view: ViewInfo | None) -> dict[str, Any]:
    """What the audit record keeps of a view besides its definition."""
    if view is None:
        return {}
    return {"kind": view.kind, "owner": view.owner, "grants": [list(g) for g in view.grants],
            "default_acl": view.default_acl,
            "comment": view.comment, "column_comments": dict(view.column_comments), "options": dict(view.options),
            "columns": [list(c) for c in view.columns], "extra": dict(view.extra)}


def _view_changes(plan: Plan, views_now: Sequence[ViewInfo]) -> list[StaleChange]:
    """The plan's views that were dropped or changed since it was made, field by field."""
    now = {v.relation: v for v in views_now}
    out = []
    for v in plan.views:
        cur = now.get(v.relation)
        if cur is None:
            out.append(_dropped(v.name))
        elif cur.fingerprint() != v.fingerprint:
            out.append(view_change(v.name, v.parts, view_parts(cur)))
    return out


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
    changes: list[StaleChange] = []
    expected: dict[RelationName, str | None] = {}
    per_view: list[tuple[list[str], list[str]]] = []
    verify: list[RelationName] = []
    for name, b in rec.before.items():
        rel = _unrel(b["relation"])
        fp_after = rec.after.get(name, {}).get("fingerprint")
        cur = now.get(rel)
        if cur is None:
            changes.append(_dropped(name, f" since apply {apply_id}"))
        elif cur.fingerprint() != fp_after:
            changes.append(StaleChange("view_changed", name, f"view {name} was changed since apply {apply_id}"))
        expected[rel] = fp_after
        per_view.append((b.get("inverse_drop", []), b["inverse"]))
        verify.append(rel)
    if changes:
        raise stale_error(changes)
    statements = ordered_statements(per_view)
    planned = {name: {"relation": b["relation"], "definition": b["definition"], "fingerprint": None}
               for name, b in rec.before.items()}
    journal_before = {name: {**{k: x for k, x in rec.after[name].items()
                                if k not in ("relation", "definition", "fingerprint")},
                             "relation": b["relation"], "definition": rec.after[name]["definition"],
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
                           "fingerprint": v.fingerprint() if v else None, **_snapshot(v)}
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
