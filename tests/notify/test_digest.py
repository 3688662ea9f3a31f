"""The weekly digest's arithmetic: complete weeks, sparkline, trend and every status."""

from __future__ import annotations

import datetime as dt

import pytest

from deprecator.notify.digest import (DeprecationDigest, WeekUsage, burndown_svg, classify, complete_weeks,
                                      fit_trend, last_complete_week, sparkline)

MONDAY = dt.date(2026, 11, 30)          # a Monday
TODAY = MONDAY + dt.timedelta(days=1)   # Tuesday: the last complete week started 2026-11-23


def weeks(*uses: int, end: dt.date = MONDAY - dt.timedelta(days=7)) -> list[WeekUsage]:
    """Weekly figures ending with the week that starts on ``end``."""
    n = len(uses)
    return [WeekUsage(end - dt.timedelta(days=7 * (n - 1 - i)), u, max(1, u // 3) if u else 0)
            for i, u in enumerate(uses)]


def test_last_complete_week_is_the_one_before_the_current():
    assert last_complete_week(MONDAY) == dt.date(2026, 11, 23)
    assert last_complete_week(dt.date(2026, 12, 6)) == dt.date(2026, 11, 23)   # Sunday: its week is not over


def test_complete_weeks_zero_fill_and_drop_the_partial_week():
    got = complete_weeks([WeekUsage(dt.date(2026, 11, 2), 5, 2), WeekUsage(dt.date(2026, 11, 18), 3, 1),
                          WeekUsage(MONDAY, 99, 9)], TODAY)
    assert [(w.week.isoformat(), w.uses) for w in got] == [
        ("2026-11-02", 5), ("2026-11-09", 0), ("2026-11-16", 3), ("2026-11-23", 0)]


def test_sparkline():
    assert sparkline([]) == ""
    assert sparkline([0, 0]) == "▁▁"
    assert sparkline([8, 4, 0]) == "█▅▁"
    assert sparkline([100, 1]) == "█▂"          # a small use is not drawn as none


def test_trend_projects_zero_from_the_last_week():
    t = fit_trend(weeks(40, 30, 20, 10))
    assert t.slope == pytest.approx(-10)
    assert t.projected_zero == dt.date(2026, 11, 29) + dt.timedelta(days=7)


@pytest.mark.parametrize("uses, sunset, status", [
    ((50, 40, 30, 20), MONDAY + dt.timedelta(days=60), "on track"),
    ((50, 48, 46, 44), MONDAY + dt.timedelta(days=30), "at risk"),
    ((20, 20, 25, 30), MONDAY + dt.timedelta(days=90), "stalled"),
    ((30, 20, 0, 0, 0, 0), MONDAY + dt.timedelta(days=90), "done"),
    ((30, 20, 10, 5), MONDAY - dt.timedelta(days=3), "sunset passed, still used"),
    ((30,), MONDAY + dt.timedelta(days=90), "too early to tell"),
    ((), MONDAY + dt.timedelta(days=90), "too early to tell"),
])
def test_each_status(uses, sunset, status):
    got, reason, _ = classify(complete_weeks(weeks(*uses), TODAY), sunset, TODAY)
    assert got == status, reason


def test_too_early_says_so_instead_of_a_trend():
    status, reason, trend = classify(complete_weeks(weeks(30), TODAY), MONDAY + dt.timedelta(days=90), TODAY)
    assert status == "too early to tell" and "one complete week" in reason and trend.slope is None


def test_zero_uses_for_fewer_weeks_than_the_window_is_on_track_not_done():
    status, reason, _ = classify(complete_weeks(weeks(9, 0, 0), TODAY), MONDAY + dt.timedelta(days=90), TODAY)
    assert status == "on track" and reason.startswith("no use in the last 2 weeks")


def test_svg_draws_a_bar_per_week_and_the_sunset():
    ws = complete_weeks(weeks(40, 30, 20), TODAY)
    sunset = MONDAY + dt.timedelta(days=60)
    status, reason, trend = classify(ws, sunset, TODAY)
    d = DeprecationDigest("analytics.<customer_facts>", "analytics.entity_customers", sunset, 60, ws, status,
                          reason, trend)
    svg = burndown_svg(d)
    assert svg.count('class="week"') == 3 and 'data-uses="40"' in svg
    assert 'class="sunset"' in svg and 'class="ideal"' in svg and 'class="projection"' in svg
    assert "<customer_facts>" not in svg and "&lt;customer_facts&gt;" in svg


def test_pg_stat_statements_deltas_are_spread_over_the_weeks_they_span(tmp_path):
    """No per-query times: calls between two scans go to the weeks in proportion to the time in each."""
    from deprecator.notify.weekly import weekly_figures
    from deprecator.state import StateStore, UsageSnapshot, UsageWindow, WeeklyUse

    store = StateStore(f"sqlite:///{tmp_path / 's.db'}")
    try:
        # Thursday 2026-11-19 00:00 to Thursday 2026-11-26 00:00: 4 days in W47, 3 in W48
        delta = UsageWindow(70, {"alice": 56, "bob": 14}, dt.datetime(2026, 11, 19), dt.datetime(2026, 11, 26))
        store.record_scan(dt.datetime(2026, 11, 26), {}, [UsageSnapshot("a.cf", 500, 2, {}, delta=delta)],
                          weekly=[WeeklyUse("a.cf", "history:h.jsonl", dt.date(2026, 11, 23), "carol", 5)])
        weeks, note = weekly_figures(store, "a.cf")
    finally:
        store.close()
    assert [(w.week, w.uses, w.users) for w in weeks] == [(dt.date(2026, 11, 16), 40, 2),
                                                         (dt.date(2026, 11, 23), 35, 3)]
    assert "history rows' own times" in note and "pg_stat_statements calls between scans" in note
