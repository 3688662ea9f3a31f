"""The scan: read every source, dedupe, prefilter, parse in parallel, match deprecations.

Flow: each source streams ``SqlText`` items; a text is looked up by value
(a hash table) so each distinct text is tested by the prefilter and parsed at
most once, while counts, users and first/last seen are aggregated per
occurrence (source, object, user). Texts that pass the prefilter go to the
worker pool as soon as they are first seen, so parsing overlaps reading.
"""

from __future__ import annotations

import datetime as _dt
import functools
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from deprecator.config import Config
from deprecator.errors import SourceError
from deprecator.parallel import DEFAULT_MAX_CHARS, ParseFn, ParsePool
from deprecator.prefilter import Prefilter
from deprecator.sources.base import (DBT_RUN_PREFIX, QUERY_SOURCE_KINDS, Source, SourceProblem, SqlText, UsageBasis,
                                     is_dbt_query)
from deprecator.sources.warehouse_views import PLPGSQL_FUNCTION
from deprecator.sql.model import ParseResult, Reference, RelationName
from deprecator.text import plural



@dataclass(frozen=True)
class ScanProgress:
    """Where a scan is, for a progress display (the library never writes to the terminal itself).

    ``phase`` is "read" (sources streaming in) or "parse" (the distinct candidate
    texts still being parsed once every source is read). Bytes count the sources
    that know their size (SQL files, history exports); ``bytes_total`` is None
    when none does. ``eta_seconds`` is a linear estimate of the time left in the
    phase, None until it can be made.
    """

    phase: str
    texts_read: int
    bytes_read: int = 0
    bytes_total: int | None = None
    parsed: int = 0
    to_parse: int = 0
    elapsed: float = 0.0
    eta_seconds: float | None = None


def _eta(done: float, total: float | None, since: float, done_at_start: float = 0.0) -> float | None:
    """Seconds left at the rate seen since ``since`` (a monotonic time), or None."""
    took = time.perf_counter() - since
    progressed = done - done_at_start
    if not total or progressed <= 0 or done > total or took < 0.5:
        return None
    return took * (total - done) / progressed


ProgressFn = Callable[[ScanProgress], None]

# At most this many malformed rows are listed per source; all are counted.
MAX_LISTED_MALFORMED = 100
_POLL_EVERY = 4096
PG_CATALOG = "pg_catalog"
_PG_DIALECTS = ("postgres", "postgresql")   # dialects whose unqualified names search pg_catalog first


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


