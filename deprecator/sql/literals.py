"""Redact literal values in a query before it leaves the machine (they can hold personal data).

Literals are found on the sqlglot syntax tree in the query's own dialect (so
every quoting form counts: '...', E'...', $$...$$, N'...', BigQuery r"..." and triple quotes, b'...',
MySQL's "..." strings, U&'...'), and each one's exact span is replaced; the
rest of the text keeps its bytes. A text that does not parse is redacted from
sqlglot's tokens instead; when neither can vouch for the result (a redacted
value still shows up, e.g. inside a comment), the query is withheld entirely.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

STRING_MASK = "'***'"
NUMBER_MASK = "0"
WITHHELD = "(query withheld: its literal values could not be redacted safely)"


@dataclass(frozen=True)
class Redacted:
    text: str
    count: int            # literals replaced
    withheld: bool = False


def _spans_from_tree(sql: str, dialect: str) -> list[tuple[int, int, bool, str]] | None:
    import sqlglot
    from sqlglot import exp

    try:
        trees = sqlglot.parse(sql, dialect=dialect)
    except Exception:  # sqlglot raises several error types; the tokens are the fallback
        return None
    kinds = tuple(k for k in (getattr(exp, n, None) for n in (
        "Literal", "National", "ByteString", "RawString", "HexString", "BitString", "UnicodeString",
        "HexStringLiteral")) if isinstance(k, type))
    spans = []
    for tree in trees:
        if tree is None:
            continue
        if isinstance(tree, exp.Command):
            return None   # an opaque statement: its literals are not nodes
        node: Any
        for node in tree.find_all(*kinds):
            start, end = node.meta.get("start"), node.meta.get("end")
            if start is None or end is None:
                return None
            is_number = isinstance(node, exp.Literal) and not node.is_string
            if is_number and isinstance(node.parent, (exp.Limit, exp.Offset, exp.Fetch)):
                continue   # LIMIT 10 is shape, not data
            if is_number and isinstance(node.parent, exp.Parameter):
                continue   # the 1 of a $1 placeholder is its position, not a value
            spans.append((int(start), int(end) + 1, is_number, str(node.this)))
    return spans


def _spans_from_tokens(sql: str, dialect: str) -> list[tuple[int, int, bool, str]] | None:
    from sqlglot.dialects.dialect import Dialect
    from sqlglot.tokens import TokenType

    string_types = {getattr(TokenType, n) for n in (
        "STRING", "NATIONAL_STRING", "BYTE_STRING", "RAW_STRING", "HEX_STRING", "BIT_STRING",
        "HEREDOC_STRING", "UNICODE_STRING") if hasattr(TokenType, n)}
    try:
        tokens = Dialect.get_or_raise(dialect).tokenize(sql)
    except Exception:  # untokenizable: the caller withholds the text
        return None
    keep_after = {TokenType.LIMIT, TokenType.OFFSET, TokenType.FETCH, getattr(TokenType, "TOP", TokenType.LIMIT),
                  TokenType.PARAMETER}   # $1: a placeholder's position, not a value
    spans = []
    prev = None
    for t in tokens:
        if t.token_type in string_types or (t.token_type == TokenType.NUMBER and prev not in keep_after):
            spans.append((t.start, t.end + 1, t.token_type == TokenType.NUMBER, t.text))
        prev = t.token_type
    return spans


def redact_literals(sql: str, dialect: str, *, tokens_only: bool = False) -> Redacted:
    """``sql`` with every string and number literal replaced (``'***'``, ``0``), spans exact.

    ``tokens_only`` skips the syntax tree and redacts from sqlglot's tokens (fast; used to
    group texts that differ only in their literals before the tree pass).
    """
    spans = None if tokens_only else _spans_from_tree(sql, dialect)
    if spans is None:
        spans = _spans_from_tokens(sql, dialect)
    if spans is None:
        return Redacted(WITHHELD, 0, True)
    out, pos, values = [], 0, []
    for start, end, is_number, value in sorted(set(spans)):
        if start < pos:
            continue   # nested spans (a literal inside a literal) are already covered
        out.append(sql[pos:start])
        out.append(NUMBER_MASK if is_number else STRING_MASK)
        pos = end
        if not is_number and value != STRING_MASK[1:-1]:
            values.append(value)
    out.append(sql[pos:])
    text = "".join(out)
    if any(len(v) >= 3 and v in text for v in values):
        text = _scrub_comments(text, dialect) or WITHHELD   # a value repeated in a comment
    # Belt and braces: a string value that still survives withholds the text.
    for v in values:
        if len(v) >= 3 and v in text:
            return Redacted(WITHHELD, len(spans), True)
    return Redacted(text, len(spans))


def _scrub_comments(sql: str, dialect: str) -> str | None:
    """``sql`` with the text between tokens that is not whitespace (comments) replaced by ``/* … */``."""
    from sqlglot.dialects.dialect import Dialect

    try:
        tokens = Dialect.get_or_raise(dialect).tokenize(sql)
    except Exception:  # untokenizable: the caller withholds the text
        return None
    out, pos = [], 0
    for t in tokens + [None]:
        start = len(sql) if t is None else t.start
        gap = sql[pos:start]
        out.append(gap if not gap.strip() else " /* … */ ")
        if t is not None:
            out.append(sql[t.start:t.end + 1])
            pos = t.end + 1
    return "".join(out)
