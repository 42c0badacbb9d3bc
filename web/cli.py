"""The `taxvan` command: plan a week from a data folder, or check the data files.

Errors are one clear line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

from routes.diff import context_from_json, diff_plan, diff_rows, format_diff
from routes.report import format_report
from taxvan.adjustments import AdjustmentError
from taxvan.errors import DataFileError, DataFolderError, TaxvanError
from taxvan.io.adjustments import load_adjustments
from taxvan.io.loaders import load_dataset
from taxvan.io.timetable_files import read_timetable_csv
from taxvan.workdays import CalendarDay, next_iso_week, parse_iso_week
from web.adapters.planner import run_plan
from web.clock import china_now
from web.config import PLAN, SEARCH, Config


def _err(msg: str) -> None:
    print(f"taxvan: error: {msg}", file=sys.stderr)


class Progress:
    """Prints the solver's improving objective, at most every half second, plus the last."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.last_print = -1.0
        self.best: int | None = None

    def __call__(self, elapsed: float, objective: int) -> None:
        self.best = objective
        now = time.monotonic()
        if not self.quiet and now - self.last_print >= 0.5:
            self.last_print = now
            print(f"  {elapsed:6.1f} s  objective {objective:>14,}", flush=True)


def _plan(args: argparse.Namespace) -> int:
    overrides = {
        k: v
        for k, v in {
            "data_dir": args.data,
            "time_limit_s": args.time_limit,
            "matrix": args.matrix,
            "osrm_url": args.osrm_url,
            "remote_threshold_min": args.remote_threshold,
            "service_share": args.service_share,
            "stop_choice": args.stop_choice,
            "tiles": args.tiles,
            "cache_dir": args.cache_dir,
            "workers": args.workers,
        }.items()
        if v is not None
    }
    config = dataclasses.replace(Config(), **overrides)
    week = parse_iso_week(args.week or next_iso_week(china_now().date())).label
    out = Path(args.out or f"out/{week}")
    say = (lambda _m: None) if args.quiet else print
    progress = Progress(args.quiet)
    try:
        adjustments = load_adjustments(Path(args.adjust)) if args.adjust else None
        published = read_timetable_csv(Path(args.against)) if args.against else None
    except DataFileError as exc:
        print(exc.report(), file=sys.stderr)
        return 1
    run = run_plan(
        config,
        week,
        out,
        say,
        progress,
        new_template=args.new_template,
        adjustments=adjustments,
        previous=Path(args.previous) if args.previous else None,
    )
    if progress.best is not None and not args.quiet:
        print(
            f"  done: objective {run.plan.search.objective:,} after "
            f"{run.plan.search.wall_time_s:.1f} s"
        )
    print()
    print(format_report(run.report))
    print()
    for name, path in run.files.items():
        print(
            f"wrote {path}"
            + ("  (open in a browser; works offline)" if name.startswith("map") else "")
        )
    if published is not None:
        print()
        print(format_diff(diff_plan(run.week, published)))
    return 0


def _diff(args: argparse.Namespace) -> int:
    new = Path(args.new)
    meta_path = new / "timetable.json"
    if not meta_path.exists():
        raise TaxvanError(f"{meta_path} not found: --new is the output folder of 'taxvan plan'")
    try:
        context = context_from_json(json.loads(meta_path.read_text("utf-8")))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise TaxvanError(f"{meta_path} is not a timetable.json of 'taxvan plan' ({exc})") from None
    try:
        old = read_timetable_csv(Path(args.old))
        diff = diff_rows(old, read_timetable_csv(new / "timetable.csv"), context)
    except DataFileError as exc:
        print(exc.report(), file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(diff.as_dict(), ensure_ascii=False, indent=2))
    else:
        print(format_diff(diff))
    return 0


