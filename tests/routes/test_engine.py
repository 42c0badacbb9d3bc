"""The routing engine with ruin and recreate: every rule still holds in what it returns."""

from __future__ import annotations

import math
import random

import pytest

from routes.engine import Instance, SearchParams, Spacing, solve


def vrptw(n: int = 40, seed: int = 7) -> Instance:
    """A small Solomon-like instance: random customers, tight-ish windows, capacity 60."""
    rng = random.Random(seed)
    pts = [(50.0, 50.0)] + [(rng.uniform(0, 100), rng.uniform(0, 100)) for _ in range(n)]
    dist = [[int(math.dist(a, b) * 10) for b in pts] for a in pts]
    windows = [(0, 10_000)]
    for i in range(1, n + 1):
        earliest = dist[0][i]
        start = rng.randint(earliest, 6_000)
        windows.append((start, start + 1_500))
    return Instance(
        cost=dist,
        travel=dist,
        service=[0] + [100] * n,
        windows=windows,
        vehicle_windows=[(0, 10_000)] * 10,
        penalty=[None] * (n + 1),
        demand=[0] + [rng.randint(5, 20) for _ in range(n)],
        capacity=60,
        horizon=10_000,
    )


def replay(inst: Instance, routes: list[list[int]]) -> tuple[int, list[str]]:
    """Cost of `routes` and every broken window or capacity, recomputed from the instance."""
    errors, cost = [], 0
    for r, route in enumerate(routes):
        t, here, load = inst.vehicle_windows[r][0], 0, 0
        for node in route:
            t = max(t + inst.service[here] + inst.travel[here][node], inst.windows[node][0])
            if t > inst.windows[node][1]:
                errors.append(f"route {r}: node {node} served at {t}, after its window")
            load += inst.demand[node]
            cost += inst.cost[here][node]
            here = node
        cost += inst.cost[here][0]
        if route and t + inst.service[here] + inst.travel[here][0] > inst.vehicle_windows[r][1]:
            errors.append(f"route {r}: back too late")
        if load > inst.capacity:
            errors.append(f"route {r}: load {load} over capacity")
    return cost, errors


@pytest.mark.parametrize("ruin", [False, True])
def test_every_customer_served_once_within_windows_and_capacity(ruin):
    inst = vrptw()
    sol = solve(inst, SearchParams(time_limit_s=2, ruin_recreate=ruin))
    served = sorted(node for route in sol.routes for node in route)
    assert served == list(range(1, inst.num_nodes)), "each customer exactly once"
    cost, errors = replay(inst, sol.routes)
    assert errors == []
    assert cost == sol.travel_cost == sol.objective
    assert sol.improvements and sol.improvements[-1][1] == sol.objective


def test_ruin_and_recreate_keeps_spacing_and_optional_visits_consistent():
    inst = vrptw(30, seed=3)
    day = 2_000
    spacing = [Spacing(k, k + 15, day) for k in range(1, 16)]
    # Later visits may be left out (at a price), earlier ones only with the later one.
    penalty = [None] + [50_000] * 30
    inst = Instance(
        cost=inst.cost,
        travel=inst.travel,
        service=inst.service,
        windows=[(0, 10_000)] * 31,
        vehicle_windows=inst.vehicle_windows,
        penalty=penalty,
        demand=inst.demand,
        capacity=inst.capacity,
        horizon=10_000,
        spacing=spacing,
    )
    sol = solve(inst, SearchParams(time_limit_s=2, ruin_recreate=True))
    start = {
        node: t
        for route, ts in zip(sol.routes, sol.starts, strict=True)
        for node, t in zip(route, ts, strict=True)
    }
    for sp in spacing:
        if sp.later in start:
            assert sp.earlier in start, "a later visit only with its earlier one"
            assert start[sp.later] - start[sp.earlier] >= sp.gap
    assert set(sol.dropped) == set(range(1, 31)) - set(start)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_stop_flag_ends_the_search_within_moments(workers):
    """`stop` is checked at every step of the search (an OR-Tools custom limit), so a search
    of 60 s ends soon after the flag is raised, improving or not, in every process of a
    portfolio, and says it was stopped rather than returning a half-searched plan."""
    import threading
    import time

    from routes.engine import SearchStopped, solve_parallel

    flag = threading.Event()
    seen: list[float] = []

    def progress(elapsed: float, _value: int) -> None:
        if not seen:
            threading.Timer(0.5, flag.set).start()
        seen.append(elapsed)

    t0 = time.monotonic()
    with pytest.raises(SearchStopped):
        solve_parallel(
            vrptw(), SearchParams(time_limit_s=60, workers=workers), progress, stop=flag.is_set
        )
    assert seen, "it searched until asked to stop"
    assert time.monotonic() - t0 < 15
