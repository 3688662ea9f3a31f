"""Weekly usage per deprecation, from what scans stored.

Two kinds of history, two ways to know a week:

- sources whose rows carry the time each query ran (history exports, the
  pushed-down ``type: sql`` source): the scan counted each row in its ISO week
  (``StateStore.weekly_usage``), exact from the first scan on;
- pg_stat_statements, which has no per-query times: each scan stores the calls
  since the previous scan (a delta between two readings of the counters), and a
  delta is spread over the ISO weeks it covers in proportion to the time it
  overlaps each. Exact only when scans run at week boundaries; the digest says
  which weeks rest on deltas.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from deprecator.notify.digest import WeekUsage, week_start


def _spread(start: _dt.datetime, end: _dt.datetime, per_user: dict[str, int],
            into: dict[_dt.date, dict[str, float]]) -> None:
    span = (end - start).total_seconds()
    if span <= 0:
        wk = week_start(end.date())
        for user, n in per_user.items():
            into.setdefault(wk, {})[user] = into.setdefault(wk, {}).get(user, 0.0) + n
        return
    day = week_start(start.date())
    while True:
        w0 = _dt.datetime.combine(day, _dt.time())
        w1 = w0 + _dt.timedelta(days=7)
        overlap = (min(end, w1) - max(start, w0)).total_seconds()
        if overlap > 0:
            cell = into.setdefault(day, {})
            for user, n in per_user.items():
                cell[user] = cell.get(user, 0.0) + n * overlap / span
        if w1 >= end:
            break
        day += _dt.timedelta(days=7)


def weekly_figures(state: Any, deprecation: str) -> tuple[list[WeekUsage], str | None]:
    """(weeks, note): uses and distinct users per ISO week, and where the figures come from."""
    cells: dict[_dt.date, dict[str, float]] = {}
    timestamped = False
    for week, user, uses in state.weekly_rows(deprecation):
        timestamped = True
        cell = cells.setdefault(week, {})
        cell[user] = cell.get(user, 0.0) + uses
    deltas = 0
    for snap in state.usage_history(deprecation):
        d = snap.delta
        if d is None or d.start is None or d.end is None or not d.queries:
            continue
        deltas += 1
        _spread(d.start, d.end, {u: n for u, n in d.per_user.items() if n} or {"": d.queries}, cells)
    weeks = [WeekUsage(wk, round(sum(users.values())), sum(1 for n in users.values() if n >= 0.5))
             for wk, users in sorted(cells.items())]
    notes = []
    if timestamped:
        notes.append("weeks counted from the history rows' own times")
    if deltas:
        notes.append(f"pg_stat_statements calls between scans spread over the weeks they cover ({deltas} "
                     f"{'delta' if deltas == 1 else 'deltas'})")
    return weeks, "; ".join(notes) or None
