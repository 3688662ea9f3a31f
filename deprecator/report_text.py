"""A scan report as text for a person: per deprecation its users, then its findings by role."""

from __future__ import annotations

import datetime as _dt
from typing import Any, Sequence

from deprecator.report import ROLE_ORDER, Finding, ScanReport
from deprecator.sources.base import QUERY_SOURCE_KINDS, UsageBasis
from deprecator.text import plural


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
        for role in sorted({f.role for f in fs}, key=lambda r: ROLE_ORDER.get(r, 3)):
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
    lines += basis_lines(report.bases)
    return "\n".join(lines)
