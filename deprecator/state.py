"""The state store: scans, usage snapshots and the apply audit log.

SQLAlchemy Core over any URL; a SQLite file (``.deprecator/state.db``) by
default. The schema is versioned: ``MIGRATIONS[i]`` takes version i to i+1 and
is applied on open, so an old state database upgrades in place.
"""

from __future__ import annotations

import datetime as _dt
import getpass
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, NamedTuple, Sequence, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url

from deprecator.config import resolve_url_path
from deprecator.errors import DeprecatorError
from deprecator.db import create_engine, db_error

metadata = sa.MetaData()

meta_table = sa.Table(
    "deprecator_meta", metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)
scans = sa.Table(
    "scans", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime, nullable=False),
    sa.Column("stats", sa.Text, nullable=False),          # JSON
)
usage_snapshots = sa.Table(
    "usage_snapshots", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("scan_id", sa.Integer, sa.ForeignKey("scans.id"), nullable=False),
    sa.Column("deprecation", sa.String(512), nullable=False),
    sa.Column("taken_at", sa.DateTime, nullable=False),
    # The counts as the scan reported them: cumulative over window_start..window_end
    # (pg_stat_statements: calls since its statistics reset), the same on every
    # scan until more queries run. BIGINT since schema v4: cumulative counters grow.
    sa.Column("queries", sa.BigInteger, nullable=False),
    sa.Column("distinct_users", sa.Integer, nullable=False),
    sa.Column("per_user", sa.Text, nullable=False),       # JSON {user: count}
    sa.Column("window_start", sa.DateTime, nullable=True),
    sa.Column("window_end", sa.DateTime, nullable=True),
    # Added in schema v4: the queries between the previous scan's reading of the
    # counters and this one (pg_stat_statements deltas, reset-aware); NULL when
    # there was no previous reading. Consecutive deltas add up to any longer window.
    sa.Column("delta_start", sa.DateTime, nullable=True),
    sa.Column("delta_end", sa.DateTime, nullable=True),
    sa.Column("delta_queries", sa.BigInteger, nullable=True),
    sa.Column("delta_per_user", sa.Text, nullable=True),  # JSON {user: count}
    sa.Column("delta_resets", sa.Integer, nullable=True),   # statistics resets seen in the delta's window
)
applies = sa.Table(
    "applies", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("actor", sa.String(256), nullable=False),
    sa.Column("warehouse", sa.String(1024), nullable=False),  # masked URL
    sa.Column("kind", sa.String(16), nullable=False),         # "apply" | "rollback"
    sa.Column("rollback_of", sa.String(32), nullable=True),
    sa.Column("statements", sa.Text, nullable=False),         # JSON list
    sa.Column("before", sa.Text, nullable=False),             # JSON: per view, definition/grants/...
    sa.Column("after", sa.Text, nullable=False),              # JSON
    sa.Column("rolled_back_by", sa.String(32), nullable=True),
    # Added in schema v3. "pending" is written before the warehouse transaction
    # starts, so a process killed between the warehouse commit and the audit
    # write leaves a record to reconcile instead of no record at all.
    sa.Column("status", sa.String(16), nullable=False, server_default="applied"),
    sa.Column("error", sa.Text, nullable=True),
)


def _v1(conn: Connection) -> None:
    metadata.create_all(conn, tables=[meta_table, scans, usage_snapshots, applies])


# pg_stat_statements keeps cumulative ``calls`` and (before PG 17) no timestamps,
# so usage over time comes from snapshots: each scan stores the counters it saw
# and the next one reports the deltas (a reset is detected, never negative).
pgss_snapshots = sa.Table(
    "pgss_snapshots", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source_key", sa.String(1024), nullable=False),   # masked URL (+ database)
    sa.Column("taken_at", sa.DateTime, nullable=False),         # server clock, naive UTC
    sa.Column("stats_reset", sa.DateTime, nullable=True),       # pg_stat_statements_info.stats_reset
)
pgss_calls = sa.Table(
    "pgss_calls", metadata,
    sa.Column("snapshot_id", sa.Integer, sa.ForeignKey("pgss_snapshots.id"), nullable=False, index=True),
    sa.Column("dbid", sa.BigInteger, nullable=False),
    sa.Column("userid", sa.BigInteger, nullable=False),
    sa.Column("queryid", sa.BigInteger, nullable=False),
    sa.Column("toplevel", sa.Boolean, nullable=False),
    sa.Column("calls", sa.BigInteger, nullable=False),
    # Added in schema v4: the time of the first reading that saw ``calls`` at this
    # value, so the last call ran before it (and after the reading before it).
    sa.Column("seen_by", sa.DateTime, nullable=True),
)


