"""The coverage bench's SCIP bound must be the true best choice, and never below the greedy."""

from __future__ import annotations

import itertools

import numpy as np

from bench.coverage import covering_bound
from taxvan.coverage import coverage, greedy_cover


def _brute_force(times, streets, budgets, max_stops, minutes):
    """Every allowed choice of stops tried one by one."""
    reach = times <= minutes * 60
    best = 0
    for size in range(max_stops + 1):
        for pick in itertools.combinations(range(len(streets)), size):
            per_street = {c: sum(1 for j in pick if streets[j] == c) for c in set(streets)}
            if any(n > budgets.get(c, 0) for c, n in per_street.items()):
                continue
            best = max(best, int(reach[:, list(pick)].any(axis=1).sum()) if pick else 0)
    return best


def test_bound_is_the_best_choice_and_the_greedy_stays_below_it():
    rng = np.random.default_rng(7)
    streets = ["N"] * 5 + ["S"] * 5
    ids = [f"s{j}" for j in range(10)]
    for _ in range(5):
        times = rng.integers(1, 30, size=(40, 10)) * 60
        budgets = {"N": 2, "S": 3}
        exact = covering_bound(times, streets, budgets, 4, 10, time_limit_s=10)
        assert exact.optimal
        assert exact.best == round(exact.bound) == _brute_force(times, streets, budgets, 4, 10)
        pick = greedy_cover(times, ids, streets, budgets, (10, 15, 20), max_stops=4)
        assert pick.covered <= exact.best
        assert pick.covered == coverage(times, ids, ["x"] * 40, set(pick.stops)).within[10]
