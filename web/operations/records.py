"""The crew's records of its visits: arrival and departure, each booking served or no-show,
walk-ins by service, taxpayers turned away, a note.

A record is sent from the van's phone, often long after it was written (villages lose signal):
the phone queues it with an id of its own (a UUID) and sends it when the connection returns,
perhaps twice (the answer to the first try may be lost). Each record is the visit's whole
record as the phone had it, so applying one replaces what the visit had; its id is stored
(`AppliedRecord`) with the answer, and the same id sent again returns that answer and changes
nothing.

Records are part of the schedule, so they follow its rules and its lock order:

* only on a visit of the current version of a published week of the crew's district, from the
  visit's day on, and never on a called-off visit (invariant I8); a visit with a record is not
  called off (the van was there: `web.operations.disruptions` leaves it out);
* taken under the district's shared lock (like a booking): a call-off or publish of the
  district, which holds it exclusively, is seen whole or waits;
* every applied record writes an audit entry with what it changed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from taxvan.booking import taxpayer_id_problem
from taxvan.errors import TaxvanError
from web.clock import china_now
from web.db import audit
from web.db.district_scope import visit_in_district
from web.db.models import (
    OUTCOMES,
    AppliedRecord,
    Booking,
    BookingOutcome,
    District,
    PublishedWeek,
    ServiceRow,
    User,
    VisitRecord,
    VisitRow,
    WalkIn,
)
from web.extensions import db
from web.operations.unit import Unit, transaction

MAX_NOTE = 500
MAX_COUNT = 999
"""Walk-ins of one service, or taxpayers turned away, at one visit: a typing slip above."""
MAX_WALK_IN_ROWS = 100
DAY_MINUTES = 24 * 60
CLIENT_ID = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
"""The phone names each record with a UUID (`crypto.randomUUID()`)."""
ATTEMPTS = 3
"""Two sends of one record racing each other: the loser's insert of the same id fails, and it
runs again to find the winner's answer."""


class RecordError(TaxvanError):
    """A record cannot be applied; `code` says why (the view words it), `status` how HTTP
    answers."""

    status = 400

    def __init__(self, code: str, problems: Mapping[str, str] | None = None) -> None:
        self.code = code
        self.problems = dict(problems or {})
        super().__init__(code + (f": {self.problems}" if self.problems else ""))


class VisitNotFound(RecordError):
    """No visit of the district's current timetable has this id (another district's, a replaced
    version's, or none)."""

    status = 404

    def __init__(self, visit_id: int) -> None:
        self.visit_id = visit_id
        super().__init__("not_found")


class VisitCalledOff(RecordError):
    """The visit was called off: it takes no records."""

    status = 409

    def __init__(self, visit_id: int) -> None:
        self.visit_id = visit_id
        super().__init__("called_off")


class VisitNotYet(RecordError):
    """The visit's day has not come: there is nothing to record yet."""

    status = 409

    def __init__(self, visit_id: int, date: dt.date) -> None:
        self.visit_id, self.date = visit_id, date
        super().__init__("not_yet")


class IdReused(RecordError):
    """This record id was applied to another visit: the phone must give each record its own."""

    status = 409

    def __init__(self, client_id: str) -> None:
        self.client_id = client_id
        super().__init__("id_reused")


class RecordInvalid(RecordError):
    """Fields of the record cannot be accepted; `problems` maps each field to a code."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        super().__init__("invalid", problems)


@dataclass(frozen=True)
class WalkInCount:
    """Walk-ins of one service; with a credit code, one identified taxpayer."""

    service: str
    count: int = 1
    credit_code: str | None = None


@dataclass(frozen=True)
class VisitReport:
    """One record as the phone sends it: the visit's whole record at that moment."""

    client_id: str
    visit_id: int
    arrival: int | None = None
    """Minutes since midnight, China time; None: not recorded."""
    departure: int | None = None
    outcomes: Mapping[str, str] = field(default_factory=dict)
    """Booking code -> "served" or "no_show"; a booking left out has no outcome (yet)."""
    walk_ins: Sequence[WalkInCount] = ()
    turned_away: int = 0
    note: str = ""


@dataclass(frozen=True)
class RecordResult:
    """What applying a record answered; `replayed` when the id had been applied before."""

    answer: dict[str, Any]
    replayed: bool


# --- checking a record ------------------------------------------------------------------------


def _count_problem(value: int, least: int) -> str | None:
    if not isinstance(value, int) or isinstance(value, bool):
        return "number"
    if value < least or value > MAX_COUNT:
        return "range"
    return None


