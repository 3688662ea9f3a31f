"""``pg_stat_statements`` as a query-history source.

What the extension gives: per (database, role, statement) a normalized text
(constants replaced by ``$1``, ``$2``...) and a cumulative ``calls`` counter,
but (before PG 17) no timestamps. Each text's ``count`` is that counter: every
call since the statistics were reset (``pg_stat_statements_info.stats_reset``,
the text's ``first_seen``), so reading it again gives the same number until
more calls happen; recording a reading changes nothing. ``last_seen`` is the
first reading that saw the counter at its current value (the last call ran
before it). With a state store, each read stores the counters it saw, and the
:class:`UsageBasis` it yields last carries the calls since the previous reading
per text (the window's delta): a ``pg_stat_statements_reset()`` (a changed
``stats_reset``, or a counter lower than last time) restarts the count from zero,
never negative. Limitation before PG 17 (no per-entry ``stats_since``): an entry
evicted and re-created restarts its counter, and one that has run more times
than the last reading saw cannot be told apart from one that kept counting.

deprecator's own statements (the marker comment of :mod:`deprecator.db`) and
the configured own roles (``warehouse.own_roles``) are not usage: they are left
out and counted in ``UsageBasis.excluded_own``.

Unqualified names in a text resolve with the search path of the role that ran
it: the role's setting in ``pg_db_role_setting`` (role-in-database, then role,
then database) where set, else the configured default. Each text carries that
path (``default_schema``) and where it came from (``search_path_origin``). A
``SET search_path`` inside a session is invisible to the catalog; when the
default was assumed, the scan's finding note says so.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url

from deprecator.errors import ConfigError, SourceError
from deprecator.redact import mask_url, redact
from deprecator.sources.base import SourceItem, SourceProblem, SqlText, UsageBasis, to_utc_naive
from deprecator.db import create_engine, db_error, is_own_statement
from deprecator.sql.names import quote_part

KIND = "pg_stat_statements"
_HIDDEN = "<insufficient privilege>"


def parse_search_path(value: str) -> list[str]:
    """``'"$user", public, "My Schema"'`` -> ``['$user', 'public', 'My Schema']`` (as PostgreSQL reads it)."""
    out: list[str] = []
    buf: list[str] = []
    quoted = False
    was_quoted = False
    i = 0
    while i < len(value):
        ch = value[i]
        if quoted:
            if ch == '"':
                if i + 1 < len(value) and value[i + 1] == '"':
                    buf.append('"')
                    i += 1
                else:
                    quoted = False
            else:
                buf.append(ch)
        elif ch == '"':
            quoted = was_quoted = True
        elif ch == ",":
            out.append("".join(buf) if was_quoted else "".join(buf).strip().lower())
            buf, was_quoted = [], False
        elif ch.isspace() and (was_quoted or not buf):
            pass                       # around an item, not inside an unquoted one
        else:
            buf.append(ch)
        i += 1
    last = "".join(buf) if was_quoted else "".join(buf).strip().lower()
    if last or out:
        out.append(last)
    return [p for p in out if p != ""]


@dataclass(frozen=True)
class RoleSearchPath:
    """The search path a role's statements resolved unqualified names with, as far as the catalog knows."""

    schemas: tuple[str, ...]
    # "role_in_database" | "role" | "database" (pg_db_role_setting), "server" (the server's own
    # search_path: no role or database setting and none configured) or "default" (the configured one)
    origin: str
    setting: str | None = None   # the raw setting, when one exists

    @property
    def ambiguous(self) -> bool:
        """More than one schema: an unqualified name resolves to whichever holds it first."""
        return len(self.schemas) > 1


