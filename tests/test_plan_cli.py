"""plan / apply / rollback / applies through the CLI, on a real SQLite warehouse."""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.helpers import invoke
from tests.sqlite_project import CONFIG, EXPECTED_AFTER, REGISTRY, definitions, make_warehouse, master

@pytest.fixture
def project(in_tmp):
    make_warehouse(in_tmp / "wh.db")
    (in_tmp / "deprecator.yml").write_text(CONFIG)
    (in_tmp / "deprecations.yml").write_text(REGISTRY)
    return in_tmp


def test_plan_shows_diffs_blockers_and_summary(project):
    before = master(project / "wh.db")
    out = invoke(["plan"]).stdout
    assert "--- main.direct_v (current)" in out
    assert "+SELECT customer_id AS cust_id, name /* inline */ FROM entity_customers" in out
    assert "! main.blocked_v: blocked" in out and "to unblock:" in out
    assert "Plan: 3 views to rewrite, 1 blocked, 3 unchanged" in out
    assert out.rstrip().endswith("Next: save it for review with `deprecator plan --out plan.json`, "
                                 "then apply exactly it with `deprecator apply plan.json`.")
    assert "\x1b[" not in out                     # not a TTY: no colour
    assert master(project / "wh.db") == before    # planning writes nothing


def test_detailed_exitcode(project):
    invoke(["plan", "--detailed-exitcode"], 2)
    invoke(["apply", "--auto-approve"])
    out = invoke(["plan", "--detailed-exitcode"], 0).stdout
    assert "Plan: 0 views to rewrite, 1 blocked, 0 unchanged" in out
    assert out.rstrip().endswith("No changes to apply; blocked: main.blocked_v. "
                                 "Do what each `to unblock` says, then run `deprecator plan` again.")


def test_detailed_exitcode_errors_exit_1_not_2(project):
    (project / "deprecations.yml").write_text("deprecations:\n  - model: customer_facts\n")
    r = invoke(["plan", "--detailed-exitcode"], 1)
    assert "error:" in r.stderr and "deprecations.yml" in r.stderr
    invoke(["plan"], 2)
    invoke(["--config", "missing.yml", "plan", "--detailed-exitcode"], 1)


def test_plan_json_and_out(project):
    data = json.loads(invoke(["plan", "--format", "json"]).stdout)
    assert data["format_version"] == 4 and data["dialect"] == "sqlite"
    assert [v["name"] for v in data["views"]][:3] == ["main.blocked_v", "main.cte_over_table", "main.direct_v"]
    out = invoke(["plan", "--out", "plan.json"]).stdout
    assert "deprecator apply plan.json" in out
    saved = json.loads((project / "plan.json").read_text())
    assert saved["views"] == data["views"]


def test_apply_saved_plan_then_rollback(project):
    original = master(project / "wh.db")
    invoke(["plan", "--out", "plan.json"])
    out = invoke(["apply", "plan.json"]).stdout      # a saved plan is applied without a question
    assert "Applied: 3 views rewritten in one transaction" in out
    apply_id = out.split("Apply id: ")[1].split()[0]
    assert definitions(project / "wh.db")["direct_v"] == EXPECTED_AFTER["direct_v"]

    listed = json.loads(invoke(["applies", "--format", "json"]).stdout)
    assert [a["id"] for a in listed] == [apply_id] and listed[0]["kind"] == "apply"

    r = invoke(["rollback", apply_id], 2, input="n\n")
    assert "--- main.direct_v (current)" in r.stdout and "+++ main.direct_v (restored)" in r.stdout
    assert "rollback cancelled" in r.stderr
    out = invoke(["rollback", apply_id, "--auto-approve"]).stdout
    assert "Rolled back: 3 views restored" in out
    rollback_id = out.split("Rollback id: ")[1].split()[0]
    assert f"Redo the apply with: deprecator rollback {rollback_id}" in out
    assert master(project / "wh.db") == original
    text = invoke(["applies"]).stdout
    assert "rolled back by" in text and f"rollback of {apply_id}" in text


def test_apply_without_plan_asks_and_refuses_on_no(project):
    before = master(project / "wh.db")
    r = invoke(["apply"], 2, input="n\n")
    assert "Plan: 3 views to rewrite" in r.stdout and "Apply these changes? [y/N]" in r.stdout
    assert "apply cancelled: nothing was changed" in r.stderr
    invoke(["apply"], 2, input="")                  # end of input is a no
    assert master(project / "wh.db") == before
    assert "No applies recorded yet." in invoke(["applies"]).stdout
    out = invoke(["apply"], 0, input="y\n").stdout
    assert "Apply id: " in out and "Undo with: deprecator rollback " in out
    assert definitions(project / "wh.db")["side_v"] == EXPECTED_AFTER["side_v"]


