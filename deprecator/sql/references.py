"""Find every physical relation a SQL text references, with exact spans: the parse driver.

``analyze`` runs the steps in order: the nesting limit, the text pre-pass
(``deprecator.sql.prepass``), parsing (statement by statement, on sqlglot's own
semicolon tokens, when the whole text does not parse or has statements wrapping
SQL), the scope walk of each statement (``deprecator.sql.statements`` over
``deprecator.sql.scope``, temporary relations carried across statements by
``deprecator.sql.temps``), and the text's status: ``parsed``, ``fallback`` (opaque
Commands, relations named at run time, wrapped SQL not understood) or ``error``,
never "no references" for a text that was not understood. ``find_references``
gives the public ``ParseResult``.
"""

from __future__ import annotations

import re
from typing import Sequence

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Token, TokenType

from deprecator.sql import bigquery as _bq
from deprecator.sql import pgunicode as _pgunicode
from deprecator.sql import wrapped as _wrapped
from deprecator.sql.analysis import Analysis, line_offsets, to_references
from deprecator.sql.logs import quiet_sqlglot
from deprecator.sql.model import ParseResult
from deprecator.sql.prepass import neutralize_placeholders, parser_text
from deprecator.sql.spans import part_spans
from deprecator.sql.spans import table_parts as _table_parts  # noqa: F401  (tests/sql/test_sql_engine.py imports it)
from deprecator.sql.statements import StatementAnalyzer, analyze_wrapped, statement_kind
from deprecator.sql.temps import TempNames

__all__ = ["MAX_NESTING", "analyze", "find_references", "nesting_depth", "part_spans", "to_references"]

_bq.install()   # BigQuery ML functions that name a model (ML.EVALUATE(MODEL m, ...))


# Deeper parenthesis nesting is refused before parsing: pure-Python sqlglot raises
# RecursionError at about 120 nested subqueries and the compiled build (sqlglotc)
# can crash the process on extreme nesting. Real queries stay far below (the
# bigquery-etl corpus peaks at 8), so the same limit holds for both builds.
MAX_NESTING = 100
_PARENS = re.compile(r"[()]")


def nesting_depth(sql: str) -> int:
    """Maximum parenthesis depth (strings and comments included: an upper bound)."""
    if sql.count("(") <= MAX_NESTING:
        return sql.count("(")
    depth = deepest = 0
    for m in _PARENS.finditer(sql):
        if m.group() == "(":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _parse(sql: str, dialect: str) -> list[exp.Expr | _wrapped.Wrapped | None]:
    if _wrapped.may_wrap(sql, dialect):
        # statement by statement, those wrapping SQL cut up (a failure: as a text that does not parse)
        split = _parse_statements(sql, dialect, wrapping_only=True)
        if split is not None and not split[1]:
            return list(split[0])
    text = parser_text(sql, dialect)
    return list(sqlglot.parse(text, read=dialect))


def _error_message(e: Exception) -> str:
    if isinstance(e, ParseError) and e.errors:
        first = e.errors[0]
        return f"{first.get('description')} (line {first.get('line')}, column {first.get('col')})"
    return str(e).splitlines()[0] if str(e) else type(e).__name__


def _statement_chunks(sql: str, dialect: str) -> list[list[Token]]:
    """The text's statements as token lists, split where sqlglot itself splits.

    Tokens keep their offsets into the original text (the placeholder pre-pass keeps
    every length), so whatever is parsed from a chunk has exact spans. A semicolon
    is a separator only as a token: inside a string, comment, quoted identifier or
    dollar-quoted body it is part of that token. Like sqlglot's own parser, every
    semicolon token separates (not only those outside parentheses), so an unclosed
    parenthesis in a broken statement cannot swallow the statements after it, and a
    semicolon carrying a trailing comment is a statement of its own, so statement
    indexes match those of a text that parses whole.
    """
    text = parser_text(sql, dialect)
    tokens = Dialect.get_or_raise(dialect).tokenize(text)
    chunks: list[list[Token]] = [[]]
    for i, token in enumerate(tokens):
        if token.token_type == TokenType.SEMICOLON:
            if token.comments:
                chunks.append([token])
            if i < len(tokens) - 1:
                chunks.append([])
        else:
            chunks[-1].append(token)
    return [c for c in chunks if c]


def _parse_statements(sql: str, dialect: str, wrapping_only: bool = False,
                      ) -> tuple[list[exp.Expr | _wrapped.Wrapped | None], list[tuple[int, int, str]]] | None:
    """Parse each statement of a text that does not parse whole, or that has statements wrapping SQL.

    Returns the statements (None where one failed, so indexes stay those of the
    text; a ``Wrapped`` for each statement wrapping SQL) and the failures as
    (index, line, message); None when the text cannot be split (tokenizer failure)
    or, wrapping nothing, holds a single statement, so today's whole-text error stands
    (``wrapping_only``: None as soon as no statement wraps SQL).
    """
    try:
        chunks = _statement_chunks(sql, dialect)
    except Exception:  # TokenError or worse: nothing to split on
        return None
    text = parser_text(sql, dialect)
    try:
        units = _wrapped.unwrap_chunks(chunks, text, dialect) if _wrapped.may_wrap(sql, dialect) else None
    except Exception:  # TokenError: read the statements as sqlglot does
        units = None
    if units is None and wrapping_only:
        return None
    parser = Dialect.get_or_raise(dialect).parser()
    statements: list[exp.Expr | _wrapped.Wrapped | None] = []
    failures: list[tuple[int, int, str]] = []
    for chunk in (units if units is not None else chunks):
        if isinstance(chunk, _wrapped.Wrapped):
            statements.append(chunk)
            continue
        try:
            parsed = [s for s in parser.parse(chunk, text) if s is not None]
        except RecursionError:
            parsed = None
            message = "too deeply nested for the parser (RecursionError)"
        except ParseError as e:
            parsed = None
            message = _error_message(e)
        except Exception as e:  # sqlglot raises assorted errors on hostile input
            parsed = None
            message = f"parser failure: {type(e).__name__}: {e}"
        if parsed is None:
            failures.append((len(statements), chunk[0].line, message))
            statements.append(None)
        else:
            statements.extend(parsed)
    if units is None and (len(statements) < 2 or not failures):
        return None
    return statements, failures


