"""Span-preserving rewrite: replace references to deprecated relations in place.

Only the spans of the references (and of provably owned, renamed columns) are
replaced; every other byte of the text stays as the author wrote it. When a
safe rewrite cannot be proven, the original text comes back with blockers.
"""

from __future__ import annotations

from typing import Sequence

from sqlglot import exp
from sqlglot.tokens import TokenType

from deprecator.sql import pgunicode
from deprecator.sql.analysis import Analysis, RefInfo
from deprecator.sql.bigquery import decorator, is_wildcard
from deprecator.sql.model import Blocker, BlockerKind, Edit, RelationName, RewriteResult, RewriteRule, wildcard_covers
from deprecator.sql.names import column_name, column_text_name, get_dialect, normalize_part, render_part
from deprecator.sql.prepass import POSTGRES_FAMILY, neutralize_placeholders
from deprecator.sql.references import analyze
from deprecator.sql.spans import meta_span, part_spans, table_parts


def columns_differ(rule: RewriteRule) -> bool:
    """Whether ``SELECT *`` over the old relation could change meaning on the new one."""
    if rule.columns and any(k != v for k, v in rule.columns.items()):
        return True
    if rule.removed_columns:
        return True
    if rule.old_columns is not None and rule.new_columns is not None:
        return tuple(rule.old_columns) != tuple(rule.new_columns)
    return False


