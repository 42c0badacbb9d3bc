"""Disruptions: calling off a day (one van or all) or one visit, and moving its bookings.

One disruption is one database transaction: the visits are marked cancelled (kept, with when
and why, so bookings keep their history), each active booking moves to the nearest visit of the
same stop that has room for its service (later or earlier, whichever is nearer in time), or is
cancelled with the reason, and the audit entry is written: all of it, or on any error nothing.

A move goes through the booking service's own insert (`new_booking`), the same as a taxpayer's
reschedule: the unique slot claims, the per-taxpayer cap and no-overlap rule (under the
taxpayer's lock), the walk-in share and the booking window hold for it too, so an alternative
visit that is full is never overfilled.

Locks, so that a booking arriving meanwhile is seen and moved or refused: on SQLite the
transaction holds the database's write lock from its start, and a booking re-reads its visit's
cancellation under that lock (`HELD` in the booking service). On PostgreSQL the disruption
takes the affected taxpayers' advisory locks, then locks the visits concerned (called off and
alternatives) for update, in id order; that waits for bookings whose claims are written (their
foreign key holds a key-share lock on the visit). Left open on PostgreSQL: a booking that read
its visit before the disruption committed and writes its claim after may still land on the
cancelled visit (a narrow window; closing it needs the insert itself to check the visit).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import Connection, select, update
from sqlalchemy.exc import DBAPIError

from taxvan.booking import (
    BookingError,
    LimitReached,
    OverlappingBooking,
    VisitCancelled,
    check_window,
    free_places,
    slot_starts,
    slots_needed,
)
from taxvan.clock import hhmm
from taxvan.errors import TaxvanError
from taxvan.notices import NoticeKind
from web.clock import china_now
from web.db import audit, locks
from web.db.district_scope import visit_in_district
from web.db.models import Booking, District, ServiceRow, User, VisitRow
from web.db.outbox import notify_booking
from web.db.store import IS_CURRENT_VISIT
from web.extensions import db
from web.operations import booking as svc
from web.operations.unit import retryable

REASONS = ("out_of_service", "weather", "road_closed", "other")
"""Why a visit is called off; `other` needs the dispatcher's words."""
MAX_NOTE = 200
SEARCH_DAYS = 14
"""How many days before and after a cancelled visit an alternative visit is looked for (the
booking window, 14 days by default, rules out anything further anyway)."""
ATTEMPTS = 3
"""A disruption meeting a PostgreSQL deadlock (a booking of an affected taxpayer racing it) or
a unique-key conflict is rolled back whole and run again, up to this many times."""


def reason_text(reason: str | None, note: str | None = None) -> str:
    """The reason in the request's language, with the dispatcher's note when there is one."""
    texts = {
        "out_of_service": _("the van is out of service"),
        "weather": _("weather"),
        "road_closed": _("road closed"),
        "other": _("other reason"),
    }
    text = texts.get(reason or "", reason or _("other reason"))
    return f"{text}: {note}" if note else text


class DisruptionError(TaxvanError):
    """A disruption cannot be carried out as asked; `field` names the form field at fault."""

    def __init__(self, field_name: str, message: str) -> None:
        self.field = field_name
        super().__init__(message)


class NothingToCancel(DisruptionError):
    """No visit of the district matches (none that day, all called off already, or past)."""

    def __init__(self) -> None:
        super().__init__("date", "no upcoming visit of this district matches; nothing to cancel")


@dataclass(frozen=True)
class Scope:
    """What to call off: one visit (`visit_id`), or a whole day for one van or every van."""

    date: dt.date | None = None
    van_id: str | None = None
    visit_id: int | None = None


@dataclass(frozen=True)
class VisitInfo:
    """A visit as it was when the disruption read it (plain values, safe after the commit)."""

    id: int
    date: dt.date
    van_id: str
    order: int
    stop_id: str
    stop_name: str
    start: int
    end: int

    @property
    def times(self) -> str:
        return f"{self.date.isoformat()} {hhmm(self.start)}–{hhmm(self.end)}"


