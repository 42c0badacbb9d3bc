import dataclasses
import datetime as dt
import re

import pytest

from routes.check import check_plan
from routes.engine import SearchParams
from routes.report import plan_report
from routes.weekly import solve_week
from taxvan.clock import GRID_MINUTES
from taxvan.errors import PlanningError
from taxvan.places import Stop, StopKind
from tests.conftest import WEEK49, make_problem, ring_stops, visit

FAST = SearchParams(time_limit_s=2)


def test_demo_week_is_feasible_when_rechecked_from_the_matrix(demo_problem, demo_plan):
    """Travel, dwell, shift, lunch, grid, spacing and completeness, re-derived independently."""
    assert check_plan(demo_plan, demo_problem) == []
    assert demo_plan.visits, "the demo week must plan some visits"
    for v in demo_plan.visits:
        assert v.start % GRID_MINUTES == 0 and v.end % GRID_MINUTES == 0
    asked = {v.key for v in demo_problem.demand.visits}
    assert {v.key for v in demo_plan.visits} | {d.key for d in demo_plan.dropped} == asked


def test_checker_catches_a_broken_plan(demo_problem, demo_plan):
    """The check is not a rubber stamp: moving times or days by hand is caught."""
    route = next(r for r in demo_plan.routes if len(r.visits) >= 2)
    first, second = route.visits[0], route.visits[1]
    too_early = dataclasses.replace(
        second, start=first.end, end=first.end + (second.end - second.start)
    )
    off_grid = dataclasses.replace(first, start=first.start + 5, end=first.end + 5)
    bad_route = dataclasses.replace(route, visits=(off_grid, too_early, *route.visits[2:]))
    broken = dataclasses.replace(
        demo_plan, routes=tuple(bad_route if r is route else r for r in demo_plan.routes)
    )
    errors = check_plan(broken, demo_problem)
    assert any("off the 15-minute grid" in e for e in errors)
    assert any("do not fit" in e for e in errors)

    no_lunch = dataclasses.replace(route, lunch_start=route.visits[0].start)
    broken = dataclasses.replace(
        demo_plan, routes=tuple(no_lunch if r is route else r for r in demo_plan.routes)
    )
    assert any("lunch" in e for e in check_plan(broken, demo_problem))


def test_when_capacity_is_short_only_lower_weight_visits_are_dropped():
    """Six equal visits, room for about three: the three serving the fewest are left out."""
    stops = ring_stops(6, km=8)
    weights = [10, 60, 30, 50, 20, 40]
    visits = [visit(s, 120, w) for s, w in zip(stops, weights, strict=True)]
    problem = make_problem(stops, visits, WEEK49[:1])
    plan = solve_week(problem, FAST)
    assert check_plan(plan, problem) == []
    kept = [v.remote_served for v in plan.visits]
    dropped = [d.remote_served for d in plan.dropped]
    assert dropped, "the day cannot hold 12 hours of service"
    assert min(kept) > max(dropped)
    for d in plan.dropped:
        # the reason names the binding constraint: the shift, by how much it would overrun
        assert str(d.reason).startswith("no room on any day"), d.reason
        assert re.search(r"back \d+ min after the shift ends", str(d.reason)), d.reason


def test_a_streets_minimum_visit_is_kept_though_it_serves_no_remote_taxpayer():
    """Issue 9.5: a street with no remote taxpayer (an industrial park near the hall) keeps
    its minimum visit; a heavier visit of a street served anyway gives way."""
    stops = ring_stops(10, km=8)
    park = ring_stops(1, km=12, street="S2", prefix="P")[0]
    visits = [visit(s, 60, 10 + 10 * k) for k, s in enumerate(stops)]
    visits.append(dataclasses.replace(visit(park, 45, 0), must_serve=True))
    problem = make_problem([*stops, park], visits, WEEK49[:1])
    plan = solve_week(problem, FAST)
    assert check_plan(plan, problem) == []
    assert park.id in {v.stop_id for v in plan.visits}
    assert plan.dropped and all(d.street_code == "S1" for d in plan.dropped)


