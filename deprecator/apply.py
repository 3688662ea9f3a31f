"""The executor: plan against a live warehouse, apply a plan, roll an apply back.

A saved plan is applied exactly, and only when it is exactly what deprecator
would do now. Apply first checks that the plan belongs to this warehouse (its
identity, not the URL that reaches it: ``OtherWarehouseError``), then reads
the catalog once and refuses the plan, naming every reason (``StaleChange``
records on ``StalePlanError``): an entry without its seal, or that no longer
matches it; a view dropped, or changed field by field (definition, owner,
grants, comments, options, columns, indexes); a changed rewrite rule (a
sunset date, an owner or a reason are not rules); a replacement whose columns
changed; a view not in the plan that now reads a deprecated or planned
relation (only views whose text names one are parsed); and, beyond the seal,
any operation of the plan that differs from what the planner derives again
from the live catalog and the registry for the planned views (their rewrite,
DDL, grants, owner and comments restored, inverses), naming the difference.

It then runs every statement in one transaction
(``Warehouse.execute_atomically``, which re-checks the fingerprints after
taking the write lock and verifies each view answers) and journals the apply
(pending before the warehouse is touched; applied, failed or interrupted
after). Rollback restores the recorded definitions, and the grants, owner and
comments each view had before the apply, the same way; it refuses when a view
changed since the apply (naming what changed; equivalent ACLs are not a
change), unless forced, and can be limited to some views.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Protocol, Sequence, cast

from sqlalchemy.exc import SQLAlchemyError

from deprecator.config import Config
from deprecator.errors import DeprecatorError, OtherWarehouseError, RollbackRefused, StaleChange, StalePlanError
from deprecator.operations import Operation, from_journal
from deprecator.redact import redact
from deprecator.plan import (DdlMaker, Plan, TextIndex, build_plan, changed_fields, derived_differences, describe_warehouse,
                             effective_parts, name_needles, ordered_statements, other_dialect, registry_change_records,
                             rule_for, rule_parts, rules_fingerprint, unified_diff, view_changes, view_dropped)
from deprecator.sql import find_references
from deprecator.sql.model import RelationName, RewriteRule
from deprecator.state import ApplyRecord, StateStore
from deprecator.warehouse import connect, cross_check_plan
from deprecator.warehouse.base import ViewInfo, Warehouse

if TYPE_CHECKING:
    from deprecator.registry import Registry
    from deprecator.warehouse.postgres.adapter import PostgresWarehouse


class RegistryLike(Protocol):
    """What plan and apply read from the registry (``deprecator.registry.Registry``)."""

    def fingerprint(self) -> str: ...

    def rewrite_rules(self, dialect: str | None = None, default_schema: Sequence[str] | str | None = None,
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

    def to_dict(self) -> dict[str, Any]:
        """The JSON `apply` and `rollback` print (a stable contract)."""
        return {"apply_id": self.apply_id, "kind": self.kind, "changed": list(self.changed),
                "blocked": list(self.blocked), "checked": list(self.checked), "statements": list(self.statements),
                "mismatches": list(self.mismatches)}


def open_target(config: Config, progress: Callable[[str], None] | None = None) -> tuple[Warehouse, Registry]:
    """Connect to the configured warehouse and load the registry normalized for it.

    ``progress`` hears what the warehouse's catalog reads wait for (a lock another session holds)."""
    from deprecator.registry import load_registry

    warehouse = connect(config, progress=progress)
    try:
        registry = load_registry(config.registry_path, warehouse.dialect, tuple(warehouse.default_schema),
                                 warehouse.default_catalog)
    except BaseException:
        warehouse.close()
        raise
    return warehouse, registry


def open_state(config: Config) -> StateStore:
    return StateStore(config.state_url, config.root)


Progress = Callable[[str], None]


def warehouse_identity(warehouse: Warehouse) -> dict[str, str]:
    """What the warehouse is, whatever URL reaches it (``identity()`` of the adapter; {} when it has none)."""
    identity = getattr(warehouse, "identity", None)
    return dict(identity()) if callable(identity) else {}