@dataclass(frozen=True)
class Notice:
    """One affected booking: what its taxpayer must be told (the notifier's input).

    `new_visit` and `new_code` are None when the booking was cancelled."""

    booking_id: int
    code: str
    name: str
    phone: str
    service_code: str
    old_visit: VisitInfo
    old_start: int
    old_end: int
    new_visit: VisitInfo | None
    new_code: str | None
    new_start: int | None
    new_end: int | None
    reason: str
    note: str | None

    @property
    def moved(self) -> bool:
        return self.new_visit is not None


@dataclass
class Disruption:
    """What a disruption did (or, previewed, would do)."""

    scope: Scope
    reason: str
    note: str | None
    visits: list[VisitInfo]
    notices: list[Notice] = field(default_factory=list)
    applied: bool = False

    @property
    def moved(self) -> list[Notice]:
        return [n for n in self.notices if n.moved]

    @property
    def cancelled(self) -> list[Notice]:
        return [n for n in self.notices if not n.moved]


def check_reason(reason: str, note: str | None) -> str | None:
    """The note to store (stripped, None if empty), or DisruptionError naming the field."""
    if reason not in REASONS:
        raise DisruptionError("reason", f"the reason is one of {', '.join(REASONS)}")
    text = (note or "").strip()
    if len(text) > MAX_NOTE:
        raise DisruptionError("note", f"the note has {len(text)} characters; at most {MAX_NOTE}")
    if reason == "other" and not text:
        raise DisruptionError("note", "say what the other reason is")
    return text or None


def _scope_query(district: District, scope: Scope, now: dt.datetime) -> Any:
    """Visits of the district in `scope` not called off yet and not over by `now`."""
    q = select(VisitRow.id).where(visit_in_district(district), VisitRow.cancelled_at.is_(None))
    if scope.visit_id is not None:
        q = q.where(VisitRow.id == scope.visit_id)
    else:
        if scope.date is None:
            raise DisruptionError("date", "choose a day or a visit")
        q = q.where(VisitRow.date == scope.date)
        if scope.van_id:
            q = q.where(VisitRow.van_id == scope.van_id)
    q = q.where(VisitRow.date >= now.date())
    return q


def _visit_info(v: VisitRow) -> VisitInfo:
    return VisitInfo(v.id, v.date, v.van_id, v.order, v.stop_id, v.stop.name, v.start, v.end)


def _active_bookings(conn: Connection, visit_ids: Sequence[int]) -> list[Any]:
    b = svc.BOOKINGS
    return list(
        conn.execute(
            select(b)
            .where(b.c.visit_id.in_(visit_ids), b.c.status == "active")
            .order_by(b.c.visit_id, b.c.start, b.c.id)
        )
    )


def _taken(conn: Connection, visit_id: int) -> set[tuple[int, int]]:
    c = svc.CLAIMS
    return {
        (a, s)
        for a, s in conn.execute(select(c.c.counter, c.c.slot).where(c.c.visit_id == visit_id))
    }


def _lock(conn: Connection, taxpayers: set[str], locked: set[str]) -> None:
    """Take the taxpayers' locks not held yet (sorted, so two disruptions agree on order)."""
    for tid in sorted(taxpayers - locked):
        svc.lock_taxpayer(conn, tid)
        locked.add(tid)


def _set_reason(conn: Connection, booking_id: int, reason: str, note: str | None) -> None:
    b = svc.BOOKINGS
    conn.execute(
        update(b).where(b.c.id == booking_id).values(cancel_reason=reason, cancel_note=note)
    )


