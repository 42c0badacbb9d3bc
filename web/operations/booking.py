"""Booking transactions. Plain functions over the session; the views and the API share them.

Every change to a taxpayer's bookings (book, move, cancel) is one unit of work
(`web.operations.unit`) that first takes the district's lock shared and that taxpayer's lock
(`web.db.locks`): the cap on open bookings and the no-overlap rule are read and decided under
them, so requests that arrive together for one taxpayer are decided one after the other, and
a call-off or publish of the district (which holds its lock exclusively) is either seen whole
or waits, on SQLite and PostgreSQL alike. Places are
guarded separately by the unique key on `SlotClaim`: two taxpayers racing for one place both
insert the same row and the database lets one win; the loser retries on the next counter.
"""

from __future__ import annotations

import datetime as dt
import functools
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import (
    Connection,
    Table,
    bindparam,
    delete,
    insert,
    literal_column,
    null,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import ClassManager, configure_mappers, make_transient_to_detached
from sqlalchemy.orm.attributes import manager_of_class, set_committed_value

from taxvan.booking import (
    BookingError,
    BookingNotFound,
    BookingRules,
    DoesNotFit,
    InvalidFields,
    NotActive,
    PlaceTaken,
    VisitCancelled,
    VisitEnded,
    check_taxpayer_limits,
    check_window,
    free_places,
    normalise_mobile,
    slot_starts,
    slots_needed,
    taxpayer_id_problem,
)
from taxvan.clock import CHINA, hhmm, parse_hhmm
from taxvan.notices import NoticeKind
from web.clock import china_now
from web.db import locks
from web.db.driver_sql import run as _run
from web.db.models import (
    Booking,
    CurrentWeek,
    ServiceRow,
    SlotClaim,
    StopRow,
    StreetRow,
    VisitRow,
)
from web.db.outbox import booking_notice, notify_booking
from web.extensions import db
from web.operations.unit import Unit, transaction

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


CLAIMS: Table = SlotClaim.__table__  # type: ignore[assignment]
BOOKINGS: Table = Booking.__table__  # type: ignore[assignment]
VISITS: Table = VisitRow.__table__  # type: ignore[assignment]
STOPS: Table = StopRow.__table__  # type: ignore[assignment]
STREETS: Table = StreetRow.__table__  # type: ignore[assignment]
SERVICES: Table = ServiceRow.__table__  # type: ignore[assignment]
CURRENT: Table = CurrentWeek.__table__  # type: ignore[assignment]

_IS_CURRENT = VISITS.c.published_id.in_(select(CURRENT.c.published_id))
"""The visit belongs to the current version of its week: only those are bookable."""

# The hot path's statements, built once: SQLAlchemy Core over the tables, so a booking pays
# neither for building the statement nor for the ORM's row loading and identity map; the
# rows become detached model objects (`detached`) for the views and templates.

VISIT_WITH_SERVICE = (
    select(*VISITS.c, *STOPS.c, *STREETS.c, *SERVICES.c)
    .join_from(VISITS, STOPS, VISITS.c.stop_id == STOPS.c.id)
    .join(STREETS, STOPS.c.street_code == STREETS.c.code)
    .outerjoin(
        SERVICES,
        (SERVICES.c.district_id == STOPS.c.district_id) & (SERVICES.c.code == bindparam("service")),
    )
    .where(VISITS.c.id == bindparam("visit_id"), _IS_CURRENT)
)
"""A visit of a current version with its stop and street (the reply shows them) and the
service of the visit's district, when it exists."""

_BOOKING_WITH_PLACE = (
    select(*BOOKINGS.c, *VISITS.c, *STOPS.c, *STREETS.c, *SERVICES.c)
    .join_from(BOOKINGS, VISITS, BOOKINGS.c.visit_id == VISITS.c.id)
    .join(STOPS, VISITS.c.stop_id == STOPS.c.id)
    .join(STREETS, STOPS.c.street_code == STREETS.c.code)
    .join(
        SERVICES,
        (BOOKINGS.c.district_id == SERVICES.c.district_id)
        & (BOOKINGS.c.service_code == SERVICES.c.code),
    )
)
"""A booking with its visit, stop, street and district's service: what a reply shows."""
_BOOKING_BY_CODE = _BOOKING_WITH_PLACE.where(BOOKINGS.c.code == bindparam("code"))
BOOKING_BY_CODE_FOR_UPDATE = _BOOKING_BY_CODE.with_for_update(of=BOOKINGS)

HELD = union_all(
    select(literal_column("1"), BOOKINGS.c.id, VISITS.c.date, BOOKINGS.c.start, BOOKINGS.c.end)
    .join_from(BOOKINGS, VISITS, BOOKINGS.c.visit_id == VISITS.c.id)
    .where(
        BOOKINGS.c.taxpayer_id == bindparam("taxpayer_id"),
        BOOKINGS.c.status == "active",
        VISITS.c.date >= bindparam("today"),
    ),
    select(literal_column("0"), CLAIMS.c.booking_id, null(), CLAIMS.c.counter, CLAIMS.c.slot).where(
        CLAIMS.c.visit_id == bindparam("visit_id")
    ),
    select(literal_column("2"), VISITS.c.id, null(), null(), null()).where(
        VISITS.c.id == bindparam("visit_id"), VISITS.c.cancelled_at.is_not(None)
    ),
    select(literal_column("3"), VISITS.c.id, null(), null(), null()).where(
        VISITS.c.id == bindparam("visit_id"), _IS_CURRENT
    ),
)
"""In one round trip: (1, id, date, start, end) for each of the taxpayer's active bookings from
`today` on, (0, booking id, NULL, counter, slot) for each place of the visit that a booking
holds, (2, visit id, NULL, NULL, NULL) if the visit is called off (a disruption committed
since the visit was read: the booking is refused), and (3, visit id, ...) if the visit is
still in a current version. Read under the district's shared lock, which a publish or a
call-off holds exclusively, so a booking never lands on a visit that a new version has just
replaced or a call-off has just cancelled."""

_TAKEN = select(CLAIMS.c.counter, CLAIMS.c.slot).where(CLAIMS.c.visit_id == bindparam("visit_id"))
_INSERT_BOOKING = insert(BOOKINGS).returning(BOOKINGS.c.id)
_INSERT_CLAIMS = insert(CLAIMS)
PG_INSERT_BOOKING_CLAIMS_AND_NOTICE = text(
    "WITH booking AS ("
    ' INSERT INTO bookings (code, visit_id, district_id, service_code, start, "end", counter,'
    " taxpayer_id, name, phone, status, created_at, lang)"
    " VALUES (:code, :visit_id, :district_id, :service_code, :start, :end, :counter,"
    " :taxpayer_id, :name, :phone, :status, :created_at, :lang) RETURNING id),"
    " claims AS (INSERT INTO slot_claims (visit_id, counter, slot, booking_id)"
    " SELECT :visit_id, :counter, slot, booking.id"
    " FROM booking, generate_series(CAST(:first_slot AS integer), CAST(:last_slot AS integer))"
    " AS slot),"
    " notice AS (INSERT INTO notices (key, kind, lang, phone, text, booking_id, stop_id,"
    " district_id, status, attempts, next_attempt_at, created_at)"
    " SELECT CAST(:n_key_head AS text) || booking.id || CAST(:n_key_tail AS text),"
    " CAST(:n_kind AS text), CAST(:n_lang AS text), CAST(:n_phone AS text),"
    " CAST(:n_text AS text), booking.id, CAST(:n_stop_id AS text),"
    " CAST(:n_district_id AS integer), CAST(:n_status AS text), CAST(:n_attempts AS integer),"
    " CAST(:n_next_attempt_at AS timestamp), CAST(:n_created_at AS timestamp)"
    " FROM booking ON CONFLICT (key) DO NOTHING)"
    " SELECT id FROM booking"
)
"""PostgreSQL: the booking, its claims and its notice in one statement (data-modifying WITHs,
all run to completion); a place already claimed fails it on the unique key like separate
inserts would, and the notice's key and booking take the new booking's id."""
_FREE_CLAIMS = delete(CLAIMS).where(CLAIMS.c.booking_id == bindparam("booking_id"))
_SET_STATUS = (
    update(BOOKINGS)
    .where(BOOKINGS.c.id == bindparam("booking_id"))
    .values(status=bindparam("new_status"))
)
PG_RELEASE = text(
    "WITH freed AS (DELETE FROM slot_claims WHERE booking_id = :booking_id)"
    " UPDATE bookings SET status = :new_status WHERE id = :booking_id"
)
"""PostgreSQL: free a booking's places and set its status in one statement."""


@functools.cache
def _manager(cls: type) -> ClassManager:
    """The ORM's instrumentation of a model class, its mappers configured (relationships
    resolved) first, as they are before the ORM's own first load."""
    configure_mappers()
    return manager_of_class(cls)


def detached(cls: type, columns: Mapping[str, object], **related: object) -> Any:
    """A model object from its columns and the related objects given, detached from the
    session: what the views read, without the ORM's row loading.

    The values go straight into the object's state as loaded, unmodified values, as the ORM's
    own loading does (`new_instance` runs no constructor, so no attribute events fire and no
    relationship is looked up); nothing else of the object loads lazily afterwards."""
    obj = _manager(cls).new_instance()
    state = obj.__dict__
    state.update(columns)
    state.update(related)
    make_transient_to_detached(obj)
    return obj


def _split(row: Sequence[object], *tables: Table) -> list[dict[str, object]]:
    """A row of `select(*a.c, *b.c, ...)` cut into {column: value} per table."""
    out, i = [], 0
    for t in tables:
        keys = t.c.keys()
        out.append(dict(zip(keys, row[i : i + len(keys)], strict=True)))
        i += len(keys)
    return out


def _visit_from(
    visit: Mapping[str, object], stop: Mapping[str, object], street: Mapping[str, object]
) -> VisitRow:
    """A detached visit with its stop and street."""
    s = detached(StopRow, stop, street=detached(StreetRow, street))
    v: VisitRow = detached(VisitRow, visit, stop=s)
    return v


def _taken(visit_id: int) -> set[tuple[int, int]]:
    """(counter, slot) pairs of the visit that bookings hold."""
    rows = _run(db.session.connection(), _TAKEN, {"visit_id": visit_id})
    return {(c, s) for c, s in rows}


def open_slots(
    visit: VisitRow, service: ServiceRow, now: dt.datetime | None = None
) -> list[SlotView]:
    """Start times still bookable for `service` at `visit` (window, walk-ins, claims); none
    when the visit is called off."""
    if visit.cancelled_at is not None:
        return []
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
    lang: str = "zh"
    """The language the taxpayer booked in (their notices use it): "zh" or "en"."""


FieldErrors = InvalidFields
"""The name the views used before the domain had the type; the same class."""

MAX_ID = 2**31 - 1
"""Largest id the databases store (32-bit integer keys): anything above is no visit at all."""


_mobile = functools.lru_cache(maxsize=4096)(normalise_mobile)
"""`normalise_mobile`, remembered: parsing a number with phonenumbers costs more than the rest
of validating a booking, and the same few numbers come back (a booking, then its cancel)."""


def _any_service(code: str) -> ServiceRow | None:
    """A service of this code in any district: with no visit, whether the code is one at all."""
    if not code:
        return None
    return db.session.scalar(select(ServiceRow).where(ServiceRow.code == code).limit(1))


def _visit_and_service(
    visit_id: object, service_code: str
) -> tuple[VisitRow | None, ServiceRow | None]:
    """The visit (with its stop and street, which the reply shows) and the service, in one
    query; ids outside the databases' integer range are no visit at all."""
    if not (isinstance(visit_id, int) and 0 < visit_id <= MAX_ID):
        return None, _any_service(service_code)
    rows = _run(
        db.session.connection(),
        VISIT_WITH_SERVICE,
        {"visit_id": visit_id, "service": service_code or ""},
    )
    row = rows[0] if rows else None
    if row is None:
        return None, _any_service(service_code)
    v, stop, street, service = _split(row, VISITS, STOPS, STREETS, SERVICES)
    visit = _visit_from(v, stop, street)
    return visit, (detached(ServiceRow, service) if service["code"] is not None else None)


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
        phone = _mobile(req.phone)
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


def _held(
    conn: Connection, taxpayer_id: str, visit_id: int, now: dt.datetime, but: int | None = None
) -> tuple[list[tuple[dt.datetime, dt.datetime]], set[tuple[int, int]]]:
    """(start, end) of the taxpayer's active bookings from today on, except booking `but`,
    and the (counter, slot) places of the visit that bookings other than `but` hold: one
    statement."""
    mine: list[tuple[dt.datetime, dt.datetime]] = []
    taken: set[tuple[int, int]] = set()
    rows = _run(conn, HELD, {"taxpayer_id": taxpayer_id, "today": now.date(), "visit_id": visit_id})
    current = False
    for own, booking_id, date, a, b in rows:
        if own == 2:
            raise VisitCancelled(None)
        if own == 3:
            current = True
            continue
        if booking_id == but:
            continue
        if own:
            mine.append((at(date, a), at(date, b)))
        else:
            taken.add((a, b))
    if not current:
        raise InvalidFields({"visit_id": "this visit is no longer in the published timetable"})
    return mine, taken


def _locked(
    district_id: int,
    taxpayer_id: str,
    attempts: int,
    work: Callable[[Connection], Booking | None],
) -> Booking | None:
    """Run `work` as one unit of work under the district's shared lock and the taxpayer's
    lock (`web.db.locks`: a call-off or a publish of the district waits for it, and it waits
    for them, then reads what they did), and commit it.

    `work` returns the booking it added, or None when no place is free. A unique-key
    conflict rolls everything back and runs `work` again (another counter may be free), up
    to `attempts` times, then None; any other error rolls back, so nothing is half-saved.
    """

    def locked(u: Unit) -> Booking:
        u.taxpayer_of(district_id, taxpayer_id)
        booking = work(u.conn)
        if booking is None:
            raise _NoPlace  # rolls back what `work` did first (a move's freed place)
        return booking

    try:
        return transaction(locked, attempts=attempts, keep_loaded=True)
    except (IntegrityError, _NoPlace):
        return None


class _NoPlace(Exception):
    """No free place at the asked time: the unit of work is rolled back."""


def new_booking(
    conn: Connection,
    visit: VisitRow,
    service: ServiceRow,
    start: int,
    taxpayer_id: str,
    name: str,
    phone: str,
    now: dt.datetime,
    moving: Booking | None = None,
    lang: str = "zh",
    notice: NoticeKind | None = None,
    reason: str = "",
) -> Booking | None:
    """Inside the locked transaction: check the taxpayer's limits, free `moving`'s place,
    and add a booking on the first free counter at `start` (None if there is none), with
    its notice in the outbox: made, or moved (`notice` and `reason` when the bureau moved it,
    e.g. `VISIT_MOVED` by a disruption)."""
    r = rules()
    length = slots_needed(service.minutes, r.slot_minutes)
    end = start + length * r.slot_minutes
    mine, taken = _held(conn, taxpayer_id, visit.id, now, but=moving.id if moving else None)
    check_taxpayer_limits((at(visit.date, start), at(visit.date, end)), mine, r)
    if moving is not None:
        # The old place is free before the new one is chosen (both in this transaction).
        release(conn, moving.id, "moved")
    first = (start - visit.start) // r.slot_minutes
    n_slots = len(slot_starts(visit.start, visit.end, r.slot_minutes))
    places = [
        p
        for p in free_places(n_slots, visit.counters, length, taken, r.walkin_share)
        if p.first == first
    ]
    if not places:
        return None
    counter = places[0].counter
    values = {
        "code": _new_code(),
        "visit_id": visit.id,
        "district_id": visit.stop.district_id,
        "service_code": service.code,
        "start": start,
        "end": end,
        "counter": counter,
        "taxpayer_id": taxpayer_id,
        "name": name,
        "phone": phone,
        "status": "active",
        "created_at": now.replace(tzinfo=None),
        "lang": lang,
    }
    if notice is None:
        notice = NoticeKind.MOVED if moving is not None else NoticeKind.BOOKED
    if conn.dialect.name == "postgresql":  # the notice in the booking's own statement
        draft = detached(Booking, {"id": _ID_HERE, **values}, visit=visit, service=service)
        told = booking_notice(notice, draft, reason=reason, now=now)
        head, tail = told["key"].split(_ID_HERE)
        params = {f"n_{k}": v for k, v in told.items()}
        params.update(values, n_key_head=head, n_key_tail=tail)
        params.update(first_slot=first, last_slot=first + length - 1)
        booking_id = int(_run(conn, PG_INSERT_BOOKING_CLAIMS_AND_NOTICE, params)[0][0])
    else:
        booking_id = _insert(conn, values, first, length)
    # The row just written, outside the session, with what the reply shows.
    booking: Booking = detached(
        Booking,
        {"id": booking_id, **values},
        visit=visit,
        service=service,
    )
    if conn.dialect.name != "postgresql":
        notify_booking(notice, booking, reason=reason, conn=conn, now=now)
    return booking


_ID_HERE = "\x00id\x00"
"""Where the booking's id goes in its notice's key, before the id exists."""


def _insert(conn: Connection, values: dict[str, Any], first: int, length: int) -> int:
    """SQLite: write a booking and the claims on its `length` slots from `first`; its id.

    Core statements, no unit-of-work bookkeeping (SQLite has no data-modifying WITH; on
    PostgreSQL `new_booking` sends one statement). A place already claimed raises
    IntegrityError."""
    booking_id = int(conn.execute(_INSERT_BOOKING, values).scalar_one())
    insert_claims(conn, booking_id, values["visit_id"], values["counter"], first, length)
    return booking_id


def insert_claims(
    conn: Connection, booking_id: int, visit_id: int, counter: int, first: int, length: int
) -> None:
    """Claim `length` slots from `first` on one counter of a visit for a booking; a place
    already claimed raises IntegrityError (the unique key)."""
    conn.execute(
        _INSERT_CLAIMS,
        [
            {"visit_id": visit_id, "counter": counter, "slot": first + k, "booking_id": booking_id}
            for k in range(length)
        ],
    )


def release(conn: Connection, booking_id: int, status: str) -> None:
    """Free a booking's places and give it `status` (moved, cancelled)."""
    params = {"booking_id": booking_id, "new_status": status}
    if conn.dialect.name == "postgresql":
        _run(conn, PG_RELEASE, params)
    else:
        conn.execute(_FREE_CLAIMS, params)
        conn.execute(_SET_STATUS, params)


def ended(visit: VisitRow, now: dt.datetime | None = None) -> bool:
    """Whether the visit is over: the van has left (its end time has passed)."""
    return at(visit.date, visit.end) <= (now or china_now())


def _check_time(visit: VisitRow, service: ServiceRow, start: int, now: dt.datetime) -> None:
    """The visit is not called off nor over, the booking window is open for `start` and the
    service ends before the van leaves."""
    if visit.cancelled_at is not None:
        raise VisitCancelled(visit.cancel_reason, visit.cancel_note)
    if ended(visit, now):
        raise VisitEnded(at(visit.date, visit.end))
    r = rules()
    check_window(at(visit.date, start), now, r)
    if start + slots_needed(service.minutes, r.slot_minutes) * r.slot_minutes > visit.end:
        raise DoesNotFit(visit.end)


def book(req: BookingRequest, now: dt.datetime | None = None) -> Booking:
    """Make a booking in one transaction, or raise a BookingError subclass saying why
    (InvalidFields, VisitCancelled, VisitEnded, NotOpenYet, BookingClosed, DoesNotFit,
    OverlappingBooking, LimitReached, PlaceTaken with the nearest free times). Nothing is
    saved on an error."""
    visit, service, start, tid, phone = validate(req)
    now = now or china_now()
    _check_time(visit, service, start, now)
    name = (req.name or "").strip()
    booking = _locked(
        visit.stop.district_id,
        tid,
        visit.counters + 1,
        lambda conn: new_booking(
            conn, visit, service, start, tid, name, phone, now, lang=_lang(req.lang)
        ),
    )
    if booking is None:
        raise PlaceTaken(nearest_alternatives(visit, service, start))
    return booking


def _lang(lang: str) -> str:
    return lang if lang in ("zh", "en") else "zh"


def _new_code() -> str:
    """A random booking code; the unique key on `code` turns the rare repeat into a retry."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))


def find(
    code: str, phone: str, for_update: bool = False, district_id: int | None = None
) -> Booking:
    """The booking with this code, if the phone matches (and, given `district_id`, if it is
    that district's); the same error either way.

    Loads its visit, stop, street and service in the same query (the reply shows them) and
    returns them detached from the session, as read: nothing else of them loads lazily.
    `for_update` takes the booking's row lock (PostgreSQL) or the write lock (SQLite) first:
    a concurrent move or cancel of the same booking has then either finished or waits for
    this transaction.
    """
    try:
        phone = _mobile(phone)
    except ValueError:
        phone = ""
    conn = db.session.connection()
    if for_update:
        locks.write_lock(conn)
    rows = _run(
        conn,
        BOOKING_BY_CODE_FOR_UPDATE if for_update else _BOOKING_BY_CODE,
        {"code": (code or "").strip().upper()},
    )
    row = rows[0] if rows else None
    if row is None:
        raise BookingNotFound()
    b, v, stop, street, service = _split(row, BOOKINGS, VISITS, STOPS, STREETS, SERVICES)
    booking: Booking = detached(
        Booking,
        b,
        visit=_visit_from(v, stop, street),
        service=detached(ServiceRow, service),
    )
    if not phone or not secrets.compare_digest(booking.phone, phone):
        raise BookingNotFound()
    if district_id is not None and booking.district_id != district_id:
        raise BookingNotFound()
    return booking


def cancel(code: str, phone: str, district_id: int | None = None) -> Booking:
    """Cancel an active booking and free its place, or raise BookingNotFound / NotActive.

    One unit of work holding only the booking's row lock (level 3 of the lock order; SQLite:
    the write lock): a cancel only frees, so it needs neither the district's nor the
    taxpayer's lock. A call-off or publish that moves bookings reads them `FOR UPDATE` and
    so either sees this booking cancelled or has moved it before it is read here."""

    def work(u: Unit) -> Booking:
        booking = find(code, phone, for_update=True, district_id=district_id)
        if booking.status != "active":
            raise NotActive(booking.code, booking.status)
        release(u.conn, booking.id, "cancelled")
        notify_booking(NoticeKind.CANCELLED, booking, conn=u.conn)
        return booking

    booking = transaction(work, keep_loaded=True)
    set_committed_value(booking, "status", "cancelled")
    set_committed_value(booking, "claims", [])
    return booking


def reschedule(
    code: str,
    phone: str,
    visit_id: int,
    start: str,
    now: dt.datetime | None = None,
    district_id: int | None = None,
) -> Booking:
    """Move a booking to another place of its district in one transaction: the new booking
    is made and the old one marked moved (its place freed) together, or, on any error,
    nothing changes and the old booking stays exactly as it was."""
    now = now or china_now()
    old = find(code, phone, district_id=district_id)
    if old.status != "active":
        raise NotActive(old.code, old.status)
    visit, service, first, tid, phone = validate(
        BookingRequest(visit_id, start, old.service_code, old.taxpayer_id, old.name, old.phone)
    )
    if visit.stop.district_id != old.district_id:  # another district's visit: not one of ours
        raise InvalidFields({"visit_id": "no such visit"})
    _check_time(visit, service, first, now)

    def move(conn: Connection) -> Booking | None:
        moving = find(code, phone, for_update=True)  # fresh, under the taxpayer's lock too
        if moving.status != "active":
            raise NotActive(moving.code, moving.status)
        new = new_booking(
            conn, visit, service, first, tid, moving.name, phone, now, moving, moving.lang
        )
        if new is not None:  # the old code leads to the new booking (`latest`)
            conn.execute(_LINK_MOVED, {"booking_id": moving.id, "moved_to": new.id})
        return new

    new = _locked(old.district_id, tid, visit.counters + 1, move)
    if new is None:
        raise PlaceTaken(nearest_alternatives(visit, service, first))
    return new


# --- where a moved booking went ------------------------------------------------------------

_LINK_MOVED = (
    update(BOOKINGS)
    .where(BOOKINGS.c.id == bindparam("booking_id"))
    .values(moved_to_id=bindparam("moved_to"))
)
"""Record on a booking the taxpayer moved the booking it became (`reschedule`)."""
_MOVED_TO = select(BOOKINGS.c.moved_to_id).where(BOOKINGS.c.id == bindparam("booking_id"))
_BOOKING_BY_ID = _BOOKING_WITH_PLACE.where(BOOKINGS.c.id == bindparam("booking_id"))

MAX_MOVES = 50
"""How many moves `latest` follows at most: far more than a taxpayer makes in a booking
window, few enough that a damaged chain costs little."""


def latest(booking: Booking) -> Booking | None:
    """What `booking` became through the taxpayer's own moves: the end of its `moved_to_id`
    links (at most `MAX_MOVES`, stopping before a booking already seen, so a loop ends),
    loaded as `find` loads a booking (visit, stop, street, service; detached). None when it
    was never moved to another booking.

    The caller has checked the code and phone of `booking`; the booking it leads to counts
    only if it is the same taxpayer's, with the same phone, in the same district (a move
    keeps all three), so a damaged link never shows someone else's booking."""
    target = booking.moved_to_id
    if target is None:
        return None
    conn = db.session.connection()
    seen = {booking.id}
    last = None
    while target is not None and target not in seen and len(seen) <= MAX_MOVES:
        seen.add(target)
        last = target
        rows = _run(conn, _MOVED_TO, {"booking_id": target})
        target = rows[0][0] if rows else None
    if last is None:
        return None
    rows = _run(conn, _BOOKING_BY_ID, {"booking_id": last})
    if not rows:
        return None
    b, v, stop, street, service = _split(rows[0], BOOKINGS, VISITS, STOPS, STREETS, SERVICES)
    found: Booking = detached(
        Booking,
        b,
        visit=_visit_from(v, stop, street),
        service=detached(ServiceRow, service),
    )
    same = (
        found.taxpayer_id == booking.taxpayer_id
        and found.district_id == booking.district_id
        and secrets.compare_digest(found.phone, booking.phone)
    )
    return found if same else None
