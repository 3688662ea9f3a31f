"""pg_stat_statements as a history source, on a throwaway cluster with the extension preloaded."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from deprecator.errors import SourceError
from deprecator.sources.base import SourceProblem, SqlText, UsageBasis
from deprecator.sources.pg_stat_statements import PgStatStatementsSource, parse_search_path
from deprecator.state import SCHEMA_VERSION, StateStore, meta_table, metadata
from tests.pg_cluster import run_sql

pytestmark = pytest.mark.postgres


@pytest.fixture
def db(pgss_cluster):
    """A fresh database in the throwaway cluster, with the extension and a small warehouse."""
    name = "pgss_" + uuid.uuid4().hex[:10]
    run_sql(pgss_cluster.url, f'CREATE DATABASE "{name}"')
    url = make_url(pgss_cluster.url).set(database=name).render_as_string(hide_password=False)
    tag = uuid.uuid4().hex[:6]
    roles = {r: f"{r}_{tag}" for r in ("alice", "bob", "carol")}
    run_sql(url,
            "CREATE EXTENSION pg_stat_statements",
            "CREATE SCHEMA analytics", "CREATE SCHEMA reporting", f'CREATE SCHEMA "{roles["bob"]}"',
            "CREATE TABLE analytics.customer_facts (id int)", "CREATE TABLE analytics.entity_customers (id int)",
            "INSERT INTO analytics.customer_facts SELECT generate_series(1, 5)",
            *[f'CREATE ROLE "{r}" LOGIN' for r in roles.values()],
            *[f'GRANT USAGE ON SCHEMA analytics, reporting TO "{r}"' for r in roles.values()],
            *[f'GRANT SELECT ON analytics.customer_facts TO "{r}"' for r in roles.values()],
            f'ALTER ROLE "{roles["alice"]}" SET search_path = analytics, public',
            f'ALTER ROLE "{roles["bob"]}" IN DATABASE "{name}" SET search_path = "$user", reporting, nosuchschema')
    yield url, roles
    run_sql(pgss_cluster.url, f'DROP DATABASE "{name}" WITH (FORCE)', *[f'DROP ROLE "{r}"' for r in roles.values()])


def run_as(url: str, role: str, *statements: str) -> None:
    run_sql(make_url(url).set(username=role).render_as_string(hide_password=False), *statements)


def _items(src):
    items = list(src.read())
    return [i for i in items if isinstance(i, SqlText)], [i for i in items if isinstance(i, SourceProblem)]


def _one(items, user, needle):
    found = [i for i in items if i.user == user and needle in i.text]
    assert len(found) == 1, (user, needle, [(i.user, i.text) for i in items])
    return found[0]


def test_texts_roles_and_search_paths(db):
    url, roles = db
    run_as(url, roles["alice"], *[f"SELECT id FROM customer_facts WHERE id = {i}" for i in (1, 2, 3)])
    run_as(url, roles["bob"], "SELECT count(*) FROM analytics.customer_facts", "SELECT count(*) FROM analytics.customer_facts")
    run_as(url, roles["carol"], "SELECT 1 FROM analytics.customer_facts WHERE id IN (1,2)")
    items, problems = _items(PgStatStatementsSource(url, default_search_path=["public"]))
    assert problems == []
    assert all(i.source == "pg_stat_statements" for i in items)

    alice = _one(items, roles["alice"], "customer_facts")
    assert alice.text == "SELECT id FROM customer_facts WHERE id = $1"        # normalized with $n
    assert alice.count == 3 and alice.extra["calls_total"] == 3
    assert alice.extra["search_path"] == ["analytics", "public"]
    assert alice.search_path_origin == "role" and alice.extra["search_path_ambiguous"] is True
    assert alice.default_schema == ("analytics", "public")
    assert alice.last_seen is not None and alice.first_seen is not None and alice.first_seen <= alice.last_seen

    bob = _one(items, roles["bob"], "customer_facts")
    assert bob.count == 2
    # "$user" becomes the role's own schema; a schema that does not exist is skipped as PostgreSQL does
    assert bob.extra["search_path"] == [roles["bob"], "reporting"]
    assert bob.search_path_origin == "role_in_database"

    carol = _one(items, roles["carol"], "customer_facts")
    assert carol.text == "SELECT $1 FROM analytics.customer_facts WHERE id IN ($2,$3)"
    assert carol.extra["search_path"] == ["public"] and carol.search_path_origin == "default"
    assert carol.extra["search_path_ambiguous"] is False
    assert "search_path_origin" not in carol.extra and "search_path_note" not in carol.extra
    assert carol.object.endswith(f"queryid={carol.extra['queryid']}")

    # the engine resolves the normalized texts with each role's search path
    from deprecator.sql import find_references

    for item in (alice, bob, carol):
        result = find_references(item.text, "postgres", item.extra["search_path"])
        assert result.status == "parsed", result.error
        assert [str(r.relation) for r in result.references] == ["analytics.customer_facts"]


def _read(src):
    items = list(src.read())
    bases = [i for i in items if isinstance(i, UsageBasis)]
    assert len(bases) == 1 and items[-1] is bases[0]     # one basis, after the texts
    return [i for i in items if isinstance(i, SqlText)], bases[0]


def test_counts_are_cumulative_and_windows_come_from_stored_deltas_across_resets(db, tmp_path):
    url, roles = db
    state = StateStore(f"sqlite:///{tmp_path}/state.db")
    q = "SELECT id FROM analytics.customer_facts WHERE id > 3"
    src = PgStatStatementsSource(url, state=state)

    def alice():
        items, basis = _read(src)
        item = _one(items, roles["alice"], "customer_facts WHERE id > $1")
        return item, basis, basis.window_counts.get((item.object, item.user))

    run_as(url, roles["alice"], *[q] * 4)
    first, b1, w1 = alice()
    assert first.count == 4 and first.extra["reset_detected"] is False
    assert first.first_seen == b1.since is not None and first.last_seen == b1.read_at
    assert b1.counts == "cumulative" and b1.window_start is None and w1 is None   # no previous reading yet

    run_as(url, roles["alice"], *[q] * 2)
    second, b2, w2 = alice()
    assert second.count == 6 and second.extra["calls_total"] == 6       # every call since the reset
    assert second.first_seen == first.first_seen                        # still counted from the reset
    assert w2 == 2 and b2.window_start == b1.read_at                    # the window: since the previous reading
    assert second.last_seen == b2.read_at

    idle, b3, w3 = alice()
    assert idle.count == 6 and w3 == 0 and b3.window_start == b2.read_at
    assert idle.last_seen == second.last_seen                           # the last call ran before that reading
    again, _, _ = alice()
    assert (again.count, again.first_seen, again.last_seen) == (idle.count, idle.first_seen, idle.last_seen)

    # resetting one entry: its counter restarts lower than last time -> the window counts from zero, never negative
    run_sql(url, f"SELECT pg_stat_statements_reset((SELECT oid FROM pg_roles WHERE rolname = '{roles['alice']}'), "
                 f"(SELECT oid FROM pg_database WHERE datname = current_database()), {idle.extra['queryid']})")
    run_as(url, roles["alice"], q)
    after_entry_reset, b4, w4 = alice()
    assert after_entry_reset.count == 1 and w4 == 1 and after_entry_reset.extra["reset_detected"] is True
    assert b4.resets_in_window == 1

    # a full reset followed by MORE calls than before: only stats_reset reveals it
    run_sql(url, "SELECT pg_stat_statements_reset()")
    run_as(url, roles["alice"], *[q] * 10)
    after_full_reset, b5, w5 = alice()
    assert after_full_reset.count == 10 and w5 == 10 and after_full_reset.extra["reset_detected"] is True
    assert after_full_reset.first_seen == b5.since > first.first_seen   # counting restarted at the reset
    assert b5.resets_in_window == 1
    state.close()


def test_extension_missing_or_not_preloaded_is_a_clear_error(pgss_cluster, pg_db):
    name = "pgss_noext_" + uuid.uuid4().hex[:8]
    run_sql(pgss_cluster.url, f'CREATE DATABASE "{name}"')
    try:
        url = make_url(pgss_cluster.url).set(database=name).render_as_string(hide_password=False)
        with pytest.raises(SourceError, match="CREATE EXTENSION pg_stat_statements"):
            list(PgStatStatementsSource(url).read())
    finally:
        run_sql(pgss_cluster.url, f'DROP DATABASE "{name}" WITH (FORCE)')
    # the shared server has the extension files but does not preload the library
    run_sql(pg_db, "CREATE EXTENSION pg_stat_statements")
    with pytest.raises(SourceError) as ei:
        list(PgStatStatementsSource(pg_db).read())
    assert "shared_preload_libraries" in str(ei.value)


def test_parse_search_path():
    assert parse_search_path('"$user", public') == ["$user", "public"]
    assert parse_search_path('Analytics,  "My ""S""" , x') == ["analytics", 'My "S"', "x"]
    assert parse_search_path("") == []


