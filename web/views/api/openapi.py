"""The OpenAPI 3.1 document of `/api/v1`, and the schemas the API checks its input against.

The views validate every query parameter and JSON body against the very schemas published
here (`web.views.inputs.check_schema`), so the document says exactly what the API accepts: a value
the document forbids is refused with a 4xx naming the field, never passed on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from taxvan.timetable import TIMETABLE_COLUMNS
from taxvan.workdays import WEEKDAY_EN
from web.operations.disruptions import REASONS
from web.views.booking.errors import ERROR_KINDS, OTHER_KIND
from web.views.inputs import MAX_JSON_BYTES, MAX_ROW_ID, YEARS

BOOKING_STATUSES = ("active", "moving", "moved", "cancelled")


def _years_pattern(first: int, last: int) -> str:
    """A regular expression (no anchors) for the four-digit years `first` to `last`: whole
    centuries and decades as digit classes, the years around them one by one."""
    parts, year = [], first
    while year <= last:
        if year % 100 == 0 and year + 99 <= last:
            parts.append(f"{year // 100:02d}[0-9]{{2}}")
            year += 100
        elif year % 10 == 0 and year + 9 <= last:
            parts.append(f"{year // 10:03d}[0-9]")
            year += 10
        else:
            parts.append(f"{year:04d}")
            year += 1
    return "|".join(parts)


def iso_week_pattern(first: int, last: int) -> str:
    """A regular expression matching exactly the ISO weeks of the years `first` to `last`:
    weeks 01 to 52 of each, and week 53 of the years that have one (28 December is always in
    a year's last week)."""
    long_years = [y for y in range(first, last + 1) if dt.date(y, 12, 28).isocalendar()[1] == 53]
    weeks = "0[1-9]|[1-4][0-9]|5[0-2]"
    return (
        f"^(({_years_pattern(first, last)})-W({weeks})"
        f"|({'|'.join(f'{y:04d}' for y in long_years)})-W53)$"
    )


ROW_ID: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": MAX_ROW_ID}
HHMM: dict[str, Any] = {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$", "maxLength": 5}
ISO_WEEK: dict[str, Any] = {
    "type": "string",
    "pattern": iso_week_pattern(*YEARS),
    "maxLength": 8,
    "description": f"an ISO week (YYYY-Www) of the years {YEARS[0]} to {YEARS[1]}; week 53 "
    "only in the years that have one",
    "examples": ["2026-W49"],
}
BOOKING_CODE: dict[str, Any] = {"type": "string", "pattern": "^[A-Za-z0-9]{6,12}$"}
PHONE: dict[str, Any] = {
    "type": "string",
    "pattern": "^[+0-9][0-9 -]{10,19}$",
    "maxLength": 20,
    "description": "Chinese mainland mobile number, 11 digits; +86, spaces and dashes allowed",
    "examples": ["13800138000"],
}
TAXPAYER_ID: dict[str, Any] = {
    "type": "string",
    "pattern": "^[0-9A-Za-z]{18}$",
    "maxLength": 18,
    "description": "18-character unified social credit code or resident ID number",
}
NAME: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "maxLength": 100,
    # one line of printable text with at least one character that is not a space
    "pattern": "^[^\\u0000-\\u001f\\u007f]*[^\\s\\u0000-\\u001f\\u007f][^\\u0000-\\u001f\\u007f]*$",
}

FIELD_MESSAGES = {
    "visit_id": f"expected the id of a visit (1 to {MAX_ROW_ID})",
    "start": "expected a time as HH:MM",
    "service": "no such service",
    "taxpayer_id": "expected an 18-character unified social credit code or resident ID number",
    "name": "enter the name: one line of at most 100 characters",
    "phone": "expected an 11-digit mainland mobile number",
    "week": f"expected an ISO week of {YEARS[0]} to {YEARS[1]} such as 2026-W49",
    "code": "expected a booking code of 6 to 12 letters and digits",
    "district": "no such district (GET /api/v1/districts lists them)",
}
"""Plainer messages than the schema validator's, per field."""


def service_code(codes: Sequence[str] | None) -> dict[str, Any]:
    """A service code: one of the services in the database (`codes`).

    With `codes` None, only its shape (the column's 40 characters): the booking service looks
    the code up anyway, so checking a booking needs no extra query for the list."""
    if codes is None:
        return {"type": "string", "minLength": 1, "maxLength": 40}
    return {"type": "string", "enum": list(codes)}


def booking_request(codes: Sequence[str] | None) -> dict[str, Any]:
    """The body of `POST /api/v1/bookings` (see `service_code` for `codes`)."""
    return {
        "type": "object",
        "required": ["visit_id", "start", "service", "taxpayer_id", "name", "phone"],
        "properties": {
            "visit_id": ROW_ID,
            "start": HHMM,
            "service": service_code(codes),
            "taxpayer_id": TAXPAYER_ID,
            "name": NAME,
            "phone": PHONE,
        },
    }


def query(parameters: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The query parameters of an operation as one object schema, to check `request.args`."""
    wanted = [p for p in parameters if p["in"] == "query"]
    return {
        "type": "object",
        "properties": {p["name"]: p["schema"] for p in wanted},
        "required": [p["name"] for p in wanted if p.get("required")],
    }


def district_code(codes: Sequence[str]) -> dict[str, Any]:
    """A district code: one of this installation's districts."""
    return {"type": "string", "enum": list(codes)}


def district_parameters(codes: Sequence[str]) -> list[dict[str, Any]]:
    """`district`: optional while the installation has one district, else required in fact
    (a request without it is a 422 listing the codes)."""
    return [
        {
            "name": "district",
            "in": "query",
            "required": False,
            "description": "district code (GET /api/v1/districts); may be left out when the "
            "installation has only one district",
            "schema": district_code(codes),
        }
    ]


def week_parameters(codes: Sequence[str]) -> list[dict[str, Any]]:
    return [
        {"name": "week", "in": "query", "required": True, "schema": ISO_WEEK},
        *district_parameters(codes),
    ]


def slot_parameters(codes: Sequence[str]) -> list[dict[str, Any]]:
    return [
        {"name": "visit_id", "in": "path", "required": True, "schema": ROW_ID},
        {"name": "service", "in": "query", "required": False, "schema": service_code(codes)},
    ]


def booking_parameters() -> list[dict[str, Any]]:
    return [
        {"name": "code", "in": "path", "required": True, "schema": BOOKING_CODE},
        {"name": "phone", "in": "query", "required": True, "schema": PHONE},
    ]


_STR = {"type": "string"}
_ERROR = {
    "type": "object",
    "properties": {
        "message": _STR,
        "error": {
            "type": "string",
            "description": (
                "why the request was refused, for programs: a booking refusal is one of "
                + ", ".join(f"`{k}`" for k in [*ERROR_KINDS.values(), OTHER_KIND])
                + "; other errors give the HTTP status's name"
            ),
        },
        "errors": {
            "type": "object",
            "description": "what is wrong with each field, by field name",
            "additionalProperties": _STR,
        },
        "alternatives": {
            "type": "array",
            "items": HHMM,
            "description": "place_taken: the nearest start times still free",
        },
        "opens": {
            "type": "string",
            "format": "date-time",
            "description": "not_open_yet: when booking opens (China time)",
        },
        "ended": {
            "type": "string",
            "format": "date-time",
            "description": "visit_ended: when the visit ended (China time)",
        },
        "held": {"type": "integer", "description": "limit_reached: open bookings held"},
        "limit": {"type": "integer", "description": "limit_reached: open bookings allowed"},
        "reason": {
            "type": ["string", "null"],
            "description": "visit_cancelled: why the visit was called off",
        },
    },
    "required": ["message"],
}
_STOP = {
    "type": "object",
    "properties": {
        "id": _STR,
        "name": _STR,
        "street": _STR,
        "kind": _STR,
        "lat": {"type": "number"},
        "lon": {"type": "number"},
    },
    "required": ["id", "name", "street", "kind", "lat", "lon"],
}
_VISIT = {
    "type": "object",
    "properties": {
        "id": ROW_ID,
        "date": {"type": "string", "format": "date"},
        "weekday": {"type": "string", "enum": list(WEEKDAY_EN)},
        "van": _STR,
        "order": {"type": "integer"},
        "stop_id": _STR,
        "stop_name": _STR,
        "street": _STR,
        "start": HHMM,
        "end": HHMM,
        "lat": {"type": "number"},
        "lon": {"type": "number"},
        "status": {"type": "string", "enum": ["scheduled", "cancelled"]},
        "cancellation": {
            "description": "set when the visit was called off: when, why (`reason`: "
            "out_of_service, weather, road_closed, other) and the dispatcher's note",
            "oneOf": [
                {"type": "null"},
                {
                    "type": "object",
                    "properties": {
                        "cancelled_at": {"type": "string", "format": "date-time"},
                        "reason": {"type": "string", "enum": list(REASONS)},
                        "note": {"type": ["string", "null"]},
                    },
                    "required": ["cancelled_at", "reason", "note"],
                },
            ],
        },
    },
    "required": [
        "id",
        *TIMETABLE_COLUMNS,
        "status",
        "cancellation",
    ],  # the open-data columns are the contract
}
_SLOT = {
    "type": "object",
    "properties": {"start": HHMM, "end": HHMM, "free_counters": {"type": "integer", "minimum": 1}},
    "required": ["start", "end", "free_counters"],
}


def _booking(codes: Sequence[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "code": BOOKING_CODE,
            "status": {"type": "string", "enum": list(BOOKING_STATUSES)},
            "service": service_code(codes),
            "visit": {"$ref": "#/components/schemas/Visit"},
            "start": HHMM,
            "end": HHMM,
            "materials_zh": _STR,
            "materials_en": _STR,
            "moved_to": {
                "description": "set when the taxpayer moved this booking (status `moved`): "
                "the booking it became, with its new code, time and visit; after several "
                "moves, the last one",
                "oneOf": [
                    {"type": "null"},
                    {
                        "type": "object",
                        "properties": {
                            "code": BOOKING_CODE,
                            "status": {"type": "string", "enum": list(BOOKING_STATUSES)},
                            "visit": {"$ref": "#/components/schemas/Visit"},
                            "start": HHMM,
                            "end": HHMM,
                        },
                        "required": ["code", "status", "visit", "start", "end"],
                    },
                ],
            },
        },
        "required": ["code", "status", "service", "visit", "start", "end", "moved_to"],
    }


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    err = {"$ref": "#/components/schemas/Error"}
    why = {
        400: "a parameter holds a character no database can store (NUL); `errors` names it",
        404: "no such resource",
        409: "refused by the booking rules; `message` says why",
        413: f"the body is larger than {MAX_JSON_BYTES} bytes; it is not read",
        422: "fields that contradict this document; `errors` names each",
        429: "too many requests from this address; wait and retry",
    }
    return {str(c): _json(err, why[c]) for c in codes}


_DISTRICT = {
    "type": "object",
    "properties": {
        "code": _STR,
        "name": _STR,
        "name_en": _STR,
        "hall": {
            "type": "object",
            "properties": {"name": _STR, "lat": {"type": "number"}, "lon": {"type": "number"}},
        },
        "weeks": {"type": "array", "items": ISO_WEEK},
    },
    "required": ["code", "name", "name_en", "hall", "weeks"],
}


def openapi_document(service_codes: Sequence[str], district_codes: Sequence[str]) -> dict[str, Any]:
    """The document, with the services and districts of this installation as the enums of
    service and district codes (a service code is in the enum if any district has it)."""
    codes = list(service_codes)
    booking = {"$ref": "#/components/schemas/Booking"}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "taxvan API",
            "version": "1.0.0",
            "description": "Published visits of the mobile tax-service van and bookings. "
            "All times are China time (Asia/Shanghai). Booking requests are rate-limited "
            "per address (429).",
        },
        "paths": {
            "/api/v1/openapi.json": {
                "get": {
                    "summary": "This document",
                    "responses": {"200": _json({"type": "object"}, "the OpenAPI document")},
                }
            },
            "/api/v1/districts": {
                "get": {
                    "summary": "Districts with a published timetable",
                    "responses": {
                        "200": _json(
                            {"type": "array", "items": {"$ref": "#/components/schemas/District"}},
                            "districts",
                        )
                    },
                }
            },
            "/api/v1/stops": {
                "get": {
                    "summary": "Stops the van serves in a district",
                    "parameters": district_parameters(district_codes),
                    "responses": {
                        "200": _json(
                            {"type": "array", "items": {"$ref": "#/components/schemas/Stop"}},
                            "stops",
                        ),
                        **_errors(400, 422),
                    },
                }
            },
            "/api/v1/visits": {
                "get": {
                    "summary": "Published visits of an ISO week in a district",
                    "parameters": week_parameters(district_codes),
                    "responses": {
                        "200": _json(
                            {"type": "array", "items": {"$ref": "#/components/schemas/Visit"}},
                            "visits",
                        ),
                        **_errors(400, 422),
                    },
                }
            },
            "/api/v1/visits/{visit_id}/slots": {
                "get": {
                    "summary": "Bookable start times of a visit per service",
                    "parameters": slot_parameters(codes),
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "properties": {
                                    "visit": {"$ref": "#/components/schemas/Visit"},
                                    "slots": {
                                        "type": "object",
                                        "description": "start times by service code",
                                        "propertyNames": service_code(codes),
                                        "additionalProperties": {
                                            "type": "array",
                                            "items": {"$ref": "#/components/schemas/Slot"},
                                        },
                                    },
                                },
                                "required": ["visit", "slots"],
                            },
                            "slots",
                        ),
                        **_errors(400, 404, 422),
                    },
                }
            },
            "/api/v1/bookings": {
                "post": {
                    "summary": "Book a place",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": booking_request(codes)}},
                    },
                    "responses": {
                        "201": _json(booking, "booked"),
                        **_errors(400, 409, 413, 422, 429),
                    },
                }
            },
            "/api/v1/bookings/{code}": {
                "get": {
                    "summary": "Look up a booking",
                    "parameters": booking_parameters(),
                    "responses": {
                        "200": _json(booking, "the booking"),
                        **_errors(400, 404, 422, 429),
                    },
                },
                "delete": {
                    "summary": "Cancel a booking",
                    "parameters": booking_parameters(),
                    "responses": {
                        "200": _json(booking, "cancelled"),
                        **_errors(400, 404, 409, 422, 429),
                    },
                },
            },
        },
        "components": {
            "schemas": {
                "Error": _ERROR,
                "District": _DISTRICT,
                "Stop": _STOP,
                "Visit": _VISIT,
                "Slot": _SLOT,
                "Booking": _booking(codes),
            }
        },
    }
