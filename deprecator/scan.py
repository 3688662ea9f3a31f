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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

from deprecator.config import Config
from deprecator.parallel import DEFAULT_MAX_CHARS, ParseFn, ParsePool
from deprecator.prefilter import Prefilter
from deprecator.report import Finding, Findings, ScanReport, Unparsed
from deprecator.report import as_finding as _finding
from deprecator.report import finding_dict as _finding_dict
from deprecator.report import sorted_findings as _sorted_findings
from deprecator.report_text import basis_lines as _basis_lines
from deprecator.report_text import format_report_text
from deprecator.resolve import PG_CATALOG, PG_DIALECTS as _PG_DIALECTS, OccurrenceKey
from deprecator.resolve import lookup_existing as _existing
from deprecator.resolve import match_references as _match
from deprecator.resolve import may_use as _may_use
from deprecator.resolve import open_names as _open_names
from deprecator.resolve import resolution_note as _resolution_note
from deprecator.resolve import roles_to_check as _roles_to_check
from deprecator.sources.base import (DBT_MODEL, DBT_RUN_PREFIX, QUERY_SOURCE_KINDS, ModelRefs, Source, SourceProblem,
                                     SqlText, UsageBasis, is_dbt_query, is_sized)
from deprecator.sources.build import HISTORY_SOURCE_TYPES, build_sources
from deprecator.sources.warehouse_views import PLPGSQL_FUNCTION
from deprecator.sql.model import ParseResult, Reference, RelationName

if TYPE_CHECKING:
    from deprecator.registry import Deprecation, Registry

# Re-exported: callers import the report types, the text rendering and build_sources from here.
__all__ = ["Finding", "Findings", "HISTORY_SOURCE_TYPES", "PG_CATALOG", "ProgressFn", "ScanProgress", "ScanReport",
           "Unparsed", "WEEKLY_SOURCE_KINDS", "build_sources", "format_report_text", "run_scan",
           "_basis_lines", "_finding", "_finding_dict"]


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


# (deprecation, "source:object", week as its Monday's ordinal, user): a weekly use count's key.
_WeekCell = tuple[str, str, int, str | None]

# History sources whose rows carry the time each query ran: their uses are counted per
# ISO week from those times (pg_stat_statements has none; its weeks come from deltas).
WEEKLY_SOURCE_KINDS = frozenset({"history", "sql"})


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
        self.occurrences: dict[OccurrenceKey, _Occurrence] = {}
        self.result: ParseResult | None = None
        # occurrence key -> where its search path came from (pg_stat_statements: "role", "default", ...)
        self.origins: dict[OccurrenceKey, str] | None = None


def _via(refs: Iterable[Reference]) -> tuple[str | None, str | None]:
    """("wildcard", its pattern(s)) when every reference names the relation through a wildcard table."""
    refs = list(refs)
    if refs and all(r.wildcard for r in refs):
        return "wildcard", ", ".join(sorted({str(r.relation) for r in refs}))
    return None, None


