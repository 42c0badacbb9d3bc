"""Running one plan job: the planner, a heartbeat, progress, cancelling, and the draft.

`execute(job_id)` runs in an app context, in an RQ work horse or a thread of the web process.
Beside the search a watcher thread, about once a second, writes the heartbeat, the improving
objective and the planner's lines to the job's row, and reads the row's cancel flag into an
event the search checks at every step (`routes.engine` gives OR-Tools a custom limit), so a
cancel ends the search within a second or two.

The draft and the job's success are one transaction: a worker killed at any moment leaves
either a complete draft or none (the job then shows as failed: `web.operations.plan_jobs.reap`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import socket
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from flask_babel import gettext as _
from sqlalchemy import select

from routes.engine import SearchStopped
from taxvan.adjustments import AdjustmentError, Adjustments, PinError
from taxvan.dataset import Dataset
from taxvan.errors import TaxvanError
from taxvan.learning import VisitCounts
from taxvan.messages import Message, as_json
from taxvan.workdays import parse_iso_week
from web.adapters.planner import run_plan
from web.clock import wall_now
from web.config import Config
from web.db import audit
from web.db.models import Draft, PlanJob, User
from web.db.queries import recorded_demand
from web.db.store import current_version
from web.extensions import db
from web.operations.drafts import visit_dicts
from web.operations.unit import Unit, transaction

BEAT_S = 1.0
"""How often the watcher writes the heartbeat and progress (the throttle) and reads cancel."""
MAX_POINTS = 300
"""Progress points kept on the row; longer runs are thinned, keeping the first and latest."""
MAX_LINES = 200


def thin(points: list[list[float]], keep: int = MAX_POINTS) -> list[list[float]]:
    """At most `keep` points, evenly spread, always with the first and the latest."""
    if len(points) <= keep:
        return list(points)
    step = (len(points) - 1) / (keep - 1)
    return [points[round(i * step)] for i in range(keep)]


def adjust_dataset(options: dict[str, Any]) -> Callable[[Dataset], Dataset]:
    """The dispatcher's choices applied to the district's data: the first `vans` vans, each
    working on `weekdays` (Monday = 0) in an ordinary week."""

    def adjust(data: Dataset) -> Dataset:
        vans = data.vans[: int(options.get("vans") or len(data.vans))]
        weekdays = options.get("weekdays")
        if weekdays:
            days = frozenset(int(d) for d in weekdays)
            vans = tuple(dataclasses.replace(v, weekdays=days) for v in vans)
        return dataclasses.replace(data, vans=tuple(vans))

    return adjust


def plan_inputs(job: PlanJob, options: dict[str, Any]) -> dict[str, Any]:
    """What the job plans from, as keyword arguments of `web.adapters.planner.run_plan`: the one
    place that chooses (the dispatcher's vans and days, a fresh template or not, the
    adjustments the job was started with). Raises `AdjustmentError` for adjustments that
    cannot be read."""
    return {
        "new_template": bool(options.get("new_template")),
        "adjust": adjust_dataset(options),
        "adjustments": Adjustments.from_dict(options.get("adjustments") or {}),
        "previous": previous_template(job),
    }


def learning_records(job: PlanJob, cfg: Config) -> list[VisitCounts]:
    """What the crew recorded in the district in the `learning_weeks` weeks before the job's
    week, which the plan learns from (none when learning is off)."""
    if not cfg.learning or cfg.learning_weeks <= 0:
        return []
    year, week = parse_iso_week(job.week)
    monday = dt.date.fromisocalendar(year, week, 1)
    return recorded_demand(job.district, monday - dt.timedelta(weeks=cfg.learning_weeks), monday)


def previous_template(job: PlanJob) -> dict[str, Any] | None:
    """The weekly template of the district's last published draft: a new template is planned
    near it (`routes.plan_week(previous=...)`), so a change moves only what it must."""
    template = db.session.scalar(
        select(Draft.template)
        .where(Draft.district_id == job.district_id, Draft.status == "published")
        .order_by(Draft.id.desc())
        .limit(1)
    )
    return template or None


class _Watcher(threading.Thread):
    """Beside the search: heartbeat, progress and the planner's lines out, cancel flag in."""

    def __init__(self, app: Flask, job_id: int) -> None:
        super().__init__(name=f"plan-job-{job_id}-watcher", daemon=True)
        self.app = app
        self.job_id = job_id
        self.points: list[list[float]] = []
        self.lines: list[Any] = []
        """What the planner said, as stored messages (`taxvan.messages.as_json`)."""
        self.cancel = threading.Event()
        self.done = threading.Event()
        self.written = (0, 0)

    def progress(self, elapsed: float, objective: int) -> None:
        self.points.append([round(elapsed, 2), int(objective)])

    def say(self, line: Message | str) -> None:
        self.lines.append(as_json(line))

    def run(self) -> None:
        with self.app.app_context():
            try:
                while not self.done.wait(BEAT_S):
                    self.beat()
            finally:
                db.session.remove()

    def beat(self) -> None:
        try:
            transaction(self._beat)
        except Exception:  # a missed beat is not the end of the job; the next one tries again
            current_app.logger.exception("plan job %s: heartbeat failed", self.job_id)

    def _beat(self, _u: Unit) -> None:
        job = db.session.get(PlanJob, self.job_id, populate_existing=True)
        if job is None:
            return
        job.heartbeat_at = wall_now()
        seen = (len(self.points), len(self.lines))
        if seen != self.written:
            job.progress = thin(list(self.points))
            job.log = self.lines[-MAX_LINES:]
            self.written = seen
        if job.cancel_requested:
            self.cancel.set()

    def stop(self) -> None:
        self.done.set()
        self.join()


