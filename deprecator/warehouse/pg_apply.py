"""PostgreSQL DDL for a rewrite, and the transaction that applies it.

DDL per view (``view_operations``, each statement a typed ``Operation``):

* ``CREATE OR REPLACE VIEW v (cols) WITH (options) AS ...`` when the new
  definition keeps the column names (the column list pins them), order and
  types; PostgreSQL silently clears options on CREATE OR REPLACE without a WITH
  clause, so they are always restated;
* otherwise (and always for materialized views, which have no CREATE OR
  REPLACE) the views built on it are dropped first, deepest first, then the view
  is dropped and created again; each dropped dependent is in the plan too (the
  plan recreates every view reading a replaced one), and the executor refuses to
  commit if any view that existed is missing at the end;
* then owner, grants (every privilege revoked, including ones default
  privileges add on creation, then the recorded ones granted; a view whose ACL
  was NULL keeps a NULL ACL, see ``default_acl_block``), comments and
  materialized-view indexes are restored, and so is what a DROP VIEW removes
  silently: column defaults, rules and (INSTEAD OF) triggers
  (``attached_operations``). Materialized views that were populated are
  created WITH DATA (refreshed), the others WITH NO DATA.

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
from deprecator.operations import DdlContext, Operation
from deprecator.sql.model import RelationName
from deprecator.warehouse.base import ViewInfo, check_expected
from deprecator.warehouse.quoting import quote_ident, quote_literal

# One advisory lock key per database for every deprecator apply (crc32 of the name).
ADVISORY_LOCK_NAME = "deprecator.apply"
ADVISORY_LOCK_KEY = zlib.crc32(ADVISORY_LOCK_NAME.encode())

_OPTION_KEY = re.compile(r"[a-z_][a-z0-9_.]*\Z")
_PRIVILEGES = {"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER", "MAINTAIN"}


def qualified(rel: RelationName) -> str:
    return ".".join(quote_ident(p) for p in (rel.schema, rel.name) if p is not None)


def _role(name: str) -> str:
    return "PUBLIC" if name == "PUBLIC" else quote_ident(name)


def _keyword(kind: str) -> str:
    return "MATERIALIZED VIEW" if kind == "materialized_view" else "VIEW"


def _with_clause(options: Mapping[str, str]) -> str:
    if not options:
        return ""
    parts = []
    for k, v in sorted(options.items()):
        if not _OPTION_KEY.match(k):
            raise ApplyError(f"unexpected view option name {k!r}")
        parts.append(f"{k} = {quote_literal(v)}")
    return " WITH (" + ", ".join(parts) + ")"


@dataclass(frozen=True)
class Dependent:
    relation: RelationName
    kind: str                      # "view" | "materialized_view"


def _grantee(alias: str) -> str:
    return (f"CASE WHEN {alias}.grantee = 0 THEN 'PUBLIC' "
            f"ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid({alias}.grantee)) END")


def _revoke_loop(regclass: str) -> str:
    """PL/pgSQL revoking every privilege (table and column) from every grantee; needs ``g text``."""
    return (
        f"FOR g IN SELECT DISTINCT {_grantee('a')} "
        "FROM pg_catalog.pg_class c, pg_catalog.aclexplode(pg_catalog.acldefault('r', c.relowner) "
        "OPERATOR(pg_catalog.||) COALESCE(c.relacl, '{}'::pg_catalog.aclitem[])) a "
        f"WHERE c.oid = {regclass}::pg_catalog.regclass "
        f"UNION SELECT DISTINCT {_grantee('a')} "
        "FROM pg_catalog.pg_attribute t, pg_catalog.aclexplode(t.attacl) a "
        f"WHERE t.attrelid = {regclass}::pg_catalog.regclass AND t.attacl IS NOT NULL "
        f"LOOP EXECUTE 'REVOKE ALL ON TABLE ' || {regclass}::pg_catalog.regclass::text || ' FROM ' || g; "
        "END LOOP;"
    )


def _revoke_body(regclass: str) -> str:
    """PL/pgSQL revoking every privilege on the relation named by the text expression ``regclass``."""
    return f"DECLARE g text; BEGIN {_revoke_loop(regclass)} END"


def _default_acl_body(regclass: str) -> str:
    """PL/pgSQL for a relation whose recorded ACL was NULL (the built-in defaults).

    A NULL ACL is left NULL: any table-level REVOKE or GRANT would make it
    explicit. An ACL that default privileges made explicit on creation is set
    back to the built-in defaults (every privilege revoked, then ALL granted to
    the owner): the same privileges, but necessarily an explicit ACL. Column
    privileges are revoked per column, which leaves a NULL table ACL NULL.
    """
    return (
        "DECLARE g text; col text; BEGIN "
        "IF EXISTS (SELECT 1 FROM pg_catalog.pg_class c "
        f"WHERE c.oid = {regclass}::pg_catalog.regclass AND c.relacl IS NOT NULL) THEN "
        f"{_revoke_loop(regclass)} "
        f"EXECUTE 'GRANT ALL ON TABLE ' || {regclass}::pg_catalog.regclass::text || ' TO ' || "
        "(SELECT pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(c.relowner)) FROM pg_catalog.pg_class c "
        f"WHERE c.oid = {regclass}::pg_catalog.regclass); "
        f"ELSE FOR g, col IN SELECT DISTINCT {_grantee('a')}, pg_catalog.quote_ident(t.attname) "
        "FROM pg_catalog.pg_attribute t, pg_catalog.aclexplode(t.attacl) a "
        f"WHERE t.attrelid = {regclass}::pg_catalog.regclass AND t.attacl IS NOT NULL "
        f"LOOP EXECUTE 'REVOKE ALL (' || col || ') ON TABLE ' || {regclass}::pg_catalog.regclass::text "
        "|| ' FROM ' || g; END LOOP; END IF; END"
    )


def _do_block(body: Callable[[str], str], regclass_literal: str) -> str:
    tag = "$deprecator$"
    while tag in regclass_literal:  # a name containing the dollar-quote tag must not end the block early
        tag = tag[:-1] + "_$"
    return f"DO {tag} {body(regclass_literal)} {tag}"


def revoke_all_block(regclass_literal: str) -> str:
    """A self-contained ``DO`` block revoking every privilege on one relation (a quoted literal)."""
    return _do_block(_revoke_body, regclass_literal)


def default_acl_block(regclass_literal: str) -> str:
    """A self-contained ``DO`` block keeping one relation's ACL at the built-in defaults (``_default_acl_body``)."""
    return _do_block(_default_acl_body, regclass_literal)


