"""Booking pages: choose a time, book, see the confirmation, look up, cancel, move."""

from __future__ import annotations

import re

from flask import (
    Blueprint,
    abort,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _

from taxvan.booking import (
    BookingError,
    InvalidFields,
    NotActive,
    PlaceTaken,
    VisitCancelled,
    VisitEnded,
)
from web.db.models import Booking, VisitRow
from web.db.queries import booking_of, district_current_visit, service_of
from web.extensions import booking_limit, booking_post_limit
from web.operations import booking as svc
from web.views.booking.errors import http_status, user_message
from web.views.booking.forms import (
    BookingForm,
    CancelForm,
    LookupForm,
    ManageForm,
    RescheduleForm,
)
from web.views.inputs import MAX_ROW_ID
from web.views.public import district as here
from web.views.public.views import services_of, upcoming

bp = Blueprint("booking", __name__, url_prefix=here.PREFIX)
here.bind(bp)


def _visit_or_404(visit_id: int) -> VisitRow:
    """The visit, if it is this district's and in the current version of its week: another
    district's visit, or one an earlier version held, is not found here."""
    visit = district_current_visit(here.current(), visit_id)
    if visit is None:
        abort(404)
    return visit


def _not_bookable(visit: VisitRow) -> BookingError | None:
    """Why no time of the visit can be booked at all, whatever is sent: called off, or over."""
    if visit.cancelled_at is not None:
        return VisitCancelled(visit.cancel_reason, visit.cancel_note)
    if svc.ended(visit):
        return VisitEnded(svc.at(visit.date, visit.end))
    return None


def _next_visit(visit: VisitRow) -> VisitRow | None:
    """The stop's next visit that is neither over nor called off: where to go instead."""
    for v in upcoming(visit.stop):
        if v.id != visit.id and v.cancelled_at is None and not svc.ended(v):
            return v
    return None


@bp.route("/visits/<row_id:visit_id>/book", methods=["GET", "POST"])
@booking_post_limit
def book(visit_id: int):
    visit = _visit_or_404(visit_id)
    district_id = here.current().id
    services = services_of(district_id)
    if not services:
        abort(404)
    form = BookingForm()
    zh = str(get_locale()).startswith("zh")
    form.service.choices = [
        (s.code, f"{s.name_zh if zh else s.name_en} ({_('%(minutes)d min', minutes=s.minutes)})")
        for s in services
    ]
    chosen = form.service.data or request.args.get("service") or services[0].code
    service = service_of(district_id, chosen) or services[0]
    form.service.data = service.code
    slots = svc.open_slots(visit, service)
    form.start.choices = [(s.start, f"{s.start}–{s.end}") for s in slots]
    problem = None
    alternatives: list[str] = []
    status = 422 if request.method == "POST" else 200
    closed = _not_bookable(visit)
    if closed is not None:  # called off or over: say so and why, offer nothing
        if request.method == "POST":  # a form sent anyway: refused, as an error
            problem, status = user_message(closed), http_status(closed)
    elif request.method == "POST" and form.validate_on_submit():
        try:
            booking = svc.book(
                svc.BookingRequest(
                    visit.id,
                    form.start.data,
                    service.code,
                    form.taxpayer_id.data,
                    form.name.data,
                    form.phone.data,
                    str(get_locale()),
                )
            )
        except InvalidFields as exc:
            for name, msg in exc.errors.items():
                getattr(form, name if name != "visit_id" else "start").errors.append(msg)
        except BookingError as exc:
            problem, status = user_message(exc), http_status(exc)
            if isinstance(exc, PlaceTaken):
                alternatives = exc.alternatives
                form.start.choices = [
                    (s.start, f"{s.start}–{s.end}") for s in svc.open_slots(visit, service)
                ]
        else:
            session["confirmed"] = booking.code
            return redirect(url_for("booking.confirmed", code=booking.code))
    return render_template(
        "book.html",
        visit=visit,
        form=form,
        service=service,
        slots=slots,
        problem=problem,
        alternatives=alternatives,
        closed=user_message(closed) if closed is not None else None,
        next_visit=_next_visit(visit) if closed is not None else None,
    ), status


@bp.get("/booking/<code>/confirmed")
def confirmed(code: str):
    if session.get("confirmed") != code:
        return redirect(url_for("booking.lookup"))
    booking = booking_of(here.current(), code)
    if booking is None:
        abort(404)
    moved = session.get("moved_from")
    old_code = moved.get("from") if isinstance(moved, dict) and moved.get("to") == code else None
    return render_template(
        "booking.html",
        booking=booking,
        just_booked=True,
        manage=None,
        move=None,
        moves=[],
        old_code=old_code,
    )


def _moves(booking: Booking) -> list[tuple[str, str]]:
    """Other places the booking could move to: its stop's upcoming visits, same service."""
    choices = []
    for v in upcoming(booking.visit.stop, days=14):
        for s in svc.open_slots(v, booking.service):
            choices.append((f"{v.id}|{s.start}", f"{v.date:%m-%d} {s.start}–{s.end}"))
    return choices[:40]


@bp.route("/booking/lookup", methods=["GET", "POST"])
@booking_post_limit
def lookup():
    form = LookupForm()
    problem = None
    if form.validate_on_submit():
        try:
            booking = svc.find(form.code.data, form.phone.data, district_id=here.current().id)
        except BookingError as exc:
            problem = user_message(exc)
            return render_template("lookup.html", form=form, problem=problem), http_status(exc)
        else:
            return _manage_page(booking, form.phone.data)
    return render_template("lookup.html", form=form, problem=problem), (
        422 if request.method == "POST" else 200
    )


def _manage_page(
    booking: Booking,
    phone: str,
    problem: str | None = None,
    status: int = 200,
    ask_cancel: bool = False,
):
    """The booking's page; `ask_cancel` shows, instead of its forms, the question whether to
    cancel it, with the cancel that does it and a way back."""
    manage = CancelForm(formdata=None, code=booking.code, phone=phone)
    move = RescheduleForm(formdata=None, code=booking.code, phone=phone)
    moves = _moves(booking) if booking.status == "active" else []
    move.target.choices = moves
    moved_to = svc.latest(booking) if booking.status == "moved" else None
    follow = (
        ManageForm(formdata=None, code=moved_to.code, phone=phone) if moved_to is not None else None
    )
    return render_template(
        "booking.html",
        booking=booking,
        just_booked=False,
        manage=manage,
        move=move,
        moves=moves,
        problem=problem,
        moved_to=moved_to,
        follow=follow,
        ask_cancel=ask_cancel and booking.status == "active",
    ), status


@bp.post("/booking/cancel")
@booking_limit
def cancel():
    """Cancel a booking, asking first: the booking page's button only shows the question;
    the question's own button (with `confirm=yes`) cancels."""
    form = CancelForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        if form.confirm.data != "yes":
            found = svc.find(form.code.data, form.phone.data, district_id=here.current().id)
            if found.status != "active":
                raise NotActive(found.code, found.status)
            return _manage_page(found, form.phone.data, ask_cancel=True)
        booking = svc.cancel(form.code.data, form.phone.data, district_id=here.current().id)
    except BookingError as exc:
        return _refused(form, exc)
    return _manage_page(booking, form.phone.data)


def _refused(form: ManageForm, exc: BookingError):
    """The booking's page with the reason, or the lookup page if code and phone fail."""
    try:
        booking = svc.find(form.code.data, form.phone.data, district_id=here.current().id)
    except BookingError as not_found:
        return render_template(
            "lookup.html", form=LookupForm(formdata=None), problem=user_message(not_found)
        ), http_status(not_found)
    return _manage_page(booking, form.phone.data, user_message(exc), http_status(exc))


_TARGET = re.compile(r"([0-9]{1,10})\|([0-9]{2}:[0-9]{2})")


def _move_target(text: str) -> tuple[int, str]:
    """`"<visit id>|HH:MM"` from the move form, with an id the database can hold; anything
    else is refused on the booking's own page, naming `target`, and changes nothing."""
    m = _TARGET.fullmatch(text)
    if m is None or not 1 <= int(m.group(1)) <= MAX_ROW_ID:
        raise svc.InvalidFields({"target": "expected a visit and a time as <visit id>|HH:MM"})
    return int(m.group(1)), m.group(2)


@bp.post("/booking/reschedule")
@booking_limit
def reschedule():
    form = RescheduleForm()
    form.target.choices = []
    if not form.validate_on_submit():
        abort(400)
    try:
        visit_id, start = _move_target(form.target.data or "")
        new = svc.reschedule(
            form.code.data, form.phone.data, visit_id, start, district_id=here.current().id
        )
    except BookingError as exc:
        return _refused(form, exc)
    session["confirmed"] = new.code
    session["moved_from"] = {"to": new.code, "from": (form.code.data or "").strip().upper()}
    return redirect(url_for("booking.confirmed", code=new.code))
