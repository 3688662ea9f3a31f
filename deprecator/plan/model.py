"""What a plan is: its entries (:class:`ViewPlan`), its blockers and the saved JSON form (:class:`Plan`)."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Mapping, Protocol, Sequence, TypeVar, cast, get_args

from deprecator.errors import DeprecatorError
from deprecator.jsonread import JsonShapeError, Node, Obj
from deprecator.operations import DdlContext, Operation, read_operation, read_relation, sql_of
from deprecator.sql.model import RelationName
from deprecator.text import plural


# 2: per-view field fingerprints (``parts``), a per-view seal, per-deprecation
# registry fingerprints and the replacement columns the plan relied on.
# 3: the warehouse's identity (``warehouse_id``), a seal on every entry (required),
# and registry fingerprints over the rewrite rules only (``rules_fingerprint``).
# 4: typed operations (``operations``, ``inverse_operations``, ``drop_operations``,
# ``inverse_drop_operations``: each {kind, relation, sql}) instead of lists of SQL strings.
FORMAT_VERSION = 4
SUPPORTED_FORMAT_VERSIONS = (4,)

# What a view's fingerprint covers, field by field (the names stale messages use).
VIEW_FIELDS = ("definition", "owner", "grants", "comments", "options", "columns", "indexes", "status")

Action = Literal["rewrite", "recreate", "unchanged", "blocked"]


class ViewLike(Protocol):
    """What the planner reads from a view (``deprecator.warehouse.base.ViewInfo``)."""

    # Read-only members, so frozen dataclasses (ViewInfo) satisfy the protocol.
    @property
    def relation(self) -> RelationName: ...
    @property
    def definition(self) -> str: ...
    @property
    def definition_is_create(self) -> bool: ...
    @property
    def kind(self) -> str: ...
    @property
    def managed_by(self) -> str | None: ...

    def fingerprint(self) -> str: ...


class ViewRecord(ViewLike, Protocol):
    """A view the planner can copy with another definition (the inverse DDL is made from the
    rewritten copy): a dataclass, as ViewInfo is, so ``dataclasses.replace`` returns its own type."""

    __dataclass_fields__: ClassVar[dict[str, dataclasses.Field[Any]]]


class AclView(ViewRecord, Protocol):
    """A view as the catalog holds it, whose grants can be compared as effective privileges: a
    dataclass (``dataclasses.replace`` makes the copy with ``default_acl`` off), as ViewInfo is."""

    @property
    def default_acl(self) -> bool: ...


# The view type an engine's DDL reads (ViewInfo): a DdlMaker of ViewInfo takes nothing else, so contravariant.
ViewT_contra = TypeVar("ViewT_contra", bound=ViewLike, contravariant=True)


class DdlMaker(Protocol[ViewT_contra]):
    """The engine's DDL (a ``deprecator.warehouse.base.Warehouse``), as typed operations.

    Generic over the engine's view type: each engine reads its own view type's fields
    (ViewInfo's owner, grants, columns, ...), more than ``ViewLike`` has, so ``build_plan``
    gives it only views of that type (those it was given, or copies of them).

    ``two_phase``: the engine cannot replace a view in place while others depend on it
    (DROP fails), so the plan runs every changed view's leading ``drop_view`` operations
    first (dependents before what they read), then the rest in dependency order.
    """

    recreate_dependents: bool
    two_phase: bool

    def view_operations(self, view: ViewT_contra, new_definition: str,
                        context: DdlContext[ViewT_contra]) -> Sequence[Operation]:
        """The operations giving ``view`` the text ``new_definition``: a function of its arguments
        (and the catalog), never of the order it is called in; ``build_plan`` passes the context."""
        ...


class CheckingDdl(DdlMaker[ViewT_contra], Protocol):
    """Engines that can compile a definition without changing anything (optional methods).

    ``prepare`` gets every rewritten definition before any DDL is asked for (so
    the engine can compile them in one batch); ``compile_error`` says why one
    does not compile (None: it does); ``column_types`` gives its output types.
    """

    def prepare(self, definitions: Sequence[str]) -> None: ...

    def compile_error(self, definition: str) -> str | None: ...

    def column_types(self, definition: str) -> tuple[str, ...] | None: ...


@dataclass(frozen=True)
class PlanBlocker:
    """Why a view cannot be rewritten, and what would unblock it.

    ``kind``: the planner's own kinds (``PLAN_BLOCKER_KINDS``) or, for what the
    rewriter could not do, the rewriter's (``deprecator.sql.model.BlockerKind``).
    """

    reason: str
    unblock: str
    deprecation: str | None = None       # the deprecated model it concerns, as registered
    line: int | None = None
    column: int | None = None
    kind: str = "other"


@dataclass(frozen=True)
class ViewPlan:
    """One affected view."""

    relation: RelationName
    action: Action
    before: str
    after: str
    fingerprint: str                     # of the view as read when planning
    operations: tuple[Operation, ...] = ()
    inverse_operations: tuple[Operation, ...] = ()
    # Two-phase engines: run before any view's ``operations``, dependents first.
    drop_operations: tuple[Operation, ...] = ()
    inverse_drop_operations: tuple[Operation, ...] = ()
    diff: str = ""
    deprecated: tuple[str, ...] = ()     # deprecated relations it reads directly (labels)
    via: tuple[str, ...] = ()            # affected views it reads from
    blockers: tuple[PlanBlocker, ...] = ()
    note: str = ""
    parts: Mapping[str, str] = field(default_factory=dict)   # per-field fingerprints (VIEW_FIELDS)
    seal: str = ""                       # hash of this entry as planned: an edited entry no longer matches

    @property
    def name(self) -> str:
        return str(self.relation)

    # The SQL of each list of operations, as it runs.
    @property
    def statements(self) -> tuple[str, ...]:
        return sql_of(self.operations)

    @property
    def inverse(self) -> tuple[str, ...]:
        return sql_of(self.inverse_operations)

    @property
    def drop(self) -> tuple[str, ...]:
        return sql_of(self.drop_operations)

    @property
    def inverse_drop(self) -> tuple[str, ...]:
        return sql_of(self.inverse_drop_operations)

    def sealed(self) -> str:
        """The seal this entry should carry (over its action, texts and operations)."""
        payload = [self.relation.to_json(), self.action, self.before, self.after, self.fingerprint,
                   *([op.to_json() for op in getattr(self, f)] for f in OPERATION_FIELDS)]
        return hashlib.sha256(json.dumps(payload).encode()).hexdigest()[:32]

    def seal_problem(self) -> str | None:
        """Why this entry's seal does not hold (None: it does). A missing seal never passes."""
        if not self.seal:
            return "its seal is missing"
        if self.seal != self.sealed():
            return "it no longer matches its seal"
        return None


@dataclass(frozen=True)
class Plan:
    dialect: str
    warehouse: str                       # masked URL / label
    registry_fingerprint: str
    views: tuple[ViewPlan, ...] = ()     # dependency order
    default_schema: tuple[str, ...] = ()
    default_catalog: str | None = None
    created_at: str = field(default_factory=lambda: _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
    format_version: int = FORMAT_VERSION
    registry_parts: Mapping[str, str] = field(default_factory=dict)    # deprecation -> fingerprint
    # The rules' old and new relations with the columns the plan relied on (None: did not exist).
    relations: tuple[tuple[RelationName, tuple[tuple[str, str], ...] | None], ...] = ()
    # What the warehouse is, whatever URL reaches it (``Warehouse.identity``); empty: unknown.
    warehouse_id: Mapping[str, str] = field(default_factory=dict)
    # Whether the engine compiled the rewritten definitions (PostgreSQL: the planning role may create
    # temporary views); None: the engine has no such check. It shapes the DDL, so apply compares it.
    compiled: bool | None = None

    # -- views by action --------------------------------------------------------
    def _with(self, *actions: str) -> list[ViewPlan]:
        return [v for v in self.views if v.action in actions]

    @property
    def rewrites(self) -> list[ViewPlan]:
        return self._with("rewrite")

    @property
    def recreates(self) -> list[ViewPlan]:
        return self._with("recreate")

    @property
    def blocked(self) -> list[ViewPlan]:
        return self._with("blocked")

    @property
    def unchanged(self) -> list[ViewPlan]:
        return self._with("unchanged")

    @property
    def changes(self) -> list[ViewPlan]:
        """Views with operations to run, in dependency order."""
        return [v for v in self.views if v.operations or v.drop_operations]

    @property
    def has_changes(self) -> bool:
        """True when applying would change a view (guards that only check a view are not changes)."""
        return any(v.action in ("rewrite", "recreate") and (v.operations or v.drop_operations) for v in self.views)

    def operations(self) -> list[Operation]:
        """Every operation, in the order apply runs them."""
        return ordered_statements([(v.drop_operations, v.operations) for v in self.changes])

    def statements(self) -> list[str]:
        """Every statement, in the order apply runs them."""
        return [op.sql for op in self.operations()]

    def fingerprints(self) -> dict[RelationName, str]:
        return {v.relation: v.fingerprint for v in self.views}

    def edited(self) -> list[str]:
        """Views whose entry has no seal or no longer matches it (the plan was edited after it was made)."""
        return [v.name for v in self.views if v.seal_problem() is not None]

    def summary(self) -> str:
        text = f"Plan: {plural(len(self.rewrites), 'view')} to rewrite, {len(self.blocked)} blocked, {len(self.unchanged)} unchanged"
        if self.recreates:
            text += f", {len(self.recreates)} to recreate"
        return text

    # -- serialization --------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["default_schema"] = list(self.default_schema)
        d["registry_parts"] = dict(self.registry_parts)
        d["warehouse_id"] = dict(self.warehouse_id)
        d["relations"] = [[r.to_json(), None if cols is None else [list(c) for c in cols]]
                          for r, cols in self.relations]
        for v, src in zip(d["views"], self.views):
            v["relation"] = src.relation.to_json()
            v["name"] = src.name
            v["parts"] = dict(src.parts)
            for f in OPERATION_FIELDS:
                v[f] = [op.to_json() for op in getattr(src, f)]
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str, *, source: str = "plan") -> "Plan":
        try:
            d = json.loads(text)
        except ValueError as e:
            raise DeprecatorError(f"{source}: not a deprecator plan (invalid JSON: {e})") from None
        if not isinstance(d, dict) or "format_version" not in d:
            raise DeprecatorError(f"{source}: not a deprecator plan (no format_version)")
        if d["format_version"] not in SUPPORTED_FORMAT_VERSIONS:
            older = isinstance(d["format_version"], int) and d["format_version"] < FORMAT_VERSION
            raise DeprecatorError(
                f"{source}: plan format version {json.dumps(d['format_version'])} is not supported "
                f"(this deprecator reads and writes version {FORMAT_VERSION}"
                + ("; the plan was made by an older deprecator" if older else "") + ")",
                hint="make the plan again with this version of deprecator (`deprecator plan --out PLAN`) "
                     "and review it",
            )
        # Every field is read through its JSON path, so a damaged or hand-edited file is refused naming
        # the field and what was expected (``views[3].operations[1].sql: expected text, found null``).
        try:
            return _read_plan(Node(d).obj())
        except JsonShapeError as e:
            raise DeprecatorError(f"{source}: {e}") from None


def _read_plan(d: Obj) -> Plan:
    views = tuple(_read_view(v.obj()) for v in d.field("views").items())
    relations = tuple(_read_rule_relation(r) for r in d.field("relations").items())
    compiled = d.optional("compiled")
    return Plan(
        dialect=d.field("dialect").text(), warehouse=d.field("warehouse").text(),
        registry_fingerprint=d.field("registry_fingerprint").text(),
        views=views, default_schema=d.field("default_schema").texts(),
        default_catalog=d.field("default_catalog").text_or_null(),
        created_at=d.field("created_at").text(),
        # the supported version it equals (checked before): 4, also when written 4.0
        format_version=next(n for n in SUPPORTED_FORMAT_VERSIONS if n == d.value["format_version"]),
        registry_parts=d.field("registry_parts").text_map(),
        relations=relations,
        warehouse_id=d.field("warehouse_id").text_map(),
        compiled=None if compiled is None else compiled.boolean_or_null(),
    )


def _read_view(v: Obj) -> ViewPlan:
    note = v.optional("note")
    seal = v.value.get("seal")
    return ViewPlan(
        relation=read_relation(v.field("relation")), action=_action(v.field("action")),
        before=v.field("before").text(), after=v.field("after").text(), fingerprint=v.field("fingerprint").text(),
        **{f: tuple(read_operation(op) for op in v.field(f).items()) for f in OPERATION_FIELDS},
        diff=v.field("diff").text(), deprecated=v.field("deprecated").texts(), via=v.field("via").texts(),
        blockers=tuple(_read_blocker(b.obj(fields=_BLOCKER_FIELDS)) for b in v.field("blockers").items()),
        note="" if note is None else note.text(),
        parts=v.field("parts").text_map(),
        # a missing or null seal reads as none, which never passes (``seal_problem``)
        seal="" if seal is None else str(seal),
    )


_ACTIONS: tuple[str, ...] = get_args(Action)
_BLOCKER_FIELDS = tuple(f.name for f in dataclasses.fields(PlanBlocker))


def _action(node: Node) -> Action:
    return cast(Action, node.one_of(_ACTIONS))


def _read_blocker(b: Obj) -> PlanBlocker:
    deprecation, line, column, kind = (b.optional(k) for k in ("deprecation", "line", "column", "kind"))
    return PlanBlocker(
        reason=b.field("reason").text(), unblock=b.field("unblock").text(),
        deprecation=None if deprecation is None else deprecation.text_or_null(),
        line=None if line is None else line.whole_number_or_null(),
        column=None if column is None else column.whole_number_or_null(),
        kind="other" if kind is None else kind.text(),
    )


def _read_rule_relation(node: Node) -> tuple[RelationName, tuple[tuple[str, str], ...] | None]:
    """One of the rules' relations: ``[relation, columns]``, columns a list of ``[column, type]`` or null."""
    relation, columns = node.items(2, "[relation, columns]")
    if columns.value is None:
        return read_relation(relation), None
    if not isinstance(columns.value, list):
        columns.fail("a list or null")
    pairs = (c.items(2, "[column, type]") for c in columns.items())
    return read_relation(relation), tuple((c.text(), t.text()) for c, t in pairs)


_T = TypeVar("_T")

# A view entry's lists of operations, in the order the seal and the JSON list them.
OPERATION_FIELDS = ("operations", "inverse_operations", "drop_operations", "inverse_drop_operations")


def ordered_statements(per_view: Sequence[tuple[Sequence[_T], Sequence[_T]]]) -> list[_T]:
    """(drop, create) per view in dependency order -> drops in reverse order, then creates in order."""
    drops = [s for drop, _ in reversed(per_view) for s in drop]
    return drops + [s for _, create in per_view for s in create]
