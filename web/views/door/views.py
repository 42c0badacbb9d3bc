"""The public side of door-to-door requests: the form, what happens next, the status page.

The form lives at a URL naming the district (`/d/<code>/door-to-door`) until the district
columns and district-scoped public URLs land. Sending and looking up are rate-limited per
client address, like bookings (the same rate, a budget of their own).
"""

from __future__ import annotations

import math
from typing import Any

from flask import Blueprint, abort, current_app, redirect, render_template, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from web.adapters.maps import site_tiles
from web.clock import china_now
from web.db.queries import stop_points
from web.extensions import booking_rate, limiter
from web.operations import door as svc
from web.views.door.forms import DoorRequestForm, StatusForm, parse_dates

bp = Blueprint("door", __name__)

door_limit = limiter.shared_limit(booking_rate, scope="door", methods=["POST"])
"""One budget per client address across sending requests and looking them up."""

NEAR_KM = 10.0
"""How far beyond its farthest stop a district's door-to-door point may lie."""


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance, enough to tell a point from another district's."""
    la1, lo1, la2, lo2 = map(math.radians, (*a, *b))
    h = (
        math.sin((la2 - la1) / 2) ** 2
        + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    )
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def _reach_km(district: Any) -> float:
    """The district's extent from its hall: its farthest stop, plus a margin."""
    hall = (float(district.hall["lat"]), float(district.hall["lon"]))
    points = stop_points(svc.district_stop_ids(district))
    return max((_km(hall, (lat, lon)) for lat, lon in points), default=0.0) + NEAR_KM


def _tiles() -> dict[str, str]:
    cfg = current_app.config["TAXVAN"]
    return site_tiles(
        cfg.tiles,
        cfg.tile_url or None,
        cfg.tile_key or None,
        str(get_locale()),
        cfg.map_review_number,
    )


@bp.route("/d/<code>/door-to-door", methods=["GET", "POST"])
@door_limit
def request_form(code: str) -> Any:
    district = svc.district_of(code)
    if district is None:
        abort(404)
    form = DoorRequestForm()
    zh = str(get_locale()).startswith("zh")
    services = svc.district_services(district)
    form.services.choices = [(s.code, s.name_zh if zh else s.name_en) for s in services]
    try:
        workdays = sorted(set().union(*(v.weekdays for v in svc.district_vans(district))))
    except svc.DoorError:
        workdays = list(range(5))
    from web.views.public.views import weekday_label

    form.weekdays.choices = [(d, weekday_label(d)) for d in workdays]
    dates = []
    if form.validate_on_submit():
        point = None
        try:
            dates = parse_dates(form.dates.data or "", china_now().date())
        except ValueError as exc:
            form.dates.errors = [*form.dates.errors, _("Check the dates: %(why)s.", why=exc)]
        if form.lat.data and form.lon.data:
            point = (float(form.lat.data), float(form.lon.data))
            hall = (float(district.hall["lat"]), float(district.hall["lon"]))
            if _km(hall, point) > _reach_km(district):
                form.lat.errors = [
                    *form.lat.errors,
                    _("This point is outside the district; pick it on the map or leave it."),
                ]
        if not form.dates.errors and not form.lat.errors:
            row = svc.submit(
                district,
                svc.NewRequest(
                    form.firm_name.data or "",
                    form.credit_code.data or "",
                    form.contact_name.data or "",
                    form.mobile.data or "",
                    form.address.data or "",
                    point,
                    list(form.weekdays.data or []),
                    dates,
                    list(form.services.data or []),
                    int(form.people.data or 0),
                    "zh" if zh else "en",
                ),
            )
            session["door_sent"] = row.reference
            return redirect(url_for("door.sent", reference=row.reference))
    status = 422 if form.errors else 200
    return (
        render_template(
            "door/form.html",
            form=form,
            district=district,
            tiles=_tiles(),
            hall=district.hall,
        ),
        status,
    )


@bp.get("/door-to-door/<reference>/sent")
def sent(reference: str) -> Any:
    """What happens next; only in the session that sent the request (else the status page)."""
    if session.get("door_sent") != reference:
        return redirect(url_for("door.status"))
    return render_template(
        "door/sent.html",
        reference=reference,
        days=current_app.config["TAXVAN"].door_answer_days,
    )


@bp.route("/door-to-door/status", methods=["GET", "POST"])
@door_limit
def status() -> Any:
    form = StatusForm()
    found = None
    problem = None
    code = 200
    if form.validate_on_submit():
        found = svc.find(form.reference.data or "", form.mobile.data or "")
        if found is None:
            problem = _("No request has this reference code and mobile number.")
            code = 404
    elif form.errors:
        code = 422
    return render_template(
        "door/status.html",
        form=form,
        found=found,
        problem=problem,
        days=current_app.config["TAXVAN"].door_answer_days,
    ), code
