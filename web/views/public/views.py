"""Public pages. They never show a taxpayer's name, ID or phone."""

from __future__ import annotations

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
    url_for,
)
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _

from taxvan.clock import CHINA, hhmm
from taxvan.timetable import TIMETABLE_COLUMNS, TimetableRow
from taxvan.workdays import WEEKDAY_EN, WEEKDAY_ZH
from web.adapters.maps import map_page, site_tiles
from web.adapters.open_data import CANCELLATION_COLUMNS, CANCELLED_VISIT_COLUMNS, data_package
from web.adapters.spreadsheets import csv_bytes
from web.clock import china_now
from web.db.models import District, PublishedWeek, ServiceRow, StopRow, VisitRow
from web.db.queries import services_by_length, stop_of, upcoming_visits
from web.db.store import current_week, current_weeks, latest_week
from web.operations.booking import at, ended, open_slots
from web.operations.disruptions import REASONS, reason_text
from web.security import map_policy, public_url_for
from web.views.downloads import download
from web.views.public import district as here

bp = Blueprint("public", __name__, url_prefix=here.PREFIX)
here.bind(bp)


def weekday_name(day: dt.date) -> str:
    return weekday_label(day.weekday())


def weekday_label(index: int) -> str:
    """Name of weekday `index` (Monday = 0) in the page's language."""
    return (WEEKDAY_ZH if str(get_locale()).startswith("zh") else WEEKDAY_EN)[index]


def street_name(stop: StopRow) -> str:
    return stop.street.name if str(get_locale()).startswith("zh") else stop.street.name_en


def home_url() -> str:
    """The schedule of this page's district, else the district chooser."""
    district = here.current_or_none()
    if district is None:
        return url_for("site.index")
    return url_for("public.home", district=district.code)


def lookup_url() -> str:
    """The booking lookup of this page's district, else the one that asks for the district."""
    district = here.current_or_none()
    if district is None:
        return url_for("site.lookup")
    return url_for("booking.lookup", district=district.code)


@bp.app_context_processor
def helpers() -> dict:
    return {
        "here": here.current_or_none(),
        "district_name": here.name,
        "home_url": home_url,
        "lookup_url": lookup_url,
        "hhmm": hhmm,
        "weekday_name": weekday_name,
        "weekday_label": weekday_label,
        "street_name": street_name,
        "lang": str(get_locale()),
        "hotline": current_app.config["TAXVAN_HOTLINE"],
        "cancel_reason": _cancel_reason,
        "visit_ended": ended,
    }


def _cancel_reason(reason: str | None, note: str | None) -> str:
    return reason_text(reason, note)


def find_week(district: District, label: str | None) -> PublishedWeek | None:
    """The current version of the district's published week `label`, else (no label) the
    week of today or the next one."""
    if not label:
        return latest_week(china_now().date(), district)
    return current_week(label, district)


def _week_or_404(label: str | None) -> PublishedWeek:
    week = find_week(here.current(), label)
    if week is None:
        abort(404)
    return week


@bp.get("/")
def home() -> str:
    district = here.current()
    week = find_week(district, request.args.get("week"))
    weeks = [w.week for w in current_weeks(district)]
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
    )


@bp.get("/map/<week>")
def week_map(week: str) -> Response:
    w = _week_or_404(week)
    page = map_page(w.map_html, str(get_locale()))
    resp = Response(page, mimetype="text/html")
    resp.headers["Content-Security-Policy"] = map_policy(page)
    return resp


def _stop_or_404(stop_id: str) -> StopRow:
    """The stop, if it is this district's: another district's stop is not found here."""
    stop = stop_of(here.current(), stop_id)
    if stop is None:
        abort(404)
    return stop


def services_of(district_id: int) -> list[ServiceRow]:
    """The district's services, shortest first."""
    return services_by_length(district_id)


def upcoming(stop: StopRow, days: int = 28) -> list[VisitRow]:
    today = china_now().date()
    return upcoming_visits(stop, today, today + dt.timedelta(days=days))


@bp.get("/stops/<stop_id>")
def stop_page(stop_id: str) -> str:
    stop = _stop_or_404(stop_id)
    services = services_of(stop.district_id)
    shortest = services[0] if services else None
    visits = [
        (v, len(open_slots(v, shortest)) if shortest and not ended(v) else 0)
        for v in upcoming(stop)
    ]
    qr = segno.make(public_url_for("public.stop_page", stop_id=stop.id), error="m")
    return render_template(
        "stop.html",
        stop=stop,
        visits=visits,
        services=services,
        qr_svg=qr.svg_inline(scale=4, title=_("Link to this page")),
        tiles=_tiles(),
    )


