"""Excluding a stop can leave its street well under its target share; the report says so
(`routes.report.share_shortfalls`) instead of letting it pass silently."""

from __future__ import annotations

import dataclasses

from routes.engine import SearchParams
from routes.report import plan_report, share_shortfalls
from routes.weekly import solve_week
from taxvan.adjustments import Adjustments
from tests.conftest import WEEK49, make_problem, ring_stops, visit

FAST = SearchParams(time_limit_s=1, workers=1)


def _week(excluded: frozenset[str]) -> list[dict]:
    """Street A (two stops, 90 min asked) and street B (two stops, 120 min) on an easy week;
    the visits of `excluded` stops left out of the demand, the targets kept."""
    a = ring_stops(2, 5, street="A", prefix="A")
    b = ring_stops(2, 6, street="B", prefix="B")
    visits = [visit(a[0], 60, 10), visit(a[1], 30, 5), visit(b[0], 60, 8), visit(b[1], 60, 8)]
    problem = make_problem([*a, *b], visits, WEEK49)
    target = {"A": 90 / 210, "B": 120 / 210}
    kept = tuple(v for v in problem.demand.visits if v.stop_id not in excluded)
    demand = dataclasses.replace(
        problem.demand,
        visits=kept,
        street_target_minutes={"A": 90, "B": 120},
        street_target_share=target,
    )
    problem = dataclasses.replace(problem, demand=demand)
    plan = solve_week(problem, FAST)
    assert not plan.dropped
    return plan_report(plan, problem)["streets"]


def test_excluding_a_stop_that_carries_its_street_is_warned_with_both_shares():
    streets = {"A1": "A", "A2": "A", "B1": "B", "B2": "B"}
    assert share_shortfalls(_week(frozenset()), Adjustments(), streets) == []

    adj = Adjustments(excluded_stops=frozenset({"A1"}))
    (short,) = share_shortfalls(_week(adj.excluded_stops), adj, streets)
    assert short.code == "A" and short.excluded == ("A1",)
    assert round(100 * short.planned_share, 1) == 20.0
    assert round(100 * short.target_share, 1) == 42.9
    said = str(short.said())
    assert "A gets 20.0 % of the week's service time, against a target of 42.9 %" in said
    assert "(22.9 points under), after the exclusion of stop A1" in said
