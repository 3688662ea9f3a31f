"""``build_plan`` and its steps: find the affected views, rewrite them, block what cannot be rewritten."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any, Callable, Generic, Iterable, Mapping, Sequence, TypeVar

# Views are parsed through ``deprecator.plan.analyze`` (the package's name for it), so that
# what patches it there (tests counting the parses) still sees every parse.
import deprecator.plan as _package
from deprecator.graph import dependency_order
from deprecator.operations import DdlContext, Operation
from deprecator.plan.model import Action, DdlMaker, Plan, PlanBlocker, ViewLike, ViewPlan, ViewRecord
from deprecator.plan.render import unified_diff
from deprecator.plan.staleness import view_parts
from deprecator.prefilter import TextIndex, name_needles
from deprecator.sql import rewrite
from deprecator.sql.analysis import Analysis
from deprecator.sql.model import Blocker, Reference, RelationName, RewriteResult, RewriteRule
from deprecator.sql.names import column_text_name
from deprecator.sql.references import to_references
from deprecator.sql.types import incompatible

# The engine's view type (ViewInfo): ``build_plan`` hands its ``ddl`` only views of the type it was given.
ViewT = TypeVar("ViewT", bound=ViewRecord)

def _type_blockers(
    refs: Iterable[Reference], rule: RewriteRule, old_cols: Sequence[tuple[str, str]] | None,
    new_cols: Sequence[tuple[str, str]] | None, categories: Mapping[str, str],
) -> list[PlanBlocker]:
    """Columns the view uses whose replacement (after the ``columns:`` mapping) has an incompatible type."""
    if not categories or not old_cols or not new_cols:
        return []
    label = rule.label or str(rule.old)
    old_t = {c.casefold(): t for c, t in old_cols}
    new_t = {c.casefold(): (c, t) for c, t in new_cols}
    mapping = {k.casefold(): v for k, v in rule.columns.items()}
    out: list[PlanBlocker] = []
    seen: set[str] = set()
    for ref in refs:
        for col in sorted(ref.columns or ()):
            key = col.casefold()
            target = mapping.get(key, col)
            if key in seen or key not in old_t or target.casefold() not in new_t:
                continue
            new_name, new_type = new_t[target.casefold()]
            if incompatible(old_t[key], new_type, categories):
                seen.add(key)
                renamed = f" (mapped to {new_name})" if new_name.casefold() != key else ""
                out.append(PlanBlocker(kind="column_type",
                    reason=(f"column {col}{renamed} has an incompatible type in the replacement {rule.new}: "
                            f"{old_t[key]} in {rule.old}, {new_type} in {rule.new}"),
                    unblock=(f"give {new_name} a compatible type in {rule.new}, cast it in the view by hand, "
                             f"or map {col} to another column under `columns:` of {label}"),
                    deprecation=label, line=ref.line, column=ref.column,
                ))
    return out


def _output_type_blockers(view: ViewLike, new_types: Sequence[str] | None,
                          categories: Mapping[str, str]) -> list[PlanBlocker]:
    """Output columns of the rewritten view whose type changes category."""
    if not categories or new_types is None:
        return []
    out = []
    for (col, old_type), new_type in zip(getattr(view, "columns", ()), new_types):
        if incompatible(old_type, new_type, categories):
            out.append(PlanBlocker(kind="output_type",
                reason=f"after the rewrite, column {col} of the view would change type from {old_type} to {new_type}",
                unblock=f"cast {col} back to {old_type} in the view by hand, or give the replacement a compatible type",
            ))
    return out



# -- building -----------------------------------------------------------------


def rule_for(rel: RelationName, rules: Sequence[RewriteRule]) -> RewriteRule | None:
    for r in rules:
        if r.old == rel or r.old.matches(rel):
            return r
    return None


def enrich_rules(
    rules: Sequence[RewriteRule], relation_columns: Mapping[RelationName, Sequence[tuple[str, str]] | None]
) -> list[RewriteRule]:
    """Fill each rule's known column lists from the warehouse (lets the rewriter prove ``SELECT *`` safe)."""
    out = []
    for r in rules:
        old = relation_columns.get(r.old)
        new = relation_columns.get(r.new)
        out.append(dataclasses.replace(
            r,
            old_columns=r.old_columns if r.old_columns is not None or old is None else tuple(c for c, _ in old),
            new_columns=r.new_columns if r.new_columns is not None or new is None else tuple(c for c, _ in new),
        ))
    return out


