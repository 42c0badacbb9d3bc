"""Coverage figures and the covering stop choice, on cases small enough to check by hand."""

from __future__ import annotations

import numpy as np
import pytest

from taxvan.coverage import (
    CoverageInputError,
    coverage,
    greedy_cover,
    nearest_stop_counts,
)
from taxvan.demand import StopChoice, week_demand
from taxvan.places import Stop, StopKind, Street
from taxvan.weights import Weights

MIN = 60

# Five remote taxpayers, three stops; minutes from each taxpayer to each stop.
TIMES = (
    np.array(
        [
            #  A   B   C
            [5, 30, 40],  # t1, street N
            [12, 14, 40],  # t2, street N
            [25, 9, 30],  # t3, street S
            [40, 18, 21],  # t4, street S
            [40, 40, 40],  # t5, street S
        ]
    )
    * MIN
)
STOPS = ("A", "B", "C")
STREETS = ("N", "N", "S", "S", "S")


def test_coverage_counts_by_hand():
    c = coverage(TIMES, STOPS, STREETS, {"A", "B"})
    # nearest visited stop: t1 5, t2 12, t3 9, t4 18, t5 40 minutes
    assert c.within == {10: 2, 15: 3, 20: 4}
    assert c.total == 5 and c.uncovered(10) == 3
    assert c.share(15) == pytest.approx(0.6)
    assert c.street_total == {"N": 2, "S": 3}
    assert c.street_within == {"N": {10: 1, 15: 2, 20: 2}, "S": {10: 1, 15: 1, 20: 2}}
    assert c.street_share("S", 20) == pytest.approx(2 / 3)


def test_coverage_with_nothing_visited_is_zero_not_an_error():
    c = coverage(TIMES, STOPS, STREETS, set())
    assert c.within == {10: 0, 15: 0, 20: 0}
    assert c.share(10) == 0.0


def test_a_stop_of_another_street_counts_for_a_street_it_reaches():
    # Only C is visited: t4 (street S) is 21 min away, so not even within 20.
    c = coverage(TIMES, STOPS, STREETS, {"C"}, minutes=(21, 30))
    assert c.street_within["S"] == {21: 1, 30: 2}
    assert c.street_within["N"] == {21: 0, 30: 0}


def test_mismatched_arrays_are_named():
    with pytest.raises(CoverageInputError, match="stops in the travel times: expected 2, got 3"):
        coverage(TIMES, ("A", "B"), STREETS, {"A"})
    with pytest.raises(CoverageInputError, match="taxpayers in the travel times"):
        coverage(TIMES, STOPS, STREETS[:2], {"A"})


def test_each_taxpayer_counts_at_its_nearest_visited_stop():
    # t5 is 40 min from every stop: a tie, which goes to the stop listed first.
    assert nearest_stop_counts(TIMES, STOPS, {"A", "B"}) == {"A": 3, "B": 2}
    assert nearest_stop_counts(TIMES, STOPS, {"A", "C"}) == {"A": 4, "C": 1}
    assert nearest_stop_counts(TIMES, STOPS, set()) == {}


def test_greedy_takes_the_stop_reaching_most_and_respects_budgets():
    # Within 10 min: A reaches t1, B reaches t3. Within 15: A t1,t2; B t2,t3.
    pick = greedy_cover(TIMES, STOPS, ("N", "S", "S"), {"N": 1, "S": 1})
    assert pick.stops[:2] in (("A", "B"), ("B", "A"))
    assert pick.covered == 2
    # Street S may take no stop: only A.
    assert greedy_cover(TIMES, STOPS, ("N", "S", "S"), {"N": 1}).stops == ("A",)
    # The week holds one stop. A and B each reach 1 within 10 min and 2 within 15; within
    # 20, B reaches 3 and A 2: B.
    one = greedy_cover(TIMES, STOPS, ("N", "S", "S"), {"N": 1, "S": 2}, max_stops=1)
    assert one.stops == ("B",)
    # Only the first two trip lengths: a full tie, so the stop listed first.
    assert greedy_cover(TIMES, STOPS, ("N", "S", "S"), {"N": 1, "S": 2}, (10, 15), 1).stops == (
        "A",
    )


