"""The transaction that applies a plan on PostgreSQL, and its lock budget.

The executor (``execute``) runs everything in one transaction: a
``pg_try_advisory_xact_lock`` so two applies cannot overlap (the second fails
fast), a short ``lock_timeout`` with a bounded retry and backoff (staleness is
re-checked inside every attempt), a ``SELECT * ... LIMIT 0`` per rewritten
view, and the commit.
"""

from __future__ import annotations

import contextlib
import re
import time
import zlib
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, Sequence

from deprecator.db import mark_statement
from deprecator.errors import ApplyError, LockError
from deprecator.operations import Operation
from deprecator.sql.model import RelationName
from deprecator.warehouse.base import check_expected
from deprecator.warehouse.postgres.ddl import _function_create, as_function_call, qualified

ADVISORY_LOCK_NAME = "deprecator.apply"
ADVISORY_LOCK_KEY = zlib.crc32(ADVISORY_LOCK_NAME.encode())



# -- lock budget ----------------------------------------------------------------------

# Lock table entries per view, by what the apply does to it, measured in pg_locks on
# PostgreSQL 15 (tests/pg/test_pg_apply.py checks the estimate: never under, within 10%):
# replaced in place, the view's exclusive lock; a guard, its comment's lock; dropped
# and recreated (or restated), the old and the new relation, their row types, rules,
# dependencies, owner, ACL and comment, and the staleness re-read's lock on the old one;
# each verified view, its read lock.
LOCKS_PER_REPLACED_VIEW = 1
LOCKS_PER_GUARD = 1
LOCKS_PER_RECREATED_VIEW = 8
LOCKS_PER_INDEX = 3
LOCKS_PER_UNTYPED = 10              # a plain statement: as if it recreated a view
LOCKS_BASE = 44                     # catalogs and their indexes (the staleness re-read, the ACL functions): measured 36-42


def estimate_locks(operations: Sequence[Operation], verify: Sequence[RelationName]) -> int:
    """Lock table entries an apply of ``operations`` will hold at its commit (never fewer), by kind."""
    recreated = {op.relation for op in operations if op.kind == "drop_view" or op.kind in _RESTATING}
    replaced = {op.relation for op in operations if op.kind == "replace_view"} - recreated
    guarded = {op.relation for op in operations if op.kind == "guard"} - recreated - replaced
    indexes = sum(1 for op in operations if op.kind == "create_index")
    untyped = sum(1 for op in operations if op.kind == "sql")
    return (LOCKS_BASE + LOCKS_PER_RECREATED_VIEW * len(recreated) + LOCKS_PER_REPLACED_VIEW * len(replaced)
            + LOCKS_PER_GUARD * len(guarded) + LOCKS_PER_INDEX * indexes + LOCKS_PER_UNTYPED * untyped
            + len(set(verify)))


def lock_capacity(cur: Any) -> tuple[int, int, int]:
    """(shared lock table size, entries in use now, max_locks_per_transaction)."""
    cur.execute(
        "SELECT current_setting('max_locks_per_transaction')::int, current_setting('max_prepared_transactions')::int, "
        "current_setting('max_connections')::int + current_setting('autovacuum_max_workers')::int + 1 "
        "+ current_setting('max_worker_processes')::int + current_setting('max_wal_senders')::int, "
        "(SELECT count(*) FROM pg_catalog.pg_locks)")
    per_tx, prepared, backends, in_use = cur.fetchone()
    return int(per_tx) * (int(backends) + int(prepared)), int(in_use), int(per_tx)


def check_lock_budget(needed: int, capacity: int, in_use: int, per_tx: int) -> None:
    """Refuse, before changing anything, an apply that cannot fit in the server's lock table."""
    free = capacity - in_use
    if needed > free:
        raise ApplyError(
            f"this apply needs about {needed} locks in one transaction, but the server's lock table has room for "
            f"{free} more ({capacity} in all = max_locks_per_transaction {per_tx} x backends, {in_use} in use); "
            "nothing was changed",
            hint="choices: raise max_locks_per_transaction (a server restart), apply when fewer locks are held, or "
                 "apply fewer deprecations per plan (e.g. a registry with some of them); deprecator never splits "
                 "one apply into several transactions",
        )