# The planner's own blocker kinds (``PlanBlocker.kind``; the rewriter's are ``BlockerKind``).
PLAN_BLOCKER_KINDS = ("unparsed", "broken_view", "managed", "self_reference", "missing_replacement", "missing_column",
                      "column_type", "output_type", "compile_error", "nothing_to_rewrite")

# What unblocks each kind of rewriter blocker that has a hint of its own.
_UNBLOCK_BY_KIND = {
    "select_star": "list the columns explicitly instead of SELECT *, or make the replacement's columns match",
    "ambiguous_column": "qualify the column with its table or alias so it resolves to one relation",
}
_UNBLOCK_BY_HAND = "edit the view by hand so it no longer needs this rewrite, then run `deprecator plan` again"


def _removed_spelling(column: str, rule: RewriteRule) -> str | None:
    """How the registry spells ``column`` under the rule's ``removed_columns`` (None: not removed)."""
    for col in sorted(rule.removed_columns):
        name = col[1:-1] if len(col) > 1 and col[0] == col[-1] and col[0] in '"`' else col   # "Legacy Flag"
        if name.casefold() == column.casefold():
            return col
    return None


def _unblock_hint(b: Blocker, rules: Sequence[RewriteRule]) -> str:
    """What would unblock a rewriter blocker: by its kind, and the column it concerns when that is removed."""
    if b.column_name is not None:
        rule = _rule_for_label(b.relation, rules)
        for r in ([rule] if rule is not None else []) + [r for r in rules if r is not rule]:
            col = _removed_spelling(b.column_name, r)
            if col is not None:
                return (f"{col} has no equivalent in the replacement {r.new}: remove it from the view "
                        f"or add a mapping for it under `columns:` in the registry")
    return _UNBLOCK_BY_KIND.get(b.kind, _UNBLOCK_BY_HAND)


def _column_blockers(
    refs: Iterable[Reference], rule: RewriteRule, new_cols: Sequence[tuple[str, str]] | None, known: bool
) -> list[PlanBlocker]:
    label = rule.label or str(rule.old)
    if not known:
        return []
    if new_cols is None:
        return [PlanBlocker(kind="missing_replacement",
            reason=f"the replacement {rule.new} does not exist in the warehouse",
            unblock=f"create {rule.new} first, or fix `replacement:` of {label} in the registry",
            deprecation=label,
        )]
    have = {c.casefold() for c, _ in new_cols}
    removed = {c.casefold() for c in rule.removed_columns}
    mapping = {k.casefold(): v for k, v in rule.columns.items()}
    out: list[PlanBlocker] = []
    seen: set[str] = set()
    for ref in refs:
        if ref.columns is None:
            continue
        for col in sorted(ref.columns):
            key = col.casefold()
            if key in removed or key in seen:
                continue
            target = mapping.get(key, col)
            if target.casefold() not in have:
                seen.add(key)
                renamed = f" (mapped to {target})" if target != col else ""
                out.append(PlanBlocker(kind="missing_column",
                    reason=f"column {col}{renamed} does not exist in the replacement {rule.new}",
                    unblock=(f"add {target} to {rule.new}, map {col} under `columns:` of {label}, "
                             f"or list it in `removed_columns:`"),
                    deprecation=label, line=ref.line, column=ref.column,
                ))
    return out


def only_checks(drop: Sequence[Operation], operations: Sequence[Operation]) -> bool:
    """True when the DDL only checks a view (``guard`` operations) and changes nothing."""
    return not drop and bool(operations) and all(op.kind == "guard" for op in operations)


