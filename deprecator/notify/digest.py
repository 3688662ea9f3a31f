"""The weekly usage digest: per deprecation, this week against last, the trend toward zero, a status.

Pure: weekly figures, consumers and applies in, a ``Digest`` value out; the
renderers (text, Markdown, HTML with inline SVG burn-down charts, Slack) read
that value. Where the figures come from (the state store's weekly usage) is
``deprecator.notify.weekly``'s business.

Weeks are ISO weeks (Monday to Sunday, UTC). "This week" is the last complete
week before ``today``, so a digest sent on Monday morning reports the week that
just ended and never compares a partial week with a whole one.

Statuses, in the order they are decided:

- **done**: no use at all in the last ``done_weeks`` complete weeks (the
  configured window), which the data covers;
- **sunset passed, still used**: the sunset date is behind us and the model was
  used in the window;
- **too early to tell**: fewer than two complete weeks of data; no trend is
  invented;
- **on track** also when the last week had no use at all (not yet ``done_weeks``);
- **stalled**: usage is not falling (the least-squares slope over the last
  ``trend_weeks`` weeks is zero or positive);
- **on track**: at the current rate of decline, usage reaches zero on or
  before the sunset;
- **at risk**: falling, but not fast enough to reach zero by the sunset.
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field
from html import escape
from typing import Literal, Sequence

Status = Literal["done", "sunset passed, still used", "too early to tell", "stalled", "on track", "at risk"]
STATUSES: tuple[Status, ...] = ("done", "sunset passed, still used", "too early to tell", "stalled",
                                "on track", "at risk")
SPARK = "▁▂▃▄▅▆▇█"


@dataclass(frozen=True)
class WeekUsage:
    week: _dt.date        # the Monday the ISO week starts on
    uses: int
    users: int            # distinct users that week

    @property
    def label(self) -> str:
        iso = self.week.isocalendar()
        return f"{iso[0]}-W{iso[1]:02d}"


@dataclass(frozen=True)
class Trend:
    weeks: int                          # complete weeks the slope was fitted on
    slope: float | None                 # uses per week (negative: falling)
    projected_zero: _dt.date | None     # when usage reaches zero at that rate (None: not falling)


@dataclass(frozen=True)
class Consumers:
    """Who is still using a model, most uses first."""

    users: tuple[tuple[str, int], ...] = ()          # (person or team, uses)
    unmapped_users: tuple[str, ...] = ()             # history users no owner rule maps
    views: tuple[str, ...] = ()
    dbt_models: tuple[str, ...] = ()
    cannot_act: tuple[tuple[str, int], ...] = ()     # dbt's own runs, ignored service users


@dataclass(frozen=True)
class DeprecationDigest:
    model: str
    replacement: str
    sunset: _dt.date
    days_to_sunset: int
    weeks: tuple[WeekUsage, ...]         # contiguous complete weeks, oldest first, zero-filled
    status: Status
    reason: str                          # why this status, in words
    trend: Trend
    consumers: Consumers = field(default_factory=Consumers)
    rewritten_views: tuple[str, ...] = ()
    source_note: str | None = None       # where weekly figures came from (row timestamps, counter deltas)

    @property
    def this_week(self) -> WeekUsage | None:
        return self.weeks[-1] if self.weeks else None

    @property
    def last_week(self) -> WeekUsage | None:
        return self.weeks[-2] if len(self.weeks) >= 2 else None

    @property
    def change(self) -> int | None:
        if self.this_week is None or self.last_week is None:
            return None
        return self.this_week.uses - self.last_week.uses

    @property
    def sparkline(self) -> str:
        return sparkline([w.uses for w in self.weeks])

    def to_dict(self) -> dict[str, object]:
        return {
            "model": self.model, "replacement": self.replacement, "sunset": self.sunset.isoformat(),
            "days_to_sunset": self.days_to_sunset, "status": self.status, "reason": self.reason,
            "this_week": _week_dict(self.this_week), "last_week": _week_dict(self.last_week),
            "change": self.change,
            "trend": {"weeks": self.trend.weeks, "slope_per_week": _round(self.trend.slope),
                      "projected_zero": self.trend.projected_zero.isoformat() if self.trend.projected_zero else None},
            "weeks": [_week_dict(w) for w in self.weeks],
            "sparkline": self.sparkline,
            "consumers": {
                "users": [{"name": n, "uses": u} for n, u in self.consumers.users],
                "unmapped_users": list(self.consumers.unmapped_users),
                "views": list(self.consumers.views),
                "dbt_models": list(self.consumers.dbt_models),
                "cannot_act": [{"name": n, "uses": u} for n, u in self.consumers.cannot_act],
            },
            "rewritten_views": list(self.rewritten_views),
            "source_note": self.source_note,
        }


@dataclass(frozen=True)
class Digest:
    today: _dt.date
    week: _dt.date | None                # the Monday of "this week" (the last complete week)
    deprecations: tuple[DeprecationDigest, ...]

    def to_dict(self) -> dict[str, object]:
        return {"today": self.today.isoformat(), "week": self.week.isoformat() if self.week else None,
                "week_label": WeekUsage(self.week, 0, 0).label if self.week else None,
                "deprecations": [d.to_dict() for d in self.deprecations]}


def _week_dict(w: WeekUsage | None) -> dict[str, object] | None:
    return None if w is None else {"week": w.week.isoformat(), "label": w.label, "uses": w.uses, "users": w.users}


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 2)


def week_start(day: _dt.date) -> _dt.date:
    """The Monday of ``day``'s ISO week."""
    return day - _dt.timedelta(days=day.weekday())


