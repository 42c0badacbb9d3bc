"""What RQ workers run. A worker builds the app itself (`create_app()`, from the same
environment as the web servers: `DATABASE_URL`, `REDIS_URL`, `TAXVAN_*`), so `rq worker` works
as well as `flask --app app worker`."""

from __future__ import annotations

from flask import Flask, has_app_context

_app: Flask | None = None


def _worker_app() -> Flask:
    global _app
    if _app is None:
        from web import create_app

        _app = create_app()
    return _app


def run_plan_job(job_id: int) -> str:
    """Run plan job `job_id` (`web.operations.plan_runner.execute`); returns its final status."""
    from web.extensions import db
    from web.operations.plan_runner import execute

    if has_app_context():  # `flask --app app worker`: the work horse is a fork of the command
        # Connections opened before the fork belong to the parent; this process opens its own.
        db.engine.dispose(close=False)
        try:
            return execute(job_id)
        finally:
            db.session.remove()
    with _worker_app().app_context():
        try:
            return execute(job_id)
        finally:
            db.session.remove()
