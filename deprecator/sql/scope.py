"""The scope walker: which relation each name of a statement is, and which columns each relation gives.

``ScopeWalker`` walks the queries of one parsed statement (WITH, SELECT, set
operations, FROM and JOIN sources, stars, columns); its subclass
``deprecator.sql.statements.StatementAnalyzer`` handles statements of any kind (INSERT /
UPDATE / DELETE / MERGE, CREATE, ALTER, DROP, GRANT, COMMENT, COPY, ...). Together they
record in an ``Analysis`` every physical relation a statement names, with its role, and
every column occurrence with the reference that provably owns it. Names that are not
relations are told apart: CTEs visible per WITH (recursive ones included), derived
tables, table functions, UNNEST, the text's own temporary tables
(``deprecator.sql.temps``), BigQuery ML models. A CTE or derived table that is a lone
``SELECT *`` over one relation (a passthrough, the dbt staging pattern) gives that
relation's columns: a column read from it by name is attributed to the relation, and
each use depending on its columns as a whole (a star over it, its whole row, ...) is
recorded (``Analysis.passthroughs``).

Why a scope model of its own rather than ``sqlglot.optimizer.scope``: that module is
the optimizer's model of the scopes of a query (sources by name, columns, correlated
subqueries), and what a span-preserving rewrite needs differs from it in ways that
decide whether a rewrite is safe:

* It models queries. ``traverse_scope`` covers a query, the query of ``CREATE ... AS``
  and the FROM / USING / subqueries of a DML statement, nothing else: the relation an
  INSERT, UPDATE, DELETE, MERGE or CREATE writes is in no scope, and ALTER, DROP,
  GRANT, COMMENT, COPY and TRUNCATE give no scope at all. Here each of them is a
  reference with a role (read, write, ddl).
* It lists the columns a scope uses, not the relation that owns an unqualified one:
  that is ``qualify_columns``'s work, which needs every table's columns from a schema
  to decide between several relations in scope, and rewrites the tree as it goes
  (qualifiers, aliases). The rewrite must leave every byte it does not edit as the
  author wrote it, and must know per column whether the owner is proven, ambiguous
  (several relations in scope could have it), possibly an outer query's (a correlated
  subquery) or possibly an output alias (a bare name in WHERE / GROUP BY / HAVING that
  is also an alias of the same SELECT, which some engines read as the alias): only a
  proven owner is renamed, the others block the rewrite.
* Its sources are keyed by name: a FROM clause exposing one name twice gets a fresh
  name (``t_2``) for the second, where the rewrite must count such clashes to refuse
  creating one (``Analysis.name_clashes``).
* A scope is one statement. A text's temporary tables shadow warehouse relations
  from the statement after their CREATE until a DROP, by each engine's rules
  (PostgreSQL's ``pg_temp`` searched first, Snowflake's temporary tables per schema,
  Redshift's ``#names``, DuckDB's ``temp`` catalog): ``deprecator.sql.temps.TempNames``.
* Name resolution a rename depends on varies by dialect: ``a.b`` is a struct field
  where ``a`` is no relation in scope (BigQuery, DuckDB, Spark, Trino, ...), a
  BigQuery UNNEST's alias names its column as well as the source, ORDER BY and
  QUALIFY may name output columns, Snowflake names relations with
  ``IDENTIFIER('db.t')``, and ``NEW`` / ``OLD`` in a PostgreSQL rule are rows of
  the rule's table.

Spans come from ``deprecator.sql.spans``; parsing, statement splitting and statuses
from ``deprecator.sql.references``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence, cast

import sqlglot
from sqlglot import exp

from deprecator.sql import bigquery as _bq
from deprecator.sql.analysis import Analysis, ColumnUse, JoinUse, Passthrough, RefInfo, StarUse
from deprecator.sql.model import RelationName
from deprecator.sql.names import normalize_part, relation_from_table
from deprecator.sql.spans import meta_span, table_parts, table_span
from deprecator.sql.temps import TEMP_SCHEMAS, TempNames, creates_temporary


DYNAMIC_IDENTIFIER = getattr(exp, "DynamicIdentifier", None)   # Snowflake IDENTIFIER(...)

# Dialects where `a.b` with `a` not a relation in scope is a struct field access.
STRUCT_DOT_DIALECTS = frozenset({"bigquery", "duckdb", "spark", "databricks", "hive", "trino", "presto", "athena"})


def identifier_string(table: exp.Table, dialect: str) -> tuple[exp.Table, exp.Literal] | None:
    """For ``IDENTIFIER('db.t')`` (Snowflake): the table the string names, and the literal.

    None for any other table, and for ``IDENTIFIER($var)`` / ``IDENTIFIER(:bind)``,
    whose relation cannot be known from the text.
    """
    if DYNAMIC_IDENTIFIER is None or not isinstance(table.this, DYNAMIC_IDENTIFIER):
        return None
    lit = table.this.this
    if not isinstance(lit, exp.Literal) or not lit.is_string:
        return None
    try:
        inner = sqlglot.parse_one(lit.this.strip(), read=dialect, into=exp.Table)
    except Exception:  # sqlglot raises several error types; a bad string names nothing
        return None
    if not isinstance(inner, exp.Table) or any(
        v is not None and k not in ("this", "db", "catalog") for k, v in inner.args.items()
    ):
        return None
    if not all(isinstance(p, exp.Identifier) and p.name for p in table_parts(inner)):
        return None   # `a..b` and other shapes whose parts cannot be told from the text
    return inner, lit


def names_relation(table: exp.Table, dialect: str) -> bool:
    """The table node names a physical relation the text spells out."""
    return isinstance(table.this, exp.Identifier) or identifier_string(table, dialect) is not None


@dataclass
class Source:
    """A name a FROM clause (or a DML target) brings into a scope."""

    name: str | None               # normalized name the scope exposes (None / "": none)
    kind: str                      # table | cte | derived | other
    ref: int | None = None         # index into refs for kind == table
    outputs: tuple[str, ...] | None = None   # known output columns, None = unknown
    through: int | None = None     # a passthrough (lone SELECT * over one relation) read by name


@dataclass(frozen=True)
class _Through:
    """A CTE whose query is a passthrough (``Analysis.passthroughs[index]``)."""

    index: int


# The CTEs visible at a point of the walk: name -> known output columns (None: unknown), or
# the passthrough the CTE is.
Ctes = dict[str, "tuple[str, ...] | None | _Through"]

# A passthrough's SELECT may have these clauses (none of them changes which columns it gives),
# and the relation it reads these parts.
_PASSTHROUGH_SELECT_ARGS = frozenset({"expressions", "from_", "where", "with_", "distinct", "order", "limit",
                                      "offset", "qualify", "group", "having", "fetch"})
_PASSTHROUGH_TABLE_ARGS = frozenset({"this", "db", "catalog", "alias", "sample", "only"})


@dataclass
class Scope:
    """The sources of one SELECT (or DML statement); ``sees_outer``: a correlated subquery's."""

    parent: "Scope | None"
    sees_outer: bool
    sources: list[Source] = field(default_factory=list)

    def find(self, name: str) -> list[Source]:
        return [s for s in self.sources if s.name == name]