# -- execution ------------------------------------------------------------------------

LOCK_NOT_AVAILABLE = "55P03"
OUT_OF_SHARED_MEMORY = "53200"


@dataclass(frozen=True)
class ApplySettings:
    lock_timeout_ms: int = 2000
    retries: int = 3                   # attempts after the first one when a lock times out
    backoff_s: float = 0.5             # doubled after every attempt
    check_lock_budget: bool = True     # refuse up front when the lock table cannot hold the apply
    batch_size: int = 100              # statements per round trip (1: one at a time)
    reset_function: bool = True        # run ACL blocks through temporary functions


@dataclass(frozen=True)
class _Job:
    """What every attempt of one ``execute`` call shares, passed down as one value.

    ``stats`` is the caller's dict: each attempt fills it in, so it holds the
    figures of the last one (the one that committed, or the one that failed).
    """

    operations: Sequence[Operation]
    verify: Sequence[RelationName]
    expected: Mapping[RelationName, str | None] | None
    current_fingerprints: Callable[[Any, Sequence[RelationName]], dict[RelationName, str]]
    list_relations: Callable[[Any], set[RelationName]]
    settings: ApplySettings
    stats: dict[str, Any]

    @property
    def statements(self) -> list[str]:
        return [op.sql for op in self.operations]

    @property
    def lock_timeout(self) -> str:
        return f"{int(self.settings.lock_timeout_ms)}ms"


def execute(
    connect: Callable[[], Any],
    operations: Sequence[Operation | str],
    verify: Sequence[RelationName],
    expected: Mapping[RelationName, str | None] | None,
    current_fingerprints: Callable[[Any, Sequence[RelationName]], dict[RelationName, str]],
    list_relations: Callable[[Any], set[RelationName]],
    settings: ApplySettings,
    sleep: Callable[[float], None] = time.sleep,
    stats: dict[str, Any] | None = None,
    progress: Callable[[str], None] | None = None,
) -> int:
    """Run ``operations`` (plain statements: kind ``sql``) in one transaction with the advisory lock and bounded lock retries.

    ``connect`` returns a context manager yielding a SQLAlchemy Connection;
    statements run on its psycopg2 cursor, the callbacks get the Connection
    (same database transaction). Returns the number of
    attempts it took. Raises LockError, StalePlanError or ApplyError; on any
    error nothing is changed. ``progress`` hears each retry after a lock wait timed out.
    """
    job = _Job(as_operations(operations), verify, expected, current_fingerprints, list_relations, settings,
               stats if stats is not None else {})
    attempt = 0
    delay = settings.backoff_s
    while True:
        attempt += 1
        try:
            _attempt(connect, job)
            return attempt
        except _LockTimeout as e:
            if attempt > settings.retries:
                raise LockError(
                    f"gave up after {attempt} attempts: {e.reason}; nothing was changed",
                    statement=e.statement,
                    hint="a long-running query holds a lock on a view being changed; retry when it finishes, "
                         "or raise the lock timeout / retries",
                ) from None
            if progress is not None:
                progress(f"waiting for a lock on {lock_target(e.statement)}, attempt {attempt + 1} of "
                         f"{settings.retries + 1} in {delay:g} s (attempt {attempt} waited "
                         f"{settings.lock_timeout_ms} ms for it)")
            sleep(delay)
            delay *= 2


_QUOTED_NAME = re.compile(r'"((?:[^"]|"")*)"\."((?:[^"]|"")*)"')


_NO_RELATION = RelationName(None, None, "")


