import datetime as dt

import icalendar
import pytest
from ics import Calendar

from web.extensions import db
from web.models import VisitRow


def _first_visit(app) -> VisitRow:
    with app.app_context():
        return db.session.scalars(db.select(VisitRow).order_by(VisitRow.id)).first()


def test_home_shows_the_week_map_timetable_and_open_data(client):
    page = client.get("/").get_data(as_text=True)
    assert "本周办税车服务安排" in page and "2026-W49" in page
    assert '<iframe class="map" src="/map/2026-W49"' in page
    assert "按日期" in page and "按街道" in page
    assert "/open-data/2026-W49.csv" in page


def test_english_is_one_click_away_and_remembered(client):
    page = client.get("/?lang=en").get_data(as_text=True)
    assert "Where the van is this week" in page
    assert "Where the van is this week" in client.get("/").get_data(as_text=True)


def test_week_map_is_served_without_any_cdn(client):
    resp = client.get("/map/2026-W49")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "L.map(" in html and "cdn.jsdelivr" not in html


def test_stop_page_lists_visits_services_qr_and_links(app, client):
    v = _first_visit(app)
    page = client.get(f"/stops/{v.stop_id}").get_data(as_text=True)
    assert "近期服务时间" in page
    assert "发票领购" in page and "营业执照副本" in page
    assert "<svg" in page  # the QR code, inline
    assert f"/stops/{v.stop_id}.ics" in page and f"/stops/{v.stop_id}/poster" in page
    assert "/static/vendor/leaflet/leaflet.js" in page