def _analyze_statements(an: Analysis, statements: Sequence[exp.Expr | _wrapped.Wrapped | None],
                        default_schema: Sequence[str], default_catalog: str | None) -> list[int] | None:
    """Resolve each statement into ``an``; the Command indexes, or None after a failure."""
    commands = []
    temps = TempNames()
    if an.dialect == "postgres" and '&"' in an.sql:
        # a decoded U&"..." name's span covers the author's whole spelling again
        _pgunicode.restore_spans(_statement_nodes(statements), neutralize_placeholders(an.sql))
    try:
        for i, stmt in enumerate(statements):
            if stmt is None:
                continue
            if isinstance(stmt, exp.Command):
                commands.append(i)
                continue
            if isinstance(stmt, _wrapped.Wrapped):
                analyze_wrapped(an, i, stmt, default_schema, default_catalog, temps)
                continue
            StatementAnalyzer(an, i, statement_kind(stmt), default_schema, default_catalog, temps).statement(stmt)
            temps.settle()
    except RecursionError:
        an.status, an.error = "error", "too deeply nested to analyze (RecursionError)"
    except Exception as e:  # a bug here must cost one text, not the run
        an.status, an.error = "error", f"internal analysis failure: {type(e).__name__}: {e}"
    else:
        return commands
    an.refs.clear()
    an.columns.clear()
    an.dynamic_names.clear()
    an.opaque.clear()
    return None


def _statement_nodes(statements: Sequence[exp.Expr | _wrapped.Wrapped | None]) -> list[exp.Expr]:
    out: list[exp.Expr] = []
    for stmt in statements:
        if isinstance(stmt, _wrapped.Wrapped):
            out += [*stmt.statements, *(n for n in (stmt.table, stmt.condition) if n is not None)]
        elif stmt is not None:
            out.append(stmt)
    return out




def _commands_note(commands: Sequence[int]) -> str:
    return "statement{} {} not understood by the parser (opaque Command)".format(
        "" if len(commands) == 1 else "s", ", ".join(str(i + 1) for i in commands))


@quiet_sqlglot   # Command fallbacks are reported through the status, not the log
def analyze(sql: str, dialect: str, default_schema: Sequence[str] | str | None = (),
            default_catalog: str | None = None) -> Analysis:
    """Parse and resolve one text; the full picture that rewrite needs.

    When the text does not parse whole, each statement is parsed on its own: the
    result keeps status ``error`` (naming the failed statements) but carries the
    references of the statements that did parse.
    """
    if isinstance(default_schema, str):
        default_schema = (default_schema,)
    default_schema = tuple(default_schema or ())
    an = Analysis(sql=sql, dialect=dialect, status="parsed", error=None, statements=0,
                  line_starts=line_offsets(sql))
    if nesting_depth(sql) > MAX_NESTING:
        an.status = "error"
        an.error = f"nested more than {MAX_NESTING} levels deep; not parsed (parser recursion limit)"
        return an
    try:
        statements = [s for s in _parse(sql, dialect) if s is not None]
    except TokenError as e:
        an.status, an.error = "error", _error_message(e)
        return an
    except RecursionError:
        an.status, an.error = "error", "too deeply nested for the parser (RecursionError)"
        return an
    except Exception as e:  # ParseError, or assorted errors sqlglot raises on hostile input
        whole = _error_message(e) if isinstance(e, ParseError) else f"parser failure: {type(e).__name__}: {e}"
        an.status, an.error = "error", whole
        split = _parse_statements(sql, dialect)
        if split is None:
            return an
        partial, failures = split
        an.statements = len(partial)
        commands = _analyze_statements(an, partial, default_schema, default_catalog)
        if commands is None:
            return an
        failed = "; ".join(f"statement {i + 1} of {len(partial)} (line {line}) did not parse: {msg}"
                           for i, line, msg in failures)
        parsed = len(partial) - len(failures)
        an.error = f"{failed}; references come from the {parsed} other statement{'' if parsed == 1 else 's'} only" if parsed else failed
        if commands:
            an.error += "; " + _commands_note(commands)
        for note in an.dynamic_names + an.opaque:
            an.error += "; " + note
        return an
    an.statements = len(statements)
    commands = _analyze_statements(an, statements, default_schema, default_catalog)
    if commands is None:
        return an
    notes = ([_commands_note(commands)] if commands else []) + an.dynamic_names + an.opaque
    if notes:
        an.status = "fallback"
        an.error = "; ".join(notes)
    return an




def find_references(sql: str, dialect: str, default_schema: Sequence[str] | str | None = (),
                    default_catalog: str | None = None) -> ParseResult:
    """Every physical relation referenced in ``sql``, with spans, roles and columns."""
    an = analyze(sql, dialect, default_schema, default_catalog)
    return ParseResult(status=an.status, references=to_references(an),
                       error=an.error, statements=an.statements)