def check_warehouse(plan: Plan, warehouse: Warehouse) -> None:
    """Refuse a plan made for another warehouse: by identity when both are known, else by (masked) URL."""
    now = warehouse_identity(warehouse)
    if plan.warehouse_id and now:
        if dict(plan.warehouse_id) != now:
            raise OtherWarehouseError("this plan", describe_warehouse(plan.warehouse_id) + f" ({plan.warehouse})",
                                      describe_warehouse(now) + f" ({warehouse.display_url})")
    elif plan.warehouse and warehouse.display_url and plan.warehouse != warehouse.display_url:
        raise OtherWarehouseError("this plan", plan.warehouse, warehouse.display_url)


def registry_name(registry: RegistryLike) -> str:
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


def _planning(warehouse: Warehouse) -> tuple[DdlMaker[ViewInfo], dict[str, str] | None]:
    """(DDL maker, type categories): on PostgreSQL, batched compile checks and typcategory."""
    if warehouse.dialect == "postgres" and hasattr(warehouse, "column_types") and hasattr(warehouse, "read"):
        from deprecator.warehouse.postgres.probes import PlanningDdl, type_categories

        pg = cast("PostgresWarehouse", warehouse)   # what the checks above find: the PostgreSQL adapter
        return PlanningDdl(pg), type_categories(pg)
    return warehouse, None


def _compiles(ddl: DdlMaker[ViewInfo]) -> bool | None:
    """Whether the DDL maker can compile definitions on the warehouse (None: it has no compile checks)."""
    can = getattr(ddl, "can_probe", None)
    return bool(can()) if callable(can) else None


def plan_warehouse(warehouse: Warehouse, registry: RegistryLike) -> tuple[Plan, list[ViewInfo]]:
    """Read the warehouse and build the plan (also returns the views read)."""
    dialect = warehouse.dialect
    schema, catalog = tuple(warehouse.default_schema), warehouse.default_catalog
    rules = _rules(warehouse, registry)
    views = warehouse.list_views()
    columns = _relation_columns(warehouse, rules)
    ddl, categories = _planning(warehouse)
    plan = build_plan(views, rules, dialect, rules_fingerprint(rules), schema, catalog, warehouse.display_url,
                      relation_columns=columns, ddl=ddl, registry_parts=rule_parts(rules),
                      type_categories=categories, warehouse_id=warehouse_identity(warehouse))
    return dataclasses.replace(plan, compiled=_compiles(ddl)), views


def cross_check(warehouse: Warehouse, registry: RegistryLike, plan: Plan, views: Sequence[ViewInfo]) -> list[Any]:
    """Where the AST engine and the warehouse's dependency catalog disagree about ``plan``
    (``deprecator.warehouse.cross_check_plan``; ``[]`` for engines without one)."""
    return cross_check_plan(warehouse, [r.old for r in _rules(warehouse, registry)],
                            [v.relation for v in plan.views], views)


def stale_error(changes: Sequence[StaleChange | str]) -> StalePlanError:
    """The error listing ``changes``: records (kept on ``records``), or the warehouse's own sentences."""
    return StalePlanError(changes)


def check_plan(plan: Plan, warehouse: Warehouse, registry: RegistryLike,
               views_now: Sequence[ViewInfo], *, derive: bool = True) -> list[StaleChange]:
    """What keeps ``plan`` from being applied as it is, by name; empty when it still holds.

    One catalog read (``views_now``) and the rules' relations' columns. Every
    entry must carry its seal; the planned views are planned again from the
    live catalog and the registry, and every operation must be exactly the
    plan's (``derived_differences``). Views not in the plan are parsed only when
    their text names a deprecated or planned relation. The warehouse's identity
    is checked first, by ``check_warehouse`` (an error of its own, not a reason).
    """
    changes: list[StaleChange] = []
    if plan.dialect != warehouse.dialect:
        changes.append(other_dialect(plan.dialect, warehouse.dialect))
    rules = _rules(warehouse, registry)
    rules_changed = plan.registry_fingerprint != rules_fingerprint(rules)
    if rules_changed:
        changes.extend(registry_change_records(plan.registry_parts, rule_parts(rules), registry_name(registry)))
    for v in plan.views:
        problem = v.seal_problem()
        if problem is not None:
            changes.append(StaleChange("entry_edited", v.name, f"view {v.name} would now be rewritten differently: "
                                       f"its entry was edited after the plan was made ({problem})"))
    changed_views = view_changes(plan, views_now)
    changes.extend(changed_views)
    columns_now = _relation_columns(warehouse, rules)
    for rel, cols in plan.relations:
        cur_cols = columns_now[rel] if rel in columns_now else warehouse.relation_columns(rel)
        if (None if cur_cols is None else tuple(tuple(c) for c in cur_cols)) != cols:
            changes.append(StaleChange("replacement_columns", None,
                                       f"the columns of {rel} changed since the plan"
                                       if cur_cols is not None and cols is not None
                                       else f"{rel} was {'dropped' if cur_cols is None else 'created'} since the plan"))
    if derive and not rules_changed and plan.dialect == warehouse.dialect:
        # Beyond the seal: every operation must be what the planner derives now.
        changes.extend(_derived_changes(plan, warehouse, rules, views_now, columns_now,
                                        skip={c.view for c in changed_views}))
    changes.extend(_new_readers(plan, warehouse, rules, views_now))
    return changes


