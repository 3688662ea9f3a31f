"""Catalog reading on a real PostgreSQL server: definitions, owner, grants, comments, options, indexes."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from deprecator.errors import WarehouseError
from deprecator.sql.model import RelationName
from deprecator.warehouse.postgres import PostgresWarehouse, quote_ident, quote_relation
from tests.pg_cluster import run_sql

pytestmark = pytest.mark.postgres

R = lambda s, n: RelationName(None, s, n)  # noqa: E731


def _by_name(views):
    return {(v.relation.schema, v.relation.name): v for v in views}


def test_views_and_matviews_schema_qualified(pg_db):
    run_sql(pg_db,
            "CREATE SCHEMA analytics",
            "CREATE TABLE analytics.customer_facts (cust_id int, name text, legacy_flag boolean)",
            "CREATE VIEW analytics.v1 AS SELECT cust_id, name FROM analytics.customer_facts WHERE NOT legacy_flag",
            "SET search_path = analytics; CREATE VIEW v2 AS SELECT cust_id FROM customer_facts",
            "CREATE MATERIALIZED VIEW analytics.mv AS SELECT count(*) AS n FROM analytics.v1",
            "CREATE MATERIALIZED VIEW analytics.mv_empty AS SELECT cust_id FROM analytics.v1 WITH NO DATA",
            "CREATE UNIQUE INDEX mv_n ON analytics.mv (n)")
    wh = PostgresWarehouse(pg_db)
    views = _by_name(wh.list_views())
    assert set(views) == {("analytics", "v1"), ("analytics", "v2"), ("analytics", "mv"), ("analytics", "mv_empty")}
    v2 = views[("analytics", "v2")]
    # written unqualified under search_path=analytics, read back qualified because we read with an empty path
    assert "analytics.customer_facts" in v2.definition
    assert not v2.definition.endswith(";") and v2.definition.lstrip().upper().startswith("SELECT")
    assert v2.kind == "view" and v2.owner == "postgres" and not v2.definition_is_create
    assert v2.columns == (("cust_id", "integer"),)
    mv = views[("analytics", "mv")]
    assert mv.kind == "materialized_view"
    assert mv.extra["populated"] is True
    assert mv.extra["indexes"] == [{"name": "mv_n", "definition": "CREATE UNIQUE INDEX mv_n ON analytics.mv USING btree (n)"}]
    assert mv.columns == (("n", "bigint"),)
    assert views[("analytics", "mv_empty")].extra == {"indexes": [], "populated": False}
    wh.close()


def test_schema_filter_and_extension_views_excluded(pg_db):
    run_sql(pg_db,
            "CREATE SCHEMA a", "CREATE SCHEMA b",
            "CREATE VIEW a.x AS SELECT 1 AS one", "CREATE VIEW b.y AS SELECT 2 AS two",
            "CREATE EXTENSION pg_stat_statements")  # creates public.pg_stat_statements views owned by the extension
    all_views = {str(v.relation) for v in PostgresWarehouse(pg_db).list_views()}
    assert all_views == {"a.x", "b.y"}
    assert {str(v.relation) for v in PostgresWarehouse(pg_db, schemas=["b"]).list_views()} == {"b.y"}


def test_owner_grants_table_and_column_level_stable_order(pg_db, pg_roles):
    owner, reader, colreader = pg_roles
    run_sql(pg_db,
            "CREATE TABLE t (a int, b text)",
            "CREATE VIEW v AS SELECT a, b FROM t",
            f'ALTER VIEW v OWNER TO "{owner}"',
            f'GRANT SELECT ON v TO "{reader}" WITH GRANT OPTION',
            f'GRANT SELECT (a), UPDATE (b) ON v TO "{colreader}"',
            "GRANT SELECT ON v TO PUBLIC")
    wh = PostgresWarehouse(pg_db)
    v = wh.get_view(R("public", "v"))
    assert v.owner == owner
    grants = v.grants
    assert (reader, "SELECT", "", "YES") in grants
    assert ("PUBLIC", "SELECT", "", "NO") in grants
    assert (colreader, "SELECT", "a", "NO") in grants
    assert (colreader, "UPDATE", "b", "NO") in grants
    # the owner's implicit privileges are part of the effective ACL
    assert (owner, "SELECT", "", "NO") in grants
    assert list(grants) == sorted(grants)
    # reading twice gives identical fingerprints; a new grant changes it
    fp = v.fingerprint()
    assert wh.get_view(R("public", "v")).fingerprint() == fp
    run_sql(pg_db, f'REVOKE SELECT ON v FROM "{reader}"')
    assert wh.get_view(R("public", "v")).fingerprint() != fp


def test_default_acl_when_relacl_null(pg_db):
    run_sql(pg_db, "CREATE VIEW v AS SELECT 1 AS x")
    v = PostgresWarehouse(pg_db).get_view(R("public", "v"))
    privs = {g[1] for g in v.grants if g[0] == "postgres"}
    assert {"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"} <= privs


def test_comments_and_options(pg_db):
    run_sql(pg_db,
            "CREATE TABLE t (a int, b text)",
            "CREATE VIEW v WITH (security_barrier = true, security_invoker = on) AS SELECT a, b FROM t WHERE a > 0 "
            "WITH LOCAL CHECK OPTION",
            "COMMENT ON VIEW v IS 'the view''s comment'",
            "COMMENT ON COLUMN v.b IS 'column b'",
            "CREATE VIEW plain AS SELECT a FROM t")
    wh = PostgresWarehouse(pg_db)
    v = wh.get_view(R("public", "v"))
    assert v.comment == "the view's comment"
    assert v.column_comments == {"b": "column b"}
    assert v.options == {"check_option": "local", "security_barrier": "true", "security_invoker": "on"}
    plain = wh.get_view(R("public", "plain"))
    assert plain.options == {} and plain.comment is None and plain.column_comments == {}


def test_relation_columns_with_types(pg_db):
    run_sql(pg_db,
            "CREATE SCHEMA s",
            "CREATE TYPE s.mood AS ENUM ('ok', 'sad')",
            "CREATE TABLE s.t (id bigint, price numeric(10,2), tag varchar(12), m s.mood, ts timestamptz, arr int[])",
            "CREATE TABLE public.p (x int)")
    wh = PostgresWarehouse(pg_db)
    assert wh.relation_columns(R("s", "t")) == [
        ("id", "bigint"), ("price", "numeric(10,2)"), ("tag", "character varying(12)"),
        ("m", "s.mood"), ("ts", "timestamp with time zone"), ("arr", "integer[]"),
    ]
    assert wh.relation_columns(R("s", "missing")) is None
    # unqualified names resolve with the configured default schema list
    assert wh.relation_columns(RelationName(None, None, "p")) == [("x", "integer")]
    assert PostgresWarehouse(pg_db, default_schema=["s"]).relation_columns(RelationName(None, None, "p")) is None


HOSTILE = [
    ('we ird"; DROP TABLE victim; --', 'Col "x"; DROP TABLE victim; --'),
    ("Mixed Case", "Select"),
    ("select", "from"),
    ("o'quote", "with space"),
]


@pytest.mark.parametrize("name, col", HOSTILE)
def test_hostile_names_read_correctly_and_never_executed(pg_db, name, col):
    q = quote_ident
    run_sql(pg_db,
            "CREATE TABLE victim (x int)",
            f"CREATE SCHEMA {q(name)}",
            f"CREATE TABLE {q(name)}.{q(name)} ({q(col)} int)",
            f"CREATE VIEW {q(name)}.{q(name + ' v')} AS SELECT {q(col)} FROM {q(name)}.{q(name)}",
            f"COMMENT ON COLUMN {q(name)}.{q(name + ' v')}.{q(col)} IS {quote_literal(col)}")
    wh = PostgresWarehouse(pg_db)
    rel = R(name, name + " v")
    v = wh.get_view(rel)
    assert v is not None and v.relation == rel
    assert v.columns == ((col, "integer"),)
    assert v.column_comments == {col: col}
    assert wh.relation_columns(R(name, name)) == [(col, "integer")]
    assert wh.dependents([R(name, name)]) == [v]
    # the definition names the table with proper quoting, and it still runs
    eng = sa.create_engine(pg_db)
    with eng.connect() as c:
        assert c.exec_driver_sql(f"SELECT count(*) FROM ({v.definition}) s").scalar() == 0
        assert c.exec_driver_sql("SELECT to_regclass('public.victim') IS NOT NULL").scalar()
    eng.dispose()
    assert quote_relation(rel).count(".") >= 1


def quote_literal(s: str) -> str:
    from deprecator.warehouse.postgres import quote_literal as ql
    return ql(s)


def test_read_only_transaction_and_empty_search_path(pg_db):
    wh = PostgresWarehouse(pg_db)
    with wh.read() as conn:
        assert conn.exec_driver_sql("SHOW transaction_read_only").scalar() == "on"
        assert conn.exec_driver_sql("SHOW search_path").scalar() == '""'
        with pytest.raises(sa.exc.DBAPIError):
            conn.exec_driver_sql("CREATE TABLE public.nope (x int)")


def test_unreachable_server_is_a_warehouse_error_without_password():
    wh = PostgresWarehouse("postgresql+psycopg2://postgres:s3cretpw@127.0.0.1:1/test")
    with pytest.raises(WarehouseError) as ei:
        wh.list_views()
    assert "s3cretpw" not in str(ei.value)
    assert "***" in wh.display_url


def test_connect_factory_opens_the_postgres_adapter(pg_db, tmp_path):
    from deprecator.config import WarehouseConfig
    from deprecator.warehouse import connect

    run_sql(pg_db, "CREATE SCHEMA analytics", "CREATE VIEW analytics.v AS SELECT 1 AS x")
    wh = connect(WarehouseConfig(url=pg_db, dialect="postgres", default_schema=("analytics", "public")), root=tmp_path)
    assert isinstance(wh, PostgresWarehouse)
    assert wh.default_schema == ("analytics", "public")
    assert [str(v.relation) for v in wh.list_views()] == ["analytics.v"]
    # without a configured search path, the role's effective one is used
    assert connect(pg_db, root=tmp_path).default_schema == ("public",)


@pytest.mark.parametrize("url", [
    "postgresql+nodriver://me:s3cretpw@h/db",     # no such SQLAlchemy dialect
    "postgresql+pg8000://me:s3cretpw@h/db",       # a driver that is not installed
    "postgresql://me:s3cretpw@h:port/db",         # not a port number
])
def test_a_url_that_cannot_make_an_engine_is_a_warehouse_error_with_the_password_masked(url):
    with pytest.raises(WarehouseError, match="cannot open") as e:
        PostgresWarehouse(url)
    assert "s3cretpw" not in str(e.value)