def _ddl(ddl: DdlMaker[ViewT], view: ViewT, definition: str,
         context: DdlContext[ViewT]) -> tuple[tuple[Operation, ...], tuple[Operation, ...]]:
    """(drop, create) operations that give ``view`` the text ``definition``; only a two-phase
    engine has drops of their own (its leading ``drop_view`` operations)."""
    ops = tuple(ddl.view_operations(view, definition, context))
    if not ddl.two_phase:
        return (), ops
    n = next((i for i, op in enumerate(ops) if op.kind != "drop_view"), len(ops))
    return ops[:n], ops[n:]


def build_plan(
    views: Sequence[ViewT],
    rules: Sequence[RewriteRule],
    dialect: str,
    registry_fingerprint: str,
    default_schema: Sequence[str] = (),
    default_catalog: str | None = None,
    warehouse_label: str = "",
    *,
    relation_columns: Mapping[RelationName, Sequence[tuple[str, str]] | None] | None = None,
    ddl: DdlMaker[ViewT] | None = None,
    registry_parts: Mapping[str, str] | None = None,
    type_categories: Mapping[str, str] | None = None,
    warehouse_id: Mapping[str, str] | None = None,
) -> Plan:
    """Plan the rewrite of every view reading a deprecated relation, directly or through other views.

    ``relation_columns`` maps the rules' old and new relations to their columns
    (None: does not exist); relations missing from it are not checked.
    ``ddl`` makes the statements from ``views`` (or copies of them with another
    definition); without it the plan has diffs but no DDL. When
    it also compiles definitions (``CheckingDdl``), a rewritten view that would
    not compile is a blocker. ``type_categories`` maps base type names to the
    engine's category (PostgreSQL ``typcategory``): a column whose type changes
    category is a blocker. ``registry_parts``: a fingerprint per deprecation.
    Affected views that read each other raise ``ViewCycleError`` (no order exists).
    """
    columns = dict(relation_columns or {})
    inputs = _Inputs(
        dialect=dialect, default_schema=tuple(default_schema), default_catalog=default_catalog,
        rules=enrich_rules(rules, columns), relation_columns=columns, categories=dict(type_categories or {}),
        ddl=ddl, compile_error=getattr(ddl, "compile_error", None), column_types=getattr(ddl, "column_types", None),
    )
    found = _discover(views, inputs)
    # level by level, each level by name, so plans are stable; views reading each other: ViewCycleError
    order = dependency_order(found.affected, found.reads, key=lambda r: r)
    # First pass, in dependency order: blockers and the rewritten text of each view.
    drafts = {rel: _draft(rel, found, inputs) for rel in order}
    # The engine may compile every rewritten definition at once before being asked for DDL.
    prepare = getattr(ddl, "prepare", None)
    if prepare is not None:
        prepare([d.rewritten.text for d in drafts.values() if d.rewritten is not None and not d.blockers])
    # Second pass, in dependency order: compile checks, then the DDL.
    entries: list[ViewPlan] = []
    touched: dict[RelationName, Action] = {}        # views whose entry runs statements
    # Per direction (forward, inverse): the views the plan drops, or that read one (directly or not);
    # the engine must restate owner, grants and comments of a view reading one (``DdlContext``).
    below: tuple[set[RelationName], set[RelationName]] = (set(), set())
    for rel in order:
        upstream = {str(u): touched[u] for u in sorted(found.reads.get(rel, set()) & set(touched), key=str)}
        reads = (found.reads.get(rel, set()) & found.affected) - {rel}
        dropped = (bool(reads & below[0]), bool(reads & below[1]))
        entry = _entry(found.views[rel], drafts[rel], inputs, upstream, dropped)
        if entry.operations or entry.drop_operations:
            touched[rel] = entry.action
        for i, ops in enumerate((entry.drop_operations + entry.operations,
                                 entry.inverse_drop_operations + entry.inverse_operations)):
            if dropped[i] or any(op.kind == "drop_view" and op.relation == rel for op in ops):
                below[i].add(rel)
        entries.append(entry)
    return Plan(
        dialect=dialect, warehouse=warehouse_label, registry_fingerprint=registry_fingerprint,
        views=tuple(entries), default_schema=inputs.default_schema, default_catalog=default_catalog,
        registry_parts=dict(registry_parts or {}), relations=_relations(columns),
        warehouse_id=dict(warehouse_id or {}),
    )


