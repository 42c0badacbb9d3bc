"""Hostile uploads and hostile console URLs: each a clear 4xx naming the file or the field,
never a 500, nothing saved; download names never taken from a request's text.

On SQLite and PostgreSQL (the `app` fixture): the two fail differently on what reaches them
(PostgreSQL refuses NUL in text and ids beyond its `integer`, SQLite ids beyond 2**63).
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

import icalendar
import pytest
from openpyxl import Workbook
from sqlalchemy import select
from werkzeug.http import parse_options_header

from tests.conftest import DEMO
from tests.web.daysupport import DAY
from tests.web.views.dispatch.test_dispatch import console, sign_in  # noqa: F401  (fixture)
from tests.web.views.dispatch.test_dispatch_import import (  # noqa: F401  (fixture)
    _cells,
    _counts,
    _folder_state,
    _page,
    _signed_in,
    _upload,
    home,
)
from tests.web.views.test_hostile_input import _names_fields
from web.db.models import StopRow, VisitRow
from web.extensions import db

BIG_IDS = ["99999999999999999999", str(2**31), str(2**63)]


def _stops_rows() -> list[list[str]]:
    with (DEMO / "stops.csv").open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def _refused(app, folder: Path, files: dict[str, tuple[bytes, str]]) -> str:
    """Upload `files` for a preview; it must be a 400 that saves nothing. The page's text."""
    before_folder, before_db = _folder_state(folder), _counts(app)
    r = _upload(_signed_in(app), files)
    assert r.status_code == 400, r.status_code
    assert _folder_state(folder) == before_folder and _counts(app) == before_db
    html = _page(r)
    assert "确认导入" not in html
    return html


# --- the import preview ---------------------------------------------------------------------


def test_a_broken_zip_named_xlsx_is_a_problem_of_its_file(app, home):  # noqa: F811
    html = _refused(app, home, {"stops": (b"PK\x03\x04" + b"garbage" * 50, "stops.xlsx")})
    assert [c[0] for c in _cells(html)] == ["stops.xlsx"]
    assert "不是 Excel 工作簿（.xlsx）：zip 压缩包已损坏" in html


def test_a_zip_that_is_no_workbook_is_a_problem_of_its_file(app, home):  # noqa: F811
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("readme.txt", "hello")
    html = _refused(app, home, {"stops": (archive.getvalue(), "stops.xlsx")})
    assert [c[0] for c in _cells(html)] == ["stops.xlsx"]
    assert "不是 Excel 工作簿（.xlsx）：其中没有可读取的工作簿" in html


def test_a_100000_row_workbook_is_refused_by_its_limit_before_it_is_read(app, home, monkeypatch):  # noqa: F811
    import pandas as pd

    rows = _stops_rows()
    book = Workbook(write_only=True)
    sheet = book.create_sheet("stops")
    for row in [rows[0], *([rows[1]] * 100_000)]:
        sheet.append(row)
    body = io.BytesIO()
    book.save(body)
    read = pd.read_excel

    def no_workbook_read(path, *a, **k):  # type: ignore[no-untyped-def]
        raise AssertionError(f"{path} was parsed")

    monkeypatch.setattr(pd, "read_excel", no_workbook_read)
    html = _refused(app, home, {"stops": (body.getvalue(), "stops.xlsx")})
    monkeypatch.setattr(pd, "read_excel", read)
    assert re.search(r"stops\.xlsx 至少有 [0-9,]+ 行，超过上限 50,000 行。", html)


def test_the_row_limit_is_a_setting(app, home):  # noqa: F811
    import dataclasses

    config = app.config["TAXVAN"]
    app.config["TAXVAN"] = dataclasses.replace(config, import_rows=10)
    try:
        rows = _stops_rows()
        out = io.StringIO()
        csv.writer(out).writerows(rows[:12])
        html = _refused(app, home, {"stops": (out.getvalue().encode(), "stops.csv")})
    finally:
        app.config["TAXVAN"] = config
    assert "stops.csv 至少有 11 行，超过上限 10 行。" in html


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"[" * 100_000, "outline.geojson 嵌套 100,000 层，超过上限 32 层。"),
        (
            b'{"type": "FeatureCollection", "features": 5}',
            "FeatureCollection 的“features”必须是列表",
        ),
    ],
)
def test_a_hostile_outline_is_a_problem_of_its_file(app, home, body, says):  # noqa: F811
    html = _refused(app, home, {"outline": (body, "outline.geojson")})
    assert [c[0] for c in _cells(html)] == ["outline.geojson"]
    assert says in html


@pytest.mark.parametrize("name", ["任家水坡\r\n村委会", "任家水坡\n村委会", "任家\x07水坡"])
def test_a_stop_name_with_a_line_break_is_refused_at_its_row(app, home, name):  # noqa: F811
    rows = _stops_rows()
    rows[2][1] = name
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    html = _refused(app, home, {"stops": (out.getvalue().encode(), "stops.csv")})
    assert _cells(html) == [("stops.csv", "3", "name")]


