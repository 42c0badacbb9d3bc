"""Plan jobs: submit, cancel, retry, and recognise the dead.

**One district plans one week at a time.** A district has at most one queued or running job
(a partial unique index in the database says so, so two requests at the same moment cannot
both pass). A second request for the *same week* joins the running job (its progress page);
one for *another week* is refused (`JobRefused`) until the first ends or is cancelled.
Districts plan side by side, as many at once as there are workers.

**Runners.** With `REDIS_URL` the job goes to the RQ queue `TAXVAN_QUEUE`, for any worker of
any machine that shares the database; without it, a thread of this process runs it.

**The dead.** A job is taken as dead, and marked failed with nothing saved, when RQ has put it
among its failed jobs (a work horse killed mid-solve: RQ's worker notices at once), when RQ no
longer knows it, or when its heartbeat has stopped for `TAXVAN_JOB_STALE_SECONDS` (a whole
worker machine gone, or the web process of an in-process job restarted). `reap` checks this
whenever a district's jobs are looked at; a failed or cancelled job can be retried.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from taxvan.errors import TaxvanError
from taxvan.messages import N_, Message, message
from web.clock import wall_now
from web.db import audit
from web.db.models import JOB_ACTIVE, District, PlanJob, User
from web.extensions import db
from web.operations.plan_runner import run_in_thread
from web.operations.unit import Unit, transaction

TASK = "web.worker.run_plan_job"


class JobRefused(TaxvanError):
    """The district is already planning another week; `job` is that job."""

    def __init__(self, message: str, job: PlanJob) -> None:
        super().__init__(message)
        self.job = job


@dataclass(frozen=True)
class PlanOptions:
    """What the dispatcher chose on the plan form."""

    week: str
    time_limit_s: float
    vans: int
    weekdays: tuple[int, ...]
    """Monday = 0."""
    new_template: bool = False
    adjustments: dict[str, Any] | None = None
    """The district's adjustments to plan with (`Adjustments.as_dict`), copied when the job
    starts so the worker gets them and the draft records them; None plans without."""

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "time_limit_s": self.time_limit_s,
            "vans": self.vans,
            "weekdays": list(self.weekdays),
            "new_template": self.new_template,
        }
        if self.adjustments is not None:
            out["adjustments"] = self.adjustments
        return out


def _redis_url() -> str:
    return current_app.config["TAXVAN"].redis_url


def _connection() -> Any:
    from redis import Redis

    return Redis.from_url(_redis_url())


def _queue() -> Any:
    from rq import Queue

    return Queue(current_app.config["TAXVAN"].queue_name, connection=_connection())


def active_job(district: District) -> PlanJob | None:
    return db.session.scalar(
        select(PlanJob).where(PlanJob.district_id == district.id, PlanJob.status.in_(JOB_ACTIVE))
    )


def submit(
    district: District, options: PlanOptions, user: User, retry_of: int | None = None
) -> tuple[PlanJob, bool]:
    """Start planning `options.week` of `district`; returns the job and whether it was already
    running (joined). Raises `JobRefused` when another week of the district is being planned.
    `retry_of` is the failed or cancelled job this one plans again."""
    reap_district(district)

    def work(_u: Unit) -> tuple[PlanJob, bool]:
        running = active_job(district)
        if running is not None:
            if running.week == options.week:
                return running, True
            raise JobRefused(
                f"{district.name} is already planning {running.week}; wait for it to finish "
                "or cancel it first",
                running,
            )
        job = PlanJob(
            district_id=district.id,
            week=options.week,
            options=options.as_json(),
            status="queued",
            runner="rq" if _redis_url() else "thread",
            progress=[],
            log=[],
            user_id=user.id,
            actor=user.name,
            retry_of=retry_of,
            created_at=wall_now(),
        )
        db.session.add(job)
        db.session.flush()
        audit.record(
            "plan_started",
            actor=user.name,
            user=user,
            district=district,
            details={"job": job.id, "week": job.week, **options.as_json()},
        )
        return job, False

    try:
        # another request started one at the same moment (the unique index): look again
        job, joined = transaction(
            work, attempts=2, retry_on=lambda exc: isinstance(exc, IntegrityError)
        )
    except IntegrityError:
        raise TaxvanError("the plan could not be started; try again") from None
    if not joined:
        _start(job)
    return job, joined


def retry(job: PlanJob, user: User) -> PlanJob:
    """A new job with the options of a failed or cancelled one."""
    if job.status not in ("failed", "cancelled"):
        raise TaxvanError("only a failed or cancelled plan can be retried")
    o = job.options
    new, _joined = submit(
        job.district,
        PlanOptions(
            job.week,
            float(o["time_limit_s"]),
            int(o["vans"]),
            tuple(o["weekdays"]),
            bool(o.get("new_template")),
            o.get("adjustments"),
        ),
        user,
        retry_of=job.id,
    )
    return new


def _start(job: PlanJob) -> None:
    """Hand a committed job to its runner; a queue that cannot be reached fails the job."""
    if job.runner == "thread":
        run_in_thread(current_app._get_current_object(), job.id)  # type: ignore[attr-defined]
        return
    job_id = job.id
    try:
        limit = float(job.options["time_limit_s"])
        rq_job = _queue().enqueue(
            TASK,
            job.id,
            job_id=f"taxvan-plan-{job.id}-{secrets.token_hex(6)}",
            job_timeout=int(limit * 3 + 600),
            result_ttl=24 * 3600,
            failure_ttl=7 * 24 * 3600,
            description=f"plan {job.district.code} {job.week} (job {job.id})",
        )
        transaction(lambda _u: setattr(job, "rq_id", rq_job.id))
    except Exception as exc:  # Redis down or refusing: say so on the job, never a 500
        why = str(exc)
        transaction(lambda _u: _queue_unreachable(job_id, why))


def _queue_unreachable(job_id: int, why: str) -> None:
    job = db.session.get(PlanJob, job_id, populate_existing=True)
    if job is not None and job.status == "queued":
        job.status = "failed"
        job.error = f"the job queue (Redis) cannot be reached: {why}"
        job.finished_at = wall_now()


def cancel(job: PlanJob, user: User) -> None:
    """Ask the job to stop. A queued job ends at once; a running one when its search next
    checks (a second or two); an ended job is left as it is."""
    if not job.active:
        return

    def work(_u: Unit) -> None:
        # Read again under the row's lock: a worker may have started (or ended) the job since
        # the page read it, and a running job is only asked to stop, never marked ended.
        db.session.refresh(job, with_for_update=True)
        if job.active:
            _cancel(job, user)

    transaction(work)


def _cancel(job: PlanJob, user: User) -> None:
    job.cancel_requested = True
    job.cancelled_by = user.name
    if job.status == "queued":
        job.status = "cancelled"
        job.finished_at = wall_now()
        audit.record(
            "plan_cancelled",
            actor=user.name,
            user=user,
            district=job.district,
            details={"job": job.id, "week": job.week, "before_start": True},
        )
        if job.runner == "rq" and job.rq_id:
            try:
                from rq.job import Job

                Job.fetch(job.rq_id, connection=_connection()).cancel()
            except Exception:  # gone already, or Redis down: the worker skips it anyway
                pass


def _rq_state(job: PlanJob) -> tuple[str, str]:
    """RQ's status of the job ("missing" if RQ no longer knows it, "unknown" if Redis cannot
    be asked) and the last line of its failure, if any."""
    try:
        from rq.exceptions import NoSuchJobError
        from rq.job import Job

        try:
            rq_job = Job.fetch(job.rq_id or "", connection=_connection())
        except NoSuchJobError:
            return "missing", ""
        status = rq_job.get_status(refresh=True)
        why = ""
        if status is not None and str(getattr(status, "value", status)) == "failed":
            info = rq_job.latest_result()
            text = (info.exc_string if info is not None else "") or ""
            why = text.strip().splitlines()[-1] if text.strip() else ""
        return str(getattr(status, "value", status)), why
    except Exception:
        return "unknown", ""


def _why_gone(job: PlanJob, now: dt.datetime) -> Message | None:
    """Why the active `job`'s worker is taken to be gone, or None while it may still run: RQ
    says its job ended or is unknown, a thread's web process never started it, or no
    heartbeat for longer than `job_stale_s`."""
    stale = dt.timedelta(seconds=current_app.config["TAXVAN"].job_stale_s)
    reason = None
    if job.runner == "rq" and job.rq_id:
        reason = _rq_reason(job)
    elif job.runner == "thread" and job.status == "queued" and job.created_at < now - stale:
        reason = message(N_("the web process that was to run this plan stopped"))
    if reason is None and job.status == "running":
        last = job.heartbeat_at or job.started_at or job.created_at
        if last < now - stale:
            reason = message(
                N_("no word from the worker for %(seconds)d s"),
                seconds=int((now - last).total_seconds()),
            )
    return reason


def _rq_reason(job: PlanJob) -> Message | None:
    """What RQ's state of the job says of its worker, if it ended without ending the job."""
    status, why = _rq_state(job)
    if status in ("failed", "stopped", "canceled"):
        if why:
            return message(N_("the worker stopped in the middle of the plan (%(why)s)"), why=why)
        return message(N_("the worker stopped in the middle of the plan"))
    if status == "missing":
        return message(N_("the job queue no longer knows this plan"))
    if status == "finished":
        return message(N_("the worker ended without saving the plan"))
    return None


