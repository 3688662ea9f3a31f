"""Typed plan operations: what each statement of a plan does, so nobody has to read its SQL to know.

An adapter (``deprecator.warehouse``) makes them, ``deprecator.plan`` stores them,
and the executor, the lock estimate and rollback read their ``kind`` and
``relation`` directly; ``sql`` is the exact text the engine runs. Pure: this
module imports nothing but the relation type and the JSON reader.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, Literal, Mapping, Sequence, TypeVar, get_args

from deprecator.jsonread import Node
from deprecator.sql.model import RelationName

OperationKind = Literal[
    "replace_view",      # CREATE OR REPLACE VIEW: the view keeps its columns, owner, grants, comments
    "drop_view",         # DROP VIEW / MATERIALIZED VIEW IF EXISTS (the view itself or a view built on it)
    "create_view",       # CREATE VIEW after a drop
    "create_matview",    # CREATE MATERIALIZED VIEW ... WITH [NO] DATA after a drop (fills it)
    "create_index",      # a materialized view's index, as the catalog defined it
    "restore_attached",  # column defaults, rules and triggers a DROP VIEW removed (drop-if-exists, then create)
    "set_owner",         # ALTER ... OWNER TO
    "reset_grants",      # revoke every privilege (a self-contained DO block)
    "default_grants",    # keep a NULL ACL NULL, or set it back to the built-in defaults (a DO block)
    "grant",             # GRANT ... as recorded
    "comment",           # COMMENT ON a view or column, as recorded
    "guard",             # changes nothing: fails when the view is unexpectedly gone (COMMENT restating its comment)
    "sql",               # untyped: a statement kept as text (journal entries written before operations were typed)
]

OPERATION_KINDS: tuple[str, ...] = get_args(OperationKind)

# The adapter's view type (``deprecator.warehouse.base.ViewInfo``): a context is read only, so covariant.
ViewT_co = TypeVar("ViewT_co", covariant=True)


@dataclass(frozen=True)
class Operation:
    """One statement of a plan: what it does (``kind``), to which relation, and its exact SQL."""

    kind: str
    relation: RelationName
    sql: str

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "relation": self.relation.to_json(), "sql": self.sql}

    @classmethod
    def from_json(cls, value: object, path: str = "") -> "Operation":
        """The operation ``to_json`` wrote; anything else raises ``JsonShapeError`` (a ValueError) naming
        the field below ``path`` (where the operation is in its document) and what was expected."""
        return read_operation(Node(value, path))

    def __str__(self) -> str:
        return self.sql


@dataclass(frozen=True)
class DdlContext(Generic[ViewT_co]):
    """What an adapter needs to know beyond the view and its new definition, from the planner.

    ``upstream_dropped``: an earlier operation of the plan (same direction, forward or
    inverse) drops a view this one reads, directly or through other views, so
    CREATE OR REPLACE alone would not keep its owner, grants and comments: restate
    them. True by default (restating is always safe). ``current``: the view as the
    catalog holds it now (its column types are those of its current definition);
    None: unknown, every definition is compiled. It is of the type the adapter's views are
    (the planner passes one of the views it was given).
    """

    upstream_dropped: bool = True
    current: ViewT_co | None = None


def read_operation(node: Node) -> Operation:
    """An operation (``{kind, relation, sql}``) at ``node`` of a parsed document (a plan, the apply journal)."""
    d = node.obj()
    kind = d.field("kind").one_of(OPERATION_KINDS, "an operation kind")
    return Operation(kind, read_relation(d.field("relation")), d.field("sql").text())


def read_relation(node: Node) -> RelationName:
    """A relation as ``RelationName.to_json`` writes it, ``[catalog, schema, name]``, at ``node``."""
    catalog, schema, name = node.items(3, "[catalog, schema, name]")
    return RelationName(catalog.text_or_null(), schema.text_or_null(), name.text())


def sql_of(operations: Sequence[Operation]) -> tuple[str, ...]:
    """The statements of ``operations``, in order."""
    return tuple(op.sql for op in operations)


def from_journal(items: Sequence[Any], relation: RelationName) -> tuple[Operation, ...]:
    """Operations a journal entry kept: typed (dicts), or plain statements of older entries (kind ``sql``)."""
    return tuple(Operation.from_json(x) if isinstance(x, Mapping) else Operation("sql", relation, str(x))
                 for x in items)