def test_state_store_upgrades_from_v1(tmp_path):
    url = f"sqlite:///{tmp_path}/old.db"
    eng = sa.create_engine(url)
    with eng.begin() as conn:   # a state store as the first release wrote it
        from deprecator.state import MIGRATIONS

        MIGRATIONS[0](conn)
        conn.execute(sa.insert(meta_table).values(key="schema_version", value="1"))
    eng.dispose()
    store = StateStore(url)
    assert store.schema_version() == SCHEMA_VERSION >= 2
    assert {"pgss_snapshots", "pgss_calls"} <= set(sa.inspect(store.engine).get_table_names())
    assert {"pgss_snapshots", "pgss_calls"} <= set(metadata.tables)
    store.close()


def test_scan_from_deprecator_yml_reports_cumulative_calls(db, in_tmp):
    import json

    from tests.helpers import invoke

    url, roles = db
    (in_tmp / "deprecations.yml").write_text(
        "deprecations:\n  - model: analytics.customer_facts\n    replacement: analytics.entity_customers\n"
        "    sunset: 2027-03-31\n")
    (in_tmp / "deprecator.yml").write_text(
        "warehouse:\n"
        f"  url: {url}\n"
        "  default_schema: analytics\n"
        "registry: deprecations.yml\n"
        "history:\n"
        "  - type: pg_stat_statements\n"
        "state:\n  url: sqlite:///.deprecator/state.db\n")
    q = "SELECT id FROM analytics.customer_facts WHERE id < 4"

    def alice_counts():
        report = json.loads(invoke(["scan", "--format", "json"]).stdout)
        return [f["count"] for f in report["findings"]
                if f["source"] == "pg_stat_statements" and f["user"] == roles["alice"]]

    run_as(url, roles["alice"], q, q, q)
    assert alice_counts() == [3]
    run_as(url, roles["alice"], q, q)
    assert alice_counts() == [5]           # every call since the statistics reset, not since the last scan
    (in_tmp / "deprecator.yml").write_text((in_tmp / "deprecator.yml").read_text().replace(
        "  - type: pg_stat_statements\n", "  - type: pg_stat_statements\n    bogus: 1\n"))
    out = invoke(["scan"], code=2)
    assert "bogus" in out.output


