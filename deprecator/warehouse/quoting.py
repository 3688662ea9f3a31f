"""The SQL text adapters write themselves: double-quoted identifiers and string literals.

PostgreSQL and SQLite read both the same way. A NUL character can be neither (the
servers' names are C strings), so it is an error rather than a truncated name.
"""

from __future__ import annotations

from deprecator.errors import WarehouseError


def quote_ident(name: str) -> str:
    """Quote one identifier the way PostgreSQL's ``quote_ident`` does, always quoting."""
    if "\x00" in name:
        raise WarehouseError(f"identifier {name!r} contains a NUL character")
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """A SQL string literal (for COMMENT ON and the like, which take no bind parameters)."""
    if "\x00" in value:
        raise WarehouseError("a string literal contains a NUL character")
    return "'" + value.replace("'", "''") + "'"
