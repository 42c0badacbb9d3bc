"""The OpenAPI 3.1 document of `/api/v1`."""

from __future__ import annotations

from typing import Any

_ERROR = {
    "type": "object",
    "properties": {"message": {"type": "string"}, "errors": {"type": "object"}},
    "required": ["message"],
}
_VISIT = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "date": {"type": "string", "format": "date"},
        "van": {"type": "string"},
        "order": {"type": "integer"},
        "stop_id": {"type": "string"},
        "stop_name": {"type": "string"},
        "street": {"type": "string"},
        "start": {"type": "string", "pattern": "^\\d{2}:\\d{2}$"},
        "end": {"type": "string", "pattern": "^\\d{2}:\\d{2}$"},
        "lat": {"type": "number"},
        "lon": {"type": "number"},
    },
}
_BOOKING = {
    "type": "object",
    "properties": {
        "code": {"type": "string"},
        "status": {"type": "string"},
        "service": {"type": "string"},
        "visit": {"$ref": "#/components/schemas/Visit"},
        "start": {"type": "string"},
        "end": {"type": "string"},
        "materials_zh": {"type": "string"},
        "materials_en": {"type": "string"},
    },
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def openapi_document() -> dict[str, Any]:
    err = {"$ref": "#/components/schemas/Error"}
    phone = {"name": "phone", "in": "query", "required": True, "schema": {"type": "string"}}
    code = {"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "taxvan API",
            "version": "1.0.0",
            "description": "Published visits of the mobile tax-service van and bookings. "
            "All times are China time (Asia/Shanghai).",
        },
        "paths": {
            "/api/v1/stops": {
                "get": {
                    "summary": "Stops the van serves",
                    "responses": {
                        "200": _json({"type": "array", "items": {"type": "object"}}, "stops")
                    },
                }
            },
            "/api/v1/visits": {
                "get": {
                    "summary": "Published visits of an ISO week",
                    "parameters": [
                        {
                            "name": "week",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "string", "example": "2026-W49"},
                        }
                    ],
                    "responses": {
                        "200": _json(
                            {"type": "array", "items": {"$ref": "#/components/schemas/Visit"}},
                            "visits",
                        ),
                        "422": _json(err, "bad week"),
                    },
                }
            },
            "/api/v1/visits/{visit_id}/slots": {
                "get": {
                    "summary": "Bookable start times of a visit per service",
                    "parameters": [
                        {
                            "name": "visit_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer"},
                        },
                        {
                            "name": "service",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "string"},
                        },
                    ],
                    "responses": {
                        "200": _json({"type": "object"}, "slots"),
                        "404": _json(err, "no such visit"),
                        "422": _json(err, "unknown service"),
                    },
                }
            },
            "/api/v1/bookings": {
                "post": {
                    "summary": "Book a place",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": [
                                        "visit_id",
                                        "start",
                                        "service",
                                        "taxpayer_id",
                                        "name",
                                        "phone",
                                    ],
                                    "properties": {
                                        "visit_id": {"type": "integer"},
                                        "start": {"type": "string"},
                                        "service": {"type": "string"},
                                        "taxpayer_id": {"type": "string"},
                                        "name": {"type": "string"},
                                        "phone": {"type": "string"},
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "201": _json({"$ref": "#/components/schemas/Booking"}, "booked"),
                        "409": _json(err, "the place is gone; alternatives listed"),
                        "422": _json(err, "per-field errors"),
                        "429": _json(err, "too many requests"),
                    },
                }
            },
            "/api/v1/bookings/{code}": {
                "get": {
                    "summary": "Look up a booking",
                    "parameters": [code, phone],
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/Booking"}, "the booking"),
                        "404": _json(err, "no booking with code and phone"),
                    },
                },
                "delete": {
                    "summary": "Cancel a booking",
                    "parameters": [code, phone],
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/Booking"}, "cancelled"),
                        "404": _json(err, "no booking with code and phone"),
                        "409": _json(err, "already cancelled"),
                    },
                },
            },
        },
        "components": {"schemas": {"Error": _ERROR, "Visit": _VISIT, "Booking": _BOOKING}},
    }
