"""Re-solving near the previous template: a changed adjustment moves the adjusted stop and
what must make room for it, and nothing else; a plan from scratch moves almost everything."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import pytest

from routes import Adjustments, Pin, diff_plan, plan_week
from routes.check import check_plan
from routes.diff import DiffContext, diff_rows
from routes.engine import SearchParams
from routes.matrix import CachedProvider, GeodesicProvider
from routes.planner import WeekPlan
from routes.publish import timetable_rows
from routes.schedule import schedule_day, schedule_near
from routes.stability import PreviousTemplate, Stability
from taxvan.dataset import Dataset
from taxvan.errors import PlanningError
from taxvan.io.loaders import load_dataset
from tests.conftest import van
from tests.districts import make_county

QUICK = SearchParams(time_limit_s=2, workers=1)
MON, THU = 0, 3
WEEK = "2026-W49"


class District:
    """A district's unadjusted week (its template kept in a folder of its own), and plans of
    adjusted weeks near it and from scratch."""

    def __init__(self, dataset: Dataset, cache: Path, folder: Path) -> None:
        self.dataset = dataset
        self.provider = CachedProvider(GeodesicProvider(), cache)
        self.folder = folder
        self.base = plan_week(dataset, WEEK, self.provider, params=QUICK, templates=folder)
        self.published = timetable_rows(self.base.plan, dataset)

    def plan(self, adj: Adjustments, *, fresh: bool = False, **kw) -> WeekPlan:
        """Planned in a copy of the folder holding only the unadjusted template, so each
        plan is made anew (near it, or from scratch with `fresh`)."""
        folder = self.folder.parent / f"run-{len(list(self.folder.parent.iterdir()))}"
        folder.mkdir()
        assert self.base.template_path is not None
        shutil.copy(self.base.template_path, folder)
        return plan_week(
            self.dataset,
            WEEK,
            self.provider,
            params=QUICK,
            templates=folder,
            adjustments=adj,
            new_template=fresh,
            **kw,
        )

    def stop_to_pin(self) -> tuple[str, int, int]:
        """(stop, its weekday, the weekday three days on): a weekly stop the unadjusted
        template visits once, nearest the hall, on the first day that holds one within
        90 min of the hall (Monday on the demo; on the second district, whose far villages
        fill whole days, the first day that also serves villages nearer the hall)."""
        problem = self.base.standard.paired
        once = {v.stop_id for v in problem.demand.visits if v.count == 1 and not v.biweekly}

        def away(stop_id: str) -> int:
            return int(problem.seconds[0][problem.stop_node(stop_id)])

        for day in range(5):
            stops = [
                v.stop_id
                for r in self.base.template.routes
                if r.date.weekday() == day
                for v in r.visits
                if v.stop_id in once
            ]
            if stops and away(nearest := min(stops, key=away)) <= 90 * 60:
                return nearest, day, (day + 3) % 5
        raise AssertionError("no day holds a stop within 90 min of the hall")

    def diff(self, week: WeekPlan):
        return diff_plan(week, [r.as_record() for r in self.published])


@pytest.fixture(scope="module", params=["demo", "county"])
def district(request, demo_dataset, matrix_cache, tmp_path_factory) -> District:
    if request.param == "demo":
        dataset = demo_dataset
    else:
        dataset = load_dataset(make_county(tmp_path_factory.mktemp("district") / "county"))
    return District(dataset, matrix_cache, tmp_path_factory.mktemp("stable") / "templates")


def _changes(diff) -> int:
    c = diff.counts()
    return c["moved"] + c["added"] + c["removed"]


def _kept(district: District, week: WeekPlan, days: set[int], exact: bool) -> tuple[int, int]:
    """(published visits on weekdays outside `days`, how many of them the new plan keeps on
    their date, and at their times too when `exact`)."""
    key = (lambda r: (r.stop_id, r.date, r.start)) if exact else (lambda r: (r.stop_id, r.date))
    new = {key(r) for r in timetable_rows(week.plan, district.dataset)}
    other = [r for r in district.published if r.date.weekday() not in days]
    return len(other), sum(key(r) in new for r in other)


def test_a_pin_moves_its_stop_and_what_makes_room_and_nothing_else(district: District):
    """Pin a stop to the weekday three days on (Monday's to Thursday on the demo): near the
    previous template, every visit of the other days keeps its day and its start, the moves
    are the pin and visits that made room for it, and there are fewer of them than in a
    re-plan from scratch."""
    stop, was, to = district.stop_to_pin()
    adj = Adjustments(pins=(Pin(stop, to),))
    near = district.plan(adj)
    fresh = district.plan(adj, fresh=True)
    assert near.near is not None and fresh.near is None
    for week in (near, fresh):
        assert [v.date.weekday() for v in week.plan.visits if v.stop_id == stop] == [to]
        assert check_plan(week.plan, week.problem) == []

    others, kept = _kept(district, near, {was, to}, exact=True)
    assert others and kept == others, "untouched days keep every visit's day and start"
    near_diff, fresh_diff = district.diff(near), district.diff(fresh)
    assert _changes(near_diff) < _changes(fresh_diff)
    assert _kept(district, fresh, {was, to}, exact=True)[1] < others, (
        "a plan from scratch moves visits of the untouched days (so the bound above can fail)"
    )
    reasons = {(c.stop_id == stop, c.reason) for c in near_diff.changes}
    assert (True, "pinned") in reasons
    assert reasons <= {(True, "pinned"), (False, "made_room"), (False, "dropped")}, reasons
    room = [c for c in near_diff.changes if c.reason == "made_room"]
    day = ("Mon", "Tue", "Wed", "Thu", "Fri")[to]
    assert all(f"stop {stop} pinned to {day}" in str(c.detail) for c in room)
    assert "replanned" in {c.reason for c in fresh_diff.changes}


def test_an_excluded_stop_leaves_the_other_days_as_they_were(district: District):
    stop, was, _ = district.stop_to_pin()
    adj = Adjustments(excluded_stops=frozenset({stop}))
    near = district.plan(adj)
    fresh = district.plan(adj, fresh=True)
    assert not [v for v in near.plan.visits if v.stop_id == stop]
    assert check_plan(near.plan, near.problem) == []
    others, kept_near = _kept(district, near, {was}, exact=False)
    _, kept_fresh = _kept(district, fresh, {was}, exact=False)
    # The street's minutes go to its other stops, so some dwells and times change; but the
    # days keep their visits, far more than from scratch.
    assert kept_near >= 0.6 * others and kept_near > kept_fresh
    near_diff = district.diff(near)
    assert _changes(near_diff) < _changes(district.diff(fresh))
    assert "replanned" not in {c.reason for c in near_diff.changes}
    assert [c.reason for c in near_diff.changes if c.stop_id == stop] == ["stop_excluded"]


def test_no_stability_cost_overrides_a_pin_or_a_street_minimum(district: District):
    """However heavily moving is charged, the pin holds at its time and every street keeps
    the minimum visit the unadjusted plan gave it."""
    stop, _, to = district.stop_to_pin()
    heavy = Stability(move_cost=10**7, minute_cost=10**5)
    week = district.plan(Adjustments(pins=(Pin(stop, to, 10 * 60 + 30),)), stability=heavy)
    assert [(v.date.weekday(), v.start) for v in week.plan.visits if v.stop_id == stop] == [
        (to, 10 * 60 + 30)
    ]
    assert check_plan(week.plan, week.problem) == []
    must = {v.key for v in week.standard.paired.demand.visits if v.must_serve}
    held_before = must & {v.key for v in district.base.template.visits}
    assert held_before <= {v.key for v in week.template.visits}


def test_the_previous_template_is_explicit_and_fresh_ignores_it(district: District, tmp_path: Path):
    """`previous=` names the template to plan near (the console passes the published one);
    without it and without a kept unadjusted template the plan starts from scratch, and
    `new_template` never plans near anything."""
    stop, was, to = district.stop_to_pin()
    adj = Adjustments(pins=(Pin(stop, to),))
    assert district.base.template_path is not None
    saved = tmp_path / "published-template.json"
    shutil.copy(district.base.template_path, saved)
    kw = {"params": QUICK, "adjustments": adj}
    near = plan_week(district.dataset, WEEK, district.provider, templates=tmp_path / "t", **kw)
    assert near.near is None, "an empty templates folder has no previous template"
    kept = tmp_path / "kept"
    given = plan_week(
        district.dataset, WEEK, district.provider, previous=saved, templates=kept, **kw
    )
    assert given.near == str(saved) and not given.template_reused
    again = plan_week(district.dataset, "2026-W50", district.provider, templates=kept, **kw)
    assert again.template_reused and again.near == str(saved), "a reused template says so"
    assert (
        _kept(district, given, {was, to}, exact=True)[1]
        == _kept(district, given, {was, to}, exact=True)[0]
    )
    fresh = plan_week(
        district.dataset, WEEK, district.provider, previous=saved, new_template=True, **kw
    )
    assert fresh.near is None


def test_a_bad_previous_template_is_named(tmp_path: Path):
    bad = tmp_path / "template.json"
    bad.write_text('{"routes": [{"weekday": 0}]}', "utf-8")
    with pytest.raises(PlanningError, match=f"previous template {bad} is not a template"):
        PreviousTemplate.from_file(bad)
    with pytest.raises(PlanningError, match="cannot be read"):
        PreviousTemplate.from_file(tmp_path / "missing.json")


def test_a_previous_place_is_found_for_a_stop_whose_pairing_changed():
    data = {
        "routes": [
            {
                "weekday": 2,
                "van": "V1",
                "visits": [
                    {"key": "A#1", "stop_id": "A", "start": 600},
                    {"key": "B+C#1", "stop_id": "B+C", "start": 700},
                ],
            }
        ]
    }
    prev = PreviousTemplate.from_dict(data)
    assert prev.place_of("A#1", "A", 0).start == 600
    assert prev.place_of("C#1", "C", 0).start == 700  # C is no longer paired with B
    assert prev.place_of("C+D#1", "C+D", 0).order == 2  # C paired with D now
    assert prev.place_of("E#1", "E", 0) is None


def test_schedule_near_keeps_the_previous_starts_that_the_day_allows():
    """Two stops 30 min apart, 60 min each: the second preferred at 11:00 waits for it; a
    first preferred so late that the day could not be kept opens as early as it can."""
    sec = np.array([[0, 1800, 1800], [1800, 0, 1800], [1800, 1800, 0]])
    v = van()
    earliest = schedule_day([1, 2], [60, 60], sec, v)
    assert [t.start for t in earliest.visits] == [540, 630]
    near = schedule_near([1, 2], [60, 60], sec, v, prefer=[None, 660])
    assert [t.start for t in near.visits] == [540, 660]
    late = schedule_near([1, 2], [60, 60], sec, v, prefer=[15 * 60 + 30, 16 * 60])
    assert late.visits[0].start == 540 and late.back <= 17 * 60


def test_the_diff_names_the_pin_a_visit_made_room_for():
    d = dt.date(2026, 12, 3)
    old = [
        {"date": "2026-11-30", "stop_id": "P", "start": "09:00", "end": "10:00"},
        {"date": "2026-12-03", "stop_id": "X", "start": "10:00", "end": "11:00"},
        {"date": "2026-12-01", "stop_id": "Y", "start": "10:00", "end": "11:00"},
    ]
    new = [
        {"date": "2026-12-03", "stop_id": "P", "start": "10:00", "end": "11:00"},
        {"date": "2026-12-01", "stop_id": "X", "start": "13:00", "end": "14:00"},
        {"date": "2026-12-01", "stop_id": "Y", "start": "10:00", "end": "11:00"},
    ]
    adj = Adjustments(pins=(Pin("P", THU, 600),))
    near = diff_rows(
        old, new, DiffContext(WEEK, adjustments=adj, replanned=True, near_previous=True)
    )
    by_stop = {c.stop_id: c for c in near.changes}
    assert by_stop["P"].reason == "pinned" and by_stop["X"].new.date == d - dt.timedelta(days=2)
    assert by_stop["X"].reason == "made_room"
    assert str(by_stop["X"].detail) == "made room for stop P pinned to Thu 10:00"
    assert near.unchanged == 1
    scratch = diff_rows(old, new, DiffContext(WEEK, adjustments=adj, replanned=True))
    assert {c.stop_id: c.reason for c in scratch.changes}["X"] == "replanned"