@dataclass
class PgStatStatementsSource:
    """Statements from ``pg_stat_statements`` (current database by default), with call deltas.

    ``state`` is a :class:`deprecator.state.StateStore`; without one, ``count``
    is the cumulative ``calls`` since the last reset.
    """

    url: str
    # For roles and databases without a search_path setting; None = the server's own search_path.
    default_search_path: Sequence[str] | None = ("public",)
    state: Any = None
    all_databases: bool = False
    engine: Engine | None = None
    # Roles whose statements are deprecator's own (the apply role): never usage.
    own_roles: Sequence[str] = ()
    kind: str = KIND
    _search_paths: dict[tuple[int, int], RoleSearchPath] = field(default_factory=dict, repr=False)
    owns_state: bool = False     # close the state store with the source (when built from config)
    # Store this read's counters as the next window's start. A scan that is not recorded
    # (guide, notify) must not: the calls before it would fall in no recorded window.
    keep_readings: bool = True

    def close(self) -> None:
        if self.owns_state and self.state is not None:
            self.state.close()

    @property
    def name(self) -> str:
        return mask_url(self.url)

    def source_key(self) -> str:
        u = make_url(self.url)
        return mask_url(u.render_as_string(hide_password=True)) + ("#all" if self.all_databases else "")

    # -- reading ------------------------------------------------------------------
    def read(self) -> Iterator[SourceItem]:
        engine = self.engine or create_engine(self.url, poolclass=sa.pool.NullPool)
        try:
            snap = self._read_catalog(engine)
        finally:
            if self.engine is None:
                engine.dispose()
        prev = self._previous_snapshot() if self.state is not None else None
        # A reset between the readings: a new stats_reset (full reset), or one entry's counter lower than last time.
        full_reset = bool(prev and prev["stats_reset"] != snap.stats_reset and snap.stats_reset is not None)
        resets = 1 if full_reset else 0
        own_roles = set(self.own_roles)
        window: dict[tuple[str, str | None], int] = {}
        hidden = own = 0
        for row in snap.rows:
            key = (row["dbid"], row["userid"], row["queryid"], row["toplevel"])
            calls = int(row["calls"])
            before = None if (prev is None or full_reset) else prev["calls"].get(key)
            entry_reset = before is not None and calls < before[0]
            if entry_reset and not full_reset:
                resets = 1    # counted once per window: a reset by role, database or statement resets many
            # When the last call ran, as far as readings can tell: before the first reading
            # that saw the counter at its value (kept with the snapshot, so it is stable).
            if calls == 0:
                seen_by = None
            elif before is not None and calls == before[0]:
                seen_by = before[1] or prev["taken_at"]   # type: ignore[index]
            else:
                seen_by = snap.taken_at
            row["seen_by"] = seen_by
            if row["query"] == _HIDDEN or row["queryid"] is None:
                hidden += 1
                continue
            role = row["rolname"] or f"oid:{row['userid']}"
            if row["rolname"] in own_roles or is_own_statement(row["query"]):
                own += 1      # deprecator's own statement or role: not usage
                continue
            obj = f"{row['datname'] or row['dbid']}/queryid={row['queryid']}"
            if prev is not None:
                delta = calls if (before is None or entry_reset) else calls - before[0]
                window[(obj, role)] = window.get((obj, role), 0) + delta
            sp = self._search_paths[(row["userid"], row["dbid"])]
            yield SqlText(
                text=row["query"],
                source=self.kind,
                object=obj,
                user=role,
                count=calls,
                # counting started at the statistics reset (PostgreSQL 17: at the entry's creation)
                first_seen=row.get("stats_since") or snap.stats_reset,
                last_seen=seen_by,
                default_schema=sp.schemas,
                search_path_origin=sp.origin,
                extra={
                    "queryid": row["queryid"],
                    "database": row["datname"],
                    "calls_total": calls,
                    "reset_detected": full_reset or entry_reset,
                    "search_path": list(sp.schemas),
                    "search_path_ambiguous": sp.ambiguous,
                },
            )
        if hidden:
            yield SourceProblem(
                self.kind, self.name,
                f"{hidden} {'statement of another role is' if hidden == 1 else 'statements of other roles are'} "
                "hidden from this role; "
                "grant it pg_read_all_stats to scan them", kind="unreadable")
        note = None
        if self.state is not None and self.keep_readings:
            try:
                self._store_snapshot(snap)
            except sa.exc.SQLAlchemyError as e:   # the counts stand; the next window will just be longer
                note = f"the counters could not be recorded in the state store: {db_error(e)}"
        yield UsageBasis(
            self.kind, self.name, "cumulative", snap.stats_reset, snap.taken_at,
            window_start=prev["taken_at"] if prev is not None else None,
            window_counts=window if prev is not None else {}, resets_in_window=resets, excluded_own=own, note=note,
            evictions=snap.dealloc)

    def _read_catalog(self, engine: Engine) -> "_Snapshot":
        try:
            with engine.connect() as conn, conn.begin():
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")
                server_path = self._server_search_path(conn)   # before this transaction changes it
                conn.exec_driver_sql("SET LOCAL search_path = ''")
                return self._read_in(conn, server_path)
        except sa.exc.DBAPIError as e:
            msg = redact(str(e.orig).strip())
            hint = None
            if "shared_preload_libraries" in msg:
                hint = "add pg_stat_statements to shared_preload_libraries and restart the server"
            raise SourceError(f"reading pg_stat_statements on {self.name} failed: {msg}", hint=hint) from None

    @staticmethod
    def _server_search_path(conn: Connection) -> str:
        """The search_path a role gets when neither it nor the database sets one.

        This connection's value is the server's when it comes from the server's
        configuration; when the reading role or its database sets its own (or the
        URL passes one), the server's cannot be read without extra privileges, so
        PostgreSQL's built-in default (``"$user", public``) is taken.
        """
        setting, boot, source = conn.execute(sa.text(
            "SELECT setting, boot_val, source FROM pg_catalog.pg_settings WHERE name = 'search_path'")).one()
        server_level = {"default", "configuration file", "command line", "environment variable", "global"}
        return str(setting if source in server_level else boot)

    def _read_in(self, conn: Connection, server_path: str = '"$user", public') -> "_Snapshot":
        ext = conn.execute(sa.text(
            "SELECT n.nspname FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace "
            "WHERE e.extname = 'pg_stat_statements'")).scalar()
        if ext is None:
            raise SourceError(f"pg_stat_statements is not installed in the database of {self.name}",
                              hint="CREATE EXTENSION pg_stat_statements (it must also be in shared_preload_libraries)")
        schema = quote_part(ext, "postgres")
        view_cols = set(conn.execute(sa.text(
            "SELECT a.attname FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid "
            "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = :s AND c.relname = 'pg_stat_statements' AND a.attnum > 0"), {"s": ext}).scalars())
        taken_at = conn.execute(sa.text("SELECT pg_catalog.now()")).scalar_one()
        stats_reset = dealloc = None
        has_info = conn.execute(sa.text(
            "SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = :s AND c.relname = 'pg_stat_statements_info'"), {"s": ext}).scalar()
        if has_info:  # PG 14+
            stats_reset, dealloc = conn.execute(sa.text(
                f"SELECT stats_reset, dealloc FROM {schema}.pg_stat_statements_info")).one()
        toplevel = "s.toplevel" if "toplevel" in view_cols else "true"
        since = "s.stats_since" if "stats_since" in view_cols else "NULL::timestamptz"
        rows = conn.execute(sa.text(
            f"SELECT s.userid, r.rolname, s.dbid, d.datname, s.queryid, {toplevel} AS toplevel, s.query, s.calls, "
            f"{since} AS stats_since "
            f"FROM {schema}.pg_stat_statements s "
            "LEFT JOIN pg_catalog.pg_roles r ON r.oid = s.userid "
            "LEFT JOIN pg_catalog.pg_database d ON d.oid = s.dbid "
            "WHERE (:all_dbs OR d.datname = pg_catalog.current_database()) AND s.query IS NOT NULL "
            "ORDER BY s.dbid, s.userid, s.queryid"), {"all_dbs": self.all_databases}).mappings().all()
        self._search_paths = self._role_search_paths(conn, rows, server_path)
        return _Snapshot(
            taken_at=to_utc_naive(taken_at),
            stats_reset=to_utc_naive(stats_reset) if stats_reset is not None else None,
            dealloc=None if dealloc is None else int(dealloc),
            rows=[{**dict(r), "userid": int(r["userid"]), "dbid": int(r["dbid"]),
                   "queryid": None if r["queryid"] is None else int(r["queryid"]), "toplevel": bool(r["toplevel"]),
                   "stats_since": to_utc_naive(r["stats_since"]) if r["stats_since"] is not None else None}
                  for r in rows],
        )

    def _role_search_paths(self, conn: Connection, rows: Iterable[Any],
                           server_path: str) -> dict[tuple[int, int], RoleSearchPath]:
        settings: dict[tuple[int, int], str] = {}
        for role, db, config in conn.execute(sa.text(
                "SELECT setrole, setdatabase, setconfig FROM pg_catalog.pg_db_role_setting")):
            for item in config or ():
                key, _, value = item.partition("=")
                if key.strip().lower() == "search_path":
                    settings[(int(role), int(db))] = value
        here = conn.execute(sa.text("SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database()")).scalar()
        schemas_here = set(conn.execute(sa.text("SELECT nspname FROM pg_catalog.pg_namespace")).scalars())
        out: dict[tuple[int, int], RoleSearchPath] = {}
        for r in rows:
            userid, dbid, role = int(r["userid"]), int(r["dbid"]), r["rolname"] or ""
            raw: str | None
            for key, origin in (((userid, dbid), "role_in_database"), ((userid, 0), "role"), ((0, dbid), "database")):
                if key in settings:
                    raw = settings[key]
                    break
            else:
                origin, raw = ("default", None) if self.default_search_path is not None else ("server", server_path)
            written = parse_search_path(raw) if raw is not None else list(self.default_search_path or ())
            parts = [role if p == "$user" else p for p in written]
            if dbid == here:  # PostgreSQL skips schemas that do not exist; we can check only here
                existing = [p for p in parts if p in schemas_here]
                # a configured default naming no schema of this database is kept as written
                parts = existing if existing or origin != "default" else parts
            parts = [p for p in parts if p not in ("pg_catalog", "pg_temp")]
            out[(userid, dbid)] = RoleSearchPath(tuple(parts), origin, raw)
        return out

    # -- snapshots ----------------------------------------------------------------
    def _previous_snapshot(self) -> dict[str, Any] | None:
        from deprecator.state import pgss_calls, pgss_snapshots

        with self.state.engine.connect() as conn:
            snap = conn.execute(
                sa.select(pgss_snapshots).where(pgss_snapshots.c.source_key == self.source_key())
                .order_by(pgss_snapshots.c.taken_at.desc(), pgss_snapshots.c.id.desc()).limit(1)).first()
            if snap is None:
                return None
            calls = {
                (int(r.dbid), int(r.userid), int(r.queryid), bool(r.toplevel)): (int(r.calls), r.seen_by)
                for r in conn.execute(sa.select(pgss_calls).where(pgss_calls.c.snapshot_id == snap.id))
            }
        return {"taken_at": snap.taken_at, "stats_reset": snap.stats_reset, "calls": calls}

    def _store_snapshot(self, snap: "_Snapshot") -> None:
        from deprecator.state import pgss_calls, pgss_snapshots

        with self.state.engine.begin() as conn:
            sid = conn.execute(sa.insert(pgss_snapshots).values(
                source_key=self.source_key(), taken_at=snap.taken_at, stats_reset=snap.stats_reset,
            )).inserted_primary_key[0]
            rows = [dict(snapshot_id=sid, dbid=r["dbid"], userid=r["userid"], queryid=r["queryid"],
                         toplevel=r["toplevel"], calls=int(r["calls"]), seen_by=r.get("seen_by"))
                    for r in snap.rows if r["queryid"] is not None]
            if rows:
                conn.execute(sa.insert(pgss_calls), rows)