def last_complete_week(today: _dt.date) -> _dt.date:
    """The Monday of the last ISO week that ended before ``today``."""
    return week_start(today) - _dt.timedelta(days=7)


def complete_weeks(figures: Sequence[WeekUsage], today: _dt.date) -> tuple[WeekUsage, ...]:
    """Contiguous complete weeks from the first with data to the last complete one, zero-filled.

    A partial current week is left out; weeks with no row are zero (no use seen).
    """
    last = last_complete_week(today)
    known = {week_start(w.week): w for w in figures if week_start(w.week) <= last}
    if not known:
        return ()
    out = []
    wk = min(known)
    while wk <= last:
        w = known.get(wk)
        out.append(WeekUsage(wk, w.uses, w.users) if w else WeekUsage(wk, 0, 0))
        wk += _dt.timedelta(days=7)
    return tuple(out)


def sparkline(values: Sequence[int]) -> str:
    """One block character per value, scaled to the largest; only a zero gets the lowest block."""
    if not values:
        return ""
    top = max(values)
    if top <= 0:
        return SPARK[0] * len(values)
    steps = len(SPARK) - 1
    return "".join(SPARK[0] if v <= 0 else SPARK[max(1, min(steps, round(v / top * steps)))] for v in values)


def fit_trend(weeks: Sequence[WeekUsage], trend_weeks: int = 6) -> Trend:
    """Least-squares slope of the last ``trend_weeks`` weeks and when that line reaches zero."""
    tail = list(weeks)[-trend_weeks:]
    n = len(tail)
    if n < 2:
        return Trend(n, None, None)
    xs = list(range(n))
    ys = [w.uses for w in tail]
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    if slope >= 0:
        return Trend(n, slope, None)
    # from the last week's actual figure, at that rate
    weeks_left = ys[-1] / -slope
    end_of_last = tail[-1].week + _dt.timedelta(days=6)
    return Trend(n, slope, end_of_last + _dt.timedelta(days=math.ceil(weeks_left * 7)))


def classify(weeks: Sequence[WeekUsage], sunset: _dt.date, today: _dt.date, *, done_weeks: int = 4,
             trend_weeks: int = 6) -> tuple[Status, str, Trend]:
    """The status of one deprecation from its complete weeks (see the module docstring)."""
    trend = fit_trend(weeks, trend_weeks)
    window = list(weeks)[-done_weeks:]
    used_in_window = sum(w.uses for w in window)
    if len(window) >= done_weeks and used_in_window == 0:
        return "done", f"no use in the last {done_weeks} weeks", trend
    if today > sunset and (used_in_window > 0 or not weeks):
        if not weeks:
            return ("sunset passed, still used", "the sunset has passed and no weekly figures show the model "
                    "unused yet", trend)
        return ("sunset passed, still used",
                f"the sunset was {(today - sunset).days} days ago and it was used {used_in_window} times "
                f"in the last {len(window)} weeks", trend)
    if len(weeks) < 2:
        have = "no complete week" if not weeks else "one complete week"
        return "too early to tell", f"{have} of data so far; a trend needs two", trend
    if weeks[-1].uses == 0:
        quiet = next((i for i, w in enumerate(reversed(weeks)) if w.uses), len(weeks))
        return ("on track", f"no use in the last {quiet} {'week' if quiet == 1 else 'weeks'}; done after "
                f"{done_weeks} weeks without use", trend)
    if trend.slope is None or trend.slope >= 0:
        return "stalled", f"usage is not falling over the last {trend.weeks} weeks", trend
    assert trend.projected_zero is not None
    if trend.projected_zero <= sunset:
        return ("on track", f"at the current rate (about {-trend.slope:.1f} fewer uses a week) usage reaches "
                f"zero around {trend.projected_zero.isoformat()}, before the sunset", trend)
    return ("at risk", f"falling (about {-trend.slope:.1f} fewer uses a week), but at this rate usage reaches "
            f"zero around {trend.projected_zero.isoformat()}, after the sunset", trend)