def _end(job: PlanJob, status: str, error: str | None = None) -> None:
    job.status = status
    job.error = error
    job.finished_at = wall_now()
    job.heartbeat_at = job.finished_at


def _audit(job: PlanJob, action: str, details: dict[str, Any], actor: str | None = None) -> None:
    user = db.session.get(User, job.user_id) if job.user_id else None
    audit.record(
        action,
        actor=actor or job.actor,
        user=user if actor is None else None,
        district=job.district,
        details={"job": job.id, "week": job.week, **details},
    )


def execute(job_id: int) -> str:
    """Run job `job_id` to its end (succeeded, failed or cancelled); returns the status.

    Does nothing to a job that is no longer queued (cancelled while waiting, or already run by
    another worker)."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    job = db.session.get(PlanJob, job_id)
    if job is None:
        return "missing"
    if job.status != "queued":
        return job.status
    if job.cancel_requested:
        transaction(lambda _u: _cancelled_before_start(job))
        return job.status
    transaction(lambda _u: _running(job))
    district = job.district
    options = dict(job.options)
    base_version = current_version(district.id, job.week)
    cfg = dataclasses.replace(
        app.config["TAXVAN"],
        data_dir=district.data_dir,
        time_limit_s=float(options["time_limit_s"]),
    )
    watcher = _Watcher(app, job_id)
    watcher.start()
    try:
        outcome, draft_parts = _plan(app, job, cfg, options, watcher)
    finally:
        watcher.stop()
    if draft_parts is not None:
        draft_parts["base_version"] = base_version  # the version current when planning began
    return transaction(lambda _u: _finish(job_id, watcher, outcome, draft_parts, options))


def _finish(
    job_id: int,
    watcher: _Watcher,
    outcome: tuple[str, str | None],
    draft_parts: dict[str, Any] | None,
    options: dict[str, Any],
) -> str:
    """The job's end, and its draft when it succeeded: one transaction."""
    job = db.session.get(PlanJob, job_id, populate_existing=True)
    assert job is not None
    job.progress = thin(watcher.points)
    job.log = watcher.lines[-MAX_LINES:]
    status, error = outcome
    if status == "succeeded" and job.cancel_requested:
        status = "cancelled"  # asked to stop while the files were written: keep nothing
    if status == "succeeded" and draft_parts is not None:
        _save_draft(job, options, draft_parts)
    elif status == "cancelled":
        _end(job, "cancelled")
        _audit(job, "plan_cancelled", {}, actor=job.cancelled_by)
    else:
        _end(job, "failed", error or "the plan failed")
        _audit(job, "plan_failed", {"error": job.error})
    return job.status


