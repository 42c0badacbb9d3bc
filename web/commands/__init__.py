"""`flask --app app ...` commands: the same code as the `taxvan` command, not a copy."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import NoReturn

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade

from taxvan.clock import hhmm
from taxvan.errors import TaxvanError
from taxvan.workdays import iso_week_label, next_iso_week
from web.cli import main as cli_main
from web.clock import china_now
from web.db import audit
from web.db.models import District
from web.db.store import all_districts, latest_week
from web.operations.districts import district_by_code, import_district
from web.operations.publish_notices import export_notices
from web.operations.publishing import (
    CANCEL,
    MOVE,
    NONE,
    Affected,
    Decision,
    Decisions,
    Outcome,
    WeekDraft,
    plan_draft,
    preview_version,
    publish_version,
)


def _fail(exc: Exception) -> NoReturn:
    raise click.ClickException(str(exc))


def init_db() -> None:
    """Create or upgrade the database schema to the newest migration."""
    upgrade(directory=str(Path(__file__).parent.parent / "migrations"))


def choose_district(code: str | None) -> District | None:
    """The district a command acts on: `code`'s, else the only one; None when there is none
    yet. Several districts and no code is an error listing their codes."""
    if code:
        return district_by_code(code)
    districts = all_districts()
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
    say=click.echo,
    new_template: bool = False,
    decisions: Decisions = NONE,
    district_code: str | None = None,
) -> Outcome:
    """Plan `week` from the district's data folder and publish it as the district's new
    current version of the week (`publish_version`). With no district yet, the data folder is
    imported as one first (an installation set up with `flask publish` alone keeps working)."""
    district = choose_district(district_code)
    if district is None:
        district = import_district(data_dir or current_app.config["TAXVAN"].data_dir).district
        say(f"created district {district.code} from {district.data_dir}")
    draft = plan_draft(
        week, district, data_dir or district_data_dir(district), time_limit, say, new_template
    )
    return publish_version(district, draft, decisions)


def _say_affected(affected: list[Affected]) -> None:
    for a in affected:
        new = a.new_time or "no visit of the stop has room: cancel only"
        click.echo(
            f"  {a.code}  {a.name}  {a.phone}  {a.service_code}  {a.stop_name}  "
            f"{a.old_time} -> {new}"
        )


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
    from web.commands.console import register as register_console
    from web.commands.notices import register as register_notices
    from web.commands.schedule import register as register_schedule
    from web.commands.worker import register as register_worker

    register_console(app)
    register_notices(app)
    register_schedule(app)
    register_worker(app)
    for command in (
        plan_command,
        init_db_command,
        load_demo_command,
        publish_command,
        setup_demo_command,
    ):
        app.cli.add_command(command)


@click.command("plan", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@with_appcontext
@click.pass_context
def plan_command(ctx: click.Context) -> None:
    """Plan a week (same options as `taxvan plan`, and `--district CODE`: its data)."""
    try:
        args = _plan_args(list(ctx.args))
    except TaxvanError as exc:
        _fail(exc)
    ctx.exit(cli_main(["plan", *args]))


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Create or upgrade the database tables."""
    init_db()
    click.echo(f"database ready: {current_app.config['SQLALCHEMY_DATABASE_URI']}")


@click.command("load-demo")
@click.option("--data", default=None, help="data folder (default: data/fangzi)")
@with_appcontext
def load_demo_command(data: str | None) -> None:
    """Load a data folder as a district (as `district import`; code = the folder's name)."""
    try:
        result = import_district(data or current_app.config["TAXVAN"].data_dir)
    except TaxvanError as exc:
        _fail(exc)
    for line in result.lines():
        click.echo(line)