# History sources whose rows carry the time each query ran: their uses are counted per
# ISO week from those times (pg_stat_statements has none; its weeks come from deltas).
WEEKLY_SOURCE_KINDS = frozenset({"history", "sql"})


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
            part = ([_finding_dict(f) for f in rows[i:i + batch]] if rows is not None
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


# -- sources ------------------------------------------------------------------
def build_sources(config: Config, paths: Sequence[str] = (), *, cwd: Path | None = None) -> tuple[list[Source], list[Any]]:
    """The sources a scan reads: ``paths`` (else the config's ``sql_paths``), history files, warehouse views.

    Returns the sources and the objects to close afterwards (warehouse connections).
    """
    from deprecator.sources.files import FileSource

    sources: list[Source] = []
    closers: list[Any] = []
    if paths:
        sources.append(FileSource(tuple(paths), root=cwd or Path.cwd(), strict=True))
    elif config.sql_paths:
        sources.append(FileSource(tuple(config.sql_paths), root=config.root))
    for h in config.history:
        factory = HISTORY_SOURCE_TYPES.get(h.type)
        if factory is None:
            raise SourceError(f"unknown history source type {h.type!r}",
                              hint=f"known types: {', '.join(sorted(HISTORY_SOURCE_TYPES))}")
        src = factory(config, h)
        sources.append(src)
        if hasattr(src, "close"):
            closers.append(src)
    if config.warehouse.url:
        from deprecator.sources.warehouse_views import WarehouseViewsSource
        from deprecator.warehouse import connect

        wh = connect(config)
        closers.append(wh)
        sources.append(WarehouseViewsSource(wh))
    return sources, closers


def _history_file(config: Config, history: Any) -> Source:
    """A history export (JSONL or CSV), its path relative to the config's folder."""
    from deprecator.sources.files import display_path
    from deprecator.sources.history_file import HistoryFileSource

    if history.path is None:
        raise SourceError("a history source of type file needs a path")
    p = history.path if history.path.is_absolute() else config.root / history.path
    return HistoryFileSource.from_options(p, history.options, object_name=display_path(p, config.root))


# Each history type builds its source with a factory ``(config, HistorySourceConfig) -> Source``.
HISTORY_SOURCE_TYPES: dict[str, Callable[[Config, Any], Source]] = {"file": _history_file}


def _lazy_factory(module: str) -> Callable[[Config, Any], Source]:
    def build(config: Config, history: Any) -> Source:
        import importlib

        return importlib.import_module(module).from_config(config, history)  # type: ignore[no-any-return]
    return build


HISTORY_SOURCE_TYPES["pg_stat_statements"] = _lazy_factory("deprecator.sources.pg_stat_statements")
HISTORY_SOURCE_TYPES["sql"] = _lazy_factory("deprecator.sources.sql_history")


# -- aggregation ----------------------------------------------------------------
_WEEKS: dict[int, int] = {}   # week (Monday's ordinal) -> one shared int object for it


class _Occurrence:
    # A popular text has an occurrence per user who ran it (a million in a big history), so the
    # uses per week are kept as one (week, uses) pair, with a dict only for the further weeks.
    __slots__ = ("count", "first", "last", "week", "week_uses", "more_weeks")

    def __init__(self) -> None:
        self.count = 0
        self.first: _dt.datetime | None = None
        self.last: _dt.datetime | None = None
        # uses per ISO week (the Monday's proleptic ordinal) for rows whose own
        # timestamps put them in one week; no week until such a row arrives
        self.week: int | None = None
        self.week_uses = 0
        self.more_weeks: dict[int, int] | None = None

    def add_week(self, monday: int, uses: int) -> None:
        if self.week is None:
            self.week, self.week_uses = _WEEKS.setdefault(monday, monday), uses   # one int object per week
        elif self.week == monday:
            self.week_uses += uses
        else:
            more = self.more_weeks
            if more is None:
                more = self.more_weeks = {}
            more[monday] = more.get(monday, 0) + uses

    @property
    def weeks(self) -> dict[int, int] | None:
        """Uses per week (None when no row had its own week)."""
        if self.week is None:
            return None
        return {self.week: self.week_uses, **(self.more_weeks or {})}


class _Candidate:
    """A distinct text that passed the prefilter, with every place it occurred."""

    __slots__ = ("text", "occurrences", "result", "origins")

    def __init__(self, text: str) -> None:
        self.text = text
        # (source, object, path, line, user) -> _Occurrence
        self.occurrences: dict[tuple[Any, ...], _Occurrence] = {}
        self.result: ParseResult | None = None
        # occurrence key -> where its search path came from (pg_stat_statements: "role", "default", ...)
        self.origins: dict[tuple[Any, ...], str] | None = None


def _matches(registry: Any, relation: RelationName) -> list[Any]:
    found = registry.by_relation(relation)   # one Deprecation or None
    return [] if found is None else [found]


def _may_use(registry: Any, ref: Reference) -> bool:
    """Whether a reference can resolve to a deprecation; the parse workers drop the others (every
    use of a reference below goes through its relation and candidates, or its wildcard pattern)."""
    if getattr(ref, "wildcard", False):
        return True
    return any(_matches(registry, c) for c in (ref.relation, *ref.candidates))


def _covered(registry: Any, ref: Reference) -> list[tuple[Any, RelationName]]:
    """A wildcard reference's (deprecation, relation) pairs: every deprecated relation its pattern covers."""
    by_model = {d.model: d for d in registry.deprecations}
    return [(by_model[r.label], r.old) for r in registry.rewrite_rules()
            if r.label in by_model and ref.covers(r.old)]


def _via(refs: Iterable[Reference]) -> tuple[str | None, str | None]:
    """("wildcard", its pattern(s)) when every reference names the relation through a wildcard table."""
    refs = list(refs)
    if refs and all(r.wildcard for r in refs):
        return "wildcard", ", ".join(sorted({str(r.relation) for r in refs}))
    return None, None


def _deprecations_for(registry: Any, ref: Reference) -> list[Any]:
    hits = _matches(registry, ref.relation)
    if not hits:
        # An unqualified name on a search path may resolve to any candidate schema.
        for cand in ref.candidates:
            hits = _matches(registry, cand)
            if hits:
                break
    return hits


def _is_open(ref: Reference) -> bool:
    """An unqualified name the search path leaves open (several candidate schemas)."""
    return ref.qualified_as_written <= 1 and len(ref.candidates) > 1


def _open_names(cands: list[_Candidate], registry: Any, implicit_catalog: bool = False) -> set[RelationName]:
    """Names to look up in the warehouse: every candidate of an open name that might be a
    deprecated relation, and (``implicit_catalog``) the pg_catalog spelling of each such
    unqualified name, which PostgreSQL searches first."""
    out: set[RelationName] = set()
    for cand in cands:
        res = cand.result
        if res is None:
            continue
        for ref in res.references:
            if not any(_matches(registry, c) for c in (ref.relation, *ref.candidates)):
                continue
            if _is_open(ref):
                out.update(ref.candidates)
            system = _system_name(ref) if implicit_catalog else None
            if system is not None:
                out.add(system)
    return out


def _system_name(ref: Reference) -> RelationName | None:
    """The pg_catalog relation an unqualified name reads first when the search path does not list pg_catalog."""
    if ref.qualified_as_written > 1:
        return None
    cands = ref.candidates or (ref.relation,)
    if any(c.schema == PG_CATALOG for c in cands):
        return None       # listed explicitly: searched in its place in the path
    return RelationName(cands[0].catalog, PG_CATALOG, ref.relation.name)


def _roles_to_check(cands: list[_Candidate], registry: Any) -> tuple[set[str], set[str]]:
    """The (roles, schemas) whose USAGE decides an open name: users of texts with open deprecated names."""
    roles: set[str] = set()
    schemas: set[str] = set()
    for cand in cands:
        res = cand.result
        if res is None:
            continue
        found = False
        for ref in res.references:
            if _is_open(ref) and any(_matches(registry, c) for c in ref.candidates):
                schemas.update(c.schema for c in ref.candidates if c.schema is not None)
                found = True
        if found:
            roles.update(k[4] for k in cand.occurrences if k[4] is not None)
    return roles, schemas


def _existing(config: Config, names: set[RelationName], closers: list[Any], built: bool,
              roles: set[str] | None = None, schemas: set[str] | None = None,
              ) -> tuple[set[RelationName] | None, dict[tuple[str, str], bool] | None]:
    """Which of ``names`` exist in the configured warehouse, and which ``roles`` have USAGE on
    which ``schemas``; None for what it cannot say (no warehouse, or an adapter without the lookup)."""
    if not names or not config.warehouse.url:
        return None, None
    wh = next((c for c in closers if callable(getattr(c, "existing_relations", None))), None)
    if wh is None and not built:
        # The caller gave its own sources: open the configured warehouse just for the lookup.
        from deprecator.warehouse import connect

        wh = connect(config)
        closers.append(wh)
    lookup = getattr(wh, "existing_relations", None)
    if not callable(lookup):
        return None, None
    usage_of = getattr(wh, "schema_usage", None)
    privileges = usage_of(roles, schemas) if roles and schemas and callable(usage_of) else None
    return set(lookup(names)), privileges


def _resolve(ref: Reference, registry: Any, existing: set[RelationName] | None,
             usable: Callable[[RelationName], bool] | None = None,
             implicit_catalog: bool = False) -> list[tuple[Any, RelationName, bool, str | None]]:
    """The deprecations a reference uses: (deprecation, relation, ambiguous, note) each.

    An open unqualified name resolves, as PostgreSQL does, to the first candidate
    in search-path order that exists in the warehouse; when no warehouse can say
    (``existing`` is None) or no candidate exists, it stays ambiguous. With
    ``implicit_catalog`` pg_catalog is searched first unless the path lists it, so
    a name that exists there reads the system relation (no use). ``usable`` says
    which candidates the querying role may search (USAGE on the schema); PostgreSQL
    skips the others.
    """
    if ref.wildcard:
        return [(dep, rel, False, None) for dep, rel in _covered(registry, ref)]
    if existing is not None and implicit_catalog:
        system = _system_name(ref)
        if system is not None and system in existing:
            return []     # the system relation shadows every search-path schema
    if not _is_open(ref):
        return [(dep, ref.relation, False, None) for dep in _deprecations_for(registry, ref)]
    order = list(ref.candidates)
    skipped: list[str] = []
    if usable is not None:
        allowed = [c for c in order if usable(c)]
        if allowed:       # the role read something, so at least one schema was usable
            skipped = [c.schema or "" for c in order if c not in allowed]
            order = allowed
    schemas = ", ".join(c.schema or "" for c in ref.candidates)
    if existing is None:
        note = (f"ambiguous: `{ref.written}` is unqualified and the search path has several schemas "
                f"({schemas}); it is the first of {', '.join(str(c) for c in ref.candidates)} that exists "
                f"when the query runs (reported as {ref.relation})")
        return [(dep, ref.relation, True, note) for dep in _deprecations_for(registry, ref)]
    skip_note = (f"; the role has no USAGE on schema {', '.join(skipped)}, which PostgreSQL skips"
                 if skipped else "")
    first = next((c for c in order if c in existing), None)
    if first is None:
        for cand in order:
            hits = _matches(registry, cand)
            if hits:
                note = (f"ambiguous: `{ref.written}` is unqualified and none of "
                        f"{', '.join(str(c) for c in order)} exists in the warehouse now, so the search "
                        f"path ({schemas}) cannot tell which one the query read (reported as {cand}){skip_note}")
                return [(dep, cand, True, note) for dep in hits]
        return []
    hits = _matches(registry, first)
    if not hits:
        return []   # the name reads another schema's relation, not the deprecated one
    missing = [str(c) for c in order[: order.index(first)]]
    why = (f"{', '.join(missing)} {'does' if len(missing) == 1 else 'do'} not exist and {first} does"
           if missing else f"{first.schema} is the first schema of the search path and {first} exists"
           if not skipped else f"{first.schema} is the first schema of the search path the role may use "
           f"and {first} exists")
    shadowed = [str(c) for c in order[order.index(first) + 1:] if c in existing]
    also = (f"; {', '.join(shadowed)} also {'exists but comes' if len(shadowed) == 1 else 'exist but come'} later"
            if shadowed else "")
    note = (f"`{ref.written}` is unqualified: resolved via search path ({schemas}) to {first}: {why} "
            f"(in the warehouse at scan time){also}{skip_note}")
    return [(dep, first, False, note) for dep in hits]


# -- the scan -----------------------------------------------------------------
def run_scan(
    config: Config,
    registry: Any,
    *,
    paths: Sequence[str] = (),
    sources: Sequence[Source] | None = None,
    progress: bool | ProgressFn = False,
    workers: int | None = None,
    parse_fn: ParseFn | None = None,
    max_chars: int = DEFAULT_MAX_CHARS,
    record: bool = True,
) -> ScanReport:
    """Scan every source for references to the registry's deprecations.

    ``sources`` overrides what the config names; ``paths`` replaces the config's
    ``sql_paths``. With ``record`` a usage snapshot per deprecation is stored in
    the state store when a query-history source was read.
    """
    started_at = _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None)
    t0 = time.perf_counter()
    closers: list[Any] = []
    built = sources is None
    if sources is None:
        sources, closers = build_sources(config, paths)
        config, registry = _with_warehouse_search_path(config, registry, closers)
        _check_registered(registry, closers)
    report_progress = _Progress(progress, sources, t0) if callable(progress) else None

    prefilter = Prefilter(registry.names_for_prefilter(), wildcard_tables=config.dialect == "bigquery")
    seen: dict[str, bool] = {}                 # distinct text -> may it mention a deprecated name
    cand_index: dict[Any, int] = {}            # text, or (text, search path) -> index in cands
    shared: dict[Any, Any] = {}                # one copy of equal names, strings and column sets in results
    cands: list[_Candidate] = []
    problems: list[Unparsed] = []
    bases: list[UsageBasis] = []
    malformed_by_object: dict[tuple[str, str], int] = {}
    stats: dict[str, Any] = dict(texts_read=0, queries_read=0, distinct_texts=0, prefiltered_out=0,
                                 parsed=0, fallback=0, error=0, malformed_rows=0, unreadable=0)
    query_kinds_read = False
    pool = ParsePool(config.dialect, config.warehouse.default_schema, config.warehouse.default_catalog,
                     workers=workers, parse_fn=parse_fn, max_chars=max_chars,
                     keep=functools.partial(_may_use, registry))
    try:
        n = queries = polled = 0
        seen_get, may_reference, poll_every = seen.get, prefilter.may_reference, _POLL_EVERY
        for source in sources:
            if source.kind in QUERY_SOURCE_KINDS:
                query_kinds_read = True
            for item in source.read():
                if type(item) is not SqlText:
                    if isinstance(item, SourceProblem):
                        _record_problem(item, problems, malformed_by_object, stats)
                        continue
                    if isinstance(item, UsageBasis):
                        bases.append(item)
                        continue
                n += 1
                text = item.text
                passes = seen_get(text)
                if passes is None:
                    passes = seen[text] = may_reference(text)
                queries += item.count
                if passes:
                    schema = item.default_schema
                    ckey = text if schema is None else (text, schema)
                    idx = cand_index.get(ckey)
                    if idx is None:
                        idx = cand_index[ckey] = len(cands)
                        cands.append(_Candidate(text))
                        pool.submit(idx, text, schema)
                    _aggregate(cands[idx], item)
                if not n % poll_every:
                    for key, res in pool.poll():
                        cands[key].result = _shared(res, shared)  # type: ignore[index]
                        polled += 1
                    if report_progress:
                        report_progress.read(n)
        stats["texts_read"] = n
        stats["queries_read"] = queries
        _count_unlisted(problems, malformed_by_object)
        if report_progress:
            report_progress.read(n)
        done = polled
        for key, res in pool.drain():
            cands[key].result = _shared(res, shared)  # type: ignore[index]
            done += 1
            if report_progress and done % 64 == 0:
                report_progress.parsed(n, done, len(cands))
        worker_count = pool.workers
        crashes = pool.crashes
        implicit_catalog = config.dialect in _PG_DIALECTS
        roles, schemas = _roles_to_check(cands, registry) if implicit_catalog else (set(), set())
        existing, privileges = _existing(config, _open_names(cands, registry, implicit_catalog), closers, built,
                                         roles, schemas)
    finally:
        pool.close()
        for c in closers:
            try:
                c.close()
            except Exception:  # closing must not hide the scan's own error
                pass

    stats["distinct_texts"] = len(seen)
    stats["prefiltered_out"] = sum(1 for v in seen.values() if not v)
    del seen, cand_index
    findings, unparsed, usage, weekly_counts = _collect(cands, registry, stats, existing, privileges, implicit_catalog)
    findings = _history_only_for_dropped(findings, registry)
    stats["worker_crashes"] = crashes
    stats["findings"] = len(findings)
    stats["workers"] = worker_count
    stats["elapsed_seconds"] = round(time.perf_counter() - t0, 3)
    snapshots: tuple[Any, ...] = ()
    scan_id = None
    weekly = _weekly_cells(weekly_counts)
    del weekly_counts
    if query_kinds_read:
        snapshots = tuple(_snapshots(registry, usage, _windows(registry, findings, bases)))
    record_error = None
    if record:
        import sqlalchemy as sa

        from deprecator.db import db_error
        from deprecator.errors import DeprecatorError
        from deprecator.state import StateStore

        # The findings are worth having even when the store cannot take them
        # (read-only, immutable, full): the report says it was not recorded.
        try:
            store = StateStore(config.state_url, config.root)
            try:
                scan_id = store.record_scan(started_at, stats, snapshots, weekly=weekly,
                                            objects=_objects(findings))
            finally:
                store.close()
        except DeprecatorError as e:
            record_error = str(e)
        except (sa.exc.SQLAlchemyError, OSError) as e:
            from deprecator.redact import mask_url

            record_error = f"cannot write to the state store {mask_url(config.state_url)}: {db_error(e)}"
    return ScanReport(findings, tuple(problems) + tuple(unparsed), stats, snapshots, scan_id,
                      record_error, tuple(bases), weekly)


