"""The text's temporary relations: which names a session-temporary table or view shadows, and until when.

The one piece of the scope walk that outlives a statement: ``TempNames`` is carried
from each statement of a text to the next (``deprecator.sql.references``), and the
walker (``deprecator.sql.scope``) asks it whether a name is the text's own
temporary relation rather than a warehouse relation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp

from deprecator.sql.model import RelationName


@dataclass
class TempNames:
    """Temporary tables and views a text creates, which shadow relations in later statements.

    A temporary relation lives only in the session that made it, so a name that
    resolves to one is not a reference to a warehouse relation (like a CTE name,
    across statements). Where it shadows follows the engine: in PostgreSQL,
    Redshift and DuckDB the temporary schema is searched first, so it shadows
    the unqualified name; a Snowflake temporary table belongs to a schema and
    shadows the permanent table of the same qualified name; BigQuery temporary
    tables are named unqualified. Shadowing starts after the creating statement
    (its own query still reads the permanent relation) and ends at a DROP.
    """

    names: dict[str, tuple[str, ...] | None] = field(default_factory=dict)   # unqualified -> columns
    qualified: dict[RelationName, tuple[str, ...] | None] = field(default_factory=dict)  # Snowflake
    pending: list[tuple[bool, str, RelationName, tuple[str, ...] | None]] = field(default_factory=list)

    def settle(self) -> None:
        """Apply the statement's creations (True) and drops (False)."""
        for create, name, relation, cols in self.pending:
            if create:
                self.names[name] = cols
                self.qualified[relation] = cols
            else:
                self.names.pop(name, None)
                self.qualified.pop(relation, None)
        self.pending.clear()


# Schemas whose relations are always session-temporary when named explicitly.
TEMP_SCHEMAS = {"postgres": ("pg_temp",), "redshift": ("pg_temp",), "duckdb": ("temp",)}


def creates_temporary(stmt: exp.Expression, dialect: str) -> bool:
    """Whether ``stmt`` (a CREATE, or a SELECT's INTO) creates a session-temporary relation."""
    props = stmt.args.get("properties")
    if isinstance(props, exp.Properties) and props.find(exp.TemporaryProperty) is not None:
        return True
    if isinstance(stmt, exp.Into) and stmt.args.get("temporary"):
        return True
    table = stmt.this.this if isinstance(stmt.this, exp.Schema) else stmt.this
    return (dialect == "redshift" and isinstance(table, exp.Table) and isinstance(table.this, exp.Identifier)
            and table.this.name.startswith("#"))
