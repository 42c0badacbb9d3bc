import datetime as dt

import icalendar
import pytest
from ics import Calendar

from web.db.models import District, VisitRow
from web.extensions import db


def _first_visit(app) -> VisitRow:
    with app.app_context():
        return db.session.scalars(db.select(VisitRow).order_by(VisitRow.id)).first()


def test_home_shows_the_week_map_timetable_and_open_data(client):
    page = client.get("/d/fangzi/").get_data(as_text=True)
    assert "本周办税车服务安排" in page and "2026-W49" in page
    assert '<iframe class="map" src="/d/fangzi/map/2026-W49"' in page
    assert "按日期" in page and "按街道" in page
    assert "/d/fangzi/open-data/2026-W49.csv" in page


def test_english_is_one_click_away_and_remembered(client):
    page = client.get("/d/fangzi/?lang=en").get_data(as_text=True)
    assert "Where the van is this week" in page
    assert "Where the van is this week" in client.get("/d/fangzi/").get_data(as_text=True)


def test_week_map_is_served_without_any_cdn(client):
    resp = client.get("/d/fangzi/map/2026-W49")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "L.map(" in html and "cdn.jsdelivr" not in html


def test_stop_page_lists_visits_services_qr_and_links(app, client):
    v = _first_visit(app)
    page = client.get(f"/d/fangzi/stops/{v.stop_id}").get_data(as_text=True)
    assert "近期服务时间" in page
    assert "发票领购" in page and "营业执照副本" in page
    assert "<svg" in page  # the QR code, inline
    assert (
        f"/d/fangzi/stops/{v.stop_id}.ics" in page and f"/d/fangzi/stops/{v.stop_id}/poster" in page
    )
    assert "/static/vendor/leaflet/leaflet.js" in page


def test_poster_has_weekly_times_qr_and_hotline(app, client):
    v = _first_visit(app)
    page = client.get(f"/d/fangzi/stops/{v.stop_id}/poster").get_data(as_text=True)
    assert f"{v.start // 60:02d}:{v.start % 60:02d}" in page
    assert "<svg" in page and "12366" in page
    with client.get("/static/css/poster.css") as css:
        assert "@page { size: A4" in css.get_data(as_text=True)


def test_the_poster_title_names_the_district_and_says_every_week(app, client):
    """Posted on a village notice board, the poster says whose van it is and that it comes
    every week."""
    v = _first_visit(app)
    page = client.get(f"/d/fangzi/stops/{v.stop_id}/poster").get_data(as_text=True)
    title = page[page.index("<h1>") : page.index("</h1>")]
    with app.app_context():
        district = db.session.scalar(db.select(District.name).where(District.code == "fangzi"))
    assert district and district in title and "每周" in title
    english = client.get(f"/d/fangzi/stops/{v.stop_id}/poster?lang=en").get_data(as_text=True)
    assert "Weekly times" in english[english.index("<h1>") : english.index("</h1>")]


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
        assert "隔周" in client.get(f"/d/fangzi/stops/{stop_id}?lang=zh").get_data(as_text=True)
        assert "隔周" in client.get(f"/d/fangzi/stops/{stop_id}/poster").get_data(as_text=True)
        english = client.get(f"/d/fangzi/stops/{stop_id}?lang=en").get_data(as_text=True)
        assert "every other week" in english
    for stop_id in sorted(weekly)[:2]:
        assert "隔周" not in client.get(f"/d/fangzi/stops/{stop_id}?lang=zh").get_data(as_text=True)
        assert "隔周" not in client.get(f"/d/fangzi/stops/{stop_id}/poster").get_data(as_text=True)


def test_ical_feed_parses_back_with_a_second_library(app, client):
    v = _first_visit(app)
    resp = client.get(f"/d/fangzi/stops/{v.stop_id}.ics")
    assert resp.mimetype == "text/calendar"
    cal = Calendar(resp.get_data(as_text=True))
    events = {e.uid: e for e in cal.events}
    event = events[f"visit-{v.id}@taxvan"]
    assert event.begin.utcoffset() == dt.timedelta(hours=8)
    assert event.begin.date() == v.date
    assert event.begin.hour * 60 + event.begin.minute == v.start
    assert event.end.hour * 60 + event.end.minute == v.end
    parsed = icalendar.Calendar.from_ical(resp.get_data())
    assert any(c.name == "VTIMEZONE" for c in parsed.walk())


def test_open_data_has_the_planner_columns(client):
    resp = client.get("/d/fangzi/open-data/2026-W49.csv")
    assert resp.headers["Content-Type"] == "text/csv; charset=utf-8"
    text = resp.get_data(as_text=True)
    header = text.lstrip("\ufeff").splitlines()[0]
    assert header == "date,weekday,van,order,stop_id,stop_name,street,start,end,lat,lon"
    doc = client.get("/d/fangzi/open-data/2026-W49.json").get_json()
    assert doc["week"] == "2026-W49" and doc["visits"]
    assert set(doc["visits"][0]) == set(header.split(","))


