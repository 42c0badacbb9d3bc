"""`flask --app app district ...` and `flask --app app user ...`: the console from a terminal."""

from __future__ import annotations

import sys
from typing import NoReturn

import click
from flask import Flask
from flask.cli import AppGroup

from taxvan.errors import DataFileError, TaxvanError
from web.db import audit
from web.operations.accounts import create_account, disable_account
from web.operations.districts import import_district
from web.operations.users import ROLES, all_users, reset_password


def _fail(exc: Exception) -> NoReturn:
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
        user = create_account(name, password, role, district_code)
    except TaxvanError as exc:
        _fail(exc)
    where = f" of district {user.district.code}" if user.district else ""
    click.echo(f"created {role} {user.name}{where}")


@user_group.command("list")
def list_command() -> None:
    """Every user: name, role, district, active or disabled, last sign-in."""
    users = all_users()
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
        user = disable_account(name)
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
