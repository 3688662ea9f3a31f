"""build_plan on real SQLite files: dependency order, rewrites, blockers, serialization."""

from __future__ import annotations

import dataclasses
import json

import pytest

from deprecator.errors import DeprecatorError
from deprecator.plan import VIEW_FIELDS, Operation, Plan, build_plan, render_text
from deprecator.sql.model import RelationName, RewriteRule
from deprecator.text import plural
from deprecator.warehouse.base import ViewInfo
from deprecator.warehouse.sqlite import SQLiteWarehouse
from tests.sqlite_project import EXPECTED_AFTER, TABLES, VIEWS, make_warehouse

RULE = RewriteRule(
    old=RelationName(None, "main", "customer_facts"),
    new=RelationName(None, "main", "entity_customers"),
    columns={"cust_id": "customer_id"},
    removed_columns=frozenset({"legacy_flag"}),
    label="customer_facts",
)


def plan_for(wh: SQLiteWarehouse, rules=(RULE,), registry_fp: str = "reg-fp") -> Plan:
    columns = {}
    for r in rules:
        columns[r.old] = wh.relation_columns(r.old)
        columns[r.new] = wh.relation_columns(r.new)
    return build_plan(wh.list_views(), list(rules), "sqlite", registry_fp, ("main",), None, wh.display_url,
                      relation_columns=columns, ddl=wh)


@pytest.fixture
def wh(tmp_path):
    w = SQLiteWarehouse(f"sqlite:///{make_warehouse(tmp_path / 'wh.db')}")
    yield w
    w.close()


def test_affected_views_in_dependency_order_each_once(wh):
    plan = plan_for(wh)
    order = [v.relation.name for v in plan.views]
    assert order == ["blocked_v", "cte_over_table", "direct_v", "side_v", "on_view", "top_v", "on_on"]
    actions = {v.relation.name: v.action for v in plan.views}
    assert actions == {"blocked_v": "blocked", "cte_over_table": "rewrite", "direct_v": "rewrite",
                       "side_v": "rewrite", "on_view": "unchanged", "top_v": "unchanged", "on_on": "unchanged"}
    # the diamond top reads both rewritten views
    top = next(v for v in plan.views if v.relation.name == "top_v")
    assert top.via == ("main.direct_v", "main.side_v")
    assert plan.summary() == "Plan: 3 views to rewrite, 1 blocked, 3 unchanged"


def test_rewrites_keep_every_other_byte(wh):
    plan = plan_for(wh)
    after = {v.relation.name: v.after for v in plan.rewrites}
    assert after == EXPECTED_AFTER
    for v in plan.views:
        assert v.before == VIEWS[v.relation.name]
        if v.action != "rewrite":
            assert v.after == v.before and not v.statements


def test_statements_inverse_and_fingerprints(wh):
    plan = plan_for(wh)
    direct = next(v for v in plan.views if v.relation.name == "direct_v")
    assert direct.statements == ('DROP VIEW "main"."direct_v"', EXPECTED_AFTER["direct_v"])
    assert direct.inverse == ('DROP VIEW "main"."direct_v"', VIEWS["direct_v"])
    current = {v.relation: v.fingerprint() for v in wh.list_views()}
    for v in plan.views:
        assert v.fingerprint == current[v.relation]
    assert plan.statements() == [s for v in plan.rewrites for s in v.statements]


def test_unified_diff_is_labelled_with_the_view(wh):
    direct = next(v for v in plan_for(wh).views if v.relation.name == "direct_v")
    lines = direct.diff.splitlines()
    assert lines[0] == "--- main.direct_v (current)"
    assert lines[1] == "+++ main.direct_v (planned)"
    assert "-SELECT cust_id, name /* inline */ FROM customer_facts" in lines
    assert "+SELECT customer_id AS cust_id, name /* inline */ FROM entity_customers" in lines
    assert " -- comment stays" in lines


