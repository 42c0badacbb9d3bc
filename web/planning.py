"""Running the planner end to end and writing what it publishes.

The CLI and the Flask commands both call `run_plan`, so there is one way to make a plan.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from routes.check import check_plan
from routes.engine import SearchParams
from routes.matrix import (
    CachedProvider,
    GeodesicProvider,
    MatrixProvider,
    OsrmProvider,
    SpeedProfile,
)
from routes.plan import Plan
from routes.problem import PlanSettings, WeekProblem, build_week_problem
from routes.publish import timetable_rows
from routes.report import plan_report
from routes.weekly import solve_week
from taxvan.dataset import Dataset
from taxvan.errors import PlanningError, TaxvanError
from taxvan.io.loaders import load_dataset
from taxvan.io.timetable_files import write_json, write_timetable_csv, write_timetable_json
from web.config import Config
from web.maps import load_outline, schedule_map, tile_source, write_map

Say = Callable[[str], None]


@dataclass(frozen=True)
class PlanRun:
    dataset: Dataset
    problem: WeekProblem
    plan: Plan
    report: dict[str, Any]
    files: dict[str, Path]


def make_provider(config: Config) -> MatrixProvider:
    """The matrix provider the configuration names, wrapped in the on-disk cache."""
    inner: MatrixProvider
    if config.matrix == "geodesic":
        inner = GeodesicProvider(config.circuity, SpeedProfile.parse(config.speeds))
    elif config.matrix == "osrm":
        if not config.osrm_url:
            raise TaxvanError("the osrm matrix needs a URL: set TAXVAN_OSRM_URL or --osrm-url")
        inner = OsrmProvider(config.osrm_url)
    else:
        raise TaxvanError(f"unknown matrix provider '{config.matrix}'; use geodesic or osrm")
    return CachedProvider(inner, Path(config.cache_dir).expanduser() / "matrices")


def run_plan(
    config: Config,
    week: str,
    out: Path,
    say: Say = print,
    progress: Callable[[float, int], None] | None = None,
) -> PlanRun:
    """Load, plan, check and write timetable CSV/JSON, report JSON and the map into `out`."""
    try:
        tiles = tile_source(config.tiles, config.tile_url or None, config.tile_key or None)
        settings = PlanSettings(
            remote_threshold_min=config.remote_threshold_min, service_share=config.service_share
        )
        params = SearchParams(time_limit_s=config.time_limit_s, workers=config.workers)
    except ValueError as exc:
        raise TaxvanError(str(exc)) from None
    data = Path(config.data_dir)
    say(f"Loading {data} ...")
    dataset = load_dataset(data)
    say(
        f"  {len(dataset.stops)} stops, {len(dataset.taxpayers)} taxpayers, "
        f"{len(dataset.vans)} van(s)"
    )
    say("Computing travel times and weights ...")
    problem = build_week_problem(dataset, week, make_provider(config), settings)
    say(
        f"  {problem.weights.total_remote} remote taxpayers; week {problem.week.label} has "
        f"{len(problem.week.dates)} working days and asks for {len(problem.demand.visits)} visits"
    )
    say(
        f"Searching for routes (up to {params.time_limit_s:g} s, {params.workers} "
        f"search{'es' if params.workers > 1 else ''} side by side) ..."
    )
    plan = solve_week(problem, params, progress)
    problems = check_plan(plan, problem)
    if problems:
        raise PlanningError("the plan failed its own check: " + "; ".join(problems[:3]))
    report = plan_report(plan, problem)
    out.mkdir(parents=True, exist_ok=True)
    rows = timetable_rows(plan, dataset)
    files = {
        "timetable.csv": out / "timetable.csv",
        "timetable.json": out / "timetable.json",
        "report.json": out / "report.json",
        "map.html": out / "map.html",
    }
    write_timetable_csv(files["timetable.csv"], rows)
    write_timetable_json(
        files["timetable.json"],
        rows,
        {
            "week": plan.week,
            "district": dataset.name,
            "depot": {
                "id": dataset.depot.id,
                "name": dataset.depot.name,
                "lat": dataset.depot.lat,
                "lon": dataset.depot.lon,
            },
            "generated": dt.datetime.now(dt.UTC)
            .astimezone(dt.timezone(dt.timedelta(hours=8)))
            .isoformat(timespec="seconds"),
            "timezone": "Asia/Shanghai",
            "working_dates": report["working_dates"],
            "holidays": report["holidays"],
            "notes": report["notes"],
            "dropped": report["dropped"],
        },
    )
    write_json(files["report.json"], report)
    outline = load_outline(data / "outline.geojson")
    write_map(schedule_map(plan, dataset, tiles, outline), files["map.html"])
    return PlanRun(dataset, problem, plan, report, files)