@dataclass(frozen=True)
class _Inputs(Generic[ViewT]):
    """What every step of ``build_plan`` reads, normalised once."""

    dialect: str
    default_schema: tuple[str, ...]
    default_catalog: str | None
    rules: Sequence[RewriteRule]          # with the relations' known columns (``enrich_rules``)
    relation_columns: Mapping[RelationName, Sequence[tuple[str, str]] | None]
    categories: Mapping[str, str]
    ddl: DdlMaker[ViewT] | None
    # CheckingDdl's optional methods, when the engine has them
    compile_error: Callable[[str], str | None] | None
    column_types: Callable[[str], Sequence[str] | None] | None


@dataclass(frozen=True)
class _Affected(Generic[ViewT]):
    """What discovery found: the affected views, and what each parsed view reads."""

    views: Mapping[RelationName, ViewT]                    # every view, by relation
    affected: frozenset[RelationName]                      # the views the plan covers
    reads: Mapping[RelationName, set[RelationName]]        # parsed view -> relations it reads (resolved)
    refs: Mapping[RelationName, tuple[Reference, ...]]     # parsed view -> its source references
    analyses: Mapping[RelationName, Analysis]              # parsed view -> its analysis (reused by rewrite)
    unparsed: Mapping[RelationName, str]                   # view -> why the parser could not read it
    direct: Mapping[RelationName, list[RewriteRule]]       # view -> the rules whose old relation it reads


@dataclass(frozen=True)
class _Draft:
    """A view after the first pass; the second pass may still add (compile) blockers."""

    base: Mapping[str, Any]               # the ViewPlan fields every action shares
    blockers: list[PlanBlocker]
    rewritten: RewriteResult | None = None   # None when the view was not rewritten


def _resolver(by_rel: Mapping[RelationName, ViewLike]) -> Callable[[RelationName], RelationName]:
    by_name: dict[tuple[str | None, str], list[RelationName]] = {}
    for rel in by_rel:
        by_name.setdefault((rel.schema, rel.name), []).append(rel)

    def resolve(rel: RelationName) -> RelationName:
        """The view a reference names (catalog may be omitted on either side), else itself."""
        if rel in by_rel:
            return rel
        for cand in by_name.get((rel.schema, rel.name), ()):
            if cand.matches(rel):
                return cand
        return rel

    return resolve


def _discover(views: Sequence[ViewT], inputs: _Inputs[ViewT]) -> _Affected[ViewT]:
    """The views reading a deprecated relation, directly or through other views.

    A view can read a deprecated or affected relation only if its text names it, so
    only those views are parsed (each once); the set grows as views become affected.
    """
    by_rel = {v.relation: v for v in views}
    resolve = _resolver(by_rel)
    reads: dict[RelationName, set[RelationName]] = {}
    refs_of: dict[RelationName, tuple[Reference, ...]] = {}
    unparsed: dict[RelationName, str] = {}
    analyses: dict[RelationName, Analysis] = {}
    readers: dict[RelationName, list[RelationName]] = {}
    direct: dict[RelationName, list[RewriteRule]] = {}
    index = TextIndex()
    needles: set[str] = {n for r in inputs.rules for n in name_needles(r.old.name)}
    if inputs.dialect == "bigquery":
        needles.add("*`")    # a wildcard table (`p.d.events_*`) may read a deprecated table it does not name
    searched: set[str] = set()
    affected: set[RelationName] = set()
    while True:
        fresh = needles - searched
        if not fresh:
            break
        searched |= fresh
        todo = [v for v in views if v.relation not in analyses and index.mentions(v.relation, v.definition, fresh)]
        for v in todo:
            an = _package.analyze(v.definition, inputs.dialect, inputs.default_schema, inputs.default_catalog)
            analyses[v.relation] = an
            if an.status != "parsed":
                unparsed[v.relation] = an.error or f"the parser could not fully read the definition ({an.status})"
            srcs = tuple(r for r in to_references(an) if r.role == "read")
            refs_of[v.relation] = srcs
            reads[v.relation] = {resolve(r.relation) for r in srcs} - {v.relation}
            for src in reads[v.relation]:
                readers.setdefault(src, []).append(v.relation)
            hit = _rules_read(srcs, inputs.rules)
            if hit:
                direct[v.relation] = hit
        # everything reading an affected view, transitively; a view we cannot parse is
        # affected when its text could name anything affected (it mentions a needle)
        stack = list(direct) + list(unparsed) + [v.relation for v in todo if reads[v.relation] & affected]
        while stack:
            rel = stack.pop()
            if rel not in affected:
                affected.add(rel)
                stack.extend(readers.get(rel, ()))
        for rel in affected:
            needles.update(name_needles(rel.name))
    return _Affected(views=by_rel, affected=frozenset(affected), reads=reads, refs=refs_of, analyses=analyses,
                     unparsed=unparsed, direct=direct)


