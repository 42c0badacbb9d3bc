"""Fitting a one-off visit into published day routes (routes/insertion.py) on hand-made days.

Points lie on a line east of the hall; the provider drives one kilometre a minute, so the
travel times in each test can be read off the coordinates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np

from routes.insertion import (
    DayRoute,
    NewVisit,
    RouteVisit,
    allowed_days,
    day_is_feasible,
    insertions,
)
from routes.matrix import Matrix
from taxvan.fleet import Van
from taxvan.places import LatLon

HALL: LatLon = (36.0, 119.0)
MON = dt.date(2026, 11, 30)


class LineProvider:
    """Points (36.0, 119 + km / 100): one kilometre a minute, straight along the line."""

    def key(self) -> str:
        return "line"

    def matrix(self, origins: Sequence[LatLon], destinations: Sequence[LatLon]) -> Matrix:
        a = np.array([p[1] for p in origins])[:, None]
        b = np.array([p[1] for p in destinations])[None, :]
        km = np.abs(a - b) * 100
        return Matrix(np.rint(km * 1000).astype(np.int64), np.rint(km * 60).astype(np.int64))


def at(km: float) -> LatLon:
    return (36.0, 119.0 + km / 100)


VAN = Van("V1", "V1", 2, 8 * 60 + 30, 17 * 60, 60, 11 * 60 + 30, 13 * 60 + 30)


def hm(text: str) -> int:
    h, m = text.split(":")
    return int(h) * 60 + int(m)


def visit(key: str, km: float, start: str, end: str) -> RouteVisit:
    return RouteVisit(key, at(km), hm(start), hm(end))


def kept(route: DayRoute, ins, new: NewVisit) -> bool:
    """The day with the new visit, checked by the same rules, every published time as is."""
    pts = [HALL, new.point, *[v.point for v in route.visits]]
    m = LineProvider().matrix(pts, pts).seconds.tolist()
    events = [(k + 2, v.start, v.end) for k, v in enumerate(route.visits)]
    events.insert(ins.position, (1, ins.start, ins.end))
    return day_is_feasible(route.van, events, m)


def test_a_visit_fits_in_a_gap_and_every_published_time_stays():
    route = DayRoute(MON, VAN, (visit("a", 10, "09:00", "10:00"), visit("b", 10, "14:00", "15:00")))
    new = NewVisit(at(12), 60)
    result = insertions([route], HALL, LineProvider(), new)
    assert result.fits, "a free morning hour next to the stop"
    best = result.fits[0]
    assert (best.after, best.before) == ("a", "b")
    assert best.start == hm("10:15"), "2 km from stop a: the first quarter hour after 10:02"
    assert best.end == hm("11:15")
    assert best.extra_minutes == 4 and best.extra_metres == 4000
    assert best.moves == ()
    assert kept(route, best, new)
    assert not result.with_moves, "nothing needs to move on a day it fits"


def test_a_window_and_the_preferred_days_choose_where_it_goes():
    tue = MON + dt.timedelta(days=1)
    routes = [
        DayRoute(MON, VAN, (visit("a", 10, "09:00", "10:00"),)),
        DayRoute(tue, VAN, (visit("c", 10, "09:00", "10:00"),)),
    ]
    new = NewVisit(at(10), 60, days=frozenset({tue}), window=(hm("14:00"), hm("16:00")))
    result = insertions(routes, HALL, LineProvider(), new)
    assert result.fits[0].day == tue and result.fits[0].preferred
    assert all(hm("14:00") <= i.start and i.end <= hm("16:00") for i in result.fits)
    assert {i.day for i in result.fits if not i.preferred} == {MON}


def test_the_lunch_break_is_kept():
    # 11:30-13:00 is the only gap inside the lunch window; a 60-minute visit there would leave
    # 30 minutes, too short for the hour's lunch, so it must not be offered there.
    route = DayRoute(MON, VAN, (visit("a", 10, "09:00", "11:30"), visit("b", 10, "13:00", "16:15")))
    new = NewVisit(at(10), 60, window=(hm("11:30"), hm("13:00")))
    result = insertions([route], HALL, LineProvider(), new)
    assert result.fits == ()
    # without the lunch break the visit would fit exactly: the lunch is what refuses it
    no_lunch = Van("V1", "V1", 2, 8 * 60 + 30, 17 * 60, 0, 11 * 60 + 30, 13 * 60 + 30)
    assert insertions([DayRoute(MON, no_lunch, route.visits)], HALL, LineProvider(), new).fits


def test_the_shift_end_is_kept():
    # 16:00-17:00 after the last visit is free, but the van needs 20 minutes back to the hall.
    route = DayRoute(MON, VAN, (visit("a", 20, "09:00", "11:30"), visit("b", 20, "12:30", "16:00")))
    new = NewVisit(at(20), 60, window=(hm("16:00"), hm("17:00")))
    assert insertions([route], HALL, LineProvider(), new).fits == ()
    # with a shift half an hour longer it fits there: the shift's end is what refuses it
    longer = Van("V1", "V1", 2, 8 * 60 + 30, 17 * 60 + 30, 60, 11 * 60 + 30, 13 * 60 + 30)
    result = insertions([DayRoute(MON, longer, route.visits)], HALL, LineProvider(), new)
    assert [(i.start, i.end) for i in result.fits] == [(hm("16:00"), hm("17:00"))]


def test_when_nothing_fits_it_says_what_would_move():
    # A full day: nothing fits as published inside the window.
    route = DayRoute(
        MON,
        VAN,
        (
            visit("a", 10, "09:00", "10:00"),
            visit("b", 10, "10:00", "11:30"),
            visit("c", 10, "12:30", "14:00"),
            visit("d", 10, "14:00", "15:30"),
        ),
    )
    new = NewVisit(at(10), 45, window=(hm("08:30"), hm("16:00")))
    result = insertions([route], HALL, LineProvider(), new)
    assert result.fits == ()
    option = result.with_moves[0]
    # the least change: after c, with only the last visit 45 minutes later (back 16:25)
    assert (option.start, option.end) == (hm("14:00"), hm("14:45"))
    assert [(m.key, m.shift) for m in option.moves] == [("d", 45)]
    # the moved day is one the van can keep, lunch and shift included
    moved = {m.key: m for m in option.moves}
    events = []
    for v in route.visits:
        m = moved.get(v.key)
        events.append((2, m.new_start, m.new_end) if m else (2, v.start, v.end))
    events.insert(option.position, (2, option.start, option.end))
    pts = [HALL, new.point, at(10)]
    sec = LineProvider().matrix(pts, pts).seconds.tolist()
    assert day_is_feasible(VAN, events, sec)


def test_a_day_too_full_even_with_moves_is_not_offered():
    route = DayRoute(MON, VAN, (visit("a", 10, "08:45", "11:30"), visit("b", 10, "12:30", "16:45")))
    result = insertions([route], HALL, LineProvider(), NewVisit(at(10), 120))
    assert result.fits == () and result.with_moves == ()


def test_an_empty_day_takes_the_visit_between_hall_and_hall():
    result = insertions([DayRoute(MON, VAN, ())], HALL, LineProvider(), NewVisit(at(30), 90))
    only = result.fits[0]
    assert (only.after, only.before) == (None, None)
    assert only.start == hm("09:00"), "30 minutes from the hall after 08:30"
    assert only.extra_minutes == 60


def test_allowed_days_by_weekday_or_date():
    week = [MON + dt.timedelta(days=i) for i in range(5)]
    assert allowed_days(week, [], []) == frozenset(week)
    assert allowed_days(week, [0, 2], []) == {MON, MON + dt.timedelta(days=2)}
    assert allowed_days(week, [0], [week[4]]) == {MON, week[4]}
