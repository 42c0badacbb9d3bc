"""The API against its own OpenAPI document, by a schema-driven fuzzer (Schemathesis).

Schemathesis reads `/api/v1/openapi.json` from the Flask app over WSGI (no network, no server)
and sends each operation the document's examples, boundary and negative values (coverage
phase) and generated requests (fuzzing phase), derandomised so every run sends the same
requests. Every response must be: no server error, a status the document lists, JSON as
documented, matching its response schema; anything the document forbids must be refused
(4xx); methods the path lacks must be a 405 with `Allow`. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.pytest.lazy import get_all_tests

from tests.conftest import VALID_USCC, open_visit

MAX_EXAMPLES = 15
"""Generated requests per operation and phase: enough to find the classic failures (types,
bounds, NUL, huge numbers) while the whole run stays well under a minute on both databases."""


PHONE = "13800138000"


RAW = {"Accept-Encoding": "identity"}
"""Responses as they are: the WSGI transport does not decompress what flask-compress sends."""


def _config() -> SchemathesisConfig:
    return SchemathesisConfig.from_dict(
        {
            "seed": 20261128,
            # Responses are compressed for clients that accept it (flask-compress), and the
            # WSGI transport does not decompress: ask for the bytes as they are.
            "headers": {"Accept-Encoding": "identity"},
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
            "phases": {
                "examples": {"enabled": True},
                "coverage": {"enabled": True},
                "fuzzing": {"enabled": True},
                "stateful": {"enabled": False},
            },
            "checks": {
                # A request the document allows may still be refused by the booking rules,
                # which no schema can state: a check digit, a visit that exists, the booking
                # window. Those refusals are documented 4xx answers, not contradictions.
                "positive_data_acceptance": {
                    "expected-statuses": ["2xx", "404", "409", "422", "429"]
                },
            },
        }
    )


def test_api_agrees_with_its_document(app):
    """Every operation of the document, each phase; all failures reported together.

    Schemathesis' own `pytest.from_fixture` wrapper sets `request.node._nodeid`, which pytest
    9.2 no longer has, so the per-operation tests it builds are run here directly.
    """
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=_config())

    sent: list[int] = []

    def check(case) -> None:  # type: ignore[no-untyped-def]
        sent.append(case.call_and_validate().status_code)

    failures, operations = [], []
    for result in get_all_tests(schema=schema, test_func=check, settings=None, given_kwargs={}):
        operation, run = result.ok()  # an operation the document cannot describe raises here
        operations.append(operation.label)
        try:
            run()
        except FailureGroup as exc:
            failures.append(f"{operation.label}: {exc}")
    # every operation but the document's own (Schemathesis leaves the schema's URL out)
    assert sorted(operations) == [
        "DELETE /api/v1/bookings/{code}",
        "GET /api/v1/bookings/{code}",
        "GET /api/v1/districts",
        "GET /api/v1/stops",
        "GET /api/v1/visits",
        "GET /api/v1/visits/{visit_id}/slots",
        "POST /api/v1/bookings",
    ]
    assert not failures, "\n\n".join(failures)
    print(f"{len(sent)} requests:", {c: sent.count(c) for c in sorted(set(sent))})
    assert len(sent) > 100 and {200, 404, 405, 422} <= set(sent)


def test_a_booking_lifecycle_agrees_with_the_document(app):
    """The answers the fuzzer cannot reach (it cannot invent a valid taxpayer ID for a visit
    that is open), sent by hand and checked by the same checks: 201, 200, 409."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=_config())
    visit_id, start = open_visit(app)
    body = {
        "visit_id": visit_id,
        "start": start,
        "service": "consult",
        "taxpayer_id": VALID_USCC,
        "name": "张三",
        "phone": PHONE,
    }
    book = schema["/api/v1/bookings"]["POST"]
    booked = book.Case(body=body, media_type="application/json", headers=RAW).call_and_validate()
    assert booked.status_code == 201
    code = booked.json()["code"]
    taken = book.Case(body=body, media_type="application/json", headers=RAW).call_and_validate()
    assert taken.status_code == 409
    one = schema["/api/v1/bookings/{code}"]
    params = {"path_parameters": {"code": code}, "query": {"phone": PHONE}, "headers": RAW}
    assert one["GET"].Case(**params).call_and_validate().json()["status"] == "active"
    assert one["DELETE"].Case(**params).call_and_validate().json()["status"] == "cancelled"
    assert one["DELETE"].Case(**params).call_and_validate().status_code == 409
    slots = schema["/api/v1/visits/{visit_id}/slots"]["GET"]
    found = slots.Case(
        path_parameters={"visit_id": visit_id}, query={"service": "consult"}, headers=RAW
    )
    assert start in [s["start"] for s in found.call_and_validate().json()["slots"]["consult"]]


def test_document_describes_what_is_accepted(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    body = doc["paths"]["/api/v1/bookings"]["post"]["requestBody"]["content"]["application/json"]
    fields = body["schema"]["properties"]
    assert fields["visit_id"] == {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
    assert fields["name"]["maxLength"] == 100 and fields["taxpayer_id"]["maxLength"] == 18
    assert "pattern" in fields["start"] and "pattern" in fields["phone"]
    assert set(fields["service"]["enum"]) >= {"consult", "invoice_sale"}
    for path, method in [
        ("/api/v1/bookings", "post"),
        ("/api/v1/bookings/{code}", "get"),
        ("/api/v1/bookings/{code}", "delete"),
    ]:
        assert "429" in doc["paths"][path][method]["responses"], (path, method)
    assert "413" in doc["paths"]["/api/v1/bookings"]["post"]["responses"]
    visit = doc["components"]["schemas"]["Visit"]
    weekdays = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    assert visit["properties"]["weekday"]["enum"] == weekdays
    assert "weekday" in visit["required"]


def test_document_names_every_refusal_and_the_data_it_carries(client):
    """A program reading the document learns each refusal's name and what comes with it."""
    from web.views.booking.errors import ERROR_KINDS

    error = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]["Error"]
    props = error["properties"]
    assert all(f"`{kind}`" in props["error"]["description"] for kind in ERROR_KINDS.values())
    assert {"alternatives", "opens", "held", "limit", "errors"} <= props.keys()
    assert props["held"]["type"] == props["limit"]["type"] == "integer"
