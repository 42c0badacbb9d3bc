"""The console's door-to-door pages: a district's requests, planning one in, deciding.

Every URL names only the district (`<code>`); the request travels as `ref` in the query or
the form, so the console's access rule (web.views.dispatch.views.guard) covers these pages like
every other, and a dispatcher of another district gets 403 before anything is read.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from routes.insertion import InsertionResult
from taxvan.clock import hhmm, parse_hhmm
from web.clock import china_now
from web.db.models import District, DoorRequest, PublishedWeek
from web.extensions import db
from web.operations import door as svc
from web.views.dispatch.blueprint import bp, people_of, signed_in_user
from web.views.door.forms import AcceptForm, DeclineForm

STATUSES = ("received", "accepted", "declined")


def _district(code: str) -> District:
    district = svc.district_of(code)
    if district is None:
        abort(404)
    return district


def _request_of(district: District, reference: str | None) -> DoorRequest | None:
    if not reference or len(reference) > 12:
        return None
    return db.session.scalar(
        select(DoorRequest).where(
            DoorRequest.reference == reference.strip().upper(),
            DoorRequest.district_id == district.id,
        )
    )


@bp.get("/districts/<code>/door-to-door")
def door_requests(code: str) -> str:
    district = _district(code)
    status = request.args.get("status")
    if status not in STATUSES:
        status = None
    services = svc.services_by_code(district)
    return render_template(
        "dispatch/door_requests.html",
        district=district,
        requests=svc.requests_of(district, status),
        status=status,
        statuses=STATUSES,
        services=services,
        people=people_of(district),
    )


class PlanProblem(ValueError):
    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


def _ask(
    district: District, req: DoorRequest, args: Any, weeks: list[PublishedWeek]
) -> svc.PlanAsk:
    """The planning question from the page's fields (defaults: the first week, the guessed
    length, the whole shift, the request's point). Raises PlanProblem naming the field."""
    label = args.get("week") or (weeks[0].week if weeks else "")
    week = next((w for w in weeks if w.week == label), None)
    if week is None:
        raise PlanProblem("week", _("Choose a published week of the district."))
    try:
        minutes = int(args.get("minutes") or svc.default_minutes(req))
    except ValueError:
        raise PlanProblem("minutes", _("Enter the visit's length in minutes.")) from None
    if not 15 <= minutes <= 480 or minutes % 15:
        raise PlanProblem("minutes", _("The length is 15 to 480 minutes, in quarter hours."))
    window = None
    if args.get("window_start") or args.get("window_end"):
        try:
            window = (
                parse_hhmm(args.get("window_start") or "00:00"),
                parse_hhmm(args.get("window_end") or "23:59"),
            )
        except ValueError:
            raise PlanProblem("window", _("Enter the window's times as HH:MM.")) from None
    try:
        lat = float(args.get("lat") or (req.lat if req.lat is not None else ""))
        lon = float(args.get("lon") or (req.lon if req.lon is not None else ""))
    except ValueError:
        raise PlanProblem("point", _("Enter the firm's latitude and longitude.")) from None
    if not (3.5 <= lat <= 54 and 73 <= lon <= 135.5):
        raise PlanProblem("point", _("This point is not in China."))
    return svc.PlanAsk(week, minutes, window, (lat, lon))


@bp.get("/districts/<code>/door-to-door/plan")
def door_plan(code: str) -> Any:
    """One request: its details, where it fits in a week, and the accept and decline forms."""
    district = _district(code)
    req = _request_of(district, request.args.get("ref"))
    if req is None:
        flash(_("Choose a request from the list."), "error")
        return redirect(url_for("dispatch.door_requests", code=code))
    weeks = svc.district_weeks(district, china_now().date())
    result: InsertionResult | None = None
    problem: PlanProblem | None = None
    ask = None
    status = 200
    if req.status == "received":
        try:
            ask = _ask(district, req, request.args, weeks)
            result = svc.options(district, req, ask)
        except PlanProblem as exc:
            problem, status = exc, 422
    return _plan_page(district, req, weeks, ask, result, problem), status