@click.command("publish")
@click.option("--week", default=None, help="ISO week, e.g. 2026-W49 (default: next week)")
@click.option("--data", default=None, help="data folder (default: the district's)")
@click.option(
    "--district",
    "district_code",
    default=None,
    help="district code (default: the only district; several: required)",
)
@click.option("--time-limit", type=float, default=None, help="solver seconds")
@click.option(
    "--move-affected",
    is_flag=True,
    help="move every booking whose visit moves or goes to the nearest visit of its stop",
)
@click.option(
    "--cancel-affected",
    "cancel_reason",
    default=None,
    metavar="REASON",
    help="cancel every booking whose visit moves or goes, telling REASON",
)
@click.option(
    "--notices",
    type=click.Path(dir_okay=False),
    default=None,
    help="write the taxpayers to tell to this .csv or .xlsx file",
)
@click.option(
    "--new-template",
    is_flag=True,
    help="plan a new weekly template even if the saved one still fits the data",
)
@click.option(
    "--call-off-door",
    "door_reason",
    default=None,
    metavar="REASON",
    help="call off the accepted door-to-door visits the new version clashes with, "
    "telling the firms REASON",
)
@with_appcontext
def publish_command(
    week: str | None,
    data: str | None,
    district_code: str | None,
    time_limit: float | None,
    move_affected: bool,
    cancel_reason: str | None,
    notices: str | None,
    new_template: bool,
    door_reason: str | None,
) -> None:
    """Plan a week from the weekly template and publish it as the week's new version.

    Bookings on visits the new version keeps are carried over. Bookings on visits it moves
    or removes are listed, and publishing is refused until --move-affected or
    --cancel-affected REASON decides for them. Call-offs of the current version carry
    over. Accepted door-to-door visits the new version clashes with refuse the publish
    until --call-off-door REASON calls them off."""
    decisions = _publish_decisions(move_affected, cancel_reason, notices)
    try:
        label = week or next_iso_week(china_now().date())
        district = choose_district(district_code)
        if district is None:
            district = import_district(data or current_app.config["TAXVAN"].data_dir).district
            click.echo(f"created district {district.code} from {district.data_dir}")
        draft = plan_draft(
            label,
            district,
            data or district_data_dir(district),
            time_limit,
            click.echo,
            new_template,
        )
        if decisions is NONE:
            _refuse_if_affected(district, draft)
        if door_reason and door_reason.strip():
            decisions = dataclasses.replace(decisions, call_off_door=door_reason.strip())
        outcome = publish_version(district, draft, decisions, audit.command_line_actor())
    except TaxvanError as exc:
        _fail(exc)
    click.echo(f"published {outcome.summary()}")
    for n in outcome.notices:
        new = (
            f"{n.new_visit.date.isoformat()} {hhmm(n.booking.start)}"
            if n.new_visit is not None
            else f"cancelled: {n.reason}"
        )
        click.echo(f"  tell {n.booking.phone} {n.booking.code}: {new}")
    if notices and outcome.published_id is not None:
        _write_notices(outcome, district, notices)


def _publish_decisions(
    move_affected: bool, cancel_reason: str | None, notices: str | None
) -> Decisions:
    """What `publish` does with the bookings a new version affects, from its options (a
    usage error for options that do not go together)."""
    if move_affected and cancel_reason is not None:
        raise click.UsageError("give --move-affected or --cancel-affected, not both")
    if cancel_reason is not None and not cancel_reason.strip():
        raise click.UsageError("--cancel-affected needs the reason the taxpayers are told")
    if notices and Path(notices).suffix.lower() not in (".csv", ".xlsx"):
        raise click.UsageError("--notices must name a .csv or .xlsx file")
    if move_affected:
        return Decisions(others=Decision(MOVE))
    if cancel_reason is not None:
        return Decisions(others=Decision(CANCEL, cancel_reason.strip()))
    return NONE


def _refuse_if_affected(district: District, draft: WeekDraft) -> None:
    """With no decision given, list the bookings the draft would move or cancel, if any, and
    refuse to publish."""
    preview = preview_version(district, draft)
    if preview.affected:
        click.echo(
            f"{len(preview.affected)} bookings are on visits this version moves "
            "or removes (code, name, phone, service, stop, old -> proposed time):"
        )
        _say_affected(preview.affected)
        raise TaxvanError("not published: decide with --move-affected or --cancel-affected REASON")


def _write_notices(outcome: Outcome, district: District, notices: str) -> None:
    """The taxpayers to tell about the published version, to the .csv or .xlsx `notices`."""
    assert outcome.published_id is not None
    body, count = export_notices(
        outcome.published_id,
        district,
        "xlsx" if notices.lower().endswith(".xlsx") else "csv",
        audit.command_line_actor(),
        file=str(Path(notices).resolve()),
    )
    Path(notices).write_bytes(body)
    click.echo(f"wrote {count} taxpayers to tell to {notices}")


@click.command("setup-demo")
@click.option("--time-limit", type=float, default=None, help="solver seconds")
@click.option("--code", default=None, help="district code (default: the folder's name)")
@click.option("--name", default=None, help="district name (default: kept, else the code)")
@click.option("--name-en", default=None, help="English name (default: kept, else the code)")
@with_appcontext
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
            outcome = publish_week(label, time_limit=time_limit, district_code=district.code)
            click.echo(f"published {outcome.summary()}")
    except TaxvanError as exc:
        _fail(exc)
