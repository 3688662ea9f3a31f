"""SQLAlchemy engine creation shared by every adapter, source and the state store."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url


def normalize_url(url: str | URL) -> URL:
    """Pick the driver deprecator installs when the URL names none.

    SQLAlchemy 2.1 maps a bare ``postgresql://`` to psycopg 3, which deprecator
    does not depend on; ``psycopg2-binary`` is what it ships with.
    """
    u = make_url(url)
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg2")
    elif u.drivername == "redshift":
        u = u.set(drivername="postgresql+psycopg2")
    return u


# deprecator's own traffic must not count as usage of what it retires. On
# PostgreSQL its sessions say who they are (application_name, unless the URL
# names one), and every statement it sends starts with this comment, which
# pg_stat_statements keeps at the start of the text it stores (checked on a real
# cluster), so the history sources can leave deprecator's own statements out.
APPLICATION_NAME = "deprecator"
STATEMENT_MARKER = "/* deprecator */"
_MARKER_BYTES = STATEMENT_MARKER.encode()


def is_own_statement(text: str) -> bool:
    """True for a statement deprecator sent (it starts with the marker comment)."""
    return text[:256].lstrip().startswith(STATEMENT_MARKER)


def mark_statement(statement: Any) -> Any:
    """``statement`` with the marker in front (once). Only the first statement of a
    multi-statement string is marked this way: join statements with each one marked."""
    # only the head is looked at: an apply batch can be megabytes, and it is marked on every try
    if isinstance(statement, str) and not statement[:256].lstrip().startswith(STATEMENT_MARKER):
        return f"{STATEMENT_MARKER} {statement}"
    if isinstance(statement, bytes) and not statement[:256].lstrip().startswith(_MARKER_BYTES):
        return _MARKER_BYTES + b" " + statement
    return statement


def _mark_statement(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                    executemany: bool) -> tuple[str, Any]:
    return mark_statement(statement), parameters


_marked_cursor: Any = None


def marked_cursor_class() -> Any:
    """A psycopg2 cursor that marks what it executes: the adapters' raw cursors (apply) go past
    SQLAlchemy's events, and SQLAlchemy's own connection set-up statements too."""
    global _marked_cursor
    if _marked_cursor is None:
        import psycopg2.extensions

        class MarkedCursor(psycopg2.extensions.cursor):
            def execute(self, query: Any, vars: Any = None) -> Any:
                return super().execute(mark_statement(query), vars)

            def executemany(self, query: Any, vars_list: Any) -> Any:
                return super().executemany(mark_statement(query), vars_list)

        _marked_cursor = MarkedCursor
    return _marked_cursor


def create_engine(url: str | URL, **kwargs: Any) -> Engine:
    """An engine for ``url``; PostgreSQL sessions carry deprecator's application_name and statement marker."""
    u = normalize_url(url)
    postgres = u.get_backend_name() == "postgresql"
    if postgres:
        connect_args = dict(kwargs.pop("connect_args", None) or {})
        if "application_name" not in u.query:
            connect_args.setdefault("application_name", APPLICATION_NAME)
        if u.get_driver_name() == "psycopg2" and "cursor_factory" not in u.query:
            connect_args.setdefault("cursor_factory", marked_cursor_class())
        kwargs["connect_args"] = connect_args
    engine = sa.create_engine(u, **kwargs)
    if postgres:
        sa.event.listen(engine, "before_cursor_execute", _mark_statement, retval=True)
    return engine


def db_error(e: BaseException, limit: int = 300) -> str:
    """A database error as one short line: its class and the driver's own message.

    ``str()`` of a SQLAlchemy error carries the statement and every bound
    parameter (kilobytes for a batch insert); this keeps only the reason.
    """
    from deprecator.redact import excerpt, redact, trim_db_noise

    orig = getattr(e, "orig", None)
    message = str(orig if orig is not None else e).strip()
    message = " ".join(trim_db_noise(message).split()) or e.__class__.__name__
    name = (orig if orig is not None else e).__class__.__name__
    if isinstance(e, OSError):
        message = e.strerror or message
    return redact(excerpt(f"{name}: {message}", limit))
