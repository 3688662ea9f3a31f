"""A journal entry damaged in the state store (edited by hand, written by a buggy tool) is a clear
error naming the apply, never a traceback, and it changes nothing in the warehouse."""

from __future__ import annotations

import json
import sqlite3

import pytest

from deprecator.apply import apply_plan, prepare_rollback, reconcile_pending
from deprecator.errors import DeprecatorError
from tests.sqlite_project import master


def _damage(state_db, apply_id: str, edit) -> None:
    conn = sqlite3.connect(state_db)
    (before,) = conn.execute("SELECT before FROM applies WHERE id = ?", (apply_id,)).fetchone()
    before = json.loads(before)
    edit(before)
    conn.execute("UPDATE applies SET before = ? WHERE id = ?", (json.dumps(before), apply_id))
    conn.commit()
    conn.close()


def _null_name(before: dict) -> None:
    next(iter(before.values()))["relation"][2] = None


def _no_relation(before: dict) -> None:
    del next(iter(before.values()))["relation"]


def _no_inverse(before: dict) -> None:
    del next(iter(before.values()))["inverse"]


def _not_a_list(before: dict) -> None:
    next(iter(before.values()))["relation"] = "main.direct_v"


@pytest.mark.parametrize("damage", [_null_name, _no_relation, _no_inverse, _not_a_list])
def test_rollback_of_a_damaged_journal_entry_is_a_clear_error(env, tmp_path, damage):
    result = apply_plan(env.plan(), env.wh, env.registry, env.state)
    _damage(tmp_path / "state.db", result.apply_id, damage)
    after = master(env.db)
    with pytest.raises(DeprecatorError, match=rf"apply {result.apply_id}: its journal entry in the state store "
                                              r"is damaged \(view main\.\w+: "):
        prepare_rollback(result.apply_id, env.wh, env.state)
    assert master(env.db) == after


def test_a_damaged_pending_entry_is_left_pending_not_a_crash(env, tmp_path):
    result = apply_plan(env.plan(), env.wh, env.registry, env.state)
    conn = sqlite3.connect(tmp_path / "state.db")
    conn.execute("UPDATE applies SET status = 'pending' WHERE id = ?", (result.apply_id,))
    conn.commit()
    conn.close()
    _damage(tmp_path / "state.db", result.apply_id, _null_name)
    assert reconcile_pending(env.wh, env.state) == []
    assert env.state.get_apply(result.apply_id).status == "pending"


def test_the_cli_says_so_and_shows_nothing_else(in_tmp):
    from tests.helpers import invoke
    from tests.sqlite_project import CONFIG, REGISTRY, make_warehouse

    make_warehouse(in_tmp / "wh.db")
    (in_tmp / "deprecator.yml").write_text(CONFIG)
    (in_tmp / "deprecations.yml").write_text(REGISTRY)
    invoke(["plan", "--out", "plan.json"])
    invoke(["apply", "plan.json", "--auto-approve"])
    (apply_id,) = [r[0] for r in sqlite3.connect(in_tmp / ".deprecator" / "state.db").execute("SELECT id FROM applies")]
    _damage(in_tmp / ".deprecator" / "state.db", apply_id, _no_inverse)
    r = invoke(["rollback", apply_id, "--auto-approve"], 2)
    assert r.stdout == ""
    assert r.stderr.startswith(f"error: apply {apply_id}: its journal entry in the state store is damaged (view main.")
    assert "has no 'inverse'" in r.stderr and "Traceback" not in r.stderr