def _derived_changes(plan: Plan, warehouse: Warehouse, rules: Sequence[RewriteRule], views_now: Sequence[ViewInfo],
                     columns_now: Mapping[RelationName, Sequence[tuple[str, str]] | None], skip: set[str | None],
                     ) -> list[StaleChange]:
    """Plan the plan's views again from the live catalog and registry; every difference, by view.

    Only the planned views are planned again (views outside the plan are
    ``_new_readers``' concern); views already reported dropped or changed are
    not compared again.
    """
    planned = {v.relation for v in plan.views}
    ddl, categories = _planning(warehouse)
    out: list[StaleChange] = []
    now = _compiles(ddl)
    if plan.compiled is not None and now is not None and plan.compiled != now:
        out.append(StaleChange("compile_checks", None, (
            "the plan was made by a role that cannot create temporary views on this warehouse, so no rewritten "
            "definition was compiled and views that keep their columns are dropped and recreated instead of "
            "replaced in place; this role can: grant TEMPORARY on the database to the planning role and plan again"
            if now else
            "the plan was made by a role that compiles views (temporary views); this role cannot create them, so "
            "it would plan different statements: grant TEMPORARY on the database to this role")))
    fresh = build_plan([v for v in views_now if v.relation in planned], rules, warehouse.dialect, "",
                       tuple(warehouse.default_schema), warehouse.default_catalog,
                       relation_columns=columns_now, ddl=ddl, type_categories=categories)
    derived = {v.relation: v for v in fresh.views}
    seen: set[RelationName] = set()
    for v in plan.views:
        if v.relation in seen:
            out.append(StaleChange("rewritten_differently", v.name,
                                   f"view {v.name} has more than one entry in the plan"))
            continue
        seen.add(v.relation)
        if v.name not in skip:
            out.extend(derived_differences(v, derived.get(v.relation)))
    # the order statements run in is the plan's order of views: it must be the dependency order
    order = [v.relation for v in fresh.views if v.relation in seen]
    listed = [rel for rel in dict.fromkeys(v.relation for v in plan.views) if rel in derived]
    if listed != order:
        first = next(i for i, (a, b) in enumerate(zip(listed, order)) if a != b)
        out.append(StaleChange("rewritten_differently", None,
                               f"the plan lists view {listed[first]} where deprecator's dependency order has "
                               f"{order[first]}: its statements would run in another order"))
    return out


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