def _v2_pg_stat_statements(conn: Connection) -> None:
    metadata.create_all(conn, tables=[pgss_snapshots, pgss_calls])


def _v3_apply_status(conn: Connection) -> None:
    # Fresh stores got these columns from _v1's create_all; older ones need them added.
    have = {c["name"] for c in sa.inspect(conn).get_columns("applies")}
    if "status" not in have:
        conn.execute(sa.text("ALTER TABLE applies ADD COLUMN status VARCHAR(16) NOT NULL DEFAULT 'applied'"))
    if "error" not in have:
        conn.execute(sa.text("ALTER TABLE applies ADD COLUMN error TEXT"))


def _v4_usage_windows(conn: Connection) -> None:
    # Fresh stores got the columns from create_all (v1, v2); older ones need them added.
    inspector = sa.inspect(conn)
    for table in (usage_snapshots, pgss_calls):
        have = {c["name"] for c in inspector.get_columns(table.name)}
        for col in table.columns:
            if col.name not in have:
                kind = col.type.compile(dialect=conn.dialect)
                conn.execute(sa.text(f"ALTER TABLE {table.name} ADD COLUMN {col.name} {kind}"))
    if conn.dialect.name == "postgresql":   # SQLite integers are 64-bit already
        conn.execute(sa.text("ALTER TABLE usage_snapshots ALTER COLUMN queries TYPE BIGINT"))


# Owner notices (deprecator.notify.outbox): a row is written before each Slack post
# and settled after it; a re-run reconciles rows left pending by a crash.
notify_outbox = sa.Table(
    "notify_outbox", metadata,
    sa.Column("id", sa.String(32), primary_key=True),               # also the marker in the message's metadata
    sa.Column("owner_key", sa.String(512), nullable=False, index=True),
    sa.Column("destination", sa.String(512), nullable=False),       # "#channel", an email, ... (never a token)
    sa.Column("channel_id", sa.String(64), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),             # pending | sent | failed | lost
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.Column("ts", sa.String(32), nullable=True),                  # Slack's message timestamp
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("items", sa.Text, nullable=False),                    # JSON {deprecation: fingerprint}
    sa.Column("payload_sha", sa.String(64), nullable=False),
)


def _v5_notify_outbox(conn: Connection) -> None:
    metadata.create_all(conn, tables=[notify_outbox])


# Weekly usage (the digest): uses per deprecation, history source, ISO week and user,
# bucketed from the rows' own timestamps. A row holds the most a scan of that source
# ever counted for that week and user: history only grows, so re-scanning the same
# history (or a window that overlaps the last one) never counts a week twice, and a
# week that slid out of the source's window keeps what was counted while it was in.
weekly_usage = sa.Table(
    "weekly_usage", metadata,
    sa.Column("deprecation", sa.String(512), primary_key=True),
    sa.Column("source_key", sa.String(1024), primary_key=True),
    sa.Column("week", sa.Date, primary_key=True),                   # the Monday of the ISO week
    sa.Column("user_name", sa.String(512), primary_key=True),       # "" when the source names no user
    sa.Column("uses", sa.BigInteger, nullable=False),
    sa.Column("scan_id", sa.Integer, nullable=True),                # the scan that last raised it
)
# What each scan saw per deprecation besides query users: views, files, dbt models.
scan_objects = sa.Table(
    "scan_objects", metadata,
    sa.Column("scan_id", sa.Integer, sa.ForeignKey("scans.id"), nullable=False, index=True),
    sa.Column("deprecation", sa.String(512), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),               # view | file
    sa.Column("name", sa.String(1024), nullable=False),
)


def _v6_weekly_usage(conn: Connection) -> None:
    metadata.create_all(conn, tables=[weekly_usage, scan_objects])


MIGRATIONS: list[Callable[[Connection], None]] = [_v1, _v2_pg_stat_statements, _v3_apply_status,
                                                  _v4_usage_windows, _v5_notify_outbox, _v6_weekly_usage]
SCHEMA_VERSION = len(MIGRATIONS)


