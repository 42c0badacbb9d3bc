"""Door-to-door requests: the public form, the console's planning and decisions, the status page.

Every test runs on SQLite and on PostgreSQL (the `app` fixture); the `door` fixture makes the
console's two districts and users (tests/web/views/dispatch/test_dispatch.py) and removes the
requests and visits it made, since the PostgreSQL database outlives each test.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from taxvan.clock import hhmm
from tests.conftest import VALID_USCC
from tests.web.views.dispatch.test_dispatch import _clean, _make_console, sign_in
from web.db.models import AuditEntry, DoorRequest, DoorVisit, Notice, VisitRow
from web.extensions import db

MOBILE = "13912345678"


def _clean_door(app) -> None:
    with app.app_context():
        db.session.rollback()
        db.session.execute(delete(DoorVisit))
        db.session.execute(delete(DoorRequest))
        db.session.commit()
        db.session.remove()


@pytest.fixture
def door(app, tmp_path: Path):
    _clean_door(app)
    _clean(app)
    yield _make_console(app, tmp_path)
    _clean_door(app)
    _clean(app)


def _token(client, url: str) -> str:
    page = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def _near_a_stop(app, code: str = "fangzi") -> tuple[float, float]:
    """A point 300 m from the stop where a day of 2026-W49 ends earliest (a firm beside a
    village): the demo's days are full, and the room left is at the end of such a day."""
    from web.db.models import District

    with app.app_context():
        d = db.session.scalar(select(District).where(District.code == code))
        ids = set(d.rows["stops"])
        last: dict = {}
        for v in db.session.scalars(select(VisitRow).order_by(VisitRow.start)):
            if v.stop_id in ids:
                last[(v.date, v.van_id)] = v
        visit = min(last.values(), key=lambda v: v.end)
        return visit.stop.lat + 0.0027, visit.stop.lon


def _form(app, **over) -> dict:
    lat, lon = _near_a_stop(app)
    data = {
        "firm_name": "潍坊示例机械有限公司",
        "credit_code": VALID_USCC,
        "contact_name": "李四",
        "mobile": MOBILE,
        "address": "示例工业园 3 号",
        "lat": f"{lat:.6f}",
        "lon": f"{lon:.6f}",
        "weekdays": ["0", "1", "2", "3", "4"],
        "dates": "",
        "services": ["consult"],
        "people": "3",
    }
    data.update(over)
    return data


def _send(app, client, **over):
    url = "/d/fangzi/door-to-door"
    data = {"csrf_token": _token(client, url), **_form(app, **over)}
    return client.post(url, data=data)


def _count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(DoorRequest.id)))


def test_the_form_reads_in_chinese_and_offers_the_districts_services(app, door):
    client = app.test_client()
    page = client.get("/d/fangzi/door-to-door").get_data(as_text=True)
    assert "上门服务" in page and "统一社会信用代码" in page
    assert re.search(r"<input[^>]*name=\"services\"[^>]*value=\"consult\"", page)
    assert "vendor/leaflet/leaflet.js" in page, "the vendored Leaflet, no CDN"
    assert page.index('name="mobile"') < page.index('name="firm_name"'), "phone first"
    assert client.get("/d/nowhere/door-to-door").status_code == 404


