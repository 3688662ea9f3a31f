"""What a scan reports: findings (one use of a deprecated relation each), texts it could not analyse,
and the report with its JSON form (``ScanReport.iter_json`` streams a million findings in pieces).

A scan keeps most findings as compact rows (template, occurrence key, occurrence, note);
``Findings`` reads like a tuple of ``Finding`` and makes each one when it is read.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

from deprecator.sources.base import UsageBasis


@dataclass(frozen=True, slots=True)   # slots: a popular table can have a million findings
class Finding:
    """One use of a deprecated relation: a distinct text as one user ran it, or a place in a file."""

    deprecation: str                  # the model exactly as registered
    relation: str                     # the relation as resolved (normalized, qualified)
    source: str                       # file | history | view | ...
    object: str                       # file path / history file / view name
    path: str | None = None
    line: int | None = None
    column: int | None = None
    user: str | None = None
    count: int = 1
    first_seen: _dt.datetime | None = None
    last_seen: _dt.datetime | None = None
    columns: tuple[str, ...] | None = None   # None: cannot be known (SELECT *)
    # An unqualified name the search path leaves open (several schemas) that the
    # warehouse could not settle: ``relation`` may not be the one the query read.
    ambiguous: bool = False
    note: str | None = None           # how the name was resolved, when that is a guess
    # What the text does with the relation (Reference.role): read, write (a producer to
    # switch off, not a consumer to migrate) or ddl. A text that both reads and writes
    # the relation gives one finding per role.
    role: str = "read"
    # The text itself for query findings (history, views; shared with the scan's
    # dedupe table, so it costs no copy). Not in to_dict: notices read it, with literals redacted.
    text: str | None = field(default=None, repr=False, compare=False)
    # "wildcard" when the text names the relation only through a BigQuery wildcard table
    # (``pattern``, e.g. p.d.events_2023*), which reads every table the pattern covers.
    via: str | None = None
    pattern: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "deprecation": self.deprecation, "relation": self.relation, "source": self.source,
            "object": self.object, "path": self.path, "line": self.line, "column": self.column,
            "user": self.user, "count": self.count,
            "first_seen": _iso(self.first_seen), "last_seen": _iso(self.last_seen),
            "columns": list(self.columns) if self.columns is not None else None,
            "ambiguous": self.ambiguous, "note": self.note, "role": self.role,
            "via": self.via, "pattern": self.pattern,
        }


@dataclass(frozen=True)
class Unparsed:
    """A text (or row, or file) that could not be fully analysed, with why."""

    source: str
    object: str
    status: str                       # fallback | error | malformed | unreadable
    error: str
    line: int | None = None
    text: str | None = None           # the start of the text, to find it again

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "object": self.object, "status": self.status, "error": self.error,
                "line": self.line, "text": self.text}


@dataclass(frozen=True)
class ScanReport:
    findings: Sequence[Finding]         # a tuple, or Findings (made when read) from run_scan
    unparsed: tuple[Unparsed, ...]
    stats: dict[str, Any]
    snapshots: tuple[Any, ...] = ()   # deprecator.state.UsageSnapshot
    scan_id: int | None = None
    record_error: str | None = None   # why the scan could not be recorded in the state store
    bases: tuple[UsageBasis, ...] = ()   # what the query counts mean: since when, the window since the last read
    # uses per (deprecation, source, ISO week Monday, user) this scan counted from rows' own timestamps
    weekly: tuple[Any, ...] = ()         # deprecator.state.WeeklyUse

    def to_dict(self) -> dict[str, Any]:
        return {"findings": [f.to_dict() for f in self.findings], **self._summary_dict()}

    def _summary_dict(self) -> dict[str, Any]:
        """Everything in ``to_dict`` but the findings."""
        return {"unparsed": [u.to_dict() for u in self.unparsed],
                "stats": dict(self.stats),
                "usage": self.usage_dict(),
                "weekly": self.weekly_dict()}

    def iter_json(self, batch: int = 1000) -> Iterator[str]:
        """``to_dict()`` as indented JSON with sorted keys (orjson ``OPT_INDENT_2 | OPT_SORT_KEYS``), in
        pieces: the findings a batch at a time, so a million of them never sit in memory as one
        document. The pieces join to exactly ``orjson.dumps(report.to_dict(), option=...)``; each
        finding is whole within one piece."""
        import orjson

        opts = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS
        summary = self._summary_dict()
        if not summary or min(summary) < "findings":   # the splice below needs "findings" to sort first
            raise ValueError("a report key sorts before findings")
        rest = orjson.dumps(summary, option=opts, default=str).decode()
        if not self.findings:
            yield '{\n  "findings": [],' + rest[1:]
            return
        yield '{\n  "findings": ['
        findings = self.findings
        rows = findings._items if isinstance(findings, Findings) else None
        for i in range(0, len(findings), batch):
            part = ([finding_dict(f) for f in rows[i:i + batch]] if rows is not None
                    else [f.to_dict() for f in findings[i:i + batch]])
            doc = orjson.dumps(part, option=opts, default=str).decode()
            # "[\n  {...},\n  {...}\n]" -> the items two levels deeper, without the brackets; JSON strings
            # hold no raw newline, so every newline is the indentation's
            yield ("," if i else "") + doc[1:-2].replace("\n", "\n  ")
        yield "\n  ]," + rest[1:]

    def weekly_dict(self) -> dict[str, list[dict[str, Any]]]:
        """Per deprecation, the ISO weeks this scan's timestamped history covers: uses and distinct users."""
        cells: dict[tuple[str, _dt.date], list[Any]] = {}
        for w in self.weekly:
            cell = cells.setdefault((w.deprecation, w.week), [0, set()])
            cell[0] += w.uses
            cell[1].add(w.user or "")
        out: dict[str, list[dict[str, Any]]] = {}
        for (dep, week), (uses, users) in sorted(cells.items()):
            iso = week.isocalendar()
            out.setdefault(dep, []).append({"week": week.isoformat(), "label": f"{iso[0]}-W{iso[1]:02d}",
                                            "uses": uses, "users": len(users)})
        return out

    def usage_dict(self) -> dict[str, Any]:
        """Per query source what its counts mean (since when); per deprecation the totals and the window
        since the previous reading of the counters (None without one)."""
        return {"sources": [b.to_dict() for b in self.bases],
                "deprecations": [_snapshot_dict(s) for s in self.snapshots]}

    def by_deprecation(self) -> dict[str, list[Finding]]:
        out: dict[str, list[Finding]] = {}
        for f in self.findings:
            out.setdefault(f.deprecation, []).append(f)
        return out


