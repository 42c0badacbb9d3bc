"""Console pages for planning in the background: the plan form, a job's progress (page and
JSON), cancel and retry, and the draft a job made (page and map).

Every URL names the district (`<code>`), so the console's guard refuses other districts'
dispatchers before these views run; each view then finds the job or draft *within* that
district, so another district's id answers 404, never its content.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from flask import (
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug.wrappers import Response as WerkzeugResponse

from taxvan.errors import TaxvanError
from taxvan.fleet import Van
from taxvan.io.loaders import load_vans
from taxvan.workdays import iso_week_label, next_iso_week
from web.adapters.maps import map_page
from web.clock import china_now, wall_now
from web.db import audit
from web.db.models import District, Draft, PlanJob, User
from web.db.queries import draft_of, job_of, recent_drafts, recent_jobs
from web.db.store import current_weeks, stops_count
from web.i18n import translate
from web.operations import adjustments
from web.operations import plan_jobs as queue
from web.operations.draft_diff import (
    REASON_LABELS,
    SHARE_POINTS,
    draft_adjustments,
    draft_diff,
    share_warnings,
    when_text,
)
from web.operations.drafts import WEEKDAYS_EN, timetable_by_day
from web.security import map_policy
from web.views.dispatch.blueprint import bp, district_or_404, signed_in_user
from web.views.dispatch.charts import progress_chart, settled_from, share_chart
from web.views.dispatch.forms import JobActionForm, PlanForm

RECENT = 10


def _user() -> User:
    return signed_in_user()


def _job_or_404(district: District, job_id: int) -> PlanJob:
    job = job_of(district, job_id)
    if job is None:
        abort(404)
    return job


def _draft_or_404(district: District, draft_id: int) -> Draft:
    draft = draft_of(district, draft_id)
    if draft is None:
        abort(404)
    return draft


def plan_form(district: District, form: PlanForm | None = None) -> PlanForm:
    """The plan form, filled with next week, the configured time limit, every van and the
    days the vans work (read from the district's vans file, so that leaving the form as it
    is plans the district's own week and reuses its saved template)."""
    if form is not None:
        return form
    vans = district_vans(district)
    days = sorted(set().union(*(v.weekdays for v in vans))) if vans else [0, 1, 2, 3, 4]
    return PlanForm(
        formdata=None,
        week=next_iso_week(china_now().date()),
        time_limit=int(_config().time_limit_s),
        vans=max(1, len(vans) or len(district.settings.get("vans", []))),
        weekdays=[d for d in days if d < 6] or [0, 1, 2, 3, 4],
        adjusted=bool(adjustments.rows_of(district)),
    )


def district_vans(district: District) -> list[Van]:
    """The vans of the district's data folder ([] if it cannot be read: the form then
    falls back to the record's count and Monday to Friday)."""
    folder = Path(district.data_dir)
    for ext in (".csv", ".xlsx"):
        path = folder / f"vans{ext}"
        if path.exists():
            try:
                return load_vans(path)
            except (TaxvanError, ValueError, OSError):
                return []
    return []


def _config() -> Any:
    from flask import current_app

    return current_app.config["TAXVAN"]


def planning_context(district: District, form: PlanForm | None = None) -> dict[str, Any]:
    """What the district page shows about planning: the form, recent jobs and drafts."""
    queue.reap_district(district)
    jobs = recent_jobs(district, RECENT)
    drafts = recent_drafts(district, RECENT)
    return {
        "plan_form": plan_form(district, form),
        "adjustment_count": len(adjustments.rows_of(district)),
        "van_count": len(district.settings.get("vans", [])),
        "jobs": jobs,
        "drafts": drafts,
    }


@bp.app_context_processor
def planning_helpers() -> dict[str, Any]:
    return {"job_status_label": job_status_label, "job_error": job_error}


def job_error(job: PlanJob) -> str | None:
    """Why the job failed, in the reader's language when it was saved as a message."""
    if job.error_message:
        return translate(queue.message_from_json(job.error_message))
    return job.error


def job_status_label(status: str) -> str:
    labels = {
        "queued": _("waiting for a worker"),
        "running": _("planning"),
        "succeeded": _("done"),
        "failed": _("failed"),
        "cancelled": _("cancelled"),
    }
    return labels.get(status, status)


@bp.post("/districts/<code>/plan")
def plan_start(code: str) -> Any:
    """Start planning a week (or join the job already planning it) and show its progress."""
    district = district_or_404(code)
    form = PlanForm()
    vans = len(district.settings.get("vans", []))
    valid = form.validate_on_submit()
    if form.vans.data is not None and form.vans.data > vans:
        form.vans.errors = [
            *form.vans.errors,
            _("The district has %(n)d van(s).", n=vans),
        ]
        valid = False
    if not valid:
        return district_page(district, form), 400
    options = queue.PlanOptions(
        week=form.week.data or "",
        time_limit_s=float(form.time_limit.data or 1),
        vans=int(form.vans.data or 1),
        weekdays=tuple(sorted(form.weekdays.data or [])),
        new_template=bool(form.new_template.data),
        adjustments=(
            adjustments.adjustments_of(district).as_dict() if form.adjusted.data else None
        ),
    )
    try:
        job, joined = queue.submit(district, options, signed_in_user())
    except queue.JobRefused as exc:
        flash(
            _(
                "%(district)s is already planning %(week)s: wait for it to finish or cancel it "
                "first.",
                district=district.name,
                week=exc.job.week,
            ),
            "error",
        )
        return redirect(url_for("dispatch.plan_job", code=code, job_id=exc.job.id))
    except TaxvanError as exc:
        flash(str(exc), "error")
        return redirect(url_for("dispatch.district", code=code))
    if joined:
        flash(_("This week is already being planned; here is that plan's progress."), "info")
    return redirect(url_for("dispatch.plan_job", code=code, job_id=job.id))


def _job_json(district: District, job: PlanJob) -> dict[str, Any]:
    points = job.progress or []
    limit = float(job.options.get("time_limit_s", 1))
    return {
        "id": job.id,
        "district": district.code,
        "week": job.week,
        "status": job.status,
        "status_label": job_status_label(job.status),
        "active": job.active,
        "options": job.options,
        "progress": points,
        "best": points[-1][1] if points else None,
        "improvements": len(points),
        "log": [translate(line) for line in (job.log or [])[-8:]],
        "error": job.error,
        "cancel_requested": job.cancel_requested,
        "created_at": job.created_at.isoformat(timespec="seconds"),
        "started_at": job.started_at.isoformat(timespec="seconds") if job.started_at else None,
        "finished_at": (job.finished_at.isoformat(timespec="seconds") if job.finished_at else None),
        "draft_id": job.draft.id if job.draft else None,
        "draft_url": (
            url_for("dispatch.draft", code=district.code, draft_id=job.draft.id)
            if job.draft
            else None
        ),
        "chart": str(_chart(job, points, limit)),
    }


def _chart(job: PlanJob, points: list[list[float]], limit: float) -> Any:
    best = points[-1][1] if points else None
    searched = None
    if points and job.started_at is not None:
        # the best plan held since its last improvement: until now, or the job's end
        end = job.finished_at or wall_now()
        searched = min(limit, max(float(points[-1][0]), (end - job.started_at).total_seconds()))
    return progress_chart(
        points,
        limit,
        until=searched,
        x_label=_("Seconds searched (s)"),
        y_label=_("Cost (metres driven plus penalties)"),
        title=_("The search's best plan so far"),
        desc=(
            _(
                "%(n)d improvements; the best cost so far is %(best)s after %(t)s s "
                "of at most %(limit)s s.",
                n=len(points),
                best=f"{best:,.0f}",
                t=f"{points[-1][0]:g}",
                limit=f"{limit:g}",
            )
            if best is not None
            else _("No plan found yet.")
        ),
    )


@bp.get("/districts/<code>/jobs/<row_id:job_id>")
def plan_job(code: str, job_id: int) -> str:
    """A job's progress: its status, the improving objective as a chart (the page polls the
    JSON URL; without script it refreshes itself), cancel or retry."""
    district = district_or_404(code)
    job = _job_or_404(district, job_id)
    queue.reap(job)
    points = job.progress or []
    limit = float(job.options.get("time_limit_s", 1))
    return render_template(
        "dispatch/plan_job.html",
        district=district,
        job=job,
        points=points,
        chart=_chart(job, points, limit),
        unserved=points[: settled_from(points)],
        action_form=JobActionForm(),
        workers=queue.workers_listening() if job.status == "queued" else None,
        weekday_names=[_(n) for n in WEEKDAYS_EN],
    )


@bp.get("/api/districts/<code>/jobs/<row_id:job_id>")
def plan_job_json(code: str, job_id: int) -> Response:
    """The job's state for the progress page to poll every second or two."""
    district = district_or_404(code)
    job = _job_or_404(district, job_id)
    queue.reap(job)
    return jsonify(_job_json(district, job))


@bp.get("/districts/<code>/jobs/<row_id:job_id>/cancel")
def plan_cancel_confirm(code: str, job_id: int) -> str:
    """Asks before cancelling a running plan (a page, so it works without script and is not
    closed by the progress page's refresh)."""
    district = district_or_404(code)
    job = _job_or_404(district, job_id)
    queue.reap(job)
    return render_template(
        "dispatch/plan_cancel.html", district=district, job=job, action_form=JobActionForm()
    )


@bp.post("/districts/<code>/jobs/<row_id:job_id>/cancel")
def plan_cancel(code: str, job_id: int) -> WerkzeugResponse:
    district = district_or_404(code)
    job = _job_or_404(district, job_id)
    if JobActionForm().validate_on_submit():
        if job.active:
            queue.cancel(job, signed_in_user())
            flash(_("Cancelling: the search stops within a few seconds."), "info")
    else:
        abort(400)
    return redirect(url_for("dispatch.plan_job", code=code, job_id=job.id))


@bp.post("/districts/<code>/jobs/<row_id:job_id>/retry")
def plan_retry(code: str, job_id: int) -> WerkzeugResponse:
    district = district_or_404(code)
    job = _job_or_404(district, job_id)
    if not JobActionForm().validate_on_submit():
        abort(400)
    if job.status not in ("failed", "cancelled"):
        flash(_("Only a failed or cancelled plan can be retried."), "error")
        return redirect(url_for("dispatch.plan_job", code=code, job_id=job.id))
    try:
        new = queue.retry(job, signed_in_user())
    except queue.JobRefused as exc:
        flash(
            _(
                "%(district)s is already planning %(week)s: wait for it to finish or cancel it "
                "first.",
                district=district.name,
                week=exc.job.week,
            ),
            "error",
        )
        return redirect(url_for("dispatch.plan_job", code=code, job_id=exc.job.id))
    return redirect(url_for("dispatch.plan_job", code=code, job_id=new.id))


@bp.get("/districts/<code>/drafts/<row_id:draft_id>")
def draft(code: str, draft_id: int) -> str:
    """The draft: map, report figures, street shares against targets (a chart and its table),
    coverage, timetable by day and dropped visits with their reasons. Not published."""
    district = district_or_404(code)
    d = _draft_or_404(district, draft_id)
    report = d.report
    streets = [s for s in report.get("streets", []) if s.get("target_share", 0) > 0]
    chart = share_chart(
        streets,
        title=_("Service share of each street against its target"),
        desc=_(
            "For each of %(n)d streets, the share of the week's service time it gets in this "
            "draft (filled bar) and the share it should get (outlined bar); the table below "
            "gives the same figures.",
            n=len(streets),
        ),
        planned=_("planned share"),
        target=_("target share"),
    )
    return render_template(
        "dispatch/draft.html",
        district=district,
        draft=d,
        report=report,
        streets=streets,
        chart=chart,
        days=timetable_by_day(d.visits),
        weekday_names=[_(n) for n in WEEKDAYS_EN],
        share_warnings=share_warnings(district, d),
        share_points=SHARE_POINTS,
        **adjust_context(district, d),
    )


def adjust_context(district: District, d: Draft) -> dict[str, Any]:
    """The draft page's adjust spot: the adjustments the draft was made with, the form that
    plans its week again with the district's adjustments, and its changes to the published
    week (None when the week is not published)."""
    replan = PlanForm(
        formdata=None,
        week=d.week,
        time_limit=max(1, round(float(d.options.get("time_limit_s", 1)))),
        vans=int(d.options.get("vans") or 1),
        weekdays=list(d.options.get("weekdays") or []),
        adjusted=True,
    )
    try:
        made_with = adjustments.items(draft_adjustments(d))
        changes = draft_diff(district, d)
        diff_error = None
    except TaxvanError as exc:  # an unreadable record says so instead of failing the page
        made_with, changes, diff_error = [], None, str(exc)
    return {
        "replan_form": replan,
        "made_with": made_with,
        "has_adjustments": "adjustments" in d.options,
        "district_adjustments": len(adjustments.rows_of(district)),
        "stops": adjustments.stop_names(district),
        "diff": changes,
        "diff_error": diff_error,
        "reason_labels": REASON_LABELS,
        "when_text": when_text,
    }


@bp.get("/districts/<code>/drafts/<row_id:draft_id>/map")
def draft_map(code: str, draft_id: int) -> Response:
    """The draft's map page (the planner's Folium map, Leaflet inlined), framed by the draft
    page; its own CSP allows its inline scripts by hash, as the public map does."""
    district = district_or_404(code)
    d = _draft_or_404(district, draft_id)
    page = map_page(d.map_html, str(get_locale()))
    resp = Response(page, mimetype="text/html")
    resp.headers["Content-Security-Policy"] = map_policy(page)
    return resp


# --- the district page, with its plan form ----------------------------------------------


def district_page(d: District, plan_form: Any = None) -> str:
    """The district page; `plan_form` is a plan form sent back with its errors."""
    weeks = list(reversed(current_weeks(d)))
    return render_template(
        "dispatch/district.html",
        district=d,
        stops=stops_count(d),
        weeks=weeks,
        coming_weeks=[w for w in _coming_weeks() if w not in {x.week for x in weeks}],
        entries=audit.latest(d),
        **planning_context(d, plan_form),
    )


def _coming_weeks(n: int = 5) -> list[str]:
    """This week and the next ones (China time): the weeks a dispatcher plans and publishes."""
    today = china_now().date()
    return [iso_week_label(today + dt.timedelta(days=7 * i)) for i in range(n)]
