"""The embedded warehouse: a SQLite file.

SQLite keeps each view's original CREATE VIEW text in ``sqlite_master`` (only
the first keywords normalized), so the whole text is parsed and rewritten and
comments survive. DDL is transactional: an apply is ``BEGIN IMMEDIATE``, the
DROP VIEW / CREATE VIEW pairs, a ``SELECT * ... LIMIT 0`` per view, ``COMMIT``.

The adapter talks to the ``sqlite3`` module directly with
``isolation_level=None``: the module then never opens or commits a transaction
behind our back (its legacy mode silently skips BEGIN before DDL), so the
transaction boundaries are exactly the statements written here.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence
from urllib.parse import quote

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from deprecator.errors import ApplyError, LockError, WarehouseError
from deprecator.operations import DdlContext, Operation
from deprecator.redact import mask_url
from deprecator.sql.model import RelationName
from deprecator.sql.names import normalize_part
from deprecator.warehouse.base import ViewInfo, check_expected
from deprecator.warehouse.quoting import quote_ident

SCHEMA = "main"


def qualified(relation: RelationName) -> str:
    return f"{quote_ident(relation.schema or SCHEMA)}.{quote_ident(relation.name)}"


class SQLiteWarehouse:
    """A SQLite database file as a warehouse (schema ``main``)."""

    dialect = "sqlite"
    default_schema: tuple[str, ...] = (SCHEMA,)
    default_catalog: str | None = None
    recreate_dependents = False
    two_phase = False

    def __init__(self, url: str, *, root: Path | None = None, timeout: float = 5.0,
                 dbt_manifest: str | Path | None = None) -> None:
        self.display_url = mask_url(url)
        self.dbt_manifest = Path(root or ".", dbt_manifest) if dbt_manifest is not None else None
        try:
            u = make_url(url)
        except ArgumentError as e:
            raise WarehouseError(f"invalid warehouse URL {self.display_url}: {e}") from None
        if u.get_backend_name() != "sqlite":
            raise WarehouseError(f"not a SQLite URL: {self.display_url}")
        if not u.database or u.database == ":memory:":
            raise WarehouseError(
                f"the SQLite warehouse needs a database file, got {self.display_url}",
                hint="use sqlite:///path/to/warehouse.db",
            )
        path = Path(u.database)
        if not path.is_absolute():
            path = (root or Path.cwd()) / path
        if not path.is_file():
            raise WarehouseError(f"SQLite warehouse file not found: {path}", hint="check warehouse.url in deprecator.yml")
        self.path = path
        self.timeout = timeout
        try:
            # mode=rw: never create a missing file as a side effect of reading.
            self._conn = sqlite3.connect(
                f"file:{quote(str(path))}?mode=rw", uri=True, isolation_level=None, timeout=timeout
            )
        except sqlite3.Error as e:
            raise WarehouseError(f"cannot open SQLite warehouse {path}: {e}") from None

    def identity(self) -> dict[str, str]:
        """The warehouse is its file, however the URL spells the path (relative, via a symlink)."""
        return {"engine": "sqlite", "file": str(self.path.resolve())}

    # -- reading --------------------------------------------------------------
    def _relation(self, name: str) -> RelationName:
        # SQLite resolves names case-insensitively, quoted or not.
        return RelationName(None, SCHEMA, normalize_part(name, False, self.dialect))

    def _columns(self, name: str) -> tuple[tuple[str, str], ...]:
        rows = self._conn.execute(f"PRAGMA {SCHEMA}.table_info({quote_ident(name)})").fetchall()
        return tuple((r[1], r[2] or "") for r in rows)

    def list_views(self) -> list[ViewInfo]:
        try:
            rows = self._conn.execute(
                "SELECT name, sql FROM main.sqlite_master WHERE type = 'view' ORDER BY name"
            ).fetchall()
        except sqlite3.Error as e:
            raise WarehouseError(f"cannot read views from {self.path}: {e}") from None
        triggers: dict[str, list[dict[str, str]]] = {}
        for table, tname, tsql in self._conn.execute(
                "SELECT tbl_name, name, sql FROM main.sqlite_master WHERE type = 'trigger' ORDER BY name"):
            triggers.setdefault(table.lower(), []).append({"name": tname, "definition": tsql})
        views = []
        for name, sql in rows:
            extra: dict[str, Any] = {}
            if name.lower() in triggers:
                # INSTEAD OF triggers: DROP VIEW removes them, so a rewrite recreates them
                extra["triggers"] = triggers[name.lower()]
            try:
                columns = self._columns(name)
            except sqlite3.Error as e:  # a view over a missing relation: still listed
                columns = ()
                extra["error"] = str(e)
            views.append(ViewInfo(
                relation=self._relation(name), definition=sql, definition_is_create=True,
                columns=columns, extra=extra,
            ))
        return self._mark(views)

    def _mark(self, views: list[ViewInfo]) -> list[ViewInfo]:
        """Set managed_by="dbt" on views the configured dbt manifest builds (in schema ``main``)."""
        if self.dbt_manifest is None:
            return views
        from dataclasses import replace

        from deprecator.warehouse.dbt import dbt_relations

        # dbt-sqlite names the attached database in `database`; one file is one database, so no filter.
        # SQLite resolves names case-insensitively, so the manifest's names are compared folded.
        owned = {(r.schema or SCHEMA).lower() + "." + r.name.lower()
                 for r in dbt_relations(self.dbt_manifest, dialect=self.dialect)}
        return [replace(v, managed_by="dbt") if f"{SCHEMA}.{v.relation.name.lower()}" in owned else v
                for v in views]

    def _lookup(self, relation: RelationName) -> str | None:
        if relation.schema not in (None, SCHEMA) or relation.catalog is not None:
            return None
        row = self._conn.execute(
            "SELECT name FROM main.sqlite_master WHERE type IN ('table', 'view') AND lower(name) = lower(?)",
            (relation.name,),
        ).fetchone()
        return row[0] if row else None

    def relation_columns(self, relation: RelationName) -> list[tuple[str, str]] | None:
        try:
            name = self._lookup(relation)
            if name is None:
                return None
            return list(self._columns(name))
        except sqlite3.Error as e:
            raise WarehouseError(f"cannot read columns of {relation} from {self.path}: {e}") from None

    # -- writing --------------------------------------------------------------
    def replace_view_statements(self, view: ViewInfo, new_definition: str) -> list[str]:
        # Views built on this one are not touched: SQLite binds view bodies
        # lazily, so dropping and recreating it leaves them valid. Its own
        # triggers go with the DROP and are created again, as they were.
        triggers = [str(t["definition"]) for t in view.extra.get("triggers") or ()]
        return [f"DROP VIEW {qualified(view.relation)}", new_definition, *triggers]

    def view_operations(self, view: ViewInfo, new_definition: str, context: DdlContext[ViewInfo] = DdlContext()) -> list[Operation]:
        """``replace_view_statements``, typed: the drop, the create, then the triggers it restores.

        The context changes nothing here: the DROP VIEW / CREATE VIEW pair keeps whatever SQLite keeps."""
        kinds = ("drop_view", "create_view")
        return [Operation(kinds[i] if i < len(kinds) else "restore_attached", view.relation, sql)
                for i, sql in enumerate(self.replace_view_statements(view, new_definition))]

    def execute_atomically(
        self,
        operations: Sequence[Operation | str],
        verify: Sequence[RelationName] = (),
        expected: Mapping[RelationName, str | None] | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        conn = self._conn
        statements = [op.sql if isinstance(op, Operation) else op for op in operations]
        try:
            self._begin_immediate(progress)
        except sqlite3.OperationalError as e:
            raise LockError(
                f"cannot take the write lock on {self.path}: {e}; nothing was changed",
                hint="another apply or a writer holds the database; try again when it is done",
            ) from None
        try:
            if expected:
                check_expected(expected, {v.relation: v.fingerprint() for v in self.list_views()})
            for i, stmt in enumerate(statements, 1):
                try:
                    conn.execute(stmt)
                except sqlite3.Error as e:
                    raise ApplyError(
                        f"statement {i} of {len(statements)} failed: {e}; nothing was changed", statement=stmt
                    ) from None
            for rel in verify:
                probe = f"SELECT * FROM {qualified(rel)} LIMIT 0"
                try:
                    conn.execute(probe).fetchall()
                except sqlite3.Error as e:
                    raise ApplyError(
                        f"verification failed: {rel} does not answer after the change: {e}; nothing was changed",
                        statement=probe,
                    ) from None
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _begin_immediate(self, progress: Callable[[str], None] | None) -> None:
        """BEGIN IMMEDIATE; when another connection holds the write lock, say so, then wait up to the timeout."""
        conn = self._conn
        if progress is None:
            conn.execute("BEGIN IMMEDIATE")
            return
        conn.execute("PRAGMA busy_timeout = 0")
        try:
            conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) and "busy" not in str(e):
                raise
        finally:
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
        progress(f"waiting for the write lock on {self.path} (up to {self.timeout:g} s)")
        conn.execute("BEGIN IMMEDIATE")

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> "SQLiteWarehouse":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
