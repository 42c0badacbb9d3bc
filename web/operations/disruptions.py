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
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import Connection, select, update
from sqlalchemy.exc import IntegrityError

from taxvan.booking import (
    BookingError,
    check_window,
)
from taxvan.clock import hhmm
from taxvan.errors import TaxvanError
from taxvan.notices import NoticeKind
from web.clock import china_now
from web.db import audit
from web.db.district_scope import visit_in_district
from web.db.models import Booking, District, User, VisitRow
from web.db.outbox import notify_booking
from web.db.store import IS_CURRENT_VISIT, services_by_code
from web.extensions import db
from web.operations import booking as svc
from web.operations.moves import Placement, place_booking, ranked_places
from web.operations.records import recorded_visit_ids
from web.operations.unit import Unit, transaction

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


class DisruptionChanged(DisruptionError):
    """The bookings changed since the preview: confirming would do something else than the
    dispatcher saw. Nothing was saved; the page shows the new preview."""

    def __init__(self) -> None:
        super().__init__(
            "date", "bookings changed since the preview; check the new preview and confirm again"
        )


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

    @property
    def fingerprint(self) -> str:
        """What it does, in short: the visits called off and where each booking goes. The
        preview's and the confirmation's are equal exactly when they do the same."""
        parts = [f"v{v.id}" for v in self.visits] + [
            f"{n.code}>{n.new_visit.id if n.new_visit else '-'}@{n.new_start}" for n in self.notices
        ]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


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
    """Visits of the district in `scope` not called off yet, not over by `now`, and without the
    crew's record (the van was there: a recorded visit was held)."""
    q = select(VisitRow.id).where(
        visit_in_district(district),
        VisitRow.cancelled_at.is_(None),
        VisitRow.id.not_in(recorded_visit_ids()),
    )
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


def _active_bookings(
    conn: Connection, visit_ids: Sequence[int], for_update: bool = False
) -> list[Any]:
    """The visits' active bookings; `for_update` locks them (a cancel under way finishes
    first, and its booking is then no longer active)."""
    b = svc.BOOKINGS
    query = (
        select(b)
        .where(b.c.visit_id.in_(visit_ids), b.c.status == "active")
        .order_by(b.c.visit_id, b.c.start, b.c.id)
    )
    return list(conn.execute(query.with_for_update() if for_update else query))


def _taken(conn: Connection, visit_id: int) -> set[tuple[int, int]]:
    c = svc.CLAIMS
    return {
        (a, s)
        for a, s in conn.execute(select(c.c.counter, c.c.slot).where(c.c.visit_id == visit_id))
    }


def _set_reason(conn: Connection, booking_id: int, reason: str, note: str | None) -> None:
    b = svc.BOOKINGS
    conn.execute(
        update(b).where(b.c.id == booking_id).values(cancel_reason=reason, cancel_note=note)
    )


def _place_for(
    u: Unit, booking: Any, old: VisitRow, candidates: Sequence[VisitRow], now: dt.datetime
) -> Placement | None:
    """Move `booking` (its row and code kept) to the first candidate visit with a free place
    for its service, at the free start nearest to its old time; None if no candidate has
    room. Every rule of a taxpayer's own move applies (window, walk-ins, cap, overlap)."""
    r = svc.rules()
    moving = svc.detached(Booking, dict(booking._mapping), visit=old)
    for v in candidates:
        places = ranked_places(u.conn, moving, [v], now)
        # The same time of day first: the taxpayer planned their day around it.
        places.sort(key=lambda p: (abs(p.start - booking.start), p.start, p.counter))
        for place in places:
            try:
                check_window(svc.at(v.date, place.start), now, r)
            except BookingError:
                continue
            try:
                with u.conn.begin_nested():
                    place_booking(u.conn, booking.id, place)
            except IntegrityError:
                continue
            return place
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
    u: Unit,
    district: District,
    scope: Scope,
    reason: str,
    note: str | None,
    actor: str,
    user: User | None,
    now: dt.datetime,
    after_each: StepHook | None,
) -> Disruption:
    """The disruption inside its unit of work; `transaction` commits or rolls back."""
    conn = u.conn
    u.district(district.id, exclusive=True)  # bookings of the district wait, or are done
    ids = list(db.session.scalars(_scope_query(district, scope, now)))
    if not ids:
        raise NothingToCancel()
    bookings = _active_bookings(conn, ids)
    u.lock_taxpayers(b.taxpayer_id for b in bookings)
    u.rows()
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
    if not scope_visits:
        raise NothingToCancel()
    bookings = _active_bookings(conn, [v.id for v in scope_visits], for_update=True)
    stamp = now.replace(tzinfo=None)
    for v in scope_visits:
        v.cancelled_at, v.cancel_reason, v.cancel_note = stamp, reason, note
    db.session.flush()
    alternatives = [v for v in concerned if v.cancelled_at is None]
    by_id = {v.id: v for v in scope_visits}
    info = {v.id: _visit_info(v) for v in concerned}
    services = services_by_code(district.id)
    result = Disruption(scope, reason, note, [info[v.id] for v in scope_visits])
    for b in bookings:
        old = by_id[b.visit_id]
        candidates = _candidates([v for v in alternatives if v.stop_id == old.stop_id], old)
        told = _taxpayer_reason(b.lang, reason, note)
        place = _place_for(u, b, old, candidates, now)
        columns = dict(b._mapping)
        service = services[b.service_code]
        if place is None:
            svc.release(conn, b.id, "cancelled")
            cancelled = svc.detached(Booking, columns, visit=old, service=service)
            notify_booking(NoticeKind.VISIT_CANCELLED, cancelled, reason=told, conn=conn, now=now)
        else:
            columns.update(
                visit_id=place.visit_id, start=place.start, end=place.end, counter=place.counter
            )
            target = next(v for v in alternatives if v.id == place.visit_id)
            moved = svc.detached(Booking, columns, visit=target, service=service)
            notify_booking(NoticeKind.VISIT_MOVED, moved, reason=told, conn=conn, now=now)
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
            new_visit=info[place.visit_id] if place is not None else None,
            new_code=b.code if place is not None else None,
            new_start=place.start if place is not None else None,
            new_end=place.end if place is not None else None,
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
            "moved": {n.code: n.new_visit.times for n in result.moved if n.new_visit},
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
    expect: str | None = None,
    after_each: StepHook | None = None,
) -> Disruption:
    """Call off the visits of `scope`, move or cancel their bookings, record it; one unit of
    work under the district's exclusive lock. `dry_run` does all of it and rolls back: the
    confirm page shows exactly what the disruption will do, and its `fingerprint`; given as
    `expect`, the confirmation refuses (DisruptionChanged, nothing saved) if the outcome
    would differ from what the dispatcher saw. Raises DisruptionError naming the field.

    Each affected taxpayer's notice (visit moved, with the new time, or cancelled, with the
    reason in their language) goes into the outbox in the same transaction; a moved booking
    keeps its code. `after_each` is called after each booking is handled (tests use it to
    fail half-way)."""
    note = check_reason(reason, note)
    now = now or china_now()

    def work(u: Unit) -> Disruption:
        result = _run(u, district, scope, reason, note, actor, user, now, after_each)
        if expect is not None and result.fingerprint != expect:
            raise DisruptionChanged()
        return result

    result = transaction(work, attempts=ATTEMPTS, dry_run=dry_run, keep_loaded=True)
    result.applied = not dry_run
    return result


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
