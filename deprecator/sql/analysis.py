"""The analysis of one SQL text: what the scope walker found, and the public references made of it.

``Analysis`` is what ``deprecator.sql.rewrite`` works on: each reference
(``RefInfo``) with its parse-tree node, every column occurrence with the reference
that provably owns it (``ColumnUse``), stars and USING / NATURAL joins.
``to_references`` turns it into the public ``Reference`` values.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from sqlglot import exp

from deprecator.sql import bigquery as _bq
from deprecator.sql.model import Reference, RelationName, Role, Status


@dataclass
class RefInfo:
    """One reference as the walker found it, with its parse-tree node (``to_references`` makes the
    public ``Reference``). ``role`` is where the name sits: ``target`` (what the statement acts on)
    or ``source``; ``reference_role`` derives the public read / write / ddl from it."""

    table: exp.Table
    relation: RelationName
    candidates: tuple[RelationName, ...]
    start: int
    end: int
    exact: bool
    alias: str | None           # alias as written (raw), if any
    alias_norm: str | None
    statement_index: int
    statement_kind: str
    role: str
    parts: int
    columns: set[str] = field(default_factory=set)
    unknown_columns: bool = False
    dynamic: bool = False       # named by a Snowflake IDENTIFIER('...') string
    # Uses of its rows that depend on its column names as a whole (its whole row, OBJECT_CONSTRUCT(*),
    # COLUMNS(...)): (why, where), as ``Passthrough.problems`` for a relation read directly.
    whole_uses: list[tuple[str, exp.Expression]] = field(default_factory=list)



@dataclass
class ColumnUse:
    """One column occurrence attributed (or not) to a physical reference."""

    node: exp.Expression           # the Column (or a bare Identifier in a target column list)
    ident: exp.Expression          # the identifier that names the column (what a rename edits)
    name: str                      # normalized column name
    ref: int | None                # owning reference, when provable
    candidates: tuple[int, ...]    # references that could own it (ambiguous when > 1)
    qualified: bool
    projection: bool               # a bare item of a SELECT list
    aliased: bool                  # that projection item already has an alias
    outer_possible: bool = False   # unqualified in a correlated subquery, outer refs may own it
    qualifier_ref: int | None = None  # the qualifier names this un-aliased reference
    qualifier: tuple[exp.Expression, ...] = ()   # the identifiers of that qualifier
    alias_conflict: bool = False   # the name is also an output alias of the same SELECT
    output_item: exp.Expression | None = None   # the unaliased SELECT expression containing it
    via: int | None = None         # read through this passthrough (``Analysis.passthroughs``)
    through_candidates: tuple[int, ...] = ()   # candidates a passthrough in scope reads (ambiguous uses)


@dataclass
class StarUse:
    node: exp.Expression
    refs: tuple[int, ...]
    through: int | None = None     # the star of a passthrough (``Analysis.passthroughs`` index)
    via: tuple[int, ...] = ()      # passthroughs whose columns it reads (a star over a star CTE)


@dataclass
class Passthrough:
    """A CTE or derived table that is a lone ``SELECT * FROM t`` (``ref``): its columns are t's.

    Columns read from it by name are attributed to ``ref``, so a rewrite renames them as it
    renames t's own; ``problems`` are the uses whose meaning depends on its column names as a
    whole (a star over it, its whole row, a PIVOT, ...): (why, where), each blocking a
    rewrite that changes t's columns.
    """

    name: str                      # the CTE's or derived table's name ("" when it has none)
    ref: int                       # the reference it passes through
    cte: bool = True               # a CTE (else a derived table)
    adopted: bool = False          # read as a CTE or derived table the walk followed
    problems: list[tuple[str, exp.Expression]] = field(default_factory=list)


@dataclass
class JoinUse:
    kind: str                      # using | natural
    node: exp.Expression
    refs: tuple[int, ...]
    columns: tuple[str, ...] = ()


@dataclass
class Analysis:
    sql: str
    dialect: str
    status: Status
    error: str | None
    statements: int
    refs: list[RefInfo] = field(default_factory=list)
    columns: list[ColumnUse] = field(default_factory=list)
    stars: list[StarUse] = field(default_factory=list)
    passthroughs: list[Passthrough] = field(default_factory=list)
    joins: list[JoinUse] = field(default_factory=list)
    line_starts: list[int] = field(default_factory=list)
    unplaced: int = 0     # tables found only by the safety sweep (a gap in the walk)
    name_clashes: int = 0  # FROM clauses exposing one name twice (a rewrite must not add any)
    # Relations named by a variable or bind (Snowflake IDENTIFIER($v) / IDENTIFIER(:b)): which
    # relation they are is decided at run time, so the text is not fully understood.
    dynamic_names: list[str] = field(default_factory=list)
    # Statements wrapping SQL (EXPLAIN, PREPARE, DECLARE CURSOR, CREATE RULE) whose SQL, or
    # part of it, was not understood: why, per statement.
    opaque: list[str] = field(default_factory=list)

    def position(self, offset: int) -> tuple[int, int]:
        i = bisect.bisect_right(self.line_starts, offset) - 1
        return i + 1, offset - self.line_starts[i] + 1


def line_offsets(sql: str) -> list[int]:
    """The offset at which each line of ``sql`` starts (``Analysis.line_starts``)."""
    starts = [0]
    for i, c in enumerate(sql):
        if c == "\n":
            starts.append(i + 1)
    return starts


# Statements that act on a relation as an object: every relation they name is ``ddl``.
DDL_KINDS = frozenset({"alter", "alterrename", "renametable", "drop", "grant", "revoke", "comment",
                       "create_index", "analyze", "create_rule"})


def reference_role(r: RefInfo) -> Role:
    """What the statement does with the relation (``Reference.role``): read, write or ddl.

    Decided from the statement's kind and where the name sits: a target of anything but a
    DDL statement is written; ``COPY t TO ...`` reads ``t`` (``COPY t FROM ...`` writes it).
    """
    if r.statement_kind in DDL_KINDS or r.table.find_ancestor(exp.Reference) is not None:
        return "ddl"      # (a foreign key's REFERENCES t ties the schema to t; no row of t is read)
    if r.role != "target":
        return "write" if _loaded(r.table) else "read"
    copy = r.table.find_ancestor(exp.Copy)
    if copy is not None and not copy.args.get("kind"):
        return "read"     # COPY t TO (kind False); kind True is COPY t FROM
    return "write"


def _loaded(table: exp.Table) -> bool:
    """``table`` is what an INSERT of a multi-table insert (Snowflake INSERT ALL / FIRST ... INTO t)
    or a LOAD DATA INTO t (BigQuery) writes, which the walk meets as a plain name."""
    node: exp.Expression = table
    if isinstance(table.parent, exp.Schema) and table.arg_key == "this":
        node = table.parent          # INTO t (cols)
    return isinstance(node.parent, (exp.Insert, exp.LoadData)) and node.arg_key == "this"


def to_references(an: Analysis) -> tuple[Reference, ...]:
    out = []
    for r in sorted(an.refs, key=lambda r: (r.start, r.statement_index)):
        line, column = an.position(r.start)
        wildcard = an.dialect == "bigquery" and _bq.is_wildcard(r.relation.name)
        # _TABLE_SUFFIX is a wildcard table's pseudo-column (which table a row came from), not a column
        cols = r.columns - {_bq.TABLE_SUFFIX} if wildcard else r.columns
        out.append(Reference(
            relation=r.relation, start=r.start, end=r.end, line=line, column=column,
            written=an.sql[r.start:r.end], alias=r.alias, statement_index=r.statement_index,
            statement_kind=r.statement_kind, role=reference_role(r),
            columns=None if r.unknown_columns else frozenset(cols),
            qualified_as_written=r.parts, candidates=r.candidates, exact_span=r.exact, wildcard=wildcard,
        ))
    return tuple(out)
