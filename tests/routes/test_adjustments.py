"""The dispatcher's adjustments: pins held by the solver, exclusions, visits a week and dwell,
named errors, the template's fingerprint, and the diff against a published timetable."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from routes import AdjustmentError, Adjustments, Pin, PinError, diff_plan, plan_week
from routes.check import check_plan
from routes.diff import diff_rows, plan_context
from routes.engine import SearchParams
from routes.matrix import CachedProvider, GeodesicProvider
from routes.planner import WeekPlan, template_fingerprint
from routes.problem import PlanSettings
from routes.publish import timetable_rows
from taxvan.adjustments import adjustment_problems
from taxvan.dataset import Dataset
from taxvan.io.loaders import load_dataset
from tests.districts import make_county

QUICK = SearchParams(time_limit_s=2, workers=1)
TUE, THU, FRI = 1, 3, 4


def _plan(
    dataset: Dataset, cache: Path, adj: Adjustments, week: str = "2026-W49", **kw
) -> WeekPlan:
    return plan_week(
        dataset,
        week,
        CachedProvider(GeodesicProvider(), cache),
        params=kw.pop("params", QUICK),
        adjustments=adj,
        **kw,
    )


def _near_monday_stop(week: WeekPlan) -> str:
    """A weekly stop the unadjusted template visits once, on Monday, nearest the hall."""
    problem = week.standard.paired
    once = [v.stop_id for v in problem.demand.visits if v.count == 1 and not v.biweekly]
    monday = [
        v.stop_id
        for r in week.template.routes
        if r.date.weekday() == 0
        for v in r.visits
        if v.stop_id in once
    ]
    assert monday, "the demo template visits some stop on Monday"
    return min(monday, key=lambda s: int(problem.seconds[0][problem.stop_node(s)]))


@pytest.fixture(scope="module")
def pinned(demo_week: WeekPlan, demo_dataset: Dataset, matrix_cache: Path, tmp_path_factory):
    """The demo's W49 with a Monday stop pinned to Thursday 10:00 (templates kept)."""
    stop = _near_monday_stop(demo_week)
    adj = Adjustments(pins=(Pin(stop, THU, 10 * 60),))
    folder = tmp_path_factory.mktemp("templates")
    return stop, _plan(demo_dataset, matrix_cache, adj, templates=folder)


def _visits(week: WeekPlan, stop: str):
    return [v for v in week.plan.visits if v.stop_id == stop]


def test_a_pinned_stop_is_on_its_weekday_at_its_time(pinned):
    stop, week = pinned
    held = _visits(week, stop)
    assert [(v.date.weekday(), v.start) for v in held] == [(THU, 10 * 60)]
    in_template = [v for r in week.template.routes for v in r.visits if v.stop_id == stop]
    assert [(v.date.weekday(), v.start) for v in in_template] == [(THU, 10 * 60)]
    assert check_plan(week.plan, week.problem) == []
    assert week.adjustments.pins[0].stop_id == stop


def test_the_check_catches_a_pin_broken_afterwards(pinned):
    """The independent check knows the pins: a visit patched to another time fails it."""
    stop, week = pinned
    routes = tuple(
        dataclasses.replace(
            r,
            visits=tuple(
                dataclasses.replace(v, start=v.start + 15, end=v.end + 15)
                if v.stop_id == stop
                else v
                for v in r.visits
            ),
        )
        for r in week.plan.routes
    )
    broken = dataclasses.replace(week.plan, routes=routes)
    assert any("outside its pinned 10:00-10:00" in p for p in check_plan(broken, week.problem))


def test_a_pin_of_the_day_only_puts_the_visit_on_that_day(demo_week, demo_dataset, matrix_cache):
    stop = _near_monday_stop(demo_week)
    week = _plan(demo_dataset, matrix_cache, Adjustments(pins=(Pin(stop, TUE),)))
    assert [v.date.weekday() for v in _visits(week, stop)] == [TUE]


def test_the_same_adjustments_reuse_the_template_a_changed_pin_does_not(
    pinned, demo_dataset, matrix_cache
):
    stop, first = pinned
    folder = first.template_path.parent
    assert not first.template_reused
    same = Adjustments(
        pins=[Pin(stop, THU, 600)],  # a list, and a dict below: the same adjustments
        visits_per_week={},
    )
    again = _plan(demo_dataset, matrix_cache, same, week="2026-W50", templates=folder)
    assert again.template_reused and again.fingerprint == first.fingerprint
    assert [(v.date.weekday(), v.start) for v in _visits(again, stop)] == [(THU, 600)]
    moved = Adjustments(pins=(Pin(stop, THU, 10 * 60 + 30),))
    other = _plan(demo_dataset, matrix_cache, moved, templates=folder)
    assert not other.template_reused and other.fingerprint != first.fingerprint
    assert [(v.date.weekday(), v.start) for v in _visits(other, stop)] == [(THU, 630)]
    provider = GeodesicProvider()
    none = template_fingerprint(demo_dataset, provider, PlanSettings())
    assert template_fingerprint(demo_dataset, provider, PlanSettings(), Adjustments()) == none, (
        "no adjustments keep the templates saved before there were any"
    )