def test_removed_column_blocks_with_reason_and_unblock(wh):
    blocked = next(v for v in plan_for(wh).views if v.relation.name == "blocked_v")
    assert blocked.blockers
    b = blocked.blockers[0]
    assert "legacy_flag" in b.reason
    assert "legacy_flag has no equivalent in the replacement" in b.unblock
    assert "remove it from the view or add a mapping" in b.unblock
    assert b.deprecation == "customer_facts"
    text = render_text(plan_for(wh))
    assert "! main.blocked_v: blocked" in text
    assert "to unblock: legacy_flag has no equivalent" in text
    assert text.splitlines()[-1] == "Plan: 3 views to rewrite, 1 blocked, 3 unchanged"
    assert "\x1b[" not in text
    assert "\x1b[32m+" in render_text(plan_for(wh), color=True)


def test_missing_replacement_blocks_every_direct_view(tmp_path):
    tables = TABLES.replace("CREATE TABLE entity_customers (customer_id INTEGER, name TEXT);", "").replace(
        "INSERT INTO entity_customers VALUES (1, 'a'), (2, 'b');", "")
    with SQLiteWarehouse(f"sqlite:///{make_warehouse(tmp_path / 'wh.db', tables=tables)}") as w:
        plan = plan_for(w)
    direct = [v for v in plan.views if v.deprecated]
    assert direct and all(v.action == "blocked" for v in direct)
    assert not plan.has_changes
    for v in direct:
        assert any(b.reason == "the replacement main.entity_customers does not exist in the warehouse"
                   for b in v.blockers)


def test_replacement_lacking_a_used_column_blocks(tmp_path):
    tables = TABLES.replace("entity_customers (customer_id INTEGER, name TEXT)", "entity_customers (customer_id INTEGER)")
    tables = tables.replace("INSERT INTO entity_customers VALUES (1, 'a'), (2, 'b');", "")
    with SQLiteWarehouse(f"sqlite:///{make_warehouse(tmp_path / 'wh.db', tables=tables)}") as w:
        plan = plan_for(w)
    actions = {v.relation.name: v.action for v in plan.views}
    assert actions["direct_v"] == "blocked"          # uses name
    assert actions["side_v"] == "rewrite"            # uses cust_id only
    reasons = [b.reason for v in plan.views if v.relation.name == "direct_v" for b in v.blockers]
    assert "column name does not exist in the replacement main.entity_customers" in reasons


def test_cte_shadowing_the_name_is_not_a_reference(wh):
    names = {v.relation.name for v in plan_for(wh).views}
    assert "cte_only" not in names and "unrelated" not in names


def test_no_rules_no_plan(wh):
    plan = plan_for(wh, rules=())
    assert plan.views == () and not plan.has_changes
    assert plan.summary() == "Plan: 0 views to rewrite, 0 blocked, 0 unchanged"


def test_summary_counts_one_view_in_the_singular(tmp_path):
    with SQLiteWarehouse(f"sqlite:///{make_warehouse(tmp_path / 'one.db', {'side_v': VIEWS['side_v']})}") as one:
        assert plan_for(one).summary() == "Plan: 1 view to rewrite, 0 blocked, 0 unchanged"


def test_plural():
    assert [plural(n, "view") for n in (0, 1, 2)] == ["0 views", "1 view", "2 views"]
    assert plural(2, "query", "queries") == "2 queries" and plural(1, "query", "queries") == "1 query"


def test_serialization_round_trip(wh):
    plan = plan_for(wh)
    text = plan.to_json()
    again = Plan.from_json(text)
    assert again == plan
    assert again.to_json() == text
    d = plan.to_dict()
    assert d["format_version"] == 4 and d["dialect"] == "sqlite" and d["registry_fingerprint"] == "reg-fp"
    assert d["warehouse"].startswith("sqlite:///") and d["created_at"]
    assert all(len(v["fingerprint"]) == 64 for v in d["views"])
    assert all(set(v["parts"]) == set(VIEW_FIELDS) and v["seal"] for v in d["views"])