def test_a_request_through_to_a_planned_visit(app, door):
    client = app.test_client()
    sent = _send(app, client)
    assert sent.status_code == 302, sent.get_data(as_text=True)
    page = client.get(sent.headers["Location"]).get_data(as_text=True)
    ref = re.search(r'class="code">(S[A-Z0-9]{7})<', page).group(1)
    assert "3 个工作日" in page, "says when the bureau answers"
    assert "/door-to-door/status" in page

    with app.app_context():
        before = {
            v.id: (v.date, v.van_id, v.start, v.end) for v in db.session.scalars(select(VisitRow))
        }

    ann = app.test_client()
    assert sign_in(ann, "ann").status_code == 302
    listing = ann.get("/dispatch/districts/fangzi/door-to-door").get_data(as_text=True)
    assert ref in listing and "潍坊示例机械有限公司" in listing
    plan = ann.get(
        f"/dispatch/districts/fangzi/door-to-door/plan?ref={ref}&week=2026-W49&minutes=15"
    )
    assert plan.status_code == 200
    html = plan.get_data(as_text=True)
    m = re.search(r'name="option" value="([^"]+)"', html)
    assert m, html[html.find("<h2") :]
    option = m.group(1)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    lat, lon = _near_a_stop(app)
    accepted = ann.post(
        "/dispatch/districts/fangzi/door-to-door/accept",
        data={
            "csrf_token": token,
            "reference": ref,
            "week": "2026-W49",
            "minutes": "15",
            "lat": f"{lat:.6f}",
            "lon": f"{lon:.6f}",
            "option": option,
        },
    )
    assert accepted.status_code == 302, accepted.get_data(as_text=True)

    with app.app_context():
        after = {
            v.id: (v.date, v.van_id, v.start, v.end) for v in db.session.scalars(select(VisitRow))
        }
        assert after == before, "every published visit keeps its day and time"
        visit = db.session.scalar(select(DoorVisit))
        day, van = visit.date, visit.van_id
        assert visit.end - visit.start == 15
        assert option == f"{day.isoformat()}|{van}|{option.split('|')[2]}|{visit.start}"
        # the day with the new visit is one the van can keep (independent of the insertion)
        from routes.insertion import day_is_feasible
        from web.db.models import District, PublishedWeek
        from web.operations import door as svc

        district = db.session.scalar(select(District).where(District.code == "fangzi"))
        week = db.session.scalar(select(PublishedWeek).where(PublishedWeek.week == "2026-W49"))
        route = next(r for r in svc.day_routes(district, week) if r.day == day and r.van.id == van)
        assert any(v.key == f"door:{visit.id}" for v in route.visits)
        from flask import current_app

        from web.adapters.planner import make_provider

        hall = (district.hall["lat"], district.hall["lon"])
        points = [hall, *[v.point for v in route.visits]]
        sec = make_provider(current_app.config["TAXVAN"]).matrix(points, points).seconds
        events = [(k + 1, v.start, v.end) for k, v in enumerate(route.visits)]
        assert day_is_feasible(route.van, events, sec.tolist())
        # the crew's day sheet asks this
        crew = svc.door_visits_of(district, van, day)
        assert [v.request.reference for v in crew] == [ref]
        assert crew[0].request.address == "示例工业园 3 号"
        assert (
            db.session.scalar(
                select(func.count(AuditEntry.id)).where(AuditEntry.action == "door_accept")
            )
            == 1
        )

    listing = ann.get("/dispatch/districts/fangzi/door-to-door").get_data(as_text=True)
    assert day.isoformat() in listing and "已接受" in listing
    sheet = ann.get(f"/dispatch/districts/fangzi/days?date={day.isoformat()}&van={van}")
    page = sheet.get_data(as_text=True)
    assert sheet.status_code == 200 and "示例工业园 3 号" in page and MOBILE in page, (
        "the crew's day sheet lists the door-to-door visit with its address and mobile"
    )

    status = _status(app, ref)
    assert status.status_code == 200
    text = status.get_data(as_text=True)
    assert "已接受" in text and day.isoformat() in text

    # the public timetable does not name the firm
    home = app.test_client().get("/d/fangzi/?week=2026-W49").get_data(as_text=True)
    assert "潍坊示例机械有限公司" not in home and "示例工业园 3 号" not in home

    # a second accept of the same request is refused and saves nothing
    again = ann.post(
        "/dispatch/districts/fangzi/door-to-door/accept",
        data={
            "csrf_token": token,
            "reference": ref,
            "week": "2026-W49",
            "minutes": "15",
            "lat": f"{lat:.6f}",
            "lon": f"{lon:.6f}",
            "option": option,
        },
    )
    assert again.status_code == 409
    with app.app_context():
        assert db.session.scalar(select(func.count(DoorVisit.id))) == 1
        told = db.session.scalars(select(Notice).where(Notice.kind == "door_accepted")).all()
        assert len(told) == 1, "one notice, none for the refused second accept"
        visit = db.session.scalar(select(DoorVisit))
        assert told[0].phone == MOBILE and hhmm(visit.start) in told[0].text


def _status(app, ref: str, mobile: str = MOBILE):
    client = app.test_client()
    token = _token(client, "/door-to-door/status")
    return client.post(
        "/door-to-door/status", data={"csrf_token": token, "reference": ref, "mobile": mobile}
    )


def _reference(app) -> str:
    with app.app_context():
        return db.session.scalar(select(DoorRequest.reference))