def test_statements_hidden_from_an_unprivileged_role_are_reported(db):
    url, roles = db
    run_as(url, roles["alice"], "SELECT id FROM analytics.customer_facts WHERE id = 7")
    run_as(url, roles["carol"], "SELECT id FROM analytics.customer_facts WHERE id = 8")
    carol_url = make_url(url).set(username=roles["carol"]).render_as_string(hide_password=False)
    items, problems = _items(PgStatStatementsSource(carol_url))
    assert {i.user for i in items} == {roles["carol"]}
    assert len(problems) == 1 and "pg_read_all_stats" in problems[0].reason
    hidden = int(problems[0].reason.split()[0])
    assert hidden >= 1
    noun = "statement of another role is" if hidden == 1 else "statements of other roles are"
    assert problems[0].reason == f"{hidden} {noun} hidden from this role; grant it pg_read_all_stats to scan them"
    # granted the role, nothing is hidden any more
    run_sql(url, f'GRANT pg_read_all_stats TO "{roles["carol"]}"')
    items, problems = _items(PgStatStatementsSource(carol_url))
    assert problems == [] and roles["alice"] in {i.user for i in items}


def test_roles_without_a_setting_use_the_servers_search_path_with_user_substituted(db):
    url, roles = db
    # bob's own schema exists; carol has none, so "$user" is skipped for her as PostgreSQL skips it
    run_sql(url, f'ALTER ROLE "{roles["bob"]}" IN DATABASE "{make_url(url).database}" RESET search_path')
    run_as(url, roles["bob"], "SELECT 2 FROM analytics.customer_facts")
    run_as(url, roles["carol"], "SELECT 3 FROM analytics.customer_facts")
    items, problems = _items(PgStatStatementsSource(url, default_search_path=None))
    assert problems == []
    bob = _one(items, roles["bob"], "customer_facts")
    carol = _one(items, roles["carol"], "customer_facts")
    # the server here is not configured otherwise, so its search_path is PostgreSQL's "$user", public
    assert bob.search_path_origin == carol.search_path_origin == "server"
    assert bob.extra["search_path"] == [roles["bob"], "public"]
    assert carol.extra["search_path"] == ["public"]


