"""Identifier and relation-name normalization per dialect."""

from __future__ import annotations

from functools import lru_cache
from typing import Sequence

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError

from deprecator.sql.model import RelationName


@lru_cache(maxsize=None)
def get_dialect(dialect: str) -> Dialect:
    return Dialect.get_or_raise(dialect)


def normalize_part(name: str, quoted: bool, dialect: str, *, table_part: bool = True) -> str:
    """Normalize one identifier as ``dialect`` resolves it.

    Quoted identifiers keep their case everywhere. BigQuery dataset and table
    names are case-sensitive, so relation parts are kept as written there.
    """
    if quoted:
        return name
    if dialect == "bigquery" and table_part:
        return name
    d = get_dialect(dialect)
    return d.normalize_identifier(exp.Identifier(this=name, quoted=False)).name


def relation_from_table(
    table: exp.Table,
    dialect: str,
    default_schema: Sequence[str] = (),
    default_catalog: str | None = None,
) -> RelationName:
    """Fully qualified, normalized name of a sqlglot Table node."""

    def part(key: str) -> str | None:
        node = table.args.get(key)
        if node is None:
            return None
        if isinstance(node, exp.Identifier):
            return normalize_part(node.name, bool(node.quoted), dialect)
        return node.name if isinstance(node, exp.Expression) else str(node)

    name = part("this") or table.name
    schema = part("db")
    catalog = part("catalog")
    if schema is None and default_schema:
        schema = normalize_part(default_schema[0], False, dialect)
    if catalog is None and default_catalog and schema is not None:
        catalog = normalize_part(default_catalog, False, dialect)
    return RelationName(catalog, schema, name)


def normalize_relation(
    text: str,
    dialect: str,
    default_schema: Sequence[str] | str | None = (),
    default_catalog: str | None = None,
) -> RelationName:
    """Normalize a relation written as text (``analytics.customer_facts``, ``"A"."b"``).

    Raises ValueError when the text is not a relation name.
    """
    if isinstance(default_schema, str):
        default_schema = (default_schema,)
    try:
        table = exp.to_table(text.strip(), dialect=dialect)
    except (ParseError, Exception) as e:  # sqlglot raises several error types here
        raise ValueError(f"{text!r} is not a relation name: {e}") from None
    if not isinstance(table, exp.Table) or not table.name:
        raise ValueError(f"{text!r} is not a relation name")
    return relation_from_table(table, dialect, tuple(default_schema or ()), default_catalog)