def _check(args: argparse.Namespace) -> int:
    folder = args.data or Config().data_dir
    try:
        ds = load_dataset(folder, Config().file_limits)
    except DataFileError as exc:
        print(exc.report(), file=sys.stderr)
        files = len(exc.errors) if isinstance(exc, DataFolderError) else 1
        print(f"{len(exc.problems)} problem(s) in {files} file(s)", file=sys.stderr)
        return 1
    for warning in ds.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    days = sum(isinstance(c, CalendarDay) for c in ds.calendar)
    years = len(ds.calendar) - days
    print(
        f"{folder}: OK — {len(ds.streets)} streets, {len(ds.stops)} stops, "
        f"{len(ds.taxpayers)} taxpayers, {len(ds.services)} services, {len(ds.vans)} van(s)"
        + (f", {days} calendar day(s)" if days else "")
        + (f", the holiday schedule of {years} year(s)" if years else "")
        + (f"; {len(ds.warnings)} warning(s) above" if ds.warnings else "")
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="taxvan",
        description="Plan fixed-time, fixed-point weekly routes for the mobile tax-service van.",
    )
    sub = p.add_subparsers(dest="command", required=True)
    plan = sub.add_parser(
        "plan",
        help="plan a week and write timetable, open data, report and map",
        description="Plan one ISO week and write timetable.csv, timetable.json, report.json "
        "and map.html into the output folder. The times come from the weekly template, "
        "planned once and reused while the data and settings stay the same, so a stop keeps "
        "its times from week to week. Defaults come from TAXVAN_* environment variables.",
    )
    plan.add_argument("--data", help="data folder (default: data/fangzi)")
    plan.add_argument("--week", help="ISO week such as 2026-W49 (default: next week, China time)")
    plan.add_argument("--out", help="output folder (default: out/<week>)")
    plan.add_argument(
        "--time-limit",
        type=float,
        help=f"solver time limit in seconds (default {SEARCH.time_limit_s:g})",
    )
    plan.add_argument(
        "--remote-threshold",
        type=float,
        help="round-trip minutes to the hall from which a taxpayer is remote "
        f"({PLAN.remote_threshold_min:g})",
    )
    plan.add_argument(
        "--service-share",
        type=float,
        help=f"share of the van's working time asked for service ({PLAN.service_share:g})",
    )
    plan.add_argument(
        "--stop-choice",
        choices=["covering", "catchment"],
        help="which stops get visits: chosen for coverage (default) or each by its catchment",
    )
    plan.add_argument(
        "--workers", type=int, help="searches side by side, one per core (default: up to 2)"
    )
    plan.add_argument("--matrix", choices=["geodesic", "osrm"], help="travel-time provider")
    plan.add_argument("--osrm-url", help="base URL of an OSRM-compatible table service")
    plan.add_argument(
        "--tiles", help="base map: tianditu, osm, none (default tianditu with a TAXVAN_TILE_KEY)"
    )
    plan.add_argument(
        "--cache-dir", help="where travel-time matrices and weekly templates are kept"
    )
    plan.add_argument(
        "--new-template",
        "--fresh",
        dest="new_template",
        action="store_true",
        help="plan a new weekly template from scratch, even if the saved one still fits the "
        "data, and not near any previous template",
    )
    plan.add_argument(
        "--previous",
        metavar="TEMPLATE_JSON",
        help="when the adjustments ask for a new template, plan it near this one (the "
        "template.json of the published week's output folder), so only what the change needs "
        "moves; default: the district's template without adjustments, if kept",
    )
    plan.add_argument(
        "--adjust",
        metavar="FILE",
        help="the dispatcher's adjustments (CSV, Excel or JSON; see data/README.md): pin a stop "
        "to a weekday and time, exclude a stop or a weekday, visits a week, dwell",
    )
    plan.add_argument(
        "--against",
        metavar="TIMETABLE_CSV",
        help="print every visit the new plan moves, adds or removes against this published "
        "timetable.csv, with the reason",
    )
    plan.add_argument("-q", "--quiet", action="store_true", help="print only the report")
    plan.set_defaults(func=_plan)
    diff = sub.add_parser(
        "diff",
        help="compare a planned week with a published timetable",
        description="Every visit of the new plan that moved (other day or time), appeared or "
        "disappeared against the published timetable.csv, with the reason when known "
        "(pinned, stop or day excluded, holiday, dropped by the planner, re-planned template, "
        "...); unchanged visits are counted.",
    )
    diff.add_argument("--old", required=True, help="the published timetable.csv")
    diff.add_argument(
        "--new", required=True, help="the output folder of 'taxvan plan' (timetable.csv and .json)"
    )
    diff.add_argument("--json", action="store_true", help="print the diff as JSON")
    diff.set_defaults(func=_diff)
    check = sub.add_parser("check-data", help="validate a data folder and list every problem")
    check.add_argument("--data", help="data folder (default: data/fangzi)")
    check.set_defaults(func=_check)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except DataFileError as exc:
        _err(str(exc))
        if len(exc.problems) > 1:
            print("  run 'taxvan check-data' to list every problem", file=sys.stderr)
        return 1
    except AdjustmentError as exc:
        _err(str(exc))
        if len(exc.problems) > 1:
            print(exc.report(), file=sys.stderr)
        return 1
    except TaxvanError as exc:
        _err(str(exc))
        return 1
    except ValueError as exc:
        _err(str(exc))
        return 2
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except OSError as exc:
        _err(f"{exc.filename or ''}: {exc.strerror or exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
