"""Console pages for a week's versions and for publishing a draft.

* `/dispatch/districts/<code>/weeks/<week>`: the week's stored versions (who published each,
  when, what it did to bookings), with a link to plan a new draft (planning runs only as a
  background job: the district page's plan form);
* `/dispatch/districts/<code>/drafts/<id>/publish`: the confirm step for a draft background
  planning saved (`web.db.models.Draft`). It previews the draft (`preview_version`: every
  booking on a visit the draft moves or removes, with the place a move would give it; every
  call-off it carries, each with a box to lift it; every door-to-door visit it clashes with)
  and takes the dispatcher's decisions; publishing is refused while one is missing, and a
  draft planned from a version that is no longer current is refused with a link to plan again.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from flask import (
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import HiddenField

from routes.diff import PlanDiff
from taxvan.errors import TaxvanError
from web.db.models import District, Draft, User
from web.db.queries import (
    change_counts,
    draft_of,
    open_drafts,
    published_week,
    services_by_length,
)
from web.operations.draft_diff import SHARE_POINTS, draft_diff, share_warnings
from web.operations.publishing import (
    CANCEL,
    MOVE,
    Affected,
    Decision,
    Decisions,
    DoorClashes,
    DraftBreaksVanDay,
    DraftPublished,
    NoRoomToMove,
    Outcome,
    ReasonMissing,
    StaleDraft,
    UndecidedBookings,
    WeekDraft,
    current_id,
    preview_version,
    publish_version,
    week_draft_of,
    week_versions,
)
from web.views.dispatch.blueprint import bp, district_or_404, people_of, signed_in_user
from web.views.dispatch.versions import week_or_404


class PublishForm(FlaskForm):
    """The confirm step; the decisions come as `decision-<booking id>` / `reason-<id>`."""

    token = HiddenField()
    based_on = HiddenField()
    """The week's current version when the preview was shown: a publish in between makes the
    preview stale."""


# --- pages -----------------------------------------------------------------------------------


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
        changes=change_counts([v.id for v in versions]),
        drafts=open_drafts(district, label),
    )


def _visit_changes(district: District, saved: Draft) -> PlanDiff | None:
    """The draft's changes to the published week, counted as the draft page counts them
    (None when the week is not published, or its record cannot be read)."""
    try:
        return draft_diff(district, saved)
    except TaxvanError:
        return None


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


@bp.route("/districts/<code>/drafts/<row_id:draft_id>/publish", methods=["GET", "POST"])
def draft_publish(code: str, draft_id: int) -> Any:
    """The confirm step for a draft background planning saved (the draft page's "publish
    this draft"): GET lists the affected bookings, POST publishes with the decisions."""
    district = district_or_404(code)
    row = draft_of(district, draft_id)
    if row is None:
        abort(404)
    if row.status != "draft":
        flash(_("This draft is already published."), "error")
        return redirect(url_for("dispatch.week_page", code=code, week=row.week))
    return _confirm(district, row.week, f"draft-{row.id}", week_draft_of(row), row)


def _stale(district: District, label: str, saved: Draft, exc: TaxvanError) -> Any:
    """The draft can no longer be published: say why, and lead back to planning."""
    if isinstance(exc, StaleDraft):
        message = _(
            "This week changed since the draft was planned (from version %(base)s; version "
            "%(now)d is current now). Plan again from the current version.",
            base=exc.base if exc.base is not None else "—",
            now=exc.current,
        )
    elif isinstance(exc, DraftPublished):
        message = _("This draft is already published.")
    else:  # a draft that breaks a van's day, or with another district's stops
        message = refusal_text(exc)
    return render_template(
        "dispatch/publish_stale.html", district=district, week=label, saved=saved, message=message
    ), 409


def _lifts(preview: Outcome) -> frozenset[tuple[str, Any]]:
    """The call-offs the dispatcher ticked to lift (`lift` boxes: "stop|date")."""
    asked = set(request.form.getlist("lift"))
    return frozenset((c.stop_id, c.date) for c in preview.called_off if c.key in asked)


@dataclass
class _Answer:
    """How the confirm page answers a POST: a response as it is (the published version, the
    stale draft), or the page again with its status and what to fix."""

    status: int = 200
    problems: dict[int, str] = field(default_factory=dict)
    door_problem: str = ""
    refused: str | None = None
    response: Any = None


def _confirm(
    district: District,
    label: str,
    token: str,
    draft: WeekDraft,
    saved: Draft,
) -> Any:
    """The confirm step (GET) and the publish (POST) of `draft`."""
    code = district.code
    form = PublishForm()
    user = signed_in_user()
    try:
        preview = preview_version(district, draft, user.name)
    except TaxvanError as exc:  # nothing to decide: the draft cannot be published as it is
        return _stale(district, label, saved, exc)
    based_on = current_id(district, label)
    answer = _Answer()
    if request.method == "POST":
        answer = _submit(district, label, token, draft, saved, preview, based_on, form, user)
        if answer.response is not None:
            return answer.response
    current = published_week(based_on) if based_on else None
    return render_template(
        "dispatch/publish.html",
        district=district,
        week=label,
        draft=draft,
        preview=preview,
        current=current,
        changes=_visit_changes(district, saved),
        share_warnings=share_warnings(district, saved),
        share_points=SHARE_POINTS,
        form=PublishForm(formdata=None, token=token, based_on=str(based_on or "")),
        problems=answer.problems,
        chosen=request.form if request.method == "POST" else {},
        services=_service_names(district),
        people=people_of(district),
        refused=answer.refused,
        saved=saved,
        door_problem=answer.door_problem,
        lifted=set(request.form.getlist("lift")) if request.method == "POST" else set(),
        action=url_for("dispatch.draft_publish", code=code, draft_id=saved.id),
    ), answer.status


def _submit(
    district: District,
    label: str,
    token: str,
    draft: WeekDraft,
    saved: Draft,
    preview: Outcome,
    based_on: int | None,
    form: PublishForm,
    user: User,
) -> _Answer:
    """The POST of the confirm page: refused for an expired form, a version published since
    the page was shown, or a decision missing; else the publish."""
    if not form.validate_on_submit():
        return _Answer(400, refused=_("This form has expired. Reload the page."))
    if form.token.data != token or form.based_on.data != str(based_on or ""):
        return _Answer(
            409,
            refused=_(
                "Another version of this week was published after this page was shown. "
                "Nothing was saved; check the list below again."
            ),
        )
    decisions, problems = _decisions(preview.affected)
    door_reason = request.form.get("door-reason", "").strip()[:200]
    decisions = dataclasses.replace(decisions, lift=_lifts(preview), call_off_door=door_reason)
    door_problem = ""
    if preview.door_clashes and not door_reason:
        door_problem = _("Give the reason the firms are told.")
    if problems or door_problem:
        return _Answer(400, problems, door_problem)
    return _publish(district, label, draft, saved, decisions, user)


def _publish(
    district: District,
    label: str,
    draft: WeekDraft,
    saved: Draft,
    decisions: Decisions,
    user: User,
) -> _Answer:
    """Publish `draft` with the dispatcher's decisions: on to the new version, or why not."""
    try:
        outcome = publish_version(district, draft, decisions, user.name, user)
    except (StaleDraft, DraftPublished) as exc:
        return _Answer(response=_stale(district, label, saved, exc))
    except UndecidedBookings:
        return _Answer(400, refused=_("Some bookings have no decision yet."))
    except TaxvanError as exc:
        return _Answer(400, refused=refusal_text(exc))
    flash(_published_message(outcome), "ok")
    return _Answer(
        response=redirect(
            url_for(
                "dispatch.week_version", code=district.code, week=label, version=outcome.version
            )
        )
    )


def refusal_text(exc: TaxvanError) -> str:
    """Why a publish was refused, in the reader's language, with its values."""
    if isinstance(exc, DraftBreaksVanDay):
        kinds = {
            "overlap": _("visits overlap"),
            "shift": _("visits outside the crew's shift"),
            "lunch": _("no room for lunch"),
        }
        said = _("、").join(
            _("%(van)s %(date)s: %(what)s", van=van, date=day.isoformat(), what=kinds[p.kind])
            for van, day, p in exc.problems[:5]
        )
        return _("The draft breaks a van's day (%(problems)s); plan again.", problems=said)
    if isinstance(exc, NoRoomToMove):
        return _(
            "Booking %(code)s: no visit of %(stop)s in the new version has room for it; "
            "cancel it with a reason instead.",
            code=exc.code,
            stop=exc.stop_name,
        )
    if isinstance(exc, ReasonMissing):
        return _("Booking %(code)s: give the reason for cancelling it.", code=exc.code)
    if isinstance(exc, DoorClashes):
        return _("Door-to-door visits clash with the new version; nothing was published.")
    return str(exc)


def _service_names(district: District) -> dict[str, str]:
    zh = str(get_locale()).startswith("zh")
    return {s.code: s.name_zh if zh else s.name_en for s in services_by_length(district.id)}


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
