"""The district's outbox in the dispatcher console: filter, page, export (CSV, Excel).

The views sit on the console's blueprint, so its access rule holds: a dispatcher sees only
their district's outbox. Phone numbers are personal data: only the district's own
dispatchers see them whole (an admin sees them masked), and every export is in the audit log.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

from flask import Response, abort, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import Select, func, select

from taxvan.notices import NoticeKind
from web.db import audit
from web.db.models import District, Notice
from web.db.outbox import notices_of_district
from web.extensions import db
from web.views.dispatch.blueprint import bp, district_or_404

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
    return Filters(status, kind, date), errors


def _query(district: District, f: Filters) -> Select[Notice]:
    q = select(Notice).where(notices_of_district(district))
    if f.status:
        q = q.where(Notice.status == f.status)
    if f.kind:
        q = q.where(Notice.kind == f.kind)
    if f.date:
        start = dt.datetime.combine(f.date, dt.time())
        q = q.where(Notice.created_at >= start, Notice.created_at < start + dt.timedelta(days=1))
    return q.order_by(Notice.created_at.desc(), Notice.id.desc())


def _sees_phones(district: District) -> bool:
    """Only the district's own dispatchers see whole phone numbers."""
    return not current_user.is_admin and current_user.district_id == district.id


def mask(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 8 else "****"


def _page_number() -> int:
    try:
        return max(1, min(int(request.args.get("page", "1")), 10**6))
    except ValueError:
        return 1


@bp.get("/districts/<code>/notices")
def notices(code: str) -> Any:
    d = district_or_404(code)
    f, errors = _filters()
    q = _query(d, f)
    total = db.session.scalar(select(func.count()).select_from(q.order_by(None).subquery())) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(_page_number(), pages)
    rows = list(db.session.scalars(q.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)))
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
        show_phone=(lambda p: p) if _sees_phones(d) else mask,
    ), (400 if errors else 200)


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
        abort(400, "; ".join(errors.values()))
    show = (lambda p: p) if _sees_phones(d) else mask
    rows = [
        [
            n.id,
            n.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            n.kind,
            n.status,
            show(n.phone),
            n.lang,
            n.text,
            n.attempts,
            n.last_error or "",
            n.sent_at.strftime("%Y-%m-%d %H:%M:%S") if n.sent_at else "",
        ]
        for n in db.session.scalars(_query(d, f))
    ]
    audit.record(
        "notices_export",
        actor=current_user.name,
        user=current_user,
        district=d,
        details={"format": request.path.rsplit(".", 1)[-1], "rows": len(rows), **f.args()},
    )
    db.session.commit()
    return rows, f


def _filename(d: District, ext: str) -> str:
    return f"notices-{d.code}.{ext}"


@bp.get("/districts/<code>/notices.csv")
def notices_csv(code: str) -> Response:
    d = district_or_404(code)
    rows, _f = _export_rows(d)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    body = "\ufeff" + out.getvalue()  # the BOM: Excel then reads the Chinese as UTF-8
    return Response(
        body.encode("utf-8"),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{_filename(d, "csv")}"',
            "Cache-Control": "no-store",
        },
    )


@bp.get("/districts/<code>/notices.xlsx")
def notices_xlsx(code: str) -> Response:
    from openpyxl import Workbook

    d = district_or_404(code)
    rows, _f = _export_rows(d)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "notices"
    ws.append(list(COLUMNS))
    for row in rows:
        # Texts go in as strings: a notice starting with "=" is never taken for a formula.
        ws.append([_cell(v) for v in row])
    ws.column_dimensions["G"].width = 80
    buf = io.BytesIO()
    wb.save(buf)
    return Response(
        buf.getvalue(),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={
            "Content-Disposition": f'attachment; filename="{_filename(d, "xlsx")}"',
            "Cache-Control": "no-store",
        },
    )


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value
