"""The rules the published schedule always keeps, written once and checked against the database.

Every operation (book, move, cancel, publish, call off, door-to-door, import) keeps them by
construction; `check` reads the database and lists every place one is broken. The stateful
test runs it after each step of random interleavings of the operations, and
`flask --app app check-schedule [--district CODE]` runs it for cron (exit status 1 on a
violation).

- I1: no active booking is on a called-off visit, or on a visit its version replaced.
- I2: no two visits of one van and day overlap, stop or door-to-door visits alike, and each
  lies within the van's shift with room for the crew's lunch.
- I3: a version published from a draft was planned from the version it replaced, and a draft
  is published at most once.
- I4: a call-off carries over a re-publish: the new version's visit of that stop on that day
  stays called off, unless the dispatcher lifted it.
- I5: door-to-door visits carry over a re-publish (checked with I2: no stop visit over one).
- I6: no place is claimed twice or beyond the visit's counters; no active booking without
  its places; no taxpayer over the cap of open bookings; one notice per booking and change,
  and one marked sent by hand is sent, with its time.
- I7: every row belongs to its district: a booking's service and visit are its district's,
  a version's visits are at its district's stops, a door visit's request is its district's.
- I8: the crew's records: none on a called-off visit, and each is its district's (its visit's
  week, its walk-ins' services, its bookings' outcomes).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, select

from taxvan.clock import hhmm
from taxvan.van_day import DayProblem, day_problems
from web.clock import china_now
from web.db.models import (
    Booking,
    BookingOutcome,
    CurrentWeek,
    District,
    DoorRequest,
    DoorVisit,
    Draft,
    Notice,
    PublishedWeek,
    ServiceRow,
    SlotClaim,
    StopRow,
    VisitRecord,
    VisitRow,
    WalkIn,
)
from web.db.outbox import notices_of_district
from web.extensions import db
from web.operations.booking import rules


@dataclass(frozen=True)
class Violation:
    """One broken rule: which (I1-I8), in which district, and what exactly."""

    rule: str
    district: str
    message: str

    def __str__(self) -> str:
        return f"{self.rule} [{self.district}] {self.message}"


def _current_ids(district: District) -> set[int]:
    return set(
        db.session.scalars(
            select(CurrentWeek.published_id).where(CurrentWeek.district_id == district.id)
        )
    )


def _i1(district: District) -> list[Violation]:
    current = _current_ids(district)
    rows = db.session.execute(
        select(Booking.code, VisitRow.id, VisitRow.cancelled_at, VisitRow.published_id)
        .join(VisitRow, Booking.visit_id == VisitRow.id)
        .where(Booking.district_id == district.id, Booking.status == "active")
    ).all()
    out = []
    for code, visit_id, cancelled, published in rows:
        if cancelled is not None:
            out.append(Violation("I1", district.code, f"booking {code} on called-off {visit_id}"))
        elif published not in current:
            out.append(
                Violation("I1", district.code, f"booking {code} on replaced visit {visit_id}")
            )
    return out


def _busy(district: District) -> dict[tuple[str, dt.date], list[tuple[int, int, str]]]:
    """(van, day) -> (start, end, what) of every current stop visit not called off and every
    door-to-door visit."""
    current = _current_ids(district)
    busy: dict[tuple[str, dt.date], list[tuple[int, int, str]]] = defaultdict(list)
    if current:
        for v in db.session.scalars(
            select(VisitRow).where(
                VisitRow.published_id.in_(current), VisitRow.cancelled_at.is_(None)
            )
        ):
            busy[(v.van_id, v.date)].append((v.start, v.end, f"visit {v.id} ({v.stop_id})"))
    for d in db.session.scalars(select(DoorVisit).where(DoorVisit.district_id == district.id)):
        busy[(d.van_id, d.date)].append((d.start, d.end, f"door-to-door {d.request.reference}"))
    return busy


def van_settings(district: District) -> dict[str, dict[str, Any]]:
    """The district's vans' shift and lunch as imported (`district.settings`)."""
    return {v["id"]: v for v in (district.settings or {}).get("vans", [])}


def _i2(district: District) -> list[Violation]:
    vans = van_settings(district)
    out = []
    for (van, day), spans in sorted(_busy(district).items()):
        shift = vans.get(van, {}).get("shift")
        lunch = vans.get(van, {}).get("lunch")
        for p in day_problems(
            spans, tuple(shift) if shift else None, tuple(lunch) if lunch else None
        ):
            out.append(Violation("I2", district.code, f"{van} {day}: {describe(p)}"))
    return out


def describe(p: DayProblem) -> str:
    """A problem of a van's day in words (the check's report, for cron and the tests)."""
    if p.kind == "overlap":
        return f"{p.what[0]} overlaps {p.what[1]}"
    if p.kind == "shift":
        return f"{hhmm(p.start)}-{hhmm(p.end)} outside the shift"
    return f"no room for lunch between {hhmm(p.start)} and {hhmm(p.end)}"


def _i3(district: District) -> list[Violation]:
    rows = db.session.execute(
        select(PublishedWeek.week, PublishedWeek.version, Draft.id, Draft.base_version)
        .join(Draft, PublishedWeek.draft_id == Draft.id)
        .where(PublishedWeek.district_id == district.id)
    ).all()
    return [
        Violation(
            "I3",
            district.code,
            f"{week} version {version} published from draft {draft} planned from {base}",
        )
        for week, version, draft, base in rows
        if base != version - 1
    ]


def _i4(district: District) -> list[Violation]:
    out = []
    weeks = db.session.scalars(
        select(PublishedWeek)
        .where(PublishedWeek.district_id == district.id)
        .order_by(PublishedWeek.week, PublishedWeek.version)
    ).all()
    by_week: dict[str, list[PublishedWeek]] = defaultdict(list)
    for w in weeks:
        by_week[w.week].append(w)
    for label, versions in by_week.items():
        for old, new in itertools.pairwise(versions):
            lifted = {(x["stop_id"], x["date"]) for x in new.lifted or []}
            off = {(v.stop_id, v.date.isoformat()) for v in old.visits if v.cancelled_at}
            for v in new.visits:
                key = (v.stop_id, v.date.isoformat())
                if key in off and key not in lifted and v.cancelled_at is None:
                    out.append(
                        Violation(
                            "I4",
                            district.code,
                            f"{label} version {new.version}: {v.stop_id} {key[1]} was called "
                            "off and is open again without being lifted",
                        )
                    )
    return out


def _i6(district: District) -> list[Violation]:
    out = []
    over = db.session.execute(
        select(Booking.code, SlotClaim.counter, VisitRow.counters)
        .join(SlotClaim, SlotClaim.booking_id == Booking.id)
        .join(VisitRow, SlotClaim.visit_id == VisitRow.id)
        .where(Booking.district_id == district.id, SlotClaim.counter >= VisitRow.counters)
    ).all()
    out += [
        Violation("I6", district.code, f"booking {c} on counter {n} of {m}") for c, n, m in over
    ]
    stray = db.session.execute(
        select(Booking.code, Booking.status, Booking.visit_id, SlotClaim.visit_id)
        .join(SlotClaim, SlotClaim.booking_id == Booking.id)
        .where(
            Booking.district_id == district.id,
            (Booking.status != "active") | (SlotClaim.visit_id != Booking.visit_id),
        )
    ).all()
    out += [
        Violation("I6", district.code, f"{status} booking {c} of visit {v} holds a place of {w}")
        for c, status, v, w in stray
    ]
    unplaced = db.session.scalars(
        select(Booking.code)
        .outerjoin(SlotClaim, SlotClaim.booking_id == Booking.id)
        .where(
            Booking.district_id == district.id,
            Booking.status == "active",
            SlotClaim.id.is_(None),
        )
    ).all()
    out += [Violation("I6", district.code, f"active booking {c} holds no place") for c in unplaced]
    cap = rules().max_open_bookings
    today = china_now().date()
    heavy = db.session.execute(
        select(Booking.taxpayer_id, func.count())
        .join(VisitRow, Booking.visit_id == VisitRow.id)
        .where(
            Booking.district_id == district.id,
            Booking.status == "active",
            VisitRow.date >= today,
        )
        .group_by(Booking.taxpayer_id)
        .having(func.count() > cap)
    ).all()
    out += [
        Violation("I6", district.code, f"taxpayer …{t[-4:]} holds {n} open bookings (cap {cap})")
        for t, n in heavy
    ]
    return out + _notices(district)


def _notices(district: District) -> list[Violation]:
    """I6's notices: one per booking and change; one marked sent by hand is sent, with when."""
    twice = db.session.execute(
        select(Notice.booking_id, Notice.kind, Notice.created_at, func.count())
        .where(Notice.district_id == district.id, Notice.booking_id.is_not(None))
        .group_by(Notice.booking_id, Notice.kind, Notice.created_at)
        .having(func.count() > 1)
    ).all()
    out = [
        Violation("I6", district.code, f"booking {b} told {kind} {n} times at {at}")
        for b, kind, at, n in twice
    ]
    by_hand = db.session.execute(
        select(Notice.id, Notice.status).where(
            notices_of_district(district),
            Notice.sent_by.is_not(None),
            (Notice.status != "sent") | Notice.sent_at.is_(None),
        )
    ).all()
    out += [
        Violation("I6", district.code, f"notice {i} marked sent by hand is {status}, or undated")
        for i, status in by_hand
    ]
    return out


