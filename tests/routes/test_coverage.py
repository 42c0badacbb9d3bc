"""Coverage in the planner: the covering stop choice on the demo data and the report's figures."""

from __future__ import annotations

import numpy as np
import pytest

from routes.engine import SearchParams
from routes.matrix import CachedProvider, GeodesicProvider
from routes.problem import PlanSettings, build_week_problem
from routes.report import format_report, plan_report
from routes.weekly import solve_week
from taxvan.coverage import coverage


@pytest.fixture(scope="module")
def catchment_problem(demo_dataset, matrix_cache):
    return build_week_problem(
        demo_dataset,
        "2026-W49",
        CachedProvider(GeodesicProvider(), matrix_cache),
        PlanSettings(stop_choice="catchment"),
    )


def _share_within(problem, stops, minutes):
    r = problem.remote
    return coverage(r.to_stop_s, r.stop_columns, r.streets, stops).share(minutes)


def test_covering_choice_reaches_more_remote_taxpayers_and_keeps_street_shares(
    demo_problem, catchment_problem
):
    covering = {v.stop_id for v in demo_problem.demand.visits}
    catchment = {v.stop_id for v in catchment_problem.demand.visits}
    assert demo_problem.settings.stop_choice == "covering"
    assert _share_within(demo_problem, covering, 10) >= 0.75
    assert _share_within(demo_problem, covering, 10) > _share_within(demo_problem, catchment, 10)
    assert _share_within(demo_problem, covering, 15) >= 0.95
    # No more stops than the catchment model visits a week, each visited every week.
    assert len(covering) <= demo_problem.cover.max_stops
    assert not any(v.biweekly for v in demo_problem.demand.visits)
    # Street shares: the same minutes per street as the catchment model is given.
    assert (
        demo_problem.demand.street_target_minutes
        == catchment_problem.demand.street_target_minutes
        == demo_problem.demand.minutes_by_street()
    )


def test_chosen_stops_carry_the_taxpayers_nearest_to_them(demo_problem):
    chosen = set(demo_problem.cover.chosen)
    assert set(demo_problem.remote.stop_ids) <= chosen  # every catchment stop is visited
    served = sum(v.remote_served for v in demo_problem.demand.visits)
    assert served == pytest.approx(demo_problem.weights.total_remote)


def test_report_gives_coverage_overall_and_per_street(demo_problem, demo_plan):
    report = plan_report(demo_plan, demo_problem)
    cov = report["coverage"]
    r = demo_problem.remote
    visited = [
        j for j, s in enumerate(r.stop_columns) if s in {v.stop_id for v in demo_plan.visits}
    ]
    nearest = r.to_stop_s[:, visited].min(axis=1)
    streets = np.asarray(r.streets)
    assert cov["remote_taxpayers"] == len(r.streets) == report["remote_taxpayers"]
    served = {s.code for s in demo_problem.dataset.streets if s.served}
    assert {s["code"] for s in cov["streets"]} >= served
    for s in cov["streets"]:
        mine = streets == s["code"]
        assert s["remote_taxpayers"] == int(mine.sum())
        for m in (10, 15, 20):
            assert s["this_week"]["within"][str(m)] == int((mine & (nearest <= m * 60)).sum())
    for m in (10, 15, 20):
        assert cov["this_week"]["within"][str(m)] == int((nearest <= m * 60).sum())
        assert (
            sum(s["this_week"]["within"][str(m)] for s in cov["streets"])
            == (cov["this_week"]["within"][str(m)])
        )
    text = format_report(report)
    assert "within 10 / 15 / 20 min of a visited stop" in text
    for s in cov["streets"]:
        assert s["name"] in text.split("coverage (")[1]


def test_two_week_coverage_adds_the_other_weeks_every_other_week_stops(catchment_problem):
    plan = solve_week(catchment_problem, SearchParams(time_limit_s=2))
    cov = plan_report(plan, catchment_problem)["coverage"]
    biweekly = {v.stop_id for v in catchment_problem.demand.visits if v.biweekly}
    off_week = catchment_problem.biweekly_stops - biweekly
    assert off_week, "the demo data has every-other-week stops due in the other week"
    fortnight = {v.stop_id for v in plan.visits} | off_week
    expected = _share_within(catchment_problem, fortnight, 10)
    assert cov["two_weeks"]["share"]["10"] == pytest.approx(expected, abs=1e-4)
    assert cov["two_weeks"]["share"]["10"] > cov["this_week"]["share"]["10"]