def _weekly_cells(counts: Mapping[tuple[str, str, int, str | None], int]) -> tuple[Any, ...]:
    """The (deprecation, source, week, user) counts as state.WeeklyUse cells, weeks as dates."""
    if not counts:
        return ()
    from deprecator.state import WeeklyUse

    dates: dict[int, _dt.date] = {}   # one date per week, not one per cell (a popular table has ~500,000 cells)
    # sorted by the keys themselves (a user None sorts as ""): no key or item tuple is made per cell
    make = tuple.__new__   # a NamedTuple's own __new__ costs ~1 us a cell
    return tuple(make(WeeklyUse, (dep, source_key, dates.get(monday) or dates.setdefault(
                     monday, _dt.date.fromordinal(monday)), user, counts[(dep, source_key, monday, user)]))
                 for dep, source_key, monday, user in sorted(counts, key=_cell_order))


def _cell_order(k: tuple[str, str, int, str | None]) -> tuple[str, str, int, str]:
    return k if k[3] is not None else (k[0], k[1], k[2], "")   # type: ignore[return-value]


def _objects(findings: Iterable[Finding]) -> set[tuple[str, str, str]]:
    """(deprecation, kind, name) of each view and file that reads a deprecated model (the digest's consumers)."""
    out: set[tuple[str, str, str]] = set()
    if isinstance(findings, Findings):   # look at the rows: no Finding is made for a query text
        for item in findings._items:
            if type(item) is not Finding:
                t, key = item[0], item[1]
                if key[0] == "view":
                    out.add((t.model, "view", key[1]))
                continue
            if item.source == "view":
                out.add((item.deprecation, "view", item.object))
            elif item.source == "file":
                out.add((item.deprecation, "file", item.path or item.object))
        return out
    for f in findings:
        if f.source == "view":
            out.add((f.deprecation, "view", f.object))
        elif f.source == "file":
            out.add((f.deprecation, "file", f.path or f.object))
    return out


