"""Query-history export files: JSON Lines and CSV, streamed row by row.

Columns: ``query_text`` (required), ``user_name`` and ``start_time`` (optional;
names configurable); every other column is kept in ``SqlText.extra``. A
malformed row (bad JSON, missing ``query_text``, bad timestamp) is yielded as
a :class:`SourceProblem` with its line number and skipped.
"""

from __future__ import annotations

import codecs
import csv
import datetime as _dt
import io
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

import orjson

from deprecator.errors import SourceError
from deprecator.sources.base import SourceItem, SourceProblem, SqlText, parse_timestamp

JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
CSV_SUFFIXES = (".csv",)

# A CSV export with a byte no UTF-8 text has (a Latin-1 "ü" in one query) must cost
# that row only: a strict decoder fails on the whole chunk it reads ahead and
# cannot resynchronise, which dropped every later row. Undecodable bytes become
# lone surrogates (never in decoded UTF-8), and a row holding one is malformed.
_UNDECODABLE = "deprecator.history.undecodable"
_undecodable_seen = [0]   # bumped by the handler: rows are only searched once a byte was bad


def _escape_undecodable(err: UnicodeError) -> tuple[str | bytes, int]:
    _undecodable_seen[0] += 1
    return codecs.lookup_error("surrogateescape")(err)


def _undecodable_errors() -> str:
    """The handler's name, registered on first use (importing deprecator changes no global state)."""
    try:
        codecs.lookup_error(_UNDECODABLE)
    except LookupError:
        codecs.register_error(_UNDECODABLE, _escape_undecodable)
    return _UNDECODABLE


_SURROGATE = re.compile("[\udc80-\udcff]")
_NOT_UTF8 = "not UTF-8 (a byte UTF-8 text never has, e.g. Latin-1 or Windows-1252): save the export as UTF-8"


def detect_format(path: Path, declared: str | None = None) -> str:
    if declared:
        fmt = declared.lower()
        if fmt in ("jsonl", "ndjson", "json"):
            return "jsonl"
        if fmt == "csv":
            return "csv"
        raise SourceError(f"{path}: unknown history format {declared!r} (expected jsonl or csv)")
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in JSONL_SUFFIXES:
        return "jsonl"
    if suffixes and suffixes[-1] in CSV_SUFFIXES:
        return "csv"
    raise SourceError(
        f"{path}: cannot tell the history format from the file name",
        hint="use a .jsonl or .csv file, or set `format: jsonl|csv` on the history source",
    )