def apply_plan(plan: Plan, warehouse: Warehouse, registry: RegistryLike, state: StateStore, *,
               progress: Progress | None = None, derive: bool = True) -> ApplyResult:
    """Apply exactly ``plan``'s statements in one transaction; record the apply; return its id.

    ``progress`` hears what the apply is waiting for (a lock, a retry); the
    library itself never writes to the terminal. ``derive`` False skips
    planning the views again: only for a plan this process just made from
    this warehouse (never read from a file), whose fingerprints still hold.
    """
    check_warehouse(plan, warehouse)
    reconcile_pending(warehouse, state)
    views_now = warehouse.list_views()
    changes = check_plan(plan, warehouse, registry, views_now, derive=derive)
    if changes:
        raise stale_error(changes)
    blocked = tuple(v.name for v in plan.blocked)
    if not plan.has_changes:
        return ApplyResult(None, "apply", blocked=blocked)
    operations = plan.operations()
    statements = [op.sql for op in operations]
    # Rewritten views must answer; a dependent that was already broken is not ours to fix.
    broken = {v.relation for v in views_now if (v.extra or {}).get("error")}
    verify = [v.relation for v in plan.views
              if v.action in ("rewrite", "recreate") or (v.action == "unchanged" and v.relation not in broken)]
    before: dict[str, Any] = {}
    planned: dict[str, Any] = {}
    by_rel = {v.relation: v for v in views_now}
    for v in plan.changes:
        before[v.name] = {"relation": v.relation.to_json(), "definition": v.before, "fingerprint": v.fingerprint,
                          # typed, so a rollback runs (and estimates) them by kind
                          "statements": _ops_json(v.operations), "inverse": _ops_json(v.inverse_operations),
                          "drop": _ops_json(v.drop_operations), "inverse_drop": _ops_json(v.inverse_drop_operations),
                          **_snapshot(by_rel.get(v.relation)), **_identity_entry(warehouse)}
        planned[v.name] = {"relation": v.relation.to_json(), "definition": v.after, "fingerprint": None}
    # Journal first: a record exists before the warehouse can change, so a process
    # killed after the warehouse commit leaves a pending record to reconcile.
    apply_id = _record(state, warehouse=warehouse.display_url, statements=statements, before=before,
                       after=planned, kind="apply", status="pending")
    try:
        _execute(warehouse, state, apply_id, operations, verify, plan.fingerprints(), progress)
    except StalePlanError as e:
        # Changed between the check above and the write lock: say what changed, field by field.
        raise stale_error(view_changes(plan, warehouse.list_views()) or e.records or e.changes) from None

    after_views = {v.relation: v for v in warehouse.list_views()}
    after: dict[str, Any] = {}
    mismatches = []
    for v in plan.changes:
        now = after_views.get(v.relation)
        after[v.name] = {"relation": v.relation.to_json(), "definition": now.definition if now else None,
                         "fingerprint": now.fingerprint() if now else None, **_snapshot(now)}
        if now is None or not _holds(warehouse, v.after, now.definition):
            mismatches.append(v.name)
    _settle(state, apply_id, after)
    return ApplyResult(apply_id, "apply", tuple(v.name for v in plan.changes if v.action != "unchanged"), blocked,
                       tuple(statements), tuple(mismatches),
                       checked=tuple(v.name for v in plan.changes if v.action == "unchanged"))


def _holds(warehouse: Warehouse, planned: str, stored: str) -> bool:
    """Whether a view storing ``stored`` holds the ``planned`` text. Engines that re-spell a definition
    (PostgreSQL drops quotes a name does not need and lays the query out again) offer
    ``stored_definition``: the planned text as they would store it is compared, not its letters."""
    if stored == planned:
        return True
    respell = getattr(warehouse, "stored_definition", None)
    return respell is not None and respell(planned) == stored


def _ops_json(operations: Sequence[Operation]) -> list[dict[str, Any]]:
    return [op.to_json() for op in operations]


def _snapshot(view: ViewInfo | None) -> dict[str, Any]:
    """What the audit record keeps of a view besides its definition."""
    if view is None:
        return {}
    return {"kind": view.kind, "owner": view.owner, "grants": [list(g) for g in view.grants],
            "default_acl": view.default_acl,
            "comment": view.comment, "column_comments": dict(view.column_comments), "options": dict(view.options),
            "columns": [list(c) for c in view.columns], "extra": dict(view.extra)}


def _identity_entry(warehouse: Warehouse) -> dict[str, Any]:
    """The warehouse's identity, kept with each journalled view (rollback and reconcile match on it)."""
    identity = warehouse_identity(warehouse)
    return {"warehouse_id": identity} if identity else {}


INTERRUPTED = "interrupted"
# What a state store's write can fail with (database refusing, disk full, file unreadable); anything
# else is a bug and keeps its traceback.
_STATE_ERRORS = (SQLAlchemyError, OSError)