# -- the scan -----------------------------------------------------------------
def run_scan(
    config: Config,
    registry: Registry,
    *,
    paths: Sequence[str] = (),
    sources: Sequence[Source] | None = None,
    progress: bool | ProgressFn = False,
    workers: int | None = None,
    parse_fn: ParseFn | None = None,
    max_chars: int = DEFAULT_MAX_CHARS,
    record: bool = True,
    waiting: Callable[[str], None] | None = None,
) -> ScanReport:
    """Scan every source for references to the registry's deprecations.

    ``sources`` overrides what the config names; ``paths`` replaces the config's
    ``sql_paths``. With ``record`` a usage snapshot per deprecation is stored in
    the state store when a query-history source was read. ``waiting`` hears what
    the warehouse's catalog read waits for (a lock another session holds).
    """
    started_at = _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None)
    t0 = time.perf_counter()
    closers: list[Any] = []
    built = sources is None
    if sources is None:
        sources, closers = build_sources(config, paths, waiting=waiting)
        if not record:     # no usage snapshot, and no counter reading a later window would start from
            for s in sources:
                if getattr(s, "keep_readings", False):
                    setattr(s, "keep_readings", False)
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
    model_refs: list[ModelRefs] = []
    malformed_by_object: dict[tuple[str, str], int] = {}
    stats: dict[str, Any] = dict(texts_read=0, queries_read=0, distinct_texts=0, prefiltered_out=0,
                                 parsed=0, fallback=0, error=0, malformed_rows=0, unreadable=0)
    query_kinds_read = False
    pool: ParsePool[int] = ParsePool(config.dialect, config.warehouse.default_schema, config.warehouse.default_catalog,
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
                    if isinstance(item, ModelRefs):
                        model_refs.append(item)
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
                        cands[key].result = _shared(res, shared)
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
            cands[key].result = _shared(res, shared)
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
    ref_findings = _model_ref_findings(model_refs, config, registry) if model_refs else []
    findings, unparsed, usage, weekly_counts = _collect(cands, registry, stats, existing, privileges, implicit_catalog,
                                                        ref_findings)
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


def _model_ref_findings(items: Sequence[ModelRefs], config: Config, registry: Registry) -> list[Finding]:
    """The registered deprecations the dbt models' ref()/source() calls name, mapped as ``check`` maps them
    (``dbt.models``): through the manifest when ``dbt: manifest:`` is configured (a dynamic ref through
    its model's ``depends_on``), else by the model's name, which each finding's note says."""
    from deprecator.dbt.models import BY_NAME_NOTE, build_targets, dynamic_targets, manifest_node, ref_targets

    manifest = None
    if config.dbt.manifest is not None:
        from deprecator.dbt.manifest import load_manifest

        manifest = load_manifest(config.dbt.manifest, dialect=config.dialect)
    targets, _ = build_targets(registry, manifest)
    targets = [t for t in targets if t.origin == "registry"]
    by_model = {d.model: d for d in registry.deprecations}
    out: list[Finding] = []
    for item in items:
        file_nodes = manifest.nodes_for_file(item.path) if manifest is not None else []
        for ref in item.refs:
            if ref.dynamic:
                hits = [(t, "depends_on", str(t.relation) if t.relation is not None else None)
                        for t in dynamic_targets(file_nodes, targets)]
            elif manifest is not None and manifest_node(ref, manifest) is None:
                continue   # not a model the manifest knows (check says so; a stale manifest)
            else:
                hits = ref_targets(ref, targets, manifest)
            for t, how, rel in hits:
                dep = by_model[t.model]
                note = (BY_NAME_NOTE if how == "name" else
                        f"{ref.text} is dynamic; it may resolve to this model (the manifest's depends_on)"
                        if how == "depends_on" else None)
                out.append(Finding(dep.model, rel or t.model, DBT_MODEL, item.object, item.path, ref.line,
                                   ref.column, note=note, via="dynamic_ref" if ref.dynamic else ref.kind))
    return out


def _weekly_cells(counts: Mapping[_WeekCell, int]) -> tuple[Any, ...]:
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


def _cell_order(k: _WeekCell) -> tuple[str, str, int, str]:
    # k itself when its user is set (no tuple made per cell); mypy does not narrow a tuple item by index
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
            elif item.source in ("file", DBT_MODEL):
                out.add((item.deprecation, "file", item.path or item.object))
        return out
    for f in findings:
        if f.source == "view":
            out.add((f.deprecation, "view", f.object))
        elif f.source in ("file", DBT_MODEL):
            out.add((f.deprecation, "file", f.path or f.object))
    return out


def _with_warehouse_search_path(config: Config, registry: Registry, closers: list[Any]) -> tuple[Config, Registry]:
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
        from_dbt = tuple(d for d in registry.deprecations if d.origin == "dbt")   # read from the manifest
        registry = config.load_registry()
        if from_dbt:
            registry = dataclasses.replace(registry, deprecations=registry.deprecations + from_dbt)
    return config, registry


def _check_registered(registry: Registry, closers: list[Any]) -> None:
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


def _history_only_for_dropped(findings: "Findings", registry: Registry) -> "Findings":
    """A model registered as dropped is looked for in query history and files only: the
    warehouse's views and functions cannot read a relation that is gone."""
    dropped = {d.model for d in registry.deprecations if getattr(d, "dropped", False)}
    if not dropped:
        return findings
    return findings.where(lambda model, source: model not in dropped or source in QUERY_SOURCE_KINDS
                          or source in ("file", DBT_MODEL))


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


def _collect(cands: list[_Candidate], registry: Registry, stats: dict[str, Any],
             existing: set[RelationName] | None = None,
             privileges: Mapping[tuple[str, str], bool] | None = None,
             implicit_catalog: bool = False,
             ref_findings: Sequence[Finding] = (),
             ) -> tuple[Findings, list[Unparsed], dict[str, list[tuple[Any, ...]]], dict[_WeekCell, int]]:
    findings: list[Any] = list(ref_findings)   # Findings (files) and rows (query texts, see _finding)
    # a dbt model is parsed once per rendering of its {% if %} branches: a place found in two is one use
    model_places: set[tuple[str, str, int, int, str]] = set()
    unparsed: list[Unparsed] = []
    # deprecation model -> user -> [count, first, last] for query sources
    usage_by_user: dict[str, dict[str | None, list[Any]]] = {}
    weekly: dict[_WeekCell, int] = {}
    interned: dict[Any, Any] = {}     # one copy of each relation name and column list the findings share
    place_names: dict[tuple[str, str], str] = {}   # one "source:object" string each
    checked_roles = {r for r, _ in privileges} if privileges else set()
    # Each candidate is let go once its findings are made (the list is the caller's, done with
    # after this): its occurrences and parse result give way to the findings as they grow.
    cands.reverse()    # taken from the end, in the original order
    while cands:
        cand = cands.pop()
        res = cand.result
        if res is None:  # cannot happen: drain answers every key; keep the scan honest if it does
            res = ParseResult("error", error="no result from the parser")
        stats[res.status] = stats.get(res.status, 0) + 1
        if res.status != "parsed":
            # A whole file's "line" is just 1; a text starting mid-file keeps its line.
            places = sorted({(k[0], k[1], k[3] if k[2] and k[3] != 1 else None) for k in cand.occurrences},
                            key=lambda t: (t[0], t[1], t[2] or 0))
            for source, obj, line in places:
                if source == DBT_MODEL and any(u.source == source and u.object == obj and u.status == res.status
                                               for u in unparsed):
                    continue   # another rendering of the same model's branches: listed once
                why = res.error or res.status
                if source == PLPGSQL_FUNCTION:
                    why = ("PL/pgSQL body, read as the SQL statements it runs (numbered here), control flow "
                           f"set aside; review the rest by hand: {why}")
                unparsed.append(Unparsed(source, obj, res.status, why, line, _excerpt(cand.text)))
        if not res.references:
            continue
        by_role: dict[str | None, list[tuple[Reference, Deprecation, RelationName, bool, str | None]]] = {}
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
                    if source == DBT_MODEL:
                        at = (dep.model, path, ref.line, ref.column, ref.role)
                        if at in model_places:
                            continue
                        model_places.add(at)
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
                    place = place_names.get((source, obj)) or place_names.setdefault((source, obj), f"{source}:{obj}")
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


def _template(matched: list[tuple[Reference, Deprecation, RelationName, bool, str | None]], source: str, obj: str,
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


def _cols(columns: Iterable[str] | None) -> tuple[str, ...] | None:
    return None if columns is None else tuple(sorted(columns))


def _windows(registry: Registry, findings: Sequence[Finding], bases: Sequence[UsageBasis]) -> dict[str, Any]:
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


def _snapshots(registry: Registry, usage: Mapping[str, list[tuple[str | None, int, Any, Any]]],
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
        self.sized = [s for s in sources if is_sized(s)]
        sizes = [s.size_hint() for s in self.sized]
        known = [z for z in sizes if z is not None]
        self.total = sum(known) if known else None
        self.parse_start: tuple[float, int] | None = None

    def read(self, n: int) -> None:
        done = sum(s.bytes_read() for s in self.sized)
        self.fn(ScanProgress("read", n, done, self.total, elapsed=time.perf_counter() - self.t0,
                             eta_seconds=_eta(done, self.total, self.t0)))

    def parsed(self, n: int, done: int, of: int) -> None:
        if self.parse_start is None:
            self.parse_start = (time.perf_counter(), done)
        since, at_start = self.parse_start
        self.fn(ScanProgress("parse", n, parsed=done, to_parse=of, elapsed=time.perf_counter() - self.t0,
                             eta_seconds=_eta(done, of, since, at_start)))