# The executor runs each of these blocks as a call of a temporary function with the same
# body (compiled once per transaction instead of once per block: about 5x cheaper).
RESET_ACL_FUNCTION = "pg_temp.deprecator_reset_acl"
DEFAULT_ACL_FUNCTION = "pg_temp.deprecator_default_acl"
_FUNCTIONS: dict[str, tuple[Callable[[str], str], Callable[[str], str]]] = {
    RESET_ACL_FUNCTION: (revoke_all_block, _revoke_body),
    DEFAULT_ACL_FUNCTION: (default_acl_block, _default_acl_body),
}


def _function_create(name: str) -> str:
    return (f"CREATE OR REPLACE FUNCTION {name}(rel pg_catalog.text) RETURNS void "
            f"LANGUAGE plpgsql AS $deprecator_fn$ {_FUNCTIONS[name][1]('rel')} $deprecator_fn$")


# The operation kinds whose SQL is one of our ACL blocks, and the function each becomes.
_FUNCTION_OF_KIND = {"reset_grants": RESET_ACL_FUNCTION, "default_grants": DEFAULT_ACL_FUNCTION}


def as_function_call(op: Operation) -> tuple[str, str] | None:
    """(function, call) equivalent to ``op`` when it is one of our ACL blocks (by its kind), else None.

    The call is used only when the operation's SQL is exactly the block for its
    relation, so a call never runs anything other than what the plan shows.
    """
    name = _FUNCTION_OF_KIND.get(op.kind)
    if name is None:
        return None
    literal = quote_literal(qualified(op.relation))
    if _FUNCTIONS[name][0](literal) != op.sql:
        return None
    return name, f"SELECT {name}({literal})"


def restore_operations(view: ViewInfo) -> list[Operation]:
    """Owner, grants, comments and indexes exactly as ``view`` records them (absolute, idempotent)."""
    rel = qualified(view.relation)
    kw = _keyword(view.kind)
    out: list[Operation] = []

    def op(kind: str, sql: str) -> None:
        out.append(Operation(kind, view.relation, sql))

    if view.owner:
        op("set_owner", f"ALTER {kw} {rel} OWNER TO {quote_ident(view.owner)}")
    grants = view.grants
    if view.default_acl:
        # The ACL was NULL: keep it NULL (or, if default privileges made it explicit on
        # creation, back to the built-in defaults); the table-level ``grants`` are those
        # defaults, so only column grants are made (they leave a NULL table ACL NULL).
        op("default_grants", default_acl_block(quote_literal(rel)))
        grants = tuple(g for g in grants if g[2])
    else:
        # Revoke whatever is there now (the creator's default privileges, ALTER
        # DEFAULT PRIVILEGES grants, or the old ACL), then grant what was recorded.
        # Revoking a table privilege also revokes it on every column.
        op("reset_grants", revoke_all_block(quote_literal(rel)))
    # one GRANT per grantee, column set and grant option (the order of ``grants`` is stable)
    groups: dict[tuple[str, str, str], list[str]] = {}
    # the owner's own privileges first, so the ACL reads in the order PostgreSQL itself writes it
    for grantee, privilege, column, grantable in sorted(grants, key=lambda g: g[0] != view.owner):
        if privilege not in _PRIVILEGES:
            raise ApplyError(f"unexpected privilege {privilege!r} on {view.relation}")
        groups.setdefault((grantee, column, grantable), []).append(privilege)
    for (grantee, column, grantable), privileges in groups.items():
        cols = f" ({quote_ident(column)})" if column else ""
        option = " WITH GRANT OPTION" if grantable == "YES" else ""
        privs = ", ".join(f"{p}{cols}" for p in privileges)
        op("grant", f"GRANT {privs} ON TABLE {rel} TO {_role(grantee)}{option}")
    comment = "NULL" if view.comment is None else quote_literal(view.comment)
    op("comment", f"COMMENT ON {kw} {rel} IS {comment}")
    for col, text in sorted(view.column_comments.items()):
        op("comment", f"COMMENT ON COLUMN {rel}.{quote_ident(col)} IS {quote_literal(text)}")
    return out