@dataclass
class HistoryFileSource:
    """A query-history export (JSON Lines or CSV)."""

    path: Path
    format: str | None = None                # "jsonl" | "csv"; from the suffix when None
    object_name: str | None = None           # shown as the findings' ``object``; the path by default
    text_column: str = "query_text"
    user_column: str = "user_name"
    time_column: str = "start_time"
    keep_extra: bool = True
    kind: str = field(default="history")
    _position: Any = field(default=None, init=False, repr=False, compare=False)   # () -> bytes read so far
    _done: int = field(default=0, init=False, repr=False, compare=False)

    @classmethod
    def from_options(cls, path: Path, options: Mapping[str, Any], object_name: str | None = None) -> "HistoryFileSource":
        known = {"format", "text_column", "user_column", "time_column", "keep_extra"}
        unknown = sorted(set(options) - known)
        if unknown:
            raise SourceError(f"history source {path}: unknown option(s) {', '.join(unknown)}",
                              hint=f"known options: {', '.join(sorted(known))}")
        return cls(path=path, object_name=object_name, **dict(options))

    @property
    def name(self) -> str:
        return self.object_name or str(self.path)

    def size_hint(self) -> int | None:
        """The export's size in bytes (None for a pipe or a missing file), for progress displays."""
        try:
            st = self.path.stat()
        except OSError:
            return None
        import stat

        return st.st_size if stat.S_ISREG(st.st_mode) else None

    def bytes_read(self) -> int:
        """Bytes read so far (all of them once the export is read)."""
        position = self._position
        if position is not None:
            try:
                self._done = int(position())
            except (OSError, ValueError):   # closed: keep the last position
                pass
        return self._done

    def read(self) -> Iterator[SourceItem]:
        fmt = detect_format(self.path, self.format)
        try:
            raw = open(self.path, "rb")
        except OSError as e:
            # A configured history that cannot be read must not look like a history
            # without uses: that would record a misleading zero-usage snapshot.
            raise SourceError(f"{self.name}: cannot read the history export: {e.strerror or e}",
                              hint="check `history:` in deprecator.yml") from None
        head = raw.peek(3)[:3]
        if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            raw.close()
            raise SourceError(f"{self.name}: the history export is UTF-16 text, not UTF-8",
                              hint="save (or convert) the export as UTF-8, e.g. iconv -f UTF-16 -t UTF-8")
        if head == codecs.BOM_UTF8:
            raw.read(3)      # Excel's "CSV UTF-8" and some exporters start with a byte order mark
        fh = raw if fmt == "jsonl" else io.TextIOWrapper(raw, encoding="utf-8", errors=_undecodable_errors(),
                                                         newline="")
        self._position = raw.tell   # the binary position: the text layer reads ahead in chunks
        with fh:
            try:
                rows = self._read_jsonl(fh) if fmt == "jsonl" else self._read_csv(fh)
                # Until the first valid row, count what went wrong; after it, stream untouched
                # (the hot loop pays nothing for the check).
                problems = 0
                first: SourceProblem | None = None
                for item in rows:
                    if type(item) is SqlText:
                        yield item
                        yield from rows
                        return
                    if isinstance(item, SourceProblem):
                        problems += 1
                        first = first or item
                    yield item
            finally:
                self.bytes_read()          # the final position, before the file closes
                self._position = None
        # A configured history without one usable row is a mistake (an empty export,
        # the wrong file, other column names), not a history without uses.
        raise self._no_rows_error(fmt, problems, first)

    def _no_rows_error(self, fmt: str, problems: int, first: SourceProblem | None) -> SourceError:
        hint = "check `history:` in deprecator.yml and the export"
        if problems == 0:
            what = "has only a header, no rows" if fmt == "csv" and self._has_header() else "is empty"
            return SourceError(f"{self.name}: the history export {what}", hint=hint)
        keys = self._first_row_keys() if fmt == "jsonl" else None
        if keys is not None and self.text_column not in keys:
            import difflib

            guess = next((k for k in keys if any(w in k.lower() for w in ("query", "sql", "statement", "text"))),
                         None) or next(iter(difflib.get_close_matches(self.text_column, keys, n=1)), None)
            return SourceError(
                f"{self.name}: the rows have no {self.text_column!r} key (the first row has: "
                f"{', '.join(keys) or 'no keys'})",
                hint=(f"if {guess!r} holds the SQL, set `text_column: {guess}` on this history source"
                      if guess else f"each row needs the SQL text under {self.text_column!r} "
                                    "(or name its key with `text_column:` on the history source)"))
        from deprecator.text import plural

        where = f"; the first, line {first.line}: {first.reason}" if first is not None else ""
        return SourceError(f"{self.name}: no valid row in the history export, only "
                           f"{plural(problems, 'malformed row')}{where}", hint=hint)

    def _has_header(self) -> bool:
        if not self.path.is_file():     # a pipe cannot be read twice
            return False
        try:
            with open(self.path, "rb") as f:
                return bool(f.readline().strip())
        except OSError:
            return False

    def _first_row_keys(self) -> list[str] | None:
        """The keys of the export's first JSON object row (for the error message only)."""
        if not self.path.is_file():
            return None
        try:
            with open(self.path, "rb") as f:
                for raw in f:
                    if raw.strip():
                        row = orjson.loads(raw)
                        return [str(k) for k in row] if isinstance(row, dict) else None
        except (OSError, orjson.JSONDecodeError):
            return None
        return None

    # The JSONL loop is the hot path of a scan (a million rows in a few seconds):
    # locals instead of attribute lookups, the row dict itself becomes ``extra``,
    # and the common timestamp shapes skip the general parser.
    def _read_jsonl(self, fh: Any) -> Iterator[SourceItem]:
        kind, obj = self.kind, self.name
        tcol, ucol, scol = self.text_column, self.user_column, self.time_column
        keep_extra = self.keep_extra
        loads = orjson.loads
        fromiso = _dt.datetime.fromisoformat
        utc = _dt.timezone.utc
        new = tuple.__new__
        lineno = 0
        for raw in fh:
            lineno += 1
            try:
                row = loads(raw)
            except orjson.JSONDecodeError as e:
                if not raw.strip():
                    continue
                yield SourceProblem(kind, obj, f"bad JSON: {e}", "malformed", lineno)
                continue
            if type(row) is not dict:
                yield SourceProblem(kind, obj, f"expected a JSON object, got {type(row).__name__}", "malformed", lineno)
                continue
            text = row.pop(tcol, None)
            if type(text) is not str or not text or text.isspace():
                yield _bad_text(kind, obj, tcol, text, lineno)
                continue
            user = row.pop(ucol, None)
            if user is not None and type(user) is not str:
                user = str(user)
            raw_ts = row.pop(scol, None)
            if raw_ts is None:
                ts = None
            else:
                try:
                    # "...Z" is UTC already: parse it naive and skip the costly tz conversion.
                    ts = fromiso(raw_ts[:-1] if type(raw_ts) is str and raw_ts[-1:] == "Z" else raw_ts)
                    tz = ts.tzinfo
                    if tz is not None:
                        ts = ts.replace(tzinfo=None) if tz is utc else ts.astimezone(utc).replace(tzinfo=None)
                except (TypeError, ValueError):
                    try:
                        ts = parse_timestamp(raw_ts)
                    except ValueError as e:
                        yield SourceProblem(kind, obj, f"{scol}: {e}", "malformed", lineno)
                        continue
            yield new(SqlText, (text, kind, obj, None, 1, user or None, 1, ts, ts,
                                (row or None) if keep_extra else None, None, None))

    def _read_csv(self, fh: Any) -> Iterator[SourceItem]:
        kind, obj = self.kind, self.name
        tcol, ucol, scol = self.text_column, self.user_column, self.time_column
        standard = {tcol, ucol, scol}
        csv.field_size_limit(sys.maxsize)  # BI tools write queries of megabytes
        reader = csv.reader(fh)
        ts_cache: dict[Any, Any] = {}
        seen = _undecodable_seen
        clean = seen[0]    # before the header: the decoder reads the first rows with it
        try:
            header = next(reader)
        except StopIteration:
            return
        except (csv.Error, UnicodeDecodeError) as e:
            yield SourceProblem(kind, obj, f"unreadable CSV header: {e}", "malformed", 1)
            return
        if any(_SURROGATE.search(h) for h in header):
            yield SourceProblem(kind, obj, f"unreadable CSV header: {_NOT_UTF8}", "malformed", 1)
            return
        if tcol not in header:
            raise SourceError(f"{obj}:1: CSV header has no {tcol!r} column (columns: {', '.join(header)})")
        width = len(header)
        prev_end = reader.line_num
        while True:
            start = prev_end + 1  # a quoted field may span lines; report where the row starts
            try:
                values = next(reader)
            except StopIteration:
                break
            except csv.Error as e:
                yield SourceProblem(kind, obj, f"bad CSV: {e}", "malformed", start)
                prev_end = reader.line_num
                continue
            except UnicodeDecodeError as e:
                yield SourceProblem(kind, obj, f"not UTF-8: {e.reason}", "malformed", start)
                return  # the decoder cannot resynchronise; the rest of the file is unreadable
            prev_end = reader.line_num
            if not values:
                continue
            if len(values) != width:
                yield SourceProblem(kind, obj, f"expected {width} fields, got {len(values)}", "malformed", start)
                continue
            if seen[0] != clean and any(_SURROGATE.search(v) for v in values):
                yield SourceProblem(kind, obj, _NOT_UTF8, "malformed", start)
                continue
            row = dict(zip(header, values))
            yield _row_item(row, kind, obj, tcol, ucol, scol, standard, self.keep_extra, start, ts_cache)


