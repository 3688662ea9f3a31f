"""The source protocol: where SQL texts come from.

A source yields :class:`SqlText` items (and :class:`SourceProblem` items for
what it could not read). One ``SqlText`` is one text as one user ran it:

* a file or a view definition: ``count`` 1, no user;
* a row of a query-history export: ``count`` 1, its user and start time;
* a pre-aggregated row (``pg_stat_statements``, a pushed-down ``GROUP BY`` over
  a history table): ``count`` = times that user ran it, first/last seen.

The scan dedupes texts across every source, so a source never has to.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterator, Literal, Mapping, NamedTuple, Protocol, TypeGuard, Union

# Source kinds whose texts are queries people ran; only these feed usage snapshots.
QUERY_SOURCE_KINDS = frozenset({"history", "pg_stat_statements", "sql"})

_BLOCK_COMMENT = re.compile(r"/\*(.*?)\*/", re.S)
# Weekly usage records dbt's own runs under this prefix before the user they ran as:
# dbt is a consumer that cannot act on a notice (the model's owner migrates it).
DBT_RUN_PREFIX = "(dbt) "


def is_dbt_query(text: str | None) -> bool:
    """Whether ``text`` carries dbt's query comment (``"app": "dbt"``), i.e. dbt itself ran it."""
    if not text or "dbt" not in text:
        return False
    for m in _BLOCK_COMMENT.finditer(text):
        body = m.group(1).strip()
        if not body.startswith("{"):
            continue
        try:
            data = json.loads(body)
        except ValueError:
            continue
        if isinstance(data, dict) and data.get("app") == "dbt":
            return True
    return False


class SqlText(NamedTuple):
    """One SQL text from a source (a NamedTuple: a million of them are made per scan)."""

    text: str
    source: str                              # "file" | "history" | "view" | "pg_stat_statements" | "sql"
    object: str                              # file path / view name / history file
    path: str | None = None                  # set for file sources
    line: int = 1                            # 1-based line of the text's first character in ``path``
    user: str | None = None
    count: int = 1  # type: ignore[assignment]  # times ``user`` ran it (shadows tuple.count on purpose)
    first_seen: _dt.datetime | None = None   # naive UTC
    last_seen: _dt.datetime | None = None    # naive UTC
    extra: Mapping[str, Any] | None = None   # columns the source had beyond the standard ones
    # Search path to resolve unqualified names in this text (e.g. the role's
    # search_path in pg_stat_statements); None = the configured default.
    default_schema: tuple[str, ...] | None = None
    # Where ``default_schema`` came from (pg_stat_statements: "role_in_database" |
    # "role" | "database" | "default"); "default" makes the scan say the default was assumed.
    search_path_origin: str | None = None


@dataclass(frozen=True)
class SourceProblem:
    """Something a source could not read: an unreadable file or a malformed row."""

    source: str
    object: str
    reason: str
    # partial: the text was read, but some SQL it runs cannot be (built at run time)
    kind: Literal["unreadable", "malformed", "partial"] = "unreadable"
    line: int | None = None                  # 1-based line of a malformed row


@dataclass(frozen=True)
class UsageBasis:
    """What a query-history source's counts mean; yielded once, after its texts.

    ``counts`` is ``"cumulative"`` for pg_stat_statements: each text's ``count``
    is every call since ``since`` (the statistics reset), the same on every read
    until more calls happen. ``window_start``..``read_at`` is the window since the
    source's previous reading of its counters (None: no previous reading), and
    ``window_counts`` the calls in it per ``(object, user)`` of the texts yielded.
    """

    source: str
    object: str                              # the masked URL
    counts: str
    since: _dt.datetime | None               # naive UTC; None = unknown
    read_at: _dt.datetime
    window_start: _dt.datetime | None = None
    window_counts: Mapping[tuple[str, str | None], int] = field(default_factory=dict)
    resets_in_window: int = 0                # statistics resets between the two readings
    excluded_own: int = 0                    # texts left out as deprecator's own (marker comment or own role)
    note: str | None = None
    # pg_stat_statements evicted its least-run entries this many times since the reset (more
    # distinct statements than pg_stat_statements.max): an evicted statement that ran again
    # counts only since it came back. None = unknown.
    evictions: int | None = None

    def to_dict(self) -> dict[str, Any]:
        iso = lambda v: v.isoformat() if v is not None else None  # noqa: E731
        return {"source": self.source, "object": self.object, "counts": self.counts, "since": iso(self.since),
                "read_at": iso(self.read_at), "previous_read_at": iso(self.window_start),
                "resets_since_previous_read": self.resets_in_window, "excluded_own": self.excluded_own,
                "evictions_since_reset": self.evictions, "note": self.note}


@dataclass(frozen=True)
class ModelRefs:
    """The ``ref()``/``source()`` calls of a dbt model (a ``.sql`` file with Jinja), found by jinja2's parser
    (``dbt.refs.DbtRef``, exact line and column); yielded before the model's masked SQL texts. The scan
    maps them to deprecations (``dbt.models.ref_targets``), as ``check`` does."""

    object: str
    path: str
    refs: tuple[Any, ...]


# The source kind of a dbt model's texts (its Jinja masked): found like files, reported as dbt models.
DBT_MODEL = "dbt_model"

SourceItem = Union[SqlText, SourceProblem, UsageBasis, ModelRefs]


class Source(Protocol):
    """Anything that yields SQL texts. Implementations stream; none loads everything at once."""

    # Read-only members, so sources exposing them as properties satisfy the protocol.
    @property
    def kind(self) -> str: ...            # the ``source`` value of the texts it yields
    @property
    def name(self) -> str: ...            # shown in messages (a path, a masked URL, ...)

    def read(self) -> Iterator[SourceItem]: ...


class SizedSource(Source, Protocol):
    """A source that knows its size (SQL files, history exports), for progress displays."""

    def size_hint(self) -> int | None: ...    # bytes in all (None: cannot say, e.g. a pipe)

    def bytes_read(self) -> int: ...          # bytes read so far


def is_sized(source: Source) -> TypeGuard[SizedSource]:
    """Whether ``source`` offers ``size_hint()`` and ``bytes_read()`` (both optional)."""
    return callable(getattr(source, "size_hint", None)) and callable(getattr(source, "bytes_read", None))


def to_utc_naive(value: _dt.datetime) -> _dt.datetime:
    """Aware datetimes are converted to UTC; naive ones are taken as UTC already."""
    if value.tzinfo is not None:
        value = value.astimezone(_dt.timezone.utc).replace(tzinfo=None)
    return value


def parse_timestamp(value: Any) -> _dt.datetime | None:
    """ISO 8601 text (``Z`` allowed), epoch seconds, or a datetime -> naive UTC.

    ``None`` and the empty string mean "unknown". Raises ValueError otherwise.
    """
    if value is None or value == "":
        return None
    if isinstance(value, _dt.datetime):
        return to_utc_naive(value)
    if isinstance(value, bool):
        raise ValueError(f"not a timestamp: {value!r}")
    if isinstance(value, (int, float)):
        return _dt.datetime.fromtimestamp(value, _dt.timezone.utc).replace(tzinfo=None)
    if isinstance(value, str):
        s = value.strip()
        if s.endswith(("Z", "z")):
            s = s[:-1] + "+00:00"
        try:
            return to_utc_naive(_dt.datetime.fromisoformat(s))
        except ValueError:
            raise ValueError(f"not an ISO 8601 timestamp: {value!r}") from None
    raise ValueError(f"not a timestamp: {value!r}")