def _with_warehouse_search_path(config: Config, registry: Any, closers: list[Any]) -> tuple[Config, Any]:
    """With no ``default_schema`` configured, unqualified names resolve as the warehouse does.

    Plan takes the adapter's search path (PostgreSQL: the server's); the scan must
    too, or ``select * from customer`` in a file would silently match nothing. The
    registry is normalized again when it was loaded without one.
    """
    if config.warehouse.default_schema:
        return config, registry
    wh = next((c for c in closers if callable(getattr(c, "list_views", None))), None)
    schema = tuple(wh.default_schema or ()) if wh is not None else ()   # WarehouseError: the CLI's exit 2
    if not schema:
        return config, registry
    import dataclasses

    config = dataclasses.replace(config, warehouse=dataclasses.replace(config.warehouse, default_schema=schema))
    if not getattr(registry, "default_schema", ()) and getattr(registry, "path", None) == config.registry_path:
        registry = config.load_registry()
    return config, registry


def _check_registered(registry: Any, closers: list[Any]) -> None:
    """A registered name the configured warehouse lacks is an error, not "no references found"
    (``deprecator.existence``); the connections are closed when it raises."""
    wh = next((c for c in closers if callable(getattr(c, "list_views", None))), None)
    if wh is None:
        return
    from deprecator.existence import check_registered_names

    try:
        check_registered_names(wh, registry)
    except BaseException:
        for c in closers:
            try:
                c.close()
            except Exception:  # closing must not hide the error
                pass
        raise


def _history_only_for_dropped(findings: "Findings", registry: Any) -> "Findings":
    """A model registered as dropped is looked for in query history and files only: the
    warehouse's views and functions cannot read a relation that is gone."""
    dropped = {d.model for d in registry.deprecations if getattr(d, "dropped", False)}
    if not dropped:
        return findings
    return findings.where(lambda model, source: model not in dropped or source in QUERY_SOURCE_KINDS
                          or source == "file")


def _shared(res: ParseResult, table: dict[Any, Any]) -> ParseResult:
    """``res`` with the parts of its references that other results repeat (relation names, columns,
    short strings) replaced by one shared equal copy: each result arrives as its own copy of them
    (unpickled), ~0.8 KB a text when most texts read the same few tables. Values are unchanged."""
    for ref in res.references:
        d = getattr(ref, "__dict__", None)   # frozen for callers; an equal value is put in place
        if d is None:
            return res
        for name in _SHARED_FIELDS:
            v = d.get(name)
            if v is not None:
                d[name] = table.setdefault(v, v)
    return res


_SHARED_FIELDS = ("relation", "written", "alias", "statement_kind", "role", "columns", "candidates")


def _aggregate(cand: _Candidate, item: SqlText) -> None:
    key = (item.source, item.object, item.path, item.line, item.user)
    occ = cand.occurrences.get(key)
    if occ is None:
        if item.user is not None:   # one copy of each user name (each row brings its own)
            key = (item.source, item.object, item.path, item.line, sys.intern(item.user))
        occ = cand.occurrences[key] = _Occurrence()
        if item.search_path_origin is not None:
            if cand.origins is None:
                cand.origins = {}
            cand.origins[key] = item.search_path_origin
    occ.count += item.count
    first, last = item.first_seen, item.last_seen
    if first is not None and (occ.first is None or first < occ.first):
        occ.first = first
    if last is not None and (occ.last is None or last > occ.last):
        occ.last = last
    if first is not None and last is not None and item.source in WEEKLY_SOURCE_KINDS:
        o, p = first.toordinal(), last.toordinal()
        monday = o - (o + 6) % 7          # date.weekday() is (toordinal() + 6) % 7
        if p - (p + 6) % 7 == monday:
            occ.add_week(monday, item.count)


