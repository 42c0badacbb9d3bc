"""Plans that learn, proved by simulation: turned-away taxpayers and idle counters, learning
on and off, on the same seeds.

    python -m bench.demand                       # 3 seeds, 10 weeks, 3 s searches (~2 min)
    python -m bench.demand --seeds 1 --weeks 8 --seconds 2

A generated county (`tests.districts.make_county`) whose taxpayers' true demand differs from
what the registry says: each remote taxpayer goes to the nearest stop visited that week with a
weekly probability that falls with its travel time there (`exp(-minutes / tau)`), times a
lognormal factor of the stop (some places draw far more people than their head count says).
The probability is scaled so that the first week's expected demand is `--load` of the first
plan's counter capacity. Arrivals spread over the stop's visits of the week by their length;
a visit serves `dwell * counters / service minutes` people and turns the rest away; a share
of the served booked ahead (`--booked`), the rest walked in. Each week is recorded, and the
next week is planned with `routes.plan_week(records=...)` near the previous template (learning
on) or with the registry's weights (learning off). Both arms see the same people: the
arrivals of a week depend only on the seed, the week and the stops visited.
"""

from __future__ import annotations

import argparse
import math
import platform
import random
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from routes import plan_week
from routes.engine import SearchParams
from routes.matrix import CachedProvider, GeodesicProvider
from routes.planner import WeekPlan
from taxvan.dataset import Dataset
from taxvan.io.loaders import load_dataset
from taxvan.learning import LearningRules, VisitCounts
from taxvan.workdays import parse_iso_week
from tests.districts import make_county


@dataclass(frozen=True)
class World:
    """The true demand: per remote taxpayer a weekly pull to each stop."""

    factor: dict[str, float]
    """Stop id -> how much more (or less) its taxpayers come than their count says."""
    tau_min: float
    scale: float
    """Weekly visit probability of a taxpayer living at the stop, factor 1."""


@dataclass
class WeekResult:
    turned_away: int = 0
    served: int = 0
    idle_counter_minutes: int = 0
    km: float = 0.0


def _arrivals(week: WeekPlan, world: World, rng: random.Random) -> dict[str, int]:
    """People who come to each stop visited this week (each to its nearest visited stop)."""
    remote = week.problem.remote
    visited = sorted({v.stop_id for v in week.plan.visits})
    if not visited:
        return {}
    cols = [remote.stop_columns.index(s) for s in visited]
    minutes = remote.to_stop_s[:, cols] / 60.0
    nearest = minutes.argmin(axis=1)
    out: dict[str, int] = defaultdict(int)
    for i, j in enumerate(nearest):
        stop = visited[j]
        p = world.scale * world.factor[stop] * math.exp(-minutes[i, j] / world.tau_min)
        if rng.random() < min(1.0, p):
            out[stop] += 1
    return dict(out)


def _expected(week: WeekPlan, world: World) -> float:
    remote = week.problem.remote
    visited = sorted({v.stop_id for v in week.plan.visits})
    cols = [remote.stop_columns.index(s) for s in visited]
    minutes = remote.to_stop_s[:, cols] / 60.0
    nearest = minutes.argmin(axis=1)
    return float(
        sum(
            world.scale * world.factor[visited[j]] * math.exp(-minutes[i, j] / world.tau_min)
            for i, j in enumerate(nearest)
        )
    )


