"""The bureau's figures from plain rows: per ISO week and per month."""

from __future__ import annotations

import datetime as dt

import pytest

from taxvan.statistics import (
    Period,
    VisitFacts,
    by_period,
    coverage_by_period,
    figures,
    month_bounds,
    period_of,
)

MON = dt.date(2026, 11, 30)  # ISO 2026-W49, a Monday


def _held(day: dt.date, **kw) -> VisitFacts:
    return VisitFacts(date=day, stop_id="s1", street="st1", called_off=False, recorded=True, **kw)


def test_a_week_counts_visits_served_no_shows_and_the_trips_not_made():
    visits = [
        _held(
            MON,
            served={"consult": 2},
            walk_ins={"consult": 1, "invoice": 2},
            no_show=1,
            turned_away=4,
            lead_days=(1.0, 3.0, 8.0),
            trips=(70.0, 90.0),
            estimated=3,
            stop_trip=60.0,
        ),
        VisitFacts(date=MON + dt.timedelta(days=1), stop_id="s2", street="st2", called_off=True),
        _held(MON + dt.timedelta(days=2), served={"invoice": 1}, trips=(40.0,)),
    ]
    f = figures("2026-W49", visits)
    assert (f.visits_held, f.visits_called_off, f.visits_recorded) == (2, 1, 2)
    assert (f.served_booked, f.served_walk_in, f.served) == (3, 3, 6)
    assert f.no_show == 1 and f.no_show_rate == pytest.approx(1 / 4)
    assert f.turned_away == 4
    assert f.lead_days_median == 3.0 and f.lead_days_mean == pytest.approx(4.0)
    # 70 + 90 + 40 for the bookings, three walk-ins at the stop's own 60
    assert f.minutes_saved == pytest.approx(380.0) and f.trips_estimated == 3
    assert f.by_street == {"st1": 6}
    assert f.by_service == {"consult": 3, "invoice": 3}


def test_by_street_sums_booked_and_walk_ins_of_held_visits_only():
    visits = [
        _held(MON, served={"a": 1}, walk_ins={"a": 2}),
        VisitFacts(date=MON, stop_id="s9", street="st9", called_off=True, served={"a": 5}),
    ]
    f = figures("x", visits)
    assert f.by_street == {"st1": 3}
    assert f.served == 3


def test_no_visit_no_rate_and_no_lead_time():
    f = figures("2026-W50", [])
    assert f.no_show_rate is None and f.lead_days_median is None and f.minutes_saved == 0


def test_periods_are_iso_weeks_and_months_with_empty_ones_kept():
    visits = [
        _held(dt.date(2026, 11, 27), served={"a": 1}),  # Friday of W48, November
        _held(dt.date(2026, 12, 14), walk_ins={"a": 2}),  # W51, December
    ]
    weeks = by_period(visits, Period.WEEK, dt.date(2026, 11, 23), dt.date(2026, 12, 20))
    assert [w.label for w in weeks] == ["2026-W48", "2026-W49", "2026-W50", "2026-W51"]
    assert [w.served for w in weeks] == [1, 0, 0, 2]
    months = by_period(visits, Period.MONTH, dt.date(2026, 11, 1), dt.date(2026, 12, 31))
    assert [(m.label, m.served) for m in months] == [("2026-11", 1), ("2026-12", 2)]


def test_iso_week_of_new_year_and_month_bounds():
    assert period_of(dt.date(2027, 1, 1), Period.WEEK) == "2026-W53"
    assert period_of(dt.date(2027, 1, 1), Period.MONTH) == "2027-01"
    assert month_bounds("2026-12") == (dt.date(2026, 12, 1), dt.date(2026, 12, 31))
    assert month_bounds("2027-02") == (dt.date(2027, 2, 1), dt.date(2027, 2, 28))


def test_coverage_per_month_is_the_mean_of_its_weeks():
    weeks = {"2026-W48": 0.5, "2026-W49": 0.7, "2026-W50": 0.9}
    assert coverage_by_period(weeks, Period.WEEK) == sorted(weeks.items())
    # W48's Thursday is 26 November; W49's is 3 December
    got = dict(coverage_by_period(weeks, Period.MONTH))
    assert got["2026-11"] == pytest.approx(0.5) and got["2026-12"] == pytest.approx(0.8)