class ScopeWalker:
    """Walks the queries of statement ``index`` of a text and records what they name into ``an``.

    The statement handlers (``dml``, ``target``, ...) are ``deprecator.sql.statements.StatementAnalyzer``'s,
    the class that is run. ``temps`` carries the text's temporary relations from one statement to the next.
    """

    def __init__(self, an: Analysis, index: int, kind: str, default_schema: Sequence[str],
                 default_catalog: str | None, temps: TempNames | None = None) -> None:
        self.an = an
        self.temps = temps if temps is not None else TempNames()
        self.writes_temp = False     # the statement's target is a temporary relation of the text
        self.dialect = an.dialect
        self.index = index
        self.kind = kind
        self.default_schema = tuple(default_schema)
        self.default_catalog = default_catalog
        self.handled: set[int] = set()
        self.projection_items: dict[int, bool] = {}   # id(column) -> aliased
        self.alias_or_column: set[int] = set()         # ids of columns that may name an output alias
        self.named_by_expression: dict[int, exp.Expression] = {}  # id(column) -> unaliased SELECT item
        self.through_of: dict[int, int] = {}          # id(select) -> the passthrough it is
        self.made: list[int] = []                     # passthroughs of this statement
        self.through_reads: set[int] = set()          # ids of the tables resolved to a passthrough CTE

    # -- names ---------------------------------------------------------
    def alias_name(self, node: exp.Expression) -> str | None:
        """The normalized name of ``node``'s table alias ("" when it has none)."""
        alias = node.args.get("alias")
        return self.norm_alias(alias.this) if isinstance(alias, exp.TableAlias) and alias.this else ""

    def norm_columns(self, cols: Sequence[str] | None) -> tuple[str, ...] | None:
        """Normalized alias column names; None when there are none (the columns are unknown)."""
        return tuple(self.norm_alias(c) or "" for c in cols) if cols else None

    def norm_alias(self, ident: exp.Expression | str | None) -> str | None:
        if ident is None:
            return None
        if isinstance(ident, str):
            return normalize_part(ident, False, self.dialect, table_part=False)
        if isinstance(ident, exp.Identifier):
            return normalize_part(ident.name, bool(ident.quoted), self.dialect, table_part=False)
        return normalize_part(ident.name, False, self.dialect, table_part=False) if ident.name else None

    def norm_column(self, ident: exp.Expression) -> str:
        return self.norm_alias(ident) or ""

    # -- references ----------------------------------------------------
    def add_ref(self, table: exp.Table, role: str, columns: Iterable[str] | None = ()) -> int:
        self.handled.add(id(table))
        dynamic = identifier_string(table, self.dialect)
        named = dynamic[0] if dynamic is not None else table
        relation = relation_from_table(named, self.dialect, self.default_schema, self.default_catalog)
        if self.dialect == "bigquery" and dynamic is None:
            relation = _bq.undecorated(relation)    # `p.d.t$20230101`, `p.d.t@1690000000000` read p.d.t
        parts = len(table_parts(named))
        candidates: tuple[RelationName, ...] = ()
        if parts == 1 and len(self.default_schema) > 1:
            candidates = tuple(
                relation_from_table(named, self.dialect, (s,), self.default_catalog) for s in self.default_schema
            )
        if dynamic is not None:
            # the span is the string's content; it is not an identifier, so never exact
            span = meta_span(dynamic[1])
            start, end = (span[0] + 1, span[1] - 1) if span is not None else (0, 0)
            exact = False
        else:
            start, end, exact = table_span(self.an.sql, table)
        alias_node = table.args.get("alias")
        alias_ident = alias_node.this if isinstance(alias_node, exp.TableAlias) else None
        alias = alias_ident.name if isinstance(alias_ident, exp.Identifier) and alias_ident.name else None
        alias_span = meta_span(alias_ident) if alias is not None and alias_ident is not None else None
        if alias_span is not None and start <= alias_span[0] and alias_span[1] <= max(end, start + 1):
            alias = None   # synthesized by the parser (BigQuery INFORMATION_SCHEMA), not written
        info = RefInfo(
            table=table, relation=relation, candidates=candidates, start=start, end=end, exact=exact,
            alias=alias, alias_norm=self.norm_alias(alias_ident) if alias else None,
            statement_index=self.index, statement_kind=self.kind, role=role, parts=parts,
            dynamic=dynamic is not None,
        )
        if columns is None:
            info.unknown_columns = True
        else:
            info.columns.update(columns)
        self.an.refs.append(info)
        return len(self.an.refs) - 1

    def exposed_name(self, table: exp.Table) -> str:
        alias_node = table.args.get("alias")
        if isinstance(alias_node, exp.TableAlias) and alias_node.this is not None and alias_node.name:
            return self.norm_alias(alias_node.this) or ""
        dynamic = identifier_string(table, self.dialect)
        return self.norm_alias((dynamic[0] if dynamic is not None else table).this) or ""

    # -- temporary relations -------------------------------------------
    def temp_columns(self, table: exp.Table) -> tuple[bool, tuple[str, ...] | None]:
        """(is it a session-temporary relation of this text, its known columns)."""
        if not isinstance(table.this, exp.Identifier):
            return False, None
        parts = table_parts(table)
        name = self.norm_alias(table.this) or ""
        if self.dialect == "redshift" and table.this.name.startswith("#"):
            return True, self.temps.names.get(name)
        # pg_temp.x / db.pg_temp.x (PostgreSQL, Redshift); temp.x / temp.main.x (DuckDB, a catalog)
        temp_part = parts[0] if self.dialect == "duckdb" else parts[-2] if len(parts) > 1 else None
        if len(parts) > 1 and self.norm_alias(temp_part) in TEMP_SCHEMAS.get(self.dialect, ()):
            return True, self.temps.names.get(name)
        if len(parts) == 1 and name in self.temps.names:
            return True, self.temps.names[name]
        if self.dialect == "snowflake":
            rel = relation_from_table(table, self.dialect, self.default_schema, self.default_catalog)
            if rel in self.temps.qualified:
                return True, self.temps.qualified[rel]
        return False, None

    def temp_target(self, node: exp.Expression, created: bool) -> bool:
        """A statement creates (or drops) a temporary relation: no reference, shadowing recorded."""
        table = node.this if isinstance(node, exp.Schema) else node
        if not isinstance(table, exp.Table) or not isinstance(table.this, exp.Identifier):
            return False
        is_temp, _ = self.temp_columns(table)
        if not created and not is_temp:
            return False
        cols = None
        if isinstance(node, exp.Schema):
            idents = [c.this if isinstance(c, (exp.ColumnDef, exp.Column)) else c for c in node.expressions]
            cols = tuple(self.norm_column(i) for i in idents if isinstance(i, exp.Identifier)) or None
        self.handled.update(id(t) for t in node.find_all(exp.Table))
        relation = relation_from_table(table, self.dialect, self.default_schema, self.default_catalog)
        self.temps.pending.append((created, self.norm_alias(table.this) or "", relation, cols))
        return True

    @staticmethod
    def alias_columns(node: exp.Expression) -> tuple[str, ...] | None:
        alias_node = node.args.get("alias")
        if isinstance(alias_node, exp.TableAlias) and alias_node.columns:
            return tuple(c.name for c in alias_node.columns)
        return None

    # -- generic walk --------------------------------------------------
    def visit(self, node: object, scope: Scope | None, ctes: Ctes) -> None:
        # Iterative: BI tools write OR/|| chains thousands of terms long, which
        # sqlglot nests one level per term.
        stack: list[object] = [node]
        while stack:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(reversed(item))
                continue
            if not isinstance(item, exp.Expression):
                continue
            if isinstance(item, exp.Column):
                self.column(item, scope)
                if isinstance(item.this, exp.Star):
                    # `t.* REPLACE (...)` carries expressions (even subqueries) of its own
                    stack.extend(reversed(list(item.this.iter_expressions())))
                continue
            if isinstance(item, (exp.Select, exp.SetOperation)) or (
                isinstance(item, exp.Subquery) and isinstance(item.this, exp.Query)
            ):
                self.query(item, scope, ctes, correlated=True)
                continue
            if scope is not None and _reads_by_pattern(item):
                # OBJECT_CONSTRUCT(*), HASH(*), COLUMNS('re'): a passthrough's columns read as a whole
                shown = item.parent if isinstance(item, exp.Star) and item.parent is not None else item
                for src in scope.sources:
                    self.whole_use(src, item, f"has its columns read by {shown.sql(self.dialect)}")
            if isinstance(item, exp.Table):
                if _bq.is_model(item):
                    self.handled.add(id(item))    # ML.PREDICT(MODEL m, ...): a model, not a relation
                else:
                    self.source(item, scope or Scope(None, False), ctes)
                continue
            if isinstance(item, (exp.Insert, exp.Update, exp.Delete, exp.Merge)) and (
                    scope is None or not isinstance(item.parent, exp.When)):
                self.dml(item, ctes)
                continue
            stack.extend(reversed(list(item.iter_expressions())))

    # -- queries -------------------------------------------------------
    def with_(self, node: exp.Expr, ctes: Ctes) -> Ctes:
        w = node.args.get("with_")
        if not isinstance(w, exp.With):
            return ctes
        recursive = bool(w.args.get("recursive"))
        names = [self.norm_alias(c.args["alias"].this) or "" for c in w.expressions]
        env = dict(ctes)
        if recursive:
            for c, name in zip(w.expressions, names):
                env[name] = self.alias_columns(c)
        for c, name in zip(w.expressions, names):
            outs = self.query(c.this, None, dict(env), correlated=False)
            through = self.through_of.get(id(c.this))
            if through is not None and not recursive:
                # (in a WITH RECURSIVE a CTE may be read before its definition: not followed)
                self.an.passthroughs[through].adopted = True
                env[name] = _Through(through)
            else:
                env[name] = self.alias_columns(c) or outs
        return env

    def query(self, node: exp.Expr, parent: Scope | None, ctes: Ctes,
              correlated: bool) -> tuple[str, ...] | None:
        ctes = self.with_(node, ctes)
        if isinstance(node, exp.Subquery):
            inner = node.this
            if isinstance(inner, exp.Query):
                outs = self.query(inner, parent, ctes, correlated)
            else:
                self.visit(inner, parent, ctes)
                outs = None
            self.visit_rest(node, ("this", "with_", "alias"), None, ctes)
            return outs
        if isinstance(node, exp.Select):
            return self.select(node, parent, ctes, correlated)
        if isinstance(node, exp.SetOperation):
            left = self.query(node.this, parent, ctes, correlated)
            self.query(node.expression, parent, ctes, correlated)
            self.visit_rest(node, ("this", "expression", "with_"), None, ctes)
            return left
        if isinstance(node, (exp.Insert, exp.Update, exp.Delete, exp.Merge)):
            # data-modifying CTE (Postgres): its own target and sources
            self.dml(node, ctes, ctes)
            return None
        self.visit_rest(node, ("with_",), parent, ctes)
        return None

    def visit_rest(self, node: exp.Expr, skip: Sequence[str], scope: Scope | None,
                   ctes: Ctes) -> None:
        for key, value in node.args.items():
            if key in skip:
                continue
            self.visit(value, scope, ctes)

    def from_and_joins(self, node: exp.Expr, scope: Scope, ctes: Ctes) -> None:
        """Bring the FROM source and every JOIN of ``node`` (a SELECT or an UPDATE) into ``scope``."""
        from_ = node.args.get("from_")
        if isinstance(from_, exp.From):
            self.source(from_.this, scope, ctes)
        self.joins(node, scope, ctes)

    def joins(self, node: exp.Expr, scope: Scope, ctes: Ctes) -> None:
        for join in node.args.get("joins") or []:
            self.join(join, scope, ctes)

    def select(self, node: exp.Select, parent: Scope | None, ctes: Ctes,
               correlated: bool) -> tuple[str, ...] | None:
        scope = Scope(parent, correlated)
        self.from_and_joins(node, scope, ctes)
        through = self.passthrough(node, scope)
        exposed = [src.name for src in scope.sources if src.name]
        self.an.name_clashes += len(exposed) - len(set(exposed))
        outputs: list[str] | None = []
        order_aliases: set[str] = set()
        renamed: set[str] = set()     # explicit aliases that are not the same column's name
        for item in node.expressions:
            if isinstance(item, exp.Column) and not isinstance(item.this, exp.Star):
                self.projection_items[id(item)] = False
            elif isinstance(item, exp.Alias) and isinstance(item.this, exp.Column):
                self.projection_items[id(item.this)] = True
            elif not isinstance(item, (exp.Alias, exp.Star, exp.Column)):
                # an unaliased expression: its output name may be derived from its columns
                for col in item.find_all(exp.Column):
                    self.named_by_expression[id(col)] = item
            if isinstance(item, exp.Star) or (isinstance(item, exp.Column) and isinstance(item.this, exp.Star)):
                self.handled.add(id(item))    # (a `t.*` item is visited below: one star, recorded here)
                self.star(item, scope, through)
                outputs = None
                continue
            name = item.alias_or_name
            if isinstance(item, exp.Alias):
                alias_name = self.norm_alias(item.args["alias"]) or ""
                order_aliases.add(alias_name)
                if not (isinstance(item.this, exp.Column) and self.norm_column(item.this.this) == alias_name):
                    renamed.add(alias_name)
            elif isinstance(item, exp.Column):
                # ORDER BY a bare name means the output column (which a rewrite keeps)
                order_aliases.add(self.norm_column(item.this))
            if outputs is not None:
                if name:
                    # an Alias's alias is an Identifier, which always normalizes to a str
                    outputs.append(cast(str, self.norm_alias(item.args["alias"])) if isinstance(item, exp.Alias)
                                   else self.norm_column(item.this) if isinstance(item, exp.Column)
                                   else self.norm_alias(name) or "")
                else:
                    outputs = None
        for item in node.expressions:
            self.visit(item, scope, ctes)
        for key, value in node.args.items():
            if key in ("from_", "joins", "with_", "expressions"):
                continue
            if key == "into" and isinstance(value, exp.Into):
                # SELECT ... INTO t creates t: written to, not read
                if not (creates_temporary(value, self.dialect) and self.temp_target(value.this, True)):
                    into = self.target(value.this, Scope(None, False))
                    if into is None:
                        self.visit(value, scope, ctes)
                    else:
                        self.an.refs[into].unknown_columns = True   # the SELECT's outputs, as CREATE ... AS
                continue
            if key in ("order", "qualify") and order_aliases:
                self.visit_order(value, scope, ctes, order_aliases)
            elif key in ("where", "group", "having") and renamed and isinstance(value, exp.Expression):
                # an output alias here may mean the alias or a source column, depending on the dialect
                for col in value.find_all(exp.Column):
                    if not col.args.get("table") and self.norm_column(col.this) in renamed:
                        self.alias_or_column.add(id(col))
                self.visit(value, scope, ctes)
            else:
                self.visit(value, scope, ctes)
        return tuple(outputs) if outputs is not None else None

    def visit_order(self, order: exp.Expression, scope: Scope, ctes: Ctes,
                    aliases: set[str]) -> None:
        for col in list(order.find_all(exp.Column)):
            if not col.table and self.norm_column(col.this) in aliases:
                self.handled.add(id(col))
        self.visit(order, scope, ctes)

    def join(self, join: exp.Join, scope: Scope, ctes: Ctes) -> None:
        before = len(scope.sources)
        self.source(join.this, scope, ctes)
        right = scope.sources[before:]
        left = scope.sources[:before]
        if join.args.get("method") and str(join.args.get("method")).upper() == "NATURAL":
            refs = tuple(r for r in (self.src_ref(s) for s in left + right) if r is not None)
            for r in refs:
                self.an.refs[r].unknown_columns = True
            self.an.joins.append(JoinUse("natural", join, refs))
        using = join.args.get("using")
        if using:
            names = tuple(self.norm_column(u if not isinstance(u, exp.Column) else u.this) for u in using)
            using_refs: list[int] = []
            for s in left + right:
                using_ref = self.src_ref(s)
                if using_ref is None:
                    continue
                for n in names:
                    if s.kind == "table" or s.through is not None:
                        self.an.refs[using_ref].columns.add(n)
                using_refs.append(using_ref)
            self.an.joins.append(JoinUse("using", join, tuple(using_refs), names))
        for key, value in join.args.items():
            if key in ("this", "using"):
                continue
            self.visit(value, scope, ctes)

    def source(self, node: exp.Expression, scope: Scope, ctes: Ctes,
               role: str = "source") -> None:
        if not isinstance(node, exp.Expression):
            return
        if isinstance(node, exp.Table):
            this = node.this
            if identifier_string(node, self.dialect) is not None:
                ref = self.add_ref(node, role)
                scope.sources.append(Source(self.exposed_name(node), "table", ref=ref))
            elif isinstance(this, exp.Identifier):
                name: str | None = self.norm_alias(this) or ""
                single = node.args.get("db") is None and node.args.get("catalog") is None
                temp, temp_cols = self.temp_columns(node) if not (single and name in ctes) else (False, None)
                if single and name in ctes:
                    self.handled.add(id(node))
                    cte = ctes[name]
                    through = cte.index if isinstance(cte, _Through) else None
                    if through is not None:
                        self.through_reads.add(id(node))
                        why = self.passthrough_use_problem(node)
                        if why is not None:
                            self.problem(through, node, why)
                            through = None
                    scope.sources.append(Source(self.exposed_name(node), "cte", through=through,
                                                 outputs=self.alias_columns(node) or (
                                                     None if isinstance(cte, _Through) else cte)))
                elif temp:
                    self.handled.add(id(node))
                    scope.sources.append(Source(self.exposed_name(node), "cte",
                                                 outputs=self.alias_columns(node) or temp_cols))
                else:
                    ref = self.add_ref(node, role)
                    scope.sources.append(Source(self.exposed_name(node), "table", ref=ref))
            else:
                self.handled.add(id(node))
                self.visit(this, scope, ctes)
                scope.sources.append(Source(self.alias_name(node), "other", outputs=self.alias_columns(node)))
            self.joins(node, scope, ctes)
            for lat in node.args.get("laterals") or []:
                self.source(lat, scope, ctes)
            for key, value in node.args.items():
                if key in ("this", "db", "catalog", "alias", "joins", "laterals"):
                    continue
                self.visit(value, scope, ctes)
            return
        if isinstance(node, exp.Subquery):
            if isinstance(node.this, (exp.Table, exp.Subquery)):
                # a parenthesized join: its sources belong to this scope
                self.source(node.this, scope, ctes)
                self.joins(node, scope, ctes)
                return
            if not isinstance(node.this, exp.Query):
                # (VALUES ...) AS v(a, b)
                self.visit(node.this, scope, ctes)
                cols = self.alias_columns(node) or self.alias_columns(node.this)
                scope.sources.append(Source(self.alias_name(node), "derived",
                                             outputs=self.norm_columns(cols)))
                self.joins(node, scope, ctes)
                return
            outs = self.query(node.this, None, self.with_(node, ctes), correlated=False)
            through = self.through_of.get(id(node.this))
            if through is not None:
                self.an.passthroughs[through].adopted = True
            scope.sources.append(Source(self.alias_name(node), "derived", through=through,
                                         outputs=self.alias_columns(node) or outs))
            self.joins(node, scope, ctes)
            return
        if isinstance(node, exp.Lateral):
            inner = node.this
            outs = None
            if isinstance(inner, exp.Subquery) and isinstance(inner.this, exp.Query):
                outs = self.query(inner.this, scope, ctes, correlated=True)
            else:
                self.visit(inner, scope, ctes)
            scope.sources.append(Source(self.alias_name(node), "derived",
                                         outputs=self.alias_columns(node) or outs))
            return
        if isinstance(node, exp.Unnest):
            for e in node.expressions:
                self.visit(e, scope, ctes)
            cols = self.alias_columns(node)
            name = self.alias_name(node)
            outs = self.norm_columns(cols)
            if outs is not None and not name and self.dialect == "bigquery":
                name = outs[0]
            off = node.args.get("offset")
            if outs is not None and isinstance(off, exp.Expression) and off.name:
                outs = outs + (self.norm_alias(off.name) or "",)
            scope.sources.append(Source(name or "", "other", outputs=outs))
            return
        # VALUES, table functions and anything else: columns known only from an alias list
        self.visit(node, scope, ctes)
        cols = self.alias_columns(node)
        scope.sources.append(Source(self.alias_name(node), "other",
                                     outputs=self.norm_columns(cols)))

    # -- columns -------------------------------------------------------
    def star(self, item: exp.Expression, scope: Scope, through: int | None = None) -> None:
        """A star over the scope's sources (or a qualifier's); ``through``: the passthrough it makes."""
        sources: list[Source] = []
        if isinstance(item, exp.Column) and item.table:
            q = self.norm_alias(item.args.get("table"))
            s: Scope | None = scope
            while s is not None:
                sources = s.find(q or "")
                if sources:
                    break
                s = s.parent
        else:
            sources = scope.sources
        refs = [r for r in (self.src_ref(src) for src in sources) if r is not None]
        if through is None:
            for r in refs:
                self.an.refs[r].unknown_columns = True
        via = tuple(src.through for src in sources if src.through is not None)
        self.an.stars.append(StarUse(item, tuple(refs), through=through, via=via))

    # -- passthroughs --------------------------------------------------
    def src_ref(self, src: Source) -> int | None:
        """The reference whose columns a source gives: its own, or the one a passthrough reads."""
        if src.ref is not None:
            return src.ref
        return self.an.passthroughs[src.through].ref if src.through is not None else None

    def passthrough(self, node: exp.Select, scope: Scope) -> int | None:
        """Whether ``node`` is a passthrough: a CTE's or derived table's lone ``SELECT *`` (or
        ``SELECT t.*``) over exactly one relation (or one passthrough), without column aliases,
        star modifiers (EXCEPT, REPLACE, ...) or clauses that change its columns (joins,
        PIVOT, AS STRUCT, INTO, ...). Its columns are then the relation's, by name."""
        if any(_given(v) for k, v in node.args.items() if k not in _PASSTHROUGH_SELECT_ARGS):
            return None
        if len(node.expressions) != 1 or len(scope.sources) != 1:
            return None
        item, src = node.expressions[0], scope.sources[0]
        star = item.this if isinstance(item, exp.Column) else item
        if not isinstance(star, exp.Star) or any(_given(v) for v in star.args.values()):
            return None
        if isinstance(item, exp.Column) and (
                item.args.get("db") is not None or self.norm_alias(item.args.get("table")) != src.name):
            return None
        from_ = node.args.get("from_")
        table = from_.this if isinstance(from_, exp.From) else None
        if not isinstance(table, exp.Table) or not isinstance(table.this, exp.Identifier) or any(
                _given(v) for k, v in table.args.items() if k not in _PASSTHROUGH_TABLE_ARGS):
            return None
        if self.alias_columns(table) is not None:
            return None
        ref = self.src_ref(src) if src.kind == "table" or src.through is not None else None
        if ref is None:
            return None
        parent = node.parent
        if isinstance(parent, exp.CTE) and node.arg_key == "this":
            if self.alias_columns(parent) is not None:
                return None
        elif isinstance(parent, exp.Subquery) and node.arg_key == "this" and parent.arg_key == "this" \
                and isinstance(parent.parent, (exp.From, exp.Join)):
            if self.alias_columns(parent) is not None or any(
                    _given(v) for k, v in parent.args.items() if k not in ("this", "alias")):
                return None
        else:
            return None
        self.an.passthroughs.append(Passthrough(self.alias_name(parent) or "", ref, cte=isinstance(parent, exp.CTE)))
        index = len(self.an.passthroughs) - 1
        self.through_of[id(node)] = index
        self.made.append(index)
        return index

    def passthrough_use_problem(self, table: exp.Table) -> str | None:
        """Why reading a passthrough CTE here depends on its column names as a whole, if it does."""
        if not isinstance(table.parent, (exp.From, exp.Join)) or table.arg_key != "this":
            return "is read outside a FROM or JOIN, where the walk does not follow its columns"
        extra = sorted(k for k, v in table.args.items()
                       if _given(v) and k not in ("this", "alias", "sample", "joins", "laterals"))
        if extra:
            return f"is read with {', '.join({'pivots': 'PIVOT or UNPIVOT'}.get(k, k) for k in extra)}"
        if self.alias_columns(table) is not None:
            return "is given column names by position"
        return None

    def through_refs(self, sources: Sequence[Source]) -> tuple[int, ...]:
        return tuple(self.an.passthroughs[s.through].ref for s in sources if s.through is not None)

    def problem(self, index: int, node: exp.Expression, why: str) -> None:
        """A use of passthrough ``index`` that depends on its column names as a whole."""
        pt = self.an.passthroughs[index]
        pt.problems.append((why, node))
        self.an.refs[pt.ref].unknown_columns = True

    def whole_use(self, src: Source, node: exp.Expression, why: str) -> None:
        """A use of ``src``'s rows that depends on its column names as a whole: a passthrough's
        (``problem``), or a relation's read directly (``RefInfo.whole_uses``)."""
        if src.through is not None:
            self.problem(src.through, node, why)
        elif src.kind == "table" and src.ref is not None:
            self.an.refs[src.ref].whole_uses.append((why, node))
            self.an.refs[src.ref].unknown_columns = True

    def _mark_outputs(self, start: int) -> None:
        for use in self.an.columns[start:]:
            item = self.named_by_expression.get(id(use.node))
            if item is not None:
                use.output_item = item

    def lookup(self, scope: Scope | None, name: str) -> list[Source]:
        while scope is not None:
            found = scope.find(name)
            if found:
                return found
            scope = scope.parent
        return []

    def column(self, col: exp.Column, scope: Scope | None) -> None:
        if id(col) in self.handled or scope is None:
            return
        start = len(self.an.columns)
        self._column(col, scope)
        self._mark_outputs(start)

    def _column(self, col: exp.Column, scope: Scope) -> None:
        self.handled.add(id(col))
        if isinstance(col.this, exp.Star):
            self.star(col, scope)
            return
        if not col.args.get("table"):
            for src in self.lookup(scope, self.norm_column(col.this)):
                # `s` alone may be the whole row (PostgreSQL, BigQuery, DuckDB)
                self.whole_use(src, col, f"may be read as a whole row ({col.sql(self.dialect)})")
        projection = id(col) in self.projection_items
        aliased = self.projection_items.get(id(col), False)
        parts = [p for p in (col.args.get("catalog"), col.args.get("db"), col.args.get("table"), col.this)
                 if p is not None]
        names = [self.norm_column(p) for p in parts]
        if len(parts) == 1:
            if id(col) in self.alias_or_column:
                owners = tuple(r for r in (self.src_ref(src) for src in scope.sources) if r is not None)
                self.an.columns.append(ColumnUse(col, col.this, names[0], None, owners, False, False, False,
                                                 alias_conflict=True,
                                                 through_candidates=self.through_refs(scope.sources)))
                return
            self.unqualified(col, names[0], scope, projection, aliased)
            return
        # `q.col` (q a source), else `q.struct_col.field...` (BigQuery), else `struct_col.field...`
        for i in [len(parts) - 2, *range(len(parts) - 2)]:
            found = self.lookup(scope, names[i])
            if not found:
                continue
            ident = parts[i + 1]
            name = names[i + 1]
            is_bare = ident is col.this
            qualifier = tuple(parts[: i + 1])
            if len(found) == 1 and found[0].kind == "table" and found[0].ref is not None:
                r = found[0].ref
                self.an.refs[r].columns.add(name)
                qref = r if self.an.refs[r].alias is None else None
                self.an.columns.append(ColumnUse(col, ident, name, r, (r,), True, projection and is_bare,
                                                 aliased, qualifier_ref=qref, qualifier=qualifier))
            elif len(found) == 1 and found[0].through is not None:
                # `s.col` of a passthrough: the relation's column (the qualifier stays: it names s)
                r = self.an.passthroughs[found[0].through].ref
                self.an.refs[r].columns.add(name)
                self.an.columns.append(ColumnUse(col, ident, name, r, (r,), True, projection and is_bare,
                                                 aliased, via=found[0].through))
            elif len(found) > 1:
                refs = tuple(r for r in (self.src_ref(f) for f in found) if r is not None)
                for r in refs:
                    self.an.refs[r].unknown_columns = True
                self.an.columns.append(ColumnUse(col, ident, name, None, refs, True, projection and is_bare,
                                                 aliased, through_candidates=self.through_refs(found)))
            return
        if self.dialect in STRUCT_DOT_DIALECTS:
            self.unqualified(col, names[0], scope, projection, aliased, ident=parts[0])

    def unqualified(self, col: exp.Column, name: str, scope: Scope, projection: bool, aliased: bool,
                    ident: exp.Expression | None = None) -> None:
        struct = ident is not None
        ident = ident if ident is not None else col.this
        s: Scope | None = scope
        outer_possible = False
        while s is not None:
            owners = [src for src in s.sources if src.kind == "table" or src.outputs is None or name in src.outputs]
            if owners:
                refs = tuple(r for r in (self.src_ref(o) for o in owners) if r is not None)
                if len(owners) == 1:
                    r = self.src_ref(owners[0])
                    if r is not None:
                        self.an.refs[r].columns.add(name)
                    if s.sees_outer and s.parent is not None and (
                            owners[0].kind == "table" or owners[0].through is not None):
                        outer_possible = self._outer_has_candidates(s.parent, name)
                    self.an.columns.append(ColumnUse(col, ident, name, r, refs, False,
                                                     projection and not struct, aliased, outer_possible,
                                                     via=owners[0].through))
                else:
                    for r in refs:
                        self.an.refs[r].unknown_columns = True
                    self.an.columns.append(ColumnUse(col, ident, name, None, refs, False, projection and not struct,
                                                     aliased, through_candidates=self.through_refs(owners)))
                return
            if not s.sees_outer:
                return
            s = s.parent

    def _outer_has_candidates(self, scope: Scope | None, name: str) -> bool:
        while scope is not None:
            if any(src.kind == "table" or src.outputs is None or name in src.outputs for src in scope.sources):
                return True
            if not scope.sees_outer:
                return False
            scope = scope.parent
        return False

    # -- the statement handlers (deprecator.sql.statements) ---------------
    def dml(self, stmt: exp.Expression, ctes: Ctes, env: Ctes | None = None) -> None:
        """Walk an INSERT, UPDATE, DELETE or MERGE (``env``: its CTEs, when already resolved)."""
        raise NotImplementedError

    def target(self, node: exp.Expression, scope: Scope) -> int | None:
        """Register the written-to relation of ``node`` (a Table or a Schema) in ``scope``; its reference."""
        raise NotImplementedError


def _given(value: object) -> bool:
    """A node argument that is set (not None, False or an empty list)."""
    return value is not None and value is not False and value != []


_COLUMNS = getattr(exp, "Columns", None)   # DuckDB COLUMNS(*) / COLUMNS('regex')


def _reads_by_pattern(node: exp.Expression) -> bool:
    """A bare ``*`` in an expression other than COUNT(*) or a SELECT item, or DuckDB ``COLUMNS(...)``."""
    if _COLUMNS is not None and isinstance(node, _COLUMNS):
        return True
    if not isinstance(node, exp.Star):
        return False
    parent = node.parent
    return not isinstance(parent, (exp.Count, exp.Column)) and not (
        isinstance(parent, exp.Select) and node.arg_key == "expressions")
