"""deprecator.db: every PostgreSQL session says it is deprecator, and every statement carries the marker."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from deprecator.db import APPLICATION_NAME, STATEMENT_MARKER, create_engine, is_own_statement, mark_statement


def _own_query(conn) -> str:
    """The text of the statement asking, as the server received it."""
    return str(conn.execute(sa.text("SELECT query FROM pg_catalog.pg_stat_activity WHERE pid = pg_backend_pid()"))
               .scalar())


@pytest.mark.postgres
def test_sessions_set_application_name_and_statements_carry_the_marker(pg_db):
    engine = create_engine(pg_db)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SHOW application_name")).scalar() == APPLICATION_NAME
            assert _own_query(conn).startswith(STATEMENT_MARKER + " SELECT query")
            # a raw driver cursor (what apply uses) is marked too, and never twice
            cur = conn.connection.dbapi_connection.cursor()
            cur.execute("SELECT query FROM pg_catalog.pg_stat_activity WHERE pid = pg_backend_pid()")
            assert cur.fetchone()[0] == f"{STATEMENT_MARKER} SELECT query FROM pg_catalog.pg_stat_activity " \
                                        "WHERE pid = pg_backend_pid()"
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_an_application_name_in_the_url_wins(pg_db):
    url = make_url(pg_db).update_query_dict({"application_name": "nightly-job"})
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SHOW application_name")).scalar() == "nightly-job"
            assert _own_query(conn).startswith(STATEMENT_MARKER)    # still deprecator's statement
    finally:
        engine.dispose()


def test_sqlite_statements_are_left_alone(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    seen: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    finally:
        engine.dispose()
    assert seen == ["SELECT 1"]


def test_marking_is_idempotent_and_recognised():
    once = mark_statement("SELECT 1")
    assert once == "/* deprecator */ SELECT 1" and mark_statement(once) == once
    assert mark_statement(b"SELECT 1") == b"/* deprecator */ SELECT 1"
    assert is_own_statement("  /* deprecator */\nCREATE VIEW v AS SELECT 1")
    assert not is_own_statement("SELECT 1 /* deprecator */") and not is_own_statement("/* deprecator2 */ SELECT 1")
