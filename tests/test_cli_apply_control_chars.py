"""apply, applies and errors print view names from the warehouse with their control characters
escaped: a view named with an OSC sequence (which click leaves alone when output is not a terminal)
must not reach the terminal raw, in any line of those commands."""

from __future__ import annotations

from tests.helpers import invoke
from tests.sqlite_project import CONFIG, REGISTRY, VIEWS, make_warehouse

NAME = "evil\x1b]0;pwned\x07_v"
ESCAPED = "evil\\x1b]0;pwned\\x07_v"


def test_apply_and_applies_escape_control_characters_in_view_names(in_tmp):
    views = dict(VIEWS, evil=f'CREATE VIEW "{NAME}" AS SELECT cust_id FROM customer_facts')
    make_warehouse(in_tmp / "wh.db", views)
    (in_tmp / "deprecator.yml").write_text(CONFIG)
    (in_tmp / "deprecations.yml").write_text(REGISTRY)
    invoke(["plan", "--out", "plan.json"])
    outputs = [invoke(["apply", "plan.json", "--auto-approve"]), invoke(["applies"])]
    for r in outputs:
        text = r.stdout + r.stderr
        assert "\x1b" not in text and "\x07" not in text, text
    assert ESCAPED in outputs[0].stdout          # the `~ name` line
    assert ESCAPED in outputs[1].stdout          # the views of the apply


def test_errors_escape_control_characters(in_tmp):
    """The "did you mean" of an error names a relation of the catalog, as the warehouse spells it."""
    import sqlite3

    conn = sqlite3.connect(in_tmp / "wh.db")
    conn.execute('CREATE TABLE "customer_facts\x1b]0;x\x07" (a int)')
    conn.execute("CREATE TABLE entity_customers (a int)")
    conn.commit()
    conn.close()
    (in_tmp / "deprecator.yml").write_text(CONFIG)
    (in_tmp / "deprecations.yml").write_text(REGISTRY)
    r = invoke(["scan"], 2)
    assert "\x1b" not in r.stderr and "\x07" not in r.stderr, r.stderr
    assert 'did you mean main."customer_facts\\x1b]0;x\\x07"?' in r.stderr