def attached_operations(view: ViewInfo) -> list[Operation]:
    """Column defaults, rules and triggers exactly as ``view`` records them (idempotent).

    A DROP VIEW removes them silently and CREATE OR REPLACE keeps them, so they are
    restated (dropped if present, then created from the catalog's own definition)
    wherever the view may have been recreated.
    """
    rel = qualified(view.relation)
    out: list[Operation] = []

    def op(sql: str) -> None:
        out.append(Operation("restore_attached", view.relation, sql))

    for col, expr in sorted((view.extra.get("column_defaults") or {}).items()):
        op(f"ALTER {_keyword(view.kind)} {rel} ALTER COLUMN {quote_ident(col)} SET DEFAULT {expr}")
    for kind, key in (("RULE", "rules"), ("TRIGGER", "triggers")):
        for item in view.extra.get(key) or ():
            name = quote_ident(str(item["name"]))
            op(f"DROP {kind} IF EXISTS {name} ON {rel}")
            op(str(item["definition"]))
    return out


def view_operations(
    view: ViewInfo,
    new_definition: str,
    *,
    old_types: Sequence[str] | None,
    new_types: Sequence[str] | None,
    dependents: Sequence[Dependent] | Callable[[], Sequence[Dependent]],
    restore: bool = True,
) -> list[Operation]:
    """DDL giving ``view`` the definition ``new_definition`` with everything else kept.

    ``old_types``/``new_types`` are the column types the old and new definitions
    produce (None: unknown, which forces drop and recreate); ``dependents`` are
    the views built on it, transitively, deepest first. ``restore`` False is
    for a view no earlier statement of the plan drops: CREATE OR REPLACE keeps
    its owner, grants and comments, so a changed definition gets only the
    CREATE OR REPLACE (the executor refuses the apply if the view's OID changed
    before it, ``replaced_in_place``), and an unchanged one only a guard
    (``COMMENT ON`` restating its comment, which fails if the view is gone).
    """
    rel = qualified(view.relation)
    kw = _keyword(view.kind)
    body = new_definition.strip().rstrip(";").rstrip()
    names = [c for c, _ in view.columns]
    n = min(len(names), len(new_types)) if new_types is not None else len(names)
    collist = " (" + ", ".join(quote_ident(c) for c in names[:n]) + ")" if n else ""
    keeps_columns = (
        view.kind == "view" and old_types is not None and new_types is not None
        and len(new_types) >= len(old_types) and list(new_types[: len(old_types)]) == list(old_types)
    )
    out: list[Operation] = []

    def op(kind: str, sql: str, relation: RelationName = view.relation) -> None:
        out.append(Operation(kind, relation, sql))

    if keeps_columns and not restore:
        if body != view.definition.strip().rstrip(";").rstrip():
            # kept in place: the executor refuses the apply if an earlier statement dropped it (its OID changed)
            op("replace_view", f"CREATE OR REPLACE VIEW {rel}{collist}{_with_clause(view.options)} AS {body}")
        else:
            comment = "NULL" if view.comment is None else quote_literal(view.comment)
            op("guard", f"COMMENT ON VIEW {rel} IS {comment}")
        return out
    if keeps_columns:
        op("replace_view", f"CREATE OR REPLACE VIEW {rel}{collist}{_with_clause(view.options)} AS {body}")
    else:
        for d in (dependents() if callable(dependents) else dependents):
            op("drop_view", f"DROP {_keyword(d.kind)} IF EXISTS {qualified(d.relation)}", d.relation)
        op("drop_view", f"DROP {kw} IF EXISTS {rel}")
        if view.kind == "materialized_view":
            data = "WITH DATA" if view.extra.get("populated", True) else "WITH NO DATA"
            op("create_matview", f"CREATE MATERIALIZED VIEW {rel}{collist}{_with_clause(view.options)} AS {body} {data}")
        else:
            op("create_view", f"CREATE VIEW {rel}{collist}{_with_clause(view.options)} AS {body}")
    if view.kind == "materialized_view":
        for idx in view.extra.get("indexes", []):
            op("create_index", str(idx["definition"]))
    out.extend(attached_operations(view))
    out.extend(restore_operations(view))
    return out


# -- lock budget ----------------------------------------------------------------------

# Lock table entries per view, by what the apply does to it, measured in pg_locks on
# PostgreSQL 15 (tests/test_pg_apply.py checks the estimate: never under, within 10%):
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