def test_an_edited_entry_no_longer_matches_its_seal(wh):
    plan = plan_for(wh)
    v = plan.rewrites[0]
    extra = Operation("sql", v.relation, "DROP TABLE customer_facts")
    edited = dataclasses.replace(v, operations=v.operations + (extra,))
    assert dataclasses.replace(plan, views=(edited,)).edited() == [v.name]
    assert plan.edited() == []


@pytest.mark.parametrize("text,msg", [
    ("{not json", "invalid JSON"),
    ('{"hello": 1}', "no format_version"),
    ('{"format_version": 99}', "format version 99 is not supported"),
    ('{"format_version": 1, "dialect": "sqlite"}', "format version 1 is not supported .*made by an older deprecator"),
    ('{"format_version": 3, "dialect": "sqlite"}', "format version 3 is not supported .*made by an older deprecator"),
    ('{"format_version": 4, "dialect": "sqlite"}', '^plan.json: missing field "views"$'),
])
def test_bad_plan_files_are_clear_errors(text, msg):
    with pytest.raises(DeprecatorError, match=msg):
        Plan.from_json(text, source="plan.json")


class RecreatingDdl:
    """An engine whose views must be recreated when a view they read is replaced."""

    recreate_dependents = True
    two_phase = False

    def view_operations(self, view, new_definition, context):
        return [Operation("drop_view", view.relation, f"DROP VIEW {view.relation}"),
                Operation("create_view", view.relation, new_definition)]


def test_engines_that_recreate_dependents_get_ddl_for_them(wh):
    plan = build_plan(wh.list_views(), [RULE], "sqlite", "fp", ("main",), ddl=RecreatingDdl())
    on_view = next(v for v in plan.views if v.relation.name == "on_view")
    assert on_view.action == "recreate"
    assert on_view.statements == ("DROP VIEW main.on_view", VIEWS["on_view"])
    assert plan.summary() == "Plan: 3 views to rewrite, 1 blocked, 0 unchanged, 3 to recreate"


def test_unparseable_view_mentioning_a_deprecated_name_is_blocked_not_skipped():
    rel = RelationName(None, "main", "weird")
    views = [ViewInfo(rel, "CREATE VIEW weird AS SELECT FROM customer_facts WHERE ((", definition_is_create=True)]
    plan = build_plan(views, [RULE], "sqlite", "fp", ("main",))
    assert [v.action for v in plan.views] == ["blocked"]
    assert "could not be parsed" in plan.views[0].blockers[0].reason


def test_managed_views_are_left_to_their_tool(wh):
    views = [ViewInfo(v.relation, v.definition, definition_is_create=True, managed_by="dbt")
             if v.relation.name == "direct_v" else v for v in wh.list_views()]
    plan = build_plan(views, [RULE], "sqlite", "fp", ("main",), ddl=wh)
    direct = next(v for v in plan.views if v.relation.name == "direct_v")
    assert direct.action == "blocked" and "managed by dbt" in direct.blockers[0].reason
    # the change belongs in the dbt project: the hint names the codemod that makes it
    assert "`deprecator dbt codemod PROJECT_DIR" in direct.blockers[0].unblock


def test_replacement_view_reading_the_deprecated_table_is_blocked_not_made_self_referencing(tmp_path):
    tables = TABLES.replace("CREATE TABLE entity_customers (customer_id INTEGER, name TEXT);", "").replace(
        "INSERT INTO entity_customers VALUES (1, 'a'), (2, 'b');", "")
    views = {"entity_customers": "CREATE VIEW entity_customers AS SELECT cust_id AS customer_id, name FROM customer_facts",
             "direct_v": VIEWS["direct_v"]}
    with SQLiteWarehouse(f"sqlite:///{make_warehouse(tmp_path / 'wh.db', views, tables)}") as w:
        plan = plan_for(w)
    actions = {v.relation.name: v.action for v in plan.views}
    assert actions == {"direct_v": "rewrite", "entity_customers": "blocked"}
    blocker = next(v for v in plan.views if v.relation.name == "entity_customers").blockers[0]
    assert "would make it read itself" in blocker.reason


