"""The weekly planner on the demo week and on a large week, against a baseline and a long run.

Each run is `routes.plan_week`, the function `taxvan plan` calls: the weekly template
planned afresh, checked and applied to the calendar week, so the figures are those of what
the command ships. For each instance it prints time, objective (the template's), km, service
hours and the remote-taxpayer weight of the dropped visits of the calendar week for
  - the planner at its normal time limit (10 s demo, 60 s large),
  - the same model run much longer (the best known, default 600 s),
  - a naive baseline: one street per van-day, stops in nearest-neighbour order, filled until
    the shift is full.

    python -m bench.week [--reference-seconds 600] [--only demo|large]
                         [--max-sets 500000 --bound-seconds 1500]  # large week bound too
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import os
import platform
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from bench.bound import column_bound_km, round_trip_bound_km
from routes.check import check_plan
from routes.engine import SearchParams, default_workers
from routes.matrix import CachedProvider, GeodesicProvider
from routes.planner import plan_week
from routes.problem import STOP_CHOICES, PlanSettings, WeekProblem, build_week_problem
from routes.schedule import schedule_day
from taxvan.dataset import Dataset
from taxvan.demand import VisitDemand
from taxvan.errors import PlanningError
from taxvan.fleet import Van
from taxvan.io.loaders import load_dataset
from taxvan.places import Stop, StopKind

ROOT = Path(__file__).resolve().parent.parent

WEEK = "2026-W49"
CACHE = Path(tempfile.gettempdir()) / "taxvan-bench-matrices"


def large_dataset(demo: Dataset, n_stops: int = 200, n_vans: int = 3) -> Dataset:
    """The demo district with 200 stops (spread over the outlying taxpayers) and 3 vans."""
    served = {s.code for s in demo.streets if s.served}
    pool = [t for t in demo.taxpayers if t.street_code in served]
    chosen = [pool[0]]
    best = [((t.lat - pool[0].lat) ** 2 + (t.lon - pool[0].lon) ** 2) for t in pool]
    while len(chosen) < n_stops:
        i = max(range(len(pool)), key=best.__getitem__)
        chosen.append(pool[i])
        for k, t in enumerate(pool):
            d = (t.lat - pool[i].lat) ** 2 + (t.lon - pool[i].lon) ** 2
            if d < best[k]:
                best[k] = d
    stops = tuple(
        Stop(f"L{k:03d}", f"stop {k:03d}", t.street_code, StopKind.VILLAGE, t.lat, t.lon)
        for k, t in enumerate(chosen, start=1)
    )
    vans = tuple(
        dataclasses.replace(demo.vans[0], id=f"V{k}", name=f"van {k}") for k in range(1, n_vans + 1)
    )
    return dataclasses.replace(demo, name="large", stops=stops, vans=vans)


def dataset_for(name: str) -> Dataset:
    demo = load_dataset(ROOT / "data" / "fangzi")
    return demo if name == "demo" else large_dataset(demo)


CATCHMENT = PlanSettings(stop_choice="catchment")
"""The catchment stop choice, as the figures in bench/README.md were measured (the routing
engine's benchmark; `bench/coverage.py` compares the choices)."""


def problem_for(name: str) -> WeekProblem:
    """The calendar week planned directly (no template): the engine's own benchmark, for
    `bench.settings` and `bench.bound`; it asks the same matrices as `plan_week`."""
    return build_week_problem(
        dataset_for(name), WEEK, CachedProvider(GeodesicProvider(), CACHE), CATCHMENT
    )


def baseline(problem: WeekProblem, keys: set[str]) -> dict:
    """The naive plan for the same service: the visits in `keys`, one street per van-day.

    Each day serves one street, its stops in nearest-neighbour order from the hall, until the
    next one no longer fits the shift; a street with more than a day's work takes more days
    (even past the week's working days, so that the service is the same).
    """
    sec, met = problem.seconds, problem.metres
    van = problem.dataset.vans[0]
    node = {s.id: k for k, s in enumerate(problem.dataset.stops, start=1)}
    by_street: dict[str, list] = {}
    for v in problem.demand.visits:
        if v.key in keys:
            by_street.setdefault(v.street_code, []).append(v)
    metres = service = days = 0
    for street in sorted(by_street):
        queue = list(by_street[street])
        while queue:
            route = _greedy_day(queue, sec, node, van)
            if not route:
                raise SystemExit(f"baseline: visit {queue[0].key} fits in no day")
            for v in route:
                queue.remove(v)
            path = [0, *(node[v.stop_id] for v in route), 0]
            metres += sum(int(met[a][b]) for a, b in itertools.pairwise(path))
            service += sum(v.dwell for v in route)
            days += 1
    return {"km": metres / 1000, "service_h": service / 60, "days": days}


def _greedy_day(
    queue: list[VisitDemand], sec: np.ndarray, node: dict[str, int], van: Van
) -> list[VisitDemand]:
    """One van-day of `queue`'s visits: from the hall, the nearest visit (one per stop) that
    still lets the day be timed, until none does."""
    route: list[VisitDemand] = []
    here = 0
    for _ in range(len(queue)):
        cands = [v for v in queue if v not in route and v.stop_id not in {r.stop_id for r in route}]
        fits = []
        for v in sorted(cands, key=lambda v: sec[here][node[v.stop_id]]):
            trial = [*route, v]
            try:
                schedule_day([node[x.stop_id] for x in trial], [x.dwell for x in trial], sec, van)
            except PlanningError:
                continue
            fits.append(v)
            break
        if not fits:
            break
        route.append(fits[0])
        here = node[fits[0].stop_id]
    return route


def run(args: tuple[str, float, int, str]) -> dict:
    name, seconds, workers, stop_choice = args
    t0 = time.monotonic()
    week = plan_week(
        dataset_for(name),
        WEEK,
        CachedProvider(GeodesicProvider(), CACHE),
        PlanSettings(stop_choice=stop_choice),
        params=SearchParams(time_limit_s=seconds, workers=workers),
    )
    wall = time.monotonic() - t0
    plan, problem = week.plan, week.problem
    errors = check_plan(plan, problem)
    return {
        "name": name,
        "seconds": seconds,
        "wall": wall,
        "problem": problem,
        "objective": plan.search.objective,
        "km": sum(r.metres for r in plan.routes) / 1000,
        "service_h": sum(v.end - v.start for v in plan.visits) / 60,
        "dropped": len(plan.dropped),
        "dropped_weight": sum(d.remote_served for d in plan.dropped),
        "visits": len(problem.demand.visits),
        "stops": len(problem.dataset.stops),
        "vans": len(problem.dataset.vans),
        "feasible": not errors,
        "served": sorted(v.key for v in plan.visits),
        "days": len(problem.week.dates),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--reference-seconds", type=float, default=600.0)
    ap.add_argument("--only", choices=["demo", "large"])
    ap.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="runs side by side (default 1: each run gets the cores `taxvan plan` would)",
    )
    ap.add_argument(
        "--stop-choice",
        choices=STOP_CHOICES,
        default=PlanSettings().stop_choice,
        help="which stops get visits (default: what `taxvan plan` ships with)",
    )
    ap.add_argument(
        "--workers",
        type=int,
        default=default_workers(),
        help="searches per run, as `taxvan plan --workers` (default: what it ships with)",
    )
    ap.add_argument(
        "--bound-seconds", type=float, default=60.0, help="SCIP time for the column bound"
    )
    ap.add_argument(
        "--max-sets",
        type=int,
        default=50_000,
        help="skip the column bound past this many day stop sets (the large week has 214,308)",
    )
    args = ap.parse_args()
    names = [args.only] if args.only else ["demo", "large"]
    limits = {"demo": 10.0, "large": 60.0}
    for n in names:  # build and cache the matrices once, outside the timed runs
        problem_for(n)
    jobs = [
        (n, s, args.workers, args.stop_choice)
        for n in names
        for s in (limits[n], args.reference_seconds)
    ]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; week {WEEK}; reference {args.reference_seconds:g} s"
    )
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(run, jobs))
    by = {(r["name"], r["seconds"]): r for r in results}
    for n in names:
        short, ref = by[(n, limits[n])], by[(n, args.reference_seconds)]
        problem = short["problem"]
        base = baseline(problem, set(short["served"]))
        bound = round_trip_bound_km(problem, set(short["served"]))
        exact = column_bound_km(problem, set(short["served"]), args.bound_seconds, args.max_sets)
        print(
            f"\n{n}: {short['stops']} stops, {short['vans']} van(s), {short['visits']} visits asked"
        )
        print(
            f"  {'run':<22}{'time s':>8}{'objective':>14}{'km':>9}{'service h':>11}"
            f"{'van-days':>10}{'dropped':>9}{'dropped wt':>12}"
        )
        for label, r in (
            (f"planner {limits[n]:g} s", short),
            (f"reference {args.reference_seconds:g} s", ref),
        ):
            print(
                f"  {label:<22}{r['wall']:>8.1f}{r['objective']:>14,}{r['km']:>9.1f}"
                f"{r['service_h']:>11.1f}{r['days'] * r['vans']:>10}{r['dropped']:>9}"
                f"{r['dropped_weight']:>12.1f}"
            )
        print(
            f"  {'baseline, same visits':<22}{'':>8}{'':>14}{base['km']:>9.1f}"
            f"{base['service_h']:>11.1f}{base['days']:>10}"
        )
        print(f"  {'round-trip bound':<22}{'':>8}{'':>14}{bound:>9.1f}")
        if exact is not None:
            print(
                f"  {'column bound':<22}{exact.seconds:>8.1f}{'':>14}{exact.bound_km:>9.1f}"
                f"  ({'proved optimal' if exact.optimal else 'not closed'}, "
                f"{exact.day_routes:,} day stop sets)"
            )
            bound = max(bound, exact.bound_km)
        else:
            print(f"  column bound: more than {args.max_sets:,} day stop sets (see --max-sets)")
        gap = (short["objective"] - ref["objective"]) / ref["objective"]
        print(
            f"  gap to reference: {gap:+.2%};  km against the baseline for the same service: "
            f"{short['km'] / base['km'] - 1:+.1%} (no plan can do better than "
            f"{bound / base['km'] - 1:+.1%});  plans feasible: "
            f"{short['feasible'] and ref['feasible']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
