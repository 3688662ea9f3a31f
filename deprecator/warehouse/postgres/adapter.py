"""PostgreSQL adapter: read views, materialized views and their dependencies from the catalog.

Everything is read in READ ONLY transactions with ``search_path`` set to empty
(as pg_dump does), so ``pg_get_viewdef`` and ``format_type`` qualify every name
with its schema. Names are never concatenated into SQL: catalog lookups bind
them as parameters and DDL quotes them with :func:`quote_ident`.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url

from deprecator.config import WarehouseConfig
from deprecator.db import create_engine
from deprecator.errors import WarehouseError
from deprecator.graph import dependency_order
from deprecator.operations import DdlContext, Operation
from deprecator.redact import mask_url, redact
from deprecator.sql.model import RelationName
from deprecator.warehouse.base import ViewInfo
from deprecator.warehouse.postgres.catalog import (_EDGES_SQL, _KIND, _VIEWS_SQL, _build_views, _columns,
                                                  _edge_rows, _edges, _names, _rel, _rel_key, _views_by_oid,
                                                  LockHolder, lock_holders)
from deprecator.warehouse.quoting import quote_ident

T = TypeVar("T")


class CatalogLockTimeout(WarehouseError):
    """A catalog read waited longer than the lock timeout, ``attempts`` times: another session holds a lock.

    ``holders`` are the locks found on views and the relations views read (after the wait).
    """

    def __init__(self, warehouse: PostgresWarehouse, attempts: int, holders: Sequence[LockHolder]) -> None:
        self.attempts = attempts
        self.holders = list(holders)
        pids = sorted({h.pid for h in self.holders})
        ms = warehouse.apply_settings.lock_timeout_ms
        tries = f"{attempts} attempts of {ms} ms each" if attempts > 1 else f"{ms} ms"
        super().__init__(
            f"gave up reading the catalog of {warehouse.display_url} after {tries}: another session holds a lock "
            f"on {_holders_text(self.holders)}",
            hint="wait for that session to commit or roll back"
                 + (f" (or end it: SELECT pg_terminate_backend({pids[0]}))" if len(pids) == 1 else "")
                 + ", or raise warehouse.lock_timeout / warehouse.lock_retries in deprecator.yml",
        )


def _holders_text(holders: Sequence[LockHolder]) -> str:
    return ", ".join(h.describe() for h in holders) if holders else "a relation a view reads"


def quote_relation(relation: RelationName) -> str:
    """``schema.name`` with both parts quoted (the catalog part is the connected database)."""
    parts = [p for p in (relation.schema, relation.name) if p is not None]
    return ".".join(quote_ident(p) for p in parts)


@dataclass(frozen=True)
class DependencyDisagreement:
    """The AST engine and pg_depend disagree about what a view reads."""

    view: RelationName
    relation: RelationName | None
    only_in: str                    # "ast" | "pg_depend" | "parse" | "rule" (detail: the rule's name)
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"view": str(self.view), "relation": None if self.relation is None else str(self.relation),
                "only_in": self.only_in, "detail": self.detail}

    def describe(self) -> str:
        if self.relation is None:
            return f"{self.view}: the AST engine could not check it against pg_depend ({self.detail})"
        if self.only_in == "rule":
            return (f"{self.view}: its rule {quote_ident(self.detail)} reads {self.relation}; apply rewrites only "
                    "the view's query and restores rules as they are: rewrite the rule by hand "
                    "(CREATE OR REPLACE RULE)")
        if self.only_in == "pg_depend":
            return (f"{self.view}: pg_depend records that it reads {self.relation}, the AST engine finds no "
                    "reference (e.g. a ::regclass constant or a function body); review it by hand")
        return (f"{self.view}: the AST engine finds a reference to {self.relation} that pg_depend does not record; "
                "review it by hand")


@dataclass(frozen=True)
class FunctionInfo:
    """A SQL or PL/pgSQL function (or procedure) whose body a scan reads as text."""

    schema: str
    name: str
    arguments: str                 # pg_get_function_identity_arguments: "integer, text"
    language: str                  # "sql" | "plpgsql"
    body: str
    atomic: bool = False           # a SQL-standard BEGIN ATOMIC body, deparsed by PostgreSQL
    search_path: str | None = None  # its own SET search_path, when it has one
    kind: str = "function"         # "function" | "procedure"

    @property
    def signature(self) -> str:
        return f"{quote_ident_if_needed(self.schema)}.{quote_ident_if_needed(self.name)}({self.arguments})"


def quote_ident_if_needed(name: str) -> str:
    """A name as PostgreSQL prints it: bare when it is a plain lower-case identifier."""
    import re

    return name if re.fullmatch(r"[a-z_][a-z0-9_$]*", name) else quote_ident(name)


def _atomic_statements(body: str) -> str:
    """``BEGIN ATOMIC\n stmt;\n stmt;\nEND`` (pg_get_function_sqlbody) -> the statements."""
    text = body.strip()
    if text.upper().startswith("BEGIN ATOMIC") and text.upper().endswith("END"):
        return text[len("BEGIN ATOMIC"):-len("END")].strip()
    return text


class PostgresWarehouse:
    """One PostgreSQL database: its views and dependencies, the DDL to rewrite them, the apply."""

    dialect = "postgres"

    default_catalog: str | None = None
    # PostgreSQL refuses CREATE OR REPLACE VIEW when columns change and DROP VIEW
    # while other views read it, so replacing a view may force its dependents too.
    recreate_dependents = True
    two_phase = False

    def __init__(
        self,
        url: str,
        *,
        root: Path | None = None,
        config: WarehouseConfig | None = None,
        schemas: Sequence[str] | None = None,
        default_schema: Sequence[str] | str | None = None,
        engine: Engine | None = None,
        dbt_manifest: str | Path | None = None,
        lock_timeout_ms: int = 2000,
        lock_retries: int = 3,
        lock_backoff_s: float = 0.5,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        from deprecator.warehouse.postgres.executor import ApplySettings

        self.apply_settings = ApplySettings(lock_timeout_ms, lock_retries, lock_backoff_s)
        # hears what a catalog read waits for (a lock another session holds), as apply's progress does
        self.progress = progress
        self._types_cache: dict[str, tuple[str, ...] | None] = {}
        self._probe_errors: dict[str, str] = {}
        self._graph: tuple[Any, Any, Any] | None = None
        self._probe: Connection | None = None
        self._identity: dict[str, str] | None = None
        self.url = url
        self.dbt_manifest = Path(root or ".", dbt_manifest) if dbt_manifest is not None else None
        self.display_url = mask_url(url)
        self.schemas = tuple(schemas) if schemas else None
        if default_schema is None and config is not None and config.default_schema:
            default_schema = config.default_schema
        if isinstance(default_schema, str):
            default_schema = (default_schema,)
        self._default_schema = tuple(default_schema) if default_schema else None
        try:
            self.engine = engine or create_engine(url, pool_pre_ping=True)
        except (sa.exc.ArgumentError, ImportError, ValueError) as e:  # bad URL, unknown or missing driver, bad port
            raise WarehouseError(f"cannot open {self.display_url}: {redact(str(e))}") from None

    @property
    def default_schema(self) -> tuple[str, ...]:
        """The configured search path, else the connecting role's effective one (``current_schemas``)."""
        if self._default_schema is None:
            try:
                with self.engine.connect() as conn:
                    found = conn.exec_driver_sql("SELECT pg_catalog.current_schemas(false)").scalar()
            except sa.exc.DBAPIError as e:
                raise WarehouseError(f"cannot read the search_path of {self.display_url}: "
                                     f"{redact(str(e.orig).strip())}") from None
            self._default_schema = tuple(found or ()) or ("public",)
        return self._default_schema

    # -- connections ------------------------------------------------------------
    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        """A READ ONLY transaction with an empty search_path; rolled back at the end.

        A statement waits for a lock at most the apply's ``lock_timeout`` (pg_get_viewdef takes a
        share lock on every relation a view reads, so a session holding ACCESS EXCLUSIVE on one
        stops the read): the wait ends as ``CatalogLockTimeout`` naming the holders. Ctrl-C cancels
        the statement the server is running (libpq waits where Python cannot interrupt).
        """
        from deprecator.warehouse.postgres.executor import LOCK_NOT_AVAILABLE, interruptible

        try:
            with interruptible(), self.engine.connect() as conn:
                trans = conn.begin()
                try:
                    conn.exec_driver_sql("SET TRANSACTION READ ONLY")
                    conn.exec_driver_sql("SET LOCAL search_path = ''")
                    conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{int(self.apply_settings.lock_timeout_ms)}ms'")
                    yield conn
                finally:
                    trans.rollback()
        except sa.exc.DBAPIError as e:
            if getattr(e.orig, "pgcode", None) == LOCK_NOT_AVAILABLE:
                raise CatalogLockTimeout(self, 1, self._lock_holders()) from None
            raise WarehouseError(
                f"reading the catalog of {self.display_url} failed: {redact(str(e.orig).strip())}"
            ) from None

    def _catalog(self, read: Callable[[Connection], T]) -> T:
        """``read(conn)`` in :meth:`read`, tried again as apply retries when a lock wait times out.

        Each try waits ``lock_timeout`` at most; ``progress`` hears who holds the lock before
        each retry (backoff doubled every time); after ``lock_retries`` the CatalogLockTimeout
        names the relation and the holding session.
        """
        settings = self.apply_settings
        delay = settings.backoff_s
        attempt = 0
        while True:
            attempt += 1
            try:
                with self.read() as conn:
                    return read(conn)
            except CatalogLockTimeout as e:
                if attempt > settings.retries:
                    raise CatalogLockTimeout(self, attempt, e.holders) from None
                if self.progress is not None:
                    self.progress(f"waiting for a lock on {_holders_text(e.holders)} to read the catalog, attempt "
                                  f"{attempt + 1} of {settings.retries + 1} in {delay:g} s (attempt {attempt} "
                                  f"waited {settings.lock_timeout_ms} ms for it)")
                time.sleep(delay)
                delay *= 2

    def _lock_holders(self) -> list[LockHolder]:
        """Who holds the locks a catalog read may wait for (``catalog.lock_holders``); [] when unreadable."""
        try:
            with self.engine.connect() as conn, conn.begin():
                conn.exec_driver_sql("SET LOCAL search_path = ''")   # names as schema.name
                return lock_holders(conn)
        except sa.exc.DBAPIError:
            return []

    def identity(self) -> dict[str, str]:
        """The cluster's system identifier and the database's name: the same warehouse whatever URL,
        host spelling, role or connection options reach it.

        Where ``pg_control_system()`` is not allowed (some managed services revoke it), the
        server's address and port as the server itself reports them stand in for the identifier.
        """
        if self._identity is None:
            try:
                with self.engine.connect() as conn:
                    try:
                        sysid, db = conn.exec_driver_sql(
                            "SELECT system_identifier::text, pg_catalog.current_database() "
                            "FROM pg_catalog.pg_control_system()").one()
                        identity = {"system_identifier": str(sysid)}
                    except sa.exc.DBAPIError:
                        conn.rollback()
                        addr, port, db = conn.exec_driver_sql(
                            # every loopback address is this machine's server (localhost may be ::1 or 127.0.0.1)
                            "SELECT CASE WHEN a IS NULL THEN 'local socket' WHEN a << inet '127.0.0.0/8' "
                            "OR a = inet '::1' THEN 'loopback' ELSE pg_catalog.host(a) END, "
                            "pg_catalog.current_setting('port'), pg_catalog.current_database() "
                            "FROM (SELECT pg_catalog.inet_server_addr() AS a) s").one()
                        identity = {"server": f"{addr}:{port}"}
                    conn.rollback()
            except sa.exc.DBAPIError as e:
                raise WarehouseError(f"cannot read the identity of {self.display_url}: "
                                     f"{redact(str(e.orig).strip())}") from None
            self._identity = {"engine": "postgresql", **identity, "database": str(db)}
        return dict(self._identity)

    def close(self) -> None:
        if self._probe is not None:
            try:
                self._probe.close()
            except sa.exc.SQLAlchemyError:
                pass
            self._probe = None
        self.engine.dispose()

    # -- relation lookup --------------------------------------------------------
    def _resolve_oid(self, conn: Connection, relation: RelationName) -> int | None:
        schemas = (relation.schema,) if relation.schema is not None else self.default_schema
        for schema in schemas:
            oid = conn.execute(
                sa.text(
                    "SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = :schema AND c.relname = :name AND c.relkind IN ('r','v','m','f','p')"
                ),
                {"schema": schema, "name": relation.name},
            ).scalar()
            if oid is not None:
                return int(oid)
        return None

    def relation_columns(self, relation: RelationName) -> list[tuple[str, str]] | None:
        """(name, type) of a table, view, materialized view or foreign table; None if absent."""
        def read(conn: Connection) -> list[tuple[str, str]] | None:
            oid = self._resolve_oid(conn, relation)
            if oid is None:
                return None
            return [(r[1], r[2]) for r in _columns(conn, [oid])]
        return self._catalog(read)

    def existing_relations(self, names: Iterable[RelationName]) -> set[RelationName]:
        """The schema-qualified ``names`` that exist now as a table, view, materialized view or foreign table.

        One catalog query for all of them (read-only). Unqualified names are never
        in the answer, nor names whose catalog is another database.
        """
        wanted = [n for n in set(names) if n.schema is not None]
        if not wanted:
            return set()
        def read(conn: Connection) -> set[RelationName]:
            db = conn.exec_driver_sql("SELECT pg_catalog.current_database()").scalar()
            here = [n for n in wanted if n.catalog is None or n.catalog == db]
            if not here:
                return set()
            found = {(s, n) for s, n in conn.execute(sa.text(
                "SELECT ns.nspname, c.relname FROM unnest(CAST(:s AS text[]), CAST(:n AS text[])) AS r(s, n) "
                "JOIN pg_catalog.pg_namespace ns ON ns.nspname = r.s "
                "JOIN pg_catalog.pg_class c ON c.relnamespace = ns.oid AND c.relname = r.n "
                "WHERE c.relkind IN ('r','v','m','f','p')"),
                {"s": [w.schema for w in here], "n": [w.name for w in here]}).all()}
            return {w for w in here if (w.schema, w.name) in found}
        return self._catalog(read)

    def schema_usage(self, roles: Iterable[str], schemas: Iterable[str]) -> dict[tuple[str, str], bool]:
        """(role, schema) -> whether the role has USAGE on the schema, in one read-only catalog query.

        Roles or schemas that do not exist are left out of the answer (unknown),
        so a caller can tell "no USAGE" from "cannot say".
        """
        role_list, schema_list = sorted(set(roles)), sorted(set(schemas))
        if not role_list or not schema_list:
            return {}
        def read(conn: Connection) -> Sequence[Any]:
            return conn.execute(sa.text(
                "SELECT r.rolname, ns.nspname, pg_catalog.has_schema_privilege(r.oid, ns.oid, 'USAGE') "
                "FROM pg_catalog.pg_roles r JOIN pg_catalog.pg_namespace ns ON ns.nspname = ANY(CAST(:s AS text[])) "
                "WHERE r.rolname = ANY(CAST(:r AS text[]))"),
                {"r": role_list, "s": schema_list}).all()
        rows = self._catalog(read)
        return {(r, n): bool(ok) for r, n, ok in rows}

    # -- views ------------------------------------------------------------------
    def list_views(self) -> list[ViewInfo]:
        """Every user view and materialized view (extension-owned ones excluded), ordered by name."""
        self._graph = None              # a fresh read: DDL made later uses the catalog as of now
        self._types_cache.clear()
        self._probe_errors.clear()
        def read(conn: Connection) -> list[ViewInfo]:
            rows = conn.execute(sa.text(_VIEWS_SQL), {"schemas": list(self.schemas) if self.schemas else None}).all()
            return _build_views(conn, rows)
        return self._mark(self._catalog(read))

    def list_functions(self) -> list[FunctionInfo]:
        """SQL and PL/pgSQL functions and procedures outside the system schemas (and extensions).

        Their bodies can read a deprecated relation, and pg_depend does not record
        it (except for SQL-standard ``BEGIN ATOMIC`` bodies), so a scan must read
        them as text. A ``BEGIN ATOMIC`` body is taken as PostgreSQL deparses it
        (names qualified); other bodies are as written.
        """
        def read(conn: Connection) -> Sequence[Any]:
            atomic = ("CASE WHEN p.prosqlbody IS NOT NULL THEN pg_catalog.pg_get_function_sqlbody(p.oid) END"
                      if int(conn.exec_driver_sql("SHOW server_version_num").scalar() or 0) >= 140000
                      else "NULL")
            return conn.execute(sa.text(
                "SELECT n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid), l.lanname, "
                f"p.prosrc, {atomic}, p.proconfig, p.prokind "
                "FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace "
                "JOIN pg_catalog.pg_language l ON l.oid = p.prolang "
                "WHERE l.lanname IN ('sql', 'plpgsql') "
                "AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%' "
                "AND (CAST(:schemas AS text[]) IS NULL OR n.nspname = ANY(CAST(:schemas AS text[]))) "
                "AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = "
                "'pg_catalog.pg_proc'::pg_catalog.regclass AND d.objid = p.oid AND d.deptype = 'e') "
                "ORDER BY n.nspname, p.proname, 3"
            ), {"schemas": list(self.schemas) if self.schemas else None}).all()
        rows = self._catalog(read)
        out = []
        for schema, name, args, language, src, atomic_body, config, prokind in rows:
            search_path = None
            for item in config or ():
                key, _, value = item.partition("=")
                if key.strip().lower() == "search_path":
                    search_path = value
            out.append(FunctionInfo(
                schema=schema, name=name, arguments=args or "", language=language,
                body=_atomic_statements(atomic_body) if atomic_body else (src or ""),
                atomic=bool(atomic_body), search_path=search_path,
                kind="procedure" if prokind == "p" else "function"))
        return out

    def get_views(self, relations: Iterable[RelationName]) -> list[ViewInfo]:
        """The views among ``relations`` (in the given order); relations that are not views are skipped."""
        wanted = list(relations)

        def read(conn: Connection) -> list[ViewInfo]:
            oids = [o for o in (self._resolve_oid(conn, r) for r in wanted) if o is not None]
            return _views_by_oid(conn, oids)
        return self._mark(self._catalog(read))

    def get_view(self, relation: RelationName) -> ViewInfo | None:
        found = self.get_views([relation])
        return found[0] if found else None

    def _mark(self, views: list[ViewInfo]) -> list[ViewInfo]:
        """Set managed_by="dbt" on views the configured dbt manifest builds."""
        if self.dbt_manifest is None:
            return views
        from deprecator.warehouse.dbt import mark_dbt_managed

        return mark_dbt_managed(views, self.dbt_manifest, database=make_url(self.url).database)

    # -- dependency graph -------------------------------------------------------
    def dependency_edges(self) -> dict[RelationName, set[RelationName]]:
        """view -> relations it reads directly, from pg_depend through the view's rewrite rules."""
        return self._catalog(lambda conn: {_rel(v): set(deps) for v, deps in _edges(conn).items()})

    def rule_edges(self) -> dict[RelationName, dict[str, set[RelationName]]]:
        """view -> rule -> relations it reads directly, per rewrite rule (``_RETURN``: the view's query)."""
        out: dict[RelationName, dict[str, set[RelationName]]] = {}
        for view, rel, rule in self._catalog(_edge_rows):
            out.setdefault(_rel(view), {}).setdefault(rule, set()).add(rel)
        return out

    def dependents(self, relations: Iterable[RelationName]) -> list[ViewInfo]:
        """Views and materialized views reading ``relations`` directly or through other views.

        Topological order: every view comes after all the views it reads; each view once.
        """
        wanted = list(relations)

        def read(conn: Connection) -> list[ViewInfo]:
            roots = {o for o in (self._resolve_oid(conn, r) for r in wanted) if o is not None}
            if not roots:
                return []
            edges = conn.execute(sa.text(_EDGES_SQL)).all()
            reads: dict[int, set[int]] = {}
            readers: dict[int, set[int]] = {}
            for view_oid, ref_oid, *_ in edges:
                reads.setdefault(view_oid, set()).add(ref_oid)
                readers.setdefault(ref_oid, set()).add(view_oid)
            affected: set[int] = set()
            stack = list(roots)
            while stack:
                for v in readers.get(stack.pop(), ()):
                    if v not in affected:
                        affected.add(v)
                        stack.append(v)
            # A deprecated view that reads another deprecated relation is itself a dependent; others are not.
            ordered = sorted(affected)
            oid_of = dict(zip(ordered, _names(conn, ordered)))
            infos = {_rel_key(v): v for v in _views_by_oid(conn, ordered)}
            # ties by (schema, name), the smallest ready view first, so the order is stable across runs
            order = dependency_order(affected, reads, key=oid_of.__getitem__,
                                     name=lambda o: ".".join(oid_of[o]), levels=False)
            return [infos[oid_of[o]] for o in order if oid_of[o] in infos]
        return self._mark(self._catalog(read))

    # -- writing --------------------------------------------------------------
    def _dependency_graph(self) -> tuple[dict[RelationName, set[RelationName]], dict[RelationName, str],
                                         dict[RelationName, set[RelationName]]]:
        """(relation -> views reading it, view -> kind, view -> relations it reads), cached until list_views()."""
        if self._graph is None:
            with self.read() as conn:
                readers: dict[RelationName, set[RelationName]] = {}
                reads: dict[RelationName, set[RelationName]] = {}
                for v, deps in _edges(conn).items():
                    reads[_rel(v)] = set(deps)
                    for d in deps:
                        readers.setdefault(d, set()).add(_rel(v))
                kinds = {RelationName(None, s, n): _KIND[k] for s, n, k in conn.execute(sa.text(
                    "SELECT n.nspname, c.relname, c.relkind FROM pg_catalog.pg_class c "
                    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('v', 'm')"))}
            self._graph = (readers, kinds, reads)
        return self._graph

    def dependents_deepest_first(self, relation: RelationName) -> list[tuple[RelationName, str]]:
        """Views built on ``relation`` (transitively), each after every view built on it: the DROP order."""
        readers, kinds, _ = self._dependency_graph()
        order: list[RelationName] = []
        state: dict[RelationName, int] = {}          # 1 = in progress, 2 = done
        stack: list[tuple[RelationName, Iterator[RelationName]]] = [(relation, iter(sorted(readers.get(relation, ()))))]
        state[relation] = 1
        while stack:  # iterative DFS; post-order puts a view after everything that reads it
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                state[node] = 2
                if node != relation:
                    order.append(node)
            elif state.get(child) is None:
                state[child] = 1
                stack.append((child, iter(sorted(readers.get(child, ())))))
            elif state[child] == 1:
                raise WarehouseError(f"the views built on {relation} form a cycle through {child}")
        return [(v, kinds.get(v, "view")) for v in order]

    def column_types(self, definition: str) -> tuple[str, ...] | None:
        """The column types a SELECT would give a view (None when it does not compile now).

        Compiled as a temporary view inside a transaction that is rolled back
        (``probes.probe_definition``), once per definition until the next ``list_views``.
        """
        from deprecator.warehouse.postgres.probes import probe_definition

        if definition not in self._types_cache:
            if self._probe is None:
                self._probe = self.engine.connect()
            types, error = probe_definition(self._probe, definition)
            if error is not None:
                self._probe_errors[definition] = error
            self._types_cache[definition] = types
        return self._types_cache[definition]

    def stored_definition(self, definition: str) -> str | None:
        """The text the server would store for a view defined as ``definition`` (None when it does not
        compile now): how apply tells a planned text the server only re-spelt from one that differs."""
        from deprecator.warehouse.postgres.probes import stored_text

        with self.engine.connect() as conn:
            return stored_text(conn, definition, self.apply_settings.lock_timeout_ms)

    def compile_error(self, definition: str) -> str | None:
        """Why ``definition`` does not compile against the warehouse now (None when it does).

        The planner can turn this into a blocker instead of letting apply fail on it.
        """
        self.column_types(definition)
        return self._probe_errors.get(definition)

    def replace_view_statements(self, view: ViewInfo, new_definition: str,
                                context: DdlContext[ViewInfo] = DdlContext()) -> list[str]:
        """The SQL of ``view_operations``."""
        return [op.sql for op in self.view_operations(view, new_definition, context)]

    def view_operations(self, view: ViewInfo, new_definition: str, context: DdlContext[ViewInfo] = DdlContext()) -> list[Operation]:
        """CREATE OR REPLACE when the columns keep names, order and types; else drop and recreate
        (with the views built on it). Options, owner, grants, comments and indexes are restated,
        unless the view is replaced in place and nothing it reads is dropped before it
        (``context.upstream_dropped``, from the planner, which knows the plan's order).

        Depends only on its arguments and the catalog (its dependency graph and the column
        types a definition compiles to, both read once per ``list_views``), never on which
        views were asked for before."""
        from deprecator.warehouse.postgres.ddl import Dependent, view_operations
        from deprecator.warehouse.postgres.probes import types_of

        rel = view.relation
        old_types = types_of(view.definition, context.current, self.column_types)
        new_types = (old_types if new_definition == view.definition
                     else types_of(new_definition, context.current, self.column_types))
        keeps = (view.kind == "view" and old_types is not None and new_types is not None
                 and list(new_types[: len(old_types)]) == list(old_types) and len(new_types) >= len(old_types))
        return view_operations(view, new_definition, old_types=old_types, new_types=new_types,
                               dependents=lambda: [Dependent(r, k) for r, k in self.dependents_deepest_first(rel)],
                               restore=context.upstream_dropped or not keeps)

    def restore_operations(self, view: ViewInfo) -> list[Operation]:
        """Owner, grants (everything else revoked) and comments exactly as ``view`` records them."""
        from deprecator.warehouse.postgres.ddl import restore_operations

        return restore_operations(view)

    def execute_atomically(
        self,
        operations: Sequence[Operation | str],
        verify: Sequence[RelationName] = (),
        expected: Mapping[RelationName, str | None] | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        """One transaction: advisory lock, staleness re-check, statements, no view lost, verification, commit.

        ``progress`` hears when a lock wait timed out and the apply retries."""
        from deprecator.warehouse.postgres.executor import execute

        self.last_stats: dict[str, Any] = {}
        self.last_attempts = execute(
            self.engine.connect, operations, verify, expected,
            self._fingerprints_in, self._relations_in, self.apply_settings, stats=self.last_stats,
            progress=progress,
        )
        self._graph = None
        self._types_cache.clear()

    def _fingerprints_in(self, conn: Connection, relations: Sequence[RelationName]) -> dict[RelationName, str]:
        qualified_rels = [r for r in relations if r.schema is not None]
        oids = [int(o) for o in conn.execute(sa.text(
            "SELECT c.oid FROM unnest(CAST(:s AS text[]), CAST(:n AS text[])) AS r(s, n) "
            "JOIN pg_catalog.pg_namespace ns ON ns.nspname = r.s "
            "JOIN pg_catalog.pg_class c ON c.relnamespace = ns.oid AND c.relname = r.n"),
            {"s": [r.schema for r in qualified_rels], "n": [r.name for r in qualified_rels]}).scalars()]
        oids += [o for o in (self._resolve_oid(conn, r) for r in relations if r.schema is None) if o is not None]
        return {v.relation: v.fingerprint() for v in _views_by_oid(conn, oids)}

    def _relations_in(self, conn: Connection) -> set[RelationName]:
        rows = conn.execute(sa.text(_VIEWS_SQL), {"schemas": list(self.schemas) if self.schemas else None}).all()
        return {RelationName(None, s, n) for s, n in _names(conn, [int(r[0]) for r in rows])}

    def cross_check_relations(
        self,
        relations: Iterable[RelationName],
        views: Sequence[ViewInfo],
    ) -> list[DependencyDisagreement]:
        """:meth:`cross_check` over the views a plan for ``relations`` is about.

        Those are ``views`` (the ones the plan lists) plus every view pg_depend
        says reads one of ``relations`` directly or through other views, so a
        dependent only pg_depend knows about is reported, not missed.
        """
        edges = self.dependency_edges()
        readers: dict[RelationName, set[RelationName]] = {}
        for view, deps in edges.items():
            for d in deps:
                readers.setdefault(d, set()).add(view)
        affected: set[RelationName] = set()
        stack = [RelationName(None, r.schema, r.name) for r in relations]
        while stack:
            for v in readers.get(stack.pop(), ()):
                if v not in affected:
                    affected.add(v)
                    stack.append(v)
        chosen = {v.relation: v for v in views}
        missing = sorted(affected - set(chosen))
        if missing:
            chosen.update((v.relation, v) for v in self.get_views(missing))
        watched = {RelationName(None, r.schema, r.name) for r in relations}
        return self.cross_check(sorted(chosen.values(), key=lambda v: (v.relation.schema or "", v.relation.name)),
                                watch=watched)

    def cross_check(
        self,
        views: Sequence[ViewInfo] | None = None,
        *,
        watch: Iterable[RelationName] | None = None,
    ) -> list[DependencyDisagreement]:
        """Compare the AST engine's references in each view with pg_depend's direct dependencies.

        Every disagreement is returned: a relation only one side sees, or a
        definition the engine could not parse (which is never "agrees"). A view's
        other rules (ON INSERT/UPDATE/DELETE) are not part of its definition and
        are not rewritten: each rule reading a relation of ``watch`` (default:
        any relation) is returned too, as ``rule``.
        """
        from deprecator.sql import find_references  # the engine may land after this adapter

        if views is None:
            views = self.list_views()
        rules = self.rule_edges()
        watched = set(watch) if watch is not None else None
        out: list[DependencyDisagreement] = []
        for v in views:
            by_rule = rules.get(v.relation, {})
            for rule, rels in sorted(by_rule.items()):
                if rule != "_RETURN":
                    out.extend(DependencyDisagreement(v.relation, rel, "rule", rule) for rel in sorted(rels)
                               if watched is None or rel in watched)
            result = find_references(v.definition, "postgres", default_schema=self.default_schema)
            if result.status != "parsed":
                out.append(DependencyDisagreement(v.relation, None, "parse", f"{result.status}: {result.error or ''}".strip()))
                continue
            ast = {RelationName(None, r.relation.schema, r.relation.name) for r in result.references}
            pg = by_rule.get("_RETURN", set())
            for rel in sorted(ast - pg):
                out.append(DependencyDisagreement(v.relation, rel, "ast", "the AST engine sees a reference pg_depend does not record"))
            for rel in sorted(pg - ast):
                out.append(DependencyDisagreement(v.relation, rel, "pg_depend", "pg_depend records a dependency the AST engine did not find"))
        return out
