"""Running the planner from the configuration and writing what it publishes.

The planning itself is `routes.plan_week`; this module only turns the configuration into its
arguments and writes the timetable, the report, the template and the map. The CLI and the
Flask commands both call `run_plan`, so there is one way to make a plan.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from routes.engine import SearchParams, StopFn
from routes.matrix import (
    CachedProvider,
    GeodesicProvider,
    MatrixProvider,
    OsrmProvider,
    SpeedProfile,
)
from routes.plan import Plan
from routes.planner import Previous, WeekPlan, plan_week, template_record
from routes.problem import PlanSettings, WeekProblem
from routes.publish import timetable_rows
from routes.report import uncovered_points
from taxvan.adjustments import Adjustments
from taxvan.clock import CHINA
from taxvan.dataset import Dataset
from taxvan.errors import TaxvanError
from taxvan.io.loaders import load_dataset
from taxvan.io.timetable_files import write_json, write_timetable_json
from taxvan.messages import N_, Message, from_json, message
from taxvan.timetable import TIMETABLE_COLUMNS, TimetableRow
from web.adapters.maps import (
    LANGUAGES,
    add_coverage_layer,
    load_outline,
    map_pages,
    schedule_map,
    tile_source,
    write_map,
)
from web.adapters.spreadsheets import csv_bytes
from web.config import Config, user_cache_dir

Say = Callable[[Message | str], None]


@dataclass(frozen=True)
class PlanRun:
    """A planned week (`week`, from `routes.plan_week`) and the files written for it."""

    week: WeekPlan
    files: dict[str, Path]

    @property
    def dataset(self) -> Dataset:
        return self.week.dataset

    @property
    def problem(self) -> WeekProblem:
        return self.week.problem

    @property
    def plan(self) -> Plan:
        return self.week.plan

    @property
    def report(self) -> dict[str, Any]:
        return self.week.report

    @property
    def template(self) -> Path | None:
        return self.week.template_path

    @property
    def template_reused(self) -> bool:
        return self.week.template_reused

    @property
    def map_html(self) -> str:
        """The week's map pages, one per language, as a draft or a week keeps them."""
        return map_pages(
            {lang: self.files[MAP_FILES[lang]].read_text(encoding="utf-8") for lang in LANGUAGES}
        )


MAP_FILES = {"zh": "map.html", "en": "map.en.html"}
"""The map's page in each language: Chinese first (the file a dispatcher opens), then English."""


def cache_root(config: Config) -> Path:
    """The planner's cache folder: the configured one (the app's instance folder by default),
    else the user's (the `taxvan` command)."""
    return Path(config.cache_dir or user_cache_dir()).expanduser()


def write_timetable_csv(path: Path, rows: Sequence[TimetableRow]) -> None:
    """`timetable.csv`: UTF-8 with a BOM (Excel shows Chinese), CRLF (RFC 4180), and no cell
    a spreadsheet would run (a stop named `-村口` is written `'-村口`)."""
    records = [r.as_record() for r in rows]
    path.write_bytes(
        csv_bytes(TIMETABLE_COLUMNS, [[r[c] for c in TIMETABLE_COLUMNS] for r in records])
    )


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
    return CachedProvider(inner, cache_root(config) / "matrices")


def run_plan(
    config: Config,
    week: str,
    out: Path,
    say: Say = print,
    progress: Callable[[float, int], None] | None = None,
    new_template: bool = False,
    adjustments: Adjustments | None = None,
    adjust: Callable[[Dataset], Dataset] | None = None,
    stop: StopFn | None = None,
    previous: Previous | None = None,
) -> PlanRun:
    """Load the data folder, plan `week` with `routes.plan_week` and write timetable CSV/JSON,
    report JSON, the template and the map into `out`.

    The weekly template is kept in the cache folder (`templates/`) under its fingerprint;
    `new_template` plans a fresh one even if a saved template fits. `adjustments` (pins,
    excluded stops and weekdays, visits a week, dwell) go to `plan_week` as they are and are
    recorded in `timetable.json`, so `taxvan diff` can give the reasons of changes. `adjust`
    changes the loaded data before planning (the console's choice of vans and working
    days); `stop` ends the search early (`routes.engine.SearchStopped`), before anything is
    written. A new template is planned near `previous` (a template's JSON data or
    `template.json`; the console passes the published week's), see `routes.plan_week`.
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
    say(message(N_("Loading the district's data ...")))
    dataset = load_dataset(data, config.file_limits)
    if adjust is not None:
        dataset = adjust(dataset)
    for warning in dataset.warnings:
        say(message(N_("  warning: %(warning)s"), warning=warning))
    say(
        message(
            N_("  %(stops)d stops, %(taxpayers)d taxpayers, %(vans)d van(s)"),
            stops=len(dataset.stops),
            taxpayers=len(dataset.taxpayers),
            vans=len(dataset.vans),
        )
    )
    planned = plan_week(
        dataset,
        week,
        make_provider(config),
        settings,
        params,
        cache_root(config) / "templates",
        new_template=new_template,
        say=say,
        progress=progress,
        adjustments=adjustments,
        stop=stop,
        previous=previous,
    )
    plan, report = planned.plan, planned.report
    out.mkdir(parents=True, exist_ok=True)
    rows = timetable_rows(plan, dataset)
    files = {
        "timetable.csv": out / "timetable.csv",
        "timetable.json": out / "timetable.json",
        "report.json": out / "report.json",
        "map.html": out / "map.html",
        "map.en.html": out / "map.en.html",
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
            "generated": dt.datetime.now(CHINA).isoformat(timespec="seconds"),
            "timezone": CHINA.key,
            "working_dates": report["working_dates"],
            "holidays": report["holidays"],
            "notes": [str(from_json(n)) for n in report["notes"]],
            "dropped": report["dropped"],
            "makeup_days": report["makeup_days"],
            "adjustments": planned.adjustments.as_dict(),
            "template_reused": planned.template_reused,
            "template_near": planned.near,
        },
    )
    write_json(files["report.json"], report)
    outline = load_outline(data / "outline.geojson")
    uncovered = uncovered_points(plan, planned.problem)
    for lang in LANGUAGES:
        week_map = schedule_map(
            plan, dataset, tiles, outline, lang=lang, review_number=config.map_review_number
        )
        add_coverage_layer(week_map, uncovered, lang=lang)
        write_map(week_map, files[MAP_FILES[lang]])
    template = template_record(planned.template, planned.fingerprint, planned.cover_limits)
    if planned.near:  # the draft's changes then tell what a visit made room for
        template["planned_near"] = planned.near
    write_json(files["template.json"], template)
    return PlanRun(planned, files)