def test_the_report_departs_when_the_van_leaves_not_at_the_start_of_the_shift():
    """Issue 9.7: the van leaves the hall just in time for its first visit."""
    stops = ring_stops(2, km=15)
    problem = make_problem(stops, [visit(s, 60, 10) for s in stops], WEEK49[:1])
    plan = solve_week(problem, FAST)
    (route,) = plan.routes
    first = route.visits[0]
    travel = int(problem.seconds[0][problem.stop_node(first.stop_id)])
    assert route.depart == (first.start * 60 - travel) // 60
    assert route.depart > 8 * 60 + 30
    day = plan_report(plan, problem)["days"][0]
    assert day["depart"] == f"{route.depart // 60:02d}:{route.depart % 60:02d}"


def test_repeated_visits_fall_on_well_spaced_days():
    """Three visits a week to one stop with a two-day gap: Monday, Wednesday, Friday."""
    stops = ring_stops(4, km=10)
    big = stops[0]
    visits = [visit(big, 90, 30, index=i, count=3, gap=2) for i in range(3)]
    visits += [visit(s, 60, 10) for s in stops[1:]]
    problem = make_problem(stops, visits, WEEK49)
    plan = solve_week(problem, FAST)
    assert check_plan(plan, problem) == []
    days = sorted(v.date.weekday() for v in plan.visits if v.stop_id == big.id)
    assert days == [0, 2, 4]


def test_two_visits_never_share_a_day_even_when_the_week_is_short():
    stops = ring_stops(3, km=6)
    visits = [visit(stops[0], 60, 20, index=i, count=2, gap=1) for i in range(2)]
    problem = make_problem(stops, visits, WEEK49[:2])
    plan = solve_week(problem, FAST)
    assert sorted(v.date for v in plan.visits) == WEEK49[:2]


def test_a_stop_too_far_for_one_shift_is_dropped_with_that_reason():
    far = Stop("FAR", "far away", "S1", StopKind.VILLAGE, 38.5, 121.5)
    near = ring_stops(1, km=5)[0]
    problem = make_problem([far, near], [visit(far, 60, 99), visit(near, 60, 1)], WEEK49[:1])
    plan = solve_week(problem, FAST)
    assert [v.stop_id for v in plan.visits] == [near.id]
    assert "cannot be reached" in str(plan.dropped[0].reason)


def test_holiday_week_uses_only_its_working_dates(demo_dataset, matrix_cache):
    from routes.matrix import CachedProvider, GeodesicProvider
    from routes.problem import build_week_problem

    problem = build_week_problem(
        demo_dataset, "2026-W41", CachedProvider(GeodesicProvider(), matrix_cache)
    )
    plan = solve_week(problem, FAST)
    assert check_plan(plan, problem) == []
    dates = {v.date for v in plan.visits}
    assert dates <= {dt.date(2026, 10, 8), dt.date(2026, 10, 9), dt.date(2026, 10, 10)}
    assert dt.date(2026, 10, 10) in {r.date for r in plan.routes}
    assert any("National Day" in n for n in map(str, plan.notes))


def test_a_week_with_no_working_day_says_so(demo_dataset, matrix_cache):
    from routes.matrix import CachedProvider, GeodesicProvider
    from routes.problem import build_week_problem

    problem = build_week_problem(
        demo_dataset,
        "2026-W08",  # Spring Festival, 16-22 Feb
        CachedProvider(GeodesicProvider(), matrix_cache),
    )
    assert problem.week.dates == ()
    with pytest.raises(PlanningError, match="no van works"):
        solve_week(problem, FAST)


def test_searches_side_by_side_keep_the_best_plan(demo_problem):
    """Two searches on two cores: never worse than the first alone, and still feasible."""
    single = solve_week(demo_problem, SearchParams(time_limit_s=2))
    both = solve_week(demo_problem, SearchParams(time_limit_s=2, workers=2))
    assert both.search.objective <= single.search.objective
    assert check_plan(both, demo_problem) == []