def _plan(
    app: Flask, job: PlanJob, cfg: Config, options: dict[str, Any], watcher: _Watcher
) -> tuple[tuple[str, str | None], dict[str, Any] | None]:
    """Run the job's plan: ((status, error for people), the draft's columns if it
    succeeded). Every failure becomes a status and a message, the unexpected ones logged."""
    job_id = job.id
    try:
        with tempfile.TemporaryDirectory(prefix=f"taxvan-job-{job_id}-") as tmp:
            run = run_plan(
                cfg,
                job.week,
                Path(tmp),
                say=watcher.say,
                progress=watcher.progress,
                stop=watcher.cancel.is_set,
                records=learning_records(job, cfg),
                **plan_inputs(job, options),
            )
            draft_parts = {
                "visits": visit_dicts(run),
                "report": run.report,
                "template": json.loads(run.files["template.json"].read_text("utf-8")),
                "map_html": run.map_html,
                "fingerprint": run.week.fingerprint,
                "template_reused": run.template_reused,
            }
        return ("succeeded", None), draft_parts
    except SearchStopped:
        return ("cancelled", None), None
    except AdjustmentError as exc:  # every problem, not only the first
        # In the console's language (Chinese: a job has no request to ask).
        from web.operations.adjustments import problem_text

        texts = "; ".join(problem_text(p) for p in exc.problems)
        return ("failed", _("Adjustment not possible: %(problems)s", problems=texts)), None
    except PinError as exc:
        from web.operations.adjustments import pin_error_text

        return ("failed", pin_error_text(exc)), None
    except TaxvanError as exc:  # another PlanningError, bad data: a message for people
        return ("failed", str(exc)), None
    except Exception as exc:
        app.logger.exception("plan job %s failed", job_id)
        return ("failed", f"unexpected error: {type(exc).__name__}: {exc}"), None


def _cancelled_before_start(job: PlanJob) -> None:
    _end(job, "cancelled")
    _audit(job, "plan_cancelled", {"before_start": True}, actor=job.cancelled_by)


def _running(job: PlanJob) -> None:
    job.status = "running"
    job.started_at = job.heartbeat_at = wall_now()
    job.worker = f"{socket.gethostname()}:{os.getpid()}"[:120]


def _save_draft(job: PlanJob, options: dict[str, Any], draft_parts: dict[str, Any]) -> None:
    """The succeeded job's plan as a draft of its week, the job ended and audited."""
    draft = Draft(
        district_id=job.district_id,
        week=job.week,
        job=job,
        status="draft",
        options=options,
        created_at=wall_now(),
        created_by=job.actor,
        **draft_parts,
    )
    db.session.add(draft)
    _end(job, "succeeded")
    db.session.flush()
    report = draft_parts["report"]
    _audit(
        job,
        "plan_finished",
        {
            "draft": draft.id,
            "visits": len(draft_parts["visits"]),
            "dropped": len(report.get("dropped", [])),
            "km": report.get("km_driven"),
        },
    )


def run_in_thread(app: Flask, job_id: int) -> threading.Thread:
    """The in-process runner (no `REDIS_URL`): the job in a thread of this process."""

    def target() -> None:
        with app.app_context():
            try:
                execute(job_id)
            except Exception:
                app.logger.exception("plan job %s: the runner failed", job_id)
            finally:
                db.session.remove()

    thread = threading.Thread(target=target, name=f"plan-job-{job_id}", daemon=True)
    thread.start()
    return thread