def _time_problems(report: VisitReport) -> dict[str, str]:
    problems: dict[str, str] = {}
    for name in ("arrival", "departure"):
        value = getattr(report, name)
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < DAY_MINUTES
        ):
            problems[name] = "time"
    if (
        not problems
        and report.arrival is not None
        and report.departure is not None
        and report.departure < report.arrival
    ):
        problems["departure"] = "before_arrival"
    return problems


def _walk_in_problems(report: VisitReport, services: set[str]) -> dict[str, str]:
    problems: dict[str, str] = {}
    if len(report.walk_ins) > MAX_WALK_IN_ROWS:
        return {"walk_ins": "range"}
    for i, w in enumerate(report.walk_ins):
        key = f"walk_ins.{i}"
        if w.service not in services:
            problems[f"{key}.service"] = "service"
        if (p := _count_problem(w.count, 1)) is not None:
            problems[f"{key}.count"] = p
        if w.credit_code:
            if taxpayer_id_problem(w.credit_code) is not None:
                problems[f"{key}.credit_code"] = "credit_code"
            elif w.count != 1:
                problems[f"{key}.count"] = "one_per_code"
    return problems


def check_report(report: VisitReport, services: set[str], bookings: set[str]) -> None:
    """Raise RecordInvalid with every problem of `report`, given the district's service codes
    and the codes of the visit's active bookings."""
    problems: dict[str, str] = {}
    if not CLIENT_ID.match(report.client_id or ""):
        problems["client_id"] = "client_id"
    problems.update(_time_problems(report))
    for code, outcome in report.outcomes.items():
        if code not in bookings:
            problems[f"outcomes.{code}"] = "booking"
        elif outcome not in OUTCOMES:
            problems[f"outcomes.{code}"] = "outcome"
    problems.update(_walk_in_problems(report, services))
    if (p := _count_problem(report.turned_away, 0)) is not None:
        problems["turned_away"] = p
    if len(report.note or "") > MAX_NOTE:
        problems["note"] = "long"
    if problems:
        raise RecordInvalid(problems)


# --- reading ------------------------------------------------------------------------------------


def summary(record: VisitRecord | None) -> dict[str, Any] | None:
    """A record as plain values: the phone's answer, the audit entry, the page."""
    if record is None:
        return None
    return {
        "visit_id": record.visit_id,
        "arrival": record.arrival,
        "departure": record.departure,
        "outcomes": {o.booking.code: o.outcome for o in record.outcomes},
        "walk_ins": [
            {"service": w.service_code, "count": w.count, "credit_code": w.credit_code}
            for w in record.walk_ins
        ],
        "turned_away": record.turned_away,
        "note": record.note,
    }


def records_of(visit_ids: Sequence[int]) -> dict[int, VisitRecord]:
    """The records of these visits, by visit id (visits without one are left out)."""
    if not visit_ids:
        return {}
    return {
        r.visit_id: r
        for r in db.session.scalars(
            select(VisitRecord).where(VisitRecord.visit_id.in_(list(visit_ids)))
        )
    }


# --- applying -----------------------------------------------------------------------------------


