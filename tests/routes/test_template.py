"""The weekly template: the same times every week, and only the calendar changes the days."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from routes.check import check_plan
from routes.template import (
    apply_template,
    calendar_problem,
    template_from_dict,
    template_to_dict,
)
from taxvan.demand import biweekly_in_week
from taxvan.errors import PlanningError


@pytest.fixture(scope="module")
def standard(demo_week):
    return demo_week.standard


@pytest.fixture(scope="module")
def template_problem(standard):
    return standard.base


@pytest.fixture(scope="module")
def template(demo_week, standard):
    assert check_plan(demo_week.template, standard.paired) == []
    return demo_week.template


@pytest.fixture(scope="module")
def week_plan(standard):
    def plan_for(template, _template_problem, label):
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
    w49, p49 = week_plan(template, template_problem, "2026-W49")
    w50, p50 = week_plan(template, template_problem, "2026-W50")
    assert check_plan(w49, p49) == []
    assert check_plan(w50, p50) == []
    s49, s50 = slots(w49), slots(w50)
    weekly = {v.key for v in template_problem.demand.visits if not v.biweekly}
    held_both = weekly & s49.keys() & s50.keys()
    assert held_both, "weekly visits are held in both weeks"
    for key in held_both:
        assert s49[key] == s50[key], f"{key} moved between weeks"
    biweekly = {v.key for v in template_problem.demand.visits if v.biweekly}
    assert biweekly & s49.keys() and biweekly & s50.keys()
    for key in biweekly:
        assert not (key in s49 and key in s50), f"{key} is every other week"


def test_alternating_stops_share_one_place_at_the_same_time(standard, template, week_plan):
    assert standard.pairs, "the demo data pairs some every-other-week stops"
    w49, _ = week_plan(template, None, "2026-W49")
    w50, _ = week_plan(template, None, "2026-W50")
    s49, s50 = slots(w49), slots(w50)
    placed = {v.stop_id: (v.date.weekday(), v.start, v.end) for v in template.visits}
    for pair_id, (even, odd) in standard.pairs.items():
        assert even.street_code == odd.street_code
        if pair_id not in placed:
            continue
        # 2026-W50 is even, W49 odd: each week holds the member due, in the pair's place.
        assert s50[even.key] == placed[pair_id] and even.key not in s49
        assert s49[odd.key] == placed[pair_id] and odd.key not in s50


def test_holiday_cancels_its_day_and_the_makeup_day_runs_a_cancelled_one(
    template, template_problem, week_plan
):
    # 2026-W41: Mon 5 - Wed 7 October are National Day holidays, Saturday 10 is worked.
    plan, problem = week_plan(template, template_problem, "2026-W41")
    assert check_plan(plan, problem) == []
    saturday = dt.date(2026, 10, 10)
    monday_keys = {v.key for v in template.visits if v.date.weekday() == 0}
    held = {v.key: v for v in plan.visits}
    due = {v.key for v in problem.demand.visits}
    template_times = {v.key: (v.start, v.end) for v in template.visits}
    dropped = {d.key: d.reason for d in plan.dropped}
    on_saturday = [key for key in monday_keys & due if key in held]
    assert on_saturday, "Monday's timetable runs on the make-up Saturday"
    for key in monday_keys & due:
        if key in held:
            assert held[key].date == saturday
            assert (held[key].start, held[key].end) == template_times[key]
        else:  # its other visit this week is too close to Saturday
            assert dropped[key].startswith("not held: too close to its visit on 2026-10-")
    tuesday_keys = {v.key for v in template.visits if v.date.weekday() == 1} & due
    for key in tuesday_keys:
        assert key not in held
        assert "2026-10-06 is a holiday (National Day)" in dropped[key]
    assert {v.date for v in plan.visits} <= set(problem.week.dates)
    assert any("on the Mon timetable" in n for n in plan.notes)


def test_makeup_day_in_a_week_without_holiday_runs_no_timetable_twice(
    template, template_problem, week_plan
):
    # 2026-W38: Sunday 20 September is a make-up working day; nothing is off that week.
    plan, problem = week_plan(template, template_problem, "2026-W38")
    assert dt.date(2026, 9, 20) in problem.week.dates
    assert check_plan(plan, problem) == [], "no visit is held twice"
    assert not [v for v in plan.visits if v.date == dt.date(2026, 9, 20)]
    assert any("2026-09-20 is a make-up working day, but" in n for n in plan.notes)


def test_template_read_back_gives_the_same_week(template, standard, week_plan):
    template_problem = standard.paired
    data = json.loads(json.dumps(template_to_dict(template, "abc")))
    again = template_from_dict(data, template_problem)
    first, _ = week_plan(template, template_problem, "2026-W50")
    second, _ = week_plan(again, template_problem, "2026-W50")
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
