"""The statement handlers: what each kind of statement reads, writes or acts on.

``StatementAnalyzer`` extends the query walker (``deprecator.sql.scope.ScopeWalker``)
to a whole statement: the relation an INSERT, UPDATE, DELETE or MERGE writes (its
assigned columns included), CREATE, the statements that act on a relation (ALTER,
DROP, TRUNCATE, COMMENT, COPY, ...), and a last sweep that still records any
relation-shaped name the walk did not place. ``analyze_wrapped`` runs the SQL a
wrapping statement holds (``deprecator.sql.wrapped``: EXPLAIN, PREPARE, DECLARE
CURSOR, CREATE RULE).
"""

from __future__ import annotations

from typing import Sequence

from sqlglot import exp

from deprecator.sql import wrapped as _wrapped
from deprecator.sql.analysis import Analysis, ColumnUse, StarUse
from deprecator.sql.scope import DYNAMIC_IDENTIFIER, Ctes, Scope, ScopeWalker, Source, names_relation
from deprecator.sql.spans import table_parts
from deprecator.sql.temps import TempNames, creates_temporary

# Statements whose direct table arguments are what they act on (role target).
_ACTS_ON_RELATION = tuple(
    getattr(exp, name) for name in ("Drop", "Alter", "TruncateTable", "Copy", "Comment", "AlterRename",
                                    "RenameTable", "Analyze", "Refresh")
    if hasattr(exp, name)
)


