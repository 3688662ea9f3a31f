"""Planning helpers: type categories and the compile probes of new definitions (one at a
time on a connection, or batched), which give the column types a definition compiles to or
why it does not compile."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Sequence

from deprecator.db import mark_statement
from deprecator.errors import WarehouseError
from deprecator.operations import DdlContext, Operation
from deprecator.warehouse.base import ViewInfo

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from deprecator.warehouse.postgres.adapter import PostgresWarehouse

# -- compile probes -----------------------------------------------------------------------

PROBE_LOCK_TIMEOUT_S = 5
LOCK_NOT_AVAILABLE = "55P03"     # SQLSTATE of a lock wait that ran out (lock_timeout)


def _lock_wait(error: object) -> WarehouseError | None:
    """A probe that ran out of time waiting for a lock did not find the definition wrong: say so.

    (Recording the timeout as a compile error would block the view with a reason that
    is not one and a hint that does not help.)"""
    if getattr(error, "pgcode", None) != LOCK_NOT_AVAILABLE:
        return None
    return WarehouseError(
        f"compiling a rewritten view definition waited {PROBE_LOCK_TIMEOUT_S} s for a lock another session "
        "holds on a relation it reads (the replacement, or a table it joins); nothing was changed",
        hint="wait for that session to commit or roll back (pg_locks shows it), then plan again")



def probe_definition(conn: Connection, definition: str) -> tuple[tuple[str, ...] | None, str | None]:
    """Compile ``definition`` as a temporary view on ``conn``: (its column types, None), or
    (None, the server's error) when it does not compile now.

    A short transaction per probe, rolled back: never an idle open transaction while someone
    reads the plan.
    """
    import psycopg2   # the driver of the raw cursor below
    import sqlalchemy as sa

    trans = conn.begin()
    try:
        conn.exec_driver_sql("SET LOCAL search_path = ''")
        conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{PROBE_LOCK_TIMEOUT_S}s'")
        dbapi = conn.connection.dbapi_connection
        assert dbapi is not None    # an open Connection always holds its DBAPI connection
        dbapi.cursor().execute("CREATE TEMPORARY VIEW deprecator_probe AS " + definition.strip().rstrip(";"))
        return tuple(conn.execute(sa.text(
            "SELECT pg_catalog.format_type(a.atttypid, a.atttypmod) FROM pg_catalog.pg_attribute a "
            "WHERE a.attrelid = 'pg_temp.deprecator_probe'::pg_catalog.regclass AND a.attnum > 0 "
            "AND NOT a.attisdropped ORDER BY a.attnum")).scalars()), None
    except sa.exc.DBAPIError as e:
        if (waited := _lock_wait(e.orig)) is not None:
            raise waited from None
        return None, str(e.orig).strip()
    except psycopg2.Error as e:  # raised by the raw cursor, not wrapped by SQLAlchemy
        if (waited := _lock_wait(e)) is not None:
            raise waited from None
        return None, (getattr(e, "pgerror", None) or str(e)).strip()
    finally:
        trans.rollback()


def stored_text(conn: Connection, definition: str, lock_timeout_ms: int) -> str | None:
    """The text PostgreSQL would store for a view defined as ``definition`` (pg_get_viewdef, as the
    catalog read gives it), compiled as a temporary view on ``conn`` and rolled back; None when it
    does not compile now. The server drops quotes a name does not need and lays the query out
    again, so a planned text is compared with a stored one through this."""
    import psycopg2   # the driver of the raw cursor below
    import sqlalchemy as sa

    from deprecator.warehouse.postgres.catalog import _clean_definition

    trans = conn.begin()
    try:
        conn.exec_driver_sql("SET LOCAL search_path = ''")
        conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{int(lock_timeout_ms)}ms'")
        dbapi = conn.connection.dbapi_connection
        assert dbapi is not None    # an open Connection always holds its DBAPI connection
        dbapi.cursor().execute(mark_statement("CREATE TEMPORARY VIEW deprecator_stored AS "
                                              + definition.strip().rstrip(";")))
        return _clean_definition(conn.exec_driver_sql(
            "SELECT pg_catalog.pg_get_viewdef('pg_temp.deprecator_stored'::pg_catalog.regclass, true)").scalar())
    except (sa.exc.DBAPIError, psycopg2.Error):
        return None
    finally:
        trans.rollback()


def types_of(definition: str, current: ViewInfo | None,
             column_types: Callable[[str], tuple[str, ...] | None]) -> tuple[str, ...] | None:
    """Column types of ``definition``: the catalog's when it is the view's current one
    (``current``, or None), else ``column_types(definition)`` (compiled)."""
    if current is not None and current.definition == definition:
        return tuple(t for _, t in current.columns)
    return column_types(definition)


# -- planning helpers ---------------------------------------------------------------------

def type_categories(warehouse: PostgresWarehouse) -> dict[str, str]:
    """Base type name (``format_type`` without modifier) -> ``pg_type.typcategory``, for every type."""
    import sqlalchemy as sa

    from deprecator.sql.types import base_type

    with warehouse.read() as conn:
        rows = conn.execute(sa.text(
            "SELECT pg_catalog.format_type(t.oid, NULL), t.typcategory FROM pg_catalog.pg_type t")).all()
    return {base_type(name): str(cat) for name, cat in rows if name}


PROBE_BATCH = 200


def prime_column_types(warehouse: PostgresWarehouse, definitions: Sequence[str]) -> None:
    """Compile many definitions at once and fill the warehouse's type cache (and compile errors).

    ``PostgresWarehouse.column_types`` compiles one temporary view per call (four round
    trips); this compiles them in batches of ``PROBE_BATCH`` inside one transaction that
    is rolled back, reads every type with one query, and falls back to one definition at
    a time only for a batch with an error, to name the definition that fails.
    """
    import psycopg2

    cache = warehouse._types_cache
    errors: dict[str, str] = warehouse._probe_errors
    todo = [d for d in dict.fromkeys(definitions) if d not in cache]
    if not todo:
        return
    bodies = {i: d.strip().rstrip(";") for i, d in enumerate(todo)}
    ok: list[int] = []
    with warehouse.engine.connect() as conn:
        trans = conn.begin()
        try:
            dbapi = conn.connection.dbapi_connection
            assert dbapi is not None    # an open Connection always holds its DBAPI connection
            cur = dbapi.cursor()
            cur.execute(f"SET LOCAL search_path = ''; SET LOCAL lock_timeout = '{PROBE_LOCK_TIMEOUT_S}s'")

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
                        if (waited := _lock_wait(e)) is not None:
                            raise waited from None
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

    def __init__(self, warehouse: PostgresWarehouse) -> None:
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

    def view_operations(self, view: ViewInfo, new_definition: str, context: DdlContext[ViewInfo] = DdlContext()) -> list[Operation]:
        return list(self.warehouse.view_operations(view, new_definition, context))

    def prepare(self, definitions: Sequence[str]) -> None:
        if self.can_probe():
            prime_column_types(self.warehouse, definitions)

    def compile_error(self, definition: str) -> str | None:
        if not self.can_probe():
            return None
        return self.warehouse.compile_error(definition)

    def column_types(self, definition: str) -> tuple[str, ...] | None:
        return self.warehouse.column_types(definition)
