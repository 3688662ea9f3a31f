"""What changed since a plan was made: per-view field fingerprints, registry fingerprints, derived differences."""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
from typing import Any, Mapping, Sequence

from deprecator.errors import StaleChange
from deprecator.operations import Operation
from deprecator.plan.model import VIEW_FIELDS, AclView, Plan, ViewLike, ViewPlan
from deprecator.sql.model import RewriteRule
from deprecator.text import plural

# -- what changed ---------------------------------------------------------------


def _rule_content(rule: RewriteRule) -> list[Any]:
    """What of a rule shapes a rewrite: its relations, column mapping, removed columns and label."""
    return [rule.old.to_json(), rule.new.to_json(), sorted(rule.columns.items()),
            sorted(rule.removed_columns), rule.label]


def rules_fingerprint(rules: Sequence[RewriteRule]) -> str:
    """Fingerprint of the rewrite rules, in order: a registry change that leaves every rule as it was
    (a sunset date, an owner, a reason) does not make a saved plan stale."""
    return hashlib.sha256(json.dumps([_rule_content(r) for r in rules]).encode()).hexdigest()


def rule_parts(rules: Sequence[RewriteRule]) -> dict[str, str]:
    """A fingerprint per rule, keyed by the deprecated model as registered (``Plan.registry_parts``)."""
    return {r.label or str(r.old): _hash(_rule_content(r)) for r in rules}


def describe_warehouse(identity: Mapping[str, str]) -> str:
    """``PostgreSQL database warehouse (system identifier 7312...)`` or ``SQLite file /srv/wh.db``."""
    if identity.get("engine") == "postgresql":
        where = (f"system identifier {identity['system_identifier']}" if "system_identifier" in identity
                 else f"server {identity.get('server')}")
        return f"PostgreSQL database {identity.get('database')} ({where})"
    if identity.get("engine") == "sqlite":
        return f"SQLite file {identity.get('file')}"
    return ", ".join(f"{k} {v}" for k, v in sorted(identity.items())) or "an unknown warehouse"


