import pytest

from taxvan.demand import DemandRules, biweekly_in_week, min_gap_days, week_demand
from taxvan.places import Stop, StopKind, Street
from taxvan.weights import Weights


def _setup(stop_remote: dict[str, int], street_remote: dict[str, int]):
    streets = [Street(c, c, c, True) for c in street_remote]
    streets.append(Street("URBAN", "urban", "urban", False))
    stops = [
        Stop(sid, sid, sid.split("-")[0], StopKind.VILLAGE, 36.5, 119.3) for sid in stop_remote
    ]
    weights = Weights(
        {**street_remote, "URBAN": 0},
        stop_remote,
        dict(stop_remote),
        10_000,
        sum(street_remote.values()),
    )
    return streets, stops, weights


def test_every_served_street_gets_at_least_one_visit_and_unserved_none():
    streets, stops, weights = _setup({"A-1": 500, "A-2": 300, "B-1": 1}, {"A": 800, "B": 1})
    d = week_demand(
        streets, stops, weights, budget_minutes=1500, working_days=5, iso_week_number=49
    )
    by_street = d.minutes_by_street()
    assert by_street["B"] >= DemandRules().min_dwell
    assert "URBAN" not in by_street
    assert sum(d.street_target_minutes.values()) == d.budget_minutes == 1500


def test_visits_respect_bounds_grid_and_weekly_maximum():
    streets, stops, weights = _setup({"A-1": 900, "A-2": 40, "A-3": 10}, {"A": 950})
    rules = DemandRules()
    d = week_demand(streets, stops, weights, 2400, 5, 49, rules)
    per_stop: dict[str, int] = {}
    for v in d.visits:
        assert rules.min_dwell <= v.dwell <= rules.max_dwell
        assert v.dwell % rules.grid == 0
        per_stop[v.stop_id] = per_stop.get(v.stop_id, 0) + 1
    assert max(per_stop.values()) <= 3
    assert per_stop["A-1"] == 3  # the heaviest stop gets the most visits


def test_repeated_visits_are_spaced_and_at_most_one_a_day():
    assert min_gap_days(2, 5) == 3  # Mon/Thu, Tue/Fri or Mon/Fri
    assert min_gap_days(3, 5) == 2  # Mon/Wed/Fri
    assert min_gap_days(2, 3) == 2
    assert min_gap_days(3, 3) == 1
    assert min_gap_days(1, 5) == 0


def test_short_week_caps_visits_per_stop_at_the_working_days():
    streets, stops, weights = _setup({"A-1": 900}, {"A": 900})
    d = week_demand(streets, stops, weights, 2400, working_days=2, iso_week_number=41)
    assert len([v for v in d.visits if v.stop_id == "A-1"]) == 2


def test_small_stops_are_visited_every_other_week_in_alternating_weeks():
    streets, stops, weights = _setup({"A-1": 400, "A-2": 22}, {"A": 422})
    seen = []
    for week in (48, 49, 50, 51):
        d = week_demand(streets, stops, weights, 600, 5, week)
        small = [v for v in d.visits if v.stop_id == "A-2"]
        assert all(v.biweekly for v in small)
        seen.append(bool(small))
    assert seen in ([True, False, True, False], [False, True, False, True])
    assert biweekly_in_week("A-2", 48) != biweekly_in_week("A-2", 49)


def test_a_street_without_remote_taxpayers_has_a_minimum_visit_and_its_share_of_time():
    """Issue 9.5: the street's floor visit is the one the planner must keep, and its target
    share is the share of the week it is given, not 0 % next to 45 minutes."""
    streets, stops, weights = _setup({"A-1": 500, "A-2": 300, "Z-1": 0}, {"A": 800, "Z": 0})
    d = week_demand(streets, stops, weights, 1500, 5, 49)
    z = [v for v in d.visits if v.street_code == "Z"]
    assert [(v.stop_id, v.dwell, v.biweekly, v.must_serve) for v in z] == [("Z-1", 45, False, True)]
    assert d.street_target_share["Z"] == pytest.approx(45 / 1500)
    assert sum(d.street_target_share.values()) == pytest.approx(1.0)
    must = [v for v in d.visits if v.must_serve]
    assert sorted(v.street_code for v in must) == ["A", "Z"], "one minimum visit per street"


def test_a_street_of_small_stops_still_has_a_visit_every_week():
    """Two equal small stops would both be every-other-week stops, and in a week where
    neither is due the street would get nothing: the heavier gets a weekly visit."""
    streets, stops, weights = _setup({"A-1": 900, "B-1": 13, "B-2": 12}, {"A": 900, "B": 25})
    for week in (48, 49):
        d = week_demand(streets, stops, weights, 2400, 5, week)
        weekly = [v for v in d.visits if v.street_code == "B" and not v.biweekly]
        assert [(v.stop_id, v.dwell) for v in weekly] == [("B-1", 45)], week
        assert weekly[0].must_serve
