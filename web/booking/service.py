"""Booking transactions. Plain functions over the session; the views and the API share them."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from taxvan.booking import (
    BookingError,
    BookingRules,
    PlaceTaken,
    check_taxpayer_limits,
    check_window,
    free_places,
    normalise_mobile,
    slot_starts,
    slots_needed,
    taxpayer_id_problem,
)
from taxvan.clock import hhmm, parse_hhmm
from web.extensions import db
from web.models import Booking, ServiceRow, SlotClaim, VisitRow
from web.store import CHINA, china_now

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def rules() -> BookingRules:
    c = current_app.config
    return BookingRules(
        slot_minutes=c["TAXVAN_SLOT_MINUTES"],
        walkin_share=c["TAXVAN_WALKIN_SHARE"],
        opens_days_before=c["TAXVAN_BOOKING_OPENS_DAYS"],
        closes_hours_before=c["TAXVAN_BOOKING_CLOSES_HOURS"],
        max_open_bookings=c["TAXVAN_MAX_OPEN_BOOKINGS"],
    )


def at(date: dt.date, minutes: int) -> dt.datetime:
    return dt.datetime.combine(date, dt.time(minutes // 60, minutes % 60), tzinfo=CHINA)


@dataclass(frozen=True)
class SlotView:
    """A start time of a visit for one service, and how many counters are free then."""

    start: str
    end: str
    free: int


def _taken(visit_id: int) -> set[tuple[int, int]]:
    rows = db.session.execute(
        select(SlotClaim.counter, SlotClaim.slot).where(SlotClaim.visit_id == visit_id)
    )
    return {(c, s) for c, s in rows}


def open_slots(
    visit: VisitRow, service: ServiceRow, now: dt.datetime | None = None
) -> list[SlotView]:
    """Start times still bookable for `service` at `visit` (window, walk-ins, claims)."""
    r = rules()
    now = now or china_now()
    starts = slot_starts(visit.start, visit.end, r.slot_minutes)
    length = slots_needed(service.minutes, r.slot_minutes)
    places = free_places(len(starts), visit.counters, length, _taken(visit.id), r.walkin_share)
    free: dict[int, int] = {}
    for p in places:
        free[p.first] = free.get(p.first, 0) + 1
    out = []
    for first, n in sorted(free.items()):
        start = starts[first]
        try:
            check_window(at(visit.date, start), now, r)
        except BookingError:
            continue
        out.append(SlotView(hhmm(start), hhmm(start + length * r.slot_minutes), n))
    return out


@dataclass
class BookingRequest:
    visit_id: int
    start: str
    service: str
    taxpayer_id: str
    name: str
    phone: str


class FieldErrors(BookingError):
    """Per-field validation problems: {field: message}."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


def validate(req: BookingRequest) -> tuple[VisitRow, ServiceRow, int, str, str]:
    errors: dict[str, str] = {}
    visit = db.session.get(VisitRow, req.visit_id) if isinstance(req.visit_id, int) else None
    if visit is None:
        errors["visit_id"] = "no such visit"
    service = db.session.get(ServiceRow, req.service) if req.service else None
    if service is None:
        errors["service"] = "no such service"
    start = -1
    try:
        start = parse_hhmm(req.start)
    except ValueError:
        errors["start"] = "expected a time as HH:MM"
    tid = (req.taxpayer_id or "").strip().upper()
    if problem := taxpayer_id_problem(tid):
        errors["taxpayer_id"] = problem
    name = (req.name or "").strip()
    if not name or len(name) > 100:
        errors["name"] = "enter the name (at most 100 characters)"
    phone = ""
    try:
        phone = normalise_mobile(req.phone)
    except ValueError as exc:
        errors["phone"] = f"{exc}; enter an 11-digit mobile number"
    if visit is not None and start >= 0 and not errors.get("start"):
        step = rules().slot_minutes
        if start < visit.start or start >= visit.end or (start - visit.start) % step:
            errors["start"] = "not a slot of this visit"
    if errors:
        raise FieldErrors(errors)
    assert visit is not None and service is not None
    return visit, service, start, tid, phone


