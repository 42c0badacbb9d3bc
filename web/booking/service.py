"""Booking transactions. Plain functions over the session; the views and the API share them.

Every change to a taxpayer's bookings (book, move, cancel) runs in one database transaction
that first takes that taxpayer's lock (`_lock_taxpayer`): the cap on open bookings and the
no-overlap rule are read and decided under it, so requests that arrive together for one
taxpayer are decided one after the other, on SQLite and PostgreSQL alike. Places are
guarded separately by the unique key on `SlotClaim`: two taxpayers racing for one place both
insert the same row and the database lets one win; the loser retries on the next counter.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import joinedload, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from taxvan.booking import (
    BookingError,
    BookingNotFound,
    BookingRules,
    DoesNotFit,
    InvalidFields,
    NotActive,
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
from web.models import Booking, ServiceRow, SlotClaim, StopRow, VisitRow
from web.store import CHINA, china_now

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def rules() -> BookingRules:
    """The booking rules from the app's configuration."""
    c = current_app.config
    return BookingRules(
        slot_minutes=c["TAXVAN_SLOT_MINUTES"],
        walkin_share=c["TAXVAN_WALKIN_SHARE"],
        opens_days_before=c["TAXVAN_BOOKING_OPENS_DAYS"],
        closes_hours_before=c["TAXVAN_BOOKING_CLOSES_HOURS"],
        max_open_bookings=c["TAXVAN_MAX_OPEN_BOOKINGS"],
    )


