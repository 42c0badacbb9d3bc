"""Console pages for a week's versions and for publishing a new one.

* `/dispatch/districts/<code>/weeks/<week>`: the week's stored versions (who published each,
  when, what it did to bookings), and a form that plans a new draft of the week;
* `.../versions/<n>`: one version's timetable, and the list of taxpayers its publish told
  (CSV and Excel);
* `.../publish`: the confirm step. It previews the draft (`preview_version`: every booking on
  a visit the draft moves or removes, with the place a move would give it) and takes the
  dispatcher's decision for each; publishing is refused while one is missing.
* `/dispatch/districts/<code>/drafts/<id>/publish`: the same confirm step for a draft that
  background planning saved (`web.db.models.Draft`, the draft page's "publish this draft").

The week page's own "plan the week" plans in the request
(`web.operations.publishing.plan_draft`); that draft waits in the instance folder (never under
`static/`), named in the user's session.
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from typing import Any

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import HiddenField
from wtforms.validators import DataRequired, NumberRange

from taxvan.errors import TaxvanError
from web.db.models import (
    BookingChange,
    District,
    Draft,
    PublishedWeek,
    ServiceRow,
)
from web.extensions import db
from web.operations.publishing import (
    CANCEL,
    MOVE,
    Affected,
    Decision,
    Decisions,
    Outcome,
    UndecidedBookings,
    WeekDraft,
    current_id,
    plan_draft,
    preview_version,
    publish_version,
    week_draft_of,
    week_versions,
)
from web.views.dispatch.blueprint import bp, district_or_404, signed_in_user
from web.views.dispatch.versions import week_or_404
from web.views.inputs import WholeNumberField

SESSION_KEY = "publish_draft"
DRAFT_MAX_AGE_S = 24 * 3600


class PlanForm(FlaskForm):
    time_limit = WholeNumberField(
        _l("Solver time limit (seconds)"),
        validators=[
            DataRequired(_l("Enter the solver's time limit in seconds.")),
            NumberRange(1, 600, _l("Between 1 and 600 seconds.")),
        ],
    )


class PublishForm(FlaskForm):
    """The confirm step; the decisions come as `decision-<booking id>` / `reason-<id>`."""

    token = HiddenField()
    based_on = HiddenField()
    """The week's current version when the preview was shown: a publish in between makes the
    preview stale."""


# --- the draft between planning and publishing --------------------------------------------------


def _drafts_root() -> Path:
    root = Path(current_app.instance_path) / "publish-drafts"
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    now = time.time()
    for old in root.glob("*.json"):
        if now - old.stat().st_mtime > DRAFT_MAX_AGE_S:
            old.unlink(missing_ok=True)
    return root


def _save_draft(district: District, draft: WeekDraft) -> None:
    pending = session.get(SESSION_KEY) or {}
    if (old := _draft_path(pending.get("token", ""))) is not None:
        old.unlink(missing_ok=True)
    token = secrets.token_urlsafe(24)
    (_drafts_root() / f"{token}.json").write_text(draft.to_json(), encoding="utf-8")
    session[SESSION_KEY] = {"code": district.code, "week": draft.week, "token": token}


def _draft_path(token: str) -> Path | None:
    if not token or not token.replace("-", "").replace("_", "").isalnum() or len(token) > 64:
        return None
    path = _drafts_root() / f"{token}.json"
    return path if path.is_file() else None


def _pending_draft(code: str, week: str) -> tuple[str, WeekDraft] | None:
    pending = session.get(SESSION_KEY) or {}
    if pending.get("code") != code or pending.get("week") != week:
        return None
    path = _draft_path(pending.get("token", ""))
    if path is None:
        return None
    return pending["token"], WeekDraft.from_json(path.read_text(encoding="utf-8"))


def _drop_draft(token: str) -> None:
    if (path := _draft_path(token)) is not None:
        path.unlink(missing_ok=True)
    session.pop(SESSION_KEY, None)


# --- pages -----------------------------------------------------------------------------------


def _change_counts(ids: list[int]) -> dict[int, dict[str, int]]:
    counts: dict[int, dict[str, int]] = {i: {} for i in ids}
    if ids:
        rows = db.session.execute(
            select(BookingChange.published_id, BookingChange.action, func.count())
            .where(BookingChange.published_id.in_(ids))
            .group_by(BookingChange.published_id, BookingChange.action)
        )
        for pid, action, n in rows:
            counts[pid][action] = n
    return counts


@bp.get("/districts/<code>/weeks/<week>")
def week_page(code: str, week: str) -> Any:
    """The week's versions, newest first, and the form that plans a new draft."""
    district = district_or_404(code)
    label = week_or_404(week)
    versions = week_versions(district, label)
    return render_template(
        "dispatch/week.html",
        district=district,
        week=label,
        versions=versions,
        current=current_id(district, label),
        changes=_change_counts([v.id for v in versions]),
        form=PlanForm(time_limit=10),
        pending=_pending_draft(code, label) is not None,
    )


@bp.post("/districts/<code>/weeks/<week>/plan")
def week_plan(code: str, week: str) -> Any:
    """Plan a draft of the week from the district's data folder; then the confirm step."""
    district = district_or_404(code)
    label = week_or_404(week)
    form = PlanForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for e in errors:
                flash(str(e), "error")
        return redirect(url_for("dispatch.week_page", code=code, week=label))
    try:
        draft = plan_draft(
            label,
            district,
            data_dir=district.data_dir,
            time_limit=float(form.time_limit.data or 10),
            say=lambda _m: None,
        )
    except TaxvanError as exc:
        flash(_("Planning failed: %(problem)s", problem=str(exc)), "error")
        return redirect(url_for("dispatch.week_page", code=code, week=label))
    _save_draft(district, draft)
    return redirect(url_for("dispatch.week_publish", code=code, week=label))


