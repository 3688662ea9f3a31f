"""Plain names without the parser: ``analytics.orders``, ``customer_id``.

Most registries spell every name as plain ASCII identifiers, and those normalize the way the
dialect folds an unquoted identifier, the same answer ``deprecator.sql.names`` gets from
sqlglot. Answering them here lets reading a registry (``deprecator list``) load no parser.
Anything else (quotes, other characters, more than three parts, BigQuery's own rules, a
dialect not in ``FOLDS``) answers None: the caller asks sqlglot, which also words the errors.
"""

from __future__ import annotations

import re
from typing import Literal, Sequence

from deprecator.sql.model import RelationName

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

# How each dialect folds an unquoted identifier: sqlglot's Dialect.normalization_strategy for
# the pinned version, written out so that no dialect class is imported (lowercase and
# case_insensitive lower, uppercase upper, case_sensitive keeps). tests/sql/test_plain_names.py
# checks it, and every keyword and function name of every dialect, against sqlglot.
# BigQuery is left out: its project, dataset and table names keep their case, its columns do not.
FOLDS: dict[str, Literal["lower", "upper", "keep"]] = {
    "athena": "lower", "clickhouse": "keep", "databricks": "lower", "dax": "lower", "doris": "keep",
    "dremio": "lower", "drill": "lower", "druid": "lower", "duckdb": "lower", "dune": "lower",
    "exasol": "upper", "fabric": "keep", "hive": "lower", "materialize": "lower", "mysql": "keep",
    "oracle": "upper", "postgres": "lower", "presto": "lower", "prql": "lower", "redshift": "lower",
    "risingwave": "lower", "snowflake": "upper", "solr": "lower", "spark": "lower", "spark2": "lower",
    "sqlite": "lower", "starrocks": "keep", "tableau": "lower", "teradata": "lower", "trino": "lower",
    "tsql": "lower",
}


def fold(name: str, dialect: str) -> str | None:
    """``name`` as ``dialect`` resolves it unquoted, when it is a plain identifier (else None)."""
    how = FOLDS.get(dialect)
    if how is None or not _PLAIN.match(name):
        return None
    return name.lower() if how == "lower" else name.upper() if how == "upper" else name


def plain_relation(text: str, dialect: str, default_schema: Sequence[str] = (),
                   default_catalog: str | None = None) -> RelationName | None:
    """``[[catalog.]schema.]name`` of plain identifiers, normalized and qualified with the
    defaults as ``deprecator.sql.names.normalize_relation`` does; None for any other text."""
    written = text.strip().split(".")
    if len(written) > 3:
        return None
    parts: list[str] = []
    for part in written:
        folded = fold(part, dialect)
        if folded is None:
            return None
        parts.append(folded)
    name = parts[-1]
    schema: str | None
    if len(parts) > 1:
        schema = parts[-2]
    elif not default_schema:
        return RelationName(None, None, name)
    elif (schema := fold(default_schema[0], dialect)) is None:
        return None
    if len(parts) == 3:
        return RelationName(parts[0], schema, name)
    if not default_catalog:
        return RelationName(None, schema, name)
    catalog = fold(default_catalog, dialect)
    return None if catalog is None else RelationName(catalog, schema, name)


def plain_column(spelling: str, dialect: str) -> str | None:
    """A column spelled as a plain identifier, normalized as ``deprecator.sql.names.column_name``
    does; None for any other spelling."""
    return fold(spelling.strip(), dialect)
