"""Planning helpers: type categories and batched column-type and compile probes of new definitions."""

from __future__ import annotations

from typing import Any, Sequence

from deprecator.db import mark_statement
from deprecator.operations import DdlContext, Operation
from deprecator.warehouse.base import ViewInfo
# -- planning helpers ---------------------------------------------------------------------

def type_categories(warehouse: Any) -> dict[str, str]:
    """Base type name (``format_type`` without modifier) -> ``pg_type.typcategory``, for every type."""
    import sqlalchemy as sa

    from deprecator.sql.types import base_type

    with warehouse.read() as conn:
        rows = conn.execute(sa.text(
            "SELECT pg_catalog.format_type(t.oid, NULL), t.typcategory FROM pg_catalog.pg_type t")).all()
    return {base_type(name): str(cat) for name, cat in rows if name}


PROBE_BATCH = 200


def prime_column_types(warehouse: Any, definitions: Sequence[str]) -> None:
    """Compile many definitions at once and fill the warehouse's type cache (and compile errors).

    ``PostgresWarehouse.column_types`` compiles one temporary view per call (four round
    trips); this compiles them in batches of ``PROBE_BATCH`` inside one transaction that
    is rolled back, reads every type with one query, and falls back to one definition at
    a time only for a batch with an error, to name the definition that fails.
    """
    import psycopg2

    cache: dict[str, Any] = warehouse._types_cache
    errors: dict[str, str] = warehouse._probe_errors
    todo = [d for d in dict.fromkeys(definitions) if d not in cache]
    if not todo:
        return
    bodies = {i: d.strip().rstrip(";") for i, d in enumerate(todo)}
    ok: list[int] = []
    with warehouse.engine.connect() as conn:
        trans = conn.begin()
        try:
            cur = conn.connection.dbapi_connection.cursor()
            cur.execute("SET LOCAL search_path = ''; SET LOCAL lock_timeout = '5s'")

            def create(i: int) -> str:
                return mark_statement(f"CREATE TEMPORARY VIEW deprecator_probe_{i} AS {bodies[i]}")

            for start in range(0, len(todo), PROBE_BATCH):
                batch = list(range(start, min(start + PROBE_BATCH, len(todo))))
                try:
                    cur.execute("SAVEPOINT deprecator_probe_batch;\n"
                                + "\n;\n".join(create(i) for i in batch) + "\n;\nRELEASE SAVEPOINT deprecator_probe_batch")
                    ok.extend(batch)
                    continue
                except psycopg2.Error:
                    cur.execute("ROLLBACK TO SAVEPOINT deprecator_probe_batch")
                for i in batch:
                    try:
                        cur.execute("SAVEPOINT deprecator_probe_one;\n" + create(i)
                                    + "\n;\nRELEASE SAVEPOINT deprecator_probe_one")
                        ok.append(i)
                    except psycopg2.Error as e:
                        cur.execute("ROLLBACK TO SAVEPOINT deprecator_probe_one")
                        errors[todo[i]] = (getattr(e, "pgerror", None) or str(e)).strip()
                        cache[todo[i]] = None
            types: dict[int, list[str]] = {i: [] for i in ok}
            cur.execute(
                "SELECT substr(c.relname, 18)::int, pg_catalog.format_type(a.atttypid, a.atttypmod) "
                "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid "
                "WHERE c.relnamespace = pg_catalog.pg_my_temp_schema() AND c.relname LIKE 'deprecator\\_probe\\_%' "
                "AND c.relname ~ '^deprecator_probe_[0-9]+$' AND a.attnum > 0 AND NOT a.attisdropped "
                "ORDER BY 1, a.attnum")
            for i, typ in cur.fetchall():
                if i in types:
                    types[i].append(typ)
            for i in ok:
                cache[todo[i]] = tuple(types[i])
        finally:
            trans.rollback()


class PlanningDdl:
    """The planner's view of a PostgresWarehouse: its DDL, plus batched compile checks."""

    recreate_dependents = True
    two_phase = False

    def __init__(self, warehouse: Any) -> None:
        self.warehouse = warehouse
        self._can_probe: bool | None = None

    def can_probe(self) -> bool:
        """Probes are temporary views: without the TEMP privilege nothing can be compiled (not a blocker)."""
        if self._can_probe is None:
            import sqlalchemy as sa

            with self.warehouse.read() as conn:
                self._can_probe = bool(conn.execute(sa.text(
                    "SELECT pg_catalog.has_database_privilege(pg_catalog.current_database(), 'TEMP')")).scalar())
        return self._can_probe

    def view_operations(self, view: ViewInfo, new_definition: str, context: DdlContext = DdlContext()) -> list[Operation]:
        return list(self.warehouse.view_operations(view, new_definition, context))

    def prepare(self, definitions: Sequence[str]) -> None:
        if self.can_probe():
            prime_column_types(self.warehouse, definitions)

    def compile_error(self, definition: str) -> str | None:
        if not self.can_probe():
            return None
        return self.warehouse.compile_error(definition)  # type: ignore[no-any-return]

    def column_types(self, definition: str) -> tuple[str, ...] | None:
        return self.warehouse.column_types(definition)  # type: ignore[no-any-return]
