"""Small helpers for user-facing text."""

from __future__ import annotations

import re


def plural(n: int, noun: str, many: str | None = None, *, grouped: bool = False) -> str:
    """``n`` with ``noun`` in the right number: "1 view", "3 views" (``many`` for irregular plurals);
    ``grouped`` writes thousands with commas ("1,024 texts")."""
    number = f"{n:,}" if grouped else f"{n}"
    return f"{number} {noun if n == 1 else many or noun + 's'}"


# C0 controls, DEL, C1 controls and the Unicode line/paragraph separators: on a terminal they move the
# cursor, clear the screen, set the title or start a line the data never had.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_BLOCK_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")   # a block keeps \t and \n
_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escape(m: re.Match[str]) -> str:
    c = m.group()
    return _NAMED.get(c) or (f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}")


def visible(text: str) -> str:
    """``text`` from the data (a user, a name, a path) as one line of text for people: control characters
    shown escaped (ESC as ``\\x1b``, a newline as ``\\n``), everything else as it is. JSON needs none of this."""
    return _CONTROLS.sub(_escape, text)


def visible_block(text: str) -> str:
    """Like ``visible`` for a block shown on several lines (a query's SQL): its newlines and tabs are kept."""
    return _BLOCK_CONTROLS.sub(_escape, text)
