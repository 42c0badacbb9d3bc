"""`flask --app app send-notices` and `send-reminders`: safe to run from cron."""

from __future__ import annotations

import datetime as dt

import click
from flask import Flask

from web.clock import china_now
from web.operations.notices import DeliveryReport, deliver_due, write_reminders


def _say(report: DeliveryReport) -> None:
    click.echo(report.line())
    for error in report.errors:
        click.echo(error, err=True)


def register(app: Flask) -> None:
    @app.cli.command("send-notices")
    @click.option("--limit", type=click.IntRange(min=1), default=None, help="at most this many")
    def send_notices_command(limit: int | None) -> None:
        """Send the notices that are due through the SMS gateway (TAXVAN_SMS_URL).

        Without a gateway they stay in the outbox. Two runs at once never send one notice
        twice; a failed send is retried later with a growing wait."""
        _say(deliver_due(limit=limit))

    @app.cli.command("send-reminders")
    @click.option(
        "--date",
        "day",
        type=click.DateTime(formats=["%Y-%m-%d"]),
        default=None,
        help="the visits' date (default: tomorrow, China time)",
    )
    def send_reminders_command(day: dt.datetime | None) -> None:
        """Write tomorrow's reminders (once per booking) and send what is due."""
        date = day.date() if day else china_now().date() + dt.timedelta(days=1)
        written = write_reminders(date)
        click.echo(f"{written} reminders written for {date.isoformat()}")
        _say(deliver_due())
