"""The van crew on its phone: a role that opens only its district's day sheet and records,
records sent as JSON (a fresh CSRF token, sending twice records once) or by the plain form,
and a session that lasts a van's day. On SQLite and PostgreSQL (the `app` fixture)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import func, select

from taxvan.clock import CHINA
from tests.conftest import CHINA_NOW, VALID_USCC, open_visit
from tests.web.views.dispatch.test_dispatch import (  # noqa: F401  (fixtures)
    PASSWORD,
    _cli,
    _token,
    console,
    sign_in,
)
from web.db.models import VisitRecord, VisitRow
from web.extensions import db
from web.operations import booking as svc

TODAY = "/dispatch/districts/fangzi/today"
RECORDS = "/dispatch/api/districts/fangzi/records"
TOKEN = "/dispatch/api/districts/fangzi/records/token"


@pytest.fixture
def crew(app, console):  # noqa: F811
    result = _cli(
        app,
        "user",
        "create",
        "van1",
        "--district",
        "fangzi",
        "--role",
        "crew",
        "--password-stdin",
        input=PASSWORD,
    )
    assert result.exit_code == 0, result.output
    return console


def _visit_day(app) -> tuple[int, str, dt.datetime]:
    """A booked visit, with the app's clock moved to that visit's day (the crew records then)."""
    visit_id, start = open_visit(app)
    with app.app_context():
        b = svc.book(
            svc.BookingRequest(visit_id, start, "consult", VALID_USCC, "纳税人", "13800138000")
        )
        day = db.session.get(VisitRow, visit_id).date
    now = dt.datetime.combine(day, dt.time(16, 0), tzinfo=CHINA)
    app.config["TAXVAN_CLOCK"] = lambda: now
    return visit_id, b.code, now


def _records(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(VisitRecord))


def test_the_crew_sees_only_its_district_s_sheet(app, crew):
    phone = app.test_client()
    r = sign_in(phone, "van1")
    assert r.status_code == 302
    r = phone.get("/dispatch/")
    assert r.status_code == 302 and r.headers["Location"].endswith(TODAY)
    page = phone.get(TODAY).get_data(as_text=True)
    assert 'rel="manifest"' in page and "js/crew.js" in page
    for url in (
        "/dispatch/districts/fangzi",
        "/dispatch/districts/fangzi/days",
        "/dispatch/districts/fangzi/days.csv?date=2026-11-30",
        "/dispatch/districts/fangzi/disruptions",
        "/dispatch/districts/fangzi/import",
        "/dispatch/districts/fangzi/weeks/2026-W49",
        "/dispatch/users",
        "/dispatch/districts/county/today",
    ):
        assert phone.get(url).status_code == 403, url
    assert phone.get("/dispatch/api/districts/fangzi").status_code == 403
    refused = phone.post(
        "/dispatch/districts/fangzi/disruptions",
        data={"csrf_token": _token(phone, TODAY), "reason": "weather"},
    )
    assert refused.status_code == 403
    assert phone.get("/dispatch/districts/fangzi/crew.webmanifest").is_json
    sw = phone.get("/dispatch/districts/fangzi/crew-sw.js")
    assert sw.status_code == 200 and "caches" in sw.get_data(as_text=True)


def test_a_record_from_the_phone_is_applied_once_however_often_it_is_sent(app, crew):
    visit_id, code, _now = _visit_day(app)
    phone = app.test_client()
    sign_in(phone, "van1")
    record = {
        "client_id": str(uuid.uuid4()),
        "visit_id": visit_id,
        "arrival": "09:02",
        "departure": "11:30",
        "outcomes": {code: "served"},
        "walk_ins": [{"service": "consult", "count": 2}],
        "turned_away": 1,
        "note": "信号差",
    }
    no_token = phone.post(RECORDS, json=record)
    assert no_token.status_code == 400 and _records(app) == 0, "CSRF is checked"
    token = phone.get(TOKEN).get_json()["csrf_token"]
    headers = {"X-CSRFToken": token}
    first = phone.post(RECORDS, json=record, headers=headers)
    assert first.status_code == 200, first.get_data(as_text=True)
    again = phone.post(RECORDS, json=record, headers=headers)
    assert again.status_code == 200 and again.get_json() == first.get_json()
    assert _records(app) == 1
    body = first.get_json()["record"]
    assert body["arrival"] == 9 * 60 + 2 and body["outcomes"] == {code: "served"}
    page = phone.get(TODAY).get_data(as_text=True)
    assert "已记录" in page and 'value="09:02"' in page
    bad = phone.post(
        RECORDS,
        json={**record, "client_id": str(uuid.uuid4()), "arrival": "25:99"},
        headers=headers,
    )
    assert bad.status_code == 400 and "arrival" in bad.get_json()["errors"]
    assert "无法接受" in bad.get_json()["message"]


def test_another_district_s_crew_cannot_record_here(app, crew):
    visit_id, _code, _now = _visit_day(app)
    assert (
        _cli(
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
        ).exit_code
        == 0
    )
    stranger = app.test_client()
    sign_in(stranger, "van2")
    token = stranger.get("/dispatch/api/districts/county/records/token").get_json()["csrf_token"]
    record = {"client_id": str(uuid.uuid4()), "visit_id": visit_id}
    r = stranger.post(RECORDS, json=record, headers={"X-CSRFToken": token})
    assert r.status_code == 403
    r = stranger.post(
        "/dispatch/api/districts/county/records", json=record, headers={"X-CSRFToken": token}
    )
    assert r.status_code == 404, "the visit is not on the county's timetable"
    assert _records(app) == 0


def test_the_form_without_javascript_records_once(app, crew):
    visit_id, code, _now = _visit_day(app)
    phone = app.test_client()
    sign_in(phone, "van1")
    form = {
        "csrf_token": _token(phone, TODAY),
        "client_id": str(uuid.uuid4()),
        "arrival": "09:00",
        f"outcome-{code}": "no_show",
        "walkin-consult": "3",
        "turned_away": "0",
        "note": "",
    }
    url = f"/dispatch/districts/fangzi/visits/{visit_id}/record"
    r = phone.post(url, data=form, follow_redirects=True)
    assert r.status_code == 200 and "记录已发送" in r.get_data(as_text=True)
    phone.post(url, data=form)
    assert _records(app) == 1


def test_a_crew_session_outlasts_a_dispatcher_s_idle_time_but_not_the_day(app, crew):
    phone, laptop = app.test_client(), app.test_client()
    sign_in(phone, "van1")
    sign_in(laptop, "ann")
    later = CHINA_NOW + dt.timedelta(hours=3)
    app.config["TAXVAN_CLOCK"] = lambda: later
    assert phone.get(TODAY).status_code == 200, "three hours in the van without a request"
    assert laptop.get("/dispatch/districts/fangzi").status_code == 302, "a dispatcher idles out"
    cookie = phone.get_cookie("session", domain="taxvan.test")
    assert cookie is not None and cookie.expires is not None, "kept when the browser closes"
    much_later = CHINA_NOW + dt.timedelta(hours=12, minutes=5)
    app.config["TAXVAN_CLOCK"] = lambda: much_later
    assert phone.get(TODAY).status_code == 302, "the absolute maximum still holds"


def test_a_crew_session_idles_out_after_its_own_time_and_the_page_says_so(app, crew):
    phone = app.test_client()
    sign_in(phone, "van1")
    idle = CHINA_NOW + dt.timedelta(minutes=241)
    app.config["TAXVAN_CLOCK"] = lambda: idle
    assert phone.get(TODAY).status_code == 302
    page = phone.get("/dispatch/sign-in").get_data(as_text=True)
    assert "您已 240 分钟无操作" in page