def _capacity(week: WeekPlan, counters: dict[str, int], service_min: int) -> int:
    return sum((v.end - v.start) * counters[v.van_id] // service_min for v in week.plan.visits)


def _serve(
    week: WeekPlan,
    arrivals: dict[str, int],
    counters: dict[str, int],
    args: argparse.Namespace,
    rng: random.Random,
) -> tuple[WeekResult, list[VisitCounts]]:
    """Each stop's arrivals over its visits by length; each visit serves what it can."""
    by_stop = defaultdict(list)
    for v in week.plan.visits:
        by_stop[v.stop_id].append(v)
    result = WeekResult(km=week.report["km_driven"])
    records = []
    for stop_id, visits in by_stop.items():
        people = arrivals.get(stop_id, 0)
        lengths = [v.end - v.start for v in visits]
        share = [0] * len(visits)
        for _ in range(people):
            share[rng.choices(range(len(visits)), lengths)[0]] += 1
        for v, n in zip(visits, share, strict=True):
            cap = (v.end - v.start) * counters[v.van_id] // args.service_minutes
            served = min(n, cap)
            booked = sum(1 for _ in range(served) if rng.random() < args.booked)
            records.append(
                VisitCounts(stop_id, week.plan.week, booked, served - booked, n - served)
            )
            result.served += served
            result.turned_away += n - served
            result.idle_counter_minutes += (v.end - v.start) * counters[
                v.van_id
            ] - served * args.service_minutes
    return result, records


def _week_label(first: str, k: int) -> str:
    year, week = parse_iso_week(first)
    import datetime as dt

    y, w, _ = (dt.date.fromisocalendar(year, week, 1) + dt.timedelta(weeks=k)).isocalendar()
    return f"{y}-W{w:02d}"


def run_arm(
    dataset: Dataset,
    world: World,
    seed: int,
    learning: bool,
    args: argparse.Namespace,
    root: Path,
) -> list[WeekResult]:
    provider = CachedProvider(GeodesicProvider(), root / "matrices")
    templates = root / f"seed{seed}"  # shared: both arms start from the same template
    params = SearchParams(time_limit_s=args.seconds, workers=1)
    rules = LearningRules(enabled=learning, window_weeks=8, min_weeks=args.min_weeks)
    counters = {v.id: v.counters for v in dataset.vans}
    records: list[VisitCounts] = []
    out = []
    previous = None
    for k in range(args.weeks):
        label = _week_label(args.first_week, k)
        week = plan_week(
            dataset,
            label,
            provider,
            params=params,
            templates=templates,
            records=records,
            learning=rules,
            previous=previous,
        )
        previous = week.template_path
        rng = random.Random(f"{seed}:{label}")
        arrivals = _arrivals(week, world, rng)
        result, recorded = _serve(week, arrivals, counters, args, rng)
        records += recorded
        out.append(result)
    return out


def make_world(dataset: Dataset, seed: int, args: argparse.Namespace, root: Path) -> World:
    """Stop factors from the seed; the scale so that week 1 asks for `load` of capacity."""
    rng = random.Random(seed)
    factor = {s.id: math.exp(rng.gauss(0.0, args.sigma)) for s in dataset.stops}
    world = World(factor, args.tau, 1.0)
    first = plan_week(
        dataset,
        args.first_week,
        CachedProvider(GeodesicProvider(), root / "matrices"),
        params=SearchParams(time_limit_s=args.seconds, workers=1),
        templates=root / f"seed{seed}",
    )
    counters = {v.id: v.counters for v in dataset.vans}
    capacity = _capacity(first, counters, args.service_minutes)
    return World(factor, args.tau, args.load * capacity / max(_expected(first, world), 1e-9))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--weeks", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=3.0, help="template search time limit")
    ap.add_argument("--min-weeks", type=int, default=4, help="weeks of records before learning")
    ap.add_argument("--first-week", default="2026-W43")
    ap.add_argument("--sigma", type=float, default=0.8, help="spread of the stops' factors")
    ap.add_argument("--tau", type=float, default=30.0, help="travel minutes that cut demand to 1/e")
    ap.add_argument("--load", type=float, default=1.0, help="demand over capacity, week 1")
    ap.add_argument("--service-minutes", type=int, default=15, help="per person at a counter")
    ap.add_argument("--booked", type=float, default=0.6, help="share of the served who booked")
    args = ap.parse_args()
    started = time.monotonic()
    rows: dict[bool, list[list[WeekResult]]] = {True: [], False: []}
    with tempfile.TemporaryDirectory(prefix="taxvan-demand-") as tmp:
        root = Path(tmp)
        dataset = load_dataset(make_county(root / "county"))
        for seed in range(1, args.seeds + 1):
            world = make_world(dataset, seed, args, root)
            for learning in (False, True):
                rows[learning].append(run_arm(dataset, world, seed, learning, args, root))
                print(f"seed {seed} learning {'on' if learning else 'off'} done", file=sys.stderr)
    print(
        f"{args.seeds} seed(s), {args.weeks} weeks, {args.seconds:g} s searches, "
        f"min {args.min_weeks} weeks of records, load {args.load:g}, sigma {args.sigma:g}, "
        f"tau {args.tau:g} min; Python {platform.python_version()}; "
        f"{time.monotonic() - started:.0f} s\n"
    )
    print(
        "| week | served (off → on) | turned away (off → on) | idle counter-min (off → on) "
        "| km (off → on) |\n| --- | --- | --- | --- | --- |"
    )
    for k in range(args.weeks):

        def mean(on: bool, what: str, k: int = k) -> float:
            return float(np.mean([getattr(r[k], what) for r in rows[on]]))

        print(
            f"| {k + 1} | {mean(False, 'served'):.0f} → {mean(True, 'served'):.0f} | "
            f"{mean(False, 'turned_away'):.0f} → {mean(True, 'turned_away'):.0f} | "
            f"{mean(False, 'idle_counter_minutes'):.0f} → "
            f"{mean(True, 'idle_counter_minutes'):.0f} | "
            f"{mean(False, 'km'):.1f} → {mean(True, 'km'):.1f} |"
        )
    late = range(args.min_weeks, args.weeks)  # the weeks planned with records
    if late:

        def total(on: bool, what: str) -> float:
            return float(np.mean([sum(getattr(r[k], what) for k in late) for r in rows[on]]))

        off_t, on_t = total(False, "turned_away"), total(True, "turned_away")
        off_km, on_km = total(False, "km"), total(True, "km")
        print(
            f"\nWeeks {late.start + 1}-{args.weeks} (planned with records), per seed: turned "
            f"away {off_t:.0f} → {on_t:.0f} ({on_t / max(off_t, 1e-9):.0%} of off), km "
            f"{off_km:.0f} → {on_km:.0f} ({on_km / max(off_km, 1e-9) - 1:+.1%})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
