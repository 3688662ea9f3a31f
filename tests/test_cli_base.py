import pytest

from tests.helpers import invoke


def test_help_lists_exit_codes():
    out = invoke(["--help"]).stdout
    assert "Exit codes" in out
    assert "2  usage, configuration or infrastructure error" in out


@pytest.mark.postgres
def test_bare_postgresql_url_uses_the_installed_driver(pg_url):
    """SQLAlchemy 2.1 maps postgresql:// to psycopg 3; deprecator ships psycopg2."""
    from sqlalchemy.engine import make_url

    from deprecator.db import create_engine

    bare = make_url(pg_url).set(drivername="postgresql")
    engine = create_engine(bare)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("select 1").scalar() == 1
        assert engine.dialect.driver == "psycopg2"
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_warehouse_adapter_accepts_a_bare_postgresql_url(pg_url):
    from sqlalchemy.engine import make_url

    from deprecator.warehouse import connect

    bare = make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)
    wh = connect(bare)
    try:
        assert isinstance(wh.list_views(), list)
    finally:
        wh.close()