def _record_problem(p: SourceProblem, problems: list[Unparsed], malformed: dict[tuple[str, str], int],
                    stats: dict[str, Any]) -> None:
    if p.kind == "malformed":
        stats["malformed_rows"] += 1
        k = (p.source, p.object)
        seen = malformed.get(k, 0)
        malformed[k] = seen + 1
        if seen < MAX_LISTED_MALFORMED:
            problems.append(Unparsed(p.source, p.object, "malformed", p.reason, p.line))
        elif seen == MAX_LISTED_MALFORMED:
            # a placeholder: _count_unlisted says how many it stands for once the source is read
            problems.append(Unparsed(p.source, p.object, "malformed", _UNLISTED, p.line))
    elif p.kind == "partial":   # listed whatever the text names: what it runs may name anything
        problems.append(Unparsed(p.source, p.object, "fallback", p.reason, p.line))
    else:
        stats["unreadable"] += 1
        problems.append(Unparsed(p.source, p.object, "error", p.reason, p.line))


_UNLISTED = "more malformed rows"


def _count_unlisted(problems: list[Unparsed], malformed: Mapping[tuple[str, str], int]) -> None:
    """Say, in each source's "more malformed rows" entry, how many rows the list leaves out."""
    for i, u in enumerate(problems):
        if u.status == "malformed" and u.error == _UNLISTED:
            total = malformed.get((u.source, u.object), 0)
            problems[i] = Unparsed(u.source, u.object, "malformed",
                                   f"{total - MAX_LISTED_MALFORMED:,} more malformed rows from line {u.line} on, "
                                   f"not listed (the first {MAX_LISTED_MALFORMED} are; all {total:,} are counted "
                                   "in stats.malformed_rows)", u.line)


def _excerpt(text: str, limit: int = 120) -> str:
    one = " ".join(text[: limit * 2].split())
    return one if len(one) <= limit else one[: limit - 3] + "..."


def _collect(cands: list[_Candidate], registry: Any, stats: dict[str, Any],
             existing: set[RelationName] | None = None,
             privileges: Mapping[tuple[str, str], bool] | None = None,
             implicit_catalog: bool = False) -> tuple[Findings, list[Unparsed], dict, dict]:
    findings: list[Any] = []   # Findings (files) and rows (query texts, see _finding)
    unparsed: list[Unparsed] = []
    # deprecation model -> user -> [count, first, last] for query sources
    usage_by_user: dict[str, dict[str | None, list[Any]]] = {}
    weekly: dict[tuple[str, str, int, str | None], int] = {}
    interned: dict[Any, Any] = {}     # one copy of each relation name and column list the findings share
    place_names: dict[tuple[str, str], str] = {}   # one "source:object" string each
    checked_roles = {r for r, _ in privileges} if privileges else set()
    for i, cand in enumerate(cands):
        # Each candidate is let go once its findings are made (the list is the caller's, done with
        # after this): its occurrences and parse result give way to the findings as they grow.
        cands[i] = None  # type: ignore[call-overload]
        res = cand.result
        if res is None:  # cannot happen: drain answers every key; keep the scan honest if it does
            res = ParseResult("error", error="no result from the parser")
        stats[res.status] = stats.get(res.status, 0) + 1
        if res.status != "parsed":
            # A whole file's "line" is just 1; a text starting mid-file keeps its line.
            places = sorted({(k[0], k[1], k[3] if k[2] and k[3] != 1 else None) for k in cand.occurrences},
                            key=lambda t: (t[0], t[1], t[2] or 0))
            for source, obj, line in places:
                why = res.error or res.status
                if source == PLPGSQL_FUNCTION:
                    why = ("PL/pgSQL body, read as the SQL statements it runs (numbered here), control flow "
                           f"set aside; review the rest by hand: {why}")
                unparsed.append(Unparsed(source, obj, res.status, why, line, _excerpt(cand.text)))
        if not res.references:
            continue
        by_role: dict[str | None, list[tuple[Reference, Any, RelationName, bool, str | None]]] = {}
        # Per (role, view name): the text's findings before the occurrence is known (_template),
        # worked out once however many users ran the text.
        templates: dict[tuple[str | None, str | None], list[_Template]] = {}
        dbt_run: bool | None = None      # dbt's own query comment: its weekly uses are kept apart
        for key, occ in cand.occurrences.items():
            source, obj, path, line0, user = key
            # only a role whose USAGE the warehouse reported resolves on its own
            role = user if user in checked_roles else None
            matched = by_role.get(role)
            if matched is None:
                matched = by_role[role] = _match(res, registry, existing, role, privileges, implicit_catalog)
            if not matched:
                continue
            origin = cand.origins.get(key) if cand.origins is not None else None
            if path is not None:
                for ref, dep, rel, amb, how in matched:
                    note = _resolution_note(ref, how, origin, user)
                    via, pattern = _via([ref])
                    findings.append(Finding(
                        dep.model, str(rel), source, obj, path, ref.line + line0 - 1, ref.column,
                        user, occ.count, occ.first, occ.last, _cols(ref.columns), amb, note, ref.role,
                        via=via, pattern=pattern))
                continue
            # Not a file: one finding per (deprecation, relation, role) for this text and user.
            tkey = (role, obj if source == "view" else None)
            tmpl = templates.get(tkey)
            if tmpl is None:
                tmpl = templates[tkey] = _template(matched, source, obj, interned)
                for t in tmpl:
                    t.text = cand.text
            assumed = origin in ("default", "server")
            for t in tmpl:
                note = _merged_note(t.contributors, origin, user) if assumed and t.unqualified else t.note
                # a row, made into a Finding when read (Findings): a quarter of a Finding's memory
                findings.append((t, key, occ, note))
            if source in QUERY_SOURCE_KINDS and tmpl:
                # usage counts the text's runs once per deprecation, whatever it does with it
                weeks = occ.weeks
                if weeks:
                    place = place_names.get((source, obj))
                    if place is None:
                        place = place_names[(source, obj)] = f"{source}:{obj}"
                    if dbt_run is None:
                        dbt_run = is_dbt_query(cand.text)
                    week_user = DBT_RUN_PREFIX + (user or "") if dbt_run else user
                for model in tmpl[0].models:
                    per_user = usage_by_user.get(model)
                    if per_user is None:
                        per_user = usage_by_user[model] = {}
                    u = per_user.get(user)
                    if u is None:
                        per_user[user] = [occ.count, occ.first, occ.last]
                    else:
                        u[0] += occ.count
                        if occ.first is not None and (u[1] is None or occ.first < u[1]):
                            u[1] = occ.first
                        if occ.last is not None and (u[2] is None or occ.last > u[2]):
                            u[2] = occ.last
                    if weeks:
                        for monday, n in weeks.items():
                            wk = (model, place, monday, week_user)
                            weekly[wk] = weekly.get(wk, 0) + n
    # per deprecation, (user, count, first, last) once per user: what _snapshots sums
    usage = {model: [(user, *agg) for user, agg in per_user.items()] for model, per_user in usage_by_user.items()}
    unparsed.sort(key=lambda u: (u.source, u.object, u.line or 0, u.status, u.error))
    return Findings(_sorted_findings(findings)), unparsed, usage, weekly


