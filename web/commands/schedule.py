"""`flask --app app check-schedule [--district CODE]`: the schedule's rules checked for cron."""

from __future__ import annotations

import click
from flask import Flask

from taxvan.errors import TaxvanError
from web.operations.districts import district_by_code
from web.operations.invariants import check


def register(app: Flask) -> None:
    @app.cli.command("check-schedule")
    @click.option("--district", "code", default=None, help="check this district only")
    def check_schedule_command(code: str | None) -> None:
        """Check that the schedule keeps its rules (I1-I8: no active booking on a called-off
        or replaced visit, no overlapping visits of a van, call-offs carried, one notice per
        change, rows in their district, no crew record on a called-off visit). Prints each
        violation; exits 1 if there is one."""
        try:
            district = district_by_code(code) if code else None
        except TaxvanError as exc:
            raise click.ClickException(str(exc)) from exc
        problems = check(district)
        for p in problems:
            click.echo(str(p))
        if problems:
            raise click.exceptions.Exit(1)
        click.echo("the schedule keeps every rule (I1-I8)")
