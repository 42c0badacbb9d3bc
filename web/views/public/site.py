"""The site above the districts: the district chooser at `/`, and the URLs from before
districts had URLs of their own (printed QR posters point at them), redirected.

A stop id, a visit id and a booking code each belong to one district, so their old URLs
always redirect (308: the method and body stay, for the booking forms too). A week label or
the lookup page may exist in several districts: with one it redirects, with several the
chooser lists the district's page for each (300 Multiple Choices).
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    send_from_directory,
    session,
    url_for,
)
from werkzeug.wrappers import Response

from web.db.models import District
from web.db.queries import (
    district_of_booking,
    district_of_stop,
    district_of_visit,
    districts_publishing,
)
from web.views.public import district as here

bp = Blueprint("site", __name__)


def _moved(endpoint: str, district: District, **values: Any) -> Response:
    """A permanent redirect to the district's page, keeping the query string."""
    target = url_for(endpoint, district=district.code, **values)
    if request.query_string:
        target += "?" + request.query_string.decode("ascii", "replace")
    return redirect(target, 308)


def _choose(endpoint: str, districts: list[District], status: int = 300, **values: Any):
    """One district: redirect there; several: the chooser, linking each one's page; none: 404."""
    if not districts:
        abort(404)
    if len(districts) == 1:
        return _moved(endpoint, districts[0], **values)
    links = [(d, url_for(endpoint, district=d.code, **values)) for d in districts]
    return render_template("districts.html", links=links), status


@bp.get("/")
def index():
    """The district chooser; with one published district, that district's schedule."""
    districts = here.published()
    if len(districts) == 1:
        target = url_for("public.home", district=districts[0].code)
        if request.query_string:
            target += "?" + request.query_string.decode("ascii", "replace")
        return redirect(target)  # 302: a second district changes it
    links = [(d, url_for("public.home", district=d.code)) for d in districts]
    return render_template("districts.html", links=links)


@bp.get("/favicon.ico")
def favicon() -> Response:
    """Browsers and feed readers ask for /favicon.ico whatever the page says; a 404 is noise."""
    return send_from_directory(
        current_app.static_folder or "static", "favicon.ico", mimetype="image/vnd.microsoft.icon"
    )


ROBOTS = """\
# The timetable, stop pages, maps, calendars and open data are for everyone, search engines
# included. The dispatcher console, booking look-ups and forms, and a firm's door-to-door
# request status are not.
User-agent: *
Allow: /
Disallow: /dispatch
Disallow: /booking/
Disallow: /d/*/booking/
Disallow: /visits/
Disallow: /d/*/visits/
Disallow: /door-to-door/
Disallow: /api/v1/bookings
"""
"""RFC 9309; `*` in a path matches any district's code."""


@bp.get("/robots.txt")
def robots() -> Response:
    """What crawlers may read: the public pages, not the console or booking look-ups."""
    return Response(ROBOTS, content_type="text/plain; charset=utf-8")


def _stop_district(stop_id: str) -> District:
    district = district_of_stop(stop_id)
    if district is None:
        abort(404)
    return district


@bp.get("/stops/<stop_id>")
def stop_page(stop_id: str) -> Response:
    return _moved("public.stop_page", _stop_district(stop_id), stop_id=stop_id)


@bp.get("/stops/<stop_id>/qr.png")
def stop_qr(stop_id: str) -> Response:
    return _moved("public.stop_qr", _stop_district(stop_id), stop_id=stop_id)


@bp.get("/stops/<stop_id>/poster")
def poster(stop_id: str) -> Response:
    return _moved("public.poster", _stop_district(stop_id), stop_id=stop_id)


@bp.get("/stops/<stop_id>.ics")
def stop_calendar(stop_id: str) -> Response:
    return _moved("public.stop_calendar", _stop_district(stop_id), stop_id=stop_id)


def _week_districts(week: str) -> list[District]:
    return districts_publishing(week)


@bp.get("/map/<week>")
def week_map(week: str):
    return _choose("public.week_map", _week_districts(week), week=week)


@bp.get("/open-data/<week>.csv")
def open_data_csv(week: str):
    return _choose("public.open_data_csv", _week_districts(week), week=week)


@bp.get("/open-data/<week>.json")
def open_data_json(week: str):
    return _choose("public.open_data_json", _week_districts(week), week=week)


@bp.route("/visits/<row_id:visit_id>/book", methods=["GET", "POST"])
def book(visit_id: int) -> Response:
    district = district_of_visit(visit_id)
    if district is None:
        abort(404)
    return _moved("booking.book", district, visit_id=visit_id)


@bp.get("/booking/<code>/confirmed")
def confirmed(code: str) -> Response:
    """Only the browser that just booked is sent on (as the district's page checks too): a
    code alone does not say which district it belongs to."""
    district = district_of_booking(code) if session.get("confirmed") == code else None
    if district is None:
        return redirect(url_for("site.lookup"))
    return _moved("booking.confirmed", district, code=code)


@bp.route("/booking/lookup", methods=["GET", "POST"])
def lookup():
    return _choose("booking.lookup", here.published(), status=200)


@bp.post("/booking/cancel")
def cancel():
    return _choose("booking.cancel", here.published())


@bp.post("/booking/reschedule")
def reschedule():
    return _choose("booking.reschedule", here.published())