def test_a_declined_request_shows_its_reason_on_the_status_page(app, door):
    assert _send(app, app.test_client()).status_code == 302
    ref = _reference(app)
    assert "受理中" in _status(app, ref).get_data(as_text=True)
    ann = app.test_client()
    sign_in(ann, "ann")
    url = f"/dispatch/districts/fangzi/door-to-door/plan?ref={ref}"
    token = _token(ann, url)
    empty = ann.post(
        "/dispatch/districts/fangzi/door-to-door/decline",
        data={"csrf_token": token, "reference": ref, "reason": ""},
    )
    assert empty.status_code == 422
    reason = "本周车辆已排满，请下周再申请"
    r = ann.post(
        "/dispatch/districts/fangzi/door-to-door/decline",
        data={"csrf_token": token, "reference": ref, "reason": reason},
    )
    assert r.status_code == 302
    page = _status(app, ref).get_data(as_text=True)
    assert "已拒绝" in page and reason in page
    assert _status(app, ref, "13800000000").status_code == 404, "the mobile must match"
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "door_decline"))
        assert entry.details["reason"] == reason and entry.actor == "ann"
        told = db.session.scalar(select(Notice).where(Notice.kind == "door_declined"))
        assert told.phone == MOBILE and told.district_id == entry.district_id
        assert told.lang == "zh" and "本周车辆已排满" in told.text


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("credit_code", "91370704MA3C000008"),  # one character off: the check character fails
        ("mobile", "1391234567"),
        ("firm_name", "<script>alert(1)</script>"),
        ("address", "x" * 5000),
        ("people", "9" * 40),
        ("people", "9" * 400),  # past a float: a range check would fail on it (a 500)
        ("people", "0"),
        ("lat", "1e999"),
        ("dates", "2026-13-45"),
        ("dates", "2020-01-01"),
    ],
)
def test_a_bad_field_is_named_and_nothing_is_stored(app, door, field, value):
    r = _send(app, app.test_client(), **{field: value})
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert f'id="{field}-error"' in page, f"the error sits at {field}"
    assert _count(app) == 0


def test_nul_and_a_point_in_another_district_are_refused(app, door):
    client = app.test_client()
    r = _send(app, client, address="示例\x00路")
    assert r.status_code == 400 and "address" in r.get_data(as_text=True)
    far = _send(app, client, lat="39.9", lon="116.4")  # Beijing
    assert far.status_code == 422 and 'id="lat-error"' in far.get_data(as_text=True)
    assert _count(app) == 0
    # a point left to the dispatcher is fine
    assert _send(app, client, lat="", lon="").status_code == 302
    assert _count(app) == 1


def test_another_districts_dispatcher_is_refused(app, door):
    assert _send(app, app.test_client()).status_code == 302
    ref = _reference(app)
    bo = app.test_client()
    sign_in(bo, "bo")
    assert bo.get("/dispatch/districts/fangzi/door-to-door").status_code == 403
    assert bo.get(f"/dispatch/districts/fangzi/door-to-door/plan?ref={ref}").status_code == 403
    token = _token(bo, "/dispatch/districts/county/door-to-door")
    r = bo.post(
        "/dispatch/districts/fangzi/door-to-door/decline",
        data={"csrf_token": token, "reference": ref, "reason": "x"},
    )
    assert r.status_code == 403
    # their own district's pages do not show or reach it either
    assert ref not in bo.get("/dispatch/districts/county/door-to-door").get_data(as_text=True)
    r = bo.get(f"/dispatch/districts/county/door-to-door/plan?ref={ref}")
    assert r.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(DoorRequest.status)) == "received"


def test_sending_is_rate_limited(sqlite_template, tmp_path):
    import shutil

    from tests.conftest import DEMO, _dispose, _web_config
    from web import create_app
    from web.extensions import limiter

    shutil.copy(sqlite_template, tmp_path / "db.sqlite")
    app = create_app(
        {
            **_web_config(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path),
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_STORAGE_URI": "memory://",
            "TAXVAN_BOOKING_RATE": "2 per minute",
        }
    )
    try:
        result = app.test_cli_runner().invoke(
            args=["district", "import", "--data", str(DEMO), "--code", "fangzi"]
        )
        assert result.exit_code == 0, result.output
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = "10.9.8.7"
        token = _token(client, "/d/fangzi/door-to-door")
        answers = [
            client.post("/d/fangzi/door-to-door", data={"csrf_token": token, "people": "x"})
            for _ in range(3)
        ]
        assert [a.status_code for a in answers] == [422, 422, 429]
        assert client.get("/d/fangzi/door-to-door").status_code == 200, "reading is not limited"
    finally:
        limiter.enabled = False
        _dispose(app)
