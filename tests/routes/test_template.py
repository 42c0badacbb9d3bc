"""The weekly template: the same times every week, and only the calendar changes the days."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from routes.check import check_plan
from routes.engine import SearchParams
from routes.matrix import CachedProvider, GeodesicProvider
from routes.plan import UsualTime
from routes.planner import plan_week
from routes.problem import PlanSettings
from routes.report import plan_report
from routes.template import (
    apply_template,
    calendar_problem,
    pair_alternating,
    template_from_dict,
    template_to_dict,
)
from routes.weekly import solve_week
from taxvan.demand import biweekly_in_week
from taxvan.errors import PlanningError
from taxvan.workdays import WEEKDAY_EN
from tests.conftest import make_problem, ring_stops, visit


@pytest.fixture(scope="module")
def catchment_week(demo_dataset, matrix_cache, tmp_path_factory):
    """The demo's 2026-W49 through `plan_week`, with the catchment stop choice: it has
    every-other-week stops to pair (the covering choice visits each stop it chooses every
    week)."""
    return plan_week(
        demo_dataset,
        "2026-W49",
        CachedProvider(GeodesicProvider(), matrix_cache),
        PlanSettings(stop_choice="catchment"),
        params=SearchParams(time_limit_s=3),
        templates=tmp_path_factory.mktemp("catchment-templates"),
    )


@pytest.fixture(scope="module")
def standard(catchment_week):
    return catchment_week.standard


@pytest.fixture(scope="module")
def template_problem(standard):
    return standard.base


@pytest.fixture(scope="module")
def template(catchment_week, standard):
    assert check_plan(catchment_week.template, standard.paired) == []
    return catchment_week.template


@pytest.fixture(scope="module")
def week_plan(standard):
    def plan_for(template, label):
        """The calendar week `label` planned by applying `template` to the standard week."""
        problem = calendar_problem(standard.base, label)
        return apply_template(template, problem, standard.pairs), problem

    return plan_for


def slots(plan):
    return {v.key: (v.date.weekday(), v.start, v.end) for v in plan.visits}


def test_template_holds_a_place_for_every_stop_due_in_either_week(template_problem):
    biweekly = [v for v in template_problem.demand.visits if v.biweekly]
    assert biweekly, "the demo data has every-other-week stops"
    parities = {biweekly_in_week(v.stop_id, 49) for v in biweekly}
    assert parities == {True, False}, "both parities are in the template"
    assert len(template_problem.week.dates) == 5


def test_a_stop_keeps_its_weekday_and_times_from_week_to_week(
    template, template_problem, week_plan
):
    w49, p49 = week_plan(template, "2026-W49")
    w50, p50 = week_plan(template, "2026-W50")
    assert check_plan(w49, p49) == []
    assert check_plan(w50, p50) == []
    s49, s50 = slots(w49), slots(w50)
    weekly = {v.key for v in template_problem.demand.visits if not v.biweekly}
    held_both = weekly & s49.keys() & s50.keys()
    assert held_both, "weekly visits are held in both weeks"
    for key in held_both:
        assert s49[key] == s50[key], f"{key} moved between weeks"
    # the day's departure is when the van leaves for its first visit of that week (issue 9.7)
    for plan, problem in ((w49, p49), (w50, p50)):
        for r in plan.routes:
            if r.visits and (r.lunch_start is None or r.lunch_start >= r.visits[0].end):
                travel = int(problem.seconds[0][problem.stop_node(r.visits[0].stop_id)])
                assert r.depart == (r.visits[0].start * 60 - travel) // 60
    biweekly = {v.key for v in template_problem.demand.visits if v.biweekly}
    assert biweekly & s49.keys() and biweekly & s50.keys()
    for key in biweekly:
        assert not (key in s49 and key in s50), f"{key} is every other week"


def test_alternating_stops_share_one_place_at_the_same_time(standard, template, week_plan):
    assert standard.pairs, "the demo data pairs some every-other-week stops"
    w49, _ = week_plan(template, "2026-W49")
    w50, _ = week_plan(template, "2026-W50")
    s49, s50 = slots(w49), slots(w50)
    placed = {v.stop_id: (v.date.weekday(), v.start, v.end) for v in template.visits}
    # within a street first: a pair crosses streets only for stops left without a partner
    parity: dict[str, list[int]] = {}
    for v in standard.base.demand.visits:
        if v.biweekly:
            parity.setdefault(v.street_code, [0, 0])[biweekly_in_week(v.stop_id, 0)] += 1
    inside = [e.street_code for e, o in standard.pairs.values() if e.street_code == o.street_code]
    for street, (odds, evens) in parity.items():
        assert inside.count(street) == min(odds, evens)
    held = [pair_id for pair_id in standard.pairs if pair_id in placed]
    assert held, "the template places at least one pair"
    for pair_id in held:
        even, odd = standard.pairs[pair_id]
        # 2026-W50 is even, W49 odd: each week holds the member due, in the pair's place.
        assert s50[even.key] == placed[pair_id] and even.key not in s49
        assert s49[odd.key] == placed[pair_id] and odd.key not in s50


def test_holiday_week_keeps_the_days_that_run_and_serves_every_street(
    template, template_problem, week_plan
):
    """Issue 9.6. 2026-W41: Mon 5 - Wed 7 October are National Day holidays, Saturday 10 is
    worked. Thursday and Friday keep their times; Saturday runs one cancelled day's
    timetable; other cancelled visits go into free time; every served street is served."""
    plan, problem = week_plan(template, "2026-W41")
    assert check_plan(plan, problem) == []
    saturday = dt.date(2026, 10, 10)
    holidays = {h.date for h in problem.week.holidays}
    template_slot = {v.key: (v.date.weekday(), v.start, v.end) for v in template.visits}
    streets = {v.street_code for v in problem.demand.visits}
    assert {v.street_code for v in plan.visits} == streets
    (run,) = [w for d, w in plan.makeup_runs if d == saturday]
    assert run in {h.weekday() for h in holidays}
    assert any(f"on the {WEEKDAY_EN[run]} timetable" in n for n in map(str, plan.notes))
    assert plan_report(plan, problem)["makeup_timetables"] == {saturday.isoformat(): run}
    for v in plan.visits:
        if v.moved_from is None:  # a day that runs keeps its times
            assert v.date not in holidays | {saturday}
            assert template_slot.get(v.key, (v.date.weekday(), v.start, v.end)) == (
                v.date.weekday(),
                v.start,
                v.end,
            )
        else:  # moved from a holiday, and says from when
            assert v.moved_from.date in holidays
            weekday, start, end = template_slot.get(v.key, (None, None, None))
            if weekday is not None:
                assert (v.moved_from.date.weekday(), v.moved_from.start, v.moved_from.end) == (
                    weekday,
                    start,
                    end,
                )
            if v.date == saturday and v.moved_from.date.weekday() == run:
                # the make-up day runs that timetable at its own times; other cancelled
                # visits may also go into Saturday's free time, at other times
                assert (v.start, v.end) == (v.moved_from.start, v.moved_from.end)
    assert any(
        v.date == saturday and v.moved_from and v.moved_from.date.weekday() == run
        for v in plan.visits
    ), "the make-up day runs the chosen timetable"
    assert {v.date for v in plan.visits} <= set(problem.week.dates)
    for d in plan.dropped:
        assert str(d.reason).startswith("not held"), d.reason


def test_every_street_is_served_in_every_week_with_three_working_days(standard, template):
    """Issue 9.6: in any week of 2026 with three or more working days."""
    streets = {v.street_code for v in standard.base.demand.visits}
    weeks = 0
    for number in range(1, 53):
        problem = calendar_problem(standard.base, f"2026-W{number:02d}")
        if len(problem.week.dates) < 3:
            continue
        weeks += 1
        plan = apply_template(template, problem, standard.pairs)
        assert check_plan(plan, problem) == [], number
        assert {v.street_code for v in plan.visits} == streets, number
    assert weeks >= 48


def test_makeup_day_in_a_week_without_holiday_runs_no_timetable_twice(template, week_plan):
    # 2026-W38: Sunday 20 September is a make-up working day; nothing is off that week.
    plan, problem = week_plan(template, "2026-W38")
    assert dt.date(2026, 9, 20) in problem.week.dates
    assert check_plan(plan, problem) == [], "no visit is held twice"
    assert not [v for v in plan.visits if v.date == dt.date(2026, 9, 20)]
    assert any("2026-09-20 is a make-up working day, but" in n for n in map(str, plan.notes))


def test_template_read_back_gives_the_same_week(template, standard, week_plan):
    template_problem = standard.paired
    data = json.loads(json.dumps(template_to_dict(template, "abc")))
    again = template_from_dict(data, template_problem)
    first, _ = week_plan(template, "2026-W50")
    second, _ = week_plan(again, "2026-W50")
    assert slots(first) == slots(second)
    assert [r.metres for r in first.routes] == [r.metres for r in second.routes]


def test_a_template_that_no_longer_fits_the_data_is_refused(template, standard):
    template_problem = standard.paired
    data = template_to_dict(template, "abc")
    data["routes"][0]["visits"].append(dict(data["routes"][0]["visits"][0], stop_id="GONE"))
    with pytest.raises(PlanningError, match="does not fit the data"):
        template_from_dict(data, template_problem)
    with pytest.raises(PlanningError, match="unknown format"):
        template_from_dict({"format": 99}, template_problem)


def _with_parity(stop, even: bool):
    """`stop` renamed so that as an every-other-week stop it is due in even (or odd) weeks."""
    for k in range(100):
        sid = f"{stop.id}-{k}"
        if biweekly_in_week(sid, 0) == even:
            return dataclasses.replace(stop, id=sid)
    raise AssertionError("no id of that parity")


def test_an_every_other_week_stop_without_a_partner_in_its_street_is_served_when_due():
    """Issue 9.4: two every-other-week stops of opposite parity in different streets, and
    room in the template day for one of them: they share one place, so each is served in
    every week it is due (alone each held a place of its own and one was never served)."""
    weekly = ring_stops(2, km=8, street="A", prefix="W")
    near = ring_stops(8, km=10, street="A", prefix="E")
    a = _with_parity(near[0], even=True)
    b = _with_parity(dataclasses.replace(near[1], street_code="B"), even=False)
    visits = [visit(s, d, 40) for s, d in zip(weekly, (90, 120), strict=True)]
    visits += [dataclasses.replace(visit(s, 90, 8), biweekly=True) for s in (a, b)]
    base = make_problem([*weekly, a, b], visits, [dt.date(2026, 11, 30)])
    standard = pair_alternating(base)
    template = solve_week(standard.paired, SearchParams(time_limit_s=1))
    assert check_plan(template, standard.paired) == []
    for label in ("2026-W49", "2026-W50"):
        problem = calendar_problem(base, label)
        plan = apply_template(template, problem, standard.pairs)
        assert check_plan(plan, problem) == []
        assert not plan.dropped, label
        assert {v.key for v in plan.visits} == {v.key for v in problem.demand.visits}
    assert list(standard.pairs) == [f"{a.id}+{b.id}"]


W40 = [dt.date(2026, 9, 28) + dt.timedelta(days=i) for i in range(5)]
"""2026-W40: Monday to Wednesday work, Thursday 1 and Friday 2 October are National Day."""


def _hand_template(problem, by_date):
    """A template with the given visits per date, timed as the planner times them."""
    from routes.plan import DayRoute, Plan, PlannedVisit, SearchStats
    from routes.schedule import schedule_day

    (van,) = problem.dataset.vans
    routes = []
    for d, date in enumerate(problem.week.dates):
        visits = by_date.get(date, [])
        nodes = [problem.stop_node(v.stop_id) for v in visits]
        s = schedule_day(nodes, [v.dwell for v in visits], problem.seconds, van)
        planned = tuple(
            PlannedVisit(
                v.key, v.stop_id, v.street_code, date, van.id, k, t.arrive, t.start, t.end, 1.0
            )
            for k, (v, t) in enumerate(zip(visits, s.visits, strict=True), start=1)
        )
        routes.append(DayRoute(date, d, van.id, planned, s.depart, s.back, s.lunch_start, 60, 0, 0))
    return Plan("template", tuple(routes), (), SearchStats(0, 0.0, 1.0))


def test_a_cancelled_visit_goes_into_free_time_of_a_day_that_runs():
    """Issue 9.6: street B is only visited on Thursday; with Thursday a holiday its visit
    moves into Monday's free time, and Monday's own visit keeps its time."""
    a = ring_stops(1, km=8, street="A", prefix="A")[0]
    b = ring_stops(2, km=8, street="B", prefix="B")[1]
    va, vb = visit(a, 90, 30), visit(b, 60, 5)
    base = make_problem([a, b], [va, vb], W40)
    template = _hand_template(base, {W40[0]: [va], W40[3]: [vb]})
    problem = calendar_problem(base, "2026-W40")
    assert problem.week.dates == tuple(W40[:3])
    plan = apply_template(template, problem)
    assert check_plan(plan, problem) == []
    held = {v.key: v for v in plan.visits}
    usual_a = next(v for v in template.visits if v.key == va.key)
    assert (held[va.key].date, held[va.key].start) == (W40[0], usual_a.start)
    assert held[va.key].moved_from is None
    usual_b = next(v for v in template.visits if v.key == vb.key)
    moved = held[vb.key]
    assert moved.date in W40[:3]
    assert moved.moved_from == UsualTime(W40[3], usual_b.start, usual_b.end)
    assert any(f"({vb.key}) moved from Thu 2026-10-01" in n for n in map(str, plan.notes))
    assert not plan.dropped


def test_a_street_left_without_service_takes_the_place_of_a_street_served_anyway():
    """Issue 9.6: the days that run are full; street B's only visit (Thursday, a holiday)
    takes the place of the lightest visit of street A, which keeps its other visits."""
    stops = ring_stops(6, km=8, street="A", prefix="A")
    b = ring_stops(7, km=8, street="B", prefix="B")[6]
    weights = (30, 40, 20, 50, 60, 35)
    a_visits = [visit(s, 180, w) for s, w in zip(stops, weights, strict=True)]
    vb = visit(b, 60, 5)
    base = make_problem([*stops, b], [*a_visits, vb], W40)
    template = _hand_template(
        base,
        {W40[d]: a_visits[2 * d : 2 * d + 2] for d in range(3)} | {W40[3]: [vb]},
    )
    # the hand template puts 1.0 remote taxpayers on every visit; give them their weights
    weights = {v.key: v.remote_served for v in base.demand.visits}
    template = dataclasses.replace(
        template,
        routes=tuple(
            dataclasses.replace(
                r,
                visits=tuple(
                    dataclasses.replace(v, remote_served=weights[v.key]) for v in r.visits
                ),
            )
            for r in template.routes
        ),
    )
    problem = calendar_problem(base, "2026-W40")
    plan = apply_template(template, problem)
    assert check_plan(plan, problem) == []
    assert {v.street_code for v in plan.visits} == {"A", "B"}
    assert vb.key in {v.key for v in plan.visits}
    (gone,) = [d for d in plan.dropped if d.street_code == "A"]
    assert gone.key == a_visits[2].key, "the visit serving the fewest gives way"
    assert "so that B is served this week" in str(gone.reason)