class TwoPhase(RecreatingDdl):
    """An engine that must drop dependents before it can drop what they read."""

    two_phase = True


def test_two_phase_engines_drop_dependents_first_then_create_in_order(wh):
    plan = build_plan(wh.list_views(), [RULE], "sqlite", "fp", ("main",), ddl=TwoPhase())
    stmts = plan.statements()
    drops = [s.removeprefix("DROP VIEW main.") for s in stmts if s.startswith("DROP VIEW")]
    creates = [s.split()[2] for s in stmts if s.startswith("CREATE VIEW")]
    assert stmts == [f"DROP VIEW main.{n}" for n in drops] + [s for s in stmts if s.startswith("CREATE")]
    assert drops == ["on_on", "top_v", "on_view", "side_v", "direct_v", "cte_over_table"]
    assert creates == list(reversed(drops))
    assert Plan.from_json(plan.to_json()) == plan


def test_text_index_matches_whole_words_and_falls_back_to_substrings():
    from deprecator.plan import TextIndex

    idx = TextIndex()
    assert idx.mentions(1, "SELECT * FROM Analytics.Customer_Facts c", ["customer_facts"])
    assert not idx.mentions(2, "SELECT * FROM customer_facts_v2", ["customer_facts"])
    assert idx.mentions(3, 'SELECT * FROM "my table"', ["my table"])
    assert idx.mentions(4, 'SELECT * FROM "a""b"', ['a""b'])
    assert not idx.mentions(5, "SELECT 1", ["customer_facts", "my table"])


def test_only_views_naming_an_affected_relation_are_parsed(wh, monkeypatch):
    import deprecator.plan as plan_mod

    parsed: list[str] = []
    real = plan_mod.analyze
    monkeypatch.setattr(plan_mod, "analyze", lambda sql, *a, **k: parsed.append(sql) or real(sql, *a, **k))
    plan = plan_for(wh)
    # every view in the plan was parsed exactly once; no view outside it that does not name one was
    assert len(parsed) == len(set(parsed))
    names = {v.relation.name for v in plan.views}
    views = {v.relation.name: v.definition for v in wh.list_views()}
    assert {views[n] for n in names} <= set(parsed)
    # outside the plan, only cte_only names customer_facts (its CTE shadows it); unrelated is never parsed
    assert set(parsed) == {views[n] for n in names} | {views["cte_only"]}
    assert views["unrelated"] not in parsed


def test_views_naming_relations_with_escaped_quotes_are_found(tmp_path):
    # SQLite doubles a backtick inside a backtick-quoted name: `cust``facts` is cust`facts.
    # The view texts never spell the bare names, only their escaped forms.
    tables = ("CREATE TABLE \"cust`facts\" (cust_id INTEGER);"
              "CREATE TABLE entity_customers (customer_id INTEGER);")
    views = {
        "a": "CREATE VIEW a AS SELECT cust_id FROM `cust``facts`",
        "b`v": "CREATE VIEW `b``v` AS SELECT cust_id FROM a",
        "c": "CREATE VIEW c AS SELECT cust_id FROM `b``v`",
        "d": "CREATE VIEW d AS SELECT customer_id FROM entity_customers",
    }
    rule = RewriteRule(old=RelationName(None, "main", "cust`facts"), new=RelationName(None, "main", "entity_customers"),
                       columns={"cust_id": "customer_id"}, label="cust`facts")
    w = SQLiteWarehouse(f"sqlite:///{make_warehouse(tmp_path / 'esc.db', views, tables)}")
    try:
        plan = plan_for(w, (rule,))
    finally:
        w.close()
    by_name = {v.relation.name: v for v in plan.views}
    # a reads the deprecated table directly; c names the planned view b`v only as `b``v`
    assert set(by_name) == {"a", "b`v", "c"}
    assert "entity_customers" in by_name["a"].after