def _place_for(
    conn: Connection,
    booking: Any,
    service: ServiceRow,
    candidates: Sequence[VisitRow],
    now: dt.datetime,
    reason: str,
) -> Booking | None:
    """Move `booking` to the first candidate visit with a free place for its service, at the
    free start nearest to its old time; the new booking, or None if no candidate has room.

    Every rule of a taxpayer's own move applies (window, walk-ins, claims, cap, overlap)."""
    r = svc.rules()
    length = slots_needed(service.minutes, r.slot_minutes)
    moving = svc.detached(Booking, dict(booking._mapping))
    for v in candidates:
        starts = slot_starts(v.start, v.end, r.slot_minutes)
        places = free_places(len(starts), v.counters, length, _taken(conn, v.id), r.walkin_share)
        firsts = sorted(
            {p.first for p in places}, key=lambda f: (abs(starts[f] - booking.start), f)
        )
        for first in firsts:
            start = starts[first]
            try:
                check_window(svc.at(v.date, start), now, r)
            except BookingError:
                continue
            try:
                new = svc.new_booking(
                    conn,
                    v,
                    service,
                    start,
                    booking.taxpayer_id,
                    booking.name,
                    booking.phone,
                    now,
                    moving=moving,
                    lang=moving.lang,
                    notice=NoticeKind.VISIT_MOVED,
                    reason=reason,
                )
            except OverlappingBooking:
                continue  # another time of this visit may not overlap
            except (LimitReached, VisitCancelled):
                break
            if new is None:  # the place was seen free under the visit's lock: cannot happen
                raise RuntimeError(f"place {v.id}/{start} vanished under its lock")
            return new
    return None


def _candidates(stop_visits: Sequence[VisitRow], old: VisitRow) -> list[VisitRow]:
    """Other visits of the stop, nearest in time to `old` first (later first on a tie)."""
    origin = svc.at(old.date, old.start)

    def distance(v: VisitRow) -> tuple[float, int]:
        delta = (svc.at(v.date, v.start) - origin).total_seconds()
        return (abs(delta), 0 if delta > 0 else 1)

    return sorted((v for v in stop_visits if v.id != old.id), key=distance)


StepHook = Callable[[Notice], None]


