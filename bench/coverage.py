"""Coverage of the demo week: today's catchment model against the covering choice.

Both models go through what `taxvan plan` does: plan the weekly template (10 s by default),
apply it to the week and to the next one. For each it prints the share of remote taxpayers
within 10 / 15 / 20 minutes of a stop visited this week and within two weeks (this week or
the next), the stops visited, the visits dropped and the km of the planned week; then the
best share any choice of stops could reach under the covering choice's limits (each street
at most the stops its minutes buy at the shortest dwell, the week at most as many stops as
the catchment model visits, none of the stops the van's days cannot hold), proved with SCIP
(OR-Tools' linear solver).

    python -m bench.coverage [--seconds 10] [--week 2026-W49] [--data data/fangzi]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ortools.linear_solver import pywraplp

from routes.engine import SearchParams
from routes.matrix import CachedProvider, GeodesicProvider
from routes.planner import plan_week
from routes.problem import CoverSetup, PlanSettings, build_week_problem
from taxvan.coverage import coverage
from taxvan.io.loaders import load_dataset
from taxvan.workdays import parse_iso_week

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(tempfile.gettempdir()) / "taxvan-bench-matrices"


@dataclass(frozen=True, slots=True)
class CoverBound:
    """The most remote taxpayers any choice of stops within the limits brings within reach."""

    minutes: int
    best: int
    """The best choice SCIP found (equal to `bound` when proved optimal)."""
    bound: float
    optimal: bool
    total: int
    seconds: float


def covering_bound(
    times: np.ndarray,
    stop_streets: Sequence[str],
    budgets: Mapping[str, int],
    max_stops: int,
    minutes: int,
    time_limit_s: float = 60.0,
) -> CoverBound:
    """Maximal covering, exact: choose stops (street `c` at most `budgets[c]`, all of them at
    most `max_stops`) so the most remote taxpayers are within `minutes` of one.
    `times[i, j]`: seconds from remote taxpayer `i` to stop `j`."""
    t0 = time.monotonic()
    reach = times <= minutes * 60
    solver = pywraplp.Solver.CreateSolver("SCIP")
    x = [solver.BoolVar(f"x{j}") for j in range(len(stop_streets))]
    for j, code in enumerate(stop_streets):
        if budgets.get(code, 0) == 0:
            x[j].SetUb(0)
    for code, budget in budgets.items():
        solver.Add(sum(x[j] for j, c in enumerate(stop_streets) if c == code) <= budget)
    solver.Add(sum(x) <= max_stops)
    covered = []
    for i in range(reach.shape[0]):
        near = np.flatnonzero(reach[i])
        if near.size:
            y = solver.NumVar(0, 1, f"y{i}")  # integral at any optimum: x are 0/1
            solver.Add(y <= sum(x[j] for j in near))
            covered.append(y)
    solver.Maximize(sum(covered))
    solver.SetTimeLimit(int(time_limit_s * 1000))
    status = solver.Solve()
    return CoverBound(
        minutes,
        round(solver.Objective().Value()),
        solver.Objective().BestBound(),
        status == pywraplp.Solver.OPTIMAL,
        reach.shape[0],
        time.monotonic() - t0,
    )


def next_week(label: str) -> str:
    year, week = parse_iso_week(label)
    y, w, _ = (dt.date.fromisocalendar(year, week, 1) + dt.timedelta(days=7)).isocalendar()
    return f"{y}-W{w:02d}"


def run(args: tuple[str, str, str, float]) -> dict:
    """One model through `taxvan plan`'s pipeline (`routes.plan_week`: the weekly template,
    planned again while it leaves a chosen stop out of every week, applied to the week and
    to the next one): km and coverage of the week and the next."""
    choice, data, week, seconds = args
    ds = load_dataset(Path(data))
    provider = CachedProvider(GeodesicProvider(), CACHE)
    settings = PlanSettings(stop_choice=choice)
    params = SearchParams(time_limit_s=seconds)
    with tempfile.TemporaryDirectory() as templates:
        t0 = time.monotonic()
        first = plan_week(ds, week, provider, settings, params, Path(templates))
        wall = time.monotonic() - t0
        second = plan_week(ds, next_week(week), provider, settings, params, Path(templates))
    plans = {week: first.plan, next_week(week): second.plan}
    base = first.standard.base
    r = base.remote
    this = {v.stop_id for v in plans[week].visits}
    both = this | {v.stop_id for v in plans[next_week(week)].visits}
    minutes = settings.cover_minutes
    c1 = coverage(r.to_stop_s, r.stop_columns, r.streets, this, minutes)
    c2 = coverage(r.to_stop_s, r.stop_columns, r.streets, both, minutes)
    plan = plans[week]
    return {
        "choice": choice,
        "wall": wall,
        "km": sum(x.metres for x in plan.routes) / 1000,
        "service_h": sum(v.end - v.start for v in plan.visits) / 60,
        "target_h": base.demand.budget_minutes / 60,
        "visits": len(plan.visits),
        "stops": len(this),
        "dropped": sum(1 for d in plan.dropped if not d.reason.startswith("not held")),
        "week": {m: c1.share(m) for m in minutes},
        "two": {m: c2.share(m) for m in minutes},
        "remote": c1.total,
        "cover": base.cover,
        "problem": base,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10.0, help="template search time")
    ap.add_argument("--week", default="2026-W49")
    ap.add_argument("--data", default=str(ROOT / "data" / "fangzi"))
    ap.add_argument("--bound-seconds", type=float, default=60.0, help="SCIP time limit")
    args = ap.parse_args()
    # Build and cache the matrices once, outside the timed runs.
    build_week_problem(
        load_dataset(Path(args.data)), args.week, CachedProvider(GeodesicProvider(), CACHE)
    )
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; {args.data}, week {args.week} (and "
        f"{next_week(args.week)} for two weeks); template search {args.seconds:g} s each"
    )
    # One model after the other, each with the planner's own 2-core search, as `taxvan plan`.
    results = [run((c, args.data, args.week, args.seconds)) for c in ("catchment", "covering")]
    minutes = PlanSettings().cover_minutes
    head = "".join(f"{f'{m} min':>8}" for m in minutes)
    width = 8 * len(minutes)
    print(f"\n  {'':<12}{'within, this week':>{width}}  {'within two weeks':>{width}}")
    print(
        f"  {'model':<12}{head}  {head}{'stops':>7}{'visits':>8}{'dropped':>9}{'km':>8}"
        f"{'service h':>11}{'search s':>10}"
    )
    for r in results:
        week = "".join(f"{r['week'][m]:>8.1%}" for m in minutes)
        two = "".join(f"{r['two'][m]:>8.1%}" for m in minutes)
        print(
            f"  {r['choice']:<12}{week}  {two}{r['stops']:>7}{r['visits']:>8}"
            f"{r['dropped']:>9}{r['km']:>8.1f}{r['service_h']:>6.1f}/{r['target_h']:<4.1f}"
            f"{r['wall']:>10.1f}"
        )
    covering = next(r for r in results if r["choice"] == "covering")
    setup: CoverSetup = covering["cover"]
    problem = covering["problem"]
    street_of = {st.id: st.street_code for st in problem.dataset.stops}
    stop_streets = [street_of[sid] for sid in problem.remote.stop_columns]
    # The stops the van's days cannot hold (out of reach, or left out of every week by the
    # routes) are no choice at all: the bound is over the others.
    held = [
        "" if sid in setup.left_out else c
        for sid, c in zip(problem.remote.stop_columns, stop_streets, strict=True)
    ]
    print(
        f"\n  covering limits: at most {setup.max_stops} stops a week; per street "
        + ", ".join(f"{c} {b}" for c, b in setup.budgets.items())
        + f"; {len(setup.left_out)} stops the van's days cannot hold"
    )
    for m in minutes:
        b = covering_bound(
            problem.remote.to_stop_s,
            held,
            setup.budgets,
            setup.max_stops,
            m,
            args.bound_seconds,
        )
        share = covering["week"][m]
        print(
            f"  best choice within {m:>2} min (SCIP): {b.best / b.total:.1%} "
            f"({'proved' if b.optimal else f'bound {b.bound / b.total:.1%}'}, {b.seconds:.1f} s); "
            f"covering plan {share:.1%}, {100 * (b.bound / b.total - share):.1f} points below"
        )
    catchment = next(r for r in results if r["choice"] == "catchment")
    gain = 100 * (covering["week"][minutes[0]] - catchment["week"][minutes[0]])
    print(
        f"\n  covering against catchment: {gain:+.1f} points within {minutes[0]} min this week, "
        f"{covering['km'] - catchment['km']:+.1f} km"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