def test_greedy_stops_when_no_stop_reaches_anyone_new():
    far = np.full((3, 4), 99 * MIN)
    far[:, 0] = 3 * MIN
    pick = greedy_cover(far, ("A", "B", "C", "D"), ("N",) * 4, {"N": 4})
    assert pick.stops == ("A",)
    assert (pick.covered, pick.total) == (3, 3)


# --- the covering choice against per-stop weighting ------------------------------------
#
# One street, three stops, 21 remote taxpayers, a week that buys two shortest visits:
#   10 taxpayers live by A (2 min) and are 8 min from B;
#    6 live by B (3 min), 12 min from A;
#    5 live by C (2 min), far from A and B.
# Per-stop weighting gives A (the biggest catchment) the weekly visit, B a visit every other
# week and C nothing: 10 of 21 within 10 minutes this week. Visiting B and C every week
# reaches all 21. The choice must see that B covers A's people too.

CLUSTERS = [(10, (2, 8, 40)), (6, (12, 3, 40)), (5, (40, 40, 2))]


def _case():
    rows = [t for n, t in CLUSTERS for _ in range(n)]
    times = np.array(rows) * MIN
    stops = [Stop(s, s, "X", StopKind.VILLAGE, 36.5, 119.3) for s in STOPS]
    streets = [Street("X", "X", "X", True)]
    nearest = [STOPS[int(np.argmin(r))] for r in rows]
    weights = Weights(
        {"X": len(rows)},
        {s: nearest.count(s) for s in STOPS},
        {s: nearest.count(s) for s in STOPS},
        len(rows),
        len(rows),
    )
    return times, stops, streets, weights


def _weekly_stops(demand):
    return {v.stop_id for v in demand.visits if not v.biweekly}


def test_covering_choice_beats_per_stop_weighting_where_it_must():
    times, stops, streets, weights = _case()
    per_stop = week_demand(streets, stops, weights, 90, 5, None)
    assert _weekly_stops(per_stop) == {"A"}

    def choose(minutes):
        pick = greedy_cover(times, STOPS, ("X",) * 3, {c: m // 45 for c, m in minutes.items()})
        return StopChoice(frozenset(pick.stops), nearest_stop_counts(times, STOPS, pick.stops))

    covering = week_demand(streets, stops, weights, 90, 5, None, chooser=choose)
    assert _weekly_stops(covering) == {"B", "C"}
    assert not any(v.biweekly for v in covering.visits)
    # The street keeps its minutes, shared over the chosen stops.
    assert covering.minutes_by_street() == per_stop.street_target_minutes == {"X": 90}

    before = coverage(times, STOPS, ["X"] * len(times), _weekly_stops(per_stop))
    after = coverage(times, STOPS, ["X"] * len(times), _weekly_stops(covering))
    assert before.within[10] == 10
    assert after.within[10] == 21


def test_chosen_stops_are_sized_by_the_taxpayers_nearest_to_them():
    _times, stops, streets, weights = _case()
    # A week of 180 min: B reaches 16 people, C 5; both get at least one shortest visit and
    # B takes the bigger part of what is left.
    choice = StopChoice(frozenset({"B", "C"}), {"B": 16, "C": 5})
    d = week_demand(streets, stops, weights, 180, 5, None, chooser=lambda _m: choice)
    dwell = {v.stop_id: v.dwell * v.count for v in d.visits if v.index == 0}
    assert dwell["B"] > dwell["C"] >= 45
    assert sum(v.dwell for v in d.visits) == 180
    assert {v.stop_id: v.remote_served * v.count for v in d.visits} == {"B": 16, "C": 5}
