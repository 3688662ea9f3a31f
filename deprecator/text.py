"""Small helpers for user-facing text."""

from __future__ import annotations


def plural(n: int, noun: str, many: str | None = None) -> str:
    """``n`` with ``noun`` in the right number: "1 view", "3 views" (``many`` for irregular plurals)."""
    return f"{n} {noun if n == 1 else many or noun + 's'}"