def test_a_view_reading_a_deprecated_table_through_a_bigquery_wildcard_is_blocked_not_skipped():
    """`mkt.ga.events_2023*` never names events_20230105: the view is found (its text is searched for the
    wildcard) and blocked with the reason, since a wildcard reference is never rewritten."""
    old, new = RelationName("mkt", "ga", "events_20230105"), RelationName("mkt", "ga", "events_v2")
    views = [ViewInfo(RelationName("mkt", "rep", "daily"),
                      "SELECT event_name FROM `mkt.ga.events_2023*` WHERE _TABLE_SUFFIX > '0101'"),
             ViewInfo(RelationName("mkt", "rep", "other"), "SELECT 1 FROM `mkt.ga.sessions_*`")]
    plan = build_plan(views, [RewriteRule(old, new)], "bigquery", "fp", ("ga",), "mkt")
    assert [(str(v.relation), v.action) for v in plan.views] == [("mkt.rep.daily", "blocked")]
    assert "wildcard table `mkt.ga.events_2023*` reads mkt.ga.events_20230105" in plan.views[0].blockers[0].reason


def test_the_unblock_hint_comes_from_the_blockers_kind_not_its_wording():
    from deprecator.plan import _unblock_hint
    from deprecator.sql.model import Blocker

    rules = [RULE]
    by_hand = "edit the view by hand so it no longer needs this rewrite, then run `deprecator plan` again"
    # a reason that mentions '*' or a removed column's name, of another kind: no hint chosen by the words
    assert _unblock_hint(Blocker("wildcard table `p.d.events_*` reads legacy_flag", "customer_facts",
                                 kind="wildcard_table"), rules) == by_hand
    # the kind alone chooses, whatever the reason says
    assert _unblock_hint(Blocker("reworded", "customer_facts", kind="select_star"), rules).startswith(
        "list the columns explicitly instead of SELECT *")
    assert _unblock_hint(Blocker("reworded", "customer_facts", kind="ambiguous_column", column_name="name"),
                         rules).startswith("qualify the column")
    # the column it concerns, when the registry removes it, names the registry's spelling
    hint = _unblock_hint(Blocker("reworded", "customer_facts", kind="removed_column", column_name="LEGACY_FLAG"),
                         rules)
    assert hint.startswith("legacy_flag has no equivalent in the replacement main.entity_customers")


def test_blockers_carry_their_kind_into_the_plan(wh):
    plan = plan_for(wh)
    blocked = next(v for v in plan.views if v.relation.name == "blocked_v")
    assert [b.kind for b in blocked.blockers] == ["removed_column"]
    assert Plan.from_json(plan.to_json()).views == plan.views


def test_operations_are_typed_in_the_plan_file_and_an_unknown_kind_is_refused(wh):
    plan = plan_for(wh)
    d = json.loads(plan.to_json())
    entry = next(v for v in d["views"] if v["operations"])
    assert set(entry["operations"][0]) == {"kind", "relation", "sql"}
    assert entry["operations"][0]["kind"] in ("drop_view", "create_view", "restore_attached")
    entry["operations"][0]["kind"] = "exfiltrate"
    with pytest.raises(DeprecatorError,
                       match=r'operations\[0\]\.kind: expected an operation kind \(.*found "exfiltrate"'):
        Plan.from_json(json.dumps(d), source="plan.json")


def test_journal_entries_of_plain_statements_read_as_untyped_operations():
    from deprecator.operations import from_journal

    rel = RelationName(None, "main", "v")
    typed = Operation("create_view", rel, "CREATE VIEW v AS SELECT 1")
    assert from_journal([typed.to_json(), "DROP VIEW v"], rel) == (typed, Operation("sql", rel, "DROP VIEW v"))
