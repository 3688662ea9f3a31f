"""Do the registered models and replacements exist in the configured warehouse?

A misspelt name (``public.custmer`` for ``public.customer``) would otherwise
scan to "no references found" and plan to "No changes": a clean bill of health
for a relation nobody could have used. So ``scan``, ``plan`` and ``deprecate``
check every registered name against the catalog first and fail with a
"did you mean" drawn from the relations that do exist. A model that was
already dropped (only query history still knows it) is registered with
``dropped: true``: its absence is expected, and its presence is the error.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Iterable, Protocol, Sequence

from deprecator.errors import ConfigError, RegistryError
from deprecator.sql.model import RelationName

if TYPE_CHECKING:
    from deprecator.registry import Registry
    from deprecator.warehouse.base import Warehouse

# PostgreSQL relkinds that can be read like a table: table, view, materialized view, foreign, partitioned.
_PG_CATALOG_QUERY = (
    "SELECT n.nspname, c.relname FROM pg_catalog.pg_class c "
    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind IN ('r','v','m','f','p') "
    "AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' "
    "AND n.nspname NOT LIKE 'pg\\_temp\\_%'"
)


class RegisteredNames(Protocol):
    """What the check reads of an entry: a ``registry.Deprecation``, or the names ``deprecate`` is about to register."""

    @property
    def model(self) -> str: ...
    @property
    def replacement(self) -> str: ...
    @property
    def dropped(self) -> bool: ...
    @property
    def path(self) -> str | None: ...
    @property
    def line(self) -> int | None: ...


def catalog_relations(warehouse: Warehouse) -> list[RelationName] | None:
    """Every table and view of ``warehouse`` (normalized names), or None when the engine cannot say.

    An adapter may offer ``relation_names()``; otherwise the SQLite and
    PostgreSQL catalogs are read here (read-only). None of these is part of the
    ``Warehouse`` protocol (an adapter may lack them), so they are looked up by name.
    """
    own = getattr(warehouse, "relation_names", None)
    if callable(own):
        return list(own())
    dialect = getattr(warehouse, "dialect", None)
    # PostgresWarehouse.read (a read-only transaction), SQLiteWarehouse.path (the database file)
    if dialect == "postgres" and callable(read := getattr(warehouse, "read", None)):
        import sqlalchemy as sa

        with read() as conn:
            return [RelationName(None, s, n) for s, n in conn.execute(sa.text(_PG_CATALOG_QUERY))]
    if dialect == "sqlite" and (path := getattr(warehouse, "path", None)) is not None:
        import sqlite3
        from urllib.parse import quote

        from deprecator.errors import WarehouseError
        from deprecator.sql.names import normalize_part

        try:
            con = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True)
            try:
                rows = con.execute("SELECT name FROM main.sqlite_master WHERE type IN ('table', 'view') "
                                   "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'").fetchall()
            finally:
                con.close()
        except sqlite3.Error as e:
            raise WarehouseError(f"cannot read the catalog of {path}: {e}") from None
        return [RelationName(None, "main", normalize_part(r[0], False, "sqlite")) for r in rows]
    return None


def display(rel: RelationName, dialect: str) -> str:
    """``rel`` as SQL text, each part quoted only when it must be (so it can be copied into a query)."""
    from deprecator.sql.names import render_part

    return ".".join(render_part(p, dialect) for p in rel.parts())


def _exists(rel: RelationName, present: set[tuple[str | None, str]], search_path: Sequence[str]) -> bool:
    schemas = (rel.schema,) if rel.schema is not None else tuple(search_path)
    return any((s, rel.name) in present for s in schemas)


def suggestions(rel: RelationName, catalog: Sequence[RelationName], dialect: str, n: int = 3) -> list[str]:
    """Relations of the catalog close to ``rel``: the same name in another schema, close names in the
    same schema, then close qualified spellings (a typo in the schema)."""
    same_name = [c for c in catalog if c.name == rel.name and c.schema != rel.schema]
    in_schema = {c.name: c for c in catalog if c.schema == rel.schema}
    close = [in_schema[name] for name in difflib.get_close_matches(rel.name, list(in_schema), n=n, cutoff=0.75)]
    if not same_name and not close:
        shown = {display(c, dialect): c for c in catalog}
        wanted = display(RelationName(None, rel.schema, rel.name), dialect)
        close = [shown[k] for k in difflib.get_close_matches(wanted, list(shown), n=n, cutoff=0.8)]
    out: list[str] = []
    for c in same_name + close:
        text = display(c, dialect)
        if text not in out:
            out.append(text)
    return out[:n]


def check_registered_names(warehouse: Warehouse, registry: Registry, deprecations: Iterable[RegisteredNames] | None = None,
                           *, command_line: bool = False) -> None:
    """Raise RegistryError (file, line, field, "did you mean") for each registered name the warehouse lacks.

    Checks every deprecation's model (unless ``dropped``) and direct replacement;
    a ``dropped`` model that does exist is an error too (the scan would skip the
    views that still read it). ``deprecations`` limits the check (default: all);
    ``command_line``: the hints name ``--dropped`` instead of the registry key.
    Nothing is checked when the engine cannot list its catalog.
    """
    catalog = catalog_relations(warehouse)
    if catalog is None:
        return
    present = {(c.schema, c.name) for c in catalog}
    dialect = warehouse.dialect
    search_path = tuple(getattr(warehouse, "default_schema", ()) or ())
    catalog_name = getattr(warehouse, "default_catalog", None)
    where = getattr(warehouse, "display_url", None) or "the warehouse"
    problems: list[ConfigError] = []
    for dep in registry.deprecations if deprecations is None else deprecations:
        if getattr(dep, "origin", "registry") == "dbt":
            continue   # read from dbt's manifest, not typed by a person; its replacement may be a ref()
        for fld in ("model", "replacement"):
            written = getattr(dep, fld)
            try:
                rel = registry.relation_of(written, dialect, search_path, catalog_name)
            except ValueError:
                continue   # not a name: the registry's own validation reports it
            found = _exists(rel, present, search_path)
            if fld == "model" and getattr(dep, "dropped", False):
                if found:
                    problems.append(ConfigError(
                        f"{written} is registered as dropped but exists in {where}",
                        path=dep.path, line=dep.line, field="dropped",
                        hint=("leave out --dropped" if command_line else "remove `dropped: true`")
                        + ": the scan then also looks for the views and functions that still read it"))
                continue
            if found:
                continue
            close = suggestions(rel, catalog, dialect)
            hint = f"did you mean {', '.join(close[:-1]) + ' or ' if len(close) > 1 else ''}{close[-1]}?" if close else None
            if fld == "model":
                extra = ("if it was already dropped and only query history still knows it, register it with "
                         + ("--dropped" if command_line else "`dropped: true` (deprecator deprecate --dropped)"))
                hint = f"{hint} ({extra})" if hint else extra
            else:
                hint = hint or "create the replacement first, or fix the name"
            problems.append(ConfigError(f"{written} does not exist in {where}",
                                        path=dep.path, line=dep.line, field=fld, hint=hint))
    if problems:
        raise RegistryError(problems)
