"""Running the planner end to end and writing what it publishes.

The CLI and the Flask commands both call `run_plan`, so there is one way to make a plan.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
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
from routes.report import plan_report, uncovered_points
from routes.template import FORMAT as TEMPLATE_FORMAT
from routes.template import (
    apply_template,
    calendar_problem,
    pair_alternating,
    template_from_dict,
    template_to_dict,
)
from routes.weekly import solve_week
from taxvan.dataset import Dataset
from taxvan.errors import PlanningError, TaxvanError
from taxvan.io.loaders import load_dataset
from taxvan.io.timetable_files import write_json, write_timetable_csv, write_timetable_json
from web.config import Config
from web.maps import add_coverage_layer, load_outline, schedule_map, tile_source, write_map

Say = Callable[[str], None]


@dataclass(frozen=True)
class PlanRun:
    dataset: Dataset
    problem: WeekProblem
    plan: Plan
    report: dict[str, Any]
    files: dict[str, Path]
    template: Path
    template_reused: bool


def template_fingerprint(config: Config, data: Path, settings: PlanSettings) -> str:
    """What the weekly template depends on: the data files, the planning settings and the
    travel model. Any change to them gives a new fingerprint, hence a new template."""
    h = hashlib.sha256()
    kinds = {".csv", ".xlsx", ".xls", ".geojson", ".json"}
    for f in sorted(p for p in data.rglob("*") if p.is_file() and p.suffix.lower() in kinds):
        h.update(f.relative_to(data).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    travel = (config.matrix, config.osrm_url, config.circuity, config.speeds)
    h.update(repr((settings, travel, TEMPLATE_FORMAT)).encode())
    return h.hexdigest()[:16]


def _saved_template(
    path: Path, template_problem: WeekProblem, params: SearchParams, say: Say
) -> Plan | None:
    """The saved template if it fits; one searched for less time than asked is planned anew,
    so that a quick trial run never becomes the published timetable for good."""
    if not path.exists():
        return None
    try:
        template = template_from_dict(json.loads(path.read_text("utf-8")), template_problem)
    except (ValueError, PlanningError) as exc:
        say(f"  the saved template {path} cannot be used ({exc}); planning a new one")
        return None
    if template.search.time_limit_s < params.time_limit_s:
        say(
            f"  the saved template was searched for {template.search.time_limit_s:g} s, less "
            f"than the {params.time_limit_s:g} s asked; planning a new one"
        )
        return None
    return template


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
    new_template: bool = False,
) -> PlanRun:
    """Load, plan, check and write timetable CSV/JSON, report JSON and the map into `out`.

    The week's times come from the weekly template (`routes.template`), planned once and kept
    in the cache folder under a fingerprint of the data and settings; `new_template` plans a
    fresh one even if a saved template fits.
    """
    try:
        tiles = tile_source(config.tiles, config.tile_url or None, config.tile_key or None)
        settings = PlanSettings(
            remote_threshold_min=config.remote_threshold_min,
            service_share=config.service_share,
            stop_choice=config.stop_choice,
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
    base = build_week_problem(dataset, week, make_provider(config), settings, template=True)
    standard = pair_alternating(base)
    fingerprint = template_fingerprint(config, data, settings)
    template_path = Path(config.cache_dir).expanduser() / "templates" / f"{fingerprint}.json"
    template = (
        None if new_template else _saved_template(template_path, standard.paired, params, say)
    )
    reused = template is not None
    if template is None:
        say(
            f"  {base.weights.total_remote} remote taxpayers; the weekly template has "
            f"{len(base.week.dates)} working days and asks for "
            f"{len(standard.paired.demand.visits)} visits ({len(standard.pairs)} of them shared "
            "by two every-other-week stops)"
        )
        say(
            f"Planning the weekly template (up to {params.time_limit_s:g} s, {params.workers} "
            f"search{'es' if params.workers > 1 else ''} side by side) ..."
        )
        template = solve_week(standard.paired, params, progress)
        problems = check_plan(template, standard.paired)
        if problems:
            raise PlanningError("the template failed its own check: " + "; ".join(problems[:3]))
        template_path.parent.mkdir(parents=True, exist_ok=True)
        write_json(template_path, template_to_dict(template, fingerprint))
    else:
        say(f"Using the weekly template {template_path} (same data and settings)")
    problem = calendar_problem(base, week)
    plan = apply_template(template, problem, standard.pairs)
    say(
        f"  week {problem.week.label} has {len(problem.week.dates)} working days; "
        f"{len(plan.visits)} of its {len(problem.demand.visits)} visits are held"
    )
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
        "template.json": out / "template.json",
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
    week_map = schedule_map(plan, dataset, tiles, outline)
    add_coverage_layer(week_map, uncovered_points(plan, problem))
    write_map(week_map, files["map.html"])
    write_json(files["template.json"], template_to_dict(template, fingerprint))
    return PlanRun(dataset, problem, plan, report, files, template_path, reused)
