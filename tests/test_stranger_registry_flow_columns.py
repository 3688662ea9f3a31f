"""`deprecate` after an entry whose columns are a flow mapping (`columns: {x: y}`) indents as usual.

Found by appending to a hand-written registry: the first entry's `columns: {x: y}` was
taken as the file's mapping indentation, and the new entry came out as
`columns:\\n              p: q` (14 spaces: the column of the `{x: y}` key).
"""

from __future__ import annotations

from pathlib import Path

from deprecator.registry import add_deprecation, load_registry


def test_append_after_a_flow_style_columns_mapping(tmp_path: Path) -> None:
    p = tmp_path / "deprecations.yml"
    text = ("deprecations:\n"
            "  - model: analytics.a\n"
            "    replacement: analytics.b\n"
            "    sunset: 2027-01-01\n"
            "    columns: {x: y}\n")
    p.write_text(text)
    add_deprecation(p, model="analytics.c", replacement="analytics.d", sunset="2027-01-01", columns={"p": "q"})
    assert p.read_text() == text + ("  - model: analytics.c\n"
                                    "    replacement: analytics.d\n"
                                    "    sunset: 2027-01-01\n"
                                    "    columns:\n"
                                    "      p: q\n")
    assert [dict(d.columns) for d in load_registry(p, "postgres").deprecations] == [{"x": "y"}, {"p": "q"}]