def _visit_locked(district: District, visit_id: int) -> VisitRow:
    visit = db.session.scalar(
        select(VisitRow)
        .where(VisitRow.id == visit_id, visit_in_district(district))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if visit is None:
        raise VisitNotFound(visit_id)
    return visit


def _replay(district: District, client_id: str, visit_id: int) -> RecordResult | None:
    applied = db.session.get(AppliedRecord, client_id)
    if applied is None:
        return None
    record = db.session.get(VisitRecord, applied.record_id)
    if record is None or record.district_id != district.id:
        # Another district's record id: its answer (names, codes, the note) is not this
        # district's to read; to this district the visit is simply not on its timetable.
        raise VisitNotFound(visit_id)
    if applied.answer.get("visit_id") != visit_id and record.visit_id != visit_id:
        # The record moved with its visit's stop and day to a re-published version: the
        # answer names the visit it was sent for; any other visit is another record.
        raise IdReused(client_id)
    return RecordResult(dict(applied.answer), replayed=True)


def _apply(record: VisitRecord, report: VisitReport, bookings: dict[str, Booking]) -> None:
    record.arrival, record.departure = report.arrival, report.departure
    record.turned_away = report.turned_away
    record.note = (report.note or "").strip()
    kept = {o.booking_id: o for o in record.outcomes}
    wanted = {bookings[code].id: outcome for code, outcome in report.outcomes.items()}
    for booking_id, o in kept.items():
        if booking_id not in wanted:
            record.outcomes.remove(o)
    for booking_id, outcome in wanted.items():
        if booking_id in kept:
            kept[booking_id].outcome = outcome
            continue
        # A booking the bureau moved here from a visit recorded before keeps one outcome.
        moved = db.session.get(BookingOutcome, booking_id)
        if moved is not None:
            moved.record, moved.outcome = record, outcome
        else:
            record.outcomes.append(BookingOutcome(booking_id=booking_id, outcome=outcome))
    record.walk_ins.clear()
    db.session.flush()  # the old walk-ins go before the new ones are numbered
    for w in report.walk_ins:
        record.walk_ins.append(
            WalkIn(
                district_id=record.district_id,
                service_code=w.service,
                count=w.count,
                credit_code=w.credit_code or None,
            )
        )


def record_visit(
    district: District,
    report: VisitReport,
    user: User | None,
    *,
    actor: str,
    now: dt.datetime | None = None,
) -> RecordResult:
    """Apply the crew's record `report` of a visit of `district` (its whole record), once per
    record id; audited. Raises VisitNotFound, VisitCalledOff, VisitNotYet, IdReused or
    RecordInvalid (nothing saved)."""
    now = now or china_now()

    def work(u: Unit) -> RecordResult:
        u.district(district.id, exclusive=False)
        u.rows()
        if (replayed := _replay(district, report.client_id, report.visit_id)) is not None:
            return replayed
        visit = _visit_locked(district, report.visit_id)
        if visit.cancelled_at is not None:
            raise VisitCalledOff(visit.id)
        if visit.date > now.date():
            raise VisitNotYet(visit.id, visit.date)
        bookings = {
            b.code: b
            for b in db.session.scalars(
                select(Booking).where(Booking.visit_id == visit.id, Booking.status == "active")
            )
        }
        services = set(
            db.session.scalars(select(ServiceRow.code).where(ServiceRow.district_id == district.id))
        )
        check_report(report, services, set(bookings))
        stamp = now.replace(tzinfo=None)
        record = db.session.scalar(select(VisitRecord).where(VisitRecord.visit_id == visit.id))
        before = summary(record)
        if record is None:
            record = VisitRecord(
                visit_id=visit.id, district_id=district.id, created_at=stamp, updated_at=stamp
            )
            db.session.add(record)
        _apply(record, report, bookings)
        record.recorded_by = user.id if user is not None else None
        record.updated_at = stamp
        db.session.flush()
        after = summary(record)
        answer = {
            "client_id": report.client_id,
            "visit_id": visit.id,
            "status": "recorded",
            "record": after,
            "updated_at": stamp.isoformat(),
        }
        db.session.add(
            AppliedRecord(
                client_id=report.client_id,
                record_id=record.id,
                user_id=user.id if user is not None else None,
                received_at=stamp,
                answer=answer,
            )
        )
        audit.record(
            "visit_record",
            actor=actor,
            user=user,
            district=district,
            details={
                "visit": visit.id,
                "stop": visit.stop_id,
                "date": visit.date.isoformat(),
                "client_id": report.client_id,
                "before": before,
                "after": after,
            },
        )
        db.session.flush()
        return RecordResult(answer, replayed=False)

    return transaction(work, attempts=ATTEMPTS, keep_loaded=True)


# --- the schedule's other operations ------------------------------------------------------------


def carry_records(current: PublishedWeek | None, new: PublishedWeek) -> int:
    """Move the records of the current version's visits to the new version's visit of the same
    stop on the same day (not called off, without a record yet): the figures count a visit
    once, whichever version holds it. A record whose stop and day the new version drops stays
    with its visit. Returns how many moved. Publishing calls it under its exclusive lock."""
    if current is None:
        return 0
    records = records_of([v.id for v in current.visits])
    if not records:
        return 0
    free: dict[tuple[str, dt.date], list[VisitRow]] = {}
    for v in sorted(new.visits, key=lambda v: (v.start, v.order)):
        if v.cancelled_at is None:
            free.setdefault((v.stop_id, v.date), []).append(v)
    moved = 0
    for old in sorted(current.visits, key=lambda v: v.id):
        record = records.get(old.id)
        targets = free.get((old.stop_id, old.date))
        if record is None or not targets:
            continue
        record.visit_id = targets.pop(0).id
        moved += 1
    db.session.flush()
    return moved


def recorded_visit_ids() -> Any:
    """A subquery of the visit ids that carry a record (a call-off leaves them out)."""
    return select(VisitRecord.visit_id)