def test_the_diff_reports_the_forced_move_as_pinned(pinned, demo_week):
    stop, week = pinned
    published = [r.as_record() for r in timetable_rows(demo_week.plan, demo_week.dataset)]
    diff = diff_plan(week, published)
    mine = [c for c in diff.changes if c.stop_id == stop]
    assert len(mine) == 1 and mine[0].kind == "moved" and mine[0].reason == "pinned"
    assert mine[0].old.date.weekday() == 0 and mine[0].new.date.weekday() == THU
    assert mine[0].new.start == 600 and "pinned to Thu 10:00" in str(mine[0].detail)
    counts = diff.counts()
    assert counts["unchanged"] + counts["moved"] + counts["removed"] == len(published)
    assert counts["unchanged"] + counts["moved"] + counts["added"] == len(week.plan.visits)
    # the plan against itself: nothing changes
    same = diff_plan(demo_week, published)
    assert same.changes == () and same.unchanged == len(published)
    assert diff.as_dict()["changes"][0]["kind"] in ("moved", "added", "removed")


def test_the_diff_takes_plain_rows_and_names_bad_ones(demo_week):
    rows = [r.as_record() for r in timetable_rows(demo_week.plan, demo_week.dataset)]
    typed = [
        {"date": r.date, "stop_id": r.stop_id, "start": r.start, "end": r.end}
        for r in timetable_rows(demo_week.plan, demo_week.dataset)
    ]
    ctx = plan_context(demo_week)
    assert diff_rows(typed, rows, ctx).unchanged == len(rows)
    other_week = [{**rows[0], "date": "2026-12-08"}]
    assert diff_rows(rows + other_week, rows, ctx).other_weeks == 1
    bad = [{**rows[0], "start": "9am"}, {**rows[1], "date": "tomorrow"}]
    with pytest.raises(Exception) as err:
        diff_rows(bad, rows, ctx)
    text = err.value.report()
    assert "row 2, column 'start'" in text and "row 3, column 'date'" in text


def test_excluded_stop_and_weekday_are_absent(demo_week, demo_dataset, matrix_cache):
    busiest = max(demo_week.plan.visits, key=lambda v: v.remote_served).stop_id
    adj = Adjustments(excluded_stops=frozenset({busiest}), excluded_weekdays=frozenset({FRI}))
    week = _plan(demo_dataset, matrix_cache, adj)
    assert not _visits(week, busiest)
    assert busiest not in {v.stop_id for v in week.problem.demand.visits}
    assert all(r.date.weekday() != FRI for r in week.plan.routes)
    assert all(r.date.weekday() != FRI for r in week.template.routes)
    assert check_plan(week.plan, week.problem) == []
    published = [r.as_record() for r in timetable_rows(demo_week.plan, demo_week.dataset)]
    reasons = {(c.stop_id, c.reason) for c in diff_plan(week, published).changes}
    assert (busiest, "stop_excluded") in reasons
    assert any(code == "day_excluded" for _, code in reasons)


def test_visits_a_week_and_dwell_change_the_plan(demo_week, demo_dataset, matrix_cache):
    must = next(v for v in demo_week.problem.demand.visits if v.must_serve)
    before = [v for v in demo_week.problem.demand.visits if v.stop_id == must.stop_id]
    assert len(before) == 1 and before[0].dwell != 60
    adj = Adjustments(visits_per_week={must.stop_id: 2}, dwell={must.stop_id: 60})
    week = _plan(demo_dataset, matrix_cache, adj)
    asked = [v for v in week.problem.demand.visits if v.stop_id == must.stop_id]
    assert [(v.count, v.dwell) for v in asked] == [(2, 60), (2, 60)]
    held = _visits(week, must.stop_id)
    assert held and all(v.end - v.start == 60 for v in held)
    assert check_plan(week.plan, week.problem) == []
    if len(held) == 2:
        assert abs((held[1].date - held[0].date).days) >= asked[0].min_gap_days


