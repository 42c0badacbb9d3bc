"""Shared fixtures: the bundled Fangzi data, a solved demo week, and small named instances."""

from __future__ import annotations

import datetime as dt
import math
import os
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from routes.engine import SearchParams
from routes.matrix import CachedProvider, GeodesicProvider
from routes.plan import Plan
from routes.planner import WeekPlan, plan_week
from routes.problem import PlanSettings, RemoteStats, WeekProblem
from taxvan.clock import CHINA
from taxvan.dataset import Dataset
from taxvan.demand import VisitDemand, WeekDemand
from taxvan.fleet import Van
from taxvan.io.loaders import load_dataset
from taxvan.places import Depot, Stop, StopKind, Street
from taxvan.services import Service
from taxvan.weights import Weights
from taxvan.workdays import WorkWeek

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "data" / "fangzi"


@contextmanager
def chromium_page(width: int, height: int) -> Iterator[Any]:
    """A page in Debian's headless Chromium (Playwright) on a `width` x `height` screen."""
    import shutil

    if shutil.which("chromium") is None:
        pytest.skip("needs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=shutil.which("chromium"),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield browser.new_page(viewport={"width": width, "height": height})
        finally:
            browser.close()


@pytest.fixture
def phone_page():
    """A page on a 360 x 740 phone screen: the public site is read on phones."""
    with chromium_page(360, 740) as page:
        yield page


@pytest.fixture
def laptop_page():
    """A page on a 1366 x 768 laptop screen: the dispatcher console is used on laptops."""
    with chromium_page(1366, 768) as page:
        yield page


@contextmanager
def serving(app) -> Iterator[str]:
    """The app on a free loopback port, threaded, for real HTTP clients; yields its base URL."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def live_url(sqlite_app) -> Iterator[str]:
    """The SQLite app served on loopback, answering whatever host the browser names."""
    sqlite_app.config["SERVER_NAME"] = None
    with serving(sqlite_app) as url:
        yield url


@pytest.fixture(scope="session")
def demo_dataset() -> Dataset:
    return load_dataset(DEMO)


@pytest.fixture(scope="session")
def matrix_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("matrices")


@pytest.fixture(scope="session")
def demo_templates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The templates folder of the session's demo plans."""
    return tmp_path_factory.mktemp("templates")


@pytest.fixture(scope="session")
def demo_week(demo_dataset: Dataset, matrix_cache: Path, demo_templates: Path) -> WeekPlan:
    """The demo's 2026-W49 as `taxvan plan` makes it: through `routes.plan_week`, the weekly
    template planned (3 s), checked, saved and applied to the calendar week."""
    return plan_week(
        demo_dataset,
        "2026-W49",
        CachedProvider(GeodesicProvider(), matrix_cache),
        params=SearchParams(time_limit_s=3),
        templates=demo_templates,
    )


@pytest.fixture(scope="session")
def demo_problem(demo_week: WeekPlan) -> WeekProblem:
    """The calendar week 2026-W49 of the demo: its working dates and the visits due."""
    return demo_week.problem


@pytest.fixture(scope="session")
def demo_plan(demo_week: WeekPlan) -> Plan:
    return demo_week.plan


def van(
    van_id: str = "V1",
    shift: tuple[int, int] = (8 * 60 + 30, 17 * 60),
    lunch: tuple[int, int, int] = (60, 11 * 60 + 30, 13 * 60 + 30),
) -> Van:
    return Van(van_id, van_id, 2, shift[0], shift[1], lunch[0], lunch[1], lunch[2])


HALL = (36.6509, 119.1634)


def ring_stops(n: int, km: float, street: str = "S1", prefix: str = "T") -> list[Stop]:
    """`n` stops on a circle of radius `km` around the hall (same travel time to each)."""
    out = []
    for i in range(n):
        a = 2 * math.pi * i / n
        lat = HALL[0] + km / 111.0 * math.sin(a)
        lon = HALL[1] + km / (111.0 * math.cos(math.radians(HALL[0]))) * math.cos(a)
        out.append(Stop(f"{prefix}{i + 1}", f"stop {i + 1}", street, StopKind.VILLAGE, lat, lon))
    return out


def make_problem(
    stops: Sequence[Stop],
    visits: Sequence[VisitDemand],
    dates: Sequence[dt.date],
    vans: Sequence[Van] = (),
    settings: PlanSettings | None = None,
) -> WeekProblem:
    """A hand-made week: given stops, visits and dates, matrices from the default provider."""
    vans = tuple(vans) or (van(),)
    streets = tuple(Street(c, c, c, True) for c in sorted({s.street_code for s in stops}))
    ds = Dataset(
        "test",
        Depot("hall", "hall", *HALL),
        streets,
        tuple(stops),
        (),
        (Service("consult", "咨询", "Consult", 15, "无", "none"),),
        vans,
    )
    points = [ds.depot.point, *[s.point for s in stops]]
    m = GeodesicProvider().matrix(points, points)
    iso = dates[0].isocalendar()
    week = WorkWeek(iso.year, iso.week, tuple(dates))
    minutes = {}
    for v in visits:
        minutes[v.street_code] = minutes.get(v.street_code, 0) + v.dwell
    demand = WeekDemand(
        tuple(visits),
        minutes,
        {c: 1 / len(minutes) for c in minutes},
        sum(minutes.values()),
    )
    weights = Weights({s.code: 0 for s in streets}, {s.id: 0 for s in stops}, {}, 0, 0)
    remote = RemoteStats((), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    return WeekProblem(
        ds, week, demand, weights, remote, m.metres, m.seconds, settings or PlanSettings()
    )


def visit(
    stop: Stop, dwell: int, weight: float, index: int = 0, count: int = 1, gap: int = 0
) -> VisitDemand:
    return VisitDemand(stop.id, stop.street_code, index, count, dwell, weight, gap)


WEEK49 = [dt.date(2026, 11, 30) + dt.timedelta(days=i) for i in range(5)]


# --- the web app ------------------------------------------------------------------------

CHINA_NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=CHINA)
"""Tests run as if it were Wednesday 25 November 2026, 10:00 in China; week 2026-W49 is next."""

PG_SERVER = os.environ.get("TAXVAN_TEST_PG", "postgresql://postgres@127.0.0.1:5432")
"""The PostgreSQL server the tests use; each test session creates and drops a database of its own
there (the machine's `test` database is never touched)."""


def _web_config(db_url: str, instance: Path) -> dict:
    """Test settings; the app's instance folder is `instance`, never the checkout's."""
    return {
        "TESTING": True,
        "INSTANCE_PATH": str(instance.resolve()),
        "SQLALCHEMY_DATABASE_URI": db_url,
        "TAXVAN_CLOCK": lambda: CHINA_NOW,
        "RATELIMIT_ENABLED": False,
        "SERVER_NAME": "taxvan.test",
    }


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A PostgreSQL database created for this test session and dropped after it."""
    import psycopg

    name = f"taxvan_test_{os.getpid()}_{secrets.token_hex(4)}"
    try:
        admin = psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True)
    except psycopg.OperationalError as exc:  # pragma: no cover - CI starts PostgreSQL
        pytest.fail(f"PostgreSQL at {PG_SERVER} is needed by the tests: {exc}")
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def build_app(
    db_url: str,
    tmp: Path,
    extra: dict | None = None,
    publish: bool = True,
    taxvan: dict | None = None,
):
    """A fresh app on `db_url` with the demo data loaded and 2026-W49 published.

    `taxvan` overrides fields of the app's `Config` (e.g. the stop choice)."""
    from flask import Flask

    from web import create_app
    from web.commands import init_db, publish_week

    app: Flask = create_app({**_web_config(db_url, tmp), **(extra or {})})
    app.config["TAXVAN"] = dataclasses.replace(
        app.config["TAXVAN"],
        cache_dir=str(tmp / "cache"),
        time_limit_s=1.0,
        data_dir=str(DEMO),
        **(taxvan or {}),
    )
    with app.app_context():
        init_db()
        if publish:
            publish_week("2026-W49", say=lambda _m: None)
    return app


import dataclasses  # noqa: E402


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with the demo week published, planned once and copied for each test."""
    folder = tmp_path_factory.mktemp("sqlite-template")
    _dispose(build_app(f"sqlite:///{folder / 'taxvan.sqlite'}", folder))
    return folder / "taxvan.sqlite"


@pytest.fixture(scope="session")
def pg_session_app(pg_url: str, tmp_path_factory: pytest.TempPathFactory):
    """The app on a database of its own: schema from the migrations, demo week published."""
    application = build_app(pg_url, tmp_path_factory.mktemp("pg"))
    yield application
    _dispose(application)


@pytest.fixture(params=["sqlite", "postgresql"])
def app(request: pytest.FixtureRequest, sqlite_template: Path, tmp_path: Path):
    """The app with the demo week published and no bookings, on each database in turn."""

    if request.param == "postgresql":
        from web.extensions import db

        application = request.getfixturevalue("pg_session_app")
        application.config["TAXVAN_CLOCK"] = lambda: CHINA_NOW
        with application.app_context():
            reset_published()
        yield application
        with application.app_context():
            db.session.remove()
        return
    application = _sqlite_app(sqlite_template, tmp_path)
    yield application
    _dispose(application)


def reset_published() -> None:
    """Back to the shared PostgreSQL app's start: no bookings or notices, and each week's
    first version current (a test may have published later versions)."""
    from sqlalchemy import delete, select, update

    from web.db.models import (
        Booking,
        BookingChange,
        CurrentWeek,
        DoorRequest,
        DoorVisit,
        Draft,
        Notice,
        PublishedWeek,
        SlotClaim,
        VisitRow,
    )
    from web.extensions import db

    db.session.rollback()
    db.session.execute(delete(DoorVisit))
    db.session.execute(delete(DoorRequest))
    db.session.execute(delete(Notice))
    db.session.execute(delete(BookingChange))
    db.session.execute(delete(SlotClaim))
    db.session.execute(delete(Booking))
    for first in db.session.scalars(select(PublishedWeek).where(PublishedWeek.version == 1)):
        db.session.execute(
            update(CurrentWeek)
            .where(CurrentWeek.district_id == first.district_id, CurrentWeek.week == first.week)
            .values(published_id=first.id)
        )
    later = select(PublishedWeek.id).where(PublishedWeek.version > 1)
    db.session.execute(delete(VisitRow).where(VisitRow.published_id.in_(later)))
    db.session.execute(delete(PublishedWeek).where(PublishedWeek.version > 1))
    db.session.execute(update(Draft).values(status="draft"))
    db.session.execute(
        update(VisitRow).values(cancelled_at=None, cancel_reason=None, cancel_note=None)
    )
    db.session.commit()


def _sqlite_app(sqlite_template: Path, tmp_path: Path):
    import shutil

    from web import create_app

    db_file = tmp_path / "taxvan.sqlite"
    shutil.copy(sqlite_template, db_file)
    application = create_app(_web_config(f"sqlite:///{db_file}", tmp_path))
    application.config["TAXVAN"] = dataclasses.replace(
        application.config["TAXVAN"], cache_dir=str(tmp_path / "cache"), data_dir=str(DEMO)
    )
    return application


@pytest.fixture
def sqlite_app(sqlite_template: Path, tmp_path: Path):
    """The app on SQLite only, for tests where one database is enough (the browser)."""
    application = _sqlite_app(sqlite_template, tmp_path)
    yield application
    _dispose(application)


def _dispose(application) -> None:
    from web.extensions import db

    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


VALID_USCC = "91370704MA3C000007"
OTHER_USCC = "92370704MA3C11111W"


def read_qr(png: bytes, border: int = 0) -> str:
    """The text of the QR code in an image, read with OpenCV's detector as a phone camera would:
    from a few distances (scales), since the detector misses some codes at one particular size."""
    import cv2

    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    if border:
        image = cv2.copyMakeBorder(
            image, border, border, border, border, cv2.BORDER_CONSTANT, value=255
        )
    detector = cv2.QRCodeDetector()
    for scale in (1.0, 0.75, 1.25, 0.5, 1.5):
        seen = image if scale == 1.0 else cv2.resize(image, None, fx=scale, fy=scale)
        text = detector.detectAndDecode(seen)[0]
        if text:
            return text
    return ""


def open_visit(app) -> tuple[int, str]:
    """The first published visit with a start time still open for a consultation."""
    from web.db.models import VisitRow
    from web.extensions import db
    from web.operations import booking as svc

    with app.app_context():
        for v in db.session.scalars(db.select(VisitRow).order_by(VisitRow.id)):
            slots = svc.open_slots(v, service_row("consult"))
            if slots:
                return v.id, slots[0].start
    raise AssertionError("no open visit")


def service_row(code: str, district_code: str | None = None):
    """The service `code` (of `district_code`, else of the first district that has it): services
    are per district since two districts may define one code differently. In an app context."""
    from web.db.models import District, ServiceRow
    from web.extensions import db

    query = db.select(ServiceRow).where(ServiceRow.code == code).order_by(ServiceRow.district_id)
    if district_code is not None:
        query = query.join(District, District.id == ServiceRow.district_id).where(
            District.code == district_code
        )
    return db.session.scalars(query).first()


def sign_in_page(page, base_url: str, name: str, password: str) -> None:
    """Sign `name` in on the console's sign-in page in Chromium and wait for the console (the
    first steps of every browser test of the console)."""
    page.goto(base_url + "/dispatch/sign-in")
    page.get_by_label("用户名").fill(name)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_selector(".console-bar")