def build_digest(items: Sequence[tuple[object, Sequence[WeekUsage], Consumers, Sequence[str], str | None]],
                 today: _dt.date, *, done_weeks: int = 4, trend_weeks: int = 6) -> Digest:
    """``items``: (registry Deprecation, weekly figures, consumers, views rewritten, source note) per model."""
    out = []
    for dep, figures, consumers, rewritten, note in items:
        weeks = complete_weeks(figures, today)
        sunset: _dt.date = getattr(dep, "sunset")
        status, reason, trend = classify(weeks, sunset, today, done_weeks=done_weeks, trend_weeks=trend_weeks)
        out.append(DeprecationDigest(
            model=getattr(dep, "model"), replacement=getattr(dep, "target"), sunset=sunset,
            days_to_sunset=(sunset - today).days, weeks=weeks, status=status, reason=reason, trend=trend,
            consumers=consumers, rewritten_views=tuple(rewritten), source_note=note))
    return Digest(today, last_complete_week(today), tuple(out))


# --------------------------------------------------------------------------- burn-down chart

STATUS_COLORS = {"done": "#2e7d32", "on track": "#2e7d32", "at risk": "#ef6c00", "stalled": "#c62828",
                 "sunset passed, still used": "#b71c1c", "too early to tell": "#607d8b"}


def burndown_svg(d: DeprecationDigest, *, width: int = 640, height: int = 220) -> str:
    """An inline SVG burn-down: weekly uses as bars, the ideal line to zero at the sunset, the projection.

    Self-contained (no fonts, scripts or links); every bar carries ``data-week`` and
    ``data-uses`` so a test (or a reader of the source) can check what is drawn.
    """
    left, right, top, bottom = 44, 16, 16, 34
    pw, ph = width - left - right, height - top - bottom
    first = d.weeks[0].week if d.weeks else week_start(d.sunset)
    last_day = max(d.sunset, (d.weeks[-1].week + _dt.timedelta(days=7)) if d.weeks else d.sunset)
    if d.trend.projected_zero is not None:
        last_day = max(last_day, min(d.trend.projected_zero, d.sunset + _dt.timedelta(days=180)))
    span = max(1, (last_day - first).days)
    top_uses = max([w.uses for w in d.weeks] + [1])

    def x(day: _dt.date) -> float:
        return left + pw * (day - first).days / span

    def y(v: float) -> float:
        return top + ph * (1 - v / top_uses)

    color = STATUS_COLORS.get(d.status, "#455a64")
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="burndown" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(_aria(d))}">',
        f"<title>{escape(_aria(d))}</title>",
        f'<line x1="{left}" y1="{y(0):.1f}" x2="{left + pw}" y2="{y(0):.1f}" stroke="#90a4ae"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{y(0):.1f}" stroke="#90a4ae"/>',
        f'<text x="{left - 6}" y="{top + 4}" font-size="11" text-anchor="end" fill="#455a64">{top_uses}</text>',
        f'<text x="{left - 6}" y="{y(0):.1f}" font-size="11" text-anchor="end" fill="#455a64">0</text>',
    ]
    bar_w = max(2.0, pw * 7 / span * 0.8)
    for w in d.weeks:
        bx, by = x(w.week), y(w.uses)
        parts.append(f'<rect class="week" data-week="{w.week.isoformat()}" data-uses="{w.uses}" '
                     f'x="{bx:.1f}" y="{by:.1f}" width="{bar_w:.1f}" height="{y(0) - by:.1f}" fill="{color}">'
                     f"<title>{w.label}: {w.uses} uses by {w.users} users</title></rect>")
    if d.weeks and d.weeks[0].uses > 0 and d.sunset > first:
        parts.append(f'<line class="ideal" x1="{x(first):.1f}" y1="{y(d.weeks[0].uses):.1f}" '
                     f'x2="{x(d.sunset):.1f}" y2="{y(0):.1f}" stroke="#78909c" stroke-dasharray="5,4"/>')
    if d.trend.projected_zero is not None and d.weeks:
        lw = d.weeks[-1]
        end = min(d.trend.projected_zero, last_day)
        parts.append(f'<line class="projection" x1="{x(lw.week):.1f}" y1="{y(lw.uses):.1f}" x2="{x(end):.1f}" '
                     f'y2="{y(max(0.0, lw.uses * (1 - (end - lw.week).days / max(1, (d.trend.projected_zero - lw.week).days)))):.1f}" '
                     f'stroke="{color}" stroke-dasharray="2,3"/>')
    sx = x(d.sunset)
    parts += [
        f'<line class="sunset" x1="{sx:.1f}" y1="{top}" x2="{sx:.1f}" y2="{y(0):.1f}" stroke="#b71c1c" '
        f'stroke-width="2"/>',
        f'<text x="{sx:.1f}" y="{height - 18}" font-size="11" '
        f'text-anchor="{"end" if sx > width - 70 else "middle"}" fill="#b71c1c">sunset {d.sunset.isoformat()}</text>',

        f'<text x="{left}" y="{height - 4}" font-size="11" fill="#455a64">{first.isoformat()}</text>',
        "</svg>",
    ]
    return "".join(parts)


def _aria(d: DeprecationDigest) -> str:
    tw = d.this_week.uses if d.this_week else 0
    return f"Weekly uses of {d.model}: {tw} last week; sunset {d.sunset.isoformat()}; {d.status}"
