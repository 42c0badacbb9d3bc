"""Day sheets for the van crew: each van's stops of a day in order, with times, the taxpayers
booked at each and what to bring; printable (A4), as CSV and Excel, and today's on a phone.

Names and mobile numbers are personal data, shown whole or masked by the console's one rule
(`web.operations.people`): the district's own people see them whole, an administrator of no
district sees the sheet and its downloads masked. Every download is written to the audit log.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.worksheet import Worksheet

from taxvan.clock import hhmm
from web.adapters.spreadsheets import csv_bytes, write_row
from web.clock import china_now
from web.db.models import Booking, District, DoorVisit, ServiceRow, VisitRow
from web.db.queries import active_bookings_at, van_days, visits_of_day
from web.db.store import services_by_code
from web.operations.door import door_visits_of
from web.operations.downloads import log_download
from web.operations.people import People
from web.operations.records import records_of
from web.views.dispatch.blueprint import bp, crew_allowed, district_or_404, people_of
from web.views.dispatch.records import crew_page_context
from web.views.downloads import XLSX, download
from web.views.inputs import BadInput, one_line_problem


@dataclass(frozen=True)
class SheetBooking:
    """A taxpayer booked at a stop (the crew calls them by name and checks the code)."""

    start: int
    end: int
    name: str
    service_code: str
    service_name: str
    phone: str
    code: str
    counter: int


@dataclass
class SheetStop:
    visit: VisitRow
    bookings: list[SheetBooking] = field(default_factory=list)


@dataclass(frozen=True)
class Material:
    """One service booked on the day: how many bookings, and what its taxpayers bring."""

    service: ServiceRow
    count: int

    def name(self) -> str:
        return self.service.name_zh if _zh() else self.service.name_en

    def materials(self) -> str:
        return self.service.materials_zh if _zh() else self.service.materials_en


@dataclass
class DaySheet:
    date: dt.date
    van_id: str
    van_name: str
    stops: list[SheetStop]
    door_to_door: list[DoorVisit]
    """Door-to-door visits of the day (上门服务), with `request` for firm, address, contact."""
    materials: list[Material]

    @property
    def booked(self) -> int:
        return sum(len(s.bookings) for s in self.stops)


def _zh() -> bool:
    return str(get_locale()).startswith("zh")


def door_to_door(district: District, date: dt.date, van_id: str) -> list[DoorVisit]:
    """The door-to-door visits of a van's day (accepted requests), in time order."""
    return door_visits_of(district, van_id, date)


def van_names(district: District) -> dict[str, str]:
    return {v["id"]: v.get("name", v["id"]) for v in district.settings.get("vans", [])}


def sheet_days(district: District, since: dt.date) -> list[tuple[dt.date, list[str]]]:
    """Days from `since` on with visits of the district, each with its vans."""
    days: dict[dt.date, list[str]] = {}
    for date, van in van_days(district, since):
        days.setdefault(date, []).append(van)
    return list(days.items())


def day_sheets(district: District, date: dt.date, van_id: str | None = None) -> list[DaySheet]:
    """The sheets of `date`, one per van (or only `van_id`'s), from the active bookings."""
    visits = visits_of_day(district, date, van_id)
    bookings: dict[int, list[Booking]] = {}
    for b in active_bookings_at([v.id for v in visits]):
        bookings.setdefault(b.visit_id, []).append(b)
    names = van_names(district)
    sheets: dict[str, DaySheet] = {}
    for v in visits:
        sheet = sheets.get(v.van_id)
        if sheet is None:
            sheet = sheets[v.van_id] = DaySheet(
                date,
                v.van_id,
                names.get(v.van_id, v.van_id),
                [],
                door_to_door(district, date, v.van_id),
                [],
            )
        stop = SheetStop(v)
        for b in bookings.get(v.id, []):
            stop.bookings.append(
                SheetBooking(
                    b.start,
                    b.end,
                    b.name,
                    b.service_code,
                    b.service.name_zh if _zh() else b.service.name_en,
                    b.phone,
                    b.code,
                    b.counter + 1,
                )
            )
        sheet.stops.append(stop)
    services = services_by_code(district.id)
    for sheet in sheets.values():
        counts = Counter(b.service_code for s in sheet.stops for b in s.bookings)
        sheet.materials = [
            Material(services[c], n)
            for c, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        ]
    return list(sheets.values())


# --- exports ----------------------------------------------------------------------------------


def _columns() -> list[str]:
    return [
        _("Date"),
        _("Van"),
        _("Order"),
        _("Stop"),
        _("Visit"),
        _("Time"),
        _("Name"),
        _("Service"),
        _("Mobile"),
        _("Booking code"),
        _("Counter"),
    ]