class StatementAnalyzer(ScopeWalker):
    """Walks statement ``index`` of a text (``statement``) and records what it names into ``an``.

    ``temps`` carries the text's temporary relations from one statement to the next.
    """

    # -- statements ----------------------------------------------------
    def statement(self, stmt: exp.Expr) -> None:
        if isinstance(stmt, exp.Query):
            self.query(stmt, None, {}, correlated=False)
            self.sweep(stmt)
            return
        ctes = self.with_(stmt, {})
        if isinstance(stmt, (exp.Insert, exp.Update, exp.Delete, exp.Merge)):
            self.dml(stmt, {}, ctes)
        elif isinstance(stmt, exp.Create):
            self.create(stmt, ctes)
        else:
            self.other(stmt, ctes)
        self.sweep(stmt)

    def dml(self, stmt: exp.Expression, ctes: Ctes,
            env: Ctes | None = None) -> None:
        env = env if env is not None else self.with_(stmt, ctes)
        if isinstance(stmt, exp.Insert):
            self.insert(stmt, env)
        elif isinstance(stmt, exp.Update):
            self.update(stmt, env)
        elif isinstance(stmt, exp.Delete):
            self.delete(stmt, env)
        elif isinstance(stmt, exp.Merge):
            self.merge(stmt, env)

    def target(self, node: exp.Expression, scope: Scope) -> int | None:
        """Register the written-to relation (maybe inside a Schema column list)."""
        cols: list[str] | None = None
        table = node
        if isinstance(node, exp.Schema):
            table = node.this
            cols = []
            idents = []
            for c in node.expressions:
                ident = c.this if isinstance(c, (exp.ColumnDef, exp.Column)) else c
                if isinstance(ident, exp.Identifier):
                    cols.append(self.norm_column(ident))
                    idents.append((c, ident))
            if not cols:
                cols = None
        if not isinstance(table, exp.Table) or not names_relation(table, self.dialect):
            return None
        if self.temp_columns(table)[0]:
            # writing to the text's own temporary relation: not a warehouse relation
            self.handled.add(id(table))
            self.writes_temp = True
            scope.sources.append(Source(self.exposed_name(table), "cte", outputs=self.temp_columns(table)[1]))
            return None
        ref = self.add_ref(table, "target", cols if cols is not None else ())
        if isinstance(node, exp.Schema):
            for c, ident in idents:
                self.an.columns.append(ColumnUse(c, ident, self.norm_column(ident), ref, (ref,), False, False, False))
        scope.sources.append(Source(self.exposed_name(table), "table", ref=ref))
        return ref

    def insert(self, stmt: exp.Insert, ctes: Ctes) -> None:
        scope = Scope(None, False)
        ref = self.target(stmt.this, scope)
        if ref is not None and not isinstance(stmt.this, exp.Schema):
            self.an.refs[ref].unknown_columns = True
        expr = stmt.args.get("expression")
        if isinstance(expr, exp.Query):
            self.query(expr, None, ctes, correlated=False)
        else:
            self.visit(expr, None, ctes)
        conflict = stmt.args.get("conflict")
        if isinstance(conflict, exp.OnConflict):
            # conflict keys and SET targets are the target's columns; EXCLUDED is the proposed row
            for key in conflict.args.get("conflict_keys") or []:
                node = key.this if isinstance(key, exp.Ordered) else key
                if not self._target_column(node, ref):
                    self.visit(node, scope, ctes)
            upsert = Scope(None, False, [*scope.sources, Source("excluded", "other", outputs=None)])
            self._assignments(conflict.expressions, ref, upsert, ctes)
            self.visit_rest(conflict, ("expressions", "conflict_keys"), upsert, ctes)
        self.visit_rest(stmt, ("this", "expression", "with_", "conflict"), scope, ctes)

    def _target_column(self, lhs: exp.Expression, target: int | None) -> bool:
        """An assigned column (SET lhs, MERGE INSERT list) belongs to the target."""
        if isinstance(lhs, exp.Column) and target is None and self.writes_temp and not lhs.args.get("table"):
            self.handled.add(id(lhs))    # a column of the text's temporary relation
            return True
        if not isinstance(lhs, exp.Column) or target is None or lhs.args.get("table"):
            return False
        self.handled.add(id(lhs))
        name = self.norm_column(lhs.this)
        self.an.refs[target].columns.add(name)
        self.an.columns.append(ColumnUse(lhs, lhs.this, name, target, (target,), False, False, False))
        return True

    def _assignments(self, eqs: Sequence[exp.Expression], target: int | None, scope: Scope,
                     ctes: Ctes) -> None:
        for eq in eqs:
            if isinstance(eq, exp.EQ) and self._target_column(eq.this, target):
                self.visit(eq.expression, scope, ctes)
            else:
                self.visit(eq, scope, ctes)

    def update(self, stmt: exp.Update, ctes: Ctes) -> None:
        scope = Scope(None, False)
        target = self.target(stmt.this, scope)
        self.from_and_joins(stmt, scope, ctes)
        self._assignments(stmt.expressions, target, scope, ctes)
        self.visit_rest(stmt, ("this", "from_", "joins", "expressions", "with_"), scope, ctes)

    def delete(self, stmt: exp.Delete, ctes: Ctes) -> None:
        scope = Scope(None, False)
        self.target(stmt.this, scope)
        using = stmt.args.get("using")
        for u in (using if isinstance(using, list) else [using] if isinstance(using, exp.Expression) else []):
            self.source(u, scope, ctes)
        self.joins(stmt, scope, ctes)
        self.visit_rest(stmt, ("this", "using", "joins", "with_"), scope, ctes)

    def merge(self, stmt: exp.Merge, ctes: Ctes) -> None:
        scope = Scope(None, False)
        target = self.target(stmt.this, scope)
        using = stmt.args.get("using")
        if isinstance(using, exp.Expression):
            self.source(using, scope, ctes)
        self.visit(stmt.args.get("on"), scope, ctes)
        whens = stmt.args.get("whens")
        for when in (whens.expressions if isinstance(whens, exp.Whens) else []):
            self.visit(when.args.get("condition"), scope, ctes)
            then = when.args.get("then")
            if isinstance(then, exp.Update):
                self._assignments(then.expressions, target, scope, ctes)
            elif isinstance(then, exp.Insert):
                cols = then.this
                if isinstance(cols, exp.Tuple):
                    for c in cols.expressions:
                        if not self._target_column(c, target):
                            self.visit(c, scope, ctes)
                self.visit(then.args.get("expression"), scope, ctes)
            else:
                self.visit(then, scope, ctes)
        self.visit_rest(stmt, ("this", "using", "on", "whens", "with_"), scope, ctes)

    def create(self, stmt: exp.Create, ctes: Ctes) -> None:
        kind = str(stmt.args.get("kind") or "").upper()
        scope = Scope(None, False)
        if kind in ("TABLE", "VIEW") and creates_temporary(stmt, self.dialect):
            self.temp_target(stmt.this, True)
        elif kind in ("TABLE", "VIEW") or isinstance(stmt.this, (exp.Table, exp.Schema)) and kind not in (
            "FUNCTION", "PROCEDURE", "MACRO", "INDEX", "MODEL"
        ):
            ref = self.target(stmt.this, scope)
            if ref is not None and not isinstance(stmt.this, exp.Schema):
                self.an.refs[ref].unknown_columns = True
        elif kind == "INDEX":
            # CREATE INDEX i ON t (cols): the table is the relation, not the index name
            self.handled.update(id(t) for t in stmt.this.find_all(exp.Table) if t is stmt.this.this)
        else:
            self.handled.update(id(t) for t in stmt.this.find_all(exp.Table)) if isinstance(
                stmt.this, exp.Expression) else None
        expr = stmt.args.get("expression")
        if isinstance(expr, exp.Query):
            self.query(expr, None, ctes, correlated=False)
        else:
            self.visit(expr, None, ctes)
        self.visit_rest(stmt, ("this", "expression", "with_"), scope, ctes)

    def other(self, stmt: exp.Expr, ctes: Ctes) -> None:
        if isinstance(stmt, exp.Drop) and str(stmt.args.get("kind") or "").upper() == "MODEL":
            self.handled.update(id(t) for t in stmt.find_all(exp.Table))   # DROP MODEL: not a relation
            return
        direct = [stmt.args.get("this"), *(stmt.args.get("expressions") or []), *(stmt.args.get("tables") or [])]
        role = "target" if isinstance(stmt, _ACTS_ON_RELATION) else "source"
        for t in direct:
            if isinstance(t, exp.Table) and names_relation(t, self.dialect) and id(t) not in self.handled:
                if isinstance(stmt, exp.Drop) and self.temp_target(t, False):
                    continue    # DROP of the text's temporary relation ends its shadowing
                if self.temp_columns(t)[0]:
                    self.handled.add(id(t))
                    continue
                self.add_ref(t, role, None)
        for t in stmt.find_all(exp.Table):
            if id(t) not in self.handled and names_relation(t, self.dialect):
                self.add_ref(t, "source", None)

    def dynamic_name(self, table: exp.Table) -> None:
        """Record a relation named by a run-time value: IDENTIFIER($var), IDENTIFIER(:bind)."""
        arg = table.this.this
        if isinstance(arg, exp.Expression) and not (isinstance(arg, exp.Literal) and arg.is_string):
            # (a string that names no relation fails when it runs: nothing is read)
            self.an.dynamic_names.append(f"statement {self.index + 1} names a relation with "
                                         f"IDENTIFIER({arg.sql(dialect=self.dialect)}), which is known only "
                                         "when it runs")

    def sweep(self, stmt: exp.Expr) -> None:
        """Safety net: a relation-shaped Table the walk did not place is still a reference.

        The same pass records relations named by run-time values (``dynamic_name``).
        """
        for t in stmt.find_all(exp.Table):
            if DYNAMIC_IDENTIFIER is not None and isinstance(t.this, DYNAMIC_IDENTIFIER):
                self.dynamic_name(t)
            if id(t) in self.handled or not names_relation(t, self.dialect):
                continue
            if t.find_ancestor(exp.UserDefinedFunction) is not None:
                continue
            if self._cte_named(t):
                continue
            self.an.unplaced += 1
            self.add_ref(t, "source", None)
        ctes = {self.an.passthroughs[p].name: p for p in self.made if self.an.passthroughs[p].cte}
        if ctes:
            # its name read anywhere else (another CTE of the same name, a forward reference): not followed
            for t in stmt.find_all(exp.Table):
                named = ctes.get(self.norm_alias(t.this) or "") if isinstance(t.this, exp.Identifier) else None
                if named is None or id(t) in self.through_reads or len(table_parts(t)) != 1:
                    continue
                if t is not self.an.refs[self.an.passthroughs[named].ref].table:
                    self.problem(named, t, "is named where the walk does not resolve the name to it")
        for p in self.made:
            pt = self.an.passthroughs[p]
            if not pt.adopted and not pt.problems:
                self.problem(p, self.an.refs[pt.ref].table, "is not read as a CTE or derived table the walk follows")

    def _cte_named(self, table: exp.Table) -> bool:
        if not isinstance(table.this, exp.Identifier):
            return False
        if table.args.get("db") is not None or table.args.get("catalog") is not None:
            return False
        name = self.norm_alias(table.this)
        node: exp.Expr | None = table.parent
        while node is not None:
            w = node.args.get("with_")
            if isinstance(w, exp.With) and any(self.norm_alias(c.args["alias"].this) == name for c in w.expressions):
                return True
            node = node.parent
        return False