def _run(
    district: District,
    scope: Scope,
    reason: str,
    note: str | None,
    actor: str,
    user: User | None,
    now: dt.datetime,
    after_each: StepHook | None,
) -> Disruption:
    """One attempt, inside the open transaction; the caller commits or rolls back."""
    conn = db.session.connection()
    locks.write_lock(conn)  # SQLite: the write lock from the start; PostgreSQL: nothing
    ids = list(db.session.scalars(_scope_query(district, scope, now)))
    if not ids:
        raise NothingToCancel()
    locked: set[str] = set()
    _lock(conn, {b.taxpayer_id for b in _active_bookings(conn, ids)}, locked)
    # Lock the visits called off and every possible alternative, in id order.
    scope_visits = list(
        db.session.scalars(select(VisitRow).where(VisitRow.id.in_(ids)).order_by(VisitRow.id))
    )
    stops = {v.stop_id for v in scope_visits}
    first = min(v.date for v in scope_visits) - dt.timedelta(days=SEARCH_DAYS)
    last = max(v.date for v in scope_visits) + dt.timedelta(days=SEARCH_DAYS)
    concerned = list(
        db.session.scalars(
            select(VisitRow)
            .where(
                VisitRow.stop_id.in_(stops),
                VisitRow.date >= max(first, now.date()),
                VisitRow.date <= last,
                VisitRow.cancelled_at.is_(None),
                IS_CURRENT_VISIT,
            )
            .order_by(VisitRow.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )
    scope_visits = [v for v in concerned if v.id in set(ids)]
    if not scope_visits:  # called off by someone else meanwhile
        raise NothingToCancel()
    bookings = _active_bookings(conn, [v.id for v in scope_visits])
    _lock(conn, {b.taxpayer_id for b in bookings}, locked)  # booked since the first read
    stamp = now.replace(tzinfo=None)
    for v in scope_visits:
        v.cancelled_at, v.cancel_reason, v.cancel_note = stamp, reason, note
    db.session.flush()
    alternatives = [v for v in concerned if v.cancelled_at is None]
    by_id = {v.id: v for v in scope_visits}
    info = {v.id: _visit_info(v) for v in concerned}
    services = {s.code: s for s in db.session.scalars(select(ServiceRow))}
    result = Disruption(scope, reason, note, [info[v.id] for v in scope_visits])
    for b in bookings:
        old = by_id[b.visit_id]
        candidates = _candidates([v for v in alternatives if v.stop_id == old.stop_id], old)
        told = _taxpayer_reason(b.lang, reason, note)
        new = _place_for(conn, b, services[b.service_code], candidates, now, told)
        if new is None:
            svc.release(conn, b.id, "cancelled")
            cancelled = svc.detached(
                Booking, dict(b._mapping), visit=old, service=services[b.service_code]
            )
            notify_booking(NoticeKind.VISIT_CANCELLED, cancelled, reason=told, conn=conn, now=now)
        _set_reason(conn, b.id, reason, note)
        notice = Notice(
            booking_id=b.id,
            code=b.code,
            name=b.name,
            phone=b.phone,
            service_code=b.service_code,
            old_visit=info[old.id],
            old_start=b.start,
            old_end=b.end,
            new_visit=info[new.visit_id] if new is not None else None,
            new_code=new.code if new is not None else None,
            new_start=new.start if new is not None else None,
            new_end=new.end if new is not None else None,
            reason=reason,
            note=note,
        )
        result.notices.append(notice)
        if after_each is not None:
            after_each(notice)
    audit.record(
        "disruption",
        actor=actor,
        user=user,
        district=district,
        details={
            "reason": reason,
            "note": note,
            "date": scope.date.isoformat() if scope.date else None,
            "van": scope.van_id,
            "visits": [v.id for v in scope_visits],
            "moved": {n.code: n.new_code for n in result.moved},
            "cancelled": [n.code for n in result.cancelled],
        },
    )
    db.session.flush()
    return result


def disrupt(
    district: District,
    scope: Scope,
    reason: str,
    note: str | None = None,
    *,
    actor: str,
    user: User | None = None,
    now: dt.datetime | None = None,
    dry_run: bool = False,
    after_each: StepHook | None = None,
) -> Disruption:
    """Call off the visits of `scope`, move or cancel their bookings, record it; one
    transaction. `dry_run` does all of it and rolls back: the confirm page shows exactly what
    the disruption will do. Raises DisruptionError (NothingToCancel) naming the field.

    Each affected taxpayer's notice (visit moved, with the new time and code, or cancelled,
    with the reason in their language) goes into the outbox in the same transaction; the
    returned `notices` list the affected bookings for the console. `after_each` is called
    after each booking is handled (tests use it to fail half-way)."""
    note = check_reason(reason, note)
    now = now or china_now()
    for attempt in range(ATTEMPTS):
        try:
            result = _run(district, scope, reason, note, actor, user, now, after_each)
            if dry_run:
                db.session.rollback()
            else:
                db.session.commit()
                result.applied = True
            return result
        except DBAPIError as exc:
            db.session.rollback()
            if not retryable(exc) or attempt == ATTEMPTS - 1:
                raise
        except BaseException:
            db.session.rollback()
            raise
    raise AssertionError("unreachable")  # pragma: no cover


def _taxpayer_reason(lang: str, reason: str, note: str | None) -> str:
    """The reason in the taxpayer's language (their notice), not the dispatcher's."""
    with force_locale(lang if lang in ("zh", "en") else "zh"):
        return reason_text(reason, note)


def cancellation(visit: VisitRow) -> dict[str, Any] | None:
    """A visit's cancellation as the API and open data show it, or None."""
    if visit.cancelled_at is None:
        return None
    return {
        "cancelled_at": visit.cancelled_at.isoformat(),
        "reason": visit.cancel_reason,
        "note": visit.cancel_note,
    }