@dataclass(frozen=True)
class UsageSnapshot:
    deprecation: str
    queries: int
    distinct_users: int
    per_user: dict[str, int] = field(default_factory=dict)
    window_start: _dt.datetime | None = None
    window_end: _dt.datetime | None = None
    taken_at: _dt.datetime | None = None
    scan_id: int | None = None
    # The queries since the previous reading of cumulative counters (None: no previous reading).
    delta: "UsageWindow | None" = None


@dataclass(frozen=True)
class UsageWindow:
    """Queries in a window: the sum of stored deltas, and the window they actually cover.

    ``start``/``end`` are readings of the counters, not calendar bounds: a week
    asked for is covered by the deltas that fall inside it, and says so.
    ``resets`` counts statistics resets seen inside the window (calls between the
    last reading before a reset and the reset itself are lost).
    """

    queries: int
    per_user: dict[str, int]
    start: _dt.datetime | None
    end: _dt.datetime | None
    scans: int = 1
    resets: int = 0
    gaps: int = 0        # breaks between consecutive deltas (a reading with no recorded scan): calls there are missing

    @property
    def distinct_users(self) -> int:
        return sum(1 for n in self.per_user.values() if n)


class WeeklyUse(NamedTuple):
    """One cell of ``weekly_usage``: uses of a deprecation by a user in an ISO week, per history source."""

    deprecation: str
    source_key: str
    week: _dt.date            # the Monday of the ISO week
    user: str | None
    uses: int


def _merge_weekly(conn: Connection, scan_id: int, cells: Iterable[WeeklyUse]) -> None:
    """Raise each (deprecation, source, week, user) cell to what this scan counted, never lower it."""
    new: dict[tuple[str, str, _dt.date, str], int] = {}
    for dep, source_key, week, user, uses in cells:
        k = (dep, source_key, week, user or "")
        new[k] = new.get(k, 0) + int(uses)
    if not new:
        return
    c = weekly_usage.c
    have: dict[tuple[str, str, _dt.date, str], int] = {}
    for dep, source_key in {(k[0], k[1]) for k in new}:
        for week, user, uses in conn.execute(sa.select(c.week, c.user_name, c.uses).where(
                c.deprecation == dep, c.source_key == source_key)):
            have[(dep, source_key, _as_date(week), user)] = int(uses)
    insert = sa.insert(weekly_usage)
    update = sa.update(weekly_usage).where(
        c.deprecation == sa.bindparam("d"), c.source_key == sa.bindparam("s"), c.week == sa.bindparam("w"),
        c.user_name == sa.bindparam("u")).values(uses=sa.bindparam("n"), scan_id=sa.bindparam("scan"))
    # In batches: a popular table's history has hundreds of thousands of cells, whose parameter
    # dicts all at once cost ~200 MB.
    inserts: list[tuple[Any, ...]] = []
    raises: list[dict[str, Any]] = []
    for k, n in new.items():
        if k not in have:
            inserts.append((*k, n, scan_id))
            if len(inserts) >= _WRITE_BATCH:
                _insert_weekly(conn, insert, inserts)
                inserts = []
        elif n > have[k]:
            raises.append(dict(d=k[0], s=k[1], w=k[2], u=k[3], n=n, scan=scan_id))
            if len(raises) >= _WRITE_BATCH:
                conn.execute(update, raises)
                raises = []
    if inserts:
        _insert_weekly(conn, insert, inserts)
    if raises:
        conn.execute(update, raises)


_WRITE_BATCH = 5000
_WEEKLY_COLUMNS = ("deprecation", "source_key", "week", "user_name", "uses", "scan_id")


def _insert_weekly(conn: Connection, insert: Any, rows: list[tuple[Any, ...]]) -> None:
    """Insert (deprecation, source_key, week, user_name, uses, scan_id) rows. On SQLite through the
    driver's own executemany, the week as SQLAlchemy stores a Date there (YYYY-MM-DD): SQLAlchemy's
    per-row parameter processing costs ~10 us a row, seconds for a popular table's cells."""
    if conn.dialect.name == "sqlite" and conn.dialect.paramstyle == "qmark":
        conn.exec_driver_sql(
            f"INSERT INTO weekly_usage ({', '.join(_WEEKLY_COLUMNS)}) VALUES ({', '.join('?' * len(_WEEKLY_COLUMNS))})",
            [(d, s, w.isoformat(), u, n, scan) for d, s, w, u, n, scan in rows])
    else:
        conn.execute(insert, [dict(zip(_WEEKLY_COLUMNS, r)) for r in rows])


