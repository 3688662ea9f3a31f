"""Sources: SQL files, history exports (JSONL, CSV), warehouse views."""

from __future__ import annotations

import datetime as dt
import sqlite3

import orjson
import pytest

from deprecator.errors import SourceError
from deprecator.sources.base import SourceProblem, SqlText, parse_timestamp
from deprecator.sources.files import FileSource
from deprecator.sources.history_file import HistoryFileSource


def _split(items):
    texts = [i for i in items if isinstance(i, SqlText)]
    problems = [i for i in items if isinstance(i, SourceProblem)]
    return texts, problems


# -- files --------------------------------------------------------------------
def test_files_folders_and_globs(tmp_path):
    (tmp_path / "models" / "deep").mkdir(parents=True)
    (tmp_path / "models" / "a.sql").write_text("select 1")
    (tmp_path / "models" / "deep" / "b.SQL").write_text("select 2")
    (tmp_path / "models" / "notes.txt").write_text("not sql")
    (tmp_path / "one.sql").write_text("select 3")
    (tmp_path / "two.sql").write_text("select 4")
    src = FileSource(("models", "t*.sql", "one.sql", "models/a.sql"), root=tmp_path)
    texts, problems = _split(list(src.read()))
    assert problems == []
    assert [t.path for t in texts] == ["models/a.sql", "models/deep/b.SQL", "one.sql", "two.sql"]
    assert {t.text for t in texts} == {"select 1", "select 2", "select 3", "select 4"}
    assert all(t.source == "file" and t.object == t.path and t.line == 1 for t in texts)


def test_missing_path_and_empty_glob_are_problems(tmp_path):
    src = FileSource(("nope.sql", "*.sql"), root=tmp_path)
    texts, problems = _split(list(src.read()))
    assert texts == []
    assert [(p.object, p.reason) for p in problems] == [
        ("nope.sql", "no such file or folder"), ("*.sql", "matched no .sql files")]


def test_non_utf8_file_is_reported_with_line(tmp_path):
    (tmp_path / "latin.sql").write_bytes(b"select 1;\n-- caf\xe9\nselect 2")
    (tmp_path / "bom.sql").write_bytes("\ufeffselect 1".encode())
    texts, problems = _split(list(FileSource((str(tmp_path),)).read()))
    assert [t.text for t in texts] == ["select 1"]   # the BOM is stripped
    assert len(problems) == 1
    assert problems[0].object.endswith("latin.sql")
    assert problems[0].reason == "not UTF-8 (invalid byte 0xe9 at line 2)"


def test_unreadable_file_is_a_problem(tmp_path):
    # A dangling symlink named like a SQL file: listed, but cannot be read.
    (tmp_path / "gone.sql").symlink_to(tmp_path / "missing-target.sql")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "gone.sql").symlink_to(tmp_path / "missing-target.sql")
    texts, problems = _split(list(FileSource(("*.sql", "sub"), root=tmp_path).read()))
    assert texts == []
    assert [p.object for p in problems] == ["gone.sql", "sub/gone.sql"]
    assert all(p.reason.startswith("cannot read: No such file") for p in problems)


