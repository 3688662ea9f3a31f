"""History exports as spreadsheets and other tools write them: a UTF-8 BOM, a stray Latin-1 byte, UTF-16.

Found by using deprecator on exports it did not write: Excel's "CSV UTF-8" starts with a
BOM, which made the header's first column "\\ufeffquery_text" (the whole export refused);
one Latin-1 byte in the middle of an export dropped every row after it, reported as one
malformed row at the wrong line, so a scan counted half the uses and exited 0.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from deprecator.errors import SourceError
from deprecator.sources.base import SourceProblem, SqlText
from deprecator.sources.history_file import HistoryFileSource

HEADER = b"query_text,user_name,start_time\r\n"


def _read(path: Path) -> tuple[list[SqlText], list[SourceProblem]]:
    items = list(HistoryFileSource(path, object_name=path.name).read())
    return ([i for i in items if isinstance(i, SqlText)], [i for i in items if isinstance(i, SourceProblem)])


def test_csv_with_a_utf8_bom_reads_its_header(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    row = "select * from customer where city = 'Zürich',jürgen,2026-11-20 10:00:00\r\n"
    path.write_bytes(b"\xef\xbb\xbf" + HEADER + row.encode())
    texts, problems = _read(path)
    assert problems == []
    assert [(t.text, t.user) for t in texts] == [("select * from customer where city = 'Zürich'", "jürgen")]


def test_jsonl_with_a_utf8_bom_reads_its_first_row(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"query_text": "select 1 from customer", "user_name": "ann"}\n'
                     b'{"query_text": "select 2 from customer", "user_name": "bob"}\n')
    texts, problems = _read(path)
    assert problems == []
    assert [t.user for t in texts] == ["ann", "bob"]


def test_one_latin1_byte_costs_its_row_only(tmp_path: Path) -> None:
    rows = [f"select * from customer where id = {i},u{i % 3},2026-11-20 10:00:00\n".encode() for i in range(5000)]
    rows[2500] = b"select * from customer where city = 'Z\xfcrich',u9,2026-11-20 10:00:00\n"
    path = tmp_path / "big.csv"
    path.write_bytes(HEADER + b"".join(rows))
    texts, problems = _read(path)
    assert len(texts) == 4999                     # every other row is read
    assert [(p.line, p.kind) for p in problems] == [(2502, "malformed")]   # the header is line 1
    assert "UTF-8" in problems[0].reason


def test_a_latin1_byte_in_the_first_rows_is_found_too(tmp_path: Path) -> None:
    path = tmp_path / "small.csv"
    path.write_bytes(HEADER + b"select * from customer where city = 'Z\xfcrich',u9,2026-11-20\r\n"
                     b"select * from customer,ann,2026-11-20\r\n")
    texts, problems = _read(path)
    assert [t.user for t in texts] == ["ann"]
    assert [(p.line, p.kind) for p in problems] == [(2, "malformed")]


def test_a_utf16_export_says_so(tmp_path: Path) -> None:
    path = tmp_path / "utf16.csv"
    path.write_bytes(("query_text,user_name,start_time\r\nselect 1 from customer,ann,2026-11-20\r\n")
                     .encode("utf-16"))
    with pytest.raises(SourceError, match="UTF-16"):
        _read(path)