def _plan_page(
    district: District,
    req: DoorRequest,
    weeks: list[PublishedWeek],
    ask: svc.PlanAsk | None,
    result: InsertionResult | None,
    problem: PlanProblem | None = None,
    refused: str | None = None,
    decline: DeclineForm | None = None,
) -> str:
    services = svc.services_by_code(district)
    accept = AcceptForm(formdata=None)
    if ask is not None:
        accept.reference.data = req.reference
        accept.week.data = ask.week.week
        accept.minutes.data = str(ask.minutes)
        accept.window_start.data = hhmm(ask.window[0]) if ask.window else ""
        accept.window_end.data = hhmm(min(ask.window[1], 23 * 60 + 59)) if ask.window else ""
        accept.lat.data, accept.lon.data = (str(x) for x in ask.point)
    return render_template(
        "dispatch/door_plan.html",
        district=district,
        req=req,
        weeks=weeks,
        ask=ask,
        result=result,
        problem=problem,
        refused=refused,
        services=services,
        people=people_of(district),
        accept=accept,
        decline=decline or DeclineForm(formdata=None, reference=req.reference),
        option_key=svc.option_key,
        labels=_labels(ask),
    )


def _labels(ask: svc.PlanAsk | None) -> dict[str, str]:
    """Published visits of the week by id, named by their stop, for the options' table."""
    if ask is None:
        return {}
    return {str(v.id): v.stop.name for v in ask.week.visits}


@bp.post("/districts/<code>/door-to-door/accept")
def door_accept(code: str) -> Any:
    district = _district(code)
    form = AcceptForm()
    req = _request_of(district, form.reference.data) if form.validate_on_submit() else None
    if req is None:
        flash(_("Choose a request from the list."), "error")
        return redirect(url_for("dispatch.door_requests", code=code))
    weeks = svc.district_weeks(district, china_now().date())
    try:
        ask = _ask(district, req, request.form, weeks)
    except PlanProblem as exc:
        return _plan_page(district, req, weeks, None, None, exc), 422
    user = signed_in_user()
    try:
        decision = svc.accept(district, req, ask, form.option.data or "", user)
    except svc.DoorError as exc:
        db.session.rollback()
        message = (
            _("This option no longer keeps every published time; choose again.")
            if isinstance(exc, svc.OptionGone)
            else _("This request was already answered.")
        )
        result = svc.options(district, req, ask) if req.status == "received" else None
        return _plan_page(district, req, weeks, ask, result, refused=message), 409
    flash(
        _(
            "Accepted: %(date)s %(start)s–%(end)s, van %(van)s.",
            date=decision.date.isoformat() if decision.date else "",
            start=hhmm(decision.start or 0),
            end=hhmm(decision.end or 0),
            van=req.visit.van_id if req.visit else "",
        ),
        "ok",
    )
    return redirect(url_for("dispatch.door_plan", code=code, ref=req.reference))


@bp.post("/districts/<code>/door-to-door/decline")
def door_decline(code: str) -> Any:
    district = _district(code)
    form = DeclineForm()
    valid = form.validate_on_submit()
    req = _request_of(district, form.reference.data)
    if req is None:
        flash(_("Choose a request from the list."), "error")
        return redirect(url_for("dispatch.door_requests", code=code))
    weeks = svc.district_weeks(district, china_now().date())
    if not valid:
        return _plan_page(district, req, weeks, None, None, decline=form), 422
    user = signed_in_user()
    try:
        svc.decline(district, req, (form.reason.data or "").strip(), user)
    except svc.DoorError:
        db.session.rollback()
        refused = _("This request was already answered.")
        return _plan_page(district, req, weeks, None, None, refused=refused), 409
    flash(_("Declined; the firm sees the reason on its status page."), "ok")
    return redirect(url_for("dispatch.door_plan", code=code, ref=req.reference))


def status_label(status: str) -> str:
    labels = {
        "received": _("Received"),
        "accepted": _("Accepted"),
        "declined": _("Declined"),
        "called_off": _("Called off"),
    }
    return labels.get(status, status)


@bp.app_context_processor
def door_helpers() -> dict[str, Any]:
    return {"status_label": status_label}