def test_a_pin_that_cannot_hold_raises_a_named_error(demo_week, demo_dataset, matrix_cache):
    problem = demo_week.standard.paired
    far = max(
        (v.stop_id for v in problem.demand.visits if v.stop_id in problem.stop_index),
        key=lambda s: int(problem.seconds[0][problem.stop_node(s)]),
    )
    adj = Adjustments(pins=(Pin(far, TUE, 8 * 60 + 30),))  # the shift starts at 08:30
    with pytest.raises(PinError) as err:
        _plan(demo_dataset, matrix_cache, adj)
    assert err.value.pin.stop_id == far and err.value.pin.weekday == TUE
    assert f"stop {far} pinned to Tue 08:30" in str(err.value)
    assert "cannot open by 08:30" in str(err.value)


def test_two_pins_of_one_day_that_cannot_follow_one_another(demo_week, demo_dataset, matrix_cache):
    a, b = sorted(
        {v.stop_id for v in demo_week.problem.demand.visits if v.count == 1 and not v.biweekly}
    )[:2]
    adj = Adjustments(pins=(Pin(a, TUE, 10 * 60), Pin(b, TUE, 10 * 60)))
    with pytest.raises(PinError, match="cannot all be kept by one van"):
        _plan(demo_dataset, matrix_cache, adj)


BAD = [
    (lambda s, h: Adjustments(pins=(Pin("nope", TUE),)), "stop nope: pin: no such stop"),
    (
        lambda s, h: Adjustments(pins=(Pin(s, FRI),), excluded_weekdays=frozenset({FRI})),
        "stop S, Fri: pin: the van does not run that day",
    ),
    (lambda s, h: Adjustments(pins=(Pin(s, 5),)), "stop S, Sat: pin: no van works on this weekday"),
    (
        lambda s, h: Adjustments(pins=(Pin(s, TUE, 18 * 60),)),
        "18:00 is outside the shift (08:30-17:00)",
    ),
    (lambda s, h: Adjustments(pins=(Pin(s, TUE, 7 * 60),)), "07:00 is outside the shift"),
    (
        lambda s, h: Adjustments(pins=(Pin(s, TUE, 9 * 60 + 10),)),
        "09:10 is not on the 15-minute grid",
    ),
    (
        lambda s, h: Adjustments(pins=(Pin(s, TUE, 9 * 60), Pin(s, TUE, 14 * 60))),
        "two pins on one weekday cannot both hold",
    ),
    (
        lambda s, h: Adjustments(pins=(Pin(s, TUE), Pin(s, THU)), visits_per_week={s: 1}),
        "2 pinned weekdays but only 1 visit(s) a week",
    ),
    (
        lambda s, h: Adjustments(pins=(Pin(s, TUE),), excluded_stops=frozenset({s})),
        "stop S: pin: the stop is also excluded",
    ),
    (
        lambda s, h: Adjustments(visits_per_week={s: 6}),
        "6 is not between 1 and the 5 working weekdays",
    ),
    (lambda s, h: Adjustments(dwell={s: 50}), "50 min is not a positive multiple of 15 min"),
    (lambda s, h: Adjustments(dwell={s: 600}), "longer than a whole shift"),
    (
        lambda s, h: Adjustments(excluded_weekdays=frozenset(range(5))),
        "every working weekday is excluded",
    ),
    (lambda s, h: Adjustments(visits_per_week={h: 1}), "is not served by the van"),
]


@pytest.mark.parametrize(("make", "expected"), BAD)
def test_adjustments_that_cannot_hold_name_the_stop_day_and_why(demo_dataset, make, expected):
    served = {s.code for s in demo_dataset.streets if s.served}
    unserved = next(x.code for x in demo_dataset.streets if not x.served)
    first = demo_dataset.stops[0]
    assert first.street_code in served
    hall_side = dataclasses.replace(first, id="H1", street_code=unserved)
    ds = dataclasses.replace(demo_dataset, stops=(*demo_dataset.stops, hall_side))
    adj = make(first.id, "H1")
    expected = expected.replace("stop S", f"stop {first.id}")
    problems = [str(p) for p in adjustment_problems(adj, ds)]
    assert any(expected in p for p in problems), problems
    with pytest.raises(AdjustmentError) as err:
        plan_week(ds, "2026-W49", adjustments=adj)
    assert expected in err.value.report()


