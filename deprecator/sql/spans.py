"""Character spans of names in the author's text, from sqlglot's token positions.

A rewrite replaces exactly these spans, so each is checked against the text: a
span is exact only when it spells the name it stands for.
"""

from __future__ import annotations

from typing import Sequence, cast

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.tokens import TokenType

from deprecator.sql import pgunicode
from deprecator.sql.prepass import is_ident_char


def meta_span(node: exp.Expression) -> tuple[int, int] | None:
    """(start, end) of a node's token as the parser recorded it (end exclusive); None without one."""
    meta = node.meta if hasattr(node, "meta") else None
    if not meta or not isinstance(meta.get("start"), int) or not isinstance(meta.get("end"), int):
        return None
    return meta["start"], meta["end"] + 1


def table_parts(table: exp.Table) -> list[exp.Expression]:
    """The written name parts of a table, left to right (catalog, schema, name)."""
    return [p for p in (table.args.get("catalog"), table.args.get("db"), table.args.get("this")) if p is not None]


def part_spans(sql: str, parts: Sequence[exp.Expression]) -> list[tuple[int, int]] | None:
    """The (start, end) of each name part's own written token, left to right.

    None when the parts cannot be told apart from the text (one BigQuery backtick
    token holding several parts, a part without a position). Checked against the
    text: each span spells its part (bare, or quoted with a quote escape) and only
    whitespace, comments and one dot lie between two parts, so a rewrite can
    replace one part and keep the author's layout around it.
    """
    out: list[tuple[int, int]] = []
    for p in parts:
        span = meta_span(p)
        if span is None or not isinstance(p, exp.Identifier) or not p.name:
            return None
        start, end = span
        name = p.name
        if sql.startswith(name, start) and not is_ident_char(sql[start + len(name):start + len(name) + 1] or " "):
            end = start + len(name)   # bare (a dashed BigQuery project's end offset covers its first word only)
        elif sql[start:end] not in _quoted_forms(name) and not pgunicode.spells(sql[start:end], name):
            return None
        if out and not _only_a_dot(sql[out[-1][1]:start]):
            return None
        out.append((start, end))
    return out


def _quoted_forms(name: str) -> tuple[str, ...]:
    """``name`` quoted in each dialect's identifier quotes, with each way of escaping the quote."""
    return ('"' + name.replace('"', '""') + '"', "`" + name.replace("`", "``") + "`",
            "`" + name.replace("`", "\\`") + "`", "[" + name.replace("]", "]]") + "]")


def _only_a_dot(gap: str) -> bool:
    """Whether ``gap`` is one dot with only whitespace and comments around it.

    BigQuery's tokenizer knows every comment form of the supported dialects
    (``--``, ``/* */``, ``#``); a nested block comment it cannot read only
    makes the parts inexact.
    """
    if gap == ".":
        return True
    try:
        tokens = Dialect.get_or_raise("bigquery").tokenize(gap)
    except Exception:  # TokenError: an unterminated comment is no gap between parts
        return False
    return len(tokens) == 1 and tokens[0].token_type == TokenType.DOT


def table_span(sql: str, table: exp.Table) -> tuple[int, int, bool]:
    """(start, end, exact) of the whole written name of a table.

    Exact when each part's own token is found (comments may lie between parts:
    a rewrite replaces parts, not the whole span), or when the whole span spells
    the parts in order without a comment.
    """
    parts = table_parts(table)
    spans = [meta_span(p) for p in parts]
    if not parts:
        return 0, 0, False
    each = part_spans(sql, parts)
    if each is not None:
        return each[0][0], each[-1][1], True
    if any(s is None for s in spans):
        # BigQuery INFORMATION_SCHEMA names are re-assembled by the parser without an
        # end offset; the name is exact only when it is one backtick-quoted token
        starts = cast("list[int]", [p.meta.get("start") for p in parts if isinstance(p.meta.get("start"), int)])
        if not starts:
            return 0, 0, False
        start = min(starts)
        close = sql.find("`", start + 1) if sql[start:start + 1] == "`" else -1
        if close < 0:
            return start, start, False
        end = close + 1
    else:
        start = min(s[0] for s in spans if s)
        end = max(s[1] for s in spans if s)
    written = sql[start:end]
    # every part must appear, in order, in the written text
    pos = 0
    for p in parts:
        k = -1
        # an embedded quote is written doubled ("a""b") or backslash-escaped
        for form in (p.name, p.name.replace('"', '""'), p.name.replace("`", "``"), p.name.replace("`", "\\`")):
            k = written.find(form, pos)
            if k >= 0:
                pos = k + len(form)
                break
        if k < 0:
            return start, end, False
    if "--" in written or "/*" in written:
        return start, end, False
    return start, end, True