def test_stale_saved_plan_is_refused(project):
    invoke(["plan", "--out", "plan.json"])
    conn = sqlite3.connect(project / "wh.db")
    conn.executescript("DROP VIEW direct_v; CREATE VIEW direct_v AS SELECT name FROM customer_facts;")
    conn.close()
    changed = master(project / "wh.db")
    r = invoke(["apply", "plan.json"], 2)
    assert "stale" in r.stderr and "definition and columns of view main.direct_v changed" in r.stderr
    assert "hint: run `deprecator plan --out plan.json` again and review the new plan" in r.stderr
    assert master(project / "wh.db") == changed


def test_nothing_to_apply(project):
    invoke(["apply", "--auto-approve"])
    out = invoke(["apply"]).stdout                  # no changes: no question asked
    assert out.rstrip().endswith("Nothing to apply; blocked: main.blocked_v. "
                                 "`deprecator plan` says what unblocks each.")


def test_bad_plan_file(project):
    (project / "plan.json").write_text("[]")
    assert "not a deprecator plan" in invoke(["apply", "plan.json"], 2).stderr


def test_plan_without_a_warehouse_names_the_config_field(project):
    (project / "deprecator.yml").write_text(CONFIG.replace("  url: sqlite:///wh.db\n", ""))
    r = invoke(["plan"], 2)
    assert "deprecator.yml: warehouse.url: no warehouse URL is configured" in r.stderr


def test_passwords_never_printed(project, monkeypatch):
    monkeypatch.setenv("WH_URL", "postgresql://scott:tiger-secret-pw@127.0.0.1:1/nowhere")
    (project / "deprecator.yml").write_text(CONFIG.replace("sqlite:///wh.db", "${WH_URL}").replace(
        "  dialect: sqlite\n", "  dialect: postgres\n"))
    r = invoke(["plan"], 2)
    assert "tiger-secret-pw" not in r.stdout + r.stderr


def test_rollback_of_an_unknown_apply(project):
    r = invoke(["rollback", "20990101000000-abcdef", "--auto-approve"], 2)
    assert "no apply with id '20990101000000-abcdef'" in r.stderr and "deprecator applies" in r.stderr


def test_every_command_has_help_with_an_example():
    for cmd in ("plan", "apply", "rollback", "applies", "demo"):
        out = invoke([cmd, "--help"]).stdout
        assert "Example:" in out and f"deprecator {cmd}" in out


def test_apply_and_rollback_json(project):
    r = invoke(["apply", "--format", "json"], 0, input="y\n")
    data = json.loads(r.stdout)                      # stdout is only the JSON result
    assert data["kind"] == "apply" and len(data["changed"]) == 3 and data["blocked"] == ["main.blocked_v"]
    assert "Apply these changes?" in r.stderr and "Plan: 3 views to rewrite" in r.stderr
    back = json.loads(invoke(["rollback", data["apply_id"], "--auto-approve", "--format", "json"]).stdout)
    assert back["kind"] == "rollback" and sorted(back["changed"]) == sorted(data["changed"])
    assert back["mismatches"] == []


def test_next_steps_name_the_users_config_and_plan_file(project):
    (project / "my config.yml").write_text((project / "deprecator.yml").read_text())
    cfg = ["--config", "my config.yml"]
    out = invoke([*cfg, "plan"]).stdout
    assert "`deprecator --config 'my config.yml' plan --out plan.json`" in out
    out = invoke([*cfg, "plan", "--out", "review plan.json"]).stdout
    assert "Apply exactly this plan with: deprecator --config 'my config.yml' apply 'review plan.json'" in out
    conn = sqlite3.connect(project / "wh.db")
    conn.executescript("DROP VIEW side_v; CREATE VIEW side_v AS SELECT cust_id FROM customer_facts;")
    conn.close()
    r = invoke([*cfg, "apply", "review plan.json"], 2)
    assert "hint: run `deprecator --config 'my config.yml' plan --out 'review plan.json'` again" in r.stderr
    out = invoke([*cfg, "apply", "--auto-approve"]).stdout
    apply_id = out.split("Apply id: ")[1].split()[0]
    assert f"Undo with: deprecator --config 'my config.yml' rollback {apply_id}" in out
