"""The reference engine: find relations in SQL and rewrite them in place (pure, no I/O)."""

from __future__ import annotations

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