def at(date: dt.date, minutes: int) -> dt.datetime:
    """The aware China-time moment `minutes` after midnight on `date`."""
    return dt.datetime.combine(date, dt.time(minutes // 60, minutes % 60), tzinfo=CHINA)


@dataclass(frozen=True)
class SlotView:
    """A start time of a visit for one service, and how many counters are free then."""

    start: str
    end: str
    free: int


CLAIMS = SlotClaim.__table__
BOOKINGS = Booking.__table__
VISITS = VisitRow.__table__


def _taken(visit_id: int) -> set[tuple[int, int]]:
    """(counter, slot) pairs of the visit that bookings hold."""
    rows = db.session.connection().execute(
        select(CLAIMS.c.counter, CLAIMS.c.slot).where(CLAIMS.c.visit_id == visit_id)
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
    """What a taxpayer sends to book; nothing in it is trusted until `validate` accepts it."""

    visit_id: int
    start: str
    service: str
    taxpayer_id: str
    name: str
    phone: str


FieldErrors = InvalidFields
"""The name the views used before the domain had the type; the same class."""

MAX_ID = 2**31 - 1
"""Largest id the databases store (32-bit integer keys): anything above is no visit at all."""


def _visit_and_service(
    visit_id: object, service_code: str
) -> tuple[VisitRow | None, ServiceRow | None]:
    """The visit (with its stop and street, which the reply shows) and the service, in one
    query when both exist; ids outside the databases' integer range are no visit at all."""
    good_id = isinstance(visit_id, int) and 0 < visit_id <= MAX_ID
    if good_id and service_code:
        row = db.session.execute(
            select(VisitRow, ServiceRow)
            .join_from(VisitRow, ServiceRow, ServiceRow.code == service_code)
            .options(joinedload(VisitRow.stop).joinedload(StopRow.street))
            .where(VisitRow.id == visit_id)
        ).first()
        if row is not None:
            return row[0], row[1]
    visit = db.session.get(VisitRow, visit_id) if good_id else None
    return visit, (db.session.get(ServiceRow, service_code) if service_code else None)


def validate(req: BookingRequest) -> tuple[VisitRow, ServiceRow, int, str, str]:
    """The visit, service, start minute, taxpayer ID and mobile of a request, or InvalidFields
    naming every bad field at once. Reads only; takes no lock."""
    errors: dict[str, str] = {}
    visit, service = _visit_and_service(req.visit_id, req.service)
    if visit is None:
        errors["visit_id"] = "no such visit"
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
        raise InvalidFields(errors)
    assert visit is not None and service is not None
    return visit, service, start, tid, phone


def nearest_alternatives(visit: VisitRow, service: ServiceRow, start: int, n: int = 3) -> list[str]:
    """Up to `n` still-bookable start times of `visit`, nearest to `start` first."""
    slots = open_slots(visit, service)
    return [s.start for s in sorted(slots, key=lambda s: abs(parse_hhmm(s.start) - start))[:n]]


def _lock_key(taxpayer_id: str) -> int:
    """A signed 64-bit key for PostgreSQL's advisory locks, fixed per taxpayer ID."""
    digest = hashlib.blake2b(taxpayer_id.encode(), digest_size=8, person=b"taxvan-b").digest()
    return int.from_bytes(digest, "big", signed=True)


def _lock_writes() -> None:
    """SQLite: take the database's write lock now (`BEGIN IMMEDIATE`) unless this transaction
    has written already and so holds it. PostgreSQL needs nothing here (row locks do)."""
    conn = db.session.connection()
    if conn.dialect.name != "sqlite":
        return
    raw = conn.connection.dbapi_connection
    if raw is not None and not raw.in_transaction:  # type: ignore[attr-defined]
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _lock_taxpayer(taxpayer_id: str) -> None:
    """Hold the taxpayer's lock until this transaction ends (commit or rollback).

    PostgreSQL: a transaction-level advisory lock on a hash of the ID (READ COMMITTED alone
    lets two "read the bookings, then insert" transactions both pass the check). SQLite:
    `BEGIN IMMEDIATE` takes the database's write lock before the taxpayer's bookings are
    read (Python's sqlite3 otherwise begins lazily at the first write, after the check);
    other writers wait for it up to the busy timeout. A SQLite transaction that has written
    already holds that lock.
    """
    conn = db.session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(taxpayer_id)})
    elif conn.dialect.name == "sqlite":
        _lock_writes()
    else:  # pragma: no cover - the app runs on these two only
        raise RuntimeError(f"no taxpayer lock for {conn.dialect.name}")


def _open_bookings(
    taxpayer_id: str, now: dt.datetime, but: int | None = None
) -> list[tuple[dt.datetime, dt.datetime]]:
    """(start, end) of the taxpayer's active bookings from today on, except booking `but`."""
    b, v = BOOKINGS.c, VISITS.c
    query = (
        select(v.date, b.start, b.end)
        .join_from(BOOKINGS, VISITS, b.visit_id == v.id)
        .where(b.taxpayer_id == taxpayer_id, b.status == "active", v.date >= now.date())
    )
    if but is not None:
        query = query.where(b.id != but)
    return [(at(d, s), at(d, e)) for d, s, e in db.session.connection().execute(query)]


def _retryable(exc: DBAPIError) -> bool:
    """A unique-key conflict (someone took the place or the code) or a PostgreSQL deadlock
    between two moves: the transaction was rolled back and may simply run again."""
    return isinstance(exc, IntegrityError) or getattr(exc.orig, "sqlstate", None) == "40P01"


def _commit_keeping_loaded() -> None:
    """Commit without expiring the loaded objects: the reply is built from what was just
    written, instead of reloading the booking, visit, stop and service afterwards."""
    session = db.session()
    before = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = before


def _locked(taxpayer_id: str, attempts: int, work: Callable[[], Booking | None]) -> Booking | None:
    """Run `work` in one transaction under the taxpayer's lock and commit it.

    `work` returns the booking it added, or None when no place is free. A unique-key
    conflict (at the insert or the commit) rolls everything back and runs `work` again
    (another counter may be free), up to `attempts` times; any error rolls back, so nothing
    is ever half-saved.
    """
    for _attempt in range(attempts):
        try:
            _lock_taxpayer(taxpayer_id)
            booking = work()
            if booking is None:
                db.session.rollback()
                return None
            _commit_keeping_loaded()
            return booking
        except DBAPIError as exc:
            db.session.rollback()
            if not _retryable(exc):
                raise
        except BaseException:
            db.session.rollback()
            raise
    return None


def _new_booking(
    visit: VisitRow,
    service: ServiceRow,
    start: int,
    taxpayer_id: str,
    name: str,
    phone: str,
    now: dt.datetime,
    moving: Booking | None = None,
) -> Booking | None:
    """Inside the locked transaction: check the taxpayer's limits, free `moving`'s place,
    and add a booking on the first free counter at `start` (None if there is none)."""
    r = rules()
    length = slots_needed(service.minutes, r.slot_minutes)
    end = start + length * r.slot_minutes
    check_taxpayer_limits(
        (at(visit.date, start), at(visit.date, end)),
        _open_bookings(taxpayer_id, now, but=moving.id if moving else None),
        r,
    )
    if moving is not None:
        moving.status = "moved"
        moving.claims.clear()
        db.session.flush()  # the old place is free before the new one is chosen
    first = (start - visit.start) // r.slot_minutes
    n_slots = len(slot_starts(visit.start, visit.end, r.slot_minutes))
    places = [
        p
        for p in free_places(n_slots, visit.counters, length, _taken(visit.id), r.walkin_share)
        if p.first == first
    ]
    if not places:
        return None
    counter = places[0].counter
    values = {
        "code": _new_code(),
        "visit_id": visit.id,
        "service_code": service.code,
        "start": start,
        "end": end,
        "counter": counter,
        "taxpayer_id": taxpayer_id,
        "name": name,
        "phone": phone,
        "status": "active",
        "created_at": now.replace(tzinfo=None),
    }
    # Core inserts: two statements, no unit-of-work bookkeeping on the hot path.
    conn = db.session.connection()
    booking_id = conn.execute(insert(BOOKINGS).values(values).returning(BOOKINGS.c.id)).scalar_one()
    claims = [
        {"visit_id": visit.id, "counter": counter, "slot": first + k, "booking_id": booking_id}
        for k in range(length)
    ]
    conn.execute(insert(CLAIMS), claims)
    booking = Booking(id=booking_id, **values, visit=visit, service=service)
    booking.claims = [SlotClaim(**c) for c in claims]
    make_transient_to_detached(booking)  # the row just written, outside the session
    return booking


def _check_time(visit: VisitRow, service: ServiceRow, start: int, now: dt.datetime) -> None:
    """The booking window is open for `start` and the service ends before the van leaves."""
    r = rules()
    check_window(at(visit.date, start), now, r)
    if start + slots_needed(service.minutes, r.slot_minutes) * r.slot_minutes > visit.end:
        raise DoesNotFit(visit.end)


def book(req: BookingRequest, now: dt.datetime | None = None) -> Booking:
    """Make a booking in one transaction, or raise a BookingError subclass saying why
    (InvalidFields, NotOpenYet, BookingClosed, DoesNotFit, OverlappingBooking,
    LimitReached, PlaceTaken with the nearest free times). Nothing is saved on an error."""
    visit, service, start, tid, phone = validate(req)
    now = now or china_now()
    _check_time(visit, service, start, now)
    name = (req.name or "").strip()
    booking = _locked(
        tid,
        visit.counters + 1,
        lambda: _new_booking(visit, service, start, tid, name, phone, now),
    )
    if booking is None:
        raise PlaceTaken(nearest_alternatives(visit, service, start))
    return booking


def _new_code() -> str:
    """A random booking code; the unique key on `code` turns the rare repeat into a retry."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))


def find(code: str, phone: str, for_update: bool = False) -> Booking:
    """The booking with this code, if the phone matches; the same error either way.

    Loads its visit, stop, street and service in the same query (the reply shows them).
    `for_update` takes the booking's row lock (PostgreSQL) or the write lock (SQLite) and
    reads it fresh: a concurrent move or cancel of the same booking has then either finished
    or waits for this transaction.
    """
    try:
        phone = normalise_mobile(phone)
    except ValueError:
        phone = ""
    query = (
        select(Booking)
        .options(
            joinedload(Booking.visit).joinedload(VisitRow.stop).joinedload(StopRow.street),
            joinedload(Booking.service),
        )
        .where(Booking.code == (code or "").strip().upper())
        .execution_options(populate_existing=True)
    )
    if for_update:
        _lock_writes()
        query = query.with_for_update(of=Booking)
    booking = db.session.scalar(query)
    if booking is None or not phone or not secrets.compare_digest(booking.phone, phone):
        raise BookingNotFound()
    return booking


def cancel(code: str, phone: str) -> Booking:
    """Cancel an active booking and free its place, or raise BookingNotFound / NotActive.

    Takes no taxpayer lock: a cancel only lowers the taxpayer's count, and the booking's own
    row lock orders it against a move of the same booking."""
    try:
        booking = find(code, phone, for_update=True)
        if booking.status != "active":
            raise NotActive(booking.code, booking.status)
        conn = db.session.connection()
        conn.execute(delete(CLAIMS).where(CLAIMS.c.booking_id == booking.id))
        conn.execute(update(BOOKINGS).where(BOOKINGS.c.id == booking.id).values(status="cancelled"))
        set_committed_value(booking, "status", "cancelled")
        set_committed_value(booking, "claims", [])
        _commit_keeping_loaded()
    except BaseException:
        db.session.rollback()
        raise
    return booking


def reschedule(
    code: str, phone: str, visit_id: int, start: str, now: dt.datetime | None = None
) -> Booking:
    """Move a booking to another place in one transaction: the new booking is made and the
    old one marked moved (its place freed) together, or, on any error, nothing changes and
    the old booking stays exactly as it was."""
    now = now or china_now()
    old = find(code, phone)
    if old.status != "active":
        raise NotActive(old.code, old.status)
    visit, service, first, tid, phone = validate(
        BookingRequest(visit_id, start, old.service_code, old.taxpayer_id, old.name, old.phone)
    )
    _check_time(visit, service, first, now)

    def move() -> Booking | None:
        moving = find(code, phone, for_update=True)  # fresh, under the taxpayer's lock too
        if moving.status != "active":
            raise NotActive(moving.code, moving.status)
        return _new_booking(visit, service, first, tid, moving.name, phone, now, moving=moving)

    new = _locked(tid, visit.counters + 1, move)
    if new is None:
        raise PlaceTaken(nearest_alternatives(visit, service, first))
    return new