def test_a_configured_default_search_path_substitutes_user_per_role(db):
    url, roles = db
    run_sql(url, f'ALTER ROLE "{roles["bob"]}" IN DATABASE "{make_url(url).database}" RESET search_path')
    run_as(url, roles["bob"], "SELECT 4 FROM analytics.customer_facts")
    run_as(url, roles["carol"], "SELECT 5 FROM analytics.customer_facts")
    items, _ = _items(PgStatStatementsSource(url, default_search_path=parse_search_path('"$user", analytics')))
    bob = _one(items, roles["bob"], "customer_facts")
    carol = _one(items, roles["carol"], "customer_facts")
    assert bob.search_path_origin == "default" and bob.extra["search_path"] == [roles["bob"], "analytics"]
    assert carol.extra["search_path"] == ["analytics"]      # never the literal "$user"


def _write_config(root, url, extra_warehouse=""):
    (root / "deprecations.yml").write_text(
        "deprecations:\n  - model: analytics.customer_facts\n    replacement: analytics.entity_customers\n"
        "    sunset: 2027-03-31\n")
    (root / "deprecator.yml").write_text(
        "warehouse:\n"
        f"  url: {url}\n"
        "  default_schema: analytics\n"
        + extra_warehouse +
        "registry: deprecations.yml\n"
        "history:\n"
        "  - type: pg_stat_statements\n"
        "state:\n  url: sqlite:///.deprecator/state.db\n")


def _stats_reset(url):
    eng = sa.create_engine(url)
    try:
        with eng.connect() as c:
            return c.execute(sa.text("SELECT stats_reset FROM pg_stat_statements_info")).scalar()
    finally:
        eng.dispose()


def test_repeated_scans_report_the_same_counts_since_the_statistics_reset(db, in_tmp):
    """Recording a snapshot never changes what the next scan reports: scan, scan --format json, scan agree."""
    import datetime as dt
    import json

    from tests.helpers import invoke

    url, roles = db
    _write_config(in_tmp, url)
    q = "SELECT id FROM analytics.customer_facts WHERE id < 4"
    run_as(url, roles["alice"], q, q, q)
    run_as(url, roles["bob"], q)
    reset = _stats_reset(url).astimezone(dt.timezone.utc).replace(tzinfo=None)

    def counts(report):
        return sorted((f["user"], f["count"]) for f in report["findings"]
                      if f["source"] == "pg_stat_statements" and f["user"] in (roles["alice"], roles["bob"]))

    text1 = invoke(["scan"]).stdout
    report = json.loads(invoke(["scan", "--format", "json"]).stdout)
    text2 = invoke(["scan"]).stdout
    assert counts(report) == [(roles["alice"], 3), (roles["bob"], 1)]
    [dep] = report["usage"]["deprecations"]
    assert dep["deprecation"] == "analytics.customer_facts"
    assert (dep["per_user"][roles["alice"]], dep["per_user"][roles["bob"]]) == (3, 1)
    assert dep["queries"] == sum(dep["per_user"].values()) and dep["users"] == len(dep["per_user"])
    # the text reports agree with the JSON and with each other, and say since when
    since = f"{reset:%Y-%m-%d %H:%M:%S}"
    assert _counts_lines(text1) == _counts_lines(text2)
    assert f"{dep['queries']} queries by {dep['users']} users" in text1, text1
    assert f"counted since {since} UTC (pg_stat_statements statistics reset)" in text1, text1
    # every pg_stat_statements finding is counted from the reset
    assert {f["first_seen"] for f in report["findings"] if f["source"] == "pg_stat_statements"} == {reset.isoformat()}
    [basis] = report["usage"]["sources"]
    assert basis["source"] == "pg_stat_statements" and basis["since"] == reset.isoformat()
    assert basis["counts"] == "cumulative"
    assert dep["since"] == reset.isoformat()

    # a fourth scan: still the same counts
    report1b = json.loads(invoke(["scan", "--format", "json"]).stdout)
    assert counts(report1b) == counts(report)
    assert report1b["usage"]["deprecations"][0]["queries"] == dep["queries"]
    assert report1b["usage"]["deprecations"][0]["window"]["queries"] == 0

    # more calls: the count grows by them; the window since the previous scan says which window it covers
    run_as(url, roles["alice"], q, q)
    report2 = json.loads(invoke(["scan", "--format", "json"]).stdout)
    assert counts(report2) == [(roles["alice"], 5), (roles["bob"], 1)]
    [dep2] = report2["usage"]["deprecations"]
    window = dep2["window"]
    assert (window["queries"], window["per_user"]) == (2, {roles["alice"]: 2})
    assert window["start"] == report1b["usage"]["sources"][0]["read_at"]
    assert window["end"] == report2["usage"]["sources"][0]["read_at"]
    text3 = invoke(["scan"]).stdout
    assert f"{dep['queries'] + 2} queries by {dep['users']} users" in text3, text3
    assert "none since the previous scan" in text3, text3


