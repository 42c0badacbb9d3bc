"""The district's outbox in the console: filters, pages, exports, who sees phone numbers."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from taxvan.notices import NoticeData, NoticeKind
from tests.web.views.dispatch.test_dispatch import _audit, _clean, _make_console, sign_in
from web.db.models import District, StopRow, VisitRow
from web.db.outbox import notify
from web.extensions import db

PHONE = "13912345678"


@pytest.fixture
def console(app, tmp_path):
    """Two districts (home: dispatcher ann; county: bo) and an admin (root)."""
    _clean(app)
    yield _make_console(app, tmp_path)
    _clean(app)


def _write(app, n: int, kind: NoticeKind = NoticeKind.BOOKED, district: str = "fangzi") -> None:
    """`n` notices about visits at a stop of `district` (as bookings would write them)."""
    with app.app_context():
        d = db.session.scalar(select(District).where(District.code == district))
        stop = db.session.get(StopRow, d.rows["stops"][0])
        visit = db.session.scalars(select(VisitRow).order_by(VisitRow.date)).first()
        base = db.session.scalar(select(db.func.count()).select_from(db.metadata.tables["notices"]))
        for i in range(n):
            notify(
                kind,
                NoticeData(
                    code=f"CODE{i:04d}",
                    date=visit.date,
                    start="09:00",
                    place=stop.name,
                    service="咨询",
                ),
                phone=PHONE,
                lang="zh",
                key=f"{kind}:{district}:{base + i}",
                stop_id=stop.id,
            )
        db.session.commit()


def _clean_notices(app) -> None:
    from sqlalchemy import delete

    from web.db.models import Notice

    with app.app_context():
        db.session.execute(delete(Notice))
        db.session.commit()


def test_the_outbox_page_shows_the_district_notices_with_phones(app, console):
    _clean_notices(app)
    _write(app, 3)
    _write(app, 2, NoticeKind.REMINDER)
    client = app.test_client()
    sign_in(client, "ann")
    page = client.get("/dispatch/districts/fangzi/notices")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert text.count(PHONE) == 5 and "CODE0000" in text and "共 5 条通知" in text
    assert "预约成功" in text and "提醒" in text
    only = client.get("/dispatch/districts/fangzi/notices?kind=reminder").get_data(as_text=True)
    assert only.count(PHONE) == 2
    sent = client.get("/dispatch/districts/fangzi/notices?status=sent").get_data(as_text=True)
    assert PHONE not in sent
    today = client.get("/dispatch/districts/fangzi/notices?date=2026-11-25").get_data(as_text=True)
    assert today.count(PHONE) == 5
    other_day = client.get("/dispatch/districts/fangzi/notices?date=2026-11-24")
    assert PHONE not in other_day.get_data(as_text=True)
    # The district page links to it.
    assert "/dispatch/districts/fangzi/notices" in client.get(
        "/dispatch/districts/fangzi"
    ).get_data(as_text=True)
    _clean_notices(app)


def test_a_bad_filter_says_which(app, console):
    client = app.test_client()
    sign_in(client, "ann")
    r = client.get("/dispatch/districts/fangzi/notices?date=31.12.2026&kind=spam")
    assert r.status_code == 400
    body = r.get_data(as_text=True)
    assert ("YYYY-MM-DD" in body and "类型" in body) or "kind" in body.lower()
    assert client.get("/dispatch/districts/fangzi/notices.csv?status=nope").status_code == 400


def test_the_outbox_is_paged(app, console):
    _clean_notices(app)
    _write(app, 55)
    client = app.test_client()
    sign_in(client, "ann")
    first = client.get("/dispatch/districts/fangzi/notices").get_data(as_text=True)
    second = client.get("/dispatch/districts/fangzi/notices?page=2").get_data(as_text=True)
    assert first.count(PHONE) == 50 and second.count(PHONE) == 5
    assert "CODE0054" in first and "CODE0000" in second  # newest first
    assert 'rel="next"' in first and 'rel="prev"' in second
    _clean_notices(app)


def test_other_districts_and_admins_do_not_see_the_phone_numbers(app, console):
    _clean_notices(app)
    _write(app, 2)
    stranger = app.test_client()
    sign_in(stranger, "bo")
    assert stranger.get("/dispatch/districts/fangzi/notices").status_code == 403
    assert stranger.get("/dispatch/districts/fangzi/notices.csv").status_code == 403
    own = stranger.get("/dispatch/districts/county/notices").get_data(as_text=True)
    assert PHONE not in own and "CODE0000" not in own
    admin = app.test_client()
    sign_in(admin, "root")
    page = admin.get("/dispatch/districts/fangzi/notices").get_data(as_text=True)
    assert PHONE not in page and "139****5678" in page and "CODE0000" in page
    exported = admin.get("/dispatch/districts/fangzi/notices.csv").data.decode("utf-8-sig")
    assert PHONE not in exported and "139****5678" in exported
    _clean_notices(app)


def test_exports_are_csv_with_bom_and_excel_and_are_audited(app, console):
    from openpyxl import load_workbook

    _clean_notices(app)
    _write(app, 3)
    _write(app, 1, NoticeKind.CANCELLED)
    client = app.test_client()
    sign_in(client, "ann")
    r = client.get("/dispatch/districts/fangzi/notices.csv?kind=booked")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert r.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert rows[0][:5] == ["id", "created_at", "kind", "status", "phone"]
    assert len(rows) == 4 and {row[2] for row in rows[1:]} == {"booked"}
    assert all(row[4] == PHONE and "预约成功" in row[6] for row in rows[1:])
    x = client.get("/dispatch/districts/fangzi/notices.xlsx")
    assert x.status_code == 200
    sheet = load_workbook(io.BytesIO(x.data)).active
    values = list(sheet.iter_rows(values_only=True))
    assert len(values) == 5 and values[0][6] == "text"
    assert {v[2] for v in values[1:]} == {"booked", "cancelled"}
    entries = _audit(app, "notices_export")
    assert [(e.actor, e.details["format"], e.details["rows"]) for e in entries] == [
        ("ann", "csv", 3),
        ("ann", "xlsx", 4),
    ]
    assert entries[0].details["kind"] == "booked"
    log = client.get("/dispatch/districts/fangzi").get_data(as_text=True)
    assert "导出通知" in log or "Notices exported" in log
    _clean_notices(app)


def test_the_outbox_reads_well_on_a_laptop(sqlite_app, laptop_page, tmp_path):
    from tests.conftest import serving
    from tests.web.views.dispatch.test_dispatch import PASSWORD

    app = sqlite_app
    app.config["SERVER_NAME"] = None
    _make_console(app, tmp_path)
    _write(app, 12)
    _write(app, 3, NoticeKind.REMINDER)
    with serving(app) as url:
        page = laptop_page
        page.goto(f"{url}/dispatch/sign-in")
        page.fill("#name", "ann")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.goto(f"{url}/dispatch/districts/fangzi/notices")
        page.screenshot(path="/tmp/notify-outbox.png", full_page=False)
        assert page.locator("table.notices tbody tr").count() == 15
        overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        assert not overflow, "the page scrolls sideways on a 1366 px laptop"
        page.select_option("#f-kind", "reminder")
        page.click(".filters button[type=submit]")
        assert page.locator("table.notices tbody tr").count() == 3
