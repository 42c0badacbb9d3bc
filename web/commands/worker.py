"""`flask --app app worker`: an RQ worker for console plans, with the app's settings."""

from __future__ import annotations

import click
from flask import Flask, current_app


def register(app: Flask) -> None:
    @app.cli.command("worker")
    @click.option("--burst", is_flag=True, help="run the queued plans, then stop")
    @click.option("--name", default=None, help="the worker's name (default: host and pid)")
    def worker_command(burst: bool, name: str | None) -> None:
        """Solve console plans from the RQ queue (REDIS_URL, TAXVAN_QUEUE) until stopped.

        Start one per core on as many machines as share the database and Redis."""
        from redis import Redis
        from rq import Queue, Worker

        cfg = current_app.config["TAXVAN"]
        if not cfg.redis_url:
            raise click.ClickException(
                "REDIS_URL is not set: without Redis the web process plans in a thread of its own"
            )
        connection = Redis.from_url(cfg.redis_url)
        queue = Queue(cfg.queue_name, connection=connection)
        worker = Worker([queue], connection=connection, name=name)
        click.echo(f"worker {worker.name} on queue {cfg.queue_name}")
        worker.work(burst=burst, with_scheduler=False)
