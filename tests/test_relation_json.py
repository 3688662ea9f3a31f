"""RelationName.to_json / from_json: the one way plans, operations and the apply journal write a relation."""

from __future__ import annotations

import json
import re
import sqlite3

import pytest

from deprecator.apply import apply_plan, prepare_rollback
from deprecator.errors import DeprecatorError
from deprecator.operations import Operation
from deprecator.plan import Plan
from deprecator.sql.model import RelationName


@pytest.mark.parametrize("rel", [RelationName(None, None, "t"), RelationName(None, "main", "v"),
                                 RelationName("proj", "ds", "t-1")])
def test_round_trip(rel):
    assert rel.to_json() == [rel.catalog, rel.schema, rel.name]
    assert RelationName.from_json(json.loads(json.dumps(rel.to_json()))) == rel


@pytest.mark.parametrize("value,error,msg", [
    ("abc", ValueError, r"a relation must be a list \[catalog, schema, name\], not a str"),
    ({"name": "t"}, ValueError, r"not a dict"),
    ([None, "main"], ValueError, r"\[catalog, schema, name\], not 2 items"),
    ([None, "main", "t", "x"], ValueError, r"not 4 items"),
    ([None, "main", None], TypeError, r"relation name must be a string, not None"),
    ([None, "main", 7], TypeError, r"relation name must be a string, not 7"),
    ([None, 1, "t"], TypeError, r"relation schema must be a string or null, not 1"),
    ([False, "main", "t"], TypeError, r"relation catalog must be a string or null, not False"),
])
def test_anything_else_is_refused_saying_what_is_wrong(value, error, msg):
    with pytest.raises(error, match=msg):
        RelationName.from_json(value)


def test_operations_read_relations_strictly():
    op = Operation("comment", RelationName(None, "main", "v"), "COMMENT ...")
    assert op.to_json() == {"kind": "comment", "relation": [None, "main", "v"], "sql": "COMMENT ..."}
    assert Operation.from_json(op.to_json()) == op
    with pytest.raises(ValueError,
                       match=r"^relation: expected a list \[catalog, schema, name\], found a list of 4 items$"):
        Operation.from_json({**op.to_json(), "relation": [None, "main", "v", "extra"]})
    with pytest.raises(ValueError, match="^sql: expected text, found null$"):
        Operation.from_json({**op.to_json(), "sql": None})


@pytest.mark.parametrize("relation,msg", [
    ("main.direct_v", ": expected a list [catalog, schema, name], found text"),
    ([None, "main", None], "[2]: expected text, found null"),
])
def test_a_saved_plan_with_a_bad_relation_is_a_clear_error(env, relation, msg):
    d = json.loads(env.plan().to_json())
    d["views"][0]["relation"] = relation
    with pytest.raises(DeprecatorError, match=re.escape(f"plan.json: views[0].relation{msg}") + "$"):
        Plan.from_json(json.dumps(d), source="plan.json")
    d = json.loads(env.plan().to_json())
    d["relations"][0][0] = relation
    with pytest.raises(DeprecatorError, match=re.escape(f"plan.json: relations[0][0]{msg}") + "$"):
        Plan.from_json(json.dumps(d), source="plan.json")


def test_the_apply_journal_reads_relations_strictly(env, tmp_path):
    plan = env.plan()
    result = apply_plan(plan, env.wh, env.registry, env.state)
    rec = env.state.get_apply(result.apply_id)
    assert rec.before["main.direct_v"]["relation"] == [None, "main", "direct_v"]   # as written
    prepare_rollback(result.apply_id, env.wh, env.state)                         # reads back
    # a journal entry whose relation lost its name: once read as a view named "None" (then "dropped")
    before = {**rec.before, "main.direct_v": {**rec.before["main.direct_v"], "relation": [None, "main", None]}}
    conn = sqlite3.connect(tmp_path / "state.db")
    conn.execute("UPDATE applies SET before = ? WHERE id = ?", (json.dumps(before), result.apply_id))
    conn.commit()
    conn.close()
    with pytest.raises(DeprecatorError, match=r"journal entry in the state store is damaged \(view main.direct_v: "
                                              "its 'before' record: relation name must be a string, not None"):
        prepare_rollback(result.apply_id, env.wh, env.state)
