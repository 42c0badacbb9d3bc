"""The benchmark's lower bounds must never exceed what a real plan drives."""

from __future__ import annotations

import itertools

from bench.bound import STEP, column_bound_km, day_routes, round_trip_bound_km
from routes.check import check_plan


def _brute_force_day_routes(problem, keys):
    """Every stop set and order tried one by one: what day_routes must agree with."""
    visits = [v for v in problem.demand.visits if v.key in keys]
    stops = sorted({v.stop_id for v in visits})
    dwell = {s: min(v.dwell for v in visits if v.stop_id == s) * 60 for s in stops}
    cap = problem.dataset.vans[0].working_minutes * 60
    sec, met = problem.seconds.astype(int), problem.metres.astype(int)
    out = {}
    for size in range(1, len(stops) + 1):
        for subset in itertools.combinations(range(len(stops)), size):
            best = None
            for order in itertools.permutations(subset):
                path = [0, *(problem.stop_node(stops[i]) for i in order), 0]
                legs = list(itertools.pairwise(path))
                time = sum(-(-sec[a][b] // STEP) * STEP for a, b in legs[:-1]) + sec[path[-2]][0]
                if time + sum(dwell[stops[i]] for i in order) > cap:
                    continue
                metres = sum(int(met[a][b]) for a, b in legs)
                best = metres if best is None else min(best, metres)
            if best is not None:
                out[sum(1 << i for i in subset)] = best
    return out


def test_day_routes_agree_with_trying_every_order(demo_problem):
    keys = {v.key for v in demo_problem.demand.visits if v.street_code == "370704008"}
    assert len({k.split("#")[0] for k in keys}) >= 7
    assert day_routes(demo_problem, keys, limit=10_000) == _brute_force_day_routes(
        demo_problem, keys
    )


def test_bounds_never_exceed_a_checked_plan(demo_problem, demo_plan):
    assert not check_plan(demo_plan, demo_problem)
    served = {v.key for v in demo_plan.visits}
    km = sum(r.metres for r in demo_plan.routes) / 1000
    column = column_bound_km(demo_problem, served)
    assert column is not None and column.optimal
    assert round_trip_bound_km(demo_problem, served) <= column.bound_km <= km + 1e-6
    # the bound is not vacuous: the relaxation's best week serves everything in its van-days
    assert column.best_km == column.bound_km > 0.9 * km


def test_column_bound_gives_up_past_its_limit(demo_problem):
    keys = {v.key for v in demo_problem.demand.visits}
    assert column_bound_km(demo_problem, keys, limit=100) is None