def _tiles() -> dict[str, str]:
    """The stop map's base (`static/js/basemap.js`)."""
    cfg = current_app.config["TAXVAN"]
    return site_tiles(
        cfg.tiles,
        cfg.tile_url or None,
        cfg.tile_key or None,
        str(get_locale()),
        cfg.map_review_number,
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
    services = services_of(stop.district_id)
    qr = segno.make(public_url_for("public.stop_page", stop_id=stop.id), error="m")
    return render_template(
        "poster.html",
        stop=stop,
        rows=rows,
        services=services,
        qr_svg=qr.svg_inline(scale=6, omitsize=True),  # a viewBox: the CSS size scales it
        weekdays=WEEKDAY_ZH if str(get_locale()).startswith("zh") else WEEKDAY_EN,
        review_number=current_app.config["TAXVAN"].map_review_number,
    )


@bp.get("/stops/<stop_id>.ics")
def stop_calendar(stop_id: str) -> Response:
    stop = _stop_or_404(stop_id)
    cal = icalendar.Calendar()
    cal.add("prodid", "-//taxvan//mobile tax service van//ZH")
    cal.add("version", "2.0")
    # As text (escaped like SUMMARY): a name with a line break must not end the property.
    cal.add("x-wr-calname", icalendar.vText(f"移动办税车 {here.current().name} {stop.name}"))
    cal.add("x-wr-timezone", CHINA.key)
    now = dt.datetime.now(dt.UTC)
    for v in upcoming(stop, days=60):
        ev = icalendar.Event()
        ev.add("uid", f"visit-{v.id}@taxvan")
        ev.add("dtstamp", now)
        ev.add("dtstart", at(v.date, v.start))
        ev.add("dtend", at(v.date, v.end))
        if v.cancelled_at is not None:
            # The same UID with STATUS:CANCELLED and a higher SEQUENCE: calendars that
            # subscribed strike the event out instead of keeping the old one.
            ev.add("status", "CANCELLED")
            ev.add("sequence", 1)
            ev.add("summary", f"已取消 Cancelled · 移动办税车 Mobile tax van · {stop.name}")
            ev.add("description", f"{cancel_text(v, 'zh')} / {cancel_text(v, 'en')}")
        else:
            ev.add("status", "CONFIRMED")
            ev.add("summary", f"移动办税车 Mobile tax van · {stop.name}")
        ev.add("location", f"{stop.name}, {stop.street.name}")
        ev.add("geo", (stop.lat, stop.lon))
        ev.add("url", public_url_for("public.stop_page", stop_id=stop.id))
        cal.add_component(ev)
    cal.add_missing_timezones()
    return download(cal.to_ical(), f"stop-{stop.id}.ics", "text/calendar", inline=True)


def cancel_text(v: VisitRow, locale: str) -> str:
    """ "This visit is cancelled: <reason>" in `locale`, whatever the request's language: the
    .ics feed carries both languages (a calendar is read in any language)."""
    with force_locale(locale):
        return _(
            "This visit is cancelled: %(reason)s",
            reason=reason_text(v.cancel_reason, v.cancel_note),
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


def _timetable_csv(week: str) -> Response:
    """The week's timetable as open data: UTF-8 with a BOM, CRLF, no cell a spreadsheet runs."""
    w = _week_or_404(week)
    records = timetable_records(w)
    body = csv_bytes(TIMETABLE_COLUMNS, [[r[c] for c in TIMETABLE_COLUMNS] for r in records])
    return download(body, f"timetable-{here.current().code}-{w.week}.csv", "text/csv")


@bp.get("/open-data/<week>.csv")
def open_data_csv(week: str) -> Response:
    return _timetable_csv(week)


@bp.get("/open-data/<week>/timetable.csv")
def open_data_package_timetable(week: str) -> Response:
    """The same timetable beside the week's `datapackage.json` (the package's resource)."""
    return _timetable_csv(week)


@bp.get("/open-data/<week>/datapackage.json")
def open_data_package(week: str) -> Response:
    """The week's Frictionless Data Package: what the CSV files beside it hold, typed."""
    w = _week_or_404(week)
    d = here.current()
    return jsonify(
        data_package(
            d.code,
            d.name,
            d.name_en,
            w.week,
            w.published_at.replace(tzinfo=CHINA).isoformat(),
            REASONS,
        )
    )


@bp.get("/open-data/<week>.json")
def open_data_json(week: str) -> Response:
    w = _week_or_404(week)
    return jsonify(
        {
            "district": here.current().code,
            "district_name": here.current().name,
            "week": w.week,
            "timezone": CHINA.key,
            "published_at": w.published_at.replace(tzinfo=CHINA).isoformat(),
            "columns": list(TIMETABLE_COLUMNS),
            "visits": timetable_records(w),
            "holidays": w.report.get("holidays", []),
            "cancelled": cancellation_records(w),
        }
    )


def cancellation_records(week: PublishedWeek) -> list[dict]:
    """The week's visits called off by a disruption (the timetable still lists them)."""
    out = []
    for v in week.visits:
        if v.cancelled_at is None:
            continue
        row = visit_record(v)
        out.append(
            {k: row[k] for k in CANCELLED_VISIT_COLUMNS}
            | {
                "cancelled_at": v.cancelled_at.replace(tzinfo=CHINA).isoformat(),
                "reason": v.cancel_reason,
                "note": v.cancel_note or "",
            }
        )
    return out


@bp.get("/open-data/<week>/cancelled.csv")
def open_data_cancelled_csv(week: str) -> Response:
    """The week's cancelled visits, for readers of the CSV timetable."""
    w = _week_or_404(week)
    records = cancellation_records(w)
    body = csv_bytes(CANCELLATION_COLUMNS, [[r[c] for c in CANCELLATION_COLUMNS] for r in records])
    return download(body, f"cancelled-{w.week}.csv", "text/csv")