class _Rewriter:
    def __init__(self, an: Analysis, rules: Sequence[RewriteRule]) -> None:
        self.an = an
        self.sql = an.sql
        self.dialect = an.dialect
        self.rules = list(rules)
        self.edits: dict[tuple[int, int], str] = {}
        self.blockers: list[Blocker] = []
        # normalized column maps per rule
        self.colmap = [
            {self._norm_col(k): self._norm_col(v) for k, v in r.columns.items()} for r in self.rules
        ]
        self.removed = [frozenset(self._norm_col(c) for c in r.removed_columns) for r in self.rules]
        # names the replacement has that the old relation may not: a column read through a
        # passthrough under such a name may be another relation's today, and the passthrough's after
        self.gained = [frozenset(m.values()) - frozenset(m) | (
            frozenset(self._norm_col(c) for c in r.new_columns) - frozenset(self._norm_col(c) for c in r.old_columns)
            if r.new_columns is not None and r.old_columns is not None else frozenset())
            for m, r in zip(self.colmap, self.rules)]
        # the new names as the registry spells them (a quoted name keeps its case when written)
        self.coltext = [{self._norm_col(k): self._col_text(v) for k, v in r.columns.items()} for r in self.rules]
        self.matched: dict[int, int] = {}   # ref index -> rule index
        self.alias_needed: set[int] = set()  # un-aliased references that must keep their old name

    def _norm_col(self, name: str) -> str:
        """A column name from the registry, spelt as the SQL identifier (``column_name``): quoted
        to keep its case (escaped quotes unescaped), unquoted to fold."""
        try:
            return column_name(name, self.dialect)
        except ValueError:   # the registry refuses such a name; a direct caller gets it as typed
            return normalize_part(name.strip(), False, self.dialect, table_part=False)

    def _col_text(self, name: str) -> str:
        try:
            return column_text_name(name, self.dialect)
        except ValueError:
            return self._norm_col(name)

    def block(self, kind: BlockerKind, reason: str, relation: str | None, offset: int | None,
              column_name: str | None = None) -> None:
        line = column = None
        if offset is not None:
            line, column = self.an.position(offset)
        b = Blocker(reason, relation, line, column, kind, column_name)
        if b not in self.blockers:
            self.blockers.append(b)

    def edit(self, start: int, end: int, new: str) -> None:
        if self.sql[start:end] != new:
            self.edits[(start, end)] = new

    # -- relations -----------------------------------------------------
    def match(self) -> None:
        for i, ref in enumerate(self.an.refs):
            if self.dialect == "bigquery" and is_wildcard(ref.relation.name):
                # which tables a pattern reads is decided when it runs: never rewritten
                for rule in self.rules:
                    if rule.old.matches(ref.relation) or wildcard_covers(ref.relation, rule.old):
                        self.block("wildcard_table", f"wildcard table {self.sql[ref.start:ref.end]} reads {rule.old} (and every "
                                   f"table whose name starts with {ref.relation.name[:-1]!r}): a wildcard reference "
                                   "is never rewritten automatically; name the tables it should read, or rewrite "
                                   "it by hand", str(rule.old), ref.start)
                continue
            for k, rule in enumerate(self.rules):
                if rule.old.matches(ref.relation):
                    self.matched[i] = k
                    break
            else:
                # a search path can make an unqualified name resolve to a deprecated relation
                for k, rule in enumerate(self.rules):
                    if any(rule.old.matches(c) for c in ref.candidates[1:]):
                        self.block(
                            "search_path", f"unqualified name {ref.table.name!r} may resolve to {rule.old} through the "
                            "search path; qualify it or rewrite by hand",
                            str(rule.old), ref.start)

    def new_parts(self, ref: RefInfo, rule: RewriteRule) -> tuple[list[str | None], list[str | None]]:
        """The new name's parts to write and the old values they replace, aligned from the right."""
        new, old = rule.new, ref.relation
        count = ref.parts
        new_catalog = new.catalog if new.catalog is not None else old.catalog
        if new.catalog is not None and new.catalog != old.catalog:
            count = 3   # another database/project (or one the text's defaults cannot confirm)
        elif new.schema != old.schema:
            count = max(count, 2)
        values: list[str | None] = [new_catalog, new.schema, new.name][3 - count:]
        olds: list[str | None] = [old.catalog, old.schema, old.name][3 - count:]
        if any(v is None for v in values):
            keep = [i for i, v in enumerate(values) if v is not None]
            values = [values[i] for i in keep]
            olds = [olds[i] for i in keep]
        last = ref.table.this
        dec = decorator(last.name) if self.dialect == "bigquery" and isinstance(last, exp.Identifier) else ""
        if dec:     # `p.d.t$20230101` -> `p.d.t_v2$20230101`: the partition or snapshot stays
            values[-1], olds[-1] = f"{values[-1]}{dec}", f"{olds[-1]}{dec}"
        return values, olds

    def relation_edits(self, ref: RefInfo, rule: RewriteRule) -> list[tuple[int, int, str]]:
        """(start, end, text) edits that make the written name the new one.

        Each written part is replaced in its own span, and only when its value
        changes, so the whitespace and comments between parts stay as written;
        parts the new name needs in front (another schema or database) are
        written before the first part; written parts it lacks are dropped with the
        dot after them.
        """
        values, olds = self.new_parts(ref, rule)
        spans = part_spans(self.sql, table_parts(ref.table))
        if spans is None:
            return [(ref.start, ref.end, self.relation_text(ref, values))]
        out = []
        if len(values) < len(spans):
            drop = len(spans) - len(values)
            out.append((spans[0][0], spans[drop][0], ""))
            spans = spans[drop:]
        texts = [self.sql[s:e] for s, e in spans]
        extra = len(values) - len(spans)
        for j, (s, e) in enumerate(spans):
            v, text = values[extra + j], texts[j]
            if v != olds[extra + j]:
                text = render_part(v or "", self.dialect, quote=text[:1] in '"`[', like=text)
            out.append((s, e, text))
        if extra:
            quoted_style = all(t[:1] in '"`[' for t in texts)
            head = "".join(render_part(v or "", self.dialect, quote=quoted_style, like=texts[0]) + "."
                           for v in values[:extra])
            out[0] = (out[0][0], out[0][1], head + out[0][2])
        return out

    def relation_text(self, ref: RefInfo, values: list[str | None]) -> str:
        """The whole new name, for a written name whose parts cannot be told apart."""
        written = self.sql[ref.start:ref.end]
        parts_written = table_parts(ref.table)
        # one backtick pair around the whole name, as BigQuery authors often write it
        if self.dialect == "bigquery" and len(parts_written) > 1 and written.startswith("`") \
                and written.endswith("`") and written.count("`") == 2:
            return "`" + ".".join(v for v in values if v is not None) + "`"
        quoted_style = bool(parts_written) and all(
            isinstance(p, exp.Identifier) and p.quoted for p in parts_written)
        return ".".join(render_part(v or "", self.dialect, quote=quoted_style) for v in values)

    def _ident_span(self, ident: exp.Expression) -> tuple[int, int]:
        return meta_span(ident) or (-1, -1)

    def relations(self) -> None:
        for i, k in self.matched.items():
            ref, rule = self.an.refs[i], self.rules[k]
            if ref.dynamic:
                self.block("dynamic_name", f"named by a Snowflake IDENTIFIER('{self.an.sql[ref.start:ref.end]}') string, "
                           "which is not rewritten; edit the string by hand", str(rule.old), ref.start or None)
                continue
            if not ref.exact:
                self.block("no_position", "the parser gave no exact position for this reference", str(rule.old),
                           ref.start or None)
                continue
            edits = self.relation_edits(ref, rule)
            if i in self.alias_needed:
                s, e, text = edits[-1]
                edits[-1] = (s, e, text + " AS " + render_part(ref.relation.name, self.dialect, table_part=False,
                                                                like=ref.table.this.name))
            for s, e, text in edits:
                self.edit(s, e, text)

    # -- columns -------------------------------------------------------
    def column_text(self, ident: exp.Expression, new: str) -> str:
        quoted = isinstance(ident, exp.Identifier) and bool(ident.quoted)
        s, e = self._ident_span(ident)
        like = self.sql[s:e] if s >= 0 else None
        return render_part(new, self.dialect, quote=quoted, like=like, table_part=False)

    def columns(self) -> None:
        deprecated = set(self.matched)
        for use in self.an.columns:
            owners = [r for r in use.candidates if r in deprecated]
            where = self._ident_span(use.ident)[0]
            if use.ref is None:
                for r in owners:
                    k = self.matched[r]
                    if use.name in self.gained[k]:
                        gives = (f"gives {use.name!r} through a SELECT * CTE or derived table"
                                 if r in use.through_candidates else f"has a column {use.name!r}")
                        self.block("ambiguous_column", f"column {use.name!r} could belong to another relation in "
                                   f"scope, and {self.rules[k].new} {gives}; qualify it", str(self.rules[k].old),
                                   where, use.name)
                    if use.name in self.colmap[k] or use.name in self.removed[k]:
                        if use.alias_conflict:
                            self.block("ambiguous_column", f"{use.name!r} may name an output alias or a column "
                                       f"of {self.rules[k].old}; qualify it", str(self.rules[k].old), where, use.name)
                        else:
                            self.block("ambiguous_column", f"column {use.name!r} could belong to "
                                       f"{self.rules[k].old} or another relation in scope; qualify it",
                                       str(self.rules[k].old), where, use.name)
                continue
            if use.ref not in deprecated:
                if use.outer_possible:
                    for k in set(self.matched.values()):
                        if use.name in self.colmap[k] or use.name in self.removed[k]:
                            self.block("ambiguous_column", f"column {use.name!r} in a correlated subquery could "
                                       f"belong to {self.rules[k].old}; qualify it", str(self.rules[k].old), where,
                                       use.name)
                continue
            k = self.matched[use.ref]
            rule = self.rules[k]
            if use.outer_possible and use.name in self.gained[k]:
                reader = (f"{self.an.passthroughs[use.via].name or 'the derived table'} (SELECT * over {rule.old}) "
                          f"has a column {use.name!r} once it reads {rule.new}" if use.via is not None
                          else f"{rule.new}, which replaces {rule.old} in it, has a column {use.name!r}")
                self.block("ambiguous_column", f"column {use.name!r} in a correlated subquery may be an outer "
                           f"query's column today, and {reader}; qualify it", str(rule.old), where, use.name)
                continue
            if use.qualifier_ref is not None and use.qualifier_ref in deprecated:
                self.qualifier(use.qualifier, use.qualifier_ref)
            if use.name in self.removed[k]:
                self.block("removed_column", f"column {use.name!r} of {rule.old} is removed in {rule.new}",
                           str(rule.old), where, use.name)
                continue
            new = self.colmap[k].get(use.name)
            if new is None or new == use.name:
                continue
            s, e = self._ident_span(use.ident)
            end_quote = get_dialect(self.dialect).IDENTIFIER_END
            if s < 0 or (use.ident.name not in self.sql[s:e]    # "we""ird": the quote is written twice
                         and use.ident.name.replace(end_quote, end_quote * 2) not in self.sql[s:e]
                         and not pgunicode.spells(self.sql[s:e], use.ident.name)):   # U&"cust\005fid"
                self.block("no_position", f"no exact position for column {use.name!r}", str(rule.old), None,
                           use.name)
                continue
            if use.output_item is not None and _output_name_follows(use.output_item, use.node, self.dialect):
                self.block("output_name", f"renaming column {use.name!r} inside an unaliased SELECT expression "
                           "would change the output column name; give the expression an alias", str(rule.old), where,
                           use.name)
                continue
            text = self.column_text(use.ident, self.coltext[k].get(use.name, new))
            if use.projection and not use.aliased and use.ident is getattr(use.node, "this", None):
                text = f"{text} AS {self.sql[s:e]}"
            self.edit(s, e, text)

    def qualifier(self, parts: Sequence[exp.Expression], ref_index: int) -> None:
        """``customer_facts.x`` qualified by the bare table name follows the table's new name."""
        ref = self.an.refs[ref_index]
        rule = self.rules[self.matched[ref_index]]
        spans = [self._ident_span(p) for p in parts]
        if not parts or any(s < 0 for s, _ in spans):
            self.block("no_position", "no exact position for a column qualifier", str(rule.old), None)
            return
        start, end = min(s for s, _ in spans), max(e for _, e in spans)
        if len(parts) == 1 and self.dialect == "bigquery":
            # In BigQuery `metrics.x` may mean the table or a struct column named like
            # it; keeping the range variable's name (new_table AS metrics) keeps the meaning.
            if rule.new.name != ref.relation.name:
                self.alias_needed.add(ref_index)
            return
        if len(parts) == 1:
            like = self.sql[start:end]
            quoted = isinstance(parts[0], exp.Identifier) and bool(parts[0].quoted)
            self.edit(start, end, render_part(rule.new.name, self.dialect, quote=quoted, like=like))
        else:
            values = [v for v in (rule.new.catalog or ref.relation.catalog, rule.new.schema, rule.new.name)
                      if v is not None][-len(parts):]
            olds = [v for v in (ref.relation.catalog, ref.relation.schema, ref.relation.name)
                    if v is not None][-len(parts):]
            each = part_spans(self.sql, parts)
            if each is None or len(values) != len(parts) or len(olds) != len(parts):
                self.edit(start, end, ".".join(render_part(v, self.dialect) for v in values))
                return
            for (s, e), v, o in zip(each, values, olds):   # part by part, keeping the layout between
                if v != o:
                    text = self.sql[s:e]
                    self.edit(s, e, render_part(v, self.dialect, quote=text[:1] in '"`[', like=text))

    def structure(self) -> None:
        deprecated = set(self.matched)
        for star in self.an.stars:
            for r in star.refs:
                if r in deprecated and columns_differ(self.rules[self.matched[r]]):
                    rule = self.rules[self.matched[r]]
                    if star.through is not None:
                        # a CTE / derived table passing the relation's columns through: read by name
                        # (those names are renamed), unless a use depends on its columns as a whole
                        pt = self.an.passthroughs[star.through]
                        label = repr(pt.name) if pt.name else "a derived table"
                        for why, node in pt.problems:
                            self.block("select_star", f"SELECT * over {rule.old} in {label}, whose columns differ "
                                       f"in {rule.new}: {label} {why}, so its columns would change names; list the "
                                       "columns", str(rule.old), self._node_start(node) or self._node_start(star.node))
                        continue
                    via = [self.an.passthroughs[p] for p in star.via if self.an.passthroughs[p].ref == r]
                    if via:
                        label = repr(via[0].name) if via[0].name else "a derived table"
                        self.block("select_star", f"SELECT * over {label}, which is SELECT * over {rule.old}, whose "
                                   f"columns differ in {rule.new}: the output columns would change names; list the "
                                   "columns", str(rule.old), self._node_start(star.node))
                        continue
                    self.block("select_star", f"SELECT * over {rule.old} whose columns differ in {rule.new}; list the columns",
                               str(rule.old), self._node_start(star.node))
            if isinstance(star.node, exp.Column) and star.node.args.get("table") is not None:
                parts = [p for p in (star.node.args.get("catalog"), star.node.args.get("db"),
                                     star.node.args.get("table")) if p is not None]
                for r in star.refs:
                    if r in deprecated and self.an.refs[r].alias is None:
                        self.qualifier(parts, r)
        for join in self.an.joins:
            hit = [r for r in join.refs if r in deprecated]
            for r in hit:
                k = self.matched[r]
                rule = self.rules[k]
                if join.kind == "natural" and columns_differ(rule):
                    self.block("natural_join", f"NATURAL JOIN with {rule.old} whose columns differ in {rule.new}",
                               str(rule.old), self.an.refs[r].start)
                if join.kind == "using":
                    for name in join.columns:
                        if name in self.colmap[k] or name in self.removed[k]:
                            self.block("using_join", f"JOIN ... USING ({name}) on a renamed or removed column "
                                       f"of {rule.old}", str(rule.old), self.an.refs[r].start, name)
        for r in deprecated:
            ref = self.an.refs[r]
            rule = self.rules[self.matched[r]]
            if columns_differ(rule):
                # its rows read as a whole, directly (a passthrough's such uses are its problems, above)
                label = ref.alias or self.sql[ref.start:ref.end]
                for why, node in ref.whole_uses:
                    self.block("select_star", f"{rule.old} ({label}) {why}, and its columns differ in {rule.new}, "
                               "so what is read would change names; list the columns", str(rule.old),
                               self._node_start(node) or ref.start)
            elif ref.alias is None and rule.new.name != ref.relation.name:
                # `row_to_json(customer_facts) FROM customer_facts`: the row's name is the table's own
                for why, node in ref.whole_uses:
                    if isinstance(node, exp.Column):
                        self.block("other", f"{rule.old} {why} by its own name, which is gone once it reads "
                                   f"{rule.new}; give it an alias (FROM {self.sql[ref.start:ref.end]} AS "
                                   f"{node.sql(self.dialect)}) or rewrite by hand", str(rule.old),
                                   self._node_start(node) or ref.start)
            if isinstance(ref.table.parent, exp.Insert) and columns_differ(rule):
                self.block("insert_columns", f"INSERT into {rule.old} without a column list, whose columns differ in {rule.new}",
                           str(rule.old), ref.start)

    def _node_start(self, node: exp.Expression) -> int | None:
        for n in node.walk():
            if isinstance(n, exp.Expression):
                s, _ = self._ident_span(n)
                if s >= 0:
                    return s
        return None

    def apply(self) -> str:
        out, pos = [], 0
        for (s, e), new in sorted(self.edits.items()):
            if s < pos:
                raise ValueError("overlapping edits")
            out.append(self.sql[pos:s])
            out.append(new)
            pos = e
        out.append(self.sql[pos:])
        return "".join(out)


