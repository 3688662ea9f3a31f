"""Importing deprecator changes no global state, and commands that never parse SQL load no parser.

Each check runs in a fresh interpreter: this test process has long imported everything.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest


def run_python(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["init"], ["init", "--help"], ["scan", "--help"]])
def test_help_and_init_import_no_sqlglot(tmp_path, args):
    out = run_python(f"""
        import sys
        from deprecator.cli import main
        try:
            main({args!r})
        except SystemExit as e:
            assert not e.code, e.code
        print("sqlglot loaded:", "sqlglot" in sys.modules, file=sys.stderr)
    """, tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stderr.strip().splitlines()[-1] == "sqlglot loaded: False"


def test_list_of_a_new_project_imports_no_sqlglot(tmp_path):
    # The first steps of the README (init, then list).
    out = run_python("""
        import sys
        from deprecator.cli import main
        for args in (["init"], ["list"]):
            try:
                main(args)
            except SystemExit as e:
                assert not e.code, (args, e.code)
        print("sqlglot loaded:", "sqlglot" in sys.modules, file=sys.stderr)
    """, tmp_path)
    assert out.returncode == 0, out.stderr
    assert "0 deprecations" in out.stdout or "No deprecations" in out.stdout, out.stdout
    assert out.stderr.strip().splitlines()[-1] == "sqlglot loaded: False"


@pytest.mark.parametrize("dialect", ["postgres", "snowflake"])
def test_list_of_registered_plain_names_imports_no_sqlglot(tmp_path, dialect):
    # Names and columns spelled as plain identifiers (most registries) are normalized without
    # the parser, chains and duplicates included; quoted ones still need sqlglot (tests/sql/test_plain_names.py).
    (tmp_path / "deprecator.yml").write_text(f"warehouse:\n  dialect: {dialect}\n  default_schema: public\n")
    (tmp_path / "deprecations.yml").write_text(textwrap.dedent("""\
        deprecations:
          - model: analytics.customer_facts
            replacement: analytics.customer_facts_v2
            sunset: 2027-03-01
            columns: {cust_id: customer_id, Amount: amount_usd}
            removed_columns: [legacy_flag]
          - model: Analytics.Customer_Facts_V2
            replacement: analytics.customers
            sunset: 2027-06-01
            columns: {customer_id: id}
          - {model: legacy_events, replacement: events.all_events, sunset: 2026-10-01, dropped: true}
        """))
    out = run_python("""
        import sys
        from deprecator.cli import main
        try:
            main(["list", "--format", "json", "--today", "2026-12-01"])
        except SystemExit as e:
            assert not e.code, e.code
        print("sqlglot loaded:", "sqlglot" in sys.modules, file=sys.stderr)
    """, tmp_path)
    assert out.returncode == 0, out.stderr
    listed = json.loads(out.stdout)["deprecations"]
    assert [(d["model"], d["final_replacement"], d["final_columns"]) for d in listed] == [
        ("analytics.customer_facts", "analytics.customers", {"cust_id": "id", "Amount": "amount_usd"}),
        ("Analytics.Customer_Facts_V2", "analytics.customers", {"customer_id": "id"}),
        ("legacy_events", "events.all_events", {}),
    ]
    assert out.stderr.strip().splitlines()[-1] == "sqlglot loaded: False"


def test_importing_every_module_changes_no_logging(tmp_path):
    out = run_python("""
        import importlib, json, logging, pkgutil, sys

        def state():
            names = ["", "sqlglot", "deprecator"]
            return {n or "root": [logging.getLogger(n).level, len(logging.getLogger(n).filters),
                                  len(logging.getLogger(n).handlers), logging.getLogger(n).disabled]
                    for n in names}

        before = state()
        import deprecator
        modules = [m.name for m in pkgutil.walk_packages(deprecator.__path__, "deprecator.")
                   if not m.name.endswith("__main__")]
        for name in modules:
            importlib.import_module(name)
        print(json.dumps({"before": before, "after": state(), "modules": len(modules),
                          "sqlglot": "sqlglot" in sys.modules}))
    """, tmp_path)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got["sqlglot"] and got["modules"] > 40     # the engine was imported too
    assert got["after"] == got["before"]


def test_fallback_warnings_stay_off_stderr_only_during_own_parsing(tmp_path):
    # sqlglot keeps VACUUM as an opaque Command and logs a warning; deprecator reports the text
    # as `fallback` instead, in this process and in parse workers, while sqlglot used directly
    # by the same program still logs as usual.
    out = run_python("""
        import logging, sys
        from deprecator.parallel import ParsePool
        from deprecator.sql import find_references, rewrite
        from deprecator.sql.model import RelationName, RewriteRule

        level = logging.getLogger("sqlglot").level
        sql = "VACUUM analytics.orders"
        assert find_references(sql, "postgres").status == "fallback"
        rule = RewriteRule(RelationName(None, "analytics", "orders"), RelationName(None, "analytics", "o2"))
        assert rewrite(sql, "postgres", [rule]).status == "fallback"
        for workers in (0, 1):
            with ParsePool("postgres", workers=workers) as pool:
                assert pool.map([("k", sql)])["k"].status == "fallback"
        assert logging.getLogger("sqlglot").level == level
        print("--- direct ---", file=sys.stderr)
        import sqlglot
        sqlglot.parse(sql, read="postgres")
    """, tmp_path)
    assert out.returncode == 0, out.stderr
    own, direct = out.stderr.split("--- direct ---")
    assert own.strip() == ""
    assert "Falling back to parsing as a 'Command'" in direct


def test_cli_scan_keeps_fallback_warnings_off_stderr(tmp_path):
    (tmp_path / "deprecations.yml").write_text(
        "deprecations:\n  - model: analytics.orders\n    replacement: analytics.orders_v2\n    sunset: 2027-01-01\n")
    (tmp_path / "jobs.sql").write_text("VACUUM analytics.orders;\nSELECT * FROM analytics.orders;\n")
    for workers in ("0", "1"):
        out = subprocess.run([sys.executable, "-m", "deprecator", "scan", "--path", "jobs.sql", "--quiet",
                              "--workers", workers], cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert out.returncode in (0, 1), out.stderr
        assert "analytics.orders" in out.stdout
        assert "Falling back" not in out.stderr and "unsupported syntax" not in out.stderr, out.stderr
