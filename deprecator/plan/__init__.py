"""A plan is a value: which views change, how, in what order, and what blocks the rest.

``build_plan`` is pure: it takes the views, the rewrite rules and what the
warehouse knows about relation columns as data, and returns a :class:`Plan`
holding, per affected view in dependency order, the before/after text, a
unified diff, the DDL to run and its inverse, and the fingerprint of the view
as it was read (so a saved plan can be refused when it goes stale).
Engine-specific DDL comes from a small ``DdlMaker`` (the warehouse adapter).

The package's modules: ``model`` (what a plan is, and its JSON), ``build`` (``build_plan``
and its steps), ``staleness`` (what changed since a plan was made) and ``render`` (the text
and diffs people read). Everything is importable from ``deprecator.plan`` as before.
"""

from __future__ import annotations

# StaleChange lives beside the error that carries it (errors cannot import plan); re-exported here.
from deprecator.errors import StaleChange as StaleChange, StaleKind as StaleKind
from deprecator.operations import DdlContext as DdlContext, Operation as Operation
from deprecator.prefilter import TextIndex as TextIndex, name_needles as name_needles
# build_plan parses views through this name (see deprecator.plan.build).
from deprecator.sql.references import analyze as analyze
from deprecator.plan.model import (
    FORMAT_VERSION as FORMAT_VERSION,
    OPERATION_FIELDS as OPERATION_FIELDS,
    SUPPORTED_FORMAT_VERSIONS as SUPPORTED_FORMAT_VERSIONS,
    VIEW_FIELDS as VIEW_FIELDS,
    Action as Action,
    CheckingDdl as CheckingDdl,
    DdlMaker as DdlMaker,
    Plan as Plan,
    PlanBlocker as PlanBlocker,
    ViewLike as ViewLike,
    ViewPlan as ViewPlan,
    ordered_statements as ordered_statements,
)
from deprecator.plan.staleness import (
    changed_fields as changed_fields,
    derived_differences as derived_differences,
    describe_view_change as describe_view_change,
    describe_warehouse as describe_warehouse,
    effective_parts as effective_parts,
    other_dialect as other_dialect,
    registry_change_records as registry_change_records,
    registry_changes as registry_changes,
    rule_parts as rule_parts,
    rules_fingerprint as rules_fingerprint,
    view_change as view_change,
    view_changes as view_changes,
    view_dropped as view_dropped,
    view_parts as view_parts,
)
from deprecator.plan.render import (
    color_diff as color_diff,
    render_text as render_text,
    unified_diff as unified_diff,
)
from deprecator.plan.build import (
    PLAN_BLOCKER_KINDS as PLAN_BLOCKER_KINDS,
    _unblock_hint as _unblock_hint,
    build_plan as build_plan,
    enrich_rules as enrich_rules,
    only_checks as only_checks,
    rule_for as rule_for,
)