def _execute(warehouse: Warehouse, state: StateStore, apply_id: str, operations: Sequence[Operation],
             verify: Sequence[RelationName], expected: Mapping[RelationName, str | None],
             progress: Progress | None = None) -> None:
    try:
        kwargs: dict[str, Any] = {"progress": progress} if progress is not None else {}
        warehouse.execute_atomically(operations, verify=verify, expected=expected, **kwargs)
    except KeyboardInterrupt:
        # Ctrl-C: the transaction was rolled back, unless the interruption came after its commit;
        # the warehouse says which (an entry it cannot settle stays pending, to reconcile later).
        _settle_interrupted(warehouse, state, apply_id, expected)
        raise
    except BaseException as e:
        # The transaction rolled back: the journal entry records that nothing changed.
        try:
            state.finish_apply(apply_id, status="failed", error=redact(str(e)) or e.__class__.__name__)
        except _STATE_ERRORS:
            pass  # the warehouse error is the one worth reporting
        raise


def _settle_interrupted(warehouse: Warehouse, state: StateStore, apply_id: str,
                        expected: Mapping[RelationName, str | None]) -> None:
    try:
        now = {v.relation: v.fingerprint() for v in warehouse.list_views()}
        if all(now.get(rel) == fp for rel, fp in expected.items()):
            state.finish_apply(apply_id, status=INTERRUPTED,
                               error="interrupted (Ctrl-C) before the warehouse committed; nothing was changed")
    except BaseException:
        pass  # a second Ctrl-C, or the warehouse gone: the entry stays pending for reconcile_pending


def _settle(state: StateStore, apply_id: str, after: dict[str, Any]) -> None:
    try:
        state.finish_apply(apply_id, status="applied", after=after)
    except _STATE_ERRORS as e:
        raise DeprecatorError(
            f"the views were changed and committed, but the state store could not mark apply {apply_id} done: {e}",
            hint="`deprecator applies` reconciles a pending apply with the warehouse on its next run",
        ) from None


def _same_warehouse(rec: ApplyRecord, warehouse: Warehouse) -> bool:
    """Whether a journal entry was made on ``warehouse``: by identity when it kept one, else by (masked) URL."""
    kept = next((b["warehouse_id"] for b in rec.before.values() if isinstance(b, dict) and b.get("warehouse_id")),
                None)
    now = warehouse_identity(warehouse)
    if kept and now:
        return dict(kept) == now
    return bool(rec.warehouse == warehouse.display_url)


def journal_problem(rec: ApplyRecord, *, rollback: bool = False) -> str | None:
    """What is wrong with an apply's journal entry (a field missing or of the wrong type), or None.

    The entry is read back from the state store, which a person or another tool can edit:
    reconciliation (and, with ``rollback``, rollback, which reads more of it) checks what
    it reads before acting on any of it."""
    for side, entries in (("before", rec.before), ("after", rec.after)):
        if not isinstance(entries, Mapping):
            return f"its {side!r} record is not a mapping"
        for name, entry in entries.items():
            try:
                if not isinstance(entry, Mapping):
                    raise TypeError(f"the record is a {type(entry).__name__}, not a mapping")
                if side == "before" or "relation" in entry:
                    rel = RelationName.from_json(entry["relation"])
                if side == "before" and "fingerprint" not in entry:
                    raise KeyError("fingerprint")
                if side == "before" and rollback:
                    from_journal(entry["inverse"], rel)
                    from_journal(entry.get("inverse_drop", []), rel)
                    if not isinstance(entry.get("definition"), (str, type(None))):
                        raise TypeError("its definition is not text")
                if rollback:
                    _view_from_entry(entry)
            except KeyError as e:
                return f"view {name}: its {side!r} record has no {e.args[0]!r}"
            except (TypeError, ValueError, AttributeError, IndexError) as e:
                return f"view {name}: its {side!r} record: {e}"
    return None


def _damaged(apply_id: str, problem: str) -> DeprecatorError:
    return DeprecatorError(f"apply {apply_id}: its journal entry in the state store is damaged ({problem})",
                           hint="nothing was changed; restore the state store from a backup, or roll the views "
                                "back by hand from `deprecator applies --format json`")