def _iso(v: _dt.datetime | None) -> str | None:
    return v.isoformat() if v is not None else None


def sorted_findings(findings: list[Any]) -> list[Any]:
    """Findings (and rows) by (deprecation, source, object, line, column, user, relation, role), stably.

    Sorted one deprecation at a time, so the sort keys of only one deprecation's findings are held
    at once (a million findings' keys would be ~130 MB next to the findings)."""
    by_dep: dict[str, list[Any]] = {}
    for f in findings:
        model = f.deprecation if type(f) is Finding else f[0].model
        group = by_dep.get(model)
        if group is None:
            group = by_dep[model] = []
        group.append(f)
    findings.clear()
    for model in sorted(by_dep):
        group = by_dep.pop(model)
        group.sort(key=_sort_key)
        findings += group
    return findings


def _sort_key(f: Any) -> tuple[Any, ...]:
    if type(f) is Finding:
        return (f.source, f.object, f.line or 0, f.column or 0, f.user or "", f.relation, ROLE_ORDER.get(f.role, 3))
    t, key = f[0], f[1]
    return (key[0], key[1], 0, 0, key[4] or "", t.relation, ROLE_ORDER.get(t.role, 3))


def as_finding(f: Any) -> Finding:
    """A Finding from a row of _collect (a query text as one user ran it), or the Finding itself."""
    if type(f) is Finding:
        return f
    t, key, occ, note = f
    return Finding(t.model, t.relation, key[0], key[1], None, None, None, key[4], occ.count, occ.first, occ.last,
                   t.columns, t.ambiguous, note, t.role, t.text, via=t.via, pattern=t.pattern)


def finding_dict(f: Any) -> dict[str, Any]:
    """``as_finding(f).to_dict()`` without making the Finding (the JSON report of a million findings)."""
    if type(f) is Finding:
        return f.to_dict()
    t, key, occ, note = f
    return {"deprecation": t.model, "relation": t.relation, "source": key[0], "object": key[1], "path": None,
            "line": None, "column": None, "user": key[4], "count": occ.count, "first_seen": _iso(occ.first),
            "last_seen": _iso(occ.last), "columns": list(t.columns) if t.columns is not None else None,
            "ambiguous": t.ambiguous, "note": note, "role": t.role, "via": t.via, "pattern": t.pattern}


class Findings(Sequence[Finding]):
    """A scan's findings in order, each made when it is read from a compact row (template, place and
    user, counts): a popular table has a million, and a million Findings held at once cost ~180 MB
    more than their rows. Reads like a tuple of Findings; each read makes new (equal) objects."""

    __slots__ = ("_items",)

    def __init__(self, items: list[Any]) -> None:
        self._items = items

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return tuple(map(as_finding, self._items[i]))
        return as_finding(self._items[i])

    def __iter__(self) -> Iterator[Finding]:
        return map(as_finding, self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (Findings, tuple, list)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"Findings({len(self)} findings)"

    def deprecations(self) -> Iterator[str]:
        """Each finding's deprecation, in order, without making the Findings."""
        return (f.deprecation if type(f) is Finding else f[0].model for f in self._items)

    def where(self, keep: Callable[[str, str], bool]) -> "Findings":
        """The findings whose (deprecation, source) ``keep`` accepts."""
        return Findings([f for f in self._items if keep(*((f.deprecation, f.source) if type(f) is Finding
                                                          else (f[0].model, f[1][0])))])


def _snapshot_dict(s: Any) -> dict[str, Any]:
    w = s.delta
    return {"deprecation": s.deprecation, "queries": s.queries, "users": s.distinct_users,
            "per_user": dict(s.per_user), "since": _iso(s.window_start), "last_seen": _iso(s.window_end),
            "window": None if w is None else {
                "start": _iso(w.start), "end": _iso(w.end), "queries": w.queries, "users": w.distinct_users,
                "per_user": dict(w.per_user), "resets": w.resets}}


# Findings are grouped by what the text does with the deprecated relation, in this order.
ROLE_ORDER = {"read": 0, "write": 1, "ddl": 2}