def _rules_read(refs: Iterable[Reference], rules: Sequence[RewriteRule]) -> list[RewriteRule]:
    """The rules whose old relation ``refs`` name, each once, in the order first named."""
    hit: list[RewriteRule] = []
    for r in refs:
        # a wildcard table (BigQuery) reads every deprecated table its pattern covers
        named = [x for x in rules if r.covers(x.old)] if getattr(r, "wildcard", False) else [
            rule_for(r.relation, rules)]
        for rule in named:
            if rule is not None and rule not in hit:
                hit.append(rule)
    return hit


def _draft(rel: RelationName, found: _Affected[ViewT], inputs: _Inputs[ViewT]) -> _Draft:
    """First pass for one view: what blocks it as it is, then its rewrite and what blocks that."""
    v = found.views[rel]
    rel_rules = found.direct.get(rel, [])
    base: dict[str, Any] = dict(
        relation=rel, before=v.definition, after=v.definition, fingerprint=v.fingerprint(),
        deprecated=tuple(r.label or str(r.old) for r in rel_rules),
        via=tuple(sorted(str(u) for u in found.reads[rel] & found.affected)), parts=view_parts(v))
    blockers = _view_blockers(v, found.unparsed.get(rel), bool(rel_rules))
    if blockers or not rel_rules:
        return _Draft(base, blockers)
    for rule in rel_rules:
        blockers.extend(_rule_blockers(rel, rule, found.refs[rel], inputs))
    rr = rewrite(v.definition, inputs.dialect, inputs.rules, default_schema=inputs.default_schema,
                 default_catalog=inputs.default_catalog, analysis=found.analyses[rel])
    blockers.extend(_rewriter_blockers(rr, rel_rules))
    if not blockers and (not rr.edits or rr.text == v.definition):
        blockers.append(PlanBlocker(kind="nothing_to_rewrite",
            reason="the view reads " + ", ".join(base["deprecated"]) + " but the rewriter found nothing to change",
            unblock="rewrite this view by hand, then run `deprecator plan` again",
        ))
    return _Draft(base, blockers, rr)


def _view_blockers(v: ViewLike, unparsed: str | None, reads_deprecated: bool) -> list[PlanBlocker]:
    """What blocks a view before any rewrite: unparsable, already broken (when rewritten), or managed elsewhere."""
    blockers: list[PlanBlocker] = []
    if unparsed is not None:
        blockers.append(PlanBlocker(kind="unparsed",
            reason=f"the definition could not be parsed: {unparsed}",
            unblock="rewrite this view by hand (or report the parser gap), then run `deprecator plan` again",
        ))
    broken = (getattr(v, "extra", None) or {}).get("error")
    if broken and reads_deprecated:
        blockers.append(PlanBlocker(kind="broken_view",
            reason=f"the view does not answer even now: {broken}",
            unblock="fix or drop the view first (a rewrite could not be verified), then plan again",
        ))
    if v.managed_by:
        blockers.append(PlanBlocker(kind="managed",
            reason=f"managed by {v.managed_by}: a change in the warehouse would be overwritten on its next run",
            unblock=(f"change the model in {v.managed_by} instead"
                     + (": `deprecator dbt codemod PROJECT_DIR --manifest target/manifest.json` rewrites the refs "
                        "to deprecated models in the dbt project (a diff to review, or --write)"
                        if v.managed_by == "dbt" else "")),
        ))
    return blockers