def as_operations(items: Sequence[Operation | str]) -> list[Operation]:
    """Operations as given; a plain statement is an untyped operation (kind ``sql``)."""
    return [x if isinstance(x, Operation) else Operation("sql", _NO_RELATION, x) for x in items]


def lock_target(statement: str | None) -> str:
    """The relation a statement waited for: the first schema-qualified name it names."""
    m = _QUOTED_NAME.search(statement or "")
    if m is None:
        return "a view"
    return ".".join(p.replace('""', '"') for p in m.groups())


class _LockTimeout(Exception):
    def __init__(self, reason: str, statement: str | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.statement = statement


def _attempt(connect: Callable[[], Any], job: _Job) -> None:
    import psycopg2

    with connect() as conn, interruptible():
        raw = conn.connection.dbapi_connection
        try:
            _run(conn, raw, job, psycopg2)
        except BaseException:
            try:
                raw.rollback()
            except Exception:  # the connection may be gone; the server rolls back anyway
                pass
            if getattr(raw, "closed", 0):
                # closed under us (a cancelled wait closes it): never hand it back to the pool
                try:
                    conn.invalidate()
                except Exception:
                    pass
            raise


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """Ctrl-C cancels the statement the server is running, at once, and surfaces as KeyboardInterrupt.

    libpq waits for a statement in C, where Python cannot raise KeyboardInterrupt:
    a long statement (a materialized view refreshed WITH DATA) would make Ctrl-C
    wait for it. A psycopg2 wait callback waits in Python instead, sends the
    server a cancel request on Ctrl-C, and raises KeyboardInterrupt once the
    server has cancelled the statement (the transaction is then rolled back).
    The callback is process-wide, so it is set for the apply only.
    """
    import psycopg2.extensions as ext

    previous = ext.get_wait_callback()
    ext.set_wait_callback(_wait_interruptibly)
    try:
        yield
    finally:
        ext.set_wait_callback(previous)


def _wait_interruptibly(conn: Any) -> None:
    import select

    import psycopg2.extensions as ext

    cancelled = False
    while True:
        try:
            state = conn.poll()
            if state == ext.POLL_OK:
                break
            if state == ext.POLL_READ:
                select.select([conn.fileno()], [], [])
            elif state == ext.POLL_WRITE:
                select.select([], [conn.fileno()], [])
            else:
                raise RuntimeError(f"psycopg2: unexpected poll state {state}")
        except KeyboardInterrupt:
            if not cancelled:
                conn.cancel()
            cancelled = True
        except ext.QueryCanceledError:
            if cancelled:
                raise KeyboardInterrupt from None
            raise
    if cancelled:
        raise KeyboardInterrupt


def _run(conn: Any, raw: Any, job: _Job, psycopg2: Any) -> None:
    """One attempt: lock, checks, statements, no view lost, verification, commit."""
    cur = raw.cursor()
    _take_advisory_lock(cur)
    t_start = time.perf_counter()
    _check(conn, cur, job)
    before = job.list_relations(conn)
    in_place = replaced_in_place(job.operations)
    oids = _oids(cur, in_place)
    run, functions = _with_function_calls(cur, job, psycopg2)
    t_checked = time.perf_counter()
    _run_statements(cur, job, run, psycopg2)
    t_ran = time.perf_counter()
    _verify(conn, cur, job, before, psycopg2)
    _check_in_place(cur, in_place, oids)
    if functions:
        cur.execute(";\n".join(f"DROP FUNCTION {fn}(pg_catalog.text)" for fn in functions))
    t_verified = time.perf_counter()
    cur.execute("SELECT count(*) FROM pg_catalog.pg_locks WHERE pid = pg_catalog.pg_backend_pid()")
    job.stats["locks_held"] = int(cur.fetchone()[0])
    job.stats["seconds"] = {"checks": round(t_checked - t_start, 3), "statements": round(t_ran - t_checked, 3),
                            "verification": round(t_verified - t_ran, 3)}
    raw.commit()


def _take_advisory_lock(cur: Any) -> None:
    cur.execute("SELECT pg_catalog.pg_try_advisory_xact_lock(%s)", (ADVISORY_LOCK_KEY,))
    if not cur.fetchone()[0]:
        raise LockError(
            f"another apply is running: the advisory lock {ADVISORY_LOCK_NAME!r} (key {ADVISORY_LOCK_KEY}) "
            "is held; nothing was changed",
            hint="wait for the other apply to finish, then run apply again",
        )


def _check(conn: Any, cur: Any, job: _Job) -> None:
    """The lock budget, the session settings, and the staleness re-check under the advisory lock."""
    needed = estimate_locks(job.operations, job.verify)
    capacity, in_use, per_tx = lock_capacity(cur)
    job.stats.update(locks_estimated=needed, lock_capacity=capacity, max_locks_per_transaction=per_tx)
    if job.settings.check_lock_budget:
        check_lock_budget(needed, capacity, in_use, per_tx)
    cur.execute("SET LOCAL lock_timeout = %s", (job.lock_timeout,))
    cur.execute("SET LOCAL search_path = ''")
    if job.expected:
        check_expected(job.expected, job.current_fingerprints(conn, list(job.expected)))


def _with_function_calls(cur: Any, job: _Job, psycopg2: Any) -> tuple[list[str], list[str]]:
    """(statements to run, temporary functions created): ACL blocks become calls when the functions can be made."""
    found = {i: c for i, op in enumerate(job.operations) if (c := as_function_call(op)) is not None}
    functions = sorted({fn for fn, _ in found.values()})
    calls = {i: call for i, (_, call) in found.items()}
    job.stats["reset_calls"] = 0
    if calls and job.settings.reset_function:
        try:
            cur.execute("SAVEPOINT deprecator_fn;\n" + "\n;\n".join(mark_statement(_function_create(fn))
                                                                 for fn in functions)
                        + "\n;\nRELEASE SAVEPOINT deprecator_fn")
        except psycopg2.Error:  # e.g. no TEMP privilege on the database: run the DO blocks as written
            cur.execute("ROLLBACK TO SAVEPOINT deprecator_fn")
            calls = {}
    else:
        calls = {}
    job.stats["reset_calls"] = len(calls)
    return [calls.get(i, s) for i, s in enumerate(job.statements)], functions if calls else []


def _run_statements(cur: Any, job: _Job, run: Sequence[str], psycopg2: Any) -> None:
    """``run`` (``job.statements`` as executed) in batches; errors name the statement as planned."""
    statements = job.statements     # as planned (errors name these)
    total = len(statements)

    def one(i: int, stmt: str) -> None:
        try:
            cur.execute(run[i - 1])
        except psycopg2.Error as e:
            code = getattr(e, "pgcode", None)
            msg = (getattr(e, "pgerror", None) or str(e)).strip()
            if code == LOCK_NOT_AVAILABLE:
                raise _LockTimeout(f"statement {i} of {total} waited longer than the lock timeout "
                                   f"({job.settings.lock_timeout_ms} ms): {msg}", stmt) from None
            if code == OUT_OF_SHARED_MEMORY:
                raise ApplyError(
                    f"statement {i} of {total} ran out of lock table space: {msg}; nothing was changed",
                    statement=stmt,
                    hint="raise max_locks_per_transaction (needs a restart), or apply fewer deprecations at once",
                ) from None
            raise ApplyError(f"statement {i} of {total} failed: {msg}; nothing was changed",
                             statement=stmt) from None

    # Statements go in batches (one round trip each) under a savepoint; a batch that fails
    # is rolled back to it and run again one statement at a time, to name the failing one.
    size = max(1, job.settings.batch_size)
    for start in range(0, total, size):
        batch = statements[start:start + size]
        waited = False
        if len(batch) > 1:
            try:
                # "\n;" so that a statement ending in a -- comment cannot swallow the separator; each
                # statement marked, as pg_stat_statements stores each with its own text (not usage)
                cur.execute("SAVEPOINT deprecator_batch;\n" + "\n;\n".join(mark_statement(s) for s in run[start:start + size])
                            + "\n;\nRELEASE SAVEPOINT deprecator_batch")
                continue
            except psycopg2.Error as e:
                cur.execute("ROLLBACK TO SAVEPOINT deprecator_batch")
                waited = getattr(e, "pgcode", None) == LOCK_NOT_AVAILABLE
            if waited:
                # the batch already waited the full lock timeout: find the statement without waiting again
                cur.execute("SET LOCAL lock_timeout = '10ms'")
        for k, stmt in enumerate(batch, start + 1):
            one(k, stmt)
        if len(batch) > 1 and waited:
            cur.execute("SET LOCAL lock_timeout = %s", (job.lock_timeout,))


# Operations that restate what CREATE OR REPLACE keeps (after a drop, the view needs them).
_RESTATING = frozenset({"set_owner", "reset_grants", "default_grants", "grant", "comment"})


def replaced_in_place(operations: Sequence[Operation]) -> list[RelationName]:
    """Views replaced with CREATE OR REPLACE without restating owner, grants and comments: each must
    keep its OID through the apply (else an earlier statement dropped it and they were lost)."""
    restated = {op.relation for op in operations if op.kind in _RESTATING}
    return list(dict.fromkeys(op.relation for op in operations
                              if op.kind == "replace_view" and op.relation not in restated))


def _oids(cur: Any, relations: Sequence[RelationName]) -> list[Any]:
    if not relations:
        return []
    cur.execute("SELECT pg_catalog.to_regclass(n)::pg_catalog.oid FROM unnest(%s::text[]) WITH ORDINALITY u(n, i) "
                "ORDER BY i", ([qualified(r) for r in relations],))
    return [r[0] for r in cur.fetchall()]


def _check_in_place(cur: Any, relations: Sequence[RelationName], before: Sequence[Any]) -> None:
    """Refuse the apply if a view replaced in place is not the same relation any more."""
    lost = [str(r) for r, a, b in zip(relations, before, _oids(cur, relations)) if a != b]
    if lost:
        raise ApplyError(
            "view " + ", ".join(lost) + " was dropped by an earlier statement of the apply and created again by "
            "CREATE OR REPLACE, without its owner, grants and comments; nothing was changed",
            hint="plan again (`deprecator plan`): the plan restates them for a view whose upstream view is dropped",
        )


def _verify(conn: Any, cur: Any, job: _Job, before: set[RelationName], psycopg2: Any) -> None:
    """No view that existed is missing, and every view in ``job.verify`` answers."""
    missing = sorted(str(r) for r in before - job.list_relations(conn))
    if missing:
        raise ApplyError(
            "the plan would drop views it does not recreate: " + ", ".join(missing) + "; nothing was changed",
            hint="these views depend on a replaced view but were not found by the AST engine; "
                 "check `deprecator plan` and the pg_depend cross-check",
        )
    names = [qualified(rel) for rel in job.verify]
    cur.execute("SELECT n FROM unnest(%s::text[]) n JOIN pg_catalog.pg_class c ON c.oid = pg_catalog.to_regclass(n) "
                "WHERE NOT c.relispopulated", (names,))
    unpopulated = {r[0] for r in cur.fetchall()}
    for rel, name in zip(job.verify, names):
        probe = f"SELECT * FROM {name} LIMIT 0"
        if name in unpopulated:
            # a materialized view created WITH NO DATA cannot be read; its query compiled on CREATE
            probe = "EXPLAIN " + probe
        try:
            cur.execute(probe)
        except psycopg2.Error as e:
            msg = (getattr(e, "pgerror", None) or str(e)).strip()
            raise ApplyError(f"verification failed: {rel} does not answer after the change: {msg}; "
                             "nothing was changed", statement=probe) from None
