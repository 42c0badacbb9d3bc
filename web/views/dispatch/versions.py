"""A week's stored versions, one at a time: its timetable and whom its publish told what.

`/dispatch/districts/<code>/weeks/<week>/versions/<n>` shows the version's visits (with how many
active bookings each holds) and the list of taxpayers its publish told (moved or cancelled
bookings), which downloads as CSV or Excel (`notices.csv`, `notices.xlsx`). Names and phones
on the page and in the downloads as the console's one rule shows them (`web.operations.people`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from flask import Response, abort, render_template
from flask_login import current_user

from taxvan.errors import TaxvanError
from taxvan.workdays import parse_iso_week
from web.db.models import District, PublishedWeek
from web.db.queries import active_bookings_per_visit
from web.operations.people import People
from web.operations.publish_notices import NoticeRow, export_notices, notice_rows
from web.operations.publishing import current_id, week_versions
from web.views.dispatch.blueprint import bp, district_or_404, people_of
from web.views.downloads import XLSX, download


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


@bp.get("/districts/<code>/weeks/<week>/versions/<row_id:version>")
def week_version(code: str, week: str, version: int) -> Any:
    """One stored version's timetable, and whom its publish told what."""
    district = district_or_404(code)
    label = week_or_404(week)
    v = _version_or_404(district, label, version)
    active = active_bookings_per_visit([x.id for x in v.visits])
    return render_template(
        "dispatch/version.html",
        district=district,
        week=label,
        version=v,
        current=current_id(district, label) == v.id,
        active=active,
        notices=notice_rows(v.id, zh=str(_locale()).startswith("zh")),
        people=people_of(district),
    )


def _shown(rows: list[NoticeRow], people: People) -> list[NoticeRow]:
    """The rows with names and phones as `people` shows them."""
    return [
        dataclasses.replace(r, name=people.name(r.name), phone=people.phone(r.phone)) for r in rows
    ]


def _locale() -> str:
    from flask_babel import get_locale

    return str(get_locale())


@bp.get("/districts/<code>/weeks/<week>/versions/<row_id:version>/notices.<any(csv, xlsx):fmt>")
def week_notices(code: str, week: str, version: int, fmt: str) -> Response:
    """The taxpayers to tell after this version's publish: phone, code, old and new time.
    Names and phones: each download is in the audit log."""
    district = district_or_404(code)
    label = week_or_404(week)
    v = _version_or_404(district, label, version)
    body, _n = export_notices(
        v.id,
        district,
        fmt,
        current_user.name,
        current_user,
        zh=_locale().startswith("zh"),
        people=people_of(district),
    )
    name = f"notices-{district.code}-{label}-v{v.version}.{fmt}"
    return download(body, name, "text/csv" if fmt == "csv" else XLSX, private=True)