def _plain_column_names(rule: RewriteRule, dialect: str) -> RewriteRule:
    """The rule with its registry column spellings (``"Cust ID"``, ``CustID``) as the names the
    catalog lists (``Cust ID``, ``custid``), for comparing with the catalog's columns."""
    def name(spelling: str) -> str:
        try:
            return column_text_name(spelling, dialect)
        except ValueError:   # the registry refuses such a spelling; compare it as typed
            return spelling
    return dataclasses.replace(rule, columns={name(k): name(v) for k, v in rule.columns.items()},
                               removed_columns=frozenset(name(c) for c in rule.removed_columns))


def _rule_blockers(rel: RelationName, rule: RewriteRule, refs: Sequence[Reference],
                   inputs: _Inputs[ViewT]) -> list[PlanBlocker]:
    """What blocks rewriting ``rel`` by one rule: reading its own replacement, or columns and types it lacks."""
    if rule.new == rel or rule.new.matches(rel):
        return [PlanBlocker(kind="self_reference",
            reason=f"this view is the replacement of {rule.label or rule.old} and reads it: "
                   "rewriting it would make it read itself",
            unblock=f"build {rel} from the sources of {rule.label or rule.old} instead, then plan again",
            deprecation=rule.label or str(rule.old),
        )]
    cols = inputs.relation_columns
    rule_refs = [r for r in refs if r.relation == rule.old or rule.old.matches(r.relation)]
    rule = _plain_column_names(rule, inputs.dialect)
    return (_column_blockers(rule_refs, rule, cols.get(rule.new), rule.new in cols)
            + _type_blockers(rule_refs, rule, cols.get(rule.old), cols.get(rule.new), inputs.categories))


def _rewriter_blockers(rr: RewriteResult, rules: Sequence[RewriteRule]) -> list[PlanBlocker]:
    """What the rewriter could not do, each tied to the deprecation it concerns."""
    blockers: list[PlanBlocker] = []
    if rr.status != "parsed":
        blockers.append(PlanBlocker(kind="unparsed",
            reason=f"the rewriter could not parse the definition: {rr.error or rr.status}",
            unblock="rewrite this view by hand, then run `deprecator plan` again",
        ))
    for b in rr.blockers:
        rule = _rule_for_label(b.relation, rules)
        blockers.append(PlanBlocker(
            reason=b.reason, unblock=_unblock_hint(b, rules),
            deprecation=(rule.label or str(rule.old)) if rule else b.relation, line=b.line, column=b.column,
            kind=b.kind,
        ))
    return blockers


def _entry(v: ViewT, draft: _Draft, inputs: _Inputs[ViewT], upstream: Mapping[str, Action],
           dropped: tuple[bool, bool] = (True, True)) -> ViewPlan:
    """Second pass for one view: compile checks, then its entry with the DDL.

    ``upstream``: the affected views it reads that the plan touches (runs statements
    for), with their action; a dependent of views the plan leaves alone needs nothing.
    ``dropped``: whether an earlier entry drops a view it reads (forward, inverse).
    """
    blockers, rr = draft.blockers, draft.rewritten
    if rr is None and not blockers:
        # its operations serve both directions: restate if a view it reads is dropped in either
        context = DdlContext(upstream_dropped=dropped[0] or dropped[1], current=v)
        return _dependent_entry(v, draft.base, inputs.ddl, upstream, context)
    # from here on, a view without a rewrite has blockers (``_draft`` stopped at them)
    if rr is not None and not blockers and inputs.compile_error is not None:
        blockers.extend(_compile_blockers(v, rr.text, inputs.compile_error, inputs))
    if rr is None or blockers:
        return _sealed(ViewPlan(action="blocked", blockers=tuple(blockers), **draft.base))
    return _rewrite_entry(v, draft.base, rr.text, inputs.ddl, dropped)


