"""`flask --app app district ...` and `flask --app app user ...`: the console from a terminal."""

from __future__ import annotations

import sys
from typing import NoReturn

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from taxvan.errors import DataFileError, TaxvanError
from web.db import audit
from web.db.models import User
from web.extensions import db
from web.operations.districts import district_by_code, import_district
from web.operations.users import ROLES, create_user, disable_user, reset_password


def _fail(exc: Exception) -> NoReturn:
    db.session.rollback()
    message = exc.report() if isinstance(exc, DataFileError) else str(exc)
    raise click.ClickException(message + ("\nnothing was saved" if message else ""))


district_group = AppGroup("district", help="Districts: import a data folder.")
user_group = AppGroup("user", help="Console users: create, list, disable, set a password.")


@district_group.command("import")
@click.option("--data", "data", required=True, help="the district's data folder")
@click.option("--code", default=None, help="district code (default: the folder's name)")
@click.option("--name", default=None, help="district name (default: kept, else the code)")
@click.option("--name-en", default=None, help="English name (default: kept, else the code)")
def import_command(data: str, code: str | None, name: str | None, name_en: str | None) -> None:
    """Create or update a district from its data folder; print what changed."""
    try:
        result = import_district(data, code=code, name=name, name_en=name_en)
    except TaxvanError as exc:
        _fail(exc)
    for line in result.lines():
        click.echo(line)


@user_group.command("create")
@click.argument("name")
@click.option("--district", "district_code", default=None, help="the user's district code")
@click.option("--role", type=click.Choice(ROLES), default="dispatcher", show_default=True)
@click.option(
    "--password-stdin", is_flag=True, help="read the password from standard input (scripts)"
)
def create_command(name: str, district_code: str | None, role: str, password_stdin: bool) -> None:
    """Create a user; the password is asked twice (or read from standard input)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        district = district_by_code(district_code) if district_code else None
        user = create_user(name, password, role, district)
        db.session.flush()
        audit.record(
            "user_create",
            actor=audit.command_line_actor(),
            district=district,
            details={"user": user.name, "role": role},
        )
        db.session.commit()
    except TaxvanError as exc:
        _fail(exc)
    where = f" of district {district.code}" if district else ""
    click.echo(f"created {role} {user.name}{where}")


@user_group.command("list")
def list_command() -> None:
    """Every user: name, role, district, active or disabled, last sign-in."""
    users = db.session.scalars(select(User).order_by(User.name)).all()
    if not users:
        click.echo("no users yet (flask --app app user create NAME --district CODE)")
    for u in users:
        last = u.last_sign_in_at.strftime("%Y-%m-%d %H:%M") if u.last_sign_in_at else "never"
        click.echo(
            f"{u.name}\t{u.role}\t{u.district.code if u.district else '-'}\t"
            f"{'active' if u.active else 'disabled'}\tlast sign-in {last}"
        )


@user_group.command("disable")
@click.argument("name")
def disable_command(name: str) -> None:
    """Disable a user: they cannot sign in, and their open sessions end."""
    try:
        user = disable_user(name)
        audit.record(
            "user_disable",
            actor=audit.command_line_actor(),
            district=user.district,
            details={"user": user.name},
        )
        db.session.commit()
    except TaxvanError as exc:
        _fail(exc)
    click.echo(f"disabled {user.name}")


@user_group.command("set-password")
@click.argument("name")
@click.option(
    "--password-stdin", is_flag=True, help="read the password from standard input (scripts)"
)
def set_password_command(name: str, password_stdin: bool) -> None:
    """Give a user a new password (asked twice); every session of theirs ends."""
    if password_stdin:
        password = repeat = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
        repeat = password
    try:
        user = reset_password(name, password, repeat, audit.command_line_actor())
    except TaxvanError as exc:
        _fail(exc)
    click.echo(f"new password set for {user.name}; their sessions have ended")


def register(app: Flask) -> None:
    app.cli.add_command(district_group)
    app.cli.add_command(user_group)