def _as_date(v: Any) -> _dt.date:
    if isinstance(v, _dt.datetime):
        return v.date()
    if isinstance(v, _dt.date):
        return v
    return _dt.date.fromisoformat(str(v)[:10])


@dataclass(frozen=True)
class ApplyRecord:
    id: str
    created_at: _dt.datetime
    actor: str
    warehouse: str
    kind: str
    rollback_of: str | None
    statements: list[str]
    before: dict[str, Any]
    after: dict[str, Any]
    rolled_back_by: str | None
    status: str = "applied"          # pending | applied | failed | not applied
    error: str | None = None


DEFAULT_STATE_DIR = ".deprecator"


def resolve_url(url: str, root: Path) -> str:
    """Resolve a relative SQLite path against ``root``.

    Only the default folder (``.deprecator/`` beside deprecator.yml) is created on
    demand: a mistyped ``state.url`` must not create folders anywhere else, so
    a missing folder there is an error naming it.
    """
    url = resolve_url_path(url, root)
    u = make_url(url)
    if u.get_backend_name() == "sqlite" and u.database and u.database != ":memory:" \
            and not u.database.startswith("file:"):
        folder = Path(u.database).parent
        if folder.is_dir():
            return url
        if folder == root / DEFAULT_STATE_DIR:
            try:
                folder.mkdir()
            except OSError as e:
                raise DeprecatorError(f"cannot create the state store folder {folder}: {e.strerror or e}",
                                      hint="check the folder's permissions, or set state.url in deprecator.yml"
                                      ) from None
            return url
        raise DeprecatorError(f"the state store's folder {folder} does not exist",
                              hint="create it, or fix state.url in deprecator.yml (only the default "
                                   f"{DEFAULT_STATE_DIR}/ beside it is created on demand)")
    return url


def _state_hint(e: BaseException) -> str | None:
    text = str(getattr(e, "orig", None) or e).lower()
    if "readonly" in text or "read-only" in text or "read only" in text or isinstance(e, PermissionError):
        return "the state store is not writable: check the file's and its folder's permissions (or chattr -i)"
    return None


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None)


