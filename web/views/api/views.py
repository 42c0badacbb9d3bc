"""`/api/v1`: stops, visits, slots and bookings as JSON. Errors are JSON too, never HTML."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import Blueprint, jsonify, request
from flask_babel import get_locale

from taxvan.booking import BookingError, BookingNotFound
from taxvan.clock import hhmm
from taxvan.errors import TaxvanError
from taxvan.workdays import parse_iso_week, week_dates
from web.db.models import Booking, District, VisitRow
from web.db.queries import (
    current_visits_between,
    current_week_labels,
    district_codes,
    service_code_exists,
    service_codes,
    services_by_length,
    stops_of,
)
from web.db.store import all_districts, current_visit, district_by_code
from web.extensions import booking_limit
from web.operations import booking as svc
from web.operations.disruptions import cancellation
from web.views.api import openapi as spec
from web.views.booking.errors import error_json, http_status
from web.views.inputs import SchemaErrors, check_schema, read_json
from web.views.public import district as here
from web.views.public.views import visit_record

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _error(status: int, message: str, **extra: object):
    return jsonify({"message": message, **extra}), status


@bp.errorhandler(SchemaErrors)
def invalid_fields(exc: SchemaErrors):
    return _error(422, "some fields are not valid", errors=exc.errors)


def _district(args: dict[str, str]) -> District:
    """The `district` parameter's district; without one, the only district. Several
    districts and none named is a 422 listing their codes."""
    code = args.get("district")
    if code is None:
        districts = all_districts()
        if len(districts) == 1:
            return districts[0]
        raise SchemaErrors(
            {"district": "choose a district: " + ", ".join(d.code for d in districts)}
        )
    district = district_by_code(code)
    if district is None:  # the schema's enum has already refused unknown codes
        raise SchemaErrors({"district": spec.FIELD_MESSAGES["district"]})
    return district


def _check_query(parameters: Sequence[dict[str, Any]]) -> dict[str, str]:
    """The query parameters, checked against the operation's published parameters (422)."""
    args = request.args.to_dict()
    if errors := check_schema(args, spec.query(parameters), spec.FIELD_MESSAGES):
        raise SchemaErrors(errors)
    return args


def _visit_json(v: VisitRow) -> dict:
    cancelled = cancellation(v)
    return {
        "id": v.id,
        **visit_record(v),
        "status": "cancelled" if cancelled else "scheduled",
        "cancellation": cancelled,
    }


def _booking_json(b: Booking, moved_to: Booking | None = None) -> dict:
    """What the holder of code and phone may see: no ID, the name only as given; for a
    booking the taxpayer moved, the booking it became (`moved_to`, else null)."""
    return {
        "code": b.code,
        "status": b.status,
        "service": b.service_code,
        "visit": _visit_json(b.visit),
        "start": hhmm(b.start),
        "end": hhmm(b.end),
        "materials_zh": b.service.materials_zh,
        "materials_en": b.service.materials_en,
        "moved_to": None
        if moved_to is None
        else {
            "code": moved_to.code,
            "status": moved_to.status,
            "visit": _visit_json(moved_to.visit),
            "start": hhmm(moved_to.start),
            "end": hhmm(moved_to.end),
        },
    }


@bp.get("/openapi.json")
def openapi():
    return jsonify(spec.openapi_document(service_codes(), district_codes()))


@bp.get("/districts")
def districts():
    """The districts with a published timetable: code, names, hall, published weeks."""
    out = []
    for d in here.published():
        weeks = current_week_labels(d)
        out.append(
            {
                "code": d.code,
                "name": d.name,
                "name_en": d.name_en,
                "hall": {k: d.hall.get(k) for k in ("name", "lat", "lon")},
                "weeks": list(weeks),
            }
        )
    return jsonify(out)


@bp.get("/stops")
def stops():
    district = _district(_check_query(spec.district_parameters(district_codes())))
    rows = stops_of(district)
    return jsonify(
        [
            {
                "id": s.id,
                "name": s.name,
                "street": s.street.name,
                "kind": s.kind,
                "lat": s.lat,
                "lon": s.lon,
            }
            for s in rows
            if s.street.served
        ]
    )


@bp.get("/visits")
def visits():
    args = _check_query(spec.week_parameters(district_codes()))
    week, district = args["week"], _district(args)
    try:
        days = week_dates(*parse_iso_week(week))
    except (TaxvanError, OverflowError):  # 9999-W52 ends in year 10000, past what dates hold
        raise SchemaErrors({"week": f"{week} is not a week of the calendar"}) from None
    rows = current_visits_between(district, days[0], days[-1])
    return jsonify([_visit_json(v) for v in rows])


@bp.get("/visits/<row_id:visit_id>/slots")
def slots(visit_id: int):
    wanted = _check_query(spec.slot_parameters(service_codes())).get("service")
    visit = current_visit(visit_id)
    if visit is None:
        return _error(404, "no such visit", errors={"visit_id": "no such visit"})
    services = services_by_length(visit.stop.district_id)
    out = {}
    for s in services:
        if wanted and s.code != wanted:
            continue
        out[s.code] = [
            {"start": x.start, "end": x.end, "free_counters": x.free}
            for x in svc.open_slots(visit, s)
        ]
    return jsonify({"visit": _visit_json(visit), "slots": out})


@bp.post("/bookings")
@booking_limit
def create_booking():
    body = read_json()
    if not isinstance(body, dict):
        raise SchemaErrors({"body": "expected a JSON object"})
    # Nothing the document forbids reaches the service. An unknown service code is left to
    # the service's own lookup (no extra query on the way to a booking) unless other fields
    # fail here, so that one answer names every bad field.
    if errors := check_schema(body, spec.booking_request(None), spec.FIELD_MESSAGES):
        code = body.get("service")
        if "service" not in errors and not (isinstance(code, str) and service_code_exists(code)):
            errors["service"] = spec.FIELD_MESSAGES["service"]
        raise SchemaErrors(errors)
    req = svc.BookingRequest(
        visit_id=body["visit_id"],
        start=body["start"],
        service=body["service"],
        taxpayer_id=body["taxpayer_id"],
        name=body["name"],
        phone=body["phone"],
        lang=str(get_locale()),  # ?lang=en: the notices come in English
    )
    try:
        booking = svc.book(req)
    except BookingError as exc:
        return jsonify(error_json(exc)), http_status(exc)
    return jsonify(_booking_json(booking)), 201


def _code_and_phone(code: str) -> tuple[str, str]:
    """The path's booking code and the query's phone, as the document describes them.

    A phone that is not one is a 422 naming it; a code that cannot be one is "no booking".
    """
    phone = _check_query(spec.booking_parameters())["phone"]
    if check_schema({"code": code}, {"properties": {"code": spec.BOOKING_CODE}}):
        raise BookingNotFound()
    return code, phone


@bp.get("/bookings/<code>")
@booking_limit
def get_booking(code: str):
    try:
        booking = svc.find(*_code_and_phone(code))
    except BookingError as exc:
        return jsonify(error_json(exc)), http_status(exc)
    moved_to = svc.latest(booking) if booking.status == "moved" else None
    return jsonify(_booking_json(booking, moved_to))


@bp.delete("/bookings/<code>")
@booking_limit
def delete_booking(code: str):
    try:
        booking = svc.cancel(*_code_and_phone(code))
    except BookingError as exc:
        return jsonify(error_json(exc)), http_status(exc)
    return jsonify(_booking_json(booking))
