"""Re-solving near the previous template against re-planning from scratch, side by side.

For the demo district and the generated second district (tests/districts.py) it plans the
unadjusted week (the "published" one), then each change below twice through
`routes.plan_week`: from scratch (`new_template=True`) and near the published template
(the default), and prints per run the diff against the published timetable (visits moved,
added, removed, unchanged), how many visits of the days the change does not touch keep
their day and start, the template's km and the wall time.

Changes: a Monday stop (the one nearest the hall visited once a week) pinned to Thursday;
the same stop pinned to Thursday at the time it had on Monday; the same stop excluded.

    python -m bench.stability [--time-limit 10] [--workers 2] [--only demo|county]
"""

from __future__ import annotations

import argparse
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

from routes import Adjustments, Pin, diff_plan, plan_week
from routes.check import check_plan
from routes.engine import SearchParams, default_workers
from routes.matrix import CachedProvider, GeodesicProvider
from routes.planner import WeekPlan
from routes.publish import timetable_rows
from taxvan.dataset import Dataset
from taxvan.io.loaders import load_dataset
from tests.districts import make_county

ROOT = Path(__file__).resolve().parent.parent
WEEK = "2026-W49"
MON, THU = 0, 3


def _monday_stop(base: WeekPlan) -> tuple[str, int]:
    problem = base.standard.paired
    once = {v.stop_id for v in problem.demand.visits if v.count == 1 and not v.biweekly}
    monday = [
        v
        for r in base.template.routes
        if r.date.weekday() == MON
        for v in r.visits
        if v.stop_id in once
    ]
    best = min(monday, key=lambda v: int(problem.seconds[0][problem.stop_node(v.stop_id)]))
    return best.stop_id, best.start


def _km(week: WeekPlan) -> float:
    return sum(r.metres for r in week.template.routes) / 1000


def run(name: str, dataset: Dataset, params: SearchParams, work: Path) -> None:
    provider = CachedProvider(GeodesicProvider(), work / "matrices")
    folder = work / name / "published"
    base = plan_week(dataset, WEEK, provider, params=params, templates=folder)
    assert base.template_path is not None
    published = timetable_rows(base.plan, dataset)
    stop, start = _monday_stop(base)
    print(
        f"\n{name}: {len(base.plan.visits)} visits in {WEEK}, template {_km(base):.1f} km; "
        f"changed stop {stop} (Monday {start // 60:02d}:{start % 60:02d})"
    )
    print(
        f"{'change':<22} {'from':<8} {'moved':>5} {'added':>5} {'rem.':>5} {'same':>5} "
        f"{'untouched kept':>15} {'km':>7} {'Δkm':>6} {'s':>5}  reasons"
    )
    changes = [
        ("pin Thu", Adjustments(pins=(Pin(stop, THU),)), {MON, THU}),
        (
            f"pin Thu {start // 60:02d}:{start % 60:02d}",
            Adjustments(pins=(Pin(stop, THU, start),)),
            {MON, THU},
        ),
        ("exclude stop", Adjustments(excluded_stops=frozenset({stop})), {MON}),
    ]
    for label, adj, touched in changes:
        for fresh in (True, False):
            runs = work / name / f"{label}-{fresh}"
            runs.mkdir(parents=True)
            shutil.copy(base.template_path, runs)
            t0 = time.monotonic()
            week = plan_week(
                dataset,
                WEEK,
                provider,
                params=params,
                templates=runs,
                adjustments=adj,
                new_template=fresh,
            )
            wall = time.monotonic() - t0
            assert check_plan(week.plan, week.problem) == []
            diff = diff_plan(week, [r.as_record() for r in published])
            c = diff.counts()
            new = {(r.stop_id, r.date, r.start) for r in timetable_rows(week.plan, dataset)}
            other = [r for r in published if r.date.weekday() not in touched]
            kept = sum((r.stop_id, r.date, r.start) in new for r in other)
            reasons = sorted({ch.reason for ch in diff.changes})
            print(
                f"{label:<22} {'scratch' if fresh else 'previous':<8} {c['moved']:>5} "
                f"{c['added']:>5} {c['removed']:>5} {c['unchanged']:>5} "
                f"{f'{kept}/{len(other)}':>15} {_km(week):>7.1f} "
                f"{_km(week) - _km(base):>+6.1f} {wall:>5.1f}  {','.join(reasons)}"
            )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--time-limit", type=float, default=SearchParams().time_limit_s)
    p.add_argument("--workers", type=int, default=default_workers())
    p.add_argument("--only", choices=["demo", "county"])
    args = p.parse_args(argv)
    params = SearchParams(time_limit_s=args.time_limit, workers=args.workers)
    print(
        f"bench.stability: {WEEK}, {args.time_limit:g} s, {args.workers} worker(s), "
        f"Python {sys.version.split()[0]}, {platform.machine()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.only in (None, "demo"):
            run("demo", load_dataset(ROOT / "data" / "fangzi"), params, work)
        if args.only in (None, "county"):
            county = load_dataset(make_county(work / "county-data"))
            run("second district", county, params, work)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