def reconcile_pending(warehouse: Warehouse, state: StateStore) -> list[tuple[str, str]]:
    """Settle pending journal entries of this warehouse by looking at what it holds now.

    An entry stays pending only when a process stopped between writing it and
    settling it. If every view holds the planned definition the apply committed;
    if every view holds the previous one it did not. Returns (apply id, new status).
    """
    # a damaged entry stays pending (shown as such) rather than being settled from a misread
    pending = [r for r in state.list_applies()
               if r.status == "pending" and journal_problem(r) is None and _same_warehouse(r, warehouse)]
    if not pending:
        return []
    now = {v.relation: v for v in warehouse.list_views()}
    settled = []
    for rec in pending:
        current = {name: now.get(RelationName.from_json(b["relation"])) for name, b in rec.before.items()}
        if all(c is not None and c.definition == (rec.after.get(n) or {}).get("definition") for n, c in current.items()):
            after = {n: {"relation": rec.before[n]["relation"], "definition": c.definition,
                         "fingerprint": c.fingerprint(), **_snapshot(c)} for n, c in current.items() if c is not None}
            state.finish_apply(rec.id, status="applied", after=after)
            settled.append((rec.id, "applied"))
        elif all(c is not None and c.fingerprint() == b["fingerprint"] for (n, c), b in
                 zip(current.items(), rec.before.values())):
            state.finish_apply(rec.id, status="not applied", error="the process stopped before the warehouse committed")
            settled.append((rec.id, "not applied"))
    return settled


@dataclass(frozen=True)
class RollbackPlan:
    """A checked rollback, ready to run (``prepare_rollback``): what it restores, and what it discards."""

    apply_id: str
    record: ApplyRecord                           # the apply's journal entry
    views: tuple[str, ...]                        # the views it restores, in the apply's order
    operations: tuple[Operation, ...]
    verify: tuple[RelationName, ...]
    expected: Mapping[RelationName, str | None]   # each view as checked now (re-checked under the write lock)
    diff: str                                     # current -> restored definitions
    forced: tuple[StaleChange, ...] = ()          # changes made since the apply that --force discards
    left: tuple[str, ...] = ()                    # views of the apply it leaves as they are
    journal_before: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    journal_after: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def statements(self) -> tuple[str, ...]:
        """The SQL of ``operations``, in order."""
        return tuple(op.sql for op in self.operations)


FORCE_RISK = ("--force restores these views as they were before the apply anyway: the changes listed are lost "
              "(definitions, grants, owner and comments go back to their state before the apply)")
SELECT_RISK = ("--view NAME (repeatable) rolls back only the views named; the others keep the apply's rewrite, "
               "and a view whose restore drops a view built on it needs that view named too (else nothing changes)")


def _status_refusal(apply_id: str, rec: ApplyRecord) -> DeprecatorError:
    why = {
        "failed": "it failed, so nothing of it was committed",
        INTERRUPTED: "it was interrupted before the warehouse committed, so nothing of it was committed",
        "not applied": "the process stopped before the warehouse committed, so nothing of it was committed",
        "pending": "its outcome is not known yet (`deprecator applies` settles it by looking at the warehouse)",
    }.get(rec.status, "")
    return DeprecatorError(f"apply {apply_id} is {rec.status}: there is nothing of it to roll back"
                           + (f" ({why})" if why else "") + (f"; error: {rec.error}" if rec.error else ""))


def _view_from_entry(entry: Mapping[str, Any]) -> ViewInfo | None:
    """The view a journal entry recorded (None when the entry kept only its definition)."""
    if "grants" not in entry:
        return None
    return ViewInfo(
        relation=RelationName.from_json(entry["relation"]), definition=entry.get("definition") or "",
        kind=entry.get("kind", "view"),
        owner=entry.get("owner"), comment=entry.get("comment"), column_comments=dict(entry.get("column_comments") or {}),
        grants=tuple(tuple(g) for g in entry["grants"]), options=dict(entry.get("options") or {}),
        columns=tuple((str(c[0]), str(c[1])) for c in entry.get("columns") or ()), extra=dict(entry.get("extra") or {}),
        default_acl=bool(entry.get("default_acl")))


