"""Writing notices into the outbox table, inside the caller's transaction.

A notice is written in the same transaction as the change it reports (a transactional
outbox): a booking made and its notice commit together or not at all, and a delivery run
later sends only what was committed. Each notice has a unique key (what it is about, e.g.
`reminder:<booking id>`); writing a key that exists already writes nothing, so a reminder run
repeated, or a caller retried, never writes a notice twice.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app
from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    Table,
    bindparam,
    false,
    func,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite

from taxvan.clock import hhmm
from taxvan.notices import NoticeData, NoticeKind, render
from web.clock import china_now
from web.db.driver_sql import run
from web.db.models import Booking, District, Notice, ServiceRow, VisitRow
from web.extensions import db

NOTICES: Table = Notice.__table__  # type: ignore[assignment]


_COLUMNS = (
    "key",
    "kind",
    "lang",
    "phone",
    "text",
    "booking_id",
    "stop_id",
    "district_id",
    "status",
    "attempts",
    "next_attempt_at",
    "created_at",
)
INSERT_ONCE = {
    d.dialect.name: d.insert(NOTICES)
    .values({c: bindparam(c) for c in _COLUMNS})
    .on_conflict_do_nothing(index_elements=["key"])
    .returning(NOTICES.c.id)
    for d in (postgresql, sqlite)
}
"""INSERT a notice unless its key exists, per dialect, built once (a booking writes one)."""


def _insert_once(conn: Connection, values: dict[str, Any]) -> bool:
    """INSERT the notice unless its key exists (ON CONFLICT DO NOTHING, one statement on both
    databases, so a duplicate never fails the caller's transaction); True if written. On
    PostgreSQL it goes straight to the driver like the rest of the booking path (`run`)."""
    return bool(run(conn, INSERT_ONCE[conn.dialect.name], values))


def notice_values(
    kind: NoticeKind | str,
    data: NoticeData,
    *,
    phone: str,
    lang: str,
    key: str,
    booking_id: int | None = None,
    stop_id: str | None = None,
    district_id: int | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """The outbox row of one notice (`notify` writes it): its text rendered now, in `lang`,
    short enough for one SMS."""
    kind = NoticeKind(kind)
    now = (now or china_now()).replace(tzinfo=None)
    return {
        "key": key,
        "kind": kind.value,
        "lang": lang,
        "phone": phone,
        "text": render(kind, data, lang),
        "booking_id": booking_id,
        "stop_id": stop_id,
        "district_id": district_id,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


def notify(
    kind: NoticeKind | str,
    data: NoticeData,
    *,
    phone: str,
    lang: str,
    key: str,
    booking_id: int | None = None,
    stop_id: str | None = None,
    district_id: int | None = None,
    conn: Connection | None = None,
    now: dt.datetime | None = None,
) -> bool:
    """Write one notice to the outbox in the current transaction (the caller commits).

    The text is rendered now, in `lang`, short enough for one SMS. `key` names what the notice
    is about; a notice with the same key already written makes this a no-op (returns False).
    Give `stop_id` or `district_id` so the district's dispatchers see it in their outbox."""
    values = notice_values(
        kind,
        data,
        phone=phone,
        lang=lang,
        key=key,
        booking_id=booking_id,
        stop_id=stop_id,
        district_id=district_id,
        now=now,
    )
    return _insert_once(conn or db.session.connection(), values)


def booking_data(
    booking: Booking, visit: VisitRow, service: ServiceRow, reason: str = ""
) -> NoticeData:
    """What a notice about `booking` says, in the booking's language."""
    en = booking.lang == "en"
    return NoticeData(
        code=booking.code,
        date=visit.date,
        start=hhmm(booking.start),
        end=hhmm(booking.end),
        place=visit.stop.name,
        service=service.name_en if en else service.name_zh,
        reason=reason,
        hotline=current_app.config.get("TAXVAN_HOTLINE", ""),
    )


def booking_key(kind: NoticeKind, booking_id: object, visit_id: object) -> str:
    """The default key of a notice about a booking: `<kind>:<booking id>`; a move by a
    disruption adds the new visit id, as one booking may be moved twice."""
    key = f"{kind.value}:{booking_id}"
    if kind is NoticeKind.VISIT_MOVED:
        key += f":{visit_id}"
    return key


def booking_notice(
    kind: NoticeKind | str,
    booking: Booking,
    *,
    reason: str = "",
    key: str | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """The outbox row of a notice about `booking` (`notify_booking` writes it)."""
    kind = NoticeKind(kind)
    visit, service = booking.visit, booking.service
    return notice_values(
        kind,
        booking_data(booking, visit, service, reason),
        phone=booking.phone,
        lang=booking.lang,
        key=key if key is not None else booking_key(kind, booking.id, visit.id),
        booking_id=booking.id,
        stop_id=visit.stop_id,
        now=now,
    )


def notify_booking(
    kind: NoticeKind | str,
    booking: Booking,
    *,
    reason: str = "",
    key: str | None = None,
    conn: Connection | None = None,
    now: dt.datetime | None = None,
) -> bool:
    """The one call for a notice about a booking, in the current transaction: made, moved,
    cancelled, a reminder, or a visit a disruption cancelled (`visit_cancelled`, with
    `reason`) or moved (`visit_moved`: pass the booking as it is now, at its new visit).

    The booking's visit (with its stop) and service must be loaded or loadable. The default
    key is `booking_key`'s. Returns False if that notice was written before."""
    values = booking_notice(kind, booking, reason=reason, key=key, now=now)
    return _insert_once(conn or db.session.connection(), values)


def notices_of_district(district: District) -> ColumnElement[bool]:
    """The condition "this notice belongs to `district`": its district, or the stop of the
    visit it is about among the stops the district imported. The one place to change when
    stops get a district column."""
    stops = district.rows.get("stops", [])
    clauses = [Notice.district_id == district.id]
    if stops:
        clauses.append(Notice.stop_id.in_(stops))
    return or_(false(), *clauses)


def _district_notices(
    district: District, status: str, kind: str, date: dt.date | None
) -> Select[Notice]:
    q = select(Notice).where(notices_of_district(district))
    if status:
        q = q.where(Notice.status == status)
    if kind:
        q = q.where(Notice.kind == kind)
    if date:
        start = dt.datetime.combine(date, dt.time())
        q = q.where(Notice.created_at >= start, Notice.created_at < start + dt.timedelta(days=1))
    return q.order_by(Notice.created_at.desc(), Notice.id.desc())


def count_notices(
    district: District, status: str = "", kind: str = "", date: dt.date | None = None
) -> int:
    """How many of the district's notices have this status, kind and day of writing (each
    filter left out when empty)."""
    q = _district_notices(district, status, kind, date).order_by(None)
    return db.session.scalar(select(func.count()).select_from(q.subquery())) or 0


def find_notices(
    district: District,
    status: str = "",
    kind: str = "",
    date: dt.date | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[Notice]:
    """The district's notices with this status, kind and day of writing, newest first; a page
    of them with `limit` and `offset`."""
    q = _district_notices(district, status, kind, date)
    if limit is not None:
        q = q.limit(limit).offset(offset)
    return list(db.session.scalars(q))
