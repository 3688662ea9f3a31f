"""Value types of the reference engine. Pure data, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Mapping

Status = Literal["parsed", "fallback", "error"]
# What a statement does with a relation it names (see ``Reference.role``).
Role = Literal["read", "write", "ddl"]


@dataclass(frozen=True, order=True)
class RelationName:
    """A physical relation, normalized per the dialect's identifier rules.

    ``catalog`` is the database / project, ``schema`` the schema / dataset.
    Parts are stored already normalized (folded or kept, as the dialect says),
    so two RelationNames compare equal exactly when they name the same relation.
    """

    catalog: str | None
    schema: str | None
    name: str

    def parts(self) -> tuple[str, ...]:
        return tuple(p for p in (self.catalog, self.schema, self.name) if p is not None)

    def __str__(self) -> str:
        return ".".join(self.parts())

    def to_json(self) -> list[str | None]:
        """``[catalog, schema, name]``: how plans, their operations and the apply journal write a relation."""
        return [self.catalog, self.schema, self.name]

    @classmethod
    def from_json(cls, value: object) -> "RelationName":
        """The relation ``to_json`` wrote. Anything else raises ValueError (not a list of
        three) or TypeError (a part of the wrong type), saying what is wrong."""
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"a relation must be a list [catalog, schema, name], not a {type(value).__name__}")
        if len(value) != 3:
            raise ValueError(f"a relation must be a list [catalog, schema, name], not {len(value)} items")
        catalog, schema, name = value
        if not isinstance(name, str):
            raise TypeError(f"relation name must be a string, not {name!r:.40}")
        for what, part in (("catalog", catalog), ("schema", schema)):
            if part is not None and not isinstance(part, str):
                raise TypeError(f"relation {what} must be a string or null, not {part!r:.40}")
        return cls(catalog, schema, name)

    def matches(self, other: "RelationName") -> bool:
        """Same relation, treating a missing catalog on either side as a wildcard."""
        if self.name != other.name or self.schema != other.schema:
            return False
        if self.catalog is None or other.catalog is None:
            return True
        return self.catalog == other.catalog


@dataclass(frozen=True)
class Reference:
    """One occurrence of a physical relation in a SQL text."""

    relation: RelationName          # normalized, qualified with the defaults
    start: int                      # character offset of the written name (first part)
    end: int                        # exclusive end offset of the written name (last part)
    line: int                       # 1-based line of ``start``
    column: int                     # 1-based column of ``start``
    written: str                    # the exact text of [start, end)
    alias: str | None
    statement_index: int            # 0-based statement in a multi-statement text
    statement_kind: str             # select, insert, update, delete, merge, create_view, create_table, ...
    # read: its rows are read (FROM, JOIN, USING, subqueries, CREATE VIEW/TABLE AS's query,
    # COPY ... TO). write: the statement produces its rows or the relation itself (INSERT,
    # UPDATE, DELETE, MERGE target, CREATE TABLE/VIEW [AS], SELECT INTO, COPY ... FROM,
    # TRUNCATE, REFRESH). ddl: it acts on the object without reading or producing rows
    # (ALTER, DROP, GRANT, REVOKE, COMMENT ON, CREATE INDEX, ANALYZE, a foreign key's REFERENCES).
    # A name written twice
    # in a statement is two references with a role each; a written-to name is ``write`` even
    # when the statement also reads its rows (UPDATE t SET a = a + 1).
    role: Role = "read"
    columns: frozenset[str] | None = None   # columns used; None = cannot be known (e.g. SELECT *)
    qualified_as_written: int = 1   # how many name parts the author wrote (1, 2 or 3)
    # For an unqualified name and a search path of several schemas: every
    # relation it could resolve to, in search-path order. Empty otherwise.
    candidates: tuple[RelationName, ...] = ()
    # False when the parser gave no verifiable position for the name: the span
    # is a best guess and the reference must not be rewritten.
    exact_span: bool = True
    # A BigQuery wildcard table (`p.d.events_2023*`): ``relation.name`` is the pattern and the
    # reference reads every table it covers (``covers``). Never rewritten automatically.
    wildcard: bool = False

    def covers(self, relation: RelationName) -> bool:
        """Whether this reference reads ``relation``: it names it, or its wildcard pattern covers it."""
        if self.wildcard:
            return wildcard_covers(self.relation, relation)
        return self.relation.matches(relation)


def wildcard_covers(pattern: RelationName, relation: RelationName) -> bool:
    """Whether the wildcard table ``pattern`` (name ending in ``*``) covers ``relation``.

    Same dataset (a missing project on either side matches any), and the table
    name starts with the text before the ``*`` (BigQuery table names keep their case).
    """
    if not pattern.name.endswith("*") or pattern.schema != relation.schema or relation.name.endswith("*"):
        return False
    if pattern.catalog is not None and relation.catalog is not None and pattern.catalog != relation.catalog:
        return False
    return relation.name.startswith(pattern.name[:-1])


@dataclass(frozen=True)
class ParseResult:
    """References in one SQL text, with the parse status.

    A ``fallback`` or ``error`` result must be reported by the caller; it never
    means "no references".
    """

    status: Status
    references: tuple[Reference, ...] = ()
    error: str | None = None
    statements: int = 0


@dataclass(frozen=True)
class RewriteRule:
    """How to rewrite references to one deprecated relation."""

    old: RelationName
    new: RelationName
    columns: Mapping[str, str] = field(default_factory=dict)    # old column -> new column
    removed_columns: frozenset[str] = frozenset()
    # Known column lists, when a catalog can tell; used to prove SELECT * safe.
    old_columns: tuple[str, ...] | None = None
    new_columns: tuple[str, ...] | None = None
    label: str = ""                  # the model as registered, for messages


@dataclass(frozen=True)
class Edit:
    start: int
    end: int
    old: str
    new: str


# What blocks a rewrite (``Blocker.kind``).
BlockerKind = Literal[
    "unparsed",            # the text could not be parsed
    "wildcard_table",      # a BigQuery wildcard table covers a deprecated table
    "search_path",         # an unqualified name may resolve to a deprecated relation
    "dynamic_name",        # the relation is named by a string (Snowflake IDENTIFIER('...'))
    "no_position",         # the parser gave no exact position to edit
    "ambiguous_column",    # a column could belong to the deprecated relation or another one
    "removed_column",      # a column the replacement does not have (``removed_columns``)
    "output_name",         # renaming would change an output column's name
    "select_star",         # SELECT * over a relation whose columns differ in the replacement
    "natural_join",        # NATURAL JOIN with such a relation
    "using_join",          # JOIN ... USING a renamed or removed column
    "insert_columns",      # INSERT without a column list into such a relation
    "unicode_identifier",  # a PostgreSQL U&"..." identifier that does not decode
    "verify",              # the rewritten text does not read as intended
    "internal",            # overlapping edits
    "other",
]


@dataclass(frozen=True)
class Blocker:
    """A reason a text cannot be rewritten safely, with where it happened.

    ``kind`` says what blocks it (callers choose by it, people read ``reason``);
    ``column_name`` is the column it concerns, when it concerns one.
    """

    reason: str
    relation: str | None = None
    line: int | None = None
    column: int | None = None
    kind: BlockerKind = "other"
    column_name: str | None = None


@dataclass(frozen=True)
class RewriteResult:
    text: str                         # the rewritten text (the input, unchanged, if blocked)
    status: Status
    edits: tuple[Edit, ...] = ()
    blockers: tuple[Blocker, ...] = ()
    error: str | None = None

    @property
    def changed(self) -> bool:
        return bool(self.edits) and not self.blockers