def _visit_changes(draft: WeekDraft, current: PublishedWeek | None) -> dict[str, int]:
    """Visits the draft keeps, moves in time or place, adds and removes against the current
    version (by stop, date, start and end)."""
    new = {v.key for v in draft.visits}
    old = {(v.stop_id, v.date, v.start, v.end) for v in current.visits} if current else set()
    return {
        "kept": len(new & old),
        "added": len(new - old),
        "removed": len(old - new),
    }


def _decisions(affected: list[Affected]) -> tuple[Decisions, dict[int, str]]:
    """The form's decisions and, per booking id, what is wrong with its row."""
    each: dict[int, Decision] = {}
    problems: dict[int, str] = {}
    every = request.form.get("decision-all", "")
    every_reason = request.form.get("reason-all", "").strip()
    for a in affected:
        action = request.form.get(f"decision-{a.booking_id}", "") or every
        reason = request.form.get(f"reason-{a.booking_id}", "").strip() or every_reason
        if action not in (MOVE, CANCEL):
            problems[a.booking_id] = _("Choose: move or cancel.")
        elif action == MOVE and a.proposal is None:
            problems[a.booking_id] = _("No visit of this stop has room: it can only be cancelled.")
        elif action == CANCEL and not reason:
            problems[a.booking_id] = _("Give the reason the taxpayer is told.")
        else:
            each[a.booking_id] = Decision(action, reason[:200])
    return Decisions(each), problems


@bp.route("/districts/<code>/weeks/<week>/publish", methods=["GET", "POST"])
def week_publish(code: str, week: str) -> Any:
    """GET: the confirm step for the planned draft. POST: publish it with the decisions."""
    district = district_or_404(code)
    label = week_or_404(week)
    pending = _pending_draft(code, label)
    if pending is None:
        flash(_("There is no draft to publish; plan the week first."), "error")
        return redirect(url_for("dispatch.week_page", code=code, week=label))
    token, draft = pending
    return _confirm(district, label, token, draft, lambda: _drop_draft(token), None)


@bp.route("/districts/<code>/drafts/<int:draft_id>/publish", methods=["GET", "POST"])
def draft_publish(code: str, draft_id: int) -> Any:
    """The confirm step for a draft background planning saved (the draft page's "publish
    this draft"): GET lists the affected bookings, POST publishes with the decisions."""
    district = district_or_404(code)
    row = db.session.get(Draft, draft_id)
    if row is None or row.district_id != district.id:
        abort(404)
    if row.status != "draft":
        flash(_("This draft is already published."), "error")
        return redirect(url_for("dispatch.week_page", code=code, week=row.week))

    def done() -> None:
        fresh = db.session.get(Draft, draft_id)
        if fresh is not None:
            fresh.status = "published"
            db.session.commit()

    return _confirm(district, row.week, f"draft-{row.id}", week_draft_of(row), done, row)


def _confirm(
    district: District,
    label: str,
    token: str,
    draft: WeekDraft,
    published: Any,
    saved: Draft | None,
) -> Any:
    """The confirm step (GET) and the publish (POST) of `draft`; `published` is called after
    a successful publish (drop the session's draft, mark the saved draft published)."""
    code = district.code
    form = PublishForm()
    user = signed_in_user()
    assert user is not None
    preview = preview_version(district, draft, user.name)
    based_on = current_id(district, label)
    status = 200
    problems: dict[int, str] = {}
    refused = None
    if request.method == "POST":
        if not form.validate_on_submit():
            refused, status = _("This form has expired. Reload the page."), 400
        elif form.token.data != token or form.based_on.data != str(based_on or ""):
            refused, status = (
                _(
                    "Another version of this week was published after this page was shown. "
                    "Nothing was saved; check the list below again."
                ),
                409,
            )
        else:
            decisions, problems = _decisions(preview.affected)
            if problems:
                status = 400
            else:
                try:
                    outcome = publish_version(district, draft, decisions, user.name, user)
                except UndecidedBookings:
                    refused, status = _("Some bookings have no decision yet."), 400
                except TaxvanError as exc:
                    refused, status = str(exc), 400
                else:
                    published()
                    flash(_published_message(outcome), "ok")
                    return redirect(
                        url_for(
                            "dispatch.week_version", code=code, week=label, version=outcome.version
                        )
                    )
    current = db.session.get(PublishedWeek, based_on) if based_on else None
    return render_template(
        "dispatch/publish.html",
        district=district,
        week=label,
        draft=draft,
        preview=preview,
        current=current,
        changes=_visit_changes(draft, current),
        form=PublishForm(formdata=None, token=token, based_on=str(based_on or "")),
        problems=problems,
        chosen=request.form if request.method == "POST" else {},
        services=_service_names(district),
        refused=refused,
        saved=saved,
        action=(
            url_for("dispatch.draft_publish", code=code, draft_id=saved.id)
            if saved is not None
            else url_for("dispatch.week_publish", code=code, week=label)
        ),
    ), status


def _service_names(district: District) -> dict[str, str]:
    zh = str(get_locale()).startswith("zh")
    return {
        s.code: s.name_zh if zh else s.name_en
        for s in db.session.scalars(select(ServiceRow).where(ServiceRow.district_id == district.id))
    }


def _published_message(outcome: Outcome) -> str:
    return _(
        "Published version %(version)d of %(week)s: %(carried)d bookings carried, "
        "%(moved)d moved, %(cancelled)d cancelled.",
        version=outcome.version,
        week=outcome.week,
        carried=outcome.carried,
        moved=outcome.moved,
        cancelled=outcome.cancelled,
    )