@dataclass(frozen=True)
class _Snapshot:
    taken_at: _dt.datetime
    stats_reset: _dt.datetime | None
    rows: list[dict[str, Any]]
    dealloc: int | None = None    # times entries were evicted since the reset (pg_stat_statements_info, PG 14+)



def from_config(config: Any, history: Any) -> PgStatStatementsSource:
    """Build the source from a ``history: - type: pg_stat_statements`` entry of deprecator.yml.

    Options: ``url`` (default: the warehouse URL), ``all_databases`` (default
    false), ``default_search_path`` for roles without a setting of their own
    (default: warehouse.default_schema, else the server's own search_path;
    ``$user`` is each role's name). Counter readings are kept in the configured state store;
    ``warehouse.own_roles`` are left out as deprecator's own.
    """
    from deprecator.state import StateStore

    opts = dict(history.options or {})
    where = dict(path=str(config.path) if config.path else None, line=history.line)
    unknown = sorted(set(opts) - {"url", "all_databases", "default_search_path"})
    if unknown:
        raise ConfigError(f"unknown option {unknown[0]!r} for a pg_stat_statements source", field=unknown[0], **where)
    url = opts.get("url") or config.warehouse.url
    if not url:
        raise ConfigError("a pg_stat_statements source needs `url:` or a configured warehouse.url", field="url", **where)
    path = opts.get("default_search_path") or config.warehouse.default_schema or None
    if isinstance(path, str):
        path = parse_search_path(path)
    all_dbs = opts.get("all_databases", False)
    if not isinstance(all_dbs, bool):
        raise ConfigError("`all_databases:` must be true or false", field="all_databases", **where)
    state = StateStore(config.state_url, config.root)
    return PgStatStatementsSource(str(url), default_search_path=tuple(path) if path else None, state=state,
                                  all_databases=all_dbs, owns_state=True,
                                  own_roles=config.warehouse.own_roles)