def test_adjustments_round_trip_as_json():
    adj = Adjustments(
        pins=(Pin("A", TUE, 9 * 60, 15), Pin("B", FRI)),
        excluded_stops=frozenset({"C"}),
        excluded_weekdays=frozenset({0}),
        visits_per_week={"D": 2},
        dwell={"D": 90},
    )
    data = adj.as_dict()
    assert data["pins"][0] == {"stop_id": "A", "weekday": "Tue", "start": "09:00", "tolerance": 15}
    assert Adjustments.from_dict(data) == adj and hash(Adjustments.from_dict(data)) == hash(adj)
    with pytest.raises(AdjustmentError) as err:
        Adjustments.from_dict({"pins": [{"stop_id": "A", "weekday": "Someday"}], "color": 1})
    fields = {p.field for p in err.value.problems}
    assert fields == {"color", "pins[0].weekday"}


def test_a_pin_in_a_holiday_week(demo_week, demo_dataset, matrix_cache, tmp_path):
    """2026-W41: Mon 5 - Wed 7 October are National Day holidays, Saturday 10 October a
    make-up working day. A stop pinned to Tuesday is held only where the calendar runs the
    Tuesday timetable (the make-up day) at its time, or not held and says why; a stop pinned
    to Thursday keeps Thursday and its time."""
    stop = _near_monday_stop(demo_week)
    other = next(
        v.stop_id
        for v in demo_week.problem.demand.visits
        if v.count == 1 and not v.biweekly and v.stop_id != stop
    )
    adj = Adjustments(pins=(Pin(stop, TUE, 10 * 60), Pin(other, THU, 11 * 60)))
    folder = tmp_path / "templates"
    w41 = _plan(demo_dataset, matrix_cache, adj, week="2026-W41", templates=folder)
    assert check_plan(w41.plan, w41.problem) == []
    assert [(v.date.weekday(), v.start) for v in _visits(w41, other)] == [(THU, 11 * 60)]
    held = _visits(w41, stop)
    if held:
        (v,) = held
        assert v.date.isoformat() == "2026-10-10" and v.start == 600
        assert v.moved_from is not None and v.moved_from.date.weekday() == TUE
    else:
        (d,) = [d for d in w41.plan.dropped if d.stop_id == stop]
        assert "holiday" in str(d.reason) and "pinned to Tue" in str(d.reason)
    # the next, ordinary week keeps both pins with the same template
    w42 = _plan(demo_dataset, matrix_cache, adj, week="2026-W42", templates=folder)
    assert w42.template_reused
    assert [(v.date.weekday(), v.start) for v in _visits(w42, stop)] == [(TUE, 600)]


def test_a_pinned_every_other_week_stop_keeps_its_parity(demo_dataset, matrix_cache, tmp_path):
    """The catchment choice has every-other-week stops, paired in the template; a pinned one
    keeps a place of its own on its weekday, held in its weeks, skipped in the others."""
    settings = PlanSettings(stop_choice="catchment")
    base = _plan(demo_dataset, matrix_cache, Adjustments(), settings=settings)
    biweekly = sorted({v.stop_id for v in base.standard.base.demand.visits if v.biweekly})
    assert biweekly
    stop = biweekly[0]
    adj = Adjustments(pins=(Pin(stop, TUE, 14 * 60),))
    held = {}
    for week in ("2026-W49", "2026-W50"):
        planned = _plan(
            demo_dataset, matrix_cache, adj, week=week, settings=settings, templates=tmp_path
        )
        assert check_plan(planned.plan, planned.problem) == []
        assert not any(stop in pair for pair in planned.standard.pairs)
        held[week] = [(v.date.weekday(), v.start) for v in _visits(planned, stop)]
    assert sorted(held.values()) == [[], [(TUE, 14 * 60)]]


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    return load_dataset(make_county(tmp_path_factory.mktemp("district") / "county"))


def test_pins_on_the_second_district(county: Dataset, matrix_cache: Path):
    """The long county: a near stop pinned to Wednesday 09:30, a stop of the far end pinned
    to Thursday (the day only), and the far end pinned at the start of the shift fails."""
    base = _plan(county, matrix_cache, Adjustments())
    problem = base.standard.paired
    stops = sorted(
        {v.stop_id for v in problem.demand.visits if v.count == 1 and not v.biweekly},
        key=lambda s: int(problem.seconds[0][problem.stop_node(s)]),
    )
    near, far = stops[0], stops[-1]
    adj = Adjustments(pins=(Pin(near, 2, 9 * 60 + 30), Pin(far, THU)))
    week = _plan(county, matrix_cache, adj)
    assert check_plan(week.plan, week.problem) == []
    assert [(v.date.weekday(), v.start) for v in _visits(week, near)] == [(2, 570)]
    assert [v.date.weekday() for v in _visits(week, far)] == [THU]
    with pytest.raises(PinError, match=f"stop {far} pinned to Thu 08:45"):
        _plan(county, matrix_cache, Adjustments(pins=(Pin(far, THU, 8 * 60 + 45),)))
