"""`flask --app app ...` commands: the same code as the `taxvan` command, not a copy."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import click
from flask import Flask, current_app
from flask_migrate import upgrade

from taxvan.errors import TaxvanError
from taxvan.io.loaders import load_dataset
from taxvan.workdays import iso_week_label, next_iso_week, parse_iso_week
from web.cli import main as cli_main
from web.planning import run_plan
from web.store import china_now, latest_week, load_dataset_rows, publish_run


def _fail(exc: Exception) -> None:
    raise click.ClickException(str(exc))


def init_db() -> None:
    """Create or upgrade the database schema to the newest migration."""
    upgrade(directory=str(Path(__file__).parent / "migrations"))


def publish_week(
    week: str,
    data_dir: str | None = None,
    time_limit: float | None = None,
    replace: bool = False,
    say=click.echo,
    new_template: bool = False,
) -> str:
    """Plan `week` from the data folder and publish it; returns the week label."""
    cfg = current_app.config["TAXVAN"]
    overrides = {
        k: v for k, v in {"data_dir": data_dir, "time_limit_s": time_limit}.items() if v is not None
    }
    cfg = dataclasses.replace(cfg, **overrides)
    label = parse_iso_week(week).label
    out = Path(current_app.instance_path) / "plans" / label
    run = run_plan(cfg, label, out, say=say, new_template=new_template)
    map_html = run.files["map.html"].read_text(encoding="utf-8")
    publish_run(run, map_html, replace=replace)
    return label


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
        """Plan a week (same options as `taxvan plan`)."""
        ctx.exit(cli_main(["plan", *ctx.args]))

    @app.cli.command("init-db")
    def init_db_command() -> None:
        """Create or upgrade the database tables."""
        init_db()
        click.echo(f"database ready: {current_app.config['SQLALCHEMY_DATABASE_URI']}")

    @app.cli.command("load-demo")
    @click.option("--data", default=None, help="data folder (default: data/fangzi)")
    def load_demo_command(data: str | None) -> None:
        """Load streets, stops and services of a data folder into the database."""
        try:
            counts = load_dataset_rows(load_dataset(data or current_app.config["TAXVAN"].data_dir))
        except TaxvanError as exc:
            _fail(exc)
        click.echo("loaded " + ", ".join(f"{n} {k}" for k, n in counts.items()))

    @app.cli.command("publish")
    @click.option("--week", default=None, help="ISO week, e.g. 2026-W49 (default: next week)")
    @click.option("--data", default=None, help="data folder (default: data/fangzi)")
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
        time_limit: float | None,
        replace: bool,
        new_template: bool,
    ) -> None:
        """Plan a week from the weekly template and publish it on the public site."""
        try:
            label = publish_week(
                week or next_iso_week(china_now().date()),
                data,
                time_limit,
                replace,
                new_template=new_template,
            )
        except TaxvanError as exc:
            _fail(exc)
        click.echo(f"published {label}")

    @app.cli.command("setup-demo")
    @click.option("--time-limit", type=float, default=None, help="solver seconds")
    def setup_demo_command(time_limit: float | None) -> None:
        """Create the database, load the demo data and publish this and next week if needed."""
        init_db()
        try:
            from web.districts import import_district

            imported = import_district(current_app.config["TAXVAN"].data_dir)
            click.echo(imported.lines()[0])
            today = china_now().date()
            for day in (today, today + dt.timedelta(days=7)):
                label = iso_week_label(day)
                existing = latest_week(day)
                if existing is not None and existing.week == label:
                    click.echo(f"{label} is already published")
                    continue
                publish_week(label, time_limit=time_limit)
                click.echo(f"published {label}")
        except TaxvanError as exc:
            _fail(exc)
