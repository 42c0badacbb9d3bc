"""Public pages. They never show a taxpayer's name, ID or phone."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict

import icalendar
import segno
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    render_template,
    request,
    send_from_directory,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from taxvan.clock import hhmm
from taxvan.timetable import TIMETABLE_COLUMNS, TimetableRow
from taxvan.workdays import WEEKDAY_EN, WEEKDAY_ZH
from web.booking.service import at, open_slots
from web.extensions import db
from web.models import PublishedWeek, ServiceRow, StopRow, VisitRow
from web.security import map_policy, public_url_for
from web.store import (
    CHINA,
    IS_CURRENT_VISIT,
    china_now,
    current_week,
    current_weeks,
    latest_week,
)

bp = Blueprint("public", __name__)


def weekday_name(day: dt.date) -> str:
    return weekday_label(day.weekday())


def weekday_label(index: int) -> str:
    """Name of weekday `index` (Monday = 0) in the page's language."""
    return (WEEKDAY_ZH if str(get_locale()).startswith("zh") else WEEKDAY_EN)[index]


def street_name(stop: StopRow) -> str:
    return stop.street.name if str(get_locale()).startswith("zh") else stop.street.name_en


@bp.app_context_processor
def helpers() -> dict:
    return {
        "hhmm": hhmm,
        "weekday_name": weekday_name,
        "weekday_label": weekday_label,
        "street_name": street_name,
        "lang": str(get_locale()),
        "hotline": current_app.config["TAXVAN_HOTLINE"],
    }


def _week_or_404(label: str | None) -> PublishedWeek:
    week = current_week(label) if label else latest_week(china_now().date())
    if week is None:
        abort(404)
    return week


@bp.get("/")
def home() -> str:
    label = request.args.get("week")
    week = current_week(label) if label else latest_week(china_now().date())
    weeks = [w.week for w in current_weeks()]
    by_day: dict[dt.date, list[VisitRow]] = defaultdict(list)
    by_street: dict[str, list[VisitRow]] = defaultdict(list)
    if week is not None:
        for v in week.visits:
            by_day[v.date].append(v)
            by_street[street_name(v.stop)].append(v)
    return render_template(
        "home.html",
        week=week,
        weeks=weeks,
        by_day=dict(sorted(by_day.items())),
        by_street=dict(sorted(by_street.items())),
        today=china_now().date(),
    )


@bp.get("/favicon.ico")
def favicon() -> Response:
    """Browsers and feed readers ask for /favicon.ico whatever the page says; a 404 is noise."""
    return send_from_directory(
        current_app.static_folder or "static", "favicon.ico", mimetype="image/vnd.microsoft.icon"
    )


@bp.get("/map/<week>")
def week_map(week: str) -> Response:
    w = _week_or_404(week)
    resp = Response(w.map_html, mimetype="text/html")
    resp.headers["Content-Security-Policy"] = map_policy(w.map_html)
    return resp


def _stop_or_404(stop_id: str) -> StopRow:
    stop = db.session.get(StopRow, stop_id)
    if stop is None:
        abort(404)
    return stop


def upcoming(stop: StopRow, days: int = 28) -> list[VisitRow]:
    today = china_now().date()
    return list(
        db.session.scalars(
            select(VisitRow)
            .where(
                VisitRow.stop_id == stop.id,
                IS_CURRENT_VISIT,
                VisitRow.date >= today,
                VisitRow.date <= today + dt.timedelta(days=days),
            )
            .order_by(VisitRow.date, VisitRow.start)
        )
    )


@bp.get("/stops/<stop_id>")
def stop_page(stop_id: str) -> str:
    stop = _stop_or_404(stop_id)
    services = db.session.scalars(select(ServiceRow).order_by(ServiceRow.minutes)).all()
    shortest = services[0] if services else None
    visits = [(v, len(open_slots(v, shortest)) if shortest else 0) for v in upcoming(stop)]
    qr = segno.make(public_url_for("public.stop_page", stop_id=stop.id), error="m")
    return render_template(
        "stop.html",
        stop=stop,
        visits=visits,
        services=services,
        qr_svg=qr.svg_inline(scale=4, title=_("Link to this page")),
        tiles=current_app.config["TAXVAN"].tiles,
    )


