"""A scan report as text for a person: per deprecation its users, then its findings by role."""

from __future__ import annotations

import datetime as _dt
from array import array
from typing import TYPE_CHECKING, Iterable, Iterator, Sequence

from deprecator.report import ROLE_ORDER, Finding, Findings, ScanReport
from deprecator.sources.base import DBT_MODEL, QUERY_SOURCE_KINDS, UsageBasis
from deprecator.text import plural, visible

if TYPE_CHECKING:
    from deprecator.registry import Deprecation, Registry
    from deprecator.state import UsageSnapshot


def _n(count: int, singular: str, many: str | None = None) -> str:
    """``1 view``, ``2,048 views``: a count with its noun in the right number, thousands grouped."""
    return plural(count, singular, many, grouped=True)


def _sql_name(dotted: str, dialect: str | None) -> str:
    """A relation's ``schema.name`` as SQL text, quoted where it must be (``display_name``)."""
    from deprecator.sql.names import display_name

    return display_name(dotted, dialect)


def _where(f: Finding, dialect: str | None = None) -> str:
    if f.path is not None:
        return f"{f.path}:{f.line}:{f.column}"
    obj = _sql_name(f.object, dialect) if f.source == "view" else f.object
    return f"{f.source} {obj}" + (f" ({f.user})" if f.user else "")


_ROLE_HEADINGS = {
    "read": "Readers (read it), migrate to {target}:",
    "write": "Producers (write it), switch these off:",
    "ddl": "DDL (alter, drop, grant, comment on it), move these to {target} or remove them:",
}


def _ts(v: _dt.datetime) -> str:
    return f"{v:%Y-%m-%d %H:%M:%S} UTC"


def _since_lines(snap: UsageSnapshot, bases: Sequence[UsageBasis]) -> list[str]:
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


def basis_lines(bases: Sequence[UsageBasis]) -> list[str]:
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


class _RoleLines:
    """One role's findings of one deprecation, taken one at a time and kept as what its lines show
    (runs per user, distinct views, file places, other objects), never the findings themselves."""

    __slots__ = ("has_queries", "per_user", "texts", "views", "files", "models", "others")

    def __init__(self) -> None:
        self.has_queries = False
        self.per_user: dict[str, int] = {}
        self.texts: set[tuple[str, str]] | None = set()   # query texts, kept while no run is counted
        self.views: set[str] = set()
        self.files: set[tuple[str, int, int]] = set()
        self.models: set[tuple[str, int, int]] = set()   # places in dbt models (SQL files with Jinja)
        self.others: dict[str, set[str]] = {}

    def add(self, f: Finding) -> None:
        if f.source in QUERY_SOURCE_KINDS:
            self.has_queries = True
            user = f.user or "(unknown)"
            self.per_user[user] = self.per_user.get(user, 0) + f.count
            if self.texts is not None:
                if f.count > 0:   # counts are never negative: the runs line is shown, not the texts one
                    self.texts = None
                else:
                    self.texts.add((f.source, f.object))
        elif f.source == "view":
            self.views.add(f.object)
        elif f.source == "file":
            self.files.add((f.path or f.object, f.line or 0, f.column or 0))
        elif f.source == DBT_MODEL:
            self.models.add((f.path or f.object, f.line or 0, f.column or 0))
        else:
            self.others.setdefault(f.source, set()).add(f.object)

    def lines(self, max_files: int, dialect: str | None = None) -> list[str]:
        """Queries, views, file places, other objects (indented under the role's heading)."""
        lines: list[str] = []
        if self.has_queries:
            per_user = self.per_user
            runs = sum(per_user.values())
            if runs:
                top = sorted(per_user.items(), key=lambda kv: (-kv[1], kv[0]))
                shown = ", ".join(f"{u} {n}" for u, n in top[:5]) + (", ..." if len(top) > 5 else "")
                lines.append(f"    {_n(runs, 'query', 'queries')} by {_n(len(per_user), 'user')} ({shown})")
            else:   # a pg_stat_statements entry can exist with no call counted (planned, never run)
                lines.append(f"    {_n(len(self.texts or ()), 'query text')} in the history, with no runs counted")
        views = sorted({_sql_name(v, dialect) for v in self.views})
        if views:
            lines.append(f"    {_n(len(views), 'view')}: {', '.join(views)}")
        for places, what in ((self.models, "dbt model reference"), (self.files, "file reference")):
            files = sorted(places)
            if files:
                if places is self.models:   # how many models, then where (a model can name it twice)
                    lines.append(f"    {_n(len({p for p, _, _ in files}), 'dbt model')} "
                                 f"({_n(len(files), 'reference')}):")
                else:
                    lines.append(f"    {_n(len(files), what)}:")
                lines += [f"      {p}:{ln}:{col}" for p, ln, col in files[:max_files]]
                if len(files) > max_files:
                    lines.append(f"      ... and {len(files) - max_files} more (use --format json)")
        for source, objs in sorted(self.others.items()):   # view rules, functions, ...
            lines.append(f"    {_n(len(objs), source.replace('_', ' '))}: {', '.join(sorted(objs))}")
        return lines


