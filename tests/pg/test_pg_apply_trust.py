"""No way around the reviewed plan, on a real PostgreSQL server: an edited plan is refused, a plan is bound
to the warehouse's identity (not its URL), rollback restores grants exactly and cannot get stuck on an
equivalent ACL, lock waits are reported, Ctrl-C leaves the warehouse unchanged."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from deprecator.apply import apply_plan, plan_warehouse, prepare_rollback, rollback_apply
from deprecator.errors import OtherWarehouseError, RollbackRefused, StalePlanError
from deprecator.plan import Plan
from deprecator.registry import load_registry
from deprecator.state import StateStore
from deprecator.warehouse.postgres import PostgresWarehouse
from tests.helpers import invoke
from tests.pg_cluster import CUSTOMER_FACTS_REGISTRY, admin_engine, run_sql
from tests.sqlite_project import reseal_entry

pytestmark = pytest.mark.postgres

REGISTRY = CUSTOMER_FACTS_REGISTRY


def _setup(url: str, owner: str, reader: str) -> None:
    run_sql(url,
            "CREATE SCHEMA analytics",
            "CREATE TABLE analytics.customer_facts (cust_id int, name text, email text)",
            "CREATE TABLE analytics.entity_customers (customer_id int, name text, email text)",
            "INSERT INTO analytics.entity_customers VALUES (1, 'a', 'a@example.com')",
            f'GRANT USAGE, CREATE ON SCHEMA analytics TO "{owner}"',
            f'GRANT USAGE ON SCHEMA analytics TO "{reader}"',
            f'GRANT SELECT ON analytics.customer_facts, analytics.entity_customers TO "{owner}"',
            # e-mail addresses: readable by the reader only
            "CREATE VIEW analytics.contacts AS SELECT cust_id, email FROM analytics.customer_facts",
            f'ALTER VIEW analytics.contacts OWNER TO "{owner}"',
            f'GRANT SELECT ON analytics.contacts TO "{reader}"',
            "COMMENT ON VIEW analytics.contacts IS 'personal data'",
            # never granted: a NULL ACL
            "CREATE VIEW analytics.names AS SELECT cust_id, name FROM analytics.customer_facts",
            f'ALTER VIEW analytics.names OWNER TO "{owner}"')


def _target(url: str, tmp_path: Path, **kw):
    reg = tmp_path / "deprecations.yml"
    reg.write_text(REGISTRY)
    wh = PostgresWarehouse(url, default_schema=["analytics"], **kw)
    return wh, load_registry(reg, "postgres", ("analytics",)), StateStore(f"sqlite:///{tmp_path}/state.db")


def _acl(url: str, rel: str) -> str | None:
    eng = sa.create_engine(url)
    try:
        with eng.connect() as c:
            return c.exec_driver_sql("SELECT relacl::text FROM pg_class WHERE oid = %s::regclass", (rel,)).scalar()
    finally:
        eng.dispose()


def _defs(wh) -> dict[str, str]:
    return {str(v.relation): v.definition for v in wh.list_views()}


def _with_grant_to_public(plan: Plan, reseal: bool) -> Plan:
    d = json.loads(plan.to_json())
    [entry] = [v for v in d["views"] if v["name"] == "analytics.contacts"]
    entry["operations"].append({"kind": "grant", "relation": entry["relation"],
                                "sql": 'GRANT SELECT ON TABLE "analytics"."contacts" TO PUBLIC'})
    if reseal:
        reseal_entry(entry)
    else:
        del entry["seal"]
    return Plan.from_json(json.dumps(d))


@pytest.mark.parametrize("reseal", [False, True], ids=["seal deleted", "seal recomputed"])
def test_a_grant_to_public_added_to_a_saved_plan_never_runs(pg_db, pg_roles, tmp_path, reseal):
    owner, reader, _ = pg_roles
    _setup(pg_db, owner, reader)
    wh, registry, state = _target(pg_db, tmp_path)
    try:
        plan = _with_grant_to_public(plan_warehouse(wh, registry)[0], reseal)
        acl, defs = _acl(pg_db, "analytics.contacts"), _defs(wh)
        with pytest.raises(StalePlanError) as e:
            apply_plan(plan, wh, registry, state)
        # statement 2: the view is replaced in place by one CREATE OR REPLACE (no COMMENT guard before it)
        assert ("view analytics.contacts would now be rewritten differently: the plan's statement 2, "
                '`GRANT SELECT ON TABLE "analytics"."contacts" TO PUBLIC`, is not one deprecator derives from the '
                "warehouse and the registry") in e.value.changes
        assert ("its seal is missing" in str(e.value)) is not reseal
        assert _acl(pg_db, "analytics.contacts") == acl and "=r/" not in acl.replace(f"{reader}=r/", "")
        assert _defs(wh) == defs and state.list_applies() == []
    finally:
        wh.close()
        state.close()


def test_rollback_restores_grants_as_before_the_apply_revoking_what_was_added(pg_db, pg_roles, tmp_path):
    owner, reader, other = pg_roles
    _setup(pg_db, owner, reader)
    wh, registry, state = _target(pg_db, tmp_path)
    try:
        before = {str(v.relation): v for v in wh.list_views()}
        applied = apply_plan(plan_warehouse(wh, registry)[0], wh, registry, state)
        run_sql(pg_db, "GRANT SELECT ON analytics.contacts TO PUBLIC", f'GRANT SELECT ON analytics.names TO "{other}"')
        with pytest.raises(RollbackRefused) as e:
            prepare_rollback(applied.apply_id, wh, state)
        assert sorted(e.value.changes) == [f"grants of view analytics.contacts changed since apply {applied.apply_id}",
                                           f"grants of view analytics.names changed since apply {applied.apply_id}"]
        assert "entity_customers" in _defs(wh)["analytics.contacts"]           # refused: nothing changed
        rollback_apply(applied.apply_id, wh, state, force=True)
        now = {str(v.relation): v for v in wh.list_views()}
        for name, v in before.items():
            assert now[name].definition == v.definition, name
            assert now[name].grants == v.grants and now[name].owner == v.owner and now[name].comment == v.comment
        assert "=r/" not in _acl(pg_db, "analytics.contacts").replace(f"{reader}=r/", "")   # PUBLIC revoked
    finally:
        wh.close()
        state.close()


def test_an_acl_made_explicit_with_the_same_privileges_does_not_block_rollback(pg_db, pg_roles, tmp_path):
    owner, reader, _ = pg_roles
    _setup(pg_db, owner, reader)
    wh, registry, state = _target(pg_db, tmp_path)
    try:
        original = _defs(wh)
        applied = apply_plan(plan_warehouse(wh, registry)[0], wh, registry, state)
        assert _acl(pg_db, "analytics.names") is None
        # a grant given and taken back: the same privileges, now written out in relacl
        run_sql(pg_db, f'GRANT SELECT ON analytics.names TO "{reader}"',
                f'REVOKE SELECT ON analytics.names FROM "{reader}"')
        assert _acl(pg_db, "analytics.names") is not None
        prepared = prepare_rollback(applied.apply_id, wh, state)
        assert prepared.forced == ()
        rollback_apply(applied.apply_id, wh, state)
        assert _defs(wh) == original
    finally:
        wh.close()
        state.close()


# -- the plan is bound to the warehouse, not the URL ----------------------------------------------


def test_plan_as_the_read_only_role_apply_as_the_apply_role_through_other_url_spellings(pg_db, pg_roles, pg_url,
                                                                                         tmp_path):
    owner, reader, _ = pg_roles
    _setup(pg_db, owner, reader)
    scan, applier = f"{owner}_scan", f"{owner}_apply"
    db = make_url(pg_db).database
    run_sql(pg_url, f'CREATE ROLE "{scan}" LOGIN', f'CREATE ROLE "{applier}" LOGIN IN ROLE "{scan}", "{owner}"')
    try:
        # the README's least-privilege roles
        run_sql(pg_db, f'GRANT CONNECT, TEMPORARY ON DATABASE "{db}" TO "{scan}"',
                f'GRANT USAGE ON SCHEMA analytics TO "{scan}"', f'GRANT CREATE ON SCHEMA analytics TO "{applier}"')
        scan_url = make_url(pg_db).set(username=scan, host="127.0.0.1")
        apply_urls = [make_url(pg_db).set(username=applier, host="localhost"),
                      make_url(pg_db).set(username=applier, query={"application_name": "nightly-retire"})]
        wh, registry, state = _target(scan_url.render_as_string(hide_password=False), tmp_path)
        plan = Plan.from_json(plan_warehouse(wh, registry)[0].to_json())
        wh.close()
        assert plan.warehouse_id["database"] == db and plan.warehouse_id["system_identifier"].isdigit()
        for url in apply_urls:
            target = PostgresWarehouse(url.render_as_string(hide_password=False), default_schema=["analytics"])
            try:
                assert target.display_url != plan.warehouse and target.identity() == dict(plan.warehouse_id)
                result = apply_plan(plan, target, registry, state)
                assert result.apply_id and "entity_customers" in _defs(target)["analytics.contacts"]
                rollback_apply(result.apply_id, target, state)     # and back, through the same other URL
            finally:
                target.close()
        state.close()
    finally:
        run_sql(pg_db, f'DROP OWNED BY "{applier}" CASCADE', f'DROP OWNED BY "{scan}" CASCADE')
        run_sql(pg_url, f'DROP ROLE IF EXISTS "{applier}"', f'DROP ROLE IF EXISTS "{scan}"')


def test_a_plan_for_another_database_is_refused_as_another_warehouse_not_as_stale(pg_db, pg_roles, pg_url, tmp_path):
    owner, reader, _ = pg_roles
    _setup(pg_db, owner, reader)
    other = "dep_t_" + uuid.uuid4().hex[:12]
    admin = admin_engine(pg_url)
    with admin.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{other}"')
    other_url = make_url(pg_db).set(database=other).render_as_string(hide_password=False)
    try:
        _setup(other_url, owner, reader)            # the same schema, views and grants: only the identity differs
        wh, registry, state = _target(pg_db, tmp_path)
        plan = plan_warehouse(wh, registry)[0]
        wh.close()
        target = PostgresWarehouse(other_url, default_schema=["analytics"])
        try:
            defs = _defs(target)
            with pytest.raises(OtherWarehouseError) as e:
                apply_plan(plan, target, registry, state)
            sysid = plan.warehouse_id["system_identifier"]
            assert str(e.value).startswith(
                f"this plan was made for a different warehouse: PostgreSQL database {make_url(pg_db).database} "
                f"(system identifier {sysid})")
            assert f"connects to PostgreSQL database {other} (system identifier {sysid})" in str(e.value)
            assert "stale" not in str(e.value) and _defs(target) == defs and state.list_applies() == []
        finally:
            target.close()
            state.close()
    finally:
        with admin.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{other}" WITH (FORCE)')
        admin.dispose()


# -- waiting, and Ctrl-C --------------------------------------------------------------------------


def test_lock_waits_are_reported_and_ctrl_c_changes_nothing(pg_db, pg_roles, tmp_path):
    owner, reader, _ = pg_roles
    _setup(pg_db, owner, reader)
    wh, registry, state = _target(pg_db, tmp_path, lock_timeout_ms=200, lock_retries=3, lock_backoff_s=0.1)
    eng = sa.create_engine(pg_db)
    holder = eng.connect()
    try:
        plan = plan_warehouse(wh, registry)[0]
        defs = _defs(wh)
        holder.begin()
        holder.exec_driver_sql("LOCK TABLE analytics.contacts IN ACCESS SHARE MODE")
        heard: list[str] = []
        with pytest.raises(Exception, match="gave up after 4 attempts"):
            apply_plan(plan, wh, registry, state, progress=heard.append)
        assert [m.split(" in ")[0] for m in heard] == [
            f"waiting for a lock on analytics.contacts, attempt {n} of 4" for n in (2, 3, 4)]
        assert heard[0] == "waiting for a lock on analytics.contacts, attempt 2 of 4 in 0.1 s " \
                           "(attempt 1 waited 200 ms for it)"

        def press_ctrl_c(message: str) -> None:
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            apply_plan(plan, wh, registry, state, progress=press_ctrl_c)
        holder.rollback()
        assert _defs(wh) == defs
        assert [r.status for r in state.list_applies()] == ["failed", "interrupted"]
        assert state.list_applies()[1].error == ("interrupted (Ctrl-C) before the warehouse committed; "
                                                 "nothing was changed")
    finally:
        holder.close()
        eng.dispose()
        wh.close()
        state.close()


# -- plan --detailed-exitcode ---------------------------------------------------------------------


def test_detailed_exitcode_is_0_when_every_affected_view_is_blocked(pg_db, pg_roles, in_tmp):
    """A dependent of a blocked view is not 'checked' nor 'replaced in place': nothing is applied."""
    owner, reader, _ = pg_roles
    _setup(pg_db, owner, reader)
    run_sql(pg_db, "CREATE VIEW analytics.contacts_count AS SELECT count(*) AS n FROM analytics.contacts")
    (in_tmp / "deprecator.yml").write_text(f"warehouse:\n  url: {pg_db}\n  default_schema: analytics\n"
                                           "registry: deprecations.yml\nstate:\n  url: sqlite:///state.db\n")
    # email has no equivalent: every view reading customer_facts is blocked... but names does not read it
    run_sql(pg_db, "DROP VIEW analytics.names")
    (in_tmp / "deprecations.yml").write_text(REGISTRY + "    removed_columns: [email]\n")
    r = invoke(["plan", "--detailed-exitcode"], 0)
    assert "! analytics.contacts: blocked" in r.stdout
    assert "  analytics.contacts_count: no change needed: nothing it reads is changed (analytics.contacts)" in r.stdout
    assert "replaced in place" not in r.stdout and "= analytics" not in r.stdout
    assert "No changes to apply; blocked: analytics.contacts." in r.stdout
    r = invoke(["apply", "--auto-approve"])
    assert "Nothing to apply; blocked: analytics.contacts." in r.stdout


def test_a_real_ctrl_c_while_apply_waits_for_a_lock_exits_130_and_changes_nothing(pg_db, pg_roles, tmp_path):
    """The CLI as a subprocess: SIGINT arrives while apply waits to retry behind a reader's lock."""
    import os
    import signal
    import subprocess
    import sys

    owner, reader, _ = pg_roles
    _setup(pg_db, owner, reader)
    (tmp_path / "deprecator.yml").write_text(
        f"warehouse:\n  url: {pg_db}\n  default_schema: analytics\n  lock_timeout: 200ms\n  lock_retries: 5\n"
        "  lock_backoff: 1s\nregistry: deprecations.yml\nstate:\n  url: sqlite:///state.db\n")
    (tmp_path / "deprecations.yml").write_text(REGISTRY)
    invoke(["--config", str(tmp_path / "deprecator.yml"), "plan", "--out", str(tmp_path / "plan.json")])
    eng = sa.create_engine(pg_db)
    holder = eng.connect()
    wh = PostgresWarehouse(pg_db, default_schema=["analytics"])
    defs = _defs(wh)
    try:
        holder.begin()
        holder.exec_driver_sql("LOCK TABLE analytics.contacts IN ACCESS SHARE MODE")
        proc = subprocess.Popen([sys.executable, "-m", "deprecator", "apply", "plan.json", "--auto-approve"],
                                cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        try:
            first = proc.stderr.readline().decode()       # the first "waiting for a lock" line
            assert first.startswith("waiting for a lock on analytics.contacts, attempt 2 of 6"), first
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == 130, (proc.returncode, err.decode())
        assert err.decode().strip().splitlines()[-1] == "interrupted; nothing was changed"
        assert b"Traceback" not in out + err
    finally:
        holder.rollback()
        holder.close()
        eng.dispose()
    assert _defs(wh) == defs
    wh.close()
    state = StateStore(f"sqlite:///{tmp_path}/state.db")
    try:
        [rec] = state.list_applies()
        assert rec.status == "interrupted"
    finally:
        state.close()


def test_a_plan_made_without_compile_checks_says_so_and_apply_names_why_it_differs(pg_db, pg_roles, pg_url, tmp_path):
    """A planning role without TEMPORARY cannot compile the rewrites (so it drops and recreates views an apply
    role that can compile would replace in place): plan warns, apply names the cause before the statements."""
    owner, reader, _ = pg_roles
    _setup(pg_db, owner, reader)
    planner = f"{owner}_notemp"
    db = make_url(pg_db).database
    run_sql(pg_url, f'CREATE ROLE "{planner}" LOGIN')
    try:
        run_sql(pg_db, f'REVOKE TEMPORARY ON DATABASE "{db}" FROM PUBLIC',
                f'GRANT USAGE ON SCHEMA analytics TO "{planner}"')
        planner_url = make_url(pg_db).set(username=planner).render_as_string(hide_password=False)
        (tmp_path / "deprecator.yml").write_text(f"warehouse:\n  url: {planner_url}\n  default_schema: analytics\n"
                                                 "registry: deprecations.yml\nstate:\n  url: sqlite:///state.db\n")
        (tmp_path / "deprecations.yml").write_text(REGISTRY)
        out = invoke(["--config", str(tmp_path / "deprecator.yml"), "plan", "--out", str(tmp_path / "plan.json")]).stdout
        assert "warning: this role cannot create temporary views on the warehouse" in out
        plan = Plan.from_json((tmp_path / "plan.json").read_text())
        assert plan.compiled is False
        wh, registry, state = _target(pg_db, tmp_path)
        try:
            assert plan_warehouse(wh, registry)[0].compiled is True
            with pytest.raises(StalePlanError) as e:
                apply_plan(plan, wh, registry, state)
            assert e.value.records[0].kind == "compile_checks"
            assert str(e.value.records[0]).startswith("the plan was made by a role that cannot create temporary views")
        finally:
            wh.close()
            state.close()
    finally:
        run_sql(pg_db, f'DROP OWNED BY "{planner}" CASCADE')
        run_sql(pg_url, f'DROP ROLE IF EXISTS "{planner}"')


def test_without_pg_control_system_the_server_address_stands_in_for_the_identifier(pg_db, pg_roles, pg_url):
    """Managed services may revoke pg_control_system(): the identity falls back to the server's own address and
    port (as the server reports them), still independent of the URL's host spelling, role and options."""
    owner, reader, _ = pg_roles
    role = f"{owner}_login"
    run_sql(pg_url, f'CREATE ROLE "{role}" LOGIN')
    try:
        # in this database only: pg_catalog functions are per database
        run_sql(pg_db, "REVOKE EXECUTE ON FUNCTION pg_catalog.pg_control_system() FROM PUBLIC")
        ids = []
        for host in ("127.0.0.1", "localhost"):
            url = make_url(pg_db).set(username=role, host=host, query={"application_name": host})
            wh = PostgresWarehouse(url.render_as_string(hide_password=False))
            try:
                ids.append(wh.identity())
            finally:
                wh.close()
        port = make_url(pg_db).port or 5432
        assert ids[0] == ids[1] and ids[0]["server"] == f"loopback:{port}"
        assert "system_identifier" not in ids[0] and ids[0]["database"] == make_url(pg_db).database
        from deprecator.plan import describe_warehouse
        assert describe_warehouse(ids[0]).startswith(f"PostgreSQL database {make_url(pg_db).database} (server ")
        superuser = PostgresWarehouse(pg_db)
        try:
            assert "system_identifier" in superuser.identity()    # a superuser may still call it
        finally:
            superuser.close()
    finally:
        run_sql(pg_url, f'DROP ROLE IF EXISTS "{role}"')


def test_ctrl_c_during_a_long_statement_cancels_it_at_once(pg_db, pg_roles, tmp_path):
    """SIGINT while the server runs a slow statement (a materialized view filled WITH DATA): the statement is
    cancelled at once instead of Ctrl-C waiting for it; exit 130, journal interrupted, nothing changed."""
    import os  # noqa: F401
    import signal
    import subprocess
    import sys
    import time

    owner, reader, _ = pg_roles
    _setup(pg_db, owner, reader)
    run_sql(pg_db, "INSERT INTO analytics.entity_customers SELECT g, 'n', 'e' FROM generate_series(2, 30) g",
            # refreshed from the replacement on apply: one second per row, 30 s in all
            "CREATE MATERIALIZED VIEW analytics.slow AS SELECT cust_id, pg_sleep(1)::text AS s FROM analytics.customer_facts")
    (tmp_path / "deprecator.yml").write_text(f"warehouse:\n  url: {pg_db}\n  default_schema: analytics\n"
                                             "registry: deprecations.yml\nstate:\n  url: sqlite:///state.db\n")
    (tmp_path / "deprecations.yml").write_text(REGISTRY)
    invoke(["--config", str(tmp_path / "deprecator.yml"), "plan", "--out", str(tmp_path / "plan.json")])
    wh = PostgresWarehouse(pg_db, default_schema=["analytics"])
    defs = _defs(wh)
    eng = sa.create_engine(pg_db)
    proc = subprocess.Popen([sys.executable, "-m", "deprecator", "apply", "plan.json", "--auto-approve"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        with eng.connect() as c:                 # wait until the server runs the slow statement
            while not c.execute(sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND state = 'active' AND query LIKE :q AND pid <> pg_backend_pid()"),
                    # the apply's fill, not plan's compile probe (a temporary view: it runs nothing)
                    {"q": "%CREATE MATERIALIZED VIEW%pg_sleep%"}).scalar():
                assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
                time.sleep(0.1)
                c.rollback()
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        waited = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        eng.dispose()
    assert proc.returncode == 130, (proc.returncode, err.decode())
    assert err.decode().strip().splitlines()[-1] == "interrupted; nothing was changed"
    assert waited < 15, waited                   # not the 30 s the statement would have taken
    assert _defs(wh) == defs
    wh.close()
    state = StateStore(f"sqlite:///{tmp_path}/state.db")
    try:
        assert [r.status for r in state.list_applies()] == ["interrupted"]
    finally:
        state.close()