def _without_timing(text):
    import re

    return re.sub(r"in [0-9.]+s with", "in Xs with", text)


def _counts_lines(text):
    """The lines with counts, without the window since the previous scan (which moves on by design)."""
    return [line.split("; ")[0] for line in text.splitlines() if "quer" in line or "counted since" in line]


def _own_setup(url, roles):
    """An apply role owning a view over the deprecated table; returns (role, its URL)."""
    applier = "dep_apply_" + roles["alice"].rsplit("_", 1)[1]
    run_sql(url,
            f'CREATE ROLE "{applier}" LOGIN',
            f'GRANT USAGE, CREATE ON SCHEMA analytics TO "{applier}"',
            f'GRANT SELECT ON analytics.customer_facts, analytics.entity_customers TO "{applier}"',
            "CREATE VIEW analytics.v_customers AS SELECT id FROM analytics.customer_facts",
            f'ALTER VIEW analytics.v_customers OWNER TO "{applier}"')
    return applier, make_url(url).set(username=applier).render_as_string(hide_password=False)


def _own_config(root, scan_url, apply_url, own_roles=None):
    (root / "deprecations.yml").write_text(
        "deprecations:\n  - model: analytics.customer_facts\n    replacement: analytics.entity_customers\n"
        "    sunset: 2027-03-31\n")
    (root / "deprecator.yml").write_text(
        "warehouse:\n"
        f"  url: {apply_url}\n"
        "  default_schema: analytics\n"
        + (f"  own_roles: [{own_roles}]\n" if own_roles else "")
        + "registry: deprecations.yml\n"
        "history:\n"
        "  - type: pg_stat_statements\n"
        f"    url: {scan_url}\n"
        "state:\n  url: sqlite:///.deprecator/state.db\n")


def test_deprecators_own_plan_apply_rollback_and_scans_are_not_usage(db, in_tmp):
    """A real plan, apply and rollback (whose DDL names the deprecated table), then scans: none of
    deprecator's statements is counted or listed as unparsed; they are in pg_stat_statements, marked."""
    import json

    from deprecator.db import STATEMENT_MARKER
    from tests.helpers import invoke

    url, roles = db
    applier, apply_url = _own_setup(url, roles)
    _own_config(in_tmp, url, apply_url)          # no own_roles: the marker alone must do it
    invoke(["plan", "--out", "plan.json"])
    invoke(["apply", "plan.json"])
    [applied] = json.loads(invoke(["applies", "--format", "json"]).stdout)["applies"] \
        if isinstance(json.loads(invoke(["applies", "--format", "json"]).stdout), dict) \
        else json.loads(invoke(["applies", "--format", "json"]).stdout)
    invoke(["rollback", applied["id"], "--auto-approve"])
    run_as(url, roles["alice"], "SELECT id FROM analytics.customer_facts WHERE id = 1")
    invoke(["scan"])
    report = json.loads(invoke(["scan", "--format", "json"]).stdout)

    # deprecator's statements are there, as the apply role, with the marker kept at the start
    eng = sa.create_engine(url)
    with eng.connect() as c:
        rows = c.execute(sa.text(
            "SELECT s.queryid, s.query FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid "
            "AND s.toplevel WHERE r.rolname = :r "
            "AND s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"), {"r": applier}).all()
    eng.dispose()
    texts = [t for _, t in rows]
    marked = [t for t in texts if t.startswith(STATEMENT_MARKER)]
    assert any("customer_facts" in t and "CREATE OR REPLACE VIEW" in t for t in marked), texts   # the rollback
    # what it could not mark (the driver's own BEGIN/COMMIT, psycopg2's type lookup, the savepoint releases
    # after a batch) names no relation
    assert all("analytics." not in t for t in texts if t not in marked), texts

    pgss = [f for f in report["findings"] if f["source"] == "pg_stat_statements"]
    assert roles["alice"] in {f["user"] for f in pgss}
    assert applier not in {f["user"] for f in pgss}, pgss
    # nothing deprecator sent is listed as unparsed (what is, is the test's own set-up, as postgres)
    own_objects = {f"{make_url(url).database}/queryid={q}" for q, _ in rows}
    unparsed = [u for u in report["unparsed"] if u["source"] == "pg_stat_statements"]
    assert not [u for u in unparsed if u["object"] in own_objects or STATEMENT_MARKER in (u["text"] or "")]
    assert all(not u["text"].startswith("/*") for u in unparsed), unparsed
    [basis] = report["usage"]["sources"]
    assert basis["excluded_own"] >= len(marked)
    # the source yields no marked text at all (the scan's own reads included)
    items, _ = _items(PgStatStatementsSource(url))
    assert not [i.text for i in items if i.text.lstrip().startswith(STATEMENT_MARKER)]