def _i7(district: District) -> list[Violation]:
    out = []
    foreign_stop = db.session.execute(
        select(PublishedWeek.week, VisitRow.id, StopRow.district_id)
        .join(VisitRow, VisitRow.published_id == PublishedWeek.id)
        .join(StopRow, VisitRow.stop_id == StopRow.id)
        .where(PublishedWeek.district_id == district.id, StopRow.district_id != district.id)
    ).all()
    out += [
        Violation("I7", district.code, f"{w}: visit {v} at a stop of district {d}")
        for w, v, d in foreign_stop
    ]
    foreign_visit = db.session.scalars(
        select(Booking.code)
        .join(VisitRow, Booking.visit_id == VisitRow.id)
        .join(PublishedWeek, VisitRow.published_id == PublishedWeek.id)
        .where(Booking.district_id == district.id, PublishedWeek.district_id != district.id)
    ).all()
    out += [
        Violation("I7", district.code, f"booking {c} on another district's visit")
        for c in foreign_visit
    ]
    no_service = db.session.scalars(
        select(Booking.code)
        .outerjoin(
            ServiceRow,
            and_(
                ServiceRow.district_id == Booking.district_id,
                ServiceRow.code == Booking.service_code,
            ),
        )
        .where(Booking.district_id == district.id, ServiceRow.code.is_(None))
    ).all()
    out += [
        Violation("I7", district.code, f"booking {c}: no such service in the district")
        for c in no_service
    ]
    foreign_door = db.session.scalars(
        select(DoorRequest.reference)
        .join(DoorVisit, DoorVisit.request_id == DoorRequest.id)
        .where(DoorVisit.district_id == district.id, DoorRequest.district_id != district.id)
    ).all()
    out += [
        Violation("I7", district.code, f"door-to-door {r} of another district")
        for r in foreign_door
    ]
    return out


