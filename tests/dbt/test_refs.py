"""ref()/source() calls found by jinja2's parser, with the exact line and column; the Jinja mask."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from deprecator.dbt.refs import scan_jinja
from deprecator.sql import find_references

CASES = Path(__file__).parent / "ref_cases"
_LINE = re.compile(r"^(\d+):(\d+)\s+(.+?)\s+->\s+(\S+)$")


def _expected(path: Path) -> list[tuple[int, int, str, str]]:
    out = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        if not raw.strip() or raw.startswith("#"):
            continue
        m = _LINE.match(raw)
        assert m, f"{path.name}: bad line {raw!r}"
        out.append((int(m.group(1)), int(m.group(2)), m.group(3), m.group(4)))
    return out


def _names(ref) -> str:
    if ref.dynamic:
        return "dynamic"
    pkg = f"{ref.package}." if ref.package else ""
    ver = f"@{ref.version}" if ref.version is not None else ""
    return f"{ref.kind}:{pkg}{ref.name}{ver}"


@pytest.mark.parametrize("case", sorted(p.stem for p in CASES.glob("*.sql")))
def test_ref_cases(case):
    text = (CASES / f"{case}.sql").read_text(encoding="utf-8")
    expected = _expected(CASES / f"{case}.refs")
    lines = text.split("\n")
    for line, col, written, _ in expected:   # the expectation itself is right
        assert lines[line - 1][col - 1:].startswith(written), (case, line, col, written)
    scan = scan_jinja(text)
    assert scan.error is None
    got = [(r.line, r.column, r.text, _names(r)) for r in scan.refs]
    assert got == expected
    for r in scan.refs:
        assert text[r.start:r.end] == r.text


def test_crlf_files_keep_exact_positions():
    text = (CASES / "every_form.sql").read_text(encoding="utf-8")
    crlf = text.replace("\n", "\r\n")
    lf, cr = scan_jinja(text), scan_jinja(crlf)
    assert [(r.line, r.column, r.text) for r in cr.refs] == [(r.line, r.column, r.text) for r in lf.refs]
    for r in cr.refs:
        assert crlf[r.start:r.end] == r.text
    assert len(cr.masked) == len(crlf) and cr.masked.count("\r\n") == crlf.count("\r\n")


def test_jinja_comments_are_listed_with_positions():
    text = "select 1\n  {# deprecator: allow x until 2027-01-01 reason \"r\" #}\n"
    (c,) = scan_jinja(text).comments
    assert c.line == 2 and c.column == 5 and "deprecator: allow x" in c.text
    assert text[c.start:].startswith(c.text)


def test_a_jinja_syntax_error_is_reported_with_its_line():
    scan = scan_jinja("select 1\nfrom {{ ref('a' }}\n")
    assert scan.error and "Jinja syntax error" in scan.error and scan.error_line == 2
    scan = scan_jinja("select 1\n{% if x %}\nselect 2\n")
    assert scan.error and scan.error_line is not None and scan.error_line >= 2
    scan = scan_jinja("select 1\n\n{{ 'unterminated }}\n")   # a lexer error: its line, not an offset
    assert scan.error and scan.error_line == 3


def test_the_mask_keeps_every_offset_and_lets_the_sql_engine_find_raw_relations():
    text = ("{{ config(materialized='view') }}\n"
            "select o.id, c.name\n"
            "from {{ ref('orders') }} o\n"
            "join analytics.customer_facts c on c.id = o.customer_id  -- {{ ref('x') }}\n"
            "{% if var('full', false) %}where true{% endif %}\n")
    scan = scan_jinja(text)
    masked = scan.masked
    assert len(masked) == len(text) and masked.count("\n") == text.count("\n")
    assert "{" not in masked and "ref(" not in masked
    res = find_references(masked, "postgres")
    assert res.status == "parsed"
    (cf,) = [r for r in res.references if r.relation.name == "customer_facts"]
    assert (cf.line, cf.column) == (4, 6) and text[cf.start:cf.end] == "analytics.customer_facts"


def test_plain_sql_is_left_alone():
    text = "select * from analytics.customer_facts -- no jinja here\n"
    scan = scan_jinja(text)
    assert scan.masked is text and scan.refs == () and not scan.has_jinja


def test_if_chains_are_masked_one_rendering_at_a_time():
    text = ("select * from a\n"
            "{% if target.type == 'snowflake' %}\nwhere x = 1\n{% elif var('y') %}\nwhere y = 2\n"
            "{% else %}\nwhere z = 3\n{% endif %}\n"
            "{% if is_incremental() %}and w > (select max(w) from {{ this }}){% endif %}\n"
            "{% for c in cols %}{% if loop.first %}, {{ c }}{% else %}{{ c }}{% endif %}{% else %}-- none{% endfor %}\n")
    scan = scan_jinja(text)
    assert scan.masked == scan.variants[0]
    assert len(scan.variants) == 3           # the longest chain has three branches (plus none)
    first, second, third = scan.variants
    assert "where x = 1" in first and "where y" not in first and "where z" not in first and "and w >" in first
    assert "where y = 2" in second and "where x" not in second and "and w >" not in second
    assert "where z = 3" in third and "where y" not in third
    for v in scan.variants:
        assert len(v) == len(text) and v.count("\n") == text.count("\n")
        assert "-- none" in v                # a for loop's else is not an if branch
    # each rendering parses, where keeping every branch would give two WHERE clauses
    model = ("select * from {{ ref('a') }}\n{% if target.name == 'prod' %}where p\n{% else %}where q\n{% endif %}"
             "\n{% if is_incremental() %}and r > (select max(r) from {{ this }}){% endif %}\n")
    scan = scan_jinja(model)
    assert [find_references(v, "postgres").status for v in scan.variants] == ["parsed", "parsed"]
    kept_all = "select * from {{ ref('a') }}\nwhere p\nwhere q\n"
    assert find_references(scan_jinja(kept_all).masked, "postgres").status == "error"
