"""A district's import and the bookings and publishes of that district take turns: an import
waits for what is under way in its district (it takes the district's exclusive lock,
`web.db.locks`), so a booking never reads a stop the import is halfway through changing.

PostgreSQL only: SQLite runs one writing transaction at a time anyway.
"""

from __future__ import annotations

import threading

import psycopg
import pytest

from tests.conftest import DEMO
from web.db.locks import DISTRICT_SPACE
from web.db.store import district_by_code
from web.extensions import db
from web.operations.districts import import_district


def test_an_import_waits_for_a_booking_of_its_district_under_way(app):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("postgresql"):
        pytest.skip("SQLite runs one writer at a time")
    with app.app_context():
        district = district_by_code("fangzi")
        assert district is not None
        district_id = district.id

    done = threading.Event()

    def run() -> None:
        with app.app_context():
            try:
                import_district(DEMO, code="fangzi")
                done.set()
            finally:
                db.session.remove()

    # a booking of the district under way holds the district's lock, shared
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as booking:
        booking.execute(
            "SELECT pg_advisory_xact_lock_shared(%s, %s)", (DISTRICT_SPACE, district_id)
        )
        importer = threading.Thread(target=run)
        importer.start()
        assert not done.wait(1.5), "the import went ahead of the booking under way"
        booking.commit()
    importer.join(60)
    assert done.is_set(), "the import did not finish once the booking was done"
