"""Moving a booking the dispatcher's side: to the nearest visit of its stop that has room, or
cancelling it with a reason.

A new timetable version that moves or drops a visit (`web.operations.publishing`) and a
disruption that cancels one both need "put this booking on the nearest visit of the same stop
with room for its service", so it lives here once, beside the taxpayer's own booking
transactions and through the same guarantees: the taxpayer's lock (`web.db.locks`), the cap
and no-overlap rules (`check_taxpayer_limits`), walk-in places kept free (`free_places`) and the
unique key on `SlotClaim`, each attempt inside a savepoint so a place someone else just took
only moves on to the next nearest one. These functions run inside the caller's transaction and
never commit: the caller decides when everything it changed becomes visible, together.

Unlike a taxpayer's own move (`service.reschedule`, a new booking with a new code), the booking
keeps its row and its code: the taxpayer looks it up as before and finds the new time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.exc import IntegrityError

from taxvan.booking import (
    BookingError,
    check_taxpayer_limits,
    free_places,
    slot_starts,
    slots_needed,
)
from web.db.models import Booking, VisitRow
from web.operations.booking import (
    BOOKINGS,
    CLAIMS,
    SERVICES,
    VISITS,
    at,
    insert_claims,
    release,
    rules,
)
from web.operations.unit import Unit


@dataclass(frozen=True)
class Placement:
    """Where a moved booking lands: a visit, its start and end (minutes), the counter."""

    visit_id: int
    date: dt.date
    start: int
    end: int
    counter: int


_MINE = (
    select(BOOKINGS.c.id, VISITS.c.date, BOOKINGS.c.start, BOOKINGS.c.end)
    .join_from(BOOKINGS, VISITS, BOOKINGS.c.visit_id == VISITS.c.id)
    .where(
        BOOKINGS.c.taxpayer_id == bindparam("taxpayer_id"),
        BOOKINGS.c.status == "active",
        BOOKINGS.c.id != bindparam("but"),
        VISITS.c.date >= bindparam("today"),
    )
)
_TAKEN = select(CLAIMS.c.counter, CLAIMS.c.slot).where(
    CLAIMS.c.visit_id == bindparam("visit_id"), CLAIMS.c.booking_id != bindparam("but")
)
_FREE_CLAIMS = CLAIMS.delete().where(CLAIMS.c.booking_id == bindparam("booking_id"))
_PLACE = (
    update(BOOKINGS)
    .where(BOOKINGS.c.id == bindparam("booking_id"))
    .values(
        visit_id=bindparam("new_visit"),
        start=bindparam("new_start"),
        end=bindparam("new_end"),
        counter=bindparam("new_counter"),
    )
)
_REASON = (
    update(BOOKINGS)
    .where(BOOKINGS.c.id == bindparam("booking_id"))
    .values(status_reason=bindparam("reason"))
)


def ranked_places(
    conn: Connection, booking: Booking, candidates: Iterable[VisitRow], now: dt.datetime
) -> list[Placement]:
    """Every place of `candidates` that could take `booking` now, nearest to its current time
    first (then earlier, then the lower counter).

    A place qualifies when its visit has not started, the booking's service fits in free
    consecutive slots outside the walk-in places, and the taxpayer's other active bookings
    neither overlap it nor reach the cap. Reads only."""
    r = rules()
    minutes = conn.execute(
        select(SERVICES.c.minutes).where(
            SERVICES.c.district_id == booking.district_id,
            SERVICES.c.code == booking.service_code,
        )
    ).scalar_one()
    length = slots_needed(minutes, r.slot_minutes)
    was = at(booking.visit.date, booking.start)
    mine = [
        (at(d, a), at(d, b))
        for _id, d, a, b in conn.execute(
            _MINE, {"taxpayer_id": booking.taxpayer_id, "but": booking.id, "today": now.date()}
        )
    ]
    ranked: list[tuple[dt.timedelta, dt.datetime, int, Placement]] = []
    for v in candidates:
        if at(v.date, v.start) <= now:
            continue
        taken = {(c, s) for c, s in conn.execute(_TAKEN, {"visit_id": v.id, "but": booking.id})}
        n_slots = len(slot_starts(v.start, v.end, r.slot_minutes))
        for p in free_places(n_slots, v.counters, length, taken, r.walkin_share):
            start = v.start + p.first * r.slot_minutes
            end = start + length * r.slot_minutes
            when = (at(v.date, start), at(v.date, end))
            try:
                check_taxpayer_limits(when, mine, r)
            except BookingError:
                continue
            place = Placement(v.id, v.date, start, end, p.counter)
            ranked.append((abs(when[0] - was), when[0], p.counter, place))
    ranked.sort(key=lambda t: t[:3])
    return [t[3] for t in ranked]


def place_booking(conn: Connection, booking_id: int, place: Placement) -> None:
    """Put an active booking on `place`: its claims freed and taken again there, its row
    (and so its code) kept. A place already claimed raises IntegrityError."""
    r = rules()
    first = next(
        i
        for i, s in enumerate(
            slot_starts(
                *conn.execute(
                    select(VISITS.c.start, VISITS.c.end).where(VISITS.c.id == place.visit_id)
                ).one(),
                r.slot_minutes,
            )
        )
        if s == place.start
    )
    length = (place.end - place.start) // r.slot_minutes
    conn.execute(_FREE_CLAIMS, {"booking_id": booking_id})
    conn.execute(
        _PLACE,
        {
            "booking_id": booking_id,
            "new_visit": place.visit_id,
            "new_start": place.start,
            "new_end": place.end,
            "new_counter": place.counter,
        },
    )
    insert_claims(conn, booking_id, place.visit_id, place.counter, first, length)


def move_to_nearest(
    u: Unit, booking: Booking, candidates: Iterable[VisitRow], now: dt.datetime
) -> Placement | None:
    """Move `booking` to the nearest place of `candidates` with room (see `ranked_places`),
    under the taxpayer's lock, inside the caller's transaction; None if no place has room.

    Each attempt runs in a savepoint: a place another transaction claimed first fails on
    the unique key and the next nearest is tried, while the caller's other changes stay."""
    u.lock_taxpayers([booking.taxpayer_id])  # held already by a caller that follows the order
    conn = u.conn
    for place in ranked_places(conn, booking, list(candidates), now):
        try:
            with conn.begin_nested():
                place_booking(conn, booking.id, place)
        except IntegrityError:
            continue
        return place
    return None


def cancel_with_reason(conn: Connection, booking_id: int, reason: str) -> None:
    """Cancel a booking for the dispatcher: its places freed, the reason kept with it so the
    taxpayer who looks it up reads why. Inside the caller's transaction."""
    release(conn, booking_id, "cancelled")
    conn.execute(_REASON, {"booking_id": booking_id, "reason": reason[:200]})