def test_poster_has_weekly_times_qr_and_hotline(app, client):
    v = _first_visit(app)
    page = client.get(f"/stops/{v.stop_id}/poster").get_data(as_text=True)
    assert f"{v.start // 60:02d}:{v.start % 60:02d}" in page
    assert "<svg" in page and "12366" in page
    with client.get("/static/css/poster.css") as css:
        assert "@page { size: A4" in css.get_data(as_text=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def catchment_app(request: pytest.FixtureRequest, tmp_path):
    """The demo week planned with the catchment stop choice, which has every-other-week stops
    (the covering choice visits each stop it chooses every week), on a database of its own."""
    import os
    import secrets

    import psycopg

    from tests.conftest import PG_SERVER, _dispose, build_app

    taxvan = {"stop_choice": "catchment"}
    if request.param == "sqlite":
        application = build_app(f"sqlite:///{tmp_path / 'taxvan.sqlite'}", tmp_path, taxvan=taxvan)
        yield application
        _dispose(application)
        return
    name = f"taxvan_test_{os.getpid()}_{secrets.token_hex(4)}"
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            application = build_app(f"{PG_SERVER}/{name}", tmp_path, taxvan=taxvan)
            yield application
            _dispose(application)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_every_other_week_stops_say_so_on_their_page_and_poster(catchment_app):
    app = catchment_app
    client = app.test_client()
    with app.app_context():
        visits = db.session.scalars(db.select(VisitRow)).all()
        alternate = {v.stop_id for v in visits if v.every_other_week}
        weekly = {v.stop_id for v in visits} - alternate
    assert alternate and weekly, "the demo week has both kinds of stop"
    for stop_id in sorted(alternate)[:2]:
        assert "隔周" in client.get(f"/stops/{stop_id}?lang=zh").get_data(as_text=True)
        assert "隔周" in client.get(f"/stops/{stop_id}/poster").get_data(as_text=True)
        english = client.get(f"/stops/{stop_id}?lang=en").get_data(as_text=True)
        assert "every other week" in english
    for stop_id in sorted(weekly)[:2]:
        assert "隔周" not in client.get(f"/stops/{stop_id}?lang=zh").get_data(as_text=True)
        assert "隔周" not in client.get(f"/stops/{stop_id}/poster").get_data(as_text=True)


def test_ical_feed_parses_back_with_a_second_library(app, client):
    v = _first_visit(app)
    resp = client.get(f"/stops/{v.stop_id}.ics")
    assert resp.mimetype == "text/calendar"
    cal = Calendar(resp.get_data(as_text=True))
    events = sorted(cal.events, key=lambda e: e.begin)
    assert events
    first = events[0]
    assert first.begin.utcoffset() == dt.timedelta(hours=8)
    assert (first.begin.hour * 60 + first.begin.minute) == v.start or any(
        e.begin.date() == v.date for e in events
    )
    parsed = icalendar.Calendar.from_ical(resp.get_data())
    assert any(c.name == "VTIMEZONE" for c in parsed.walk())


def test_open_data_has_the_planner_columns(client):
    text = client.get("/open-data/2026-W49.csv").get_data(as_text=True)
    header = text.lstrip("\ufeff").splitlines()[0]
    assert header == "date,weekday,van,order,stop_id,stop_name,street,start,end,lat,lon"
    doc = client.get("/open-data/2026-W49.json").get_json()
    assert doc["week"] == "2026-W49" and doc["visits"]
    assert set(doc["visits"][0]) == set(header.split(","))


@pytest.mark.parametrize(
    "path", ["/stops/nowhere", "/map/2030-W01", "/open-data/1999-W01.csv", "/visits/999999/book"]
)
def test_unknown_things_are_a_friendly_404(client, path):
    resp = client.get(path)
    assert resp.status_code == 404
    assert "页面不存在" in resp.get_data(as_text=True)


def test_holiday_week_shows_a_notice_for_the_days_off(tmp_path):
    """National Day week 2026-W41: the home page says which days the van does not run."""
    from tests.conftest import _dispose, build_app
    from web.commands import publish_week

    app = build_app(f"sqlite:///{tmp_path / 'h.sqlite'}", tmp_path, publish=False)
    with app.app_context():
        publish_week("2026-W41", say=lambda _m: None)
    page = app.test_client().get("/?week=2026-W41").get_data(as_text=True)
    assert "2026-10-05 为法定节假日（国庆节），办税车暂停服务" in page
    assert "2026-10-10 为调休工作日，办税车按周一的时间表服务" in page
    english = app.test_client().get("/?week=2026-W41&lang=en").get_data(as_text=True)
    assert "2026-10-10 is a make-up working day: the van runs the Mon timetable." in english
    _dispose(app)


def test_dispatcher_commands_create_load_and_publish(tmp_path):
    """init-db, load-demo and publish from the command line, as a dispatcher runs them."""
    import dataclasses

    from tests.conftest import DEMO, _dispose, _web_config
    from web import create_app

    app = create_app(_web_config(f"sqlite:///{tmp_path / 'c.sqlite'}", tmp_path))
    app.config["TAXVAN"] = dataclasses.replace(
        app.config["TAXVAN"], cache_dir=str(tmp_path / "cache")
    )
    runner = app.test_cli_runner()
    assert "database ready" in runner.invoke(args=["init-db"]).output
    loaded = runner.invoke(args=["load-demo", "--data", str(DEMO)])
    assert "49 stops" in loaded.output and loaded.exit_code == 0
    published = runner.invoke(
        args=["publish", "--week", "2026-W50", "--data", str(DEMO), "--time-limit", "1"]
    )
    assert published.exit_code == 0 and "published 2026-W50" in published.output
    again = runner.invoke(
        args=["publish", "--week", "2026-W50", "--data", str(DEMO), "--time-limit", "1"]
    )
    assert again.exit_code == 1 and "already published" in again.output
    bad = runner.invoke(args=["load-demo", "--data", str(tmp_path / "none")])
    assert bad.exit_code == 1 and "data folder not found" in bad.output
    assert "Traceback" not in bad.output
    _dispose(app)


def test_qr_code_decodes_to_the_stop_page(app, client):
    """Read the QR code back with OpenCV's detector, as a phone camera would."""
    import cv2
    import numpy as np

    v = _first_visit(app)
    resp = client.get(f"/stops/{v.stop_id}/qr.png")
    assert resp.mimetype == "image/png"
    image = cv2.imdecode(np.frombuffer(resp.get_data(), np.uint8), cv2.IMREAD_GRAYSCALE)
    text, _points, _ = cv2.QRCodeDetector().detectAndDecode(image)
    assert text == f"http://taxvan.test/stops/{v.stop_id}"
