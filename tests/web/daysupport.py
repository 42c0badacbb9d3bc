"""Shared set-up of the day-sheet and disruption tests: alternative visits, bookings, cleanup.

The demo week visits each stop once, so the tests add other visits of a stop (earlier, later,
a short one with room for two) and remove them, their bookings and every cancellation after:
the PostgreSQL app outlives each test.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select, update
from stdnum.cn import uscc

from tests.conftest import WEEK49, service_row
from web.db.models import Booking, SlotClaim, VisitRow
from web.extensions import db
from web.operations import booking as svc

DAY = WEEK49[0]
"""Monday 30 November 2026: the day the tests call off (the tests' clock is 25 November)."""


def taxpayer_id(n: int) -> str:
    """The n-th valid unified social credit code of the tests."""
    body = f"91370704MA3D{n:05d}"
    return body + uscc.calc_check_digit(body)


def phone(n: int) -> str:
    return f"138{n:08d}"


@dataclass
class Day:
    """The called-off day's visits and the alternatives the tests added."""

    visits: list[Any]
    """id and stop_id of each visit of the day, in order"""
    added: list[int] = field(default_factory=list)


def add_visit(like: VisitRow, days: int, minutes: int | None = None) -> VisitRow:
    """Another visit of `like`'s stop `days` later (earlier if negative), same times, or only
    `minutes` long."""
    v = VisitRow(
        published_id=like.published_id,
        date=like.date + dt.timedelta(days=days),
        van_id=like.van_id,
        order=like.order,
        stop_id=like.stop_id,
        start=like.start,
        end=like.start + minutes if minutes else like.end,
        counters=like.counters,
    )
    db.session.add(v)
    db.session.flush()
    return v


def day_visits() -> list[VisitRow]:
    return list(
        db.session.scalars(
            select(VisitRow).where(VisitRow.date == DAY).order_by(VisitRow.van_id, VisitRow.order)
        )
    )


def book(visit_id: int, n: int, service: str = "consult", start: str | None = None) -> Booking:
    """Book taxpayer `n` at the visit's first open time for `service` (or `start`)."""
    visit = db.session.get(VisitRow, visit_id)
    if start is None:
        start = svc.open_slots(visit, service_row(service))[0].start
    return svc.book(
        svc.BookingRequest(visit_id, start, service, taxpayer_id(n), f"纳税人{n}", phone(n))
    )


def clean(app, added: list[int]) -> None:
    """Remove the bookings, the added visits and every cancellation."""
    with app.app_context():
        db.session.rollback()
        db.session.execute(delete(SlotClaim))
        db.session.execute(delete(Booking))
        if added:
            db.session.execute(delete(VisitRow).where(VisitRow.id.in_(added)))
        db.session.execute(
            update(VisitRow).values(cancelled_at=None, cancel_reason=None, cancel_note=None)
        )
        db.session.commit()
        db.session.remove()