class StateStore:
    def __init__(self, url: str, root: Path | None = None) -> None:
        try:
            self.engine: Engine = create_engine(resolve_url(url, root or Path.cwd()))
            self._migrate()
        except (sa.exc.SQLAlchemyError, OSError) as e:
            masked = make_url(url).render_as_string(hide_password=True)
            raise DeprecatorError(f"cannot open the state store {masked}: {db_error(e)}",
                                  hint=_state_hint(e)) from None
        except ImportError as e:   # the URL's database driver is not installed
            masked = make_url(url).render_as_string(hide_password=True)
            raise DeprecatorError(f"cannot open the state store {masked}: its database driver is not installed "
                                  f"({e})", hint="install the driver in deprecator's environment, or point "
                                                 "state.url in deprecator.yml at another database") from None

    # -- schema ---------------------------------------------------------------
    def _migrate(self) -> None:
        with self.engine.begin() as conn:
            version = 0
            if sa.inspect(conn).has_table("deprecator_meta"):
                row = conn.execute(sa.select(meta_table.c.value).where(meta_table.c.key == "schema_version")).first()
                version = int(row[0]) if row else 0
            if version > SCHEMA_VERSION:
                raise DeprecatorError(
                    f"the state store has schema version {version}, newer than this deprecator knows ({SCHEMA_VERSION})",
                    hint="upgrade deprecator",
                )
            for step in MIGRATIONS[version:]:
                step(conn)
            if version != SCHEMA_VERSION:
                conn.execute(sa.delete(meta_table).where(meta_table.c.key == "schema_version"))
                conn.execute(sa.insert(meta_table).values(key="schema_version", value=str(SCHEMA_VERSION)))

    def schema_version(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(meta_table.c.value).where(meta_table.c.key == "schema_version")).scalar_one())

    # -- scans and usage ------------------------------------------------------
    def record_scan(self, started_at: _dt.datetime, stats: dict[str, Any], snapshots: Iterable[UsageSnapshot],
                    *, weekly: Iterable[WeeklyUse] = (), objects: Iterable[tuple[str, str, str]] = ()) -> int:
        """Store a scan: its stats, usage snapshots, weekly uses (merged, see ``weekly_usage``)
        and the (deprecation, kind, name) objects it found."""
        finished = _now()
        with self.engine.begin() as conn:
            # inserted_primary_key is typed Optional; an INSERT always has one
            scan_id = cast(Any, conn.execute(
                sa.insert(scans).values(started_at=started_at, finished_at=finished, stats=json.dumps(stats, default=str))
            ).inserted_primary_key)[0]
            rows = [
                dict(scan_id=scan_id, deprecation=s.deprecation, taken_at=s.taken_at or finished, queries=s.queries,
                     distinct_users=s.distinct_users, per_user=json.dumps(s.per_user, sort_keys=True),
                     window_start=s.window_start, window_end=s.window_end,
                     delta_start=s.delta.start if s.delta else None, delta_end=s.delta.end if s.delta else None,
                     delta_queries=s.delta.queries if s.delta else None,
                     delta_per_user=json.dumps(s.delta.per_user, sort_keys=True) if s.delta else None,
                     delta_resets=s.delta.resets if s.delta else None)
                for s in snapshots
            ]
            if rows:
                conn.execute(sa.insert(usage_snapshots), rows)
            _merge_weekly(conn, int(scan_id), weekly)
            obj_rows = [dict(scan_id=scan_id, deprecation=d, kind=k, name=n) for d, k, n in sorted(set(objects))]
            if obj_rows:
                conn.execute(sa.insert(scan_objects), obj_rows)
        return int(scan_id)

    def weekly_usage(self, deprecation: str | None = None) -> dict[str, list[tuple[_dt.date, int, int]]]:
        """Per deprecation, (week, uses, distinct users) for every week any history source counted."""
        c = weekly_usage.c
        q = (sa.select(c.deprecation, c.week, sa.func.sum(c.uses), sa.func.count(sa.distinct(c.user_name)))
             .group_by(c.deprecation, c.week).order_by(c.deprecation, c.week))
        if deprecation is not None:
            q = q.where(c.deprecation == deprecation)
        out: dict[str, list[tuple[_dt.date, int, int]]] = {}
        with self.engine.connect() as conn:
            for dep, week, uses, users in conn.execute(q):
                out.setdefault(dep, []).append((_as_date(week), int(uses), int(users)))
        return out

    def weekly_rows(self, deprecation: str) -> list[tuple[_dt.date, str, int]]:
        """(week, user, uses) of ``deprecation``, summed over history sources."""
        c = weekly_usage.c
        q = (sa.select(c.week, c.user_name, sa.func.sum(c.uses)).where(c.deprecation == deprecation)
             .group_by(c.week, c.user_name).order_by(c.week, c.user_name))
        with self.engine.connect() as conn:
            return [(_as_date(w), u, int(n)) for w, u, n in conn.execute(q)]

    def weekly_users(self, deprecation: str, since: _dt.date) -> list[tuple[str, int]]:
        """History users of ``deprecation`` from the week of ``since`` on, most uses first."""
        c = weekly_usage.c
        q = (sa.select(c.user_name, sa.func.sum(c.uses).label("n"))
             .where(c.deprecation == deprecation, c.week >= since)
             .group_by(c.user_name).order_by(sa.desc("n"), c.user_name))
        with self.engine.connect() as conn:
            return [(u, int(n)) for u, n in conn.execute(q) if n]

    def latest_scan_at(self) -> _dt.datetime | None:
        """When the latest recorded scan finished (naive UTC)."""
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.max(scans.c.finished_at))).scalar()

    def latest_objects(self, deprecation: str) -> dict[str, list[str]]:
        """The views and files the latest scan found reading ``deprecation``, by kind."""
        c = scan_objects.c
        with self.engine.connect() as conn:
            latest = conn.execute(sa.select(sa.func.max(scans.c.id))).scalar()
            if latest is None:
                return {}
            out: dict[str, list[str]] = {}
            for kind, name in conn.execute(sa.select(c.kind, c.name).where(
                    c.scan_id == latest, c.deprecation == deprecation).order_by(c.kind, c.name)):
                out.setdefault(kind, []).append(name)
            return out

    def usage_history(self, deprecation: str | None = None) -> list[UsageSnapshot]:
        q = sa.select(usage_snapshots).order_by(usage_snapshots.c.taken_at, usage_snapshots.c.id)
        if deprecation is not None:
            q = q.where(usage_snapshots.c.deprecation == deprecation)
        with self.engine.connect() as conn:
            return [
                UsageSnapshot(r.deprecation, r.queries, r.distinct_users, json.loads(r.per_user),
                              r.window_start, r.window_end, r.taken_at, r.scan_id, _delta(r))
                for r in conn.execute(q)
            ]

    def usage_in_window(self, deprecation: str, start: _dt.datetime, end: _dt.datetime) -> UsageWindow | None:
        """The queries of ``deprecation`` between ``start`` and ``end`` (naive UTC), from the stored deltas.

        Only deltas lying wholly inside are summed, so the answer's ``start``/``end``
        (the readings it spans) may be narrower than asked; None when no delta fits.
        """
        deltas = [s.delta for s in self.usage_history(deprecation)
                  if s.delta is not None and s.delta.start is not None and s.delta.end is not None
                  and s.delta.start >= start and s.delta.end <= end]
        if not deltas:
            return None
        deltas.sort(key=lambda d: (d.start, d.end))
        per_user: dict[str, int] = {}
        for d in deltas:
            for user, n in d.per_user.items():
                per_user[user] = per_user.get(user, 0) + n
        gaps = sum(1 for a, b in zip(deltas, deltas[1:]) if b.start != a.end)
        return UsageWindow(sum(d.queries for d in deltas), per_user, deltas[0].start, deltas[-1].end,
                           len(deltas), sum(d.resets for d in deltas), gaps)

    # -- applies --------------------------------------------------------------
    def record_apply(
        self,
        *,
        warehouse: str,
        statements: Sequence[str],
        before: dict[str, Any],
        after: dict[str, Any],
        kind: str = "apply",
        rollback_of: str | None = None,
        status: str = "applied",
    ) -> str:
        apply_id = _now().strftime("%Y%m%d%H%M%S") + "-" + uuid.uuid4().hex[:6]
        with self.engine.begin() as conn:
            conn.execute(sa.insert(applies).values(
                id=apply_id, created_at=_now(), actor=_actor(), warehouse=warehouse, kind=kind,
                rollback_of=rollback_of, statements=json.dumps(list(statements)),
                before=json.dumps(before, default=str), after=json.dumps(after, default=str),
                status=status,
            ))
            if rollback_of and status == "applied":
                conn.execute(sa.update(applies).where(applies.c.id == rollback_of).values(rolled_back_by=apply_id))
        return apply_id

    def finish_apply(self, apply_id: str, *, status: str, after: dict[str, Any] | None = None,
                     error: str | None = None) -> None:
        """Settle a pending apply: ``applied`` (with the after-state), ``failed`` or ``not applied``."""
        values: dict[str, Any] = {"status": status, "error": error}
        if after is not None:
            values["after"] = json.dumps(after, default=str)
        with self.engine.begin() as conn:
            conn.execute(sa.update(applies).where(applies.c.id == apply_id).values(**values))
            if status == "applied":
                rec = conn.execute(sa.select(applies.c.rollback_of).where(applies.c.id == apply_id)).scalar()
                if rec:
                    conn.execute(sa.update(applies).where(applies.c.id == rec).values(rolled_back_by=apply_id))

    def get_apply(self, apply_id: str) -> ApplyRecord:
        with self.engine.connect() as conn:
            r = conn.execute(sa.select(applies).where(applies.c.id == apply_id)).first()
        if r is None:
            raise DeprecatorError(f"no apply with id {apply_id!r} in the state store",
                                  hint="`deprecator applies` lists the recorded applies")
        return _apply_record(r)

    def list_applies(self) -> list[ApplyRecord]:
        with self.engine.connect() as conn:
            return [_apply_record(r) for r in conn.execute(sa.select(applies).order_by(applies.c.created_at, applies.c.id))]

    def close(self) -> None:
        self.engine.dispose()


def _delta(r: Any) -> UsageWindow | None:
    if r.delta_queries is None:
        return None
    return UsageWindow(int(r.delta_queries), json.loads(r.delta_per_user or "{}"), r.delta_start, r.delta_end,
                       1, int(r.delta_resets or 0))


def _apply_record(r: Any) -> ApplyRecord:
    return ApplyRecord(r.id, r.created_at, r.actor, r.warehouse, r.kind, r.rollback_of,
                       json.loads(r.statements), json.loads(r.before), json.loads(r.after), r.rolled_back_by,
                       r.status, r.error)


def _actor() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"