# -- history exports ------------------------------------------------------------
def test_jsonl_rows_extras_and_malformed_rows(tmp_path):
    rows = [
        orjson.dumps({"query_text": "select * from a", "user_name": "ann", "start_time": "2026-11-01T10:00:00Z",
                      "warehouse": "wh1", "query_id": 7}),
        b"{not json",
        orjson.dumps({"user_name": "bob", "start_time": "2026-11-01T10:00:00Z"}),
        b"",
        orjson.dumps({"query_text": "select 2", "user_name": "bob", "start_time": "yesterday"}),
        orjson.dumps(["a", "list"]),
        orjson.dumps({"query_text": "select 3", "start_time": "2026-11-01T12:00:00+02:00"}),
        orjson.dumps({"query_text": "select 4", "user_name": "cy", "start_time": 1_700_000_000}),
    ]
    path = tmp_path / "h.jsonl"
    path.write_bytes(b"\n".join(rows) + b"\n")
    texts, problems = _split(list(HistoryFileSource(path, object_name="h.jsonl").read()))
    assert [(p.line, p.kind) for p in problems] == [(2, "malformed"), (3, "malformed"), (5, "malformed"),
                                                    (6, "malformed")]
    assert problems[0].reason.startswith("bad JSON")
    assert problems[1].reason == "query_text is missing"
    assert "start_time" in problems[2].reason and "yesterday" in problems[2].reason
    assert problems[3].reason == "expected a JSON object, got list"
    assert [t.text for t in texts] == ["select * from a", "select 3", "select 4"]
    first = texts[0]
    assert (first.source, first.object, first.user, first.count) == ("history", "h.jsonl", "ann", 1)
    assert first.first_seen == first.last_seen == dt.datetime(2026, 11, 1, 10, 0)
    assert first.extra == {"warehouse": "wh1", "query_id": 7}
    assert texts[1].user is None and texts[1].first_seen == dt.datetime(2026, 11, 1, 10, 0)  # converted to UTC
    assert texts[1].extra is None
    assert texts[2].first_seen == dt.datetime(2023, 11, 14, 22, 13, 20)


def test_csv_with_multiline_text_reports_row_start_lines(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text(
        "query_text,user_name,start_time,dept\n"
        '"select *\nfrom a\nwhere x = \'1,2\'",ann,2026-11-01 10:00:00,fin\n'
        "select 2,bob,not-a-time,ops\n"
        "select 3,cy\n"
        ",dee,2026-11-01 10:00:00,ops\n"
        "select 5,,2026-11-02T00:00:00,\n",
        encoding="utf-8",
    )
    texts, problems = _split(list(HistoryFileSource(path).read()))
    assert [t.text for t in texts] == ["select *\nfrom a\nwhere x = '1,2'", "select 5"]
    assert texts[0].extra == {"dept": "fin"} and texts[0].user == "ann"
    assert texts[1].user is None and texts[1].first_seen == dt.datetime(2026, 11, 2)
    assert [(p.line, p.reason.split(":")[0]) for p in problems] == [
        (5, "start_time"), (6, "expected 4 fields, got 2"), (7, "query_text is empty")]


def test_csv_without_text_column_is_an_error(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("sql,user\nselect 1,ann\n")
    with pytest.raises(SourceError, match="no 'query_text' column"):
        list(HistoryFileSource(path).read())


def test_custom_columns_and_unknown_format(tmp_path):
    path = tmp_path / "h.ndjson"
    path.write_bytes(orjson.dumps({"sql": "select 1", "who": "ann", "at": "2026-01-01"}) + b"\n")
    src = HistoryFileSource.from_options(path, {"text_column": "sql", "user_column": "who", "time_column": "at"})
    texts, problems = _split(list(src.read()))
    assert problems == [] and [t.text for t in texts] == ["select 1"]
    assert texts[0].user == "ann" and texts[0].first_seen == dt.datetime(2026, 1, 1) and texts[0].extra is None
    with pytest.raises(SourceError, match="unknown option"):
        HistoryFileSource.from_options(path, {"colour": "red"})
    with pytest.raises(SourceError, match="cannot tell the history format"):
        list(HistoryFileSource(tmp_path / "h.txt").read())


def test_parse_timestamp():
    assert parse_timestamp("2026-11-01T10:00:00.5Z") == dt.datetime(2026, 11, 1, 10, 0, 0, 500000)
    assert parse_timestamp("2026-11-01") == dt.datetime(2026, 11, 1)
    assert parse_timestamp("") is None and parse_timestamp(None) is None
    for bad in ("soon", True, [1]):
        with pytest.raises(ValueError):
            parse_timestamp(bad)


def test_missing_history_file_is_an_error_not_an_empty_history(tmp_path):
    with pytest.raises(SourceError, match="h.jsonl: cannot read the history export: No such file"):
        list(HistoryFileSource(tmp_path / "h.jsonl", object_name="h.jsonl").read())