def _sorted_findings(findings: list[Any]) -> list[Any]:
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
        return (f.source, f.object, f.line or 0, f.column or 0, f.user or "", f.relation, _ROLE_ORDER.get(f.role, 3))
    t, key = f[0], f[1]
    return (key[0], key[1], 0, 0, key[4] or "", t.relation, _ROLE_ORDER.get(t.role, 3))


def _finding(f: Any) -> Finding:
    """A Finding from a row of _collect (a query text as one user ran it), or the Finding itself."""
    if type(f) is Finding:
        return f
    t, key, occ, note = f
    return Finding(t.model, t.relation, key[0], key[1], None, None, None, key[4], occ.count, occ.first, occ.last,
                   t.columns, t.ambiguous, note, t.role, t.text, via=t.via, pattern=t.pattern)


def _finding_dict(f: Any) -> dict[str, Any]:
    """``_finding(f).to_dict()`` without making the Finding (the JSON report of a million findings)."""
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
            return tuple(map(_finding, self._items[i]))
        return _finding(self._items[i])

    def __iter__(self) -> Iterator[Finding]:
        return map(_finding, self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (Findings, tuple, list)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"Findings({len(self)} findings)"

    def where(self, keep: Callable[[str, str], bool]) -> "Findings":
        """The findings whose (deprecation, source) ``keep`` accepts."""
        return Findings([f for f in self._items if keep(*((f.deprecation, f.source) if type(f) is Finding
                                                          else (f[0].model, f[1][0])))])


class _Template:
    """One finding of a text before its occurrence (user, counts) is known."""

    __slots__ = ("model", "relation", "role", "columns", "ambiguous", "contributors", "note", "unqualified", "models",
                 "via", "pattern", "text")

    def __init__(self, model: str, relation: str, role: str, columns: tuple[str, ...] | None) -> None:
        self.model, self.relation, self.role, self.columns = model, relation, role, columns
        self.ambiguous = False
        self.contributors: list[tuple[Reference, str | None]] = []   # (reference, how it resolved)
        self.note: str | None = None          # the note when the search path was not assumed
        self.unqualified = False              # a contributor is unqualified: an assumed path adds to the note
        self.models: tuple[str, ...] = ()     # (on the first template) every deprecation the text uses
        self.via: str | None = None           # _via of the contributors
        self.pattern: str | None = None
        self.text: str | None = None          # the text, for Finding.text


def _template(matched: list[tuple[Reference, Any, RelationName, bool, str | None]], source: str, obj: str,
              interned: dict[Any, Any]) -> list[_Template]:
    """The findings of one text as a role runs it: one per (deprecation, relation, role), columns merged."""
    merged: dict[tuple[str, str, str], _Template] = {}
    for ref, dep, rel, amb, how in matched:
        if source == "view" and ref.role != "read" and obj == str(ref.relation):
            continue  # the view's own CREATE statement, not a use
        rel_s = str(rel)
        rel_s = interned.setdefault(rel_s, rel_s)
        k = (dep.model, rel_s, ref.role)
        now = _cols(ref.columns)
        t = merged.get(k)
        if t is None:
            t = merged[k] = _Template(dep.model, rel_s, ref.role, now)
        else:
            prev = t.columns
            t.columns = None if prev is None or now is None else tuple(sorted(set(prev) | set(now)))
        if amb:
            t.ambiguous = True
        t.contributors.append((ref, how))
        t.unqualified = t.unqualified or ref.qualified_as_written <= 1
    out = list(merged.values())
    for t in out:
        t.note = _merged_note(t.contributors, None, None)
        t.via, t.pattern = _via(r for r, _ in t.contributors)
        if t.columns is not None:
            t.columns = interned.setdefault(t.columns, t.columns)
    if out:
        out[0].models = tuple({t.model: None for t in out})
    return out


def _merged_note(contributors: list[tuple[Reference, str | None]], origin: str | None, user: str | None) -> str | None:
    notes: list[str] = []
    for ref, how in contributors:
        note = _resolution_note(ref, how, origin, user)
        if note is not None and note not in notes:
            notes.append(note)
    return "; ".join(notes) or None


def _match(res: ParseResult, registry: Any, existing: set[RelationName] | None, role: str | None,
           privileges: Mapping[tuple[str, str], bool] | None, implicit_catalog: bool,
           ) -> list[tuple[Reference, Any, RelationName, bool, str | None]]:
    """Every (reference, deprecation, relation, ambiguous, note) a parsed text uses, as ``role`` runs it."""
    usable: Callable[[RelationName], bool] | None = None
    if role is not None and privileges is not None:
        known = privileges
        # an unknown (role, schema) pair: cannot say, so the schema stays in the path
        usable = lambda c: known.get((role, c.schema or ""), True)  # noqa: E731
    out = []
    for ref in res.references:
        for dep, rel, amb, how in _resolve(ref, registry, existing, usable, implicit_catalog):
            out.append((ref, dep, rel, amb, how))
    return out


def _resolution_note(ref: Reference, how: str | None, origin: str | None, user: str | None) -> str | None:
    """How the relation of an unqualified name was resolved, when that took a search path (None otherwise)."""
    if ref.qualified_as_written > 1:
        return None
    parts = [how] if how else []
    if origin in ("default", "server"):
        used = "the configured default" if origin == "default" else "the server's search_path"
        parts.append(f"`{ref.written}` is unqualified and role {user or '(unknown)'} sets no search_path: "
                     f"{used} was assumed (a SET search_path inside a session is not visible)")
    return "; ".join(parts) or None


def _cols(columns: Iterable[str] | None) -> tuple[str, ...] | None:
    return None if columns is None else tuple(sorted(columns))


def _windows(registry: Any, findings: Sequence[Finding], bases: Sequence[UsageBasis]) -> dict[str, Any]:
    """Per deprecation, the queries since the previous reading of cumulative counters (a UsageWindow),
    from the deltas the sources measured per text; empty when no source had a previous reading."""
    from deprecator.state import UsageWindow

    counting = [b for b in bases if b.window_start is not None]
    if not counting:
        return {}
    per_model: dict[str, dict[str, int]] = {}
    seen: set[tuple[Any, ...]] = set()
    for f in findings:
        for i, b in enumerate(counting):
            n = b.window_counts.get((f.object, f.user)) if f.source == b.source else None
            key = (f.deprecation, i, f.object, f.user)
            if n is None or key in seen:     # a text that reads and writes has two findings: count it once
                continue
            seen.add(key)
            if n:
                users = per_model.setdefault(f.deprecation, {})
                users[f.user or "(unknown)"] = users.get(f.user or "(unknown)", 0) + n
    start = min(b.window_start for b in counting if b.window_start is not None)
    end = max(b.read_at for b in counting)
    resets = sum(b.resets_in_window for b in counting)
    return {dep.model: UsageWindow(sum(per_model.get(dep.model, {}).values()), per_model.get(dep.model, {}),
                                   start, end, 1, resets)
            for dep in registry.deprecations}


def _snapshot_dict(s: Any) -> dict[str, Any]:
    w = s.delta
    return {"deprecation": s.deprecation, "queries": s.queries, "users": s.distinct_users,
            "per_user": dict(s.per_user), "since": _iso(s.window_start), "last_seen": _iso(s.window_end),
            "window": None if w is None else {
                "start": _iso(w.start), "end": _iso(w.end), "queries": w.queries, "users": w.distinct_users,
                "per_user": dict(w.per_user), "resets": w.resets}}


def _snapshots(registry: Any, usage: Mapping[str, list[tuple[str | None, int, Any, Any]]],
               windows: Mapping[str, Any] | None = None) -> list[Any]:
    from deprecator.state import UsageSnapshot

    out = []
    for dep in registry.deprecations:
        rows = usage.get(dep.model, [])
        per_user: dict[str, int] = {}
        first = last = None
        for user, count, f, l in rows:
            u = user if user is not None else "(unknown)"
            per_user[u] = per_user.get(u, 0) + count
            if f is not None and (first is None or f < first):
                first = f
            if l is not None and (last is None or l > last):
                last = l
        out.append(UsageSnapshot(dep.model, sum(per_user.values()), len(per_user), per_user, first, last,
                                 delta=(windows or {}).get(dep.model)))
    return out


class _Progress:
    """Calls the caller's progress function with ``ScanProgress`` values; byte counts come from
    the sources that offer ``size_hint()`` / ``bytes_read()``."""

    def __init__(self, fn: ProgressFn, sources: Sequence[Source], t0: float) -> None:
        self.fn, self.t0 = fn, t0
        self.sized = [s for s in sources
                      if callable(getattr(s, "size_hint", None)) and callable(getattr(s, "bytes_read", None))]
        sizes = [s.size_hint() for s in self.sized]  # type: ignore[attr-defined]
        known = [z for z in sizes if z is not None]
        self.total = sum(known) if known else None
        self.parse_start: tuple[float, int] | None = None

    def read(self, n: int) -> None:
        done = sum(s.bytes_read() for s in self.sized)  # type: ignore[attr-defined]
        self.fn(ScanProgress("read", n, done, self.total, elapsed=time.perf_counter() - self.t0,
                             eta_seconds=_eta(done, self.total, self.t0)))

    def parsed(self, n: int, done: int, of: int) -> None:
        if self.parse_start is None:
            self.parse_start = (time.perf_counter(), done)
        since, at_start = self.parse_start
        self.fn(ScanProgress("parse", n, parsed=done, to_parse=of, elapsed=time.perf_counter() - self.t0,
                             eta_seconds=_eta(done, of, since, at_start)))


# -- text rendering -------------------------------------------------------------
def _n(count: int, singular: str, many: str | None = None) -> str:
    """``1 view``, ``2,048 views``: a count with its noun in the right number, thousands grouped."""
    return plural(count, singular, many, grouped=True)


def _sql_name(dotted: str, dialect: str | None) -> str:
    """A relation's ``schema.name`` as SQL text: parts quoted where they must be (mixed case, spaces,
    keywords), so a name can be copied from the report into a query. (A part that itself holds a
    dot cannot be told apart here and is shown as it is.)"""
    if dialect is None:
        return dotted
    from deprecator.sql.names import render_part

    try:
        return ".".join(render_part(p, dialect) for p in dotted.split("."))
    except Exception:  # rendering is cosmetic: never lose the report over it
        return dotted


def _where(f: Finding, dialect: str | None = None) -> str:
    if f.path is not None:
        return f"{f.path}:{f.line}:{f.column}"
    obj = _sql_name(f.object, dialect) if f.source == "view" else f.object
    return f"{f.source} {obj}" + (f" ({f.user})" if f.user else "")


# Findings are grouped by what the text does with the deprecated relation, in this order.
_ROLE_ORDER = {"read": 0, "write": 1, "ddl": 2}
_ROLE_HEADINGS = {
    "read": "Readers (read it), migrate to {target}:",
    "write": "Producers (write it), switch these off:",
    "ddl": "DDL (alter, drop, grant, comment on it), move these to {target} or remove them:",
}


def _ts(v: _dt.datetime) -> str:
    return f"{v:%Y-%m-%d %H:%M:%S} UTC"


def _since_lines(snap: Any, bases: Sequence[UsageBasis]) -> list[str]:
    """Since when the counts count, and the window since the previous scan (every report says which)."""
    if snap.window_start is None:
        return []
    why = next((f" ({b.source} statistics reset)" for b in bases if b.since == snap.window_start), "")
    line = f"    counted since {_ts(snap.window_start)}{why}"
    w = snap.delta
    if w is not None and w.start is not None and w.end is not None:
        runs = _n(w.queries, "query", "queries") if w.queries else "none"
        line += f"; {runs} since the previous scan ({_ts(w.start)} to {_ts(w.end)}"
        line += f", statistics reset in between: calls before the reset are not counted)" if w.resets else ")"
    return [line]


def _basis_lines(bases: Sequence[UsageBasis]) -> list[str]:
    out = []
    for b in bases:
        since = _ts(b.since) if b.since is not None else "an unknown time (no pg_stat_statements_info)"
        line = f"Query counts from {b.source} ({b.object}) are calls since its statistics reset at {since}"
        line += f", read at {_ts(b.read_at)}"
        if b.excluded_own:
            line += f"; {_n(b.excluded_own, 'statement')} of deprecator's own left out"
        line += "."
        if b.evictions:
            line += (f" It evicted its least-run statements {_n(b.evictions, 'time')} since the reset (more distinct "
                     "statements than pg_stat_statements.max): one evicted and run again counts only since it "
                     "came back, so counts may be low; raise pg_stat_statements.max.")
        out.append(line + (f" Note: {b.note}." if b.note else ""))
    return out


def _role_lines(fs: Sequence[Finding], max_files: int, dialect: str | None = None) -> list[str]:
    """One role's findings: query-history use, views, file places, other objects (indented under the heading)."""
    lines: list[str] = []
    queries = [f for f in fs if f.source in QUERY_SOURCE_KINDS]
    if queries:
        per_user: dict[str, int] = {}
        for f in queries:
            per_user[f.user or "(unknown)"] = per_user.get(f.user or "(unknown)", 0) + f.count
        runs = sum(per_user.values())
        if runs:
            top = sorted(per_user.items(), key=lambda kv: (-kv[1], kv[0]))
            shown = ", ".join(f"{u} {n}" for u, n in top[:5]) + (", ..." if len(top) > 5 else "")
            lines.append(f"    {_n(runs, 'query', 'queries')} by {_n(len(per_user), 'user')} ({shown})")
        else:   # a pg_stat_statements entry can exist with no call counted (planned, never run)
            texts = {(f.source, f.object) for f in queries}
            lines.append(f"    {_n(len(texts), 'query text')} in the history, with no runs counted")
    views = sorted({_sql_name(f.object, dialect) for f in fs if f.source == "view"})
    if views:
        lines.append(f"    {_n(len(views), 'view')}: {', '.join(views)}")
    files = sorted({(f.path or f.object, f.line or 0, f.column or 0) for f in fs if f.source == "file"})
    if files:
        lines.append(f"    {_n(len(files), 'file reference')}:")
        lines += [f"      {p}:{ln}:{col}" for p, ln, col in files[:max_files]]
        if len(files) > max_files:
            lines.append(f"      ... and {len(files) - max_files} more (use --format json)")
    others: dict[str, set[str]] = {}
    for f in fs:
        if f.source not in QUERY_SOURCE_KINDS and f.source not in ("view", "file"):
            others.setdefault(f.source, set()).add(f.object)
    for source, objs in sorted(others.items()):   # view rules, functions, ...
        lines.append(f"    {_n(len(objs), source.replace('_', ' '))}: {', '.join(sorted(objs))}")
    return lines


def format_report_text(report: ScanReport, registry: Any, *, max_files: int = 50, max_unparsed: int = 50) -> str:
    """The human summary: per deprecation queries/users, then its findings grouped by role (readers to
    migrate, producers to switch off, DDL), each with queries, views, files, objects; then the unparsed list."""
    lines: list[str] = []
    dialect = getattr(registry, "dialect", None)
    groups = report.by_deprecation()
    snaps = {sn.deprecation: sn for sn in report.snapshots}
    for dep in registry.deprecations:
        fs = groups.get(dep.model, [])
        lines.append(f"{dep.model} -> {dep.target} (sunset {dep.sunset.isoformat()})")
        if not fs:
            lines.append("  no references found")
            continue
        snap = snaps.get(dep.model)
        if snap is not None and snap.queries:
            top = sorted(snap.per_user.items(), key=lambda kv: (-kv[1], kv[0]))
            shown = ", ".join(f"{u} {n}" for u, n in top[:5]) + (", ..." if len(top) > 5 else "")
            last = snap.window_end
            lines.append(f"  {_n(snap.queries, 'query', 'queries')} by {_n(snap.distinct_users, 'user')} ({shown})"
                         + (f", last seen {last:%Y-%m-%d %H:%M}" if last else ""))
            lines += _since_lines(snap, report.bases)
        for role in sorted({f.role for f in fs}, key=lambda r: _ROLE_ORDER.get(r, 3)):
            heading = _ROLE_HEADINGS.get(role, f"{role}:")
            lines.append("  " + heading.format(target=dep.target))
            lines += _role_lines([f for f in fs if f.role == role], max_files, dialect)
        noted = sorted({(_where(f, dialect), f.note) for f in fs if f.note})
        if noted:
            n_amb = len({(_where(f, dialect), f.note) for f in fs if f.note and f.ambiguous})
            lines.append(f"  {_n(len(noted), 'name resolution note')}" + (f" ({n_amb} ambiguous)" if n_amb else "") + ":")
            lines += [f"    {w}: {n}" for w, n in noted[:max_files]]
            if len(noted) > max_files:
                lines.append(f"    ... and {len(noted) - max_files} more (use --format json)")
        wild = sorted({(_where(f, dialect), f.pattern or "") for f in fs if f.via == "wildcard"})
        if wild:
            lines.append(f"  {_n(len(wild), 'use')} only via a wildcard table, which reads every table its pattern "
                         "covers (never rewritten automatically):")
            lines += [f"    {w}: {p}" for w, p in wild[:max_files]]
            if len(wild) > max_files:
                lines.append(f"    ... and {len(wild) - max_files} more (use --format json)")
    if report.unparsed:
        lines.append("")
        lines.append(f"Not fully analysed ({len(report.unparsed)}); references in these may be missed:")
        for u in report.unparsed[:max_unparsed]:
            where = (_sql_name(u.object, dialect) if u.source == "view" else u.object) \
                + (f":{u.line}" if u.line is not None and u.source != "file" else "")
            text = f"  [{u.text}]" if u.text and u.source != "file" else ""
            lines.append(f"  {u.source} {where}: {u.status}: {u.error}{text}")
        if len(report.unparsed) > max_unparsed:
            lines.append(f"  ... and {len(report.unparsed) - max_unparsed} more (use --format json)")
    s = report.stats
    lines.append("")
    lines.append(
        f"Scanned {_n(s['texts_read'], 'text')} ({s['distinct_texts']:,} distinct, {s['prefiltered_out']:,} ruled out "
        f"by the prefilter, {s['parsed']:,} parsed, {s['fallback']:,} fallback, {s['error']:,} error"
        + (f", {_n(s['malformed_rows'], 'malformed row')}" if s.get("malformed_rows") else "")
        + f") in {s['elapsed_seconds']:.1f}s with {_n(s['workers'], 'worker')}."
    )
    lines += _basis_lines(report.bases)
    return "\n".join(lines)
