"""A damaged or hand-edited plan file is refused naming the JSON path of the bad field and what was expected.

Found by a tester: ``deprecator apply plan.json`` refused a plan without its "views" with
"malformed plan (KeyError: 'views')", and one whose warehouse_id was text with
"(AttributeError: 'str' object has no attribute 'items')", naming no field.

Each case takes a real plan of the SQLite project, applies one damage at a JSON path and
expects the exact refusal, from the library and from the CLI (exit 2, nothing else shown,
the warehouse untouched). Adding a case is adding a line. In the project's plan,
views[0] is the blocked view (one blocker) and views[1..3] are rewrites with two operations each.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from deprecator.errors import DeprecatorError
from deprecator.plan import Plan
from tests.helpers import invoke
from tests.sqlite_project import CONFIG, master

Path = tuple[Any, ...]

# (where, damage, value, expected message after "plan.json: ")
#   delete: remove the key or item at `where`;  set: put `value` there;
#   wrap: put the value found there inside a list (extra nesting);  append: add `value` to the list there.
CASES: list[tuple[Path, str, Any, str]] = [
    # the top level
    (("views",), "delete", None, 'missing field "views"'),
    (("warehouse_id",), "set", "sqlite:///wh.db", "warehouse_id: expected an object, found text"),
    (("warehouse_id", "engine"), "set", 3, "warehouse_id.engine: expected text, found a number"),
    (("views",), "set", {}, "views: expected a list, found an object"),
    (("dialect",), "set", None, "dialect: expected text, found null"),
    (("default_schema",), "set", "main", "default_schema: expected a list, found text"),
    (("compiled",), "set", "no", "compiled: expected true, false or null, found text"),
    (("registry_parts", "customer_facts"), "wrap", None,
     'registry_parts.customer_facts: expected text, found a list'),
    (("created_at",), "delete", None, 'missing field "created_at"'),
    # the rules' relations and the columns the plan relied on
    (("relations", 1), "append", "extra",
     "relations[1]: expected a list [relation, columns], found a list of 3 items"),
    (("relations", 0, 0, 1), "set", 7, "relations[0][0][1]: expected text or null, found a number"),
    (("relations", 0, 0), "set", "main.customer_facts",
     "relations[0][0]: expected a list [catalog, schema, name], found text"),
    (("relations", 0, 1, 0), "set", ["cust_id"],
     "relations[0][1][0]: expected a list [column, type], found a list of 1 item"),
    (("relations", 0, 1), "set", {"cust_id": "INTEGER"}, "relations[0][1]: expected a list or null, found an object"),
    # view entries
    (("views", 1), "wrap", None, "views[1]: expected an object, found a list"),
    (("views", 3, "diff"), "delete", None, 'views[3]: missing field "diff"'),
    (("views", 2, "action"), "set", "rewritten",
     'views[2].action: expected one of rewrite, recreate, unchanged, blocked, found "rewritten"'),
    (("views", 2, "relation"), "set", "main.direct_v",
     "views[2].relation: expected a list [catalog, schema, name], found text"),
    (("views", 2, "relation"), "append", "extra",
     "views[2].relation: expected a list [catalog, schema, name], found a list of 4 items"),
    (("views", 2, "relation", 2), "set", None, "views[2].relation[2]: expected text, found null"),
    (("views", 2, "deprecated", 0), "set", None, "views[2].deprecated[0]: expected text, found null"),
    (("views", 2, "parts"), "set", [], "views[2].parts: expected an object, found a list"),
    (("views", 2, "parts", "definition"), "set", True, "views[2].parts.definition: expected text, found true"),
    (("views", 0, "blockers", 0, "line"), "set", "1",
     "views[0].blockers[0].line: expected a whole number or null, found text"),
    (("views", 0, "blockers", 0, "reason"), "delete", None, 'views[0].blockers[0]: missing field "reason"'),
    (("views", 0, "blockers", 0, "colour"), "set", "red", 'views[0].blockers[0]: unknown field "colour"'),
    # operations
    (("views", 2, "operations"), "set", {"kind": "drop_view"}, "views[2].operations: expected a list, found an object"),
    (("views", 3, "operations", 1, "sql"), "set", None, "views[3].operations[1].sql: expected text, found null"),
    (("views", 3, "operations", 1, "sql"), "wrap", None, "views[3].operations[1].sql: expected text, found a list"),
    (("views", 2, "operations", 0, "kind"), "delete", None, 'views[2].operations[0]: missing field "kind"'),
    (("views", 2, "operations", 0, "kind"), "set", "exfiltrate",
     'views[2].operations[0].kind: expected an operation kind (replace_view, drop_view, create_view, '
     'create_matview, create_index, restore_attached, set_owner, reset_grants, default_grants, grant, comment, '
     'guard, sql), found "exfiltrate"'),
    (("views", 2, "inverse_operations", 1), "set", "CREATE VIEW direct_v AS SELECT 1",
     "views[2].inverse_operations[1]: expected an object, found text"),
    (("views", 2, "inverse_operations", 0, "relation"), "set", [None, "main"],
     "views[2].inverse_operations[0].relation: expected a list [catalog, schema, name], found a list of 2 items"),
    (("views", 1, "drop_operations"), "delete", None, 'views[1]: missing field "drop_operations"'),
]


def damaged(plan: dict[str, Any], where: Path, damage: str, value: Any) -> dict[str, Any]:
    *parents, last = where
    holder: Any = plan
    for key in parents:
        holder = holder[key]
    if damage == "delete":
        del holder[last]
    elif damage == "set":
        holder[last] = value
    elif damage == "wrap":
        holder[last] = [holder[last]]
    elif damage == "append":
        holder[last].append(value)
    else:
        raise AssertionError(damage)
    return plan


@pytest.mark.parametrize("where,damage,value,message", CASES,
                         ids=[f"{d}-{'.'.join(map(str, w))}" for w, d, _, _ in CASES])
def test_a_damaged_plan_is_refused_naming_the_field(env, in_tmp, where, damage, value, message):
    text = json.dumps(damaged(json.loads(env.plan().to_json()), where, damage, value), indent=2)
    with pytest.raises(DeprecatorError) as info:
        Plan.from_json(text, source="plan.json")
    assert str(info.value) == f"plan.json: {message}"

    (in_tmp / "deprecator.yml").write_text(CONFIG)      # the env's warehouse, registry and state, by the CLI
    (in_tmp / "plan.json").write_text(text)
    before = master(env.db)
    r = invoke(["apply", "plan.json", "--auto-approve"], 2)
    assert r.stdout == ""
    assert r.stderr == f"error: plan.json: {message}\n"
    assert master(env.db) == before


def test_the_plan_read_back_is_the_plan_written(env):
    text = env.plan().to_json()
    assert Plan.from_json(text).to_json() == text
