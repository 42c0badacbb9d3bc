"""Which search settings suit the weekly model: each configuration on the demo and large weeks.

Prints the objective each configuration reaches at a given time limit, so the engine's
defaults are measured rather than guessed.

    python bench/settings.py [--seconds 10] [--jobs 2]
"""

from __future__ import annotations

import argparse
import os
from concurrent.futures import ProcessPoolExecutor

from bench.week import problem_for
from routes.engine import SearchParams
from routes.weekly import solve_week

GLS = {"ruin_recreate": False}
CONFIGS = {
    "PCI + GLS + ruin & recreate (default)": {},
    "LCI + GLS + ruin & recreate": {"first_solution": "LOCAL_CHEAPEST_INSERTION"},
    "PCI + GLS only": GLS,
    "PCI + GLS + bandit": {**GLS, "bandit_operators": True},
    "PCI + GLS + reset": {**GLS, "reset_penalties": True},
    "PCI + tabu": {**GLS, "metaheuristic": "TABU_SEARCH"},
    "PCI + simulated annealing": {**GLS, "metaheuristic": "SIMULATED_ANNEALING"},
    "LCI + GLS": {**GLS, "first_solution": "LOCAL_CHEAPEST_INSERTION"},
    "savings + GLS": {**GLS, "first_solution": "SAVINGS"},
}


def run(job: tuple[str, str, float]) -> tuple[str, str, int, int]:
    name, config, seconds = job
    problem = problem_for(name)
    plan = solve_week(problem, SearchParams(time_limit_s=seconds, **CONFIGS[config]))
    return name, config, plan.search.objective, len(plan.dropped)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    for n in ("demo", "large"):
        problem_for(n)
    jobs = [(n, c, args.seconds) for n in ("demo", "large") for c in CONFIGS]
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(run, jobs))
    print(f"{'configuration':<40}{'demo objective':>16}{'large objective':>18}")
    by = {(n, c): (o, d) for n, c, o, d in results}
    for c in CONFIGS:
        print(f"{c:<40}{by[('demo', c)][0]:>16,}{by[('large', c)][0]:>18,}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