def _compile_blockers(v: ViewLike, text: str, compile_error: Callable[[str], str | None],
                      inputs: _Inputs[ViewT]) -> list[PlanBlocker]:
    """The rewritten definition must compile on the warehouse, and keep its output columns' type categories."""
    error = compile_error(text)
    if error:
        # the first line is the engine's message; the rest points into the probe's text
        message = error.strip().splitlines()[0].strip()
        message = re.sub(r"^ERROR:\s+", "", message) or error.strip()
        return [PlanBlocker(kind="compile_error",
            reason=f"the rewritten definition does not compile on the warehouse: {message}",
            unblock="make the replacement provide what the view needs (columns, types), "
                    "or rewrite this view by hand, then plan again",
        )]
    if inputs.column_types is not None:
        return _output_type_blockers(v, inputs.column_types(text), inputs.categories)
    return []


def _dependent_entry(v: ViewT, base: Mapping[str, Any], ddl: DdlMaker[ViewT] | None,
                     upstream: Mapping[str, Action], context: DdlContext[ViewT]) -> ViewPlan:
    """A view that only reads affected views: recreated, checked in place, or left alone."""
    via = base["via"]
    if ddl is not None and ddl.recreate_dependents and upstream:
        r_drop, r_stmts = _ddl(ddl, v, v.definition, context)
        if only_checks(r_drop, r_stmts):
            # what it reads is replaced in place: nothing is recreated, the guard only checks it is there
            replaced = [n for n, a in upstream.items() if a != "unchanged"]
            how = (f"reads {', '.join(replaced)}, replaced in place" if replaced
                   else f"reads {', '.join(upstream)}, which {'is' if len(upstream) == 1 else 'are'} only checked")
            return _sealed(ViewPlan(action="unchanged", operations=r_stmts, inverse_operations=r_stmts,
                                    note=f"checked, not changed ({how})", **base))
        return _sealed(ViewPlan(action="recreate", operations=r_stmts, inverse_operations=r_stmts,
                                drop_operations=r_drop, inverse_drop_operations=r_drop,
                                note="recreated because a view it reads is replaced", **base))
    if ddl is not None and ddl.recreate_dependents:
        # nothing it reads is touched (blocked, or left alone): no statement, no claim of a replacement
        return _sealed(ViewPlan(action="unchanged", note="no change needed: nothing it reads is changed ("
                                + ", ".join(via) + ")", **base))
    return _sealed(ViewPlan(action="unchanged", note="no change needed: reads " + ", ".join(via), **base))


def _rewrite_entry(v: ViewT, base: Mapping[str, Any], after: str, ddl: DdlMaker[ViewT] | None,
                   dropped: tuple[bool, bool]) -> ViewPlan:
    """A rewritten view: its DDL, the inverse DDL and the diff."""
    stmts: tuple[Operation, ...] = ()
    inverse: tuple[Operation, ...] = ()
    drop: tuple[Operation, ...] = ()
    inverse_drop: tuple[Operation, ...] = ()
    if ddl is not None:
        drop, stmts = _ddl(ddl, v, after, DdlContext(upstream_dropped=dropped[0], current=v))
        inverse_drop, inverse = _ddl(ddl, dataclasses.replace(v, definition=after), v.definition,
                                     DdlContext(upstream_dropped=dropped[1], current=v))
    return _sealed(ViewPlan(action="rewrite", operations=stmts, inverse_operations=inverse, drop_operations=drop,
                            inverse_drop_operations=inverse_drop, diff=unified_diff(v.definition, after, str(base["relation"])), **{**base, "after": after}))


def _relations(relation_columns: Mapping[RelationName, Sequence[tuple[str, str]] | None],
               ) -> tuple[tuple[RelationName, tuple[tuple[str, str], ...] | None], ...]:
    """The rules' relations with the columns the plan relied on, by name (``Plan.relations``)."""
    return tuple(
        (rel, None if cols is None else tuple((str(c), str(t)) for c, t in cols))
        for rel, cols in sorted(relation_columns.items(), key=lambda kv: str(kv[0]))
    )


def _sealed(v: ViewPlan) -> ViewPlan:
    return dataclasses.replace(v, seal=v.sealed())


def _rule_for_label(relation: str | None, rules: Sequence[RewriteRule]) -> RewriteRule | None:
    if relation is None:
        return rules[0] if len(rules) == 1 else None
    for r in rules:
        if relation in (r.label, str(r.old), r.old.name):
            return r
    return rules[0] if len(rules) == 1 else None
