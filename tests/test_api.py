"""The service layer (deprecator.api) on a real SQLite warehouse and state store, without the CLI."""

from __future__ import annotations

import json

import pytest

from deprecator import api
from deprecator.config import load_config
from deprecator.errors import DeprecatorError, RollbackRefused
from deprecator.state import StateStore
from tests.helpers import invoke
from tests.sqlite_project import CONFIG, EXPECTED_AFTER, REGISTRY, ddl, definitions, make_warehouse, master


@pytest.fixture
def config(in_tmp):
    make_warehouse(in_tmp / "wh.db")
    (in_tmp / "deprecator.yml").write_text(CONFIG)
    (in_tmp / "deprecations.yml").write_text(REGISTRY)
    return load_config(in_tmp / "deprecator.yml")


def test_make_plan_returns_the_plan_and_writes_nothing(config, in_tmp):
    before = master(in_tmp / "wh.db")
    result = api.make_plan(config)
    assert {v.name for v in result.plan.changes if v.action == "rewrite"} == {
        "main.direct_v", "main.side_v", "main.cte_over_table"}
    assert [v.name for v in result.plan.blocked] == ["main.blocked_v"]
    assert result.to_dict() == {**result.plan.to_dict(), "cross_check": []}
    assert master(in_tmp / "wh.db") == before


def test_apply_hands_the_plan_to_review_and_a_no_changes_nothing(config, in_tmp):
    before = master(in_tmp / "wh.db")
    seen = []

    def review(planned: api.PlanResult) -> bool:
        seen.append(planned)
        return False

    with pytest.raises(DeprecatorError, match="apply cancelled: nothing was changed"):
        api.apply(config, review=review)
    assert len(seen) == 1 and seen[0].plan.has_changes
    assert master(in_tmp / "wh.db") == before
    assert api.list_applies(config).entries == ()          # nothing journaled either


def test_apply_list_and_rollback_return_typed_results(config, in_tmp):
    original = definitions(in_tmp / "wh.db")
    done = api.apply(config, review=lambda planned: True)
    assert done.kind == "apply" and done.apply_id
    assert set(done.changed) == {"main.direct_v", "main.side_v", "main.cte_over_table"}
    assert done.blocked == ("main.blocked_v",) and done.mismatches == ()
    assert definitions(in_tmp / "wh.db")["direct_v"] == EXPECTED_AFTER["direct_v"]
    assert set(done.to_dict()) == {"apply_id", "kind", "changed", "blocked", "checked", "statements", "mismatches"}

    # a part of the apply rolled back: the entry says by which rollback, and how many views
    part = api.rollback(config, done.apply_id, views=["main.direct_v"], review=lambda prepared: True)
    assert part.kind == "rollback" and part.changed == ("main.direct_v",)
    assert definitions(in_tmp / "wh.db")["direct_v"] == original["direct_v"]
    log = api.list_applies(config)
    assert [e.kind for e in log.entries] == ["apply", "rollback"]
    assert log.entries[0].undone_by == ((part.apply_id, 1),)
    assert log.entries[1].rollback_of == done.apply_id and log.entries[1].undone_by == ()
    assert log.reconciled == ()


def test_rollback_review_false_restores_nothing(config, in_tmp):
    done = api.apply(config)
    after = master(in_tmp / "wh.db")
    with pytest.raises(DeprecatorError, match="rollback cancelled: nothing was changed"):
        api.rollback(config, done.apply_id, review=lambda prepared: False)
    assert master(in_tmp / "wh.db") == after
    ddl(in_tmp / "wh.db", "DROP VIEW direct_v", "CREATE VIEW direct_v AS SELECT 1 AS changed_since")
    asked = []
    with pytest.raises(RollbackRefused, match="direct_v"):   # a refusal comes before review is asked
        api.rollback(config, done.apply_id, review=lambda prepared: asked.append(prepared) or True)
    assert asked == []


def test_list_applies_settles_a_pending_apply(config, in_tmp):
    done = api.apply(config)
    state = StateStore(config.state_url, config.root)
    try:
        rec = state.get_apply(done.apply_id)
        # a process killed after the warehouse committed, before the journal was settled
        pending = state.record_apply(warehouse=rec.warehouse, statements=rec.statements, before=rec.before,
                                     after=rec.after, kind="apply", status="pending")
    finally:
        state.close()
    log = api.list_applies(config)
    assert log.reconciled == ((pending, "applied"),)
    assert {e.id: e.status for e in log.entries}[pending] == "applied"
    assert api.list_applies(config).reconciled == ()


def test_saved_plan_round_trip_and_a_binary_file(config, in_tmp):
    planned = api.make_plan(config).plan
    api.write_plan(planned, in_tmp / "plan.json")
    assert api.read_plan(in_tmp / "plan.json").to_dict() == planned.to_dict()
    done = api.apply(config, in_tmp / "plan.json")
    assert done.apply_id and set(done.changed) == {v.name for v in planned.changes if v.action != "unchanged"}
    (in_tmp / "bin.json").write_bytes(b"\x89PNG")
    with pytest.raises(DeprecatorError, match="not UTF-8 text: invalid byte 0x89 at offset 0"):
        api.read_plan(in_tmp / "bin.json")


def test_cli_json_is_the_results_to_dict(config, in_tmp):
    done = json.loads(invoke(["apply", "--auto-approve", "--format", "json"]).stdout)
    log = api.list_applies(config)
    assert json.loads(invoke(["applies", "--format", "json"]).stdout) == json.loads(json.dumps(log.to_list()))
    assert done["apply_id"] == log.entries[0].id and done["changed"] == list(log.entries[0].views)


def test_the_library_writes_nothing_to_the_terminal(config, in_tmp, capfd):
    api.make_plan(config)
    done = api.apply(config)
    api.list_applies(config)
    api.rollback(config, done.apply_id)
    (in_tmp / "q.sql").write_text("SELECT * FROM customer_facts;\nSELECT FROM WHERE nonsense (;\n")
    result = api.scan(config, paths=[str(in_tmp / "q.sql")], workers=0)
    assert result.report.to_dict()["findings"]
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def _terminal_writes(source: str) -> list[int]:
    """Lines of ``source`` that print, or touch sys.stdout / sys.stderr (a subprocess's .stderr is not one)."""
    import ast

    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
            lines.append(node.lineno)
        elif (isinstance(node, ast.Attribute) and node.attr in ("stdout", "stderr")
              and isinstance(node.value, ast.Name) and node.value.id == "sys"):
            lines.append(node.lineno)
        elif isinstance(node, (ast.Import, ast.ImportFrom)) and any(
                (a.name if isinstance(node, ast.Import) else node.module or "").split(".")[0] == "click"
                for a in node.names):
            lines.append(node.lineno)
    return sorted(lines)


def test_no_library_module_writes_to_the_terminal():
    # Progress and messages reach the terminal through callbacks the CLI passes (progress, review, out).
    from pathlib import Path

    assert _terminal_writes("import sys\nprint('x')\nsys.stderr.write('y')\nproc.stderr.strip()\n"
                            "from click import echo\n") == [2, 3, 5]
    package = Path(api.__file__).parent
    found = {str(p.relative_to(package)): _terminal_writes(p.read_text(encoding="utf-8"))
             for p in sorted(package.rglob("*.py"))
             if p.parts[len(package.parts)] != "cli" and p.name != "__main__.py"}
    assert {name: lines for name, lines in found.items() if lines} == {}