def reap(job: PlanJob) -> bool:
    """Mark `job` failed if its worker is gone (see the module docstring); True if it was."""
    db.session.refresh(job)
    if not job.active:
        return False
    now = wall_now()
    reason = _why_gone(job, now)
    if reason is None:
        return False
    return transaction(lambda _u: _failed(job, reason, now))


def _failed(job: PlanJob, reason: Message, now: dt.datetime) -> bool:
    db.session.refresh(job)  # the worker may have ended it while RQ was asked
    if not job.active:
        return False
    error = message(N_("%(reason)s; nothing was saved. Retry to plan again."), reason=reason)
    job.status = "failed"
    job.error = str(error)  # English, for the JSON and the logs
    job.error_message = message_json(error)  # the page shows it in the reader's language
    job.finished_at = now
    audit.record(
        "plan_failed",
        actor=job.actor,
        user=db.session.get(User, job.user_id) if job.user_id else None,
        district=job.district,
        details={"job": job.id, "week": job.week, "error": job.error_message},
    )
    return True


def reap_district(district: District) -> None:
    for job in db.session.scalars(
        select(PlanJob).where(PlanJob.district_id == district.id, PlanJob.status.in_(JOB_ACTIVE))
    ):
        reap(job)


def workers_listening() -> int | None:
    """RQ workers listening on the plan queue (None without Redis or if it cannot be asked)."""
    if not _redis_url():
        return None
    try:
        from rq import Worker

        return len(Worker.all(queue=_queue()))
    except Exception:
        return None


def message_json(msg: Message) -> dict[str, Any]:
    """A Message as JSON (template and values, nested Messages alike), to be shown later in the
    reader's language (`message_from_json`)."""
    values = {k: message_json(v) if isinstance(v, Message) else v for k, v in msg.values.items()}
    return {"template": msg.template, "values": values}


def message_from_json(data: dict[str, Any]) -> Message:
    """The Message `message_json` saved."""
    values = {
        k: message_from_json(v) if isinstance(v, dict) and "template" in v else v
        for k, v in (data.get("values") or {}).items()
    }
    return Message(str(data["template"]), values)
