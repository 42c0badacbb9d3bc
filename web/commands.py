"""`flask --app app ...` commands: the same code as the `taxvan` command, not a copy."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import click
from flask import Flask, current_app
from flask_migrate import upgrade
from sqlalchemy import select

from taxvan.errors import TaxvanError
from taxvan.workdays import iso_week_label, next_iso_week, parse_iso_week
from web.cli import main as cli_main
from web.districts import district_by_code, import_district
from web.extensions import db
from web.models import District
from web.planning import run_plan
from web.store import china_now, latest_week, publish_run


def _fail(exc: Exception) -> None:
    raise click.ClickException(str(exc))


def init_db() -> None:
    """Create or upgrade the database schema to the newest migration."""
    upgrade(directory=str(Path(__file__).parent / "migrations"))


def choose_district(code: str | None) -> District | None:
    """The district a command acts on: `code`'s, else the only one; None when there is none
    yet. Several districts and no code is an error listing their codes."""
    if code:
        return district_by_code(code)
    districts = db.session.scalars(select(District).order_by(District.code)).all()
    if len(districts) > 1:
        raise TaxvanError(
            "this installation has several districts; choose one with --district CODE: "
            + ", ".join(d.code for d in districts)
        )
    return districts[0] if districts else None


def district_data_dir(district: District | None) -> str:
    """The district's data folder (where its import came from), else the configured one."""
    if district is not None and district.data_dir and Path(district.data_dir).is_dir():
        return district.data_dir
    return str(current_app.config["TAXVAN"].data_dir)


def publish_week(
    week: str,
    data_dir: str | None = None,
    time_limit: float | None = None,
    replace: bool = False,
    say=click.echo,
    new_template: bool = False,
    district_code: str | None = None,
) -> str:
    """Plan `week` from the district's data folder and publish it in the district; returns
    the week label. With no district yet, the data folder is imported as one first (an
    installation set up with `flask publish` alone keeps working)."""
    cfg = current_app.config["TAXVAN"]
    district = choose_district(district_code)
    if district is None:
        district = import_district(data_dir or cfg.data_dir).district
        say(f"created district {district.code} from {district.data_dir}")
    overrides = {
        k: v
        for k, v in {
            "data_dir": data_dir or district_data_dir(district),
            "time_limit_s": time_limit,
        }.items()
        if v is not None
    }
    cfg = dataclasses.replace(cfg, **overrides)
    label = parse_iso_week(week).label
    out = Path(current_app.instance_path) / "plans" / district.code / label
    run = run_plan(cfg, label, out, say=say, new_template=new_template)
    map_html = run.files["map.html"].read_text(encoding="utf-8")
    publish_run(run, map_html, district, replace=replace)
    return label


def _plan_args(args: list[str]) -> list[str]:
    """`flask plan` arguments with `--district CODE` turned into that district's `--data`;
    without either, the only district's folder (several districts: an error)."""
    out, code, i = [], None, 0
    while i < len(args):
        a = args[i]
        if a == "--district" and i + 1 < len(args):
            code, i = args[i + 1], i + 2
            continue
        if a.startswith("--district="):
            code, i = a.split("=", 1)[1], i + 1
            continue
        out.append(a)
        i += 1
    if not any(a == "--data" or a.startswith("--data=") for a in out):
        district = choose_district(code)
        if district is not None:
            out += ["--data", district_data_dir(district)]
    elif code is not None:
        raise TaxvanError("give --district or --data, not both")
    return out


def register(app: Flask) -> None:
    from web.dispatch.commands import register as register_console
    from web.notify.commands import register as register_notices

    register_console(app)
    register_notices(app)

    @app.cli.command(
        "plan", context_settings={"ignore_unknown_options": True, "allow_extra_args": True}
    )
    @click.pass_context
    def plan_command(ctx: click.Context) -> None:
        """Plan a week (same options as `taxvan plan`, and `--district CODE`: its data)."""
        try:
            args = _plan_args(list(ctx.args))
        except TaxvanError as exc:
            _fail(exc)
        ctx.exit(cli_main(["plan", *args]))

    @app.cli.command("init-db")
    def init_db_command() -> None:
        """Create or upgrade the database tables."""
        init_db()
        click.echo(f"database ready: {current_app.config['SQLALCHEMY_DATABASE_URI']}")

    @app.cli.command("load-demo")
    @click.option("--data", default=None, help="data folder (default: data/fangzi)")
    def load_demo_command(data: str | None) -> None:
        """Load a data folder as a district (as `district import`; code = the folder's name)."""
        try:
            result = import_district(data or current_app.config["TAXVAN"].data_dir)
        except TaxvanError as exc:
            _fail(exc)
        for line in result.lines():
            click.echo(line)

    @app.cli.command("publish")
    @click.option("--week", default=None, help="ISO week, e.g. 2026-W49 (default: next week)")
    @click.option("--data", default=None, help="data folder (default: the district's)")
    @click.option(
        "--district",
        "district_code",
        default=None,
        help="district code (default: the only district; several: required)",
    )
    @click.option("--time-limit", type=float, default=None, help="solver seconds")
    @click.option("--replace", is_flag=True, help="replace a published week without bookings")
    @click.option(
        "--new-template",
        is_flag=True,
        help="plan a new weekly template even if the saved one still fits the data",
    )
    def publish_command(
        week: str | None,
        data: str | None,
        district_code: str | None,
        time_limit: float | None,
        replace: bool,
        new_template: bool,
    ) -> None:
        """Plan a week from the weekly template and publish it on the district's public site."""
        try:
            label = publish_week(
                week or next_iso_week(china_now().date()),
                data,
                time_limit,
                replace,
                new_template=new_template,
                district_code=district_code,
            )
        except TaxvanError as exc:
            _fail(exc)
        click.echo(f"published {label}")

    @app.cli.command("setup-demo")
    @click.option("--time-limit", type=float, default=None, help="solver seconds")
    @click.option("--code", default=None, help="district code (default: the folder's name)")
    @click.option("--name", default=None, help="district name (default: kept, else the code)")
    @click.option("--name-en", default=None, help="English name (default: kept, else the code)")
    def setup_demo_command(
        time_limit: float | None, code: str | None, name: str | None, name_en: str | None
    ) -> None:
        """Create the database, import the data folder (TAXVAN_DATA) as a district and publish
        this and next week in it if needed."""
        init_db()
        try:
            imported = import_district(
                current_app.config["TAXVAN"].data_dir, code=code, name=name, name_en=name_en
            )
            click.echo(imported.lines()[0])
            district = imported.district
            today = china_now().date()
            for day in (today, today + dt.timedelta(days=7)):
                label = iso_week_label(day)
                existing = latest_week(day, district)
                if existing is not None and existing.week == label:
                    click.echo(f"{label} is already published")
                    continue
                publish_week(label, time_limit=time_limit, district_code=district.code)
                click.echo(f"published {label}")
        except TaxvanError as exc:
            _fail(exc)