def unicode_identifiers(sql: str, dialect: str) -> list[int]:
    """Offsets of PostgreSQL ``U&"..."`` identifiers the engine could not decode (PostgreSQL would refuse
    them too), which sqlglot tokenizes as ``U``, ``&``, ``"..."``.

    Such a text parses (as a bitwise AND of two columns) wherever an expression
    may stand, so nothing else tells that a name went unread. (Identifiers that
    decode are read as the names they spell: see ``deprecator.sql.pgunicode``.)
    """
    if dialect not in POSTGRES_FAMILY or '&"' not in sql:
        return []
    try:
        tokens = get_dialect(dialect).tokenize(neutralize_placeholders(sql))
    except Exception:  # TokenError: the text did not parse either
        return []
    decoded = ({start for start, _, _ in pgunicode.identifiers(neutralize_placeholders(sql))}
               if dialect == "postgres" else set())
    return [u.start for u, amp, ident in zip(tokens, tokens[1:], tokens[2:])
            if u.token_type == TokenType.VAR and u.text in ("U", "u") and amp.token_type == TokenType.AMP
            and ident.token_type == TokenType.IDENTIFIER and u.end + 1 == amp.start and amp.end + 1 == ident.start
            and u.start not in decoded]


def _output_name_follows(item: exp.Expression, col: exp.Expression, dialect: str) -> bool:
    """Whether an unaliased SELECT expression's output name is derived from ``col``.

    Postgres names ``x::text`` and ``(x)`` after the column (other expressions after
    the function, or ``?column?``); BigQuery names expressions ``f0_``; most other
    engines use the expression's text, which any rename changes.
    """
    chain: list[exp.Expr] = []
    node: exp.Expr | None = col.parent
    while node is not None and node is not item:
        chain.append(node)
        node = node.parent
    chain.append(item)
    if dialect in ("postgres", "redshift"):
        return all(isinstance(n, (exp.Cast, exp.Paren)) for n in chain)
    if dialect == "bigquery":
        return all(isinstance(n, exp.Paren) for n in chain)
    return True


