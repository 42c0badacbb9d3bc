"""The upgrade that gives rows their district, on a database holding rows from before it.

Each test builds a database at the previous head (a32ccf3ea532) on SQLite and on a PostgreSQL
database of its own, writes rows as that release wrote them, upgrades to the newest head and
reads what the rows became.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import text

from tests.conftest import DEMO, PG_SERVER, _web_config

BEFORE = "a32ccf3ea532"
MIGRATIONS = str(Path(__file__).resolve().parents[3] / "web" / "migrations")
NOW = dt.datetime(2026, 11, 20, 9, 0)


@pytest.fixture(params=["sqlite", "postgresql"])
def old_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator:
    """An app whose database stands at the previous head, empty."""
    from web import create_app
    from web.extensions import db

    if request.param == "sqlite":
        url, drop = f"sqlite:///{tmp_path / 'old.sqlite'}", None
    else:
        import psycopg

        name = f"taxvan_mig_{secrets.token_hex(4)}"
        admin = psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True)
        admin.execute(f'CREATE DATABASE "{name}"')
        url, drop = f"{PG_SERVER}/{name}", (admin, name)
    app = create_app(_web_config(url, tmp_path))
    app.config["TAXVAN"] = dataclasses.replace(app.config["TAXVAN"], data_dir=str(DEMO))
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision=BEFORE)
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if drop is not None:
            admin, name = drop
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.close()


def _insert(conn, table: str, **values: object) -> None:
    cols = ", ".join(f'"{c}"' for c in values)
    conn.execute(
        text(f"INSERT INTO {table} ({cols}) VALUES ({', '.join(':' + c for c in values)})"),
        values,
    )


def _old_rows(conn, prefix: str, week: str, week_id: int, visit_id: int, booking: str) -> None:
    """A street, two stops, two services, a published week with two visits and a booking
    holding two places, as the previous release wrote them."""
    _insert(conn, "streets", code=f"{prefix}S", name="街道", name_en="Street", served=True)
    for n in (1, 2):
        _insert(
            conn,
            "stops",
            id=f"{prefix}{n}",
            name=f"站点{n}",
            street_code=f"{prefix}S",
            kind="village",
            lat=36.6 + n / 100,
            lon=119.2,
            coord_source="surveyed",
        )
    for code, minutes in (("consult", 15), (f"{prefix}_only", 30)):
        if conn.execute(text("SELECT 1 FROM services WHERE code = :c"), {"c": code}).first():
            continue  # one catalogue before the upgrade
        _insert(
            conn,
            "services",
            code=code,
            name_zh="咨询",
            name_en="Consultation",
            minutes=minutes,
            materials_zh="身份证",
            materials_en="ID card",
        )
    _insert(
        conn,
        "published_weeks",
        id=week_id,
        week=week,
        published_at=NOW,
        report=json.dumps({"week": week}),
        map_html="<html></html>",
    )
    for n in (1, 2):
        _insert(
            conn,
            "visits",
            id=visit_id + n,
            published_id=week_id,
            date=dt.date(2026, 12, n),
            van_id="V1",
            order=n,
            stop_id=f"{prefix}{n}",
            start=540,
            end=660,
            counters=2,
            every_other_week=False,
        )
    _insert(
        conn,
        "bookings",
        id=visit_id + 1,
        code=booking,
        visit_id=visit_id + 1,
        service_code="consult",
        start=540,
        end=555,
        counter=0,
        taxpayer_id="91370704MA3C000007",
        name="张三",
        phone="13800138000",
        status="active",
        created_at=NOW,
    )
    for slot in (0, 1):
        _insert(
            conn,
            "slot_claims",
            visit_id=visit_id + 1,
            counter=0,
            slot=slot,
            booking_id=visit_id + 1,
        )


def _district(conn, code: str, rows: dict, data_dir: str = "/nowhere") -> int:
    _insert(
        conn,
        "districts",
        code=code,
        name=code,
        name_en=code,
        hall=json.dumps({}),
        settings=json.dumps({}),
        rows=json.dumps(rows),
        data_dir=data_dir,
        created_at=NOW,
        updated_at=NOW,
    )
    return conn.execute(text("SELECT id FROM districts WHERE code = :c"), {"c": code}).scalar()


def test_rows_from_before_districts_go_to_a_district_made_from_the_data_folder(old_app):
    """An installation that published with `flask publish` before districts existed: the
    upgrade creates the district from the configured folder (its name and depot) and gives it
    every row; the site's pages and the booking still work on the upgraded database."""
    from web.db.models import Booking, District, PublishedWeek, ServiceRow, StopRow, StreetRow
    from web.extensions import db

    with old_app.app_context():
        with db.engine.begin() as conn:
            _old_rows(conn, "370704", "2026-W49", 1, 100, "OLDCODE1")
        upgrade(directory=MIGRATIONS)
        district = db.session.scalars(db.select(District)).one()
        assert district.code == DEMO.name
        assert district.hall["name"] and district.hall["lat"] > 30
        assert district.data_dir == str(DEMO.resolve())
        for model in (StreetRow, StopRow, ServiceRow, PublishedWeek):
            owners = set(db.session.scalars(db.select(model.district_id)))
            assert owners == {district.id}, model.__tablename__
        assert district.rows["stops"] == ["3707041", "3707042"]
        booking = db.session.scalars(db.select(Booking)).one()
        assert booking.district_id == district.id
        assert booking.service.minutes == 15 and len(booking.claims) == 2
        assert booking.visit.published.district is district

    client = old_app.test_client()
    assert client.get(f"/d/{district.code}/stops/3707041").status_code == 200
    assert client.get("/stops/3707041").status_code in (301, 308)


