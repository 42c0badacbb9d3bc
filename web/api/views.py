"""`/api/v1`: stops, visits, slots and bookings as JSON. Errors are JSON too, never HTML."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from sqlalchemy import select

from taxvan.booking import BookingError
from taxvan.clock import hhmm
from taxvan.errors import TaxvanError
from taxvan.workdays import parse_iso_week, week_dates
from web.api.openapi import openapi_document
from web.booking import service as svc
from web.booking.errors import error_json, http_status
from web.extensions import booking_limit, db
from web.models import Booking, ServiceRow, StopRow, VisitRow
from web.public.views import visit_record

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _error(status: int, message: str, **extra: object):  # type: ignore[no-untyped-def]
    return jsonify({"message": message, **extra}), status


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
    return jsonify(openapi_document())


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
    week = request.args.get("week", "")
    try:
        year, num = parse_iso_week(week)
    except TaxvanError:
        return _error(
            422, "week must be an ISO week such as 2026-W49", errors={"week": "expected YYYY-Www"}
        )
    days = week_dates(year, num)
    rows = db.session.scalars(
        select(VisitRow)
        .where(VisitRow.date >= days[0], VisitRow.date <= days[-1])
        .order_by(VisitRow.date, VisitRow.van_id, VisitRow.order)
    ).all()
    return jsonify([_visit_json(v) for v in rows])


@bp.get("/visits/<int:visit_id>/slots")
def slots(visit_id: int):  # type: ignore[no-untyped-def]
    visit = db.session.get(VisitRow, visit_id)
    if visit is None:
        return _error(404, "no such visit")
    services = db.session.scalars(select(ServiceRow).order_by(ServiceRow.minutes)).all()
    wanted = request.args.get("service")
    if wanted and wanted not in {s.code for s in services}:
        return _error(422, "unknown service", errors={"service": "no such service"})
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
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _error(422, "send a JSON object", errors={"body": "expected JSON"})
    visit_id = body.get("visit_id")
    req = svc.BookingRequest(
        visit_id=visit_id if isinstance(visit_id, int) else -1,
        start=str(body.get("start", "")),
        service=str(body.get("service", "")),
        taxpayer_id=str(body.get("taxpayer_id", "")),
        name=str(body.get("name", "")),
        phone=str(body.get("phone", "")),
    )
    try:
        booking = svc.book(req)
    except BookingError as exc:
        return jsonify(error_json(exc)), http_status(exc)
    return jsonify(_booking_json(booking)), 201


@bp.get("/bookings/<code>")
@booking_limit
def get_booking(code: str):  # type: ignore[no-untyped-def]
    try:
        booking = svc.find(code, request.args.get("phone", ""))
    except BookingError as exc:
        return jsonify(error_json(exc)), http_status(exc)
    return jsonify(_booking_json(booking))


@bp.delete("/bookings/<code>")
@booking_limit
def delete_booking(code: str):  # type: ignore[no-untyped-def]
    try:
        booking = svc.cancel(code, request.args.get("phone", ""))
    except BookingError as exc:
        return jsonify(error_json(exc)), http_status(exc)
    return jsonify(_booking_json(booking))
