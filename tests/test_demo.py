"""`deprecator demo` end to end, and that it writes nothing outside its folder."""

from __future__ import annotations

import os
import sqlite3
import shlex
import tempfile
from pathlib import Path

import pytest

from deprecator import demo
from tests.helpers import invoke

REPO = Path(__file__).resolve().parent.parent


def listing(root: Path) -> list[tuple[str, int]]:
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            out.append((str(p.relative_to(root)), p.stat().st_size if p.is_file() else -1))
    return sorted(out)


def views(db: Path) -> dict[str, str]:
    conn = sqlite3.connect(db)
    try:
        return dict(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'view'").fetchall())
    finally:
        conn.close()


@pytest.fixture
def sandbox(in_tmp, tmp_path_factory, monkeypatch):
    """An empty HOME and an empty temp folder, so stray writes would show."""
    home = tmp_path_factory.mktemp("home")
    tmp = tmp_path_factory.mktemp("tmp")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    return in_tmp, home, tmp


def test_demo_end_to_end_in_a_named_folder(sandbox):
    cwd, home, tmp = sandbox
    out = invoke(["demo", "--dir", "demo"]).stdout
    folder = (cwd / "demo").resolve()

    # each step is printed
    for step in ("1. Set up", "2. Scan", "3. Plan", "4. Apply", "Final diff", "What to try next"):
        assert step in out
    # the digest after the apply: the rewritten views are no longer left, the blocked one is
    assert "6. Watch it burn down" in out
    assert "views still reading it: main.flagged_customers\n" in out
    assert "views already rewritten by apply: main.customer_summary, main.dutch_customers, " \
           "main.revenue_by_customer" in out
    # the real scan: the four direct views, the history users, not the CTE-only view
    assert "4 views read it directly: main.customer_summary, main.dutch_customers, main.flagged_customers, " \
           "main.revenue_by_customer" in out
    assert "by 4 users: alice (17), bob (9), etl_service (5), carol (2)" in out
    assert "Not counted: the view recent_orders and dave's query" in out
    assert "Plan: 3 views to rewrite, 1 blocked, 2 unchanged" in out
    assert "! main.flagged_customers: blocked" in out and "legacy_flag" in out
    assert "5 of 5 affected views return the same rows as before the apply." in out
    assert "   Applied 3 rewrites; apply id " in out
    apply_id = out.split("Undo it: ")[1].split("deprecator rollback ")[1].split()[0]

    defs = views(folder / "warehouse.db")
    assert defs["customer_summary"] == demo.VIEWS["customer_summary"].replace(
        "SELECT cf.cust_id,", "SELECT cf.customer_id AS cust_id,").replace(
        "FROM customer_facts AS cf", "FROM entity_customers AS cf")
    assert "-- the customer key" in defs["customer_summary"]          # comments survive
    assert defs["flagged_customers"] == demo.VIEWS["flagged_customers"]
    assert defs["recent_orders"] == demo.VIEWS["recent_orders"]
    assert defs["top_countries"] == demo.VIEWS["top_countries"]

    # everything it wrote is inside the folder; HOME and the temp folder are untouched
    assert [p for p, _ in listing(cwd)][0] == "demo"
    assert all(p.startswith("demo") for p, _ in listing(cwd))
    assert (folder / ".deprecator" / "state.db").is_file()
    assert listing(home) == [] and listing(tmp) == []

    # the rollback hint works and restores the original text byte for byte
    invoke(["--config", str(folder / "deprecator.yml"), "rollback", apply_id, "--auto-approve"])
    assert views(folder / "warehouse.db") == demo.VIEWS


def test_demo_in_a_temporary_folder_leaves_nothing_behind(sandbox):
    cwd, home, tmp = sandbox
    before = listing(cwd)
    out = invoke(["demo"]).stdout
    assert f"a throwaway SQLite warehouse in {tmp}" in out
    assert "Plan: 3 views to rewrite, 1 blocked, 2 unchanged" in out
    assert listing(cwd) == before and listing(home) == [] and listing(tmp) == []


def test_demo_keep_keeps_the_temporary_folder(sandbox):
    cwd, home, tmp = sandbox
    out = invoke(["demo", "--keep"]).stdout
    kept = [p for p, size in listing(tmp) if "/" not in p]
    assert len(kept) == 1 and f"cd {tmp / kept[0]} && deprecator rollback " in out
    assert listing(cwd) == [] and listing(home) == []


def test_demo_refuses_a_non_empty_folder(sandbox):
    cwd, _, _ = sandbox
    (cwd / "demo").mkdir()
    (cwd / "demo" / "mine.txt").write_text("keep me")
    assert "is not empty" in invoke(["demo", "--dir", "demo"], 2).stderr
    assert listing(cwd) == [("demo", -1), ("demo/mine.txt", 7)]


def test_committed_guide_is_current(tmp_path):
    """migration_guides/customer_facts.md is what `deprecator guide` writes for the demo today.

    When the template, the rewrite or the demo changes, regenerate it with:
    python -c "import pathlib, tempfile, shutil; from deprecator import demo; d = pathlib.Path(tempfile.mkdtemp()) / 'd';
    demo.write_demo_files(d, demo.DEMO_GUIDE_DATE); shutil.copy(d / 'migration_guides/customer_facts.md', 'migration_guides/')"
    """
    demo.write_demo_files(tmp_path / "demo", demo.DEMO_GUIDE_DATE)
    written = (tmp_path / "demo" / "migration_guides" / "customer_facts.md").read_text(encoding="utf-8")
    assert (REPO / "migration_guides" / "customer_facts.md").read_text(encoding="utf-8") == written
    assert "SELECT customer_id AS cust_id, name FROM entity_customers WHERE country = '***'" in written


def test_demo_next_steps_quote_a_folder_with_a_space(sandbox):
    cwd, home, tmp = sandbox
    out = invoke(["demo", "--dir", "my demo"]).stdout
    folder = shlex.quote(str((cwd / "my demo").resolve()))
    assert f"Undo it: cd {folder} && deprecator rollback " in out and folder.startswith("'")
    assert f"  cd {folder} && deprecator applies " in out


def test_demo_shows_the_notify_dry_run_offline_without_a_token(sandbox, monkeypatch):
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    out = invoke(["demo"]).stdout
    step = out.split("5. Tell people", 1)[1].split("What to try next", 1)[0]
    assert "(deprecator notify --dry-run)" in out
    assert "would send to DM alice@demo.example: alice, about customer_facts" in step
    assert "would send to #data-platform: data-platform, about customer_facts" in step
    assert "The message to alice (literal values redacted):" in step
    # alice's most frequent query (14 runs), rewritten, its literal redacted
    assert "SELECT customer_id AS cust_id, name FROM entity_customers WHERE country = '***'" in step
    assert "'NL'" not in step
