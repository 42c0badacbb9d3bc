"""The versions migration on a database that already holds published weeks and bookings:
each week becomes version 1 of itself, current; nothing is lost; and back again.

Runs on SQLite and on a PostgreSQL database of its own (created and dropped here), since
SQLite rebuilds the table to drop `UNIQUE (week)` and PostgreSQL drops the named constraint.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from tests.conftest import PG_SERVER, _dispose, _web_config

MIGRATIONS = str(Path(__file__).resolve().parents[3] / "web" / "migrations")
BEFORE = "a32ccf3ea532"
OURS = "e7b3c1a9d5f2"


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'm.sqlite'}"
        return
    import psycopg

    name = f"taxvan_mig_{os.getpid()}_{secrets.token_hex(4)}"
    admin = psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _fill(conn: sa.Connection) -> None:
    """Two published weeks, a visit each, one active booking with its claims (old schema)."""
    meta = sa.MetaData()
    meta.reflect(conn)
    t = meta.tables
    conn.execute(
        t["streets"].insert(), [{"code": "S1", "name": "甲", "name_en": "A", "served": True}]
    )
    conn.execute(
        t["stops"].insert(),
        [
            {
                "id": "P1",
                "name": "一村",
                "street_code": "S1",
                "kind": "village",
                "lat": 36.6,
                "lon": 119.2,
                "coord_source": "surveyed",
            }
        ],
    )
    conn.execute(
        t["services"].insert(),
        [
            {
                "code": "consult",
                "name_zh": "咨询",
                "name_en": "Consult",
                "minutes": 15,
                "materials_zh": "无",
                "materials_en": "none",
            }
        ],
    )
    for i, week in enumerate(("2026-W49", "2026-W50"), start=1):
        conn.execute(
            t["published_weeks"].insert(),
            [
                {
                    "id": i,
                    "week": week,
                    "published_at": dt.datetime(2026, 11, 20, 9),
                    "report": {},
                    "map_html": "<html></html>",
                }
            ],
        )
        conn.execute(
            t["visits"].insert(),
            [
                {
                    "id": i,
                    "published_id": i,
                    "date": dt.date(2026, 11, 30) + dt.timedelta(days=7 * (i - 1)),
                    "van_id": "V1",
                    "order": 1,
                    "stop_id": "P1",
                    "start": 540,
                    "end": 600,
                    "counters": 2,
                    "every_other_week": False,
                }
            ],
        )
    conn.execute(
        t["bookings"].insert(),
        [
            {
                "id": 1,
                "code": "ABCDEFGH",
                "visit_id": 1,
                "service_code": "consult",
                "start": 540,
                "end": 555,
                "counter": 0,
                "taxpayer_id": "92370704MA3C11111W",
                "name": "张三",
                "phone": "13800138000",
                "status": "active",
                "created_at": dt.datetime(2026, 11, 21, 9),
            }
        ],
    )
    conn.execute(
        t["slot_claims"].insert(), [{"visit_id": 1, "counter": 0, "slot": 0, "booking_id": 1}]
    )
    if conn.dialect.name == "postgresql":  # the ids above were given, not drawn
        for table in ("published_weeks", "visits", "bookings"):
            conn.execute(
                sa.text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            )


def test_published_weeks_become_version_1_current_and_keep_their_bookings(empty_url, tmp_path):
    from web import create_app
    from web.db.models import Booking, CurrentWeek, District, PublishedWeek
    from web.db.store import current_week
    from web.extensions import db

    app = create_app(_web_config(empty_url, tmp_path))
    try:
        with app.app_context():
            upgrade(directory=MIGRATIONS, revision=BEFORE)
            with db.engine.begin() as conn:
                _fill(conn)
            upgrade(directory=MIGRATIONS, revision=OURS)
            upgrade(directory=MIGRATIONS)  # later migrations keep what this one made

            weeks = db.session.scalars(select_weeks(PublishedWeek)).all()
            assert [(w.week, w.version, w.published_by) for w in weeks] == [
                ("2026-W49", 1, ""),
                ("2026-W50", 1, ""),
            ]
            current = dict(
                db.session.execute(sa.select(CurrentWeek.week, CurrentWeek.published_id)).all()
            )
            assert current == {"2026-W49": 1, "2026-W50": 2}
            district = db.session.scalar(sa.select(District))
            assert current_week("2026-W49", district).id == 1
            booking = db.session.scalar(sa.select(Booking))
            assert (booking.status, booking.visit_id, booking.status_reason) == ("active", 1, None)
            # a second version of a week is now possible; the same version twice is not
            db.session.add(
                PublishedWeek(
                    district_id=district.id,
                    week="2026-W49",
                    version=2,
                    published_at=dt.datetime(2026, 11, 22),
                    report={},
                    map_html="",
                )
            )
            db.session.commit()
            db.session.add(
                PublishedWeek(
                    district_id=district.id,
                    week="2026-W49",
                    version=2,
                    published_at=dt.datetime(2026, 11, 22),
                    report={},
                    map_html="",
                )
            )
            with pytest.raises(sa.exc.IntegrityError):
                db.session.commit()
            db.session.rollback()
            db.session.remove()

            # and back: only the current versions stay, one row per week again
            downgrade(directory=MIGRATIONS, revision=BEFORE)
            with db.engine.connect() as conn:
                rows = conn.execute(sa.text("SELECT id, week FROM published_weeks ORDER BY id"))
                assert [tuple(r) for r in rows] == [(1, "2026-W49"), (2, "2026-W50")]
                assert conn.execute(sa.text("SELECT count(*) FROM bookings")).scalar() == 1
    finally:
        _dispose(app)


def select_weeks(model):
    return sa.select(model).order_by(model.week, model.version)


def test_the_versions_tables_match_their_migration(app):
    """The migrations create published_weeks, current_weeks, booking_changes and bookings as
    the models describe them."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from web.extensions import db

    with app.app_context(), db.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), db.metadata)
    ours = {"published_weeks", "current_weeks", "booking_changes", "bookings"}

    def tables(diff) -> set[str]:
        if isinstance(diff, list):
            return set().union(*(tables(d) for d in diff))
        found = set()
        for item in diff[1:]:
            if isinstance(item, str):
                found.add(item)
            table = getattr(item, "table", item)
            found.add(getattr(table, "name", None))
        return found

    assert [d for d in diffs if ours & tables(d)] == []