@pytest.mark.parametrize(
    "path",
    [
        "/d/fangzi/stops/nowhere",
        "/d/fangzi/map/2030-W01",
        "/d/fangzi/open-data/1999-W01.csv",
        "/d/fangzi/visits/999999/book",
    ],
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
    from taxvan.workdays import WEEKDAY_EN, WEEKDAY_ZH
    from web.db.models import PublishedWeek

    with app.app_context():
        publish_week("2026-W41", say=lambda _m: None)
        week = db.session.scalar(db.select(PublishedWeek).where(PublishedWeek.week == "2026-W41"))
        runs = week.report["makeup_timetables"]["2026-10-10"]
    assert runs in (0, 1, 2), "Saturday runs one of the timetables the holidays cancelled"
    page = app.test_client().get("/d/fangzi/?week=2026-W41").get_data(as_text=True)
    assert "2026-10-05 为法定节假日（国庆节），办税车暂停服务" in page
    assert f"2026-10-10 为调休工作日，办税车按{WEEKDAY_ZH[runs]}的时间表服务" in page
    english = app.test_client().get("/d/fangzi/?week=2026-W41&lang=en").get_data(as_text=True)
    assert (
        f"2026-10-10 is a make-up working day: the van runs the {WEEKDAY_EN[runs]} timetable."
        in english
    )
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
    assert "stops: 49 added" in loaded.output and loaded.exit_code == 0
    published = runner.invoke(
        args=["publish", "--week", "2026-W50", "--data", str(DEMO), "--time-limit", "1"]
    )
    assert published.exit_code == 0 and "published 2026-W50" in published.output
    again = runner.invoke(
        args=["publish", "--week", "2026-W50", "--data", str(DEMO), "--time-limit", "1"]
    )
    assert again.exit_code == 0, again.output
    assert "published 2026-W50 version 2" in again.output, "a new version, not a refusal"
    bad = runner.invoke(args=["load-demo", "--data", str(tmp_path / "none")])
    assert bad.exit_code == 1 and "data folder not found" in bad.output
    assert "Traceback" not in bad.output
    _dispose(app)


def test_qr_code_decodes_to_the_stop_page(app, client):
    """Read the QR code back with OpenCV's detector, as a phone camera would."""
    from tests.conftest import read_qr

    v = _first_visit(app)
    resp = client.get(f"/d/fangzi/stops/{v.stop_id}/qr.png")
    assert resp.mimetype == "image/png"
    assert read_qr(resp.get_data()) == f"http://taxvan.test/d/fangzi/stops/{v.stop_id}"


def test_a_holiday_week_shows_its_changed_times_as_changes(app, client):
    """Issue 9.6: in 2026-W41 (National Day Mon-Wed, make-up Saturday) every street is
    served, and the visits not at their usual time say when they usually are."""
    import dataclasses

    from web.commands import publish_week
    from web.db.models import PublishedWeek, StreetRow

    app.config["TAXVAN"] = dataclasses.replace(app.config["TAXVAN"], time_limit_s=1.0)
    try:
        with app.app_context():
            publish_week("2026-W41", say=lambda _m: None)
            week = db.session.scalar(
                db.select(PublishedWeek).where(PublishedWeek.week == "2026-W41")
            )
            moved = [v for v in week.visits if v.usual_date is not None]
            served = {s.code for s in db.session.scalars(db.select(StreetRow)) if s.served}
            streets = {v.stop.street_code for v in week.visits}
            first = moved[0] if moved else None
        # each request in its own app context, as in production (the locale is kept in g)
        zh = client.get("/d/fangzi/?week=2026-W41&lang=zh").get_data(as_text=True)
        en = client.get("/d/fangzi/?week=2026-W41&lang=en").get_data(as_text=True)
        usual49 = client.get("/d/fangzi/?week=2026-W49&lang=zh").get_data(as_text=True)
        app.config["TAXVAN_CLOCK"] = lambda: dt.datetime(
            2026, 10, 1, 9, tzinfo=dt.timezone(dt.timedelta(hours=8))
        )
        stop_page = (
            client.get(f"/d/fangzi/stops/{first.stop_id}?lang=zh").get_data(as_text=True)
            if first
            else ""
        )
        poster = (
            client.get(f"/d/fangzi/stops/{first.stop_id}/poster?lang=zh").get_data(as_text=True)
            if first
            else ""
        )
    finally:
        with app.app_context():
            from web.db.models import CurrentWeek

            db.session.execute(db.delete(CurrentWeek).where(CurrentWeek.week == "2026-W41"))
            for w in db.session.scalars(
                db.select(PublishedWeek).where(PublishedWeek.week == "2026-W41")
            ):
                db.session.delete(w)  # its visits go with it
            db.session.commit()
    assert streets == served, "every served street has a visit in the holiday week"
    assert first is not None, "the make-up Saturday holds visits usually held on a holiday"
    holidays = {dt.date(2026, 10, 5), dt.date(2026, 10, 6), dt.date(2026, 10, 7)}
    assert {v.usual_date for v in moved} <= holidays
    usual = (
        f"{first.usual_date.isoformat()} {first.usual_start // 60:02d}:{first.usual_start % 60:02d}"
    )
    assert f"时间调整：原定 周{'一二三'[first.usual_date.weekday()]} {usual}" in zh
    assert f"本周有 {len(moved)} 次服务因节假日调整" in zh
    assert f"Changed: usually {('Mon', 'Tue', 'Wed')[first.usual_date.weekday()]} {usual}" in en
    assert "时间调整" not in usual49 and "因节假日调整" not in usual49
    assert f"时间调整：原定 周{'一二三'[first.usual_date.weekday()]} {usual}" in stop_page
    # the poster lists weekly times: a time moved by the holiday is not one of them
    moved_row = (
        f"<td>{'一二三四五六日'[first.date.weekday()]}</td><td>"
        f"{first.start // 60:02d}:{first.start % 60:02d}–{first.end // 60:02d}:{first.end % 60:02d}"
    )
    assert moved_row.replace("<td>", "<td>周", 1) not in poster
