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
