"""The reference engine: find relations in SQL and rewrite them in place (pure, no I/O).

The names below load on first use (PEP 562): the value types of ``deprecator.sql.model``
are pure data that much of the package imports, and importing them must not import
sqlglot (``deprecator --help`` and ``init`` never parse SQL).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deprecator.sql.model import (
        Blocker,
        Edit,
        ParseResult,
        Reference,
        RelationName,
        RewriteResult,
        RewriteRule,
    )
    from deprecator.sql.names import normalize_part, normalize_relation, relation_from_table
    from deprecator.sql.prepass import neutralize_placeholders
    from deprecator.sql.references import find_references
    from deprecator.sql.rewrite import columns_differ, rewrite

__all__ = [
    "Blocker",
    "Edit",
    "ParseResult",
    "Reference",
    "RelationName",
    "RewriteResult",
    "RewriteRule",
    "columns_differ",
    "find_references",
    "neutralize_placeholders",
    "normalize_part",
    "normalize_relation",
    "relation_from_table",
    "rewrite",
]

# public name -> the module of this package that defines it
_HOME = {
    "Blocker": "model",
    "Edit": "model",
    "ParseResult": "model",
    "Reference": "model",
    "RelationName": "model",
    "RewriteResult": "model",
    "RewriteRule": "model",
    "columns_differ": "rewrite",
    "find_references": "references",
    "neutralize_placeholders": "prepass",
    "normalize_part": "names",
    "normalize_relation": "names",
    "relation_from_table": "names",
    "rewrite": "rewrite",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
