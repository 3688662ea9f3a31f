"""PostgreSQL Unicode identifiers: ``U&"customer_\\0066acts"``, ``U&"d!0061ta" UESCAPE '!'``.

sqlglot does not read them (``U & "..."``, a bitwise AND, or a parse error), so
before parsing each one is written as the plain quoted identifier it spells
(``"customer_facts"``), padded with spaces to the same length: every offset in
the text stays the same, and the identifier starts where the author's does.
After parsing, the identifier's span is stretched back to the author's whole
spelling (``UESCAPE`` clause included), so a rewrite replaces all of it.
"""

from __future__ import annotations

from typing import Any, Iterable

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.tokens import TokenType

_HEX = frozenset("0123456789abcdefABCDEF")


def _decode(body: str, esc: str) -> str | None:
    """The name a Unicode identifier's body (quotes doubled as written) spells; None when PostgreSQL would refuse it."""
    out: list[str] = []
    i, n = 0, len(body)
    pending_high: int | None = None
    while i < n:
        c = body[i]
        if c == '"':
            if body[i + 1:i + 2] != '"':
                return None
            out.append('"')
            i += 2
            continue
        if c != esc:
            if pending_high is not None:
                return None
            out.append(c)
            i += 1
            continue
        if body[i + 1:i + 2] == esc:
            if pending_high is not None:
                return None
            out.append(esc)
            i += 2
            continue
        if body[i + 1:i + 2] == "+":
            digits, i = body[i + 2:i + 8], i + 8
            if len(digits) != 6 or not set(digits) <= _HEX:
                return None
        else:
            digits, i = body[i + 1:i + 5], i + 5
            if len(digits) != 4 or not set(digits) <= _HEX:
                return None
        code = int(digits, 16)
        if 0xD800 <= code <= 0xDBFF:           # a surrogate pair, written as two escapes
            if pending_high is not None:
                return None
            pending_high = code
            continue
        if 0xDC00 <= code <= 0xDFFF:
            if pending_high is None:
                return None
            code = 0x10000 + ((pending_high - 0xD800) << 10) + (code - 0xDC00)
            pending_high = None
        elif pending_high is not None or code == 0 or code > 0x10FFFF:
            return None
        out.append(chr(code))
    return None if pending_high is not None else "".join(out)


def identifiers(text: str) -> list[tuple[int, int, str]]:
    """Each Unicode identifier of ``text`` as (start, end, name): its whole spelling and the name it spells.

    Found by tokens (``U``, ``&``, a quoted identifier, adjacent; an optional
    ``UESCAPE 'c'``), so strings and comments never count. One PostgreSQL
    would refuse is left out (the text then does not parse, as before).
    """
    if '&"' not in text:
        return []
    try:
        tokens = Dialect.get_or_raise("postgres").tokenize(text)
    except Exception:  # TokenError: the text does not parse either
        return []
    out = []
    for k in range(len(tokens) - 2):
        u, amp, ident = tokens[k], tokens[k + 1], tokens[k + 2]
        if not (u.token_type == TokenType.VAR and u.text in ("U", "u") and amp.token_type == TokenType.AMP
                and ident.token_type == TokenType.IDENTIFIER and u.end + 1 == amp.start
                and amp.end + 1 == ident.start and text[ident.start] == '"' and text[ident.end] == '"'):
            continue
        end, esc = ident.end + 1, "\\"
        if k + 4 < len(tokens) and tokens[k + 3].text.upper() == "UESCAPE" \
                and tokens[k + 4].token_type == TokenType.STRING:
            esc, end = tokens[k + 4].text, tokens[k + 4].end + 1
            if len(esc) != 1 or esc in _HEX or esc in "+'\" \t\n\r":
                continue
        name = _decode(text[ident.start + 1:ident.end], esc)
        if name is not None and name:
            out.append((u.start, end, name))
    return out


def decode(text: str) -> str:
    """``text`` with each Unicode identifier written as the quoted name it spells, padded to the same length."""
    found = identifiers(text)
    if not found:
        return text
    parts, pos = [], 0
    for start, end, name in found:
        plain = '"' + name.replace('"', '""') + '"'
        parts += [text[pos:start], plain, " " * (end - start - len(plain))]
        pos = end
    parts.append(text[pos:])
    return "".join(parts)


def spells(written: str, name: str) -> bool:
    """Whether ``written`` is exactly one Unicode identifier spelling ``name`` (``UESCAPE`` clause included)."""
    return written[:3].upper() == 'U&"' and identifiers(written) == [(0, len(written), name)]


def restore_spans(nodes: Iterable[Any], text: str) -> None:
    """Stretch each decoded identifier's span (meta ``end``) back over the author's whole spelling."""
    ends = {start: end for start, end, _ in identifiers(text)}
    if not ends:
        return
    for node in nodes:
        if not isinstance(node, exp.Expression):
            continue
        for ident in node.find_all(exp.Identifier):
            meta = ident.meta
            start = meta.get("start") if meta else None
            if isinstance(start, int) and start in ends:
                meta["end"] = ends[start] - 1
