"""Statements that wrap plain SQL: EXPLAIN, PREPARE, DECLARE ... CURSOR FOR, CREATE RULE ... DO.

sqlglot reads each as an opaque Command (and a rule with a list of actions as a
parse error), so the references in the SQL they wrap were never counted. Here a
wrapping statement is cut into its parts on the tokens of the text itself: the
wrapped statements are parsed from those tokens, so every name keeps its offsets
into the original text and the span-preserving rewrite works on them as on any
other statement. A part that does not parse keeps the text a fallback (``error``
says why), never clean.

Forms, per dialect:

* ``EXPLAIN [ANALYZE] [VERBOSE] stmt``, ``EXPLAIN (option, ...) stmt`` (PostgreSQL,
  Redshift, DuckDB), ``EXPLAIN [USING TABULAR|JSON|TEXT] stmt`` (Snowflake);
* ``PREPARE name [(type, ...)] AS stmt`` (PostgreSQL, Redshift, DuckDB);
* ``DECLARE name [BINARY] [ASENSITIVE|INSENSITIVE] [[NO] SCROLL] CURSOR
  [WITH|WITHOUT HOLD] FOR query`` (PostgreSQL, Redshift);
* ``CREATE [OR REPLACE] RULE name AS ON event TO table [WHERE condition]
  DO [ALSO|INSTEAD] {NOTHING | stmt | (stmt; stmt ...)}`` (PostgreSQL): the table
  is a reference of its own, the actions are statements, and ``NEW``/``OLD`` in
  the condition and actions stand for rows of that table.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Sequence

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError
from sqlglot.tokens import Token, TokenType

# Which dialects have each form.
_FORMS: dict[str, frozenset[str]] = {
    "EXPLAIN": frozenset({"postgres", "redshift", "duckdb", "snowflake"}),
    "PREPARE": frozenset({"postgres", "redshift", "duckdb"}),
    "DECLARE": frozenset({"postgres", "redshift"}),
    "RULE": frozenset({"postgres"}),
}
_DIALECTS = frozenset().union(*_FORMS.values())
# A statement starting with one of the forms: at the start or after a semicolon, past whitespace and
# comments. Only a quick test: a form it misses (say, a comment inside CREATE RULE) stays a Command.
_WORDS = re.compile(r"(?:^|;)(?:\s|--[^\n]*(?:\n|$)|/\*.*?\*/)*"
                    r"(?:explain|prepare|declare|create\s+(?:or\s+replace\s+)?rule)\b", re.IGNORECASE | re.DOTALL)
_EXPLAIN_FLAGS = {"ANALYZE", "ANALYSE", "VERBOSE"}
_CURSOR_FLAGS = {"BINARY", "ASENSITIVE", "INSENSITIVE", "NO", "SCROLL"}
_QUERY_STARTS = {TokenType.SELECT, TokenType.WITH, TokenType.VALUES, TokenType.TABLE, TokenType.L_PAREN}


@dataclass
class Wrapped:
    """One statement that wraps SQL, cut into its parts (each parsed with offsets into the text)."""

    form: str                                      # EXPLAIN | PREPARE | DECLARE | RULE
    statements: list[exp.Expr] = field(default_factory=list)   # the SQL it runs
    table: exp.Table | None = None                 # RULE: the relation the rule is on
    condition: exp.Expr | None = None              # RULE: its WHERE condition
    error: str | None = None                       # why (part of) it is not understood

    @property
    def label(self) -> str:
        """The statement as people name it (EXPLAIN, PREPARE, DECLARE, CREATE RULE)."""
        return "CREATE RULE" if self.form == "RULE" else self.form


def may_wrap(sql: str, dialect: str) -> bool:
    """A cheap test: could a statement of ``sql`` wrap SQL (one seems to start with one of the forms)?"""
    return dialect in _DIALECTS and _WORDS.search(sql) is not None


def _form(chunk: Sequence[Token], dialect: str) -> str | None:
    head = chunk[0].text.upper()
    if head in ("EXPLAIN", "PREPARE", "DECLARE"):
        return head if dialect in _FORMS[head] and len(chunk) > 1 else None
    if head == "CREATE" and dialect in _FORMS["RULE"]:
        words = [t.text.upper() for t in chunk[1:4]]
        if words[:1] == ["RULE"] or words[:3] == ["OR", "REPLACE", "RULE"]:
            return "RULE"
    return None


@lru_cache(maxsize=None)
def _plain_tokenizer(dialect: str) -> Any:
    """The dialect's tokenizer that reads every statement as tokens (no command's rest as one string)."""
    d = Dialect.get_or_raise(dialect)
    return type("WrappedTokenizer", (d.tokenizer_class,), {"COMMANDS": set()})(dialect=d)


def unwrap_chunks(chunks: Sequence[list[Token]], text: str, dialect: str) -> list[list[Token] | Wrapped] | None:
    """The statements of ``text`` (split into ``chunks`` by sqlglot's tokenizer), each wrapping one cut up.

    None when no statement wraps SQL. A rule's action list may hold semicolons:
    the chunks inside it belong to the rule.
    """
    forms = [_form(c, dialect) for c in chunks]
    if not any(forms):
        return None
    tokens = _plain_tokenizer(dialect).tokenize(text)
    starts = [t.start for t in tokens]
    out: list[list[Token] | Wrapped] = []
    taken = -1          # end offset of the last wrapping statement (chunks before it are inside it)
    for chunk, form in zip(chunks, forms):
        if chunk[0].start < taken:
            continue
        i = bisect.bisect_left(starts, chunk[0].start)
        if form is None or i >= len(tokens) or tokens[i].start != chunk[0].start:
            out.append(chunk)
            continue
        j = _statement_end(tokens, i, nested=form == "RULE")
        out.append(_unwrap(form, tokens[i:j], text, dialect))
        taken = tokens[j - 1].end + 1
    return out


def _statement_end(tokens: Sequence[Token], i: int, nested: bool) -> int:
    """Index of the semicolon that ends the statement starting at ``i`` (len(tokens) if none).

    ``nested``: semicolons inside parentheses do not end it (a rule's action list).
    """
    depth = 0
    for k in range(i, len(tokens)):
        tt = tokens[k].token_type
        if tt == TokenType.SEMICOLON and (depth == 0 or not nested):
            return k
        if tt == TokenType.L_PAREN:
            depth += 1
        elif tt == TokenType.R_PAREN:
            depth = max(0, depth - 1)
    return len(tokens)


def _close(tokens: Sequence[Token], k: int) -> int:
    """Index just after the parenthesis group opening at ``k`` (-1 when it is not closed)."""
    depth = 0
    for m in range(k, len(tokens)):
        if tokens[m].token_type == TokenType.L_PAREN:
            depth += 1
        elif tokens[m].token_type == TokenType.R_PAREN:
            depth -= 1
            if depth == 0:
                return m + 1
    return -1


def _word(tokens: Sequence[Token], k: int) -> str:
    return tokens[k].text.upper() if k < len(tokens) else ""


def _unwrap(form: str, tokens: Sequence[Token], text: str, dialect: str) -> Wrapped:
    w = Wrapped(form)
    if form == "RULE":
        _rule(w, tokens, text, dialect)
        return w
    k = _header_end(form, tokens, dialect)
    if k is None or k >= len(tokens):
        w.error = f"{form} not understood: the statement it wraps was not found"
        return w
    _inner(w, tokens[k:], text, dialect)
    return w


def _header_end(form: str, tokens: Sequence[Token], dialect: str) -> int | None:
    """Index of the wrapped statement's first token, after the form's own words."""
    k = 1
    if form == "EXPLAIN":
        if _word(tokens, k) == "(" and k + 1 < len(tokens) and tokens[k + 1].token_type not in _QUERY_STARTS:
            k = _close(tokens, k)                  # EXPLAIN (ANALYZE, BUFFERS) ...
            if k < 0:
                return None
        while _word(tokens, k) in _EXPLAIN_FLAGS:
            k += 1
        if dialect == "snowflake" and _word(tokens, k) == "USING":
            k += 2                                 # USING TABULAR | JSON | TEXT
        return k
    if form == "PREPARE":
        k = 2                                      # PREPARE name
        if _word(tokens, k) == "(":
            k = _close(tokens, k)                  # (int, text)
        return k + 1 if 0 <= k < len(tokens) and tokens[k].token_type == TokenType.ALIAS else None
    # DECLARE name [flags] CURSOR [WITH | WITHOUT HOLD] FOR query
    k = 2
    while _word(tokens, k) in _CURSOR_FLAGS:
        k += 1
    if _word(tokens, k) != "CURSOR":
        return None
    k += 1
    if _word(tokens, k) in ("WITH", "WITHOUT") and _word(tokens, k + 1) == "HOLD":
        k += 2
    return k + 1 if _word(tokens, k) == "FOR" else None


# What a wrapping statement may run: queries and DML (EXPLAIN also CREATE TABLE AS / MATERIALIZED VIEW).
_RUNNABLE = (exp.Query, exp.Values, exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.Create)


def _inner(w: Wrapped, tokens: Sequence[Token], text: str, dialect: str) -> None:
    """Parse the wrapped statements into ``w`` (a wrapped EXPLAIN/PREPARE/DECLARE is cut up in turn)."""
    pieces: list[list[Token]] = [[]]
    for t in tokens:
        if t.token_type == TokenType.SEMICOLON:
            pieces.append([])
        else:
            pieces[-1].append(t)
    for piece in pieces:
        if not piece:
            continue
        form = _form(piece, dialect)
        if form in ("EXPLAIN", "PREPARE", "DECLARE"):
            nested = _unwrap(form, piece, text, dialect)
            w.statements.extend(nested.statements)
            w.error = w.error or nested.error
            continue
        if w.form == "RULE" and piece[0].text.upper() == "NOTIFY":
            continue                               # NOTIFY channel[, payload]: names no relation
        try:
            parsed = [s for s in Dialect.get_or_raise(dialect).parser().parse(piece, text) if s is not None]
        except ParseError as e:
            first = e.errors[0] if e.errors else {}
            w.error = w.error or (f"the SQL {w.label} wraps did not parse: {first.get('description', e)} "
                                  f"(line {first.get('line')}, column {first.get('col')})")
            continue
        except Exception as e:  # sqlglot raises assorted errors on hostile input
            w.error = w.error or f"the SQL {w.label} wraps did not parse: {type(e).__name__}: {e}"
            continue
        if not all(isinstance(s, _RUNNABLE) for s in parsed):
            w.error = w.error or (f"the statement {w.label} wraps is not understood by the parser "
                                  f"({', '.join(type(s).__name__ for s in parsed)})")
            continue
        w.statements.extend(parsed)


def _rule(w: Wrapped, tokens: Sequence[Token], text: str, dialect: str) -> None:
    words = [t.text.upper() for t in tokens]
    try:
        to = words.index("TO")
        do = next(k for k in range(to + 1, len(tokens)) if words[k] == "DO")
    except (ValueError, StopIteration):
        w.error = "CREATE RULE not understood: no ON ... TO table ... DO"
        return
    where = next((k for k in range(to + 1, do) if tokens[k].token_type == TokenType.WHERE), do)
    if where + 1 == do or where == to + 1:
        w.error = "CREATE RULE not understood: an empty table name or WHERE condition"
        return
    parser = Dialect.get_or_raise(dialect).parser()
    try:
        table = parser.parse_into(exp.Table, list(tokens[to + 1:where]), text)[0]
        if where < do:
            w.condition = parser.parse_into(exp.Condition, list(tokens[where + 1:do]), text)[0]
    except Exception as e:  # ParseError and assorted others: the rule's head is not understood
        w.error = f"CREATE RULE not understood: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        return
    if isinstance(table, exp.Table):
        w.table = table
    k = do + 1
    if _word(tokens, k) in ("ALSO", "INSTEAD"):
        k += 1
    if _word(tokens, k) == "NOTHING" and k == len(tokens) - 1:
        return
    actions = tokens[k:]
    if actions and actions[0].token_type == TokenType.L_PAREN and _close(tokens, k) in (len(tokens), -1):
        if _close(tokens, k) < 0:
            w.error = "CREATE RULE not understood: the action list is not closed"
            return
        actions = tokens[k + 1:-1]
        if not any(t.token_type != TokenType.SEMICOLON for t in actions):
            return                                 # DO INSTEAD (): nothing
    if not actions:
        w.error = "CREATE RULE not understood: no action after DO"
        return
    _inner(w, actions, text, dialect)