def test_rows_of_several_districts_keep_their_owner_and_services_are_copied(old_app):
    """Two districts imported before the upgrade, each with a published week of the same
    label and a shared service code, plus a street no district lists: each row goes to the
    district whose import listed it, the shared service is in both, the same week label may
    now be published in both, and the orphan goes to the district of the configured folder."""
    from web.db.models import District, PublishedWeek, ServiceRow, StopRow, StreetRow
    from web.extensions import db

    with old_app.app_context():
        with db.engine.begin() as conn:
            _old_rows(conn, "AAA", "2026-W48", 1, 100, "CODEAAA1")
            a = _district(
                conn,
                "alpha",
                {"streets": ["AAAS"], "stops": ["AAA1", "AAA2"], "services": ["consult"]},
                data_dir=str(DEMO.resolve()),
            )
            # the second district: its own street and stops, "consult" shared with alpha
            _old_rows(conn, "BBB", "2026-W49", 2, 200, "CODEBBB1")
            b = _district(
                conn,
                "beta",
                {
                    "streets": ["BBBS"],
                    "stops": ["BBB1", "BBB2"],
                    "services": ["consult", "BBB_only"],
                },
            )
            _insert(conn, "streets", code="ORPHAN", name="旧", name_en="Old", served=False)
        upgrade(directory=MIGRATIONS)
        assert db.session.get(StreetRow, "AAAS").district_id == a
        assert db.session.get(StreetRow, "ORPHAN").district_id == a, "the data folder's district"
        assert db.session.get(StopRow, "BBB2").district_id == b
        assert {(s.district_id, s.code) for s in db.session.scalars(db.select(ServiceRow))} >= {
            (a, "consult"),
            (b, "consult"),
            (b, "BBB_only"),
        }
        weeks = {w.week: w.district_id for w in db.session.scalars(db.select(PublishedWeek))}
        assert weeks == {"2026-W48": a, "2026-W49": b}
        # one week label in two districts is now allowed (an id of its own: the rows above set
        # theirs, which PostgreSQL's sequence does not see)
        db.session.add(
            PublishedWeek(
                id=99, district_id=a, week="2026-W49", published_at=NOW, report={}, map_html=""
            )
        )
        db.session.commit()
        assert db.session.get(District, b).rows["services"] == ["BBB_only", "consult"]