def _i8(district: District) -> list[Violation]:
    out = []
    rows = db.session.execute(
        select(VisitRecord.id, VisitRow.id, VisitRow.cancelled_at, PublishedWeek.district_id)
        .join(VisitRow, VisitRecord.visit_id == VisitRow.id)
        .join(PublishedWeek, VisitRow.published_id == PublishedWeek.id)
        .where(
            (VisitRecord.district_id == district.id) | (PublishedWeek.district_id == district.id)
        )
    ).all()
    for record, visit, cancelled, owner in rows:
        if cancelled is not None:
            out.append(Violation("I8", district.code, f"record {record} on called-off {visit}"))
        if owner != district.id:
            out.append(
                Violation("I8", district.code, f"record {record} on visit {visit} of {owner}")
            )
    walk_ins = db.session.scalars(
        select(WalkIn.id)
        .join(VisitRecord, WalkIn.record_id == VisitRecord.id)
        .where(VisitRecord.district_id == district.id, WalkIn.district_id != district.id)
    ).all()
    out += [Violation("I8", district.code, f"walk-in {w} of another district") for w in walk_ins]
    outcomes = db.session.scalars(
        select(Booking.code)
        .join(BookingOutcome, BookingOutcome.booking_id == Booking.id)
        .join(VisitRecord, BookingOutcome.record_id == VisitRecord.id)
        .where(VisitRecord.district_id == district.id, Booking.district_id != district.id)
    ).all()
    out += [
        Violation("I8", district.code, f"outcome of booking {c} of another district")
        for c in outcomes
    ]
    return out


RULES: dict[str, Any] = {
    "I1": _i1,
    "I2": _i2,
    "I3": _i3,
    "I4": _i4,
    "I6": _i6,
    "I7": _i7,
    "I8": _i8,
}
"""Each rule's check (I5 is I2's: door-to-door visits are among the van's busy times)."""


def check(district: District | None = None) -> list[Violation]:
    """Every violation of every rule, in `district` or in every district."""
    districts = (
        [district]
        if district is not None
        else list(db.session.scalars(select(District).order_by(District.code)))
    )
    out: list[Violation] = []
    for d in districts:
        for rule in RULES.values():
            out.extend(rule(d))
    return out
