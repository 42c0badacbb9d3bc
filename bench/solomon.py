"""The routing engine on the 56 Solomon VRPTW instances, against the best-known solutions.

Distances and times follow the DIMACS convention the best-known solutions use (Euclidean,
truncated to one decimal), so the engine works in tenths. Prints, per time limit, how many
instances it solves (every customer served within the fleet) and the mean gap.

    python bench/solomon.py --seconds 5 30 [--only R1] [--jobs 2] [--config default|plain|...]
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import platform
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import vrplib

from routes.engine import Instance, SearchParams, solve_parallel
from taxvan.errors import PlanningError

ROOT = Path(__file__).resolve().parent.parent

DEFAULT_DIR = ROOT.parent / "shared" / "bench" / "vrptw"


def load(path: Path) -> tuple[Instance, int]:
    """An engine instance in tenths, and its customer count."""
    data = vrplib.read_instance(str(path))
    xy = data["node_coord"].astype(float)
    diff = xy[:, None, :] - xy[None, :, :]
    tenths = np.floor(np.sqrt((diff**2).sum(-1)) * 10 + 1e-9).astype(np.int64)
    n = len(xy)
    service = (np.asarray(data["service_time"]) * 10).astype(np.int64)
    if service.ndim == 0:
        service = np.full(n, int(service))
    service[0] = 0
    tw = (data["time_window"] * 10).astype(np.int64)
    inst = Instance(
        cost=tenths.tolist(),
        travel=tenths.tolist(),
        service=service.tolist(),
        windows=[(int(a), int(b)) for a, b in tw],
        vehicle_windows=[(int(tw[0][0]), int(tw[0][1]))] * int(data["vehicles"]),
        penalty=[None] * n,
        demand=[int(d) for d in data["demand"]],
        capacity=int(data["capacity"]),
        horizon=int(tw[0][1]),
    )
    return inst, n - 1


def bks_table(folder: Path) -> dict[str, float]:
    with (folder / "solomon_bks_distance_only.csv").open() as f:
        return {r["instance"]: float(r["distance"]) for r in csv.DictReader(f)}


CONFIGS = {
    "default": {},
    "rr": {"ruin_recreate": True},
    "rr-gd": {"ruin_recreate": True, "step_metaheuristic": "GREEDY_DESCENT", "step_s": 1.0},
    "rr-gd-a1": {
        "ruin_recreate": True,
        "step_metaheuristic": "GREEDY_DESCENT",
        "step_s": 1.0,
        "accept_worse": 0.01,
    },
    "rr-gd-a03": {
        "ruin_recreate": True,
        "step_metaheuristic": "GREEDY_DESCENT",
        "step_s": 1.0,
        "accept_worse": 0.003,
    },
    "rr-gd-short": {
        "ruin_recreate": True,
        "step_metaheuristic": "GREEDY_DESCENT",
        "step_s": 1.0,
        "accept_worse": 0.003,
        "first_phase_share": 0.15,
    },
    "rr-gd-5": {
        "ruin_recreate": True,
        "step_metaheuristic": "GREEDY_DESCENT",
        "step_s": 1.0,
        "accept_worse": 0.003,
        "first_phase_share": 0.05,
    },
    "rr-10": {"ruin_recreate": True, "ruin_size": 10},
    "rr-25": {"ruin_recreate": True, "ruin_size": 25},
    "rr-short": {"ruin_recreate": True, "first_phase_share": 0.15},
    "bandit+reset": {"bandit_operators": True, "reset_penalties": True},
    "bandit": {"bandit_operators": True},
    "lci": {"first_solution": "LOCAL_CHEAPEST_INSERTION"},
    "reset": {"reset_penalties": True},
    "cross": {"extra_operators": ("cross_exchange", "relocate_neighbors")},
    "close": {
        "extra_operators": (
            "global_cheapest_insertion_close_nodes_lns",
            "local_cheapest_insertion_close_nodes_lns",
        )
    },
}


def run_one(args: tuple[str, float, str, int]) -> tuple[str, float, float | None, int]:
    path, seconds, config, workers = args
    inst, customers = load(Path(path))
    params = SearchParams(time_limit_s=seconds, workers=workers, **CONFIGS[config])
    try:
        sol = solve_parallel(inst, params)
    except PlanningError:
        return Path(path).stem, seconds, None, 0
    served = sum(len(r) for r in sol.routes)
    if served != customers or sol.dropped:
        return Path(path).stem, seconds, None, 0
    return Path(path).stem, seconds, sol.travel_cost / 10, sum(1 for r in sol.routes if r)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--seconds", type=float, nargs="+", default=[5.0, 30.0])
    ap.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    ap.add_argument(
        "--only", default="", help="instance name prefixes, comma-separated, e.g. R1 or R105,RC2"
    )
    ap.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 1, help="instances solved at the same time"
    )
    ap.add_argument(
        "--workers",
        type=int,
        default=1,
        help="searches side by side per instance (the engine's portfolio)",
    )
    ap.add_argument(
        "--config",
        choices=sorted(CONFIGS),
        default="default",
        help="search settings: default = the engine's defaults (PCI + GLS)",
    )
    args = ap.parse_args()
    bks = bks_table(args.dir)
    files = sorted(
        p
        for p in (args.dir / "solomon").glob("*.vrp")
        if p.stem.startswith(tuple(args.only.split(",")))
    )
    if not files:
        print(f"no instance matches '{args.only}' in {args.dir / 'solomon'}", file=sys.stderr)
        return 1
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; {len(files)} instances, jobs={args.jobs}, "
        f"config={args.config}, workers={args.workers}"
    )
    jobs = [(str(p), s, args.config, args.workers) for s in args.seconds for p in files]
    t0 = time.time()
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(run_one, jobs))
    print(f"{'instance':<8} " + " ".join(f"{f'{s:g}s gap':>10}" for s in args.seconds))
    by = {(r[0], r[1]): r for r in results}
    for p in files:
        cells = []
        for s in args.seconds:
            _, _, cost, _ = by[(p.stem, s)]
            cells.append(
                f"{'-':>10}" if cost is None else f"{(cost - bks[p.stem]) / bks[p.stem]:>10.2%}"
            )
        print(f"{p.stem:<8} " + " ".join(cells))
    print()
    for s in args.seconds:
        gaps = [
            (by[(p.stem, s)][2] - bks[p.stem]) / bks[p.stem]
            for p in files
            if by[(p.stem, s)][2] is not None
        ]
        solved = len(gaps)
        mean = statistics.mean(gaps) if gaps else math.nan
        print(f"{s:>5g} s: solved {solved}/{len(files)}, mean gap to best known {mean:.2%}")
    print(f"wall time {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