def nearest_alternatives(visit: VisitRow, service: ServiceRow, start: int, n: int = 3) -> list[str]:
    slots = open_slots(visit, service)
    return [s.start for s in sorted(slots, key=lambda s: abs(parse_hhmm(s.start) - start))[:n]]


def book(req: BookingRequest, now: dt.datetime | None = None) -> Booking:
    """Make a booking, or raise FieldErrors, BookingError or PlaceTaken (with alternatives)."""
    visit, service, start, tid, phone = validate(req)
    r = rules()
    now = now or china_now()
    length = slots_needed(service.minutes, r.slot_minutes)
    begin, finish = at(visit.date, start), at(visit.date, start + length * r.slot_minutes)
    check_window(begin, now, r)
    if start + length * r.slot_minutes > visit.end:
        raise BookingError("the service does not fit before the van leaves; choose earlier")
    mine = db.session.scalars(
        select(Booking)
        .join(VisitRow)
        .where(Booking.taxpayer_id == tid, Booking.status == "active", VisitRow.date >= now.date())
    ).all()
    check_taxpayer_limits(
        (begin, finish), [(at(b.visit.date, b.start), at(b.visit.date, b.end)) for b in mine], r
    )
    first = (start - visit.start) // r.slot_minutes
    n_slots = len(slot_starts(visit.start, visit.end, r.slot_minutes))
    for _attempt in range(visit.counters + 1):
        places = [
            p
            for p in free_places(n_slots, visit.counters, length, _taken(visit.id), r.walkin_share)
            if p.first == first
        ]
        if not places:
            break
        place = places[0]
        booking = Booking(
            code=_new_code(),
            visit_id=visit.id,
            service_code=service.code,
            start=start,
            end=start + length * r.slot_minutes,
            counter=place.counter,
            taxpayer_id=tid,
            name=(req.name or "").strip(),
            phone=phone,
            status="active",
            created_at=now.replace(tzinfo=None),
        )
        booking.claims = [
            SlotClaim(visit_id=visit.id, counter=place.counter, slot=first + k)
            for k in range(length)
        ]
        db.session.add(booking)
        try:
            db.session.commit()
            return booking
        except IntegrityError:
            db.session.rollback()  # someone took this counter first; try the next one
    alternatives = nearest_alternatives(visit, service, start)
    raise (
        PlaceTaken("this time is no longer available", alternatives)
        if alternatives
        else (PlaceTaken("this time is no longer available, and the visit is fully booked", []))
    )


def _new_code() -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
        if db.session.scalar(select(Booking.id).where(Booking.code == code)) is None:
            return code


def find(code: str, phone: str) -> Booking:
    """The booking with this code, if the phone matches; the same error either way."""
    try:
        phone = normalise_mobile(phone)
    except ValueError:
        phone = ""
    booking = db.session.scalar(select(Booking).where(Booking.code == (code or "").strip().upper()))
    if booking is None or not phone or not secrets.compare_digest(booking.phone, phone):
        raise BookingError("no booking with this code and phone number")
    return booking


def cancel(code: str, phone: str) -> Booking:
    booking = find(code, phone)
    if booking.status != "active":
        raise BookingError("this booking is already cancelled")
    booking.status = "cancelled"
    booking.claims.clear()
    db.session.commit()
    return booking


def reschedule(code: str, phone: str, visit_id: int, start: str) -> Booking:
    """Move a booking: the new place is booked first, then the old one released."""
    old = find(code, phone)
    if old.status != "active":
        raise BookingError("this booking is already cancelled")
    old.status = "moving"
    old.claims.clear()
    db.session.commit()
    try:
        new = book(
            BookingRequest(visit_id, start, old.service_code, old.taxpayer_id, old.name, old.phone)
        )
    except BookingError:
        restored = db.session.get(Booking, old.id)
        assert restored is not None
        restored.status = "active"
        r = rules()
        visit = restored.visit
        first = (restored.start - visit.start) // r.slot_minutes
        restored.claims = [
            SlotClaim(visit_id=visit.id, counter=restored.counter, slot=first + k)
            for k in range((restored.end - restored.start) // r.slot_minutes)
        ]
        db.session.commit()
        raise
    old = db.session.get(Booking, old.id)
    assert old is not None
    old.status = "moved"
    db.session.commit()
    return new