@bp.get("/stops/<stop_id>/qr.png")
def stop_qr(stop_id: str) -> Response:
    """The stop page's QR code as a PNG, for posters and WeChat posts."""
    stop = _stop_or_404(stop_id)
    buf = io.BytesIO()
    segno.make(public_url_for("public.stop_page", stop_id=stop.id), error="m").save(
        buf, kind="png", scale=8, border=4
    )
    return Response(buf.getvalue(), mimetype="image/png")


@bp.get("/stops/<stop_id>/poster")
def poster(stop_id: str) -> str:
    stop = _stop_or_404(stop_id)
    weekly: dict[tuple[int, int, int], bool] = {}
    for v in upcoming(stop, days=14):
        if v.usual_date is not None:  # moved by a holiday: not its weekly time
            continue
        key = (v.date.weekday(), v.start, v.end)
        weekly[key] = weekly.get(key, False) or v.every_other_week
    rows = [(*key, alternate) for key, alternate in sorted(weekly.items())]
    services = db.session.scalars(select(ServiceRow).order_by(ServiceRow.minutes)).all()
    qr = segno.make(public_url_for("public.stop_page", stop_id=stop.id), error="m")
    return render_template(
        "poster.html",
        stop=stop,
        rows=rows,
        services=services,
        qr_svg=qr.svg_inline(scale=6, omitsize=True),  # a viewBox: the CSS size scales it
        weekdays=WEEKDAY_ZH if str(get_locale()).startswith("zh") else WEEKDAY_EN,
    )


@bp.get("/stops/<stop_id>.ics")
def stop_calendar(stop_id: str) -> Response:
    stop = _stop_or_404(stop_id)
    cal = icalendar.Calendar()
    cal.add("prodid", "-//taxvan//mobile tax service van//ZH")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"移动办税车 {stop.name}")
    cal.add("x-wr-timezone", CHINA.key)
    now = dt.datetime.now(dt.UTC)
    for v in upcoming(stop, days=60):
        ev = icalendar.Event()
        ev.add("uid", f"visit-{v.id}@taxvan")
        ev.add("dtstamp", now)
        ev.add("dtstart", at(v.date, v.start))
        ev.add("dtend", at(v.date, v.end))
        ev.add("summary", f"移动办税车 Mobile tax van · {stop.name}")
        ev.add("location", f"{stop.name}, {stop.street.name}")
        ev.add("geo", (stop.lat, stop.lon))
        ev.add("url", public_url_for("public.stop_page", stop_id=stop.id))
        cal.add_component(ev)
    cal.add_missing_timezones()
    return Response(
        cal.to_ical(),
        mimetype="text/calendar",
        headers={"Content-Disposition": f'inline; filename="stop-{stop.id}.ics"'},
    )


def visit_record(v: VisitRow) -> dict:
    """A published visit in the open-data columns (the planner's timetable.csv)."""
    return TimetableRow(
        v.date,
        v.van_id,
        v.order,
        v.stop_id,
        v.stop.name,
        v.stop.street.name,
        v.start,
        v.end,
        v.stop.lat,
        v.stop.lon,
    ).as_record()


def timetable_records(week: PublishedWeek) -> list[dict]:
    return [visit_record(v) for v in week.visits]


@bp.get("/open-data/<week>.csv")
def open_data_csv(week: str) -> Response:
    w = _week_or_404(week)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=TIMETABLE_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(timetable_records(w))
    return Response(
        "\ufeff" + buf.getvalue(),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="timetable-{w.week}.csv"'},
    )


@bp.get("/open-data/<week>.json")
def open_data_json(week: str) -> Response:
    w = _week_or_404(week)
    return jsonify(
        {
            "week": w.week,
            "timezone": CHINA.key,
            "published_at": w.published_at.replace(tzinfo=CHINA).isoformat(),
            "columns": list(TIMETABLE_COLUMNS),
            "visits": timetable_records(w),
            "holidays": w.report.get("holidays", []),
        }
    )
