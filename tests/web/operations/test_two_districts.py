"""One installation, two published districts: the demo and the generated county, isolated.

Each test runs on SQLite and on PostgreSQL (the `app` fixture); the county is imported and
its 2026-W49 published by the `county` fixture and removed after it (the PostgreSQL database
outlives each test).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from tests.conftest import DEMO, VALID_USCC, open_visit, read_qr, serving
from tests.districts import COUNTY_CODE, make_county
from web.db.models import (
    AuditEntry,
    Booking,
    CurrentWeek,
    District,
    PublishedWeek,
    ServiceRow,
    SlotClaim,
    StopRow,
    StreetRow,
    VisitRow,
)
from web.extensions import db

HOME = DEMO.name
COUNTY = "county"
WEEK = "2026-W49"
PHONE = "13800138000"


@pytest.fixture
def county(app, tmp_path: Path) -> Iterator[str]:
    """The county imported as district `county` (示例县) and its 2026-W49 published."""
    from web.commands import publish_week
    from web.operations.districts import import_district

    folder = make_county(tmp_path / "county")
    app.config["TAXVAN"] = dataclasses.replace(
        app.config["TAXVAN"], cache_dir=str(tmp_path / "cache"), time_limit_s=1.0
    )
    with app.app_context():
        import_district(folder, code=COUNTY, name="示例县", name_en="Example County")
        publish_week(WEEK, say=lambda _m: None, district_code=COUNTY)
    yield COUNTY
    with app.app_context():
        db.session.rollback()
        d = db.session.scalar(select(District).where(District.code == COUNTY))
        weeks = select(PublishedWeek.id).where(PublishedWeek.district_id == d.id)
        visits = select(VisitRow.id).where(VisitRow.published_id.in_(weeks))
        db.session.execute(delete(SlotClaim).where(SlotClaim.visit_id.in_(visits)))
        db.session.execute(delete(Booking).where(Booking.visit_id.in_(visits)))
        db.session.execute(delete(VisitRow).where(VisitRow.published_id.in_(weeks)))
        db.session.execute(delete(CurrentWeek).where(CurrentWeek.published_id.in_(weeks)))
        db.session.execute(delete(PublishedWeek).where(PublishedWeek.district_id == d.id))
        for model in (StopRow, StreetRow, ServiceRow):
            db.session.execute(delete(model).where(model.district_id == d.id))
        db.session.execute(delete(AuditEntry).where(AuditEntry.district_id == d.id))
        db.session.execute(delete(District).where(District.id == d.id))
        db.session.commit()
        db.session.remove()


def _text(resp) -> str:
    return resp.get_data(as_text=True)


def _first_visit(app, code: str) -> tuple[int, str]:
    """A visit of district `code` (id, stop id)."""
    with app.app_context():
        v = db.session.execute(
            select(VisitRow.id, VisitRow.stop_id)
            .join(PublishedWeek, PublishedWeek.id == VisitRow.published_id)
            .join(District, District.id == PublishedWeek.district_id)
            .where(District.code == code)
            .order_by(VisitRow.date.desc(), VisitRow.id)
        ).first()
        return v[0], v[1]


def _csrf(client, path: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', _text(client.get(path)))[1]


def test_the_home_page_chooses_between_the_districts(app, county):
    client = app.test_client()
    chooser = client.get("/")
    assert chooser.status_code == 200
    page = _text(chooser)
    assert 'href="/d/county/"' in page and f'href="/d/{HOME}/"' in page
    assert "示例县" in page and "选择" in page
    english = _text(client.get("/?lang=en"))
    assert "Example County" in english


def test_each_district_shows_its_own_timetable_and_name(app, county):
    client = app.test_client()
    _, home_stop = _first_visit(app, HOME)
    _, county_stop = _first_visit(app, COUNTY)
    home = _text(client.get(f"/d/{HOME}/"))
    there = _text(client.get("/d/county/"))
    assert f"/d/{HOME}/stops/{home_stop}" in home and county_stop not in home
    assert f"/d/county/stops/{county_stop}" in there and home_stop not in there
    assert "示例县" in there and "示例县" not in home
    assert client.get("/d/nowhere/").status_code == 404


def test_another_districts_stop_visit_and_booking_are_not_found_under_this_one(app, county):
    client = app.test_client()
    home_visit, home_stop = _first_visit(app, HOME)
    county_visit, county_stop = _first_visit(app, COUNTY)
    for path in (
        f"/d/county/stops/{home_stop}",
        f"/d/county/stops/{home_stop}.ics",
        f"/d/county/stops/{home_stop}/poster",
        f"/d/county/visits/{home_visit}/book",
        f"/d/{HOME}/stops/{county_stop}",
        f"/d/{HOME}/visits/{county_visit}/book",
    ):
        assert client.get(path).status_code == 404, path
    assert client.get(f"/d/county/stops/{county_stop}").status_code == 200

    # a booking in the demo district: found under its district, not under the county's
    visit_id, start = open_visit(app)
    path = f"/d/{HOME}/visits/{visit_id}/book"
    made = client.post(
        path,
        data={
            "csrf_token": _csrf(client, path),
            "service": "consult",
            "start": start,
            "taxpayer_id": VALID_USCC,
            "name": "张三",
            "phone": PHONE,
        },
    )
    assert made.status_code == 302, _text(made)[:500]
    assert made.headers["Location"].startswith(f"/d/{HOME}/booking/")
    code = re.search(r"/booking/(\w+)/confirmed", made.headers["Location"])[1]
    confirmed = _text(client.get(made.headers["Location"]))
    assert code in confirmed and HOME in confirmed, "the page names the district"
    assert client.get(f"/d/county/booking/{code}/confirmed").status_code == 404
    for district, status in ((COUNTY, 404), (HOME, 200)):
        lookup = f"/d/{district}/booking/lookup"
        token = _csrf(client, lookup)
        found = client.post(lookup, data={"csrf_token": token, "code": code, "phone": PHONE})
        assert found.status_code == status, district
        assert ("取消预约" in _text(found)) == (status == 200), "the booking shows only at home"
    token = _csrf(client, "/d/county/booking/lookup")
    refused = client.post(
        "/d/county/booking/cancel", data={"csrf_token": token, "code": code, "phone": PHONE}
    )
    assert refused.status_code == 404
    with app.app_context():
        assert db.session.scalar(select(Booking.status).where(Booking.code == code)) == "active"


def test_open_data_and_qr_codes_name_the_district(app, county):
    client = app.test_client()
    _, county_stop = _first_visit(app, COUNTY)
    doc = client.get(f"/d/county/open-data/{WEEK}.json").get_json()
    assert doc["district"] == COUNTY and doc["visits"]
    assert all(v["stop_id"].startswith(COUNTY_CODE) for v in doc["visits"])
    home_doc = client.get(f"/d/{HOME}/open-data/{WEEK}.json").get_json()
    assert not any(v["stop_id"].startswith(COUNTY_CODE) for v in home_doc["visits"])
    csv_text = client.get(f"/d/county/open-data/{WEEK}.csv").get_data(as_text=True)
    assert county_stop in csv_text
    assert client.get(f"/d/county/map/{WEEK}").status_code == 200
    qr = client.get(f"/d/county/stops/{county_stop}/qr.png").data
    assert read_qr(qr) == f"http://taxvan.test/d/county/stops/{county_stop}"
    ics = _text(client.get(f"/d/county/stops/{county_stop}.ics"))
    assert f"/d/county/stops/{county_stop}" in ics.replace("\r\n ", "")


def test_old_urls_redirect_to_the_district_when_unambiguous(app, county):
    client = app.test_client()
    county_visit, county_stop = _first_visit(app, COUNTY)
    for old, new in (
        (f"/stops/{county_stop}", f"/d/county/stops/{county_stop}"),
        (f"/stops/{county_stop}.ics", f"/d/county/stops/{county_stop}.ics"),
        (f"/stops/{county_stop}/poster?lang=en", f"/d/county/stops/{county_stop}/poster?lang=en"),
        (f"/stops/{county_stop}/qr.png", f"/d/county/stops/{county_stop}/qr.png"),
        (f"/visits/{county_visit}/book", f"/d/county/visits/{county_visit}/book"),
    ):
        r = client.get(old)
        assert r.status_code == 308 and r.headers["Location"].endswith(new), old
    assert client.get("/stops/nowhere").status_code == 404
    # the same week is published in both: the old open-data URL lists both, no guess
    both = client.get(f"/open-data/{WEEK}.csv")
    assert both.status_code == 300
    assert f"/d/county/open-data/{WEEK}.csv" in _text(both)
    assert f"/d/{HOME}/open-data/{WEEK}.csv" in _text(both)
    # a week only the demo has: no ambiguity
    with app.app_context():
        only = db.session.scalar(
            select(PublishedWeek.week)
            .join(District, District.id == PublishedWeek.district_id)
            .where(District.code == HOME, PublishedWeek.week != WEEK)
        )
    if only:
        r = client.get(f"/map/{only}")
        assert r.status_code == 308 and r.headers["Location"].endswith(f"/d/{HOME}/map/{only}")


def test_the_api_serves_each_district(app, county):
    client = app.test_client()
    listed = client.get("/api/v1/districts").get_json()
    assert {d["code"] for d in listed} == {HOME, COUNTY}
    assert next(d for d in listed if d["code"] == COUNTY)["weeks"] == [WEEK]
    unnamed = client.get(f"/api/v1/visits?week={WEEK}")
    assert unnamed.status_code == 422 and COUNTY in unnamed.get_json()["errors"]["district"]
    visits = client.get(f"/api/v1/visits?week={WEEK}&district={COUNTY}").get_json()
    assert visits and all(v["stop_id"].startswith(COUNTY_CODE) for v in visits)
    stops = client.get(f"/api/v1/stops?district={HOME}").get_json()
    assert stops and not any(s["id"].startswith(COUNTY_CODE) for s in stops)
    bad = client.get("/api/v1/stops?district=nowhere")
    assert bad.status_code == 422 and "district" in bad.get_json()["errors"]
    county_visit, _ = _first_visit(app, COUNTY)
    slots = client.get(f"/api/v1/visits/{county_visit}/slots").get_json()
    with app.app_context():
        county_services = set(
            db.session.scalars(
                select(ServiceRow.code)
                .join(District, District.id == ServiceRow.district_id)
                .where(District.code == COUNTY)
            )
        )
    assert set(slots["slots"]) <= county_services


def test_publish_asks_which_district_when_there_are_several(app, county):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["publish", "--week", "2026-W50", "--time-limit", "1"])
    assert result.exit_code != 0
    assert "--district" in result.output and f"{COUNTY}, {HOME}" in result.output
    plan = runner.invoke(args=["plan", "--week", "2026-W50"])
    assert plan.exit_code != 0 and "--district" in plan.output


def test_the_chooser_reads_well_on_a_phone(sqlite_app, tmp_path: Path, phone_page):
    """Screenshot: /tmp/taxvan-district-chooser-phone.png."""
    from web.operations.districts import import_district

    with sqlite_app.app_context():
        import_district(make_county(tmp_path / "c"), code=COUNTY, name="示例县")
        d = db.session.scalar(select(District).where(District.code == COUNTY))
        db.session.add(
            PublishedWeek(
                district_id=d.id,
                week=WEEK,
                published_at=dt_now(),
                report={},
                map_html="<html></html>",
            )
        )
        db.session.commit()
    sqlite_app.config["SERVER_NAME"] = None
    with serving(sqlite_app) as url:
        phone_page.goto(url + "/")
        links = phone_page.locator("ul.districts a")
        assert links.count() == 2
        for i in range(2):
            box = links.nth(i).bounding_box()
            assert box["height"] >= 44 and box["width"] >= 300, "a big target, a line each"
        wide = phone_page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        assert not wide, "nothing wider than the phone"
        phone_page.screenshot(path="/tmp/taxvan-district-chooser-phone.png", full_page=True)
        from tests.web.views.test_accessibility import _assert_no_violations

        _assert_no_violations(phone_page)
        links.nth(0).click()
        phone_page.wait_for_load_state()
        assert re.search(r"/d/\w+/$", phone_page.url)


def dt_now():
    import datetime as dt

    return dt.datetime(2026, 11, 25, 9, 0)
