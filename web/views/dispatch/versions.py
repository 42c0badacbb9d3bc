"""A week's stored versions, one at a time: its timetable and whom its publish told what.

`/dispatch/districts/<code>/weeks/<week>/versions/<n>` shows the version's visits (with how many
active bookings each holds) and the list of taxpayers its publish told (moved or cancelled
bookings), which downloads as CSV or Excel (`notices.csv`, `notices.xlsx`).
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort, render_template
from sqlalchemy import func, select

from taxvan.errors import TaxvanError
from taxvan.workdays import parse_iso_week
from web.db.models import Booking, District, PublishedWeek
from web.extensions import db
from web.operations.publish_notices import notice_rows, notices_csv, notices_xlsx
from web.operations.publishing import current_id, week_versions
from web.views.dispatch.blueprint import bp, district_or_404


def week_or_404(week: str) -> str:
    try:
        return parse_iso_week(week).label
    except (TaxvanError, ValueError, OverflowError):
        abort(404)


def _version_or_404(district: District, week: str, version: int) -> PublishedWeek:
    for v in week_versions(district, week):
        if v.version == version:
            return v
    abort(404)


@bp.get("/districts/<code>/weeks/<week>/versions/<int:version>")
def week_version(code: str, week: str, version: int) -> Any:
    """One stored version's timetable, and whom its publish told what."""
    district = district_or_404(code)
    label = week_or_404(week)
    v = _version_or_404(district, label, version)
    active = dict(
        db.session.execute(
            select(Booking.visit_id, func.count())
            .where(Booking.visit_id.in_([x.id for x in v.visits]), Booking.status == "active")
            .group_by(Booking.visit_id)
        ).all()
    )
    return render_template(
        "dispatch/version.html",
        district=district,
        week=label,
        version=v,
        current=current_id(district, label) == v.id,
        active=active,
        notices=notice_rows(v.id, zh=str(_locale()).startswith("zh")),
    )


def _locale() -> str:
    from flask_babel import get_locale

    return str(get_locale())


@bp.get("/districts/<code>/weeks/<week>/versions/<int:version>/notices.<any(csv, xlsx):fmt>")
def week_notices(code: str, week: str, version: int, fmt: str) -> Response:
    """The taxpayers to tell after this version's publish: phone, code, old and new time."""
    district = district_or_404(code)
    label = week_or_404(week)
    v = _version_or_404(district, label, version)
    rows = notice_rows(v.id, zh=_locale().startswith("zh"))
    name = f"notices-{district.code}-{label}-v{v.version}.{fmt}"
    if fmt == "csv":
        return Response(
            notices_csv(rows),
            content_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return Response(
        notices_xlsx(rows, f"{label} v{v.version}"),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
