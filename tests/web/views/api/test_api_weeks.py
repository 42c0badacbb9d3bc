"""The API document's ISO week is exactly the weeks the server takes: a client that checks its
request against the document is never refused for the week, and one the document forbids is
never served (the document once admitted `0890-W54`)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from jsonschema import Draft202012Validator

YEARS = range(1990, 2110)
"""Years around the document's range on both sides."""


def _real_week(label: str) -> bool:
    """A week of the calendar written YYYY-Www, by the standard library."""
    if not re.fullmatch(r"[0-9]{4}-W[0-9]{2}", label):
        return False
    try:
        year, week = int(label[:4]), int(label[6:])
        dt.date.fromisocalendar(year, week, 7)  # its Sunday exists too
    except ValueError:
        return False
    return 2000 <= year <= 2099


def _week_schema(client) -> dict:
    doc = client.get("/api/v1/openapi.json").get_json()
    [week] = [p for p in doc["paths"]["/api/v1/visits"]["get"]["parameters"] if p["name"] == "week"]
    return week["schema"]


def _labels() -> list[str]:
    return [f"{y:04d}-W{w:02d}" for y in YEARS for w in range(100)] + [
        "0890-W54",
        "0000-W01",
        "9999-W52",
        "2026-w49",
        " 2026-W49",
        "2026-W49 ",
        "2026W49",
        "2026-W4",
        "2026-W049",
    ]


def test_the_document_admits_exactly_the_weeks_of_its_years(client):
    validator = Draft202012Validator(_week_schema(client))
    wrong = [label for label in _labels() if validator.is_valid(label) != _real_week(label)]
    assert wrong == []
    assert not validator.is_valid("0890-W54")
    assert validator.is_valid("2026-W53") and not validator.is_valid("2025-W53")


@pytest.mark.parametrize(
    "label",
    [
        "0890-W54",
        "1999-W52",
        "2000-W01",
        "2020-W53",
        "2025-W53",
        "2026-W00",
        "2026-W49",
        "2026-W53",
        "2027-W53",
        "2099-W53",
        "2100-W01",
        "9999-W52",
    ],
)
def test_the_server_takes_what_the_document_admits(client, label):
    admitted = Draft202012Validator(_week_schema(client)).is_valid(label)
    resp = client.get(f"/api/v1/visits?week={label}")
    assert resp.status_code == (200 if admitted else 422), resp.get_json()
    if not admitted:
        assert set(resp.get_json()["errors"]) == {"week"}
