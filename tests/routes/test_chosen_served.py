"""A chosen stop is a served stop: the covering choice and the week's routes agree.

On the generated second district with a far street whose far village eats the van's shift
(tests/districts.py), the covering choice used to pick stops the routes then left out of
every week ("no room on any day ..."): the far village, and far-end villages the days had
no room for. Now the choice never takes a stop no van's day can hold, and the template is
planned again with the days' budget until it holds every chosen stop.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.coverage import covering_bound
from routes.engine import SearchParams
from routes.matrix import CachedProvider, GeodesicProvider
from routes.planner import WeekPlan, plan_week, unheld_chosen
from routes.reach import out_of_reach
from taxvan.fleet import Van
from taxvan.io.loaders import load_dataset
from tests.districts import FAR_STREET, make_county, street_code


@pytest.fixture(scope="module")
def far_inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """The county's folder with the far street, a matrix cache and a templates folder."""
    folder = make_county(tmp_path_factory.mktemp("district") / "county", far=True)
    return folder, tmp_path_factory.mktemp("cache"), tmp_path_factory.mktemp("templates")


def _plan(folder: Path, cache: Path, templates: Path) -> WeekPlan:
    return plan_week(
        load_dataset(folder),
        "2026-W49",
        CachedProvider(GeodesicProvider(), cache),
        params=SearchParams(time_limit_s=2),
        templates=templates,
    )


@pytest.fixture(scope="module")
def far_county(far_inputs: tuple[Path, Path, Path]) -> WeekPlan:
    return _plan(*far_inputs)


def test_no_chosen_stop_is_dropped_in_every_week(far_county: WeekPlan) -> None:
    chosen = set(far_county.problem.cover.chosen)
    assert chosen
    assert (
        unheld_chosen(far_county.template, far_county.standard.base, far_county.standard.pairs)
        == []
    )
    plan = far_county.plan
    never = {d.stop_id for d in plan.dropped} - {v.stop_id for v in plan.visits}
    assert not never & chosen, [d.reason for d in plan.dropped if d.stop_id in chosen]
    listed = {d["stop_id"] for d in far_county.report["dropped"]}
    assert not (listed - {v.stop_id for v in plan.visits}) & chosen


def test_the_far_village_is_left_out_with_the_reason_and_its_street_served(
    far_county: WeekPlan,
) -> None:
    far = f"{street_code(FAR_STREET[0])}001"
    near_edge = f"{street_code(FAR_STREET[0])}002"
    assert far not in far_county.problem.cover.chosen
    assert near_edge in {v.stop_id for v in far_county.plan.visits}
    (entry,) = [d for d in far_county.report["coverage"]["not_chosen"] if d["stop_id"] == far]
    values = entry["reason"]["values"]
    assert entry["reason"]["template"].startswith(
        "cannot be reached and served within a van's day: round trip"
    )
    assert values["trip"] + values["visit"] > values["shift"]


def test_coverage_is_within_a_point_of_the_covering_bound(far_county: WeekPlan) -> None:
    """The bound: the best any choice of stops could reach under the same limits (stops
    per street and per week, and none the van's days cannot hold), proved with SCIP."""
    problem = far_county.problem
    setup = problem.cover
    street_of = {s.id: s.street_code for s in problem.dataset.stops}
    streets = [
        "" if sid in setup.left_out else street_of[sid] for sid in problem.remote.stop_columns
    ]
    share = far_county.report["coverage"]["this_week"]["share"]
    for m in problem.settings.cover_minutes:
        b = covering_bound(problem.remote.to_stop_s, streets, setup.budgets, setup.max_stops, m, 20)
        assert share[str(m)] >= b.bound / b.total - 0.01, (m, share, b)


def test_a_stop_no_vans_day_can_hold_is_named_with_its_round_trip() -> None:
    """Hall, a stop 1 h away, one 5 h away (each way): the second cannot fit a 9-hour day."""
    hour = 3600
    seconds = np.array([[0, hour, 5 * hour], [hour, 0, 4 * hour], [5 * hour, 4 * hour, 0]])
    van = Van("V", "V", 1, 8 * 60, 18 * 60, 60, 11 * 60 + 30, 14 * 60)
    out = out_of_reach(seconds, {"NEAR": 1, "FAR": 2}, [van], 45)
    assert list(out) == ["FAR"]
    assert str(out["FAR"]) == (
        "cannot be reached and served within a van's day: round trip 600 min + visit 45 min "
        "> shift 540 min (08:00-18:00 less a 60-min lunch)"
    )
    # A van with a long enough day can hold it: then it is no longer out of reach.
    long_day = Van("L", "L", 1, 6 * 60, 22 * 60, 60, 11 * 60 + 30, 14 * 60)
    assert out_of_reach(seconds, {"NEAR": 1, "FAR": 2}, [van, long_day], 45) == {}


def test_a_stop_whose_trip_leaves_no_room_for_lunch_says_so() -> None:
    """Within the hours, but the lunch window (11:30-12:30) falls where it cannot be kept."""
    seconds = np.array([[0, 4 * 3600], [4 * 3600, 0]])
    van = Van("V", "V", 1, 7 * 60, 19 * 60, 60, 11 * 60 + 30, 12 * 60 + 30)
    out = out_of_reach(seconds, {"X": 1}, [van], 180)
    assert "leave no room for the 60-min lunch break between 11:30 and 12:30" in str(out["X"])


def test_a_saved_template_is_reused_with_the_choice_it_was_planned_for(
    far_county: WeekPlan, far_inputs: tuple[Path, Path, Path]
) -> None:
    """Reusing the saved template rebuilds the week it was planned for: the same choice,
    the same visits (its check would fail on the choice the first round made)."""
    folder, cache, templates = far_inputs
    again = _plan(folder, cache, templates)
    assert again.template_reused
    assert again.problem.cover.chosen == far_county.problem.cover.chosen
    assert again.plan.visits == far_county.plan.visits
