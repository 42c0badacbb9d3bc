"""`/api/v1`: stops, visits, slots and bookings as JSON. Errors are JSON too, never HTML."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import Blueprint, jsonify, request
from sqlalchemy import select

from taxvan.booking import BookingError, BookingNotFound
from taxvan.clock import hhmm
from taxvan.errors import TaxvanError
from taxvan.workdays import parse_iso_week, week_dates
from web.api import openapi as spec
from web.booking import service as svc
from web.booking.errors import error_json, http_status
from web.extensions import booking_limit, db
from web.inputs import SchemaErrors, check_schema, read_json
from web.models import Booking, ServiceRow, StopRow, VisitRow
from web.public.views import visit_record
from web.store import IS_CURRENT_VISIT, current_visit

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _error(status: int, message: str, **extra: object):  # type: ignore[no-untyped-def]
    return jsonify({"message": message, **extra}), status


@bp.errorhandler(SchemaErrors)
def invalid_fields(exc: SchemaErrors):  # type: ignore[no-untyped-def]
    return _error(422, "some fields are not valid", errors=exc.errors)


def _service_codes() -> list[str]:
    return list(db.session.scalars(select(ServiceRow.code).order_by(ServiceRow.code)))


def _check_query(parameters: Sequence[dict[str, Any]]) -> dict[str, str]:
    """The query parameters, checked against the operation's published parameters (422)."""
    args = request.args.to_dict()
    if errors := check_schema(args, spec.query(parameters), spec.FIELD_MESSAGES):
        raise SchemaErrors(errors)
    return args


def _visit_json(v: VisitRow) -> dict:
    return {"id": v.id, **visit_record(v)}


def _booking_json(b: Booking) -> dict:
    """What the holder of code and phone may see: no ID, the name only as given."""
    return {
        "code": b.code,
        "status": b.status,
        "service": b.service_code,
        "visit": _visit_json(b.visit),
        "start": hhmm(b.start),
        "end": hhmm(b.end),
        "materials_zh": b.service.materials_zh,
        "materials_en": b.service.materials_en,
    }


@bp.get("/openapi.json")
def openapi():  # type: ignore[no-untyped-def]
    return jsonify(spec.openapi_document(_service_codes()))


@bp.get("/stops")
def stops():  # type: ignore[no-untyped-def]
    rows = db.session.scalars(select(StopRow).order_by(StopRow.id)).all()
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
def visits():  # type: ignore[no-untyped-def]
    week = _check_query(spec.week_parameters())["week"]
    try:
        days = week_dates(*parse_iso_week(week))
    except (TaxvanError, OverflowError):  # 9999-W52 ends in year 10000, past what dates hold
        raise SchemaErrors({"week": f"{week} is not a week of the calendar"}) from None
    rows = db.session.scalars(
        select(VisitRow)
        .where(VisitRow.date >= days[0], VisitRow.date <= days[-1], IS_CURRENT_VISIT)
        .order_by(VisitRow.date, VisitRow.van_id, VisitRow.order)
    ).all()
    return jsonify([_visit_json(v) for v in rows])


@bp.get("/visits/<row_id:visit_id>/slots")
def slots(visit_id: int):  # type: ignore[no-untyped-def]
    services = db.session.scalars(select(ServiceRow).order_by(ServiceRow.minutes)).all()
    wanted = _check_query(spec.slot_parameters([s.code for s in services])).get("service")
    visit = current_visit(visit_id)
    if visit is None:
        return _error(404, "no such visit", errors={"visit_id": "no such visit"})
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
def create_booking():  # type: ignore[no-untyped-def]
    body = read_json()
    if not isinstance(body, dict):
        raise SchemaErrors({"body": "expected a JSON object"})
    # Nothing the document forbids reaches the service. An unknown service code is left to
    # the service's own lookup (no extra query on the way to a booking) unless other fields
    # fail here, so that one answer names every bad field.
    if errors := check_schema(body, spec.booking_request(None), spec.FIELD_MESSAGES):
        code = body.get("service")
        if "service" not in errors and db.session.get(ServiceRow, code) is None:
            errors["service"] = spec.FIELD_MESSAGES["service"]
        raise SchemaErrors(errors)
    req = svc.BookingRequest(
        visit_id=body["visit_id"],
        start=body["start"],
        service=body["service"],
        taxpayer_id=body["taxpayer_id"],
        name=body["name"],
        phone=body["phone"],
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
def get_booking(code: str):  # type: ignore[no-untyped-def]
    try:
        booking = svc.find(*_code_and_phone(code))
    except BookingError as exc:
        return jsonify(error_json(exc)), http_status(exc)
    return jsonify(_booking_json(booking))


@bp.delete("/bookings/<code>")
@booking_limit
def delete_booking(code: str):  # type: ignore[no-untyped-def]
    try:
        booking = svc.cancel(*_code_and_phone(code))
    except BookingError as exc:
        return jsonify(error_json(exc)), http_status(exc)
    return jsonify(_booking_json(booking))