def _since_apply(name: str, entry: Mapping[str, Any], cur: ViewInfo, apply_id: str) -> StaleChange | None:
    """What of ``cur`` differs from the journal's record of it after the apply, field by field."""
    recorded = _view_from_entry(entry)
    if recorded is None:
        if cur.fingerprint() == entry.get("fingerprint"):
            return None
        return StaleChange("view_changed", name, f"view {name} was changed since apply {apply_id}")
    fields = changed_fields(effective_parts(recorded), effective_parts(cur))
    if not fields:
        return None
    text = fields[0] if len(fields) == 1 else ", ".join(fields[:-1]) + " and " + fields[-1]
    return StaleChange("view_changed", name, f"{text} of view {name} changed since apply {apply_id}")


def prepare_rollback(apply_id: str, warehouse: Warehouse, state: StateStore, *, force: bool = False,
                     views: Sequence[str] | None = None) -> RollbackPlan:
    """Check that apply ``apply_id`` can be rolled back now and say exactly how; change nothing.

    Refuses (before anything is shown or asked) an apply that failed, was
    interrupted or was already rolled back, one made on another warehouse, and
    views changed since the apply (``RollbackRefused``, naming the field),
    unless ``force``. ``views`` limits the rollback to those views.
    """
    rec = state.get_apply(apply_id)
    if rec.status not in ("applied", "pending"):     # settled for good: say so before touching anything
        raise _status_refusal(apply_id, rec)
    reconcile_pending(warehouse, state)
    rec = state.get_apply(apply_id)
    problem = journal_problem(rec, rollback=True)
    if problem is not None:
        raise _damaged(apply_id, problem)
    if rec.status != "applied":
        raise _status_refusal(apply_id, rec)
    done = {n: r.id for r in state.list_applies() if r.rollback_of == apply_id and r.status == "applied"
            for n in r.before}
    if rec.rolled_back_by and not done:          # entries written before partial rollbacks existed
        done = {n: rec.rolled_back_by for n in rec.before}
    remaining = [n for n in rec.before if n not in done]
    if not remaining:
        ids = sorted(set(done.values()))
        raise DeprecatorError(f"apply {apply_id} was already rolled back by {', '.join(ids)}",
                              hint=" and ".join(f"`deprecator rollback {i}`" for i in ids)
                              + f" re-appl{'ies' if len(ids) == 1 else 'y'} it")
    if not _same_warehouse(rec, warehouse):
        kept = next((b.get("warehouse_id") for b in rec.before.values() if b.get("warehouse_id")), None)
        here = warehouse_identity(warehouse)
        raise OtherWarehouseError(
            f"apply {apply_id}",
            (describe_warehouse(kept) + f" ({rec.warehouse})") if kept else rec.warehouse,
            (describe_warehouse(here) + f" ({warehouse.display_url})") if kept and here else warehouse.display_url,
            hint="roll it back with the configuration of the warehouse it was applied to")
    selected = remaining
    if views:
        wanted = list(dict.fromkeys(views))
        unknown = [n for n in wanted if n not in rec.before]
        if unknown:
            raise DeprecatorError(f"apply {apply_id} did not change {', '.join(unknown)}",
                                  hint="its views: " + ", ".join(rec.before))
        again = [n for n in wanted if n in done]
        if again:
            raise DeprecatorError(f"apply {apply_id}: {', '.join(again)} "
                                  f"{'was' if len(again) == 1 else 'were'} already rolled back by "
                                  + ", ".join(sorted({done[n] for n in again})))
        selected = [n for n in rec.before if n in wanted]
    now = {v.relation: v for v in warehouse.list_views()}
    changes: list[StaleChange] = []
    dropped: list[StaleChange] = []
    expected: dict[RelationName, str | None] = {}
    per_view: list[tuple[tuple[Operation, ...], tuple[Operation, ...]]] = []
    restore: list[Operation] = []
    verify: list[RelationName] = []
    restore_of = getattr(warehouse, "restore_operations", None)
    diffs = []
    for name in selected:
        b = rec.before[name]
        rel = RelationName.from_json(b["relation"])
        cur = now.get(rel)
        if cur is None:
            dropped.append(view_dropped(name, f" since apply {apply_id}"))
            continue
        change = _since_apply(name, rec.after.get(name, {}), cur, apply_id)
        if change is not None:
            changes.append(change)
        expected[rel] = cur.fingerprint()
        per_view.append((from_journal(b.get("inverse_drop", []), rel), from_journal(b["inverse"], rel)))
        verify.append(rel)
        kept_view = _view_from_entry(b)
        if restore_of is not None and kept_view is not None:
            # grants, owner and comments exactly as before the apply: whatever was added since is revoked
            restore.extend(restore_of(kept_view))
        diffs.append(unified_diff(cur.definition, b["definition"] or "", name, ("current", "restored")))
    if dropped:
        raise RollbackRefused(apply_id, dropped + changes,
                              hint="a dropped view cannot be restored by a rollback; " + SELECT_RISK)
    if changes and not force:
        raise RollbackRefused(apply_id, changes, hint=f"{FORCE_RISK}. Or: {SELECT_RISK}")
    operations = ordered_statements(per_view) + restore
    journal_after = {name: {"relation": rec.before[name]["relation"], "definition": rec.before[name]["definition"],
                            "fingerprint": None} for name in selected}
    journal_before = {name: {**{k: x for k, x in rec.after[name].items()
                                if k not in ("relation", "definition", "fingerprint")},
                             "relation": rec.before[name]["relation"], "definition": rec.after[name]["definition"],
                             "fingerprint": rec.after[name]["fingerprint"],
                             "statements": list(rec.before[name]["inverse"]),
                             "inverse": list(rec.before[name]["statements"]),
                             "drop": list(rec.before[name].get("inverse_drop", [])),
                             "inverse_drop": list(rec.before[name].get("drop", [])), **_identity_entry(warehouse)}
                      for name in selected}
    return RollbackPlan(apply_id, rec, tuple(selected), tuple(operations), tuple(verify), expected,
                        "\n".join(d for d in diffs if d), forced=tuple(changes),
                        left=tuple(n for n in rec.before if n not in selected), journal_before=journal_before,
                        journal_after=journal_after)


