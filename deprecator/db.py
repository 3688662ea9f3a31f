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


def create_engine(url: str | URL, **kwargs: Any) -> Engine:
    return sa.create_engine(normalize_url(url), **kwargs)


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
