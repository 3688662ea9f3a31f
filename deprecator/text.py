"""Small helpers for user-facing text."""

from __future__ import annotations


def plural(n: int, noun: str, many: str | None = None, *, grouped: bool = False) -> str:
    """``n`` with ``noun`` in the right number: "1 view", "3 views" (``many`` for irregular plurals);
    ``grouped`` writes thousands with commas ("1,024 texts")."""
    number = f"{n:,}" if grouped else f"{n}"
    return f"{number} {noun if n == 1 else many or noun + 's'}"