def test_configured_own_roles_are_not_usage(db, in_tmp):
    """A statement of the apply role that carries no marker (a function body its verification ran, a
    statement sent by hand) is usage until the role is configured as deprecator's own."""
    import json

    from tests.helpers import invoke

    url, roles = db
    applier, apply_url = _own_setup(url, roles)
    run_as(url, applier, "SELECT count(*) FROM analytics.customer_facts")

    def users():
        report = json.loads(invoke(["scan", "--format", "json"]).stdout)
        return {f["user"] for f in report["findings"] if f["source"] == "pg_stat_statements"}, report

    _own_config(in_tmp, url, apply_url)
    assert applier in users()[0]
    _own_config(in_tmp, url, apply_url, own_roles=applier)
    found, report = users()
    assert applier not in found
    assert report["usage"]["sources"][0]["excluded_own"] >= 1


def test_a_read_only_state_store_keeps_the_counts_and_says_the_reading_was_not_recorded(db, tmp_path):
    url, roles = db
    path = tmp_path / "state.db"
    StateStore(f"sqlite:///{path}").close()
    state = StateStore(f"sqlite:///file:{path}?mode=ro&uri=true")
    try:
        run_as(url, roles["alice"], "SELECT id FROM analytics.customer_facts WHERE id = 9")
        items, basis = _read(PgStatStatementsSource(url, state=state))
        assert _one(items, roles["alice"], "customer_facts WHERE id = $1").count == 1
        assert basis.note is not None and basis.note.startswith("the counters could not be recorded in the state store")
        items, basis = _read(PgStatStatementsSource(url, state=state))
        assert _one(items, roles["alice"], "customer_facts WHERE id = $1").count == 1    # the same again
        assert basis.window_start is None        # nothing was recorded to measure a window from
    finally:
        state.close()


def test_evictions_since_the_reset_are_reported_as_counts_that_may_be_low():
    """More distinct statements than pg_stat_statements.max: entries get evicted, and a statement that comes back
    counts only from then. pg_stat_statements_info.dealloc says it happened; the report passes it on."""
    import shutil

    from deprecator.scan import _basis_lines
    from tests.pg_cluster import PG_BIN, start_cluster

    if not (PG_BIN / "initdb").exists():
        pytest.skip(f"PostgreSQL server binaries not found under {PG_BIN}")
    cluster = start_cluster({"shared_preload_libraries": "'pg_stat_statements'", "pg_stat_statements.max": "100"})
    try:
        run_sql(cluster.url, "CREATE EXTENSION pg_stat_statements")
        _, basis = _read(PgStatStatementsSource(cluster.url))
        assert basis.evictions == 0 and "evicted" not in _basis_lines([basis])[0]
        # 250 statements of distinct shapes (one more column each): more than the 100 entries kept
        run_sql(cluster.url, *["SELECT " + ", ".join(["1"] * k) for k in range(1, 251)])
        _, basis = _read(PgStatStatementsSource(cluster.url))
        assert basis.evictions and basis.evictions >= 1
        [line] = _basis_lines([basis])
        assert f"evicted its least-run statements {basis.evictions} time" in line and "may be low" in line
        assert basis.to_dict()["evictions_since_reset"] == basis.evictions
    finally:
        cluster.stop()
        shutil.rmtree(cluster.datadir.parent, ignore_errors=True)