def test_a_calendar_feed_survives_a_name_with_a_line_break(app, client):
    """A stop stored before names were checked: its .ics is still a valid calendar."""
    with app.app_context():
        stop_id = db.session.scalars(select(VisitRow.stop_id).order_by(VisitRow.id)).first()
        stop = db.session.get(StopRow, stop_id)
        old = stop.name
        stop.name = "任家水坡\r\nX-INJECTED:1\r\n村委会"
        db.session.commit()
    try:
        r = client.get(f"/d/fangzi/stops/{stop_id}.ics")
    finally:
        with app.app_context():
            db.session.get(StopRow, stop_id).name = old
            db.session.commit()
    assert r.status_code == 200
    assert b"\r\nX-INJECTED" not in r.get_data()
    cal = icalendar.Calendar.from_ical(r.get_data())
    assert cal.walk("VEVENT"), "the visits are in the feed"
    assert parse_options_header(r.headers["Content-Disposition"]) == (
        "inline",
        {"filename": f"stop-{stop_id}.ics"},
    )


# --- console URLs -----------------------------------------------------------------------------


def _ann(app):
    client = app.test_client()
    assert sign_in(client, "ann").status_code == 302
    return client


@pytest.mark.usefixtures("console")
def test_a_van_with_a_line_break_is_refused_naming_the_field(app):
    client = _ann(app)
    for path in ("days.csv", "days.xlsx", "days", "today"):
        r = client.get(f"/dispatch/districts/fangzi/{path}?date={DAY.isoformat()}&van=V%0d%0a")
        assert r.status_code == 400 and _names_fields(r, "van"), path


@pytest.mark.usefixtures("console")
def test_a_download_name_is_never_taken_from_the_query(app):
    client = _ann(app)
    base = f"/dispatch/districts/fangzi/days.csv?date={DAY.isoformat()}"
    r = client.get(base + '&van=V1";filename=evil.html')
    assert r.status_code == 200
    kind, params = parse_options_header(r.headers["Content-Disposition"])
    assert (kind, params) == ("attachment", {"filename": f"day-fangzi-{DAY.isoformat()}.csv"})
    assert "evil" not in r.headers["Content-Disposition"]
    r = client.get(base + "&van=V1")
    assert parse_options_header(r.headers["Content-Disposition"])[1] == {
        "filename": f"day-fangzi-{DAY.isoformat()}-V1.csv"
    }
    assert r.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("date", ["9999-12-31", "0001-01-01", "2100-01-01"])
@pytest.mark.usefixtures("console")
def test_a_notice_date_out_of_range_is_a_field_error(app, date):
    client = _ann(app)
    page = client.get(f"/dispatch/districts/fangzi/notices?date={date}")
    assert page.status_code == 400
    assert "请输入 2000-01-01 至 2099-12-31 之间的日期。" in page.get_data(as_text=True)
    for ext in ("csv", "xlsx"):
        r = client.get(f"/dispatch/districts/fangzi/notices.{ext}?date={date}")
        assert r.status_code == 400 and _names_fields(r, "date"), ext
    assert client.get("/dispatch/districts/fangzi/notices?date=2099-12-31").status_code == 200


@pytest.mark.parametrize("big", BIG_IDS)
@pytest.mark.usefixtures("console")
def test_draft_job_and_version_ids_out_of_range_are_not_found(app, big):
    client = _ann(app)
    base = "/dispatch/districts/fangzi"
    for path in (
        f"{base}/drafts/{big}",
        f"{base}/drafts/{big}/map",
        f"{base}/drafts/{big}/publish",
        f"{base}/jobs/{big}",
        f"/dispatch/api/districts/fangzi/jobs/{big}",
        f"{base}/weeks/2026-W49/versions/{big}",
        f"{base}/weeks/2026-W49/versions/{big}/notices.csv",
    ):
        assert client.get(path).status_code == 404, path
    assert client.get(f"{base}/drafts/{2**31 - 1}").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/d/%00/",
        "/d/fang%00zi/",
        "/d/fang%00zi/booking/lookup",
        "/d/fang%00zi/open-data/2026-W49.csv",
        "/d/fang%00zi/open-data/2026-W49.json",
        "/d/fang%00zi/map/2026-W49",
    ],
)
def test_a_nul_in_a_district_code_is_not_found(app, client, path):
    assert client.get(path).status_code == 404


def test_public_downloads_keep_their_names(app, client):
    r = client.get("/d/fangzi/open-data/2026-W49.csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert r.get_data().startswith("\ufeff".encode())
    assert parse_options_header(r.headers["Content-Disposition"]) == (
        "attachment",
        {"filename": "timetable-fangzi-2026-W49.csv"},
    )
    r = client.get("/d/fangzi/open-data/2026-W49/cancelled.csv")
    assert parse_options_header(r.headers["Content-Disposition"])[1] == {
        "filename": "cancelled-2026-W49.csv"
    }
