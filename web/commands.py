"""`flask --app app ...` commands: the same code as the `taxvan` command, not a copy."""

from __future__ import annotations

import click
from flask import Flask

from web.cli import main as cli_main


def register(app: Flask) -> None:
    @app.cli.command(
        "plan", context_settings={"ignore_unknown_options": True, "allow_extra_args": True}
    )
    @click.pass_context
    def plan_command(ctx: click.Context) -> None:
        """Plan a week (same options as `taxvan plan`)."""
        ctx.exit(cli_main(["plan", *ctx.args]))
