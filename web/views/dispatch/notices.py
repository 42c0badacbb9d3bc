"""The district's outbox in the dispatcher console: filter, page, export (CSV, Excel).

The views sit on the console's blueprint, so its access rule holds: a dispatcher sees only
their district's outbox. Phone numbers (and a text that names the taxpayer) are personal data,
shown whole or masked by the console's one rule (`web.operations.people`) on the page and in
the exports alike; every export is in the audit log.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from taxvan.notices import NoticeKind
from web.adapters.spreadsheets import csv_bytes, write_row
from web.db.models import District
from web.db.outbox import count_notices, find_notices
from web.operations.downloads import log_download
from web.operations.notices import (
    HAND_SENDABLE,
    NoticeNotFound,
    NoticeNotOpen,
    mark_sent_by_hand,
)
from web.views.dispatch.blueprint import bp, district_or_404, people_of, signed_in_user
from web.views.dispatch.forms import JobActionForm
from web.views.downloads import XLSX, download
from web.views.inputs import YEARS, BadInput

PAGE_SIZE = 50
STATUSES = ("pending", "sending", "sent", "rejected", "failed")

STATUS_LABELS = {
    "pending": _l("Waiting"),
    "sending": _l("Sending"),
    "sent": _l("Sent"),
    "rejected": _l("Refused by the gateway"),
    "failed": _l("Failed"),
}
KIND_LABELS = {
    NoticeKind.BOOKED: _l("Booking made"),
    NoticeKind.MOVED: _l("Booking moved"),
    NoticeKind.CANCELLED: _l("Booking cancelled"),
    NoticeKind.REMINDER: _l("Reminder"),
    NoticeKind.VISIT_CANCELLED: _l("Visit cancelled"),
    NoticeKind.VISIT_MOVED: _l("Visit moved"),
    NoticeKind.DOOR_ACCEPTED: _l("Door-to-door accepted"),
    NoticeKind.DOOR_DECLINED: _l("Door-to-door declined"),
    NoticeKind.DOOR_CANCELLED: _l("Door-to-door called off"),
}


@dataclass(frozen=True)
class Filters:
    status: str = ""
    kind: str = ""
    date: dt.date | None = None

    def args(self) -> dict[str, str]:
        out = {"status": self.status, "kind": self.kind}
        out["date"] = self.date.isoformat() if self.date else ""
        return {k: v for k, v in out.items() if v}


def _filters() -> tuple[Filters, dict[str, str]]:
    """The query's filters, and a message per bad one (the page shows them, unfiltered)."""
    errors: dict[str, str] = {}
    status = request.args.get("status", "").strip()
    if status and status not in STATUSES:
        errors["status"] = _("Choose a status from the list.")
        status = ""
    kind = request.args.get("kind", "").strip()
    if kind and kind not in {k.value for k in NoticeKind}:
        errors["kind"] = _("Choose a kind from the list.")
        kind = ""
    date = None
    if text := request.args.get("date", "").strip():
        try:
            date = dt.date.fromisoformat(text)
        except ValueError:
            errors["date"] = _("Enter the date as YYYY-MM-DD.")
        else:
            if not YEARS[0] <= date.year <= YEARS[1]:
                errors["date"] = _(
                    "Enter a date between %(first)s and %(last)s.",
                    first=f"{YEARS[0]}-01-01",
                    last=f"{YEARS[1]}-12-31",
                )
                date = None
    return Filters(status, kind, date), errors


def _page_number() -> int:
    try:
        return max(1, min(int(request.args.get("page", "1")), 10**6))
    except ValueError:
        return 1


@bp.get("/districts/<code>/notices")
def notices(code: str) -> Any:
    d = district_or_404(code)
    f, errors = _filters()
    total = count_notices(d, f.status, f.kind, f.date)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(_page_number(), pages)
    rows = find_notices(d, f.status, f.kind, f.date, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    return render_template(
        "dispatch/notices.html",
        district=d,
        rows=rows,
        filters=f,
        errors=errors,
        total=total,
        page=page,
        pages=pages,
        statuses=STATUSES,
        status_labels=STATUS_LABELS,
        kind_labels=KIND_LABELS,
        people=people_of(d),
        hand_sendable=HAND_SENDABLE,
        action_form=JobActionForm(),
    ), (400 if errors else 200)


@bp.post("/districts/<code>/notices/<row_id:notice_id>/sent-by-hand")
def notice_sent_by_hand(code: str, notice_id: int) -> Any:
    """The dispatcher told the taxpayer themselves: the notice leaves the outbox as sent by
    them, now (audited). Back to the same filtered page of the outbox."""
    d = district_or_404(code)
    if not JobActionForm().validate_on_submit():
        abort(400)
    try:
        mark_sent_by_hand(d, notice_id, signed_in_user())
    except NoticeNotFound:
        abort(404)
    except NoticeNotOpen as exc:
        flash(
            _(
                "Notice %(id)d is %(status)s: it cannot be marked as sent by hand.",
                id=exc.notice_id,
                status=str(STATUS_LABELS.get(exc.status, exc.status)),
            ),
            "error",
        )
    else:
        flash(_("Notice %(id)d marked as sent by hand.", id=notice_id), "info")
    back: dict[str, Any] = {
        k: v for k, v in request.form.items() if k in ("status", "kind", "date", "page") and v
    }
    return redirect(url_for("dispatch.notices", code=code, **back) + f"#notice-{notice_id}")


COLUMNS = (
    "id",
    "created_at",
    "kind",
    "status",
    "phone",
    "lang",
    "text",
    "attempts",
    "last_error",
    "sent_at",
)


def _export_rows(d: District) -> tuple[list[list[Any]], Filters]:
    f, errors = _filters()
    if errors:
        raise BadInput(errors)
    people = people_of(d)
    rows = [
        [
            n.id,
            n.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            n.kind,
            n.status,
            people.phone(n.phone),
            n.lang,
            people.notice_text(n.kind, n.text),
            n.attempts,
            n.last_error or "",
            n.sent_at.strftime("%Y-%m-%d %H:%M:%S") if n.sent_at else "",
        ]
        for n in find_notices(d, f.status, f.kind, f.date)
    ]
    log_download(
        "notices_export",
        current_user.id,
        d,
        {"format": request.path.rsplit(".", 1)[-1], "rows": len(rows), **f.args()},
    )
    return rows, f


def _filename(d: District, ext: str) -> str:
    return f"notices-{d.code}.{ext}"


@bp.get("/districts/<code>/notices.csv")
def notices_csv(code: str) -> Response:
    d = district_or_404(code)
    rows, _f = _export_rows(d)
    body = csv_bytes(COLUMNS, rows)  # BOM, CRLF, no cell a spreadsheet would run
    return download(body, _filename(d, "csv"), "text/csv", private=True)


@bp.get("/districts/<code>/notices.xlsx")
def notices_xlsx(code: str) -> Response:
    from openpyxl import Workbook

    d = district_or_404(code)
    rows, _f = _export_rows(d)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "notices"
    write_row(ws, COLUMNS)
    for row in rows:
        write_row(ws, row)  # text cells: a notice starting with "=" is never a formula
    ws.column_dimensions["G"].width = 80
    buf = io.BytesIO()
    wb.save(buf)
    return download(buf.getvalue(), _filename(d, "xlsx"), XLSX, private=True)