def export_rows(sheets: list[DaySheet], people: People) -> list[list[Any]]:
    """One row per booking (a stop without bookings still gets a row: the crew goes there);
    names and phones as `people` shows them."""
    rows: list[list[Any]] = []
    for sheet in sheets:
        for s in sheet.stops:
            v = s.visit
            visit = f"{hhmm(v.start)}–{hhmm(v.end)}"
            if v.cancelled_at is not None:
                visit += " " + _("(cancelled)")
            base = [sheet.date.isoformat(), sheet.van_id, v.order, v.stop.name, visit]
            if not s.bookings:
                rows.append([*base, "", "", "", "", "", "", ""])
            for b in s.bookings:
                rows.append(
                    [
                        *base,
                        f"{hhmm(b.start)}–{hhmm(b.end)}",
                        people.name(b.name),
                        b.service_name,
                        people.phone(b.phone),
                        b.code,
                        b.counter,
                    ]
                )
    return rows


def _csv(sheets: list[DaySheet], people: People) -> bytes:
    """UTF-8 with a BOM (Excel reads the Chinese), CRLF, no cell a spreadsheet would run."""
    return csv_bytes(_columns(), export_rows(sheets, people))


def _xlsx(sheets: list[DaySheet], people: People) -> bytes:
    """Every name and text as a text cell: a taxpayer named `=HYPERLINK(...)` is no formula."""
    wb = Workbook()
    ws = wb.active
    assert isinstance(ws, Worksheet)  # a new workbook's one, ordinary sheet
    ws.title = _("Day sheet")[:31]
    write_row(ws, _columns())
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in export_rows(sheets, people):
        write_row(ws, row)
    widths = (11, 6, 5, 24, 18, 13, 12, 18, 13, 11, 6)
    for i, width in enumerate(widths):
        ws.column_dimensions[chr(ord("A") + i)].width = width
    for cells in ws.iter_rows(min_row=2):
        for cell in cells:
            cell.alignment = Alignment(vertical="top")
    mats = wb.create_sheet(_("What to bring")[:31])
    write_row(mats, [_("Van"), _("Service"), _("Bookings"), _("Taxpayers bring")])
    for cell in mats[1]:
        cell.font = Font(bold=True)
    for sheet in sheets:
        for m in sheet.materials:
            write_row(mats, [sheet.van_id, m.name(), m.count, m.materials()])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# --- views ------------------------------------------------------------------------------------


def _date_arg() -> dt.date | None:
    try:
        return dt.date.fromisoformat(request.args.get("date", ""))
    except ValueError:
        return None


def _van_arg() -> str | None:
    """The `van` filter; a value with a control character (no van id has one) is refused."""
    van = request.args.get("van") or None
    if van is not None and (problem := one_line_problem(van)):
        raise BadInput({"van": problem})
    return van


@bp.get("/districts/<code>/days")
def days(code: str) -> Any:
    """The days with visits (from today); with `?date=` (and `?van=`) that day's sheets."""
    district = district_or_404(code)
    today = china_now().date()
    date = _date_arg()
    sheets = day_sheets(district, date, _van_arg()) if date else []
    return render_template(
        "dispatch/days.html",
        district=district,
        days=sheet_days(district, today - dt.timedelta(days=7)),
        date=date,
        van=_van_arg(),
        sheets=sheets,
        people=people_of(district),
        today=today,
    )


def _export(code: str, kind: str) -> Any:
    district = district_or_404(code)
    date = _date_arg()
    if date is None:
        flash(_("Choose a day to download."), "error")
        return redirect(url_for("dispatch.days", code=code))
    people = people_of(district)
    van = _van_arg()
    sheets = day_sheets(district, date, van)
    body = _csv(sheets, people) if kind == "csv" else _xlsx(sheets, people)
    log_download(
        "day_sheet_export",
        current_user.id,
        district,
        {
            "date": date.isoformat(),
            "van": van,
            "format": kind,
            "bookings": sum(s.booked for s in sheets),
            "masked": not people.full,
        },
    )
    # The van in the name is the sheets' own (a van of the district), never the query's text.
    vans = sorted({s.van_id for s in sheets})
    part = f"-{vans[0]}" if van and len(vans) == 1 else ""
    name = f"day-{district.code}-{date.isoformat()}{part}.{kind}"
    return download(body, name, "text/csv" if kind == "csv" else XLSX, private=True)


@bp.get("/districts/<code>/days.csv")
def days_csv(code: str) -> Any:
    return _export(code, "csv")


@bp.get("/districts/<code>/days.xlsx")
def days_xlsx(code: str) -> Any:
    return _export(code, "xlsx")


@bp.get("/districts/<code>/today")
@crew_allowed
def today(code: str) -> Any:
    """Today's sheet on a phone (the crew reads it in the van and records each visit on it,
    with or without signal); `?date=` shows another day."""
    district = district_or_404(code)
    date = _date_arg() or china_now().date()
    sheets = day_sheets(district, date, _van_arg())
    return render_template(
        "dispatch/today.html",
        district=district,
        date=date,
        sheets=sheets,
        people=people_of(district),
        records=records_of([st.visit.id for s in sheets for st in s.stops]),
        services=list(services_by_code(district.id).values()),
        recordable=date <= china_now().date(),
        **crew_page_context(code),
    )
