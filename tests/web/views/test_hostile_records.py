"""The crew's records under attack: a record id of another district's record, bodies of the
wrong shape, a disabled crew's queue. On SQLite and PostgreSQL (the `app` fixture)."""

from __future__ import annotations

import uuid

from tests.web.views.dispatch.test_crew import (  # noqa: F401  (fixtures)
    RECORDS,
    TOKEN,
    _records,
    _visit_day,
    crew,
)
from tests.web.views.dispatch.test_dispatch import (  # noqa: F401  (fixtures)
    PASSWORD,
    _cli,
    console,
    sign_in,
)

COUNTY_RECORDS = "/dispatch/api/districts/county/records"


def _county_crew(app) -> None:
    result = _cli(
        app,
        "user",
        "create",
        "van2",
        "--district",
        "county",
        "--role",
        "crew",
        "--password-stdin",
        input=PASSWORD,
    )
    assert result.exit_code == 0, result.output


def test_another_district_s_record_id_does_not_replay_its_record_there(app, crew):  # noqa: F811
    visit_id, code, _now = _visit_day(app)
    phone = app.test_client()
    sign_in(phone, "van1")
    record = {
        "client_id": str(uuid.uuid4()),
        "visit_id": visit_id,
        "outcomes": {code: "served"},
        "walk_ins": [{"service": "consult", "count": 1, "credit_code": "91370704MA3C000007"}],
        "note": "王先生的电话 13800138000",
    }
    token = phone.get(TOKEN).get_json()["csrf_token"]
    assert phone.post(RECORDS, json=record, headers={"X-CSRFToken": token}).status_code == 200
    _county_crew(app)
    stranger = app.test_client()
    sign_in(stranger, "van2")
    token = stranger.get("/dispatch/api/districts/county/records/token").get_json()["csrf_token"]
    # the county's crew sends the same record id and visit id to its own district's URL
    r = stranger.post(
        COUNTY_RECORDS,
        json={"client_id": record["client_id"], "visit_id": visit_id},
        headers={"X-CSRFToken": token},
    )
    body = r.get_data(as_text=True)
    assert r.status_code == 404, body
    assert "13800138000" not in body and code not in body and "王先生" not in body
    assert _records(app) == 1


def test_bodies_of_the_wrong_shape_are_refused_by_field(app, crew):  # noqa: F811
    visit_id, code, _now = _visit_day(app)
    phone = app.test_client()
    sign_in(phone, "van1")
    headers = {"X-CSRFToken": phone.get(TOKEN).get_json()["csrf_token"]}
    base = {"client_id": str(uuid.uuid4()), "visit_id": visit_id}
    for extra, field in (
        ({"turned_away": -1}, "turned_away"),
        ({"turned_away": 10**30}, "turned_away"),
        ({"turned_away": 1.5}, "turned_away"),
        ({"walk_ins": [{"service": "consult", "count": 10**6}]}, "walk_ins.0.count"),
        ({"walk_ins": [{"service": ["consult"], "count": 1}]}, "walk_ins.0.service"),
        ({"walk_ins": {"service": "consult"}}, "walk_ins"),
        ({"outcomes": ["served"]}, "outcomes"),
        ({"outcomes": {code: 1}}, "outcomes"),
        ({"outcomes": {"ZZZZ-ZZZZ": "served"}}, "outcomes.ZZZZ-ZZZZ"),
        ({"note": "长" * 501}, "note"),
        ({"note": ["x"]}, "note"),
        ({"arrival": 540}, "arrival"),
        ({"arrival": "9:00\u0000"}, "arrival"),
        ({"visit_id": "1"}, "visit_id"),
        ({"visit_id": 2**40}, "visit_id"),
        ({"client_id": 7}, "client_id"),
    ):
        r = phone.post(RECORDS, json={**base, **extra}, headers=headers)
        assert r.status_code == 400, (extra, r.get_data(as_text=True))
        assert field in r.get_json()["errors"], (extra, r.get_json())
    assert phone.post(RECORDS, json=[base], headers=headers).status_code == 400
    raw = phone.post(
        RECORDS,
        data=b'{"note": "\xff\xfe"}',
        headers={**headers, "Content-Type": "application/json"},
    )
    assert raw.status_code == 400 and raw.is_json
    huge = phone.post(RECORDS, json={**base, "note": "x" * 10_000_000}, headers=headers)
    assert huge.status_code == 413
    assert _records(app) == 0


def test_a_disabled_crew_s_queued_records_are_refused(app, crew):  # noqa: F811
    visit_id, _code, _now = _visit_day(app)
    phone = app.test_client()
    sign_in(phone, "van1")
    headers = {"X-CSRFToken": phone.get(TOKEN).get_json()["csrf_token"]}
    assert _cli(app, "user", "disable", "van1").exit_code == 0
    r = phone.post(
        RECORDS, json={"client_id": str(uuid.uuid4()), "visit_id": visit_id}, headers=headers
    )
    assert r.status_code == 401 and r.is_json
    assert _records(app) == 0