def _row_item(
    row: dict[str, Any], kind: str, obj: str, tcol: str, ucol: str, scol: str,
    standard: set[str], keep_extra: bool, lineno: int, ts_cache: dict[Any, Any],
) -> SourceItem:
    text = row.get(tcol)
    if not isinstance(text, str) or not text.strip():
        return _bad_text(kind, obj, tcol, text, lineno)
    user = row.get(ucol)
    if user is not None and not isinstance(user, str):
        user = str(user)
    if user == "":
        user = None
    raw_ts = row.get(scol)
    ts = ts_cache.get(raw_ts) if isinstance(raw_ts, (str, int, float)) else None
    if ts is None and raw_ts is not None:
        try:
            ts = parse_timestamp(raw_ts)
        except ValueError as e:
            return SourceProblem(kind, obj, f"{scol}: {e}", "malformed", lineno)
        if isinstance(raw_ts, (str, int, float)):
            ts_cache[raw_ts] = ts
    extra = None
    if keep_extra and not standard.issuperset(row):
        extra = {k: v for k, v in row.items() if k not in standard} or None
    return SqlText(text, kind, obj, None, 1, user, 1, ts, ts, extra)


def _bad_text(kind: str, obj: str, tcol: str, text: Any, lineno: int) -> SourceProblem:
    what = "missing" if text is None else ("empty" if isinstance(text, str) else f"not a string ({type(text).__name__})")
    return SourceProblem(kind, obj, f"{tcol} is {what}", "malformed", lineno)
