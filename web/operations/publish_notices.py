"""The list of taxpayers to tell after a publish: who, which booking, old and new time.

Read back from the `BookingChange` rows the publish wrote, so the list downloads again at any
time, for any version; as CSV (UTF-8 with BOM, so Excel shows Chinese) or as an Excel workbook
(openpyxl), both through `web.adapters.spreadsheets`, so a name like `=HYPERLINK(...)` stays
text. Only moved and cancelled bookings are listed: a carried booking needs no notice.
"""

from __future__ import annotations

import dataclasses
import io
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import aliased

from taxvan.clock import hhmm
from taxvan.errors import TaxvanError
from web.adapters.spreadsheets import csv_bytes, write_row
from web.db import audit
from web.db.models import (
    Booking,
    BookingChange,
    District,
    PublishedWeek,
    ServiceRow,
    StopRow,
    User,
    VisitRow,
)
from web.extensions import db
from web.operations.people import People
from web.operations.unit import transaction


@dataclass(frozen=True)
class NoticeRow:
    """One taxpayer to tell."""

    phone: str
    name: str
    code: str
    service: str
    stop: str
    old_time: str
    new_time: str
    """The new date and time, or "cancelled: <reason>"."""
    action: str


def notice_rows(published_id: int, zh: bool = True) -> list[NoticeRow]:
    """The moved and cancelled bookings of the publish that made version `published_id`."""
    old, new = aliased(VisitRow), aliased(VisitRow)
    query = (
        select(BookingChange, Booking, ServiceRow, StopRow, old, new)
        .join(Booking, BookingChange.booking_id == Booking.id)
        .join(
            ServiceRow,
            (Booking.district_id == ServiceRow.district_id)
            & (Booking.service_code == ServiceRow.code),
        )
        .join(old, BookingChange.old_visit_id == old.id)
        .join(StopRow, old.stop_id == StopRow.id)
        .outerjoin(new, BookingChange.new_visit_id == new.id)
        .where(
            BookingChange.published_id == published_id,
            BookingChange.action.in_(("moved", "cancelled")),
        )
        .order_by(old.date, BookingChange.old_start, Booking.code)
    )
    out = []
    for change, booking, service, stop, was, now in db.session.execute(query):
        old_time = f"{was.date.isoformat()} {hhmm(change.old_start)}–{hhmm(change.old_end)}"
        start, end = change.new_start, change.new_end  # a move records its new visit and times
        if change.action == "moved" and now is not None and start is not None and end is not None:
            new_time = f"{now.date.isoformat()} {hhmm(start)}–{hhmm(end)}"
            action = _("moved to a new time")
        else:
            new_time = _("cancelled: %(reason)s", reason=change.reason)
            action = _("cancelled")
        out.append(
            NoticeRow(
                booking.phone,
                booking.name,
                booking.code,
                service.name_zh if zh else service.name_en,
                stop.name,
                old_time,
                new_time,
                action,
            )
        )
    return out


def _header() -> list[str]:
    return [
        _("Phone"),
        _("Name"),
        _("Booking code"),
        _("Service"),
        _("Stop"),
        _("Old time"),
        _("New time"),
        _("Change"),
    ]


def _values(r: NoticeRow) -> list[str]:
    return [r.phone, r.name, r.code, r.service, r.stop, r.old_time, r.new_time, r.action]


def notices_csv(rows: list[NoticeRow]) -> bytes:
    """CSV, UTF-8 with a BOM (Excel then reads the Chinese right), CRLF, no cell a
    spreadsheet would run."""
    return csv_bytes(_header(), [_values(r) for r in rows])


def notices_xlsx(rows: list[NoticeRow], title: str) -> bytes:
    """An Excel workbook with one sheet; phone numbers and codes stay text."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = title[:31]
    write_row(ws, _header())
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for r in rows:
        write_row(ws, _values(r))
    for row in ws.iter_rows(min_row=2, max_col=3):
        for cell in row:
            cell.number_format = "@"
    widths = [14, 12, 12, 16, 24, 24, 28, 10]
    for i, w in enumerate(widths):
        ws.column_dimensions[chr(ord("A") + i)].width = w
    ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def export_notices(
    published_id: int,
    district: District,
    fmt: str,
    actor: str,
    user: User | None = None,
    zh: bool = True,
    file: str | None = None,
    people: People | None = None,
) -> tuple[bytes, int]:
    """The list of taxpayers to tell after the publish that made version `published_id`, as a
    `csv` or `xlsx` file, and how many it names. Names and phones leave the system: the
    download is in the audit log (who, when, which week and version, which format, how many
    taxpayers; `file` for a command that wrote it to disk), saved before the file is handed
    out."""
    version = db.session.get(PublishedWeek, published_id)
    if version is None or version.district_id != district.id:
        raise TaxvanError(f"no published version {published_id} of district {district.code}")
    rows = notice_rows(version.id, zh=zh)
    if people is not None:  # names and phones as the reader may see them
        rows = [
            dataclasses.replace(r, name=people.name(r.name), phone=people.phone(r.phone))
            for r in rows
        ]
    if fmt == "xlsx":
        body = notices_xlsx(rows, f"{version.week} v{version.version}")
    else:
        body = notices_csv(rows)
    details = {
        "week": version.week,
        "version": version.version,
        "format": fmt,
        "rows": len(rows),
    }
    if file is not None:
        details["file"] = file
    transaction(
        lambda _u: audit.record(
            "publish_notices_export", actor=actor, user=user, district=district, details=details
        )
    )
    return body, len(rows)