def run_rollback(prepared: RollbackPlan, warehouse: Warehouse, state: StateStore, *,
                 progress: Progress | None = None) -> ApplyResult:
    """Run a prepared rollback in one transaction (refused if a view changed since it was prepared)."""
    rec = prepared.record
    new_id = _record(state, warehouse=warehouse.display_url, statements=prepared.statements,
                     before=dict(prepared.journal_before), after=dict(prepared.journal_after), kind="rollback",
                     rollback_of=prepared.apply_id, status="pending")
    _execute(warehouse, state, new_id, prepared.operations, prepared.verify, prepared.expected, progress)

    restored = {v.relation: v for v in warehouse.list_views()}
    new_after: dict[str, Any] = {}
    mismatches = []
    for name in prepared.views:
        b = rec.before[name]
        v = restored.get(RelationName.from_json(b["relation"]))
        new_after[name] = {"relation": b["relation"], "definition": v.definition if v else None,
                           "fingerprint": v.fingerprint() if v else None, **_snapshot(v)}
        if v is None or v.definition != b["definition"]:
            mismatches.append(name)
    _settle(state, new_id, new_after)
    return ApplyResult(new_id, "rollback", prepared.views, (), prepared.statements, tuple(mismatches))


def rollback_apply(apply_id: str, warehouse: Warehouse, state: StateStore, *, force: bool = False,
                   views: Sequence[str] | None = None, progress: Progress | None = None) -> ApplyResult:
    """Restore the definitions (and grants, owner, comments) an apply replaced, atomically;
    refused if the views changed since, unless ``force`` (``prepare_rollback``)."""
    return run_rollback(prepare_rollback(apply_id, warehouse, state, force=force, views=views), warehouse, state,
                        progress=progress)


def _record(state: StateStore, **kwargs: Any) -> str:
    # Written before the warehouse is touched: if the journal cannot be written, nothing changes.
    try:
        return state.record_apply(**kwargs)
    except _STATE_ERRORS as e:
        raise DeprecatorError(
            f"the state store could not record the apply, so nothing was changed: {e}",
            hint="check `state.url` in deprecator.yml",
        ) from None
