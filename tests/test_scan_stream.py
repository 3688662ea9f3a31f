"""The scan report written as a stream: the same bytes as the whole document, a batch of findings at a time."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from deprecator.config import Config, HistorySourceConfig, WarehouseConfig
from deprecator.registry import load_registry
from deprecator.scan import ScanReport, run_scan
from tests.helpers import invoke

REGISTRY = """\
deprecations:
  - model: analytics.customer_facts
    replacement: analytics.entity_customers
    sunset: 2027-03-31
  - model: analytics.old_orders
    replacement: analytics.orders
    sunset: 2027-03-31
"""
CONFIG = """\
warehouse:
  dialect: postgres
  default_schema: analytics
registry: deprecations.yml
history:
  - type: file
    path: history.jsonl
paths: [models]
state:
  url: sqlite:///.deprecator/state.db
"""
OPTS = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS


def _project(root: Path) -> None:
    (root / "deprecator.yml").write_text(CONFIG)
    (root / "deprecations.yml").write_text(REGISTRY)
    (root / "models").mkdir()
    (root / "models" / "a.sql").write_text("select c.cust_id\nfrom customer_facts c\njoin old_orders o on o.id = c.id\n")
    (root / "models" / "broken.sql").write_text("select customer_facts from (((\n")
    texts = ["select * from analytics.customer_facts where note = 'a\nb'",   # a newline inside a literal
             "select o.id from analytics.old_orders o, customer_facts c", "select 1 from analytics.orders"]
    rows = [{"query_text": texts[i % 3], "user_name": f"u{i % 7}", "start_time": f"2026-11-{1 + i % 20:02d}T10:00:00Z"}
            for i in range(60)]
    (root / "history.jsonl").write_bytes(b"\n".join(orjson.dumps(r) for r in rows) + b"\n")


@pytest.fixture
def report(tmp_path: Path) -> ScanReport:
    _project(tmp_path)
    config = Config(path=tmp_path / "deprecator.yml", root=tmp_path,
                    warehouse=WarehouseConfig(dialect="postgres", default_schema=("analytics",)),
                    registry_path=tmp_path / "deprecations.yml",
                    history=(HistorySourceConfig("file", Path("history.jsonl")),), sql_paths=("models",),
                    state_url="sqlite:///.deprecator/state.db")
    return run_scan(config, load_registry(config.registry_path, "postgres", ("analytics",)), workers=1)


@pytest.mark.parametrize("batch", [1, 2, 3, 7, 1000])
def test_streamed_json_is_the_whole_document(report: ScanReport, batch: int) -> None:
    assert len(report.findings) > 10 and report.unparsed
    pieces = list(report.iter_json(batch=batch))
    assert "".join(pieces) == orjson.dumps(report.to_dict(), option=OPTS).decode()
    assert len(pieces) == 2 + -(-len(report.findings) // batch)   # head, one per batch, tail


def test_streamed_json_without_findings(report: ScanReport) -> None:
    empty = ScanReport((), report.unparsed, report.stats, report.snapshots)
    assert "".join(empty.iter_json()) == orjson.dumps(empty.to_dict(), option=OPTS).decode()


def test_cli_json_is_the_report(in_tmp: Path) -> None:
    _project(in_tmp)
    out = invoke(["scan", "--format", "json", "--quiet"]).stdout
    assert out.endswith("}\n") and out.count("\n  ]") >= 1
    doc = json.loads(out)
    assert len(doc["findings"]) > 10
    assert out == orjson.dumps(doc, option=OPTS).decode() + "\n"   # the layout of the whole-document dump


def test_findings_read_like_a_sorted_tuple(report: ScanReport) -> None:
    fs = report.findings
    whole = tuple(fs)
    assert len(whole) == len(fs) > 10 and all(type(f).__name__ == "Finding" for f in whole)
    assert fs == whole and whole == tuple(fs)            # made anew on each read, equal
    assert [fs[i] for i in range(len(fs))] == list(whole) and fs[-1] == whole[-1]
    assert fs[2:7] == whole[2:7] and fs[::3] == whole[::3]
    assert all(f.text for f in whole if f.source == "history")   # notices read the text
    key = [(f.deprecation, f.source, f.object, f.line or 0, f.column or 0, f.user or "", f.relation) for f in whole]
    assert key == sorted(key)
    users = {(f.deprecation, f.user, f.count) for f in whole if f.source == "history"}
    # 60 rows over 7 users: text 0 (customer_facts) and text 1 (both) run by every user, counted per user
    assert {u for _, u, _ in users} == {f"u{i}" for i in range(7)}
    cf = sum(f.count for f in whole if f.source == "history" and f.deprecation == "analytics.customer_facts")
    assert cf == 40   # texts 0 and 1: 20 rows each


def test_rows_give_the_findings_dicts(report: ScanReport) -> None:
    from deprecator.scan import Findings, _finding, _finding_dict

    assert isinstance(report.findings, Findings)
    rows = report.findings._items
    assert any(type(r) is tuple for r in rows) and any(type(r) is not tuple for r in rows)   # history and files
    assert [_finding_dict(r) for r in rows] == [_finding(r).to_dict() for r in rows]


def test_streamed_text_is_the_whole_text(report: ScanReport, tmp_path: Path) -> None:
    from deprecator.report_text import format_report_text, iter_report_text

    registry = load_registry(tmp_path / "deprecations.yml", "postgres", ("analytics",))
    pieces = list(iter_report_text(report, registry))
    text = format_report_text(report, registry)
    assert "".join(pieces) == text and len(pieces) == len(registry.deprecations) + 1   # one per deprecation, tail
    for dep, piece in zip(registry.deprecations, pieces):
        assert piece.lstrip("\n").startswith(f"{dep.model} -> ") and "Readers (read it)" in piece
    # the findings of each deprecation found wherever they sit (here a plain tuple, last first), not by their order
    shuffled = ScanReport(tuple(reversed(tuple(report.findings))), report.unparsed, report.stats, report.snapshots)
    assert format_report_text(shuffled, registry) == text


def test_cli_text_is_the_report(in_tmp: Path) -> None:
    import re

    from deprecator.report_text import format_report_text

    _project(in_tmp)
    out = invoke(["scan", "--quiet"]).stdout
    config = Config(path=in_tmp / "deprecator.yml", root=in_tmp,
                    warehouse=WarehouseConfig(dialect="postgres", default_schema=("analytics",)),
                    registry_path=in_tmp / "deprecations.yml",
                    history=(HistorySourceConfig("file", Path("history.jsonl")),), sql_paths=("models",),
                    state_url="sqlite:///.deprecator/state2.db")
    registry = load_registry(config.registry_path, "postgres", ("analytics",))
    text = format_report_text(run_scan(config, registry, workers=1), registry)
    elapsed = re.compile(r"\) in \d+\.\ds with \d+ workers?\.")
    assert out.count("\n") > 10 and "analytics.old_orders -> " in out
    assert elapsed.sub("", out) == elapsed.sub("", text) + "\n"