def _hash(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def view_parts(view: ViewLike) -> dict[str, str]:
    """A fingerprint per field of a view (``VIEW_FIELDS``), so a stale plan can say what changed;
    fields beyond ``ViewLike``'s (owner, grants, ...) count as empty on a view without them."""
    extra = dict(getattr(view, "extra", None) or {})
    indexes = extra.pop("indexes", None)
    return {
        "definition": _hash(view.definition),
        "owner": _hash(getattr(view, "owner", None)),
        "grants": _grants_part(view),
        "comments": _hash([getattr(view, "comment", None), getattr(view, "column_comments", None) or {}]),
        "options": _hash(getattr(view, "options", None) or {}),
        "columns": _hash([list(c) for c in getattr(view, "columns", ())]),
        "indexes": _hash(indexes),
        "status": _hash(extra),        # populated, or why it does not answer
    }


def _grants_part(view: ViewLike) -> str:
    grants = [list(g) for g in getattr(view, "grants", ())]
    # an explicit ACL with the default privileges reads the same as none: say which one it is
    return _hash([grants, "default_acl"] if getattr(view, "default_acl", False) else grants)


def changed_fields(planned: Mapping[str, str], now: Mapping[str, str]) -> list[str]:
    """The fields whose fingerprint differs (in ``VIEW_FIELDS`` order)."""
    return [f for f in VIEW_FIELDS if planned.get(f) != now.get(f)]


def view_change(name: str, planned: Mapping[str, str], now: Mapping[str, str]) -> StaleChange:
    """``grants of view analytics.v changed``; a plan without field fingerprints says only that it changed."""
    fields = changed_fields(planned, now) if planned else []
    if not fields:
        return StaleChange("view_changed", name, f"view {name} was changed")
    text = fields[0] if len(fields) == 1 else ", ".join(fields[:-1]) + " and " + fields[-1]
    return StaleChange("view_changed", name, f"{text} of view {name} changed")


def describe_view_change(name: str, planned: Mapping[str, str], now: Mapping[str, str]) -> str:
    """``"grants of analytics.v changed"``; a plan without field fingerprints says only that it changed."""
    return str(view_change(name, planned, now))


# The executed fields of an entry, as messages name them (one operation of each).
_OPERATION_LABELS = (("drop_operations", "drop statement"), ("operations", "statement"),
                     ("inverse_drop_operations", "inverse drop statement"), ("inverse_operations", "inverse statement"))


def _clip(sql: str, limit: int = 160) -> str:
    one = " ".join(sql.split())
    return "`" + (one if len(one) <= limit else one[: limit - 3] + "...") + "`"


def _op_text(op: Operation, other: Operation | None = None) -> str:
    """An operation as messages show it: its SQL, and its kind and relation where only those differ."""
    if other is not None and other.sql == op.sql:
        return f"{_clip(op.sql)} ({op.kind} of {op.relation})"
    return _clip(op.sql) if other is None else _clip_at_difference(op.sql, other.sql)


def _clip_at_difference(sql: str, other: str, limit: int = 160, before: int = 40) -> str:
    """``sql`` clipped like ``_clip``, but from a little before where it first differs from ``other``
    when that is past the clip (a long CREATE VIEW edited near its end)."""
    one, two = " ".join(sql.split()), " ".join(other.split())
    at = next((i for i, (a, b) in enumerate(zip(one, two)) if a != b), min(len(one), len(two)))
    if len(one) <= limit or at < limit - before:
        return _clip(sql, limit)
    start = at - before
    piece = one[start:start + limit - 6]
    return "`..." + piece + ("..." if start + len(piece) < len(one) else "") + "`"


def _first_difference(planned: Sequence[Operation], derived: Sequence[Operation], label: str) -> str:
    """The first place two operation lists differ, as a sentence (and how many other places do)."""
    ops = [op for op in difflib.SequenceMatcher(a=list(planned), b=list(derived), autojunk=False).get_opcodes()
           if op[0] != "equal"]
    tag, i1, i2, j1, j2 = ops[0]
    if tag == "delete":
        text = (f"the plan's {label} {i1 + 1}, {_clip(planned[i1].sql)}, is not one deprecator derives from the "
                "warehouse and the registry")
    elif tag == "insert":
        text = f"the plan lacks the {label} {_clip(derived[j1].sql)}, which deprecator derives"
    else:
        text = (f"the plan's {label} {i1 + 1} is {_op_text(planned[i1], derived[j1])}, "
                f"deprecator derives {_op_text(derived[j1], planned[i1])}")
    more = sum(max(b - a, d - c) for _, a, b, c, d in ops) - max(i2 - i1, j2 - j1)
    return text + (f" (and {plural(more, 'other difference')})" if more > 0 else "")


def derived_differences(planned: ViewPlan, derived: ViewPlan | None) -> list[StaleChange]:
    """How a saved entry differs from the entry derived now from the live catalog and registry.

    Empty when they agree on everything apply runs or shows (action, new
    definition, diff, every statement and inverse); a derived entry of None
    means the view no longer needs one.
    """
    name = planned.name
    if derived is None:
        what = ("has statements for it" if planned.operations or planned.drop_operations
                else f"lists it ({planned.action})")
        return [StaleChange("no_longer_needed", name, f"view {name} no longer needs rewriting, but the plan {what}")]
    if derived.action != planned.action:
        why = f": {derived.blockers[0].reason}" if derived.blockers else ""
        return [StaleChange("action_changed", name,
                            f"view {name} would now be {derived.action} instead of {planned.action}{why}")]
    out: list[StaleChange] = []
    if derived.after != planned.after:
        out.append(StaleChange("rewritten_differently", name, f"view {name} would now be rewritten differently: "
                               "the plan's new definition is not the rewrite of its current definition"))
    elif derived.diff != planned.diff:
        out.append(StaleChange("rewritten_differently", name, f"view {name}: the plan's diff is not the diff "
                               "of its current and new definitions"))
    for attr, label in _OPERATION_LABELS:
        p, d = getattr(planned, attr), getattr(derived, attr)
        if tuple(p) != tuple(d):
            out.append(StaleChange("rewritten_differently", name, f"view {name} would now be rewritten differently: "
                                   + _first_difference(p, d, label)))
    return out


def registry_change_records(planned: Mapping[str, str], now: Mapping[str, str],
                            registry_name: str = "deprecations.yml") -> list[StaleChange]:
    """Which deprecations were changed, added or removed since the plan."""
    whole = StaleChange("registry", None, f"the registry ({registry_name}) changed")
    if not planned:
        return [whole]
    out = []
    for label in planned:
        if label not in now:
            out.append(StaleChange("registry", None, f"the registry changed: deprecation {label} was removed"))
        elif now[label] != planned[label]:
            out.append(StaleChange("registry", None, f"the registry changed: deprecation {label} changed"))
    out += [StaleChange("registry", None, f"the registry changed: deprecation {label} was added")
            for label in now if label not in planned]
    return out or [whole]


def registry_changes(planned: Mapping[str, str], now: Mapping[str, str],
                     registry_name: str = "deprecations.yml") -> list[str]:
    """Which deprecations were changed, added or removed since the plan (as sentences)."""
    return [str(c) for c in registry_change_records(planned, now, registry_name)]


# -- what changed in the warehouse (apply and rollback refuse on these) ----------


def other_dialect(planned: str, now: str) -> StaleChange:
    return StaleChange("dialect", None, f"the plan was made for dialect {planned}, the warehouse is {now}")


def view_dropped(name: str, since: str = "") -> StaleChange:
    return StaleChange("view_dropped", name, f"view {name} was dropped{since}")


def view_changes(plan: Plan, views_now: Sequence[ViewLike]) -> list[StaleChange]:
    """The plan's views that were dropped or changed since it was made, field by field."""
    now = {v.relation: v for v in views_now}
    out = []
    for v in plan.views:
        cur = now.get(v.relation)
        if cur is None:
            out.append(view_dropped(v.name))
        elif cur.fingerprint() != v.fingerprint:
            out.append(view_change(v.name, v.parts, view_parts(cur)))
    return out


def effective_parts(view: AclView) -> dict[str, str]:
    """``view_parts`` with grants compared as effective privileges: a NULL ACL and the same privileges
    written out explicitly are one state, not a change."""
    return view_parts(dataclasses.replace(view, default_acl=False))