def statement_kind(stmt: exp.Expr) -> str:
    if isinstance(stmt, exp.Query):
        return "select"
    if isinstance(stmt, exp.Create):
        kind = str(stmt.args.get("kind") or "").lower().replace(" ", "_")
        props = stmt.args.get("properties")
        if props is not None and props.find(exp.MaterializedProperty) is not None:
            kind = "materialized_" + kind
        return "create_" + kind if kind else "create"
    if isinstance(stmt, exp.Command):
        return "command"
    name = type(stmt).__name__.lower()
    return {"truncatetable": "truncate"}.get(name, name)


def analyze_wrapped(an: Analysis, index: int, w: _wrapped.Wrapped, default_schema: Sequence[str],
                    default_catalog: str | None, temps: TempNames) -> None:
    """The SQL a wrapping statement runs, as statement ``index``; what is not understood is noted.

    A rule's table is a reference of its own (``create_rule``); ``NEW.col`` and
    ``OLD.col`` in its condition and actions are that table's columns.
    """
    rule_ref: int | None = None
    if w.table is not None:
        head = StatementAnalyzer(an, index, "create_rule", default_schema, default_catalog, temps)
        if names_relation(w.table, an.dialect) and not head.temp_columns(w.table)[0]:
            rule_ref = head.add_ref(w.table, "target", ())
        if w.condition is not None:
            head.visit(w.condition, None, {})
            head.sweep(w.condition)
            _rule_rows(an, head, w.condition, rule_ref)
    for stmt in w.statements:
        analyzer = StatementAnalyzer(an, index, statement_kind(stmt), default_schema, default_catalog, temps)
        analyzer.statement(stmt)
        if w.form == "RULE":
            _rule_rows(an, analyzer, stmt, rule_ref)
        temps.settle()
    if w.error is not None:
        an.opaque.append(f"statement {index + 1} ({w.label}): {w.error}")


def _rule_rows(an: Analysis, analyzer: StatementAnalyzer, node: exp.Expr, ref: int | None) -> None:
    """``NEW.col`` / ``OLD.col`` (and ``NEW.*``) in a rule: the columns of the rule's table."""
    if ref is None:
        return
    placed = {id(u.node) for u in an.columns}
    for col in node.find_all(exp.Column):
        qualifier = col.args.get("table")
        if qualifier is None or col.args.get("db") is not None or id(col) in placed:
            continue
        if analyzer.norm_alias(qualifier) not in ("new", "old"):
            continue
        if isinstance(col.this, exp.Star):
            # the row of the rule's table: its columns cannot be known (the star, not the
            # qualifier, is recorded, so a rewrite never renames NEW itself)
            an.refs[ref].unknown_columns = True
            an.stars.append(StarUse(col.this, (ref,)))
            continue
        name = analyzer.norm_column(col.this)
        an.refs[ref].columns.add(name)
        an.columns.append(ColumnUse(col, col.this, name, ref, (ref,), True, id(col) in analyzer.projection_items,
                                    analyzer.projection_items.get(id(col), False)))