def rewrite(
    sql: str,
    dialect: str,
    rules: Sequence[RewriteRule],
    default_schema: Sequence[str] | str | None = (),
    default_catalog: str | None = None,
    *,
    analysis: Analysis | None = None,
) -> RewriteResult:
    """Rewrite references to ``rule.old`` into ``rule.new`` in place.

    Returns the original text with blockers when the rewrite cannot be proven
    safe; ``rewrite(sql, d, [])`` is always the identity. ``analysis``: the
    result of ``analyze`` on the same text and settings, to avoid parsing twice.
    """
    if analysis is not None and analysis.sql != sql:
        analysis = None
    if not rules:
        an_status = analysis or analyze(sql, dialect, default_schema, default_catalog)
        return RewriteResult(text=sql, status=an_status.status, error=an_status.error)
    an = analysis or analyze(sql, dialect, default_schema, default_catalog)
    if an.status != "parsed":
        blocker = Blocker(f"could not parse ({an.status}): {an.error}", None, None, None, "unparsed")
        return RewriteResult(text=sql, status=an.status, blockers=(blocker,), error=an.error)
    rw = _Rewriter(an, rules)
    rw.match()
    if rw.matched:
        relation = str(rw.rules[min(rw.matched.values())].old)
        for offset in unicode_identifiers(sql, dialect):
            rw.block("unicode_identifier", 'a PostgreSQL Unicode identifier (U&"...") that does not decode is read by the parser as '
                     '"U & ...", so a column it names cannot be renamed; rewrite by hand', relation, offset)
    rw.columns()
    rw.structure()
    rw.relations()
    if rw.blockers:
        return RewriteResult(text=sql, status="parsed", blockers=tuple(rw.blockers))
    try:
        text = rw.apply()
    except ValueError:
        return RewriteResult(text=sql, status="parsed", blockers=(
            Blocker("internal: overlapping edits; rewrite by hand", kind="internal"),))
    edits = tuple(Edit(s, e, sql[s:e], new) for (s, e), new in sorted(rw.edits.items()))
    problem = _verify(text, dialect, rules, default_schema, default_catalog, an) if edits else None
    if problem:
        return RewriteResult(text=sql, status="parsed", blockers=(Blocker(problem, kind="verify"),))
    return RewriteResult(text=text, status="parsed", edits=edits)


def _verify(text: str, dialect: str, rules: Sequence[RewriteRule], default_schema: Sequence[str] | str | None,
            default_catalog: str | None, before: Analysis) -> str | None:
    """The rewritten text must parse, name no old relation and expose no name twice in a FROM."""
    an = analyze(text, dialect, default_schema, default_catalog)
    if an.status != "parsed":
        return f"the rewritten text does not parse: {an.error}"
    if an.name_clashes > before.name_clashes:
        return ("the replacement's name collides with another relation in the same FROM clause; "
                "give one of them an alias")
    for ref in an.refs:
        for rule in rules:
            if rule.old.matches(ref.relation) and not rule.new.matches(ref.relation):
                return f"the rewritten text still references {rule.old}"
    return None


__all__ = ["rewrite", "columns_differ", "RelationName"]
