"""Reads for the bureau's figures (`taxvan.statistics`): a district's visits of a period with
what the crew recorded, as plain rows. Counts and codes only go further than the console: the
public totals are made from the same rows, and a taxpayer's ID is read here only to find their
round trip in the registry."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from web.db.district_scope import visit_in_district
from web.db.models import (
    Booking,
    BookingOutcome,
    District,
    PublishedWeek,
    StopRow,
    StreetRow,
    VisitRecord,
    VisitRow,
    WalkIn,
)
from web.db.store import IS_CURRENT_WEEK
from web.extensions import db


@dataclass
class OutcomeRow:
    """A booking with an outcome: served or no-show."""

    outcome: str
    service: str
    taxpayer_id: str
    booked_at: dt.datetime
    """China time, as stored."""


@dataclass
class VisitRowFacts:
    """One visit of the district's current timetable with its record, if any."""

    visit_id: int
    date: dt.date
    start: int
    stop_id: str
    street: str
    stop_point: tuple[float, float]
    called_off: bool
    recorded: bool = False
    turned_away: int = 0
    outcomes: list[OutcomeRow] = field(default_factory=list)
    walk_ins: list[tuple[str, int, str | None]] = field(default_factory=list)
    """(service, count, credit code or None)."""


def visits_with_records(district: District, first: dt.date, last: dt.date) -> list[VisitRowFacts]:
    """The district's visits of current versions from `first` to `last` (a visit moved to a
    new version is counted once: its record moved with it), each with its record."""
    rows = db.session.execute(
        select(VisitRow, StopRow)
        .join(StopRow, StopRow.id == VisitRow.stop_id)
        .where(visit_in_district(district), VisitRow.date >= first, VisitRow.date <= last)
        .order_by(VisitRow.date, VisitRow.van_id, VisitRow.order)
    ).all()
    out = {
        v.id: VisitRowFacts(
            visit_id=v.id,
            date=v.date,
            start=v.start,
            stop_id=v.stop_id,
            street=s.street_code,
            stop_point=(s.lat, s.lon),
            called_off=v.cancelled_at is not None,
        )
        for v, s in rows
    }
    if not out:
        return []
    records = db.session.scalars(select(VisitRecord).where(VisitRecord.visit_id.in_(list(out))))
    by_record: dict[int, VisitRowFacts] = {}
    for r in records:
        facts = out[r.visit_id]
        facts.recorded, facts.turned_away = True, r.turned_away
        by_record[r.id] = facts
    if by_record:
        _outcomes(by_record)
        for w in db.session.scalars(select(WalkIn).where(WalkIn.record_id.in_(list(by_record)))):
            by_record[w.record_id].walk_ins.append((w.service_code, w.count, w.credit_code))
    return list(out.values())


def _outcomes(by_record: dict[int, VisitRowFacts]) -> None:
    rows = db.session.execute(
        select(
            BookingOutcome.record_id,
            BookingOutcome.outcome,
            Booking.service_code,
            Booking.taxpayer_id,
            Booking.created_at,
        )
        .join(Booking, Booking.id == BookingOutcome.booking_id)
        .where(BookingOutcome.record_id.in_(list(by_record)))
        .order_by(BookingOutcome.booking_id)
    )
    for record_id, outcome, service, taxpayer, created in rows:
        by_record[record_id].outcomes.append(OutcomeRow(outcome, service, taxpayer, created))


def weekly_reports(district: District, first_week: str, last_week: str) -> dict[str, Any]:
    """The report of the current version of each of the district's weeks from `first_week` to
    `last_week` (ISO labels), by label."""
    rows = db.session.execute(
        select(PublishedWeek.week, PublishedWeek.report).where(
            PublishedWeek.district_id == district.id,
            IS_CURRENT_WEEK,
            PublishedWeek.week >= first_week,
            PublishedWeek.week <= last_week,
        )
    )
    return {week: report for week, report in rows}


def first_visit_day(district: District) -> dt.date | None:
    """The day of the district's first visit on its current timetable (None: none yet)."""
    return db.session.scalar(
        select(VisitRow.date).where(visit_in_district(district)).order_by(VisitRow.date).limit(1)
    )


def street_names(district: District) -> dict[str, tuple[str, str]]:
    """The district's street codes -> (Chinese name, English name)."""
    rows = db.session.execute(
        select(StreetRow.code, StreetRow.name, StreetRow.name_en).where(
            StreetRow.district_id == district.id
        )
    )
    return {code: (zh, en) for code, zh, en in rows}
