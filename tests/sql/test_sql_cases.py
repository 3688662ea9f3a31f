"""Data-driven tests of the reference engine and the rewrite (tests/sql/cases).

Each case is ``NAME.sql`` (input) with ``NAME.yml`` (dialect, defaults, the
expected status and references; optional ``rules`` with ``expected_blockers``)
and, when the rewrite must succeed, ``NAME.out.sql`` (the exact expected text).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from deprecator.sql import RelationName, RewriteRule, find_references, normalize_relation, rewrite

CASES = Path(__file__).parent / "cases"
TESTS = Path(__file__).parent.parent
CASE_KEYS = {"description", "dialect", "default_schema", "default_catalog", "status", "error_contains",
             "statements", "references", "rules", "expected_blockers", "unchanged"}
REF_KEYS = {"relation", "written", "line", "column", "alias", "kind", "role", "columns", "statement",
            "parts", "candidates", "exact_span", "wildcard"}


def _load(name: str) -> tuple[str, dict[str, Any]]:
    sql = (CASES / f"{name}.sql").read_text(encoding="utf-8")
    spec = YAML(typ="safe").load((CASES / f"{name}.yml").read_text(encoding="utf-8"))
    unknown = set(spec) - CASE_KEYS
    assert not unknown, f"{name}.yml: unknown keys {sorted(unknown)}"
    return sql, spec


def _defaults(spec: dict[str, Any]) -> tuple[tuple[str, ...], str | None]:
    ds = spec.get("default_schema") or ()
    return (tuple([ds]) if isinstance(ds, str) else tuple(ds)), spec.get("default_catalog")


def _rules(spec: dict[str, Any]) -> list[RewriteRule]:
    dialect = spec["dialect"]
    ds, dc = _defaults(spec)
    out = []
    for r in spec.get("rules") or []:
        out.append(RewriteRule(
            old=normalize_relation(r["old"], dialect, ds, dc),
            new=normalize_relation(r["new"], dialect, ds, dc),
            columns=dict(r.get("columns") or {}),
            removed_columns=frozenset(r.get("removed_columns") or ()),
            old_columns=tuple(r["old_columns"]) if r.get("old_columns") is not None else None,
            new_columns=tuple(r["new_columns"]) if r.get("new_columns") is not None else None,
        ))
    return out


CASE_NAMES = sorted(p.stem for p in CASES.glob("*.sql") if not p.name.endswith(".out.sql"))
# Cases that say how to rewrite; the others only check references.
REWRITE_CASES = [n for n in CASE_NAMES if _load(n)[1].get("rules")]


def test_corpus_is_large_and_complete() -> None:
    assert len(CASE_NAMES) >= 60
    for name in CASE_NAMES:
        assert (CASES / f"{name}.yml").exists(), f"{name}.sql has no {name}.yml"
    for out in CASES.glob("*.out.sql"):
        assert (CASES / out.name.replace(".out.sql", ".sql")).exists()


@pytest.mark.parametrize("name", CASE_NAMES)
def test_references(name: str) -> None:
    sql, spec = _load(name)
    ds, dc = _defaults(spec)
    result = find_references(sql, spec["dialect"], ds, dc)
    assert result.status == spec.get("status", "parsed"), result.error
    if "error_contains" in spec:
        assert result.error is not None and spec["error_contains"] in result.error
    if "statements" in spec:
        assert result.statements == spec["statements"]
    expected = spec.get("references") or []
    got = list(result.references)
    assert [str(r.relation) for r in got] == [e["relation"] for e in expected], [r.written for r in got]
    for ref, exp_ in zip(got, expected):
        unknown = set(exp_) - REF_KEYS
        assert not unknown, f"{name}.yml: unknown reference keys {sorted(unknown)}"
        assert ref.written == sql[ref.start:ref.end]
        assert ref.written == exp_["written"]
        assert (ref.line, ref.column) == (exp_["line"], exp_["column"]), ref.written
        if "alias" in exp_:
            assert ref.alias == exp_["alias"]
        if "kind" in exp_:
            assert ref.statement_kind == exp_["kind"]
        if "role" in exp_:
            assert ref.role == exp_["role"]
        if "statement" in exp_:
            assert ref.statement_index == exp_["statement"]
        if "parts" in exp_:
            assert ref.qualified_as_written == exp_["parts"]
        if "columns" in exp_:
            want = None if exp_["columns"] is None else frozenset(exp_["columns"])
            assert ref.columns == want, ref.written
        if "candidates" in exp_:
            assert [str(c) for c in ref.candidates] == exp_["candidates"]
        if "exact_span" in exp_:
            assert ref.exact_span == exp_["exact_span"]
        if "wildcard" in exp_:
            assert ref.wildcard == exp_["wildcard"]


@pytest.mark.parametrize("name", REWRITE_CASES)
def test_rewrite(name: str) -> None:
    sql, spec = _load(name)
    rules = _rules(spec)
    assert rules
    ds, dc = _defaults(spec)
    result = rewrite(sql, spec["dialect"], rules, ds, dc)
    blockers = spec.get("expected_blockers") or []
    out = CASES / f"{name}.out.sql"
    if blockers:
        assert result.text == sql and not result.changed
        assert len(result.blockers) == len(blockers), result.blockers
        for got, want in zip(result.blockers, blockers):
            assert want["reason_contains"] in got.reason, got.reason
            if "kind" in want:
                assert got.kind == want["kind"], got
            if "line" in want:
                assert (got.line, got.column) == (want["line"], want["column"]), got
        assert not out.exists(), f"{name}: a blocked case must not have an .out.sql"
    elif spec.get("unchanged"):
        assert not result.blockers, result.blockers
        assert result.text == sql and result.edits == ()
    else:
        assert not result.blockers, result.blockers
        assert result.text == out.read_text(encoding="utf-8")
        # every byte outside the edits is the author's
        pos = 0
        for e in result.edits:
            assert sql[e.start:e.end] == e.old
            pos = e.end
        assert pos <= len(sql)


def _all_sql_files() -> list[Path]:
    return sorted(TESTS.rglob("*.sql"))


@pytest.mark.parametrize("path", _all_sql_files(), ids=lambda p: str(p.relative_to(TESTS)))
def test_rule_matching_nothing_changes_nothing(path: Path) -> None:
    # With no rules rewrite() returns early; a rule that matches nothing runs the full path.
    # The rename property above is the test that changes something.
    sql = path.read_text(encoding="utf-8")
    for dialect in ("postgres", "snowflake", "bigquery", "duckdb"):
        unrelated = RewriteRule(old=normalize_relation("zz_absent.never_there", dialect),
                                new=normalize_relation("zz_absent.still_not", dialect))
        result = rewrite(sql, dialect, [unrelated], ("analytics",))
        assert result.text == sql
        assert result.edits == ()


def _renamed(rel: RelationName) -> RelationName:
    # keep the folded case so the new name needs no quotes the old one did not
    suffix = "_ZZ" if rel.name.isupper() else "_zz"
    return RelationName(rel.catalog, rel.schema, rel.name + suffix)


# Cases whose references cannot all be renamed in place, with the reason; every
# other parsed case must rewrite cleanly under the rename property.
RENAME_BLOCKED: dict[str, str] = {
    "bq_backslash_escaped_name": "escaped backtick name: the parser gives no exact span",
    "bq_partial_backtick_blocked": "partly backticked name: the parser gives no exact span",
    "bq_wildcard_not_covered": "a wildcard table (events_*) is never rewritten",
    "bq_wildcard_table": "a wildcard table (events_*) is never rewritten",
    "pg_unicode_identifier_undecodable_blocked": "a U&\"...\" PostgreSQL refuses: read as U & \"...\"",
    "pg_whole_row_own_name_blocked": "its whole row is read by the table's own name, which a rename removes",
    "sf_identifier_dml": "IDENTIFIER('...') strings are edited by hand",
    "sf_identifier_select": "IDENTIFIER('...') strings are edited by hand",
}


@pytest.mark.parametrize("name", CASE_NAMES)
def test_rename_every_relation(name: str) -> None:
    """Rename every relation X to X_zz: the edits alone explain the output.

    Splicing the edits into the input reproduces the rewrite exactly, no byte
    outside an edit changes, every exact reference is edited, and parsing the
    output finds the renamed relations where the originals were.
    """
    sql, spec = _load(name)
    ds, dc = _defaults(spec)
    found = find_references(sql, spec["dialect"], ds, dc)
    if found.status != "parsed" or not found.references:
        pytest.skip("no parsed references to rename")
    relations = sorted({r.relation for r in found.references})
    rules = [RewriteRule(old=r, new=_renamed(r)) for r in relations]
    result = rewrite(sql, spec["dialect"], rules, ds, dc)
    if result.blockers:
        assert result.text == sql and not result.changed
        assert name in RENAME_BLOCKED, [b.reason for b in result.blockers]
        return
    assert name not in RENAME_BLOCKED, "now rewrites cleanly: drop it from RENAME_BLOCKED"
    spliced, pos = [], 0
    for e in result.edits:
        assert e.start >= pos, "edits overlap or are out of order"
        assert sql[e.start:e.end] == e.old
        spliced.append(sql[pos:e.start])
        spliced.append(e.new)
        pos = e.end
    spliced.append(sql[pos:])
    assert "".join(spliced) == result.text
    exact = [r for r in found.references if r.exact_span]
    for ref in exact:
        assert any(e.start <= ref.start < e.end or ref.start <= e.start < ref.end for e in result.edits), \
            f"{ref.written!r} at {ref.line}:{ref.column} was not edited"
    again = find_references(result.text, spec["dialect"], ds, dc)
    assert again.status == "parsed", again.error
    assert [r.relation for r in again.references] == [_renamed(r.relation) for r in found.references]
