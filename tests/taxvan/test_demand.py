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