def _positions(report: ScanReport) -> dict[str, array[int]]:
    """Per deprecation the positions of its findings in ``report.findings`` (8 bytes a finding, where the
    findings grouped at once would be a Finding each)."""
    findings = report.findings
    deps: Iterable[str] = (findings.deprecations() if isinstance(findings, Findings)
                           else (f.deprecation for f in findings))
    out: dict[str, array[int]] = {}
    for i, dep in enumerate(deps):
        pos = out.get(dep)
        if pos is None:
            pos = out[dep] = array("q")
        pos.append(i)
    return out


def _deprecation_lines(dep: Deprecation, fs: Iterable[Finding], snap: UsageSnapshot | None, bases: Sequence[UsageBasis], max_files: int,
                       dialect: str | None) -> list[str]:
    """One deprecation's part of the report, its findings read once, one at a time."""
    roles: dict[str, _RoleLines] = {}
    role_set: set[str] = set()
    noted: set[tuple[str, str]] = set()
    ambiguous: set[tuple[str, str]] = set()
    wild: set[tuple[str, str]] = set()
    for f in fs:
        acc = roles.get(f.role)
        if acc is None:
            acc = roles[f.role] = _RoleLines()
            role_set.add(f.role)
        acc.add(f)
        if f.note:
            noted.add((_where(f, dialect), f.note))
            if f.ambiguous:
                ambiguous.add((_where(f, dialect), f.note))
        if f.via == "wildcard":
            wild.add((_where(f, dialect), f.pattern or ""))
    target = dep.target or "(dbt names no replacement)"   # a model dbt marks deprecated may name none
    lines = [f"{dep.model} -> {target} (sunset {dep.sunset.isoformat()})"]
    if not roles:
        lines.append("  no references found")
        return lines
    if snap is not None and snap.queries:
        top = sorted(snap.per_user.items(), key=lambda kv: (-kv[1], kv[0]))
        shown = ", ".join(f"{u} {n}" for u, n in top[:5]) + (", ..." if len(top) > 5 else "")
        last = snap.window_end
        lines.append(f"  {_n(snap.queries, 'query', 'queries')} by {_n(snap.distinct_users, 'user')} ({shown})"
                     + (f", last seen {last:%Y-%m-%d %H:%M}" if last else ""))
        lines += _since_lines(snap, bases)
    for role in sorted(role_set, key=lambda r: ROLE_ORDER.get(r, 3)):
        heading = _ROLE_HEADINGS.get(role, f"{role}:")
        lines.append("  " + heading.format(target=target))
        lines += roles[role].lines(max_files, dialect)
    if noted:
        n_amb = len(ambiguous)
        shown_notes = sorted(noted)
        lines.append(f"  {_n(len(shown_notes), 'name resolution note')}" + (f" ({n_amb} ambiguous)" if n_amb else "")
                     + ":")
        lines += [f"    {w}: {n}" for w, n in shown_notes[:max_files]]
        if len(shown_notes) > max_files:
            lines.append(f"    ... and {len(shown_notes) - max_files} more (use --format json)")
    if wild:
        shown_wild = sorted(wild)
        lines.append(f"  {_n(len(shown_wild), 'use')} only via a wildcard table, which reads every table its pattern "
                     "covers (never rewritten automatically):")
        lines += [f"    {w}: {p}" for w, p in shown_wild[:max_files]]
        if len(shown_wild) > max_files:
            lines.append(f"    ... and {len(shown_wild) - max_files} more (use --format json)")
    return lines


def iter_report_text(report: ScanReport, registry: Registry, *, max_files: int = 50,
                     max_unparsed: int = 50) -> Iterator[str]:
    """``format_report_text`` in pieces (one deprecation's part, then the unparsed list, then the
    summary), each made from one deprecation's findings read one at a time: a popular table's million
    findings are never held at once. The pieces join to exactly ``format_report_text``'s text; each
    piece holds whole lines."""
    dialect = getattr(registry, "dialect", None)
    positions = _positions(report)
    snaps = {sn.deprecation: sn for sn in report.snapshots}
    findings = report.findings
    first = True
    for dep in registry.deprecations:
        pos = positions.get(dep.model, ())
        part = _deprecation_lines(dep, (findings[i] for i in pos), snaps.get(dep.model), report.bases,
                                  max_files, dialect)
        # every line is one line: a control character from the data (a user, a name) is shown escaped
        yield ("" if first else "\n") + "\n".join(map(visible, part))
        first = False
    lines: list[str] = []
    if report.unparsed:
        lines.append("")
        lines.append(f"Not fully analysed ({len(report.unparsed)}); references in these may be missed:")
        for u in report.unparsed[:max_unparsed]:
            where = (_sql_name(u.object, dialect) if u.source == "view" else u.object) \
                + (f":{u.line}" if u.line is not None and u.source != "file" else "")
            text = f"  [{u.text}]" if u.text and u.source not in ("file", DBT_MODEL) else ""
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
    lines += basis_lines(report.bases)
    yield ("" if first else "\n") + "\n".join(map(visible, lines))


def format_report_text(report: ScanReport, registry: Registry, *, max_files: int = 50, max_unparsed: int = 50) -> str:
    """The human summary: per deprecation queries/users, then its findings grouped by role (readers to
    migrate, producers to switch off, DDL), each with queries, views, files, objects; then the unparsed list."""
    return "".join(iter_report_text(report, registry, max_files=max_files, max_unparsed=max_unparsed))
