"""Lower bounds on the km of any weekly plan that serves a given set of visits.

A bound tells how far the planner could still be from the best possible plan, which a long
run of the same search cannot: both may stop in the same valley. Two bounds, both valid for
every plan the weekly model accepts (shift less lunch, travel into a stop rounded up to the
15-minute grid, repeated visits of one stop on days at least `min_gap_days` apart):

- `round_trip_bound_km`: each van-day drives at least to its farthest stop and back (the
  matrix obeys the triangle inequality); forget travel between stops, spacing and which day a
  visit is on, let a visit split across days, fill days farthest-first. Instant.
- `column_bound_km`: every stop set one van can serve in a day within its shift, with the
  fewest metres that serve it, and the cheapest choice of sets that gives every stop its
  visits (SCIP). Spacing is relaxed to "repeated visits on different van-days". When the
  chosen sets fit the calendar and the lunch window, as on the demo week, this is the optimum
  of the weekly model itself: no search can beat it. It lists stop sets, so it suits weeks
  of tens of stops: a second on the demo week; on the large one 80 s to list 214,308 sets,
  and SCIP does not close the gap in 25 minutes (its proven bound still counts).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass

from ortools.linear_solver import pywraplp

from routes.problem import WeekProblem
from routes.weekly import vehicles_of
from taxvan.clock import GRID_MINUTES

STEP = GRID_MINUTES * 60


def _served(problem: WeekProblem, keys: set[str]) -> list:
    return [v for v in problem.demand.visits if v.key in keys]


def round_trip_bound_km(problem: WeekProblem, keys: set[str]) -> float:
    """The instant bound (see the module docstring)."""
    cap = max(van.working_minutes for _, van in vehicles_of(problem))
    visits = _served(problem, keys)
    nodes = [problem.stop_node(v.stop_id) for v in visits]
    order = sorted(range(len(visits)), key=lambda i: -int(problem.metres[0][nodes[i]]))
    sec, met = problem.seconds, problem.metres
    bound, k = 0, 0
    left = [float(visits[i].dwell) for i in order]
    while k < len(order):
        n = nodes[order[k]]
        bound += int(met[0][n] + met[n][0])
        room = cap - (sec[0][n] + sec[n][0]) / 60
        while k < len(order) and room > 0:
            take = min(room, left[k])
            left[k] -= take
            room -= take
            if left[k] <= 1e-9:
                k += 1
    return bound / 1000


@dataclass(frozen=True, slots=True)
class ColumnBound:
    bound_km: float
    best_km: float | None
    """The best plan of the relaxation found; equal to the bound when it is proved optimal."""
    optimal: bool
    day_routes: int
    """Stop sets a van could serve in one day, in some order, within the shift."""
    seconds: float


def day_routes(problem: WeekProblem, keys: set[str], limit: int) -> dict[int, int] | None:
    """Every set of stops one van can serve in one day, with the fewest metres to do it.

    Sets are bit masks over the served stops (sorted by id). A set counts when its quickest
    order, with travel into each stop rounded up to the grid, leaves room for the dwells: a
    condition every real day route meets (the lunch window may still rule some out, which
    only weakens the bound). Held-Karp over growing sets; a set that does not fit cannot grow
    into one that does. None when there are more than `limit` sets.
    """
    visits = _served(problem, keys)
    stops = sorted({v.stop_id for v in visits})
    dwell = [min(v.dwell for v in visits if v.stop_id == s) * 60 for s in stops]
    node = [problem.stop_node(s) for s in stops]
    sec, met = problem.seconds.astype(int), problem.metres.astype(int)
    into = -(-sec // STEP) * STEP
    cap = max(van.working_minutes for _, van in vehicles_of(problem)) * 60
    n = len(stops)
    # (mask, last stop) -> fewest metres / seconds from the hall through mask ending at last
    km = {(1 << i, i): int(met[0][node[i]]) for i in range(n)}
    tm = {(1 << i, i): int(into[0][node[i]]) for i in range(n)}
    used = {1 << i: dwell[i] for i in range(n)}
    fits: dict[int, int] = {}
    layer = {1 << i for i in range(n) if tm[1 << i, i] + dwell[i] + sec[node[i]][0] <= cap}
    while layer:
        grown = set()
        for mask in layer:
            ends = [i for i in range(n) if (mask, i) in km]
            fits[mask] = min(km[mask, i] + int(met[node[i]][0]) for i in ends)
            if len(fits) > limit:
                return None
            for i in ends:
                for j in range(n):
                    if mask >> j & 1:
                        continue
                    t = tm[mask, i] + int(into[node[i]][node[j]])
                    if t + used[mask] + dwell[j] + sec[node[j]][0] > cap:
                        continue
                    key = (mask | 1 << j, j)
                    k = km[mask, i] + int(met[node[i]][node[j]])
                    km[key] = min(km.get(key, k), k)
                    tm[key] = min(tm.get(key, t), t)
                    used[key[0]] = used[mask] + dwell[j]
                    grown.add(key[0])
        layer = grown
    return fits


def column_bound_km(
    problem: WeekProblem, keys: set[str], time_limit_s: float = 60.0, limit: int = 50_000
) -> ColumnBound | None:
    """The best week if every van-day may take any stop set that fits its shift.

    Set partitioning over `day_routes` with SCIP: each stop is in as many chosen sets as it
    has visits, at most one set per van-day. Spacing is relaxed to "repeated visits on
    different van-days". When the chosen sets can be put on days that respect the spacing
    and the lunch window, the bound is the optimum of the weekly model itself.
    None when there are more than `limit` stop sets (the large week has ~200,000).
    """
    t0 = time.monotonic()
    routes = day_routes(problem, keys, limit)
    if routes is None:
        return None
    visits = _served(problem, keys)
    stops = sorted({v.stop_id for v in visits})
    solver = pywraplp.Solver.CreateSolver("SCIP")
    rows = []
    for s in stops:
        need = sum(1 for v in visits if v.stop_id == s)
        rows.append(solver.Constraint(need, need))
    van_days = solver.Constraint(0, len(vehicles_of(problem)))
    objective = solver.Objective()
    for mask, metres in routes.items():
        y = solver.BoolVar("")
        objective.SetCoefficient(y, metres)
        van_days.SetCoefficient(y, 1)
        for i, row in enumerate(rows):
            if mask >> i & 1:
                row.SetCoefficient(y, 1)
    objective.SetMinimization()
    solver.SetTimeLimit(int(time_limit_s * 1000))
    status = solver.Solve()
    found = status in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE)
    return ColumnBound(
        bound_km=objective.BestBound() / 1000,
        best_km=objective.Value() / 1000 if found else None,
        optimal=status == pywraplp.Solver.OPTIMAL,
        day_routes=len(routes),
        seconds=time.monotonic() - t0,
    )


def main() -> int:
    from bench.week import problem_for

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--only", choices=["demo", "large"])
    ap.add_argument("--seconds", type=float, default=1500.0, help="SCIP time limit")
    ap.add_argument(
        "--max-sets", type=int, default=500_000, help="give up when more day stop sets fit"
    )
    args = ap.parse_args()
    for name in [args.only] if args.only else ["demo", "large"]:
        problem = problem_for(name)
        keys = {v.key for v in problem.demand.visits}
        rt = round_trip_bound_km(problem, keys)
        print(f"{name}: {len(keys)} visits; round-trip bound {rt:.1f} km", flush=True)
        cb = column_bound_km(problem, keys, args.seconds, args.max_sets)
        if cb is None:
            print(f"  more than {args.max_sets:,} day stop sets: no column bound")
            continue
        print(
            f"  column bound {cb.bound_km:.1f} km ({'optimal' if cb.optimal else 'not closed'}; "
            f"best {cb.best_km} km; {cb.day_routes:,} day stop sets; {cb.seconds:.0f} s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
