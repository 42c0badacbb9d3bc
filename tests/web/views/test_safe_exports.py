"""Safe against hostile data (issue 17): a taxpayer booked under a name like
`=HYPERLINK("http://…","点我")` reaches every spreadsheet the product writes as text, never a
formula; every download of names and phones is in the audit log; imports refuse place names
that start a formula; the open data are RFC 4180 CSV with a Frictionless Data Package beside
them; static files, calendars and CSV are compressed; /robots.txt keeps crawlers out of the
console and the booking look-ups.

Web tests run on SQLite and PostgreSQL (the `app` fixture).
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import re
import shutil
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select, update

from taxvan.errors import DataFileError
from taxvan.io.loaders import load_dataset
from taxvan.timetable import TimetableRow
from tests.conftest import DEMO, service_row
from tests.web.commands.test_publish_cli import affected  # noqa: F401
from tests.web.daysupport import DAY, clean, day_visits, phone, taxpayer_id
from tests.web.operations.test_publishing import WEEK, _draft, _home, _remove, _shift, _three_visits
from tests.web.views.dispatch.test_dispatch import _audit, _cli, console, sign_in  # noqa: F401
from tests.web.views.dispatch.test_dispatch_import import _cells, _csv, _rows, _upload, home  # noqa: F401
from tests.web.views.dispatch.test_notices_console import _clean_notices, _write
from web.db.models import Notice, StopRow, VisitRow
from web.extensions import db
from web.operations import booking as svc

HOSTILE = [
    '=HYPERLINK("http://evil.example","点我")',
    "+86 1380",
    "-2+3",
    "@SUM(A1:A9)",
]
"""Names a spreadsheet would run as formulas (OWASP's CSV injection)."""


def _signed_in(app, name: str = "ann"):
    client = app.test_client()
    assert sign_in(client, name).status_code == 302
    return client


def _csv_rows(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def _crlf_only(body: bytes) -> bool:
    """Every line ends in CRLF (RFC 4180), none in a bare LF."""
    return b"\r\n" in body and body.count(b"\n") == body.count(b"\r\n")


def _no_formula(book: openpyxl.Workbook) -> None:
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{sheet.title}!{cell.coordinate} is a formula"


# --- day sheets -------------------------------------------------------------------------------


def _book_hostile(visit_id: int, first: int) -> None:
    """Book each hostile name at the visit's first open time, taxpayers `first`, `first + 1`..."""
    visit = db.session.get(VisitRow, visit_id)
    for i, name in enumerate(HOSTILE):
        start = svc.open_slots(visit, service_row("consult"))[0].start
        svc.book(
            svc.BookingRequest(
                visit_id, start, "consult", taxpayer_id(first + i), name, phone(first + i)
            )
        )


@pytest.fixture
def hostile_day(app, console):  # noqa: F811
    """The hostile names booked at Monday's first visit."""
    with app.app_context():
        _book_hostile(day_visits()[0].id, 40)
    yield
    clean(app, [])


def test_a_hostile_name_in_the_day_sheet_is_text_in_csv_and_excel(app, hostile_day):
    client = _signed_in(app)
    r = client.get(f"/dispatch/districts/fangzi/days.csv?date={DAY.isoformat()}")
    assert r.status_code == 200 and _crlf_only(r.data)
    rows = _csv_rows(r.data)
    names = {row[rows[0].index("姓名")] for row in rows[1:]} - {""}
    assert names == {"'" + n for n in HOSTILE}, "each shown as text, with Excel's apostrophe"

    x = client.get(f"/dispatch/districts/fangzi/days.xlsx?date={DAY.isoformat()}")
    assert x.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(x.data))
    _no_formula(book)
    sheet = book.worksheets[0]
    col = [c.value for c in sheet[1]].index("姓名")
    cells = [row[col] for row in sheet.iter_rows(min_row=2) if row[col].value]
    assert sorted(c.value for c in cells) == sorted(HOSTILE), "exactly what was typed"
    assert all(c.data_type == "s" for c in cells)
    assert [e.details["format"] for e in _audit(app, "day_sheet_export")] == ["csv", "xlsx"]


# --- the outbox -------------------------------------------------------------------------------


def test_outbox_exports_keep_a_formula_like_text_as_text(app, console):  # noqa: F811
    _clean_notices(app)
    _write(app, 2)
    with app.app_context():
        first, second = db.session.scalars(select(Notice).order_by(Notice.id)).all()
        first.text, second.last_error = HOSTILE[0], HOSTILE[3]
        db.session.commit()
    client = _signed_in(app)
    r = client.get("/dispatch/districts/fangzi/notices.csv")
    assert r.status_code == 200 and _crlf_only(r.data)
    rows = _csv_rows(r.data)
    assert {row[6] for row in rows[1:]} >= {"'" + HOSTILE[0]}
    assert {row[8] for row in rows[1:]} >= {"'" + HOSTILE[3]}
    x = client.get("/dispatch/districts/fangzi/notices.xlsx")
    book = openpyxl.load_workbook(io.BytesIO(x.data))
    _no_formula(book)
    values = {c.value: c.data_type for row in book.active.iter_rows(min_row=2) for c in row}
    assert values[HOSTILE[0]] == "s" and values[HOSTILE[3]] == "s", "the value as written"
    assert [e.details["format"] for e in _audit(app, "notices_export")] == ["csv", "xlsx"]
    _clean_notices(app)


# --- the notice list of a publish ---------------------------------------------------------------


def test_a_publish_notice_list_shows_hostile_names_as_text_and_each_download_is_audited(
    app,
    console,  # noqa: F811
):
    from web.operations.publishing import CANCEL, Decision, Decisions, publish_version

    a, b, _c = _three_visits(app)
    with app.app_context():
        _book_hostile(a[0], 60)

    def change(visits):  # a an hour later, b's stop gone (the van is free for a then)
        _shift(visits, a[1], 60)
        _remove(visits, b[1])

    draft = _draft(app, change)
    with app.app_context():
        outcome = publish_version(
            _home(), draft, Decisions(others=Decision(CANCEL, "路线调整")), "ann"
        )
        assert outcome.published_id is not None
    # the app fixture puts version 1 back and removes the bookings (reset_published)
    client = _signed_in(app)
    base = f"/dispatch/districts/fangzi/weeks/{WEEK}/versions/2"
    r = client.get(f"{base}/notices.csv")
    assert r.status_code == 200 and _crlf_only(r.data)
    rows = _csv_rows(r.data)
    assert sorted(row[1] for row in rows[1:]) == sorted("'" + n for n in HOSTILE)
    x = client.get(f"{base}/notices.xlsx")
    book = openpyxl.load_workbook(io.BytesIO(x.data))
    _no_formula(book)
    names = [row[1] for row in book.active.iter_rows(min_row=2)]
    assert sorted(c.value for c in names) == sorted(HOSTILE)
    assert all(c.data_type == "s" for c in names)

    entries = _audit(app, "publish_notices_export")
    assert [
        (e.actor, e.details["format"], e.details["week"], e.details["version"]) for e in entries
    ] == [("ann", "csv", WEEK, 2), ("ann", "xlsx", WEEK, 2)]
    assert all(e.details["rows"] == len(HOSTILE) and e.user_id for e in entries)
    with app.app_context():
        assert {e.district_id for e in entries} == {_home().id}
    log = client.get("/dispatch/districts/fangzi").get_data(as_text=True)
    assert "下载发布通知名单" in log, "the district's log says who downloaded it"


def test_the_notice_list_a_publish_command_writes_is_audited(app, affected, tmp_path):  # noqa: F811
    before = len(_audit(app, "publish_notices_export"))
    out = tmp_path / "tell.csv"
    result = app.test_cli_runner().invoke(
        args=["publish", "--week", WEEK, "--cancel-affected", "路线调整", "--notices", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert _crlf_only(out.read_bytes())
    entries = _audit(app, "publish_notices_export")[before:]
    assert len(entries) == 1
    e = entries[0]
    assert e.actor.startswith("command line")
    assert (e.details["format"], e.details["rows"], e.details["version"]) == ("csv", 2, 2)
    assert e.details["file"] == str(out.resolve())


# --- open data --------------------------------------------------------------------------------


@pytest.fixture
def hostile_stop(app):
    """The first stop of the week renamed as hostile imported data would name it, and one
    visit called off with a note starting with '-'; both put back after."""
    with app.app_context():
        visit = db.session.scalars(
            select(VisitRow).where(VisitRow.date == DAY).order_by(VisitRow.id)
        ).first()
        stop = db.session.get(StopRow, visit.stop_id)
        old_name, stop.name = stop.name, HOSTILE[0]
        visit.cancelled_at = dt.datetime(2026, 11, 25, 9, 30)
        visit.cancel_reason, visit.cancel_note = "weather", "-暴雨预警"
        stop_id, visit_id = stop.id, visit.id
        db.session.commit()
    yield stop_id
    with app.app_context():
        db.session.get(StopRow, stop_id).name = old_name
        db.session.execute(
            update(VisitRow)
            .where(VisitRow.id == visit_id)
            .values(cancelled_at=None, cancel_reason=None, cancel_note=None)
        )
        db.session.commit()


def test_open_data_csv_is_crlf_and_a_hostile_stop_name_is_text(app, client, hostile_stop):
    r = client.get(f"/d/fangzi/open-data/{WEEK}.csv")
    assert r.status_code == 200 and r.data.startswith("\ufeff".encode())
    assert _crlf_only(r.data)
    rows = _csv_rows(r.data)
    stop_col, name_col = rows[0].index("stop_id"), rows[0].index("stop_name")
    named = {row[name_col] for row in rows[1:] if row[stop_col] == hostile_stop}
    assert named == {"'" + HOSTILE[0]}
    cancelled = client.get(f"/d/fangzi/open-data/{WEEK}/cancelled.csv")
    assert _crlf_only(cancelled.data)
    assert _csv_rows(cancelled.data)[1][-1] == "'-暴雨预警"


def test_each_week_has_a_data_package_that_validates_offline(app, client, hostile_stop, tmp_path):
    from frictionless import Package, validate

    base = f"/d/fangzi/open-data/{WEEK}"
    page = client.get(f"/d/fangzi/?week={WEEK}").get_data(as_text=True)
    assert f'href="{base}/datapackage.json"' in page, "the week's page links the package"
    r = client.get(f"{base}/datapackage.json")
    assert r.status_code == 200 and r.mimetype == "application/json"
    descriptor = r.get_json()
    folder = tmp_path / WEEK
    folder.mkdir()
    (folder / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")
    for resource in descriptor["resources"]:
        got = client.get(f"{base}/{resource['path']}")
        assert got.status_code == 200, resource["path"]
        (folder / resource["path"]).write_bytes(got.data)
    assert (folder / "timetable.csv").read_bytes() == client.get(f"{base}.csv").data

    report = validate(str(folder / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])

    timetable = {f["name"]: f for f in descriptor["resources"][0]["schema"]["fields"]}
    types = {name: timetable[name]["type"] for name in ("date", "order", "start", "lat")}
    assert types == {"date": "date", "order": "integer", "start": "time", "lat": "number"}
    assert timetable["lat"]["unit"] == "degree" and "WGS-84" in timetable["lat"]["description"]
    assert "UTC+8" in timetable["start"]["description"]
    assert descriptor["resources"][0]["schema"]["primaryKey"] == ["date", "van", "order"]
    cancelled = descriptor["resources"][1]["schema"]
    assert cancelled["foreignKeys"][0]["reference"]["resource"] == "timetable"

    package = Package(str(folder / "datapackage.json"))
    rows = package.get_resource("timetable").read_rows()
    assert rows and isinstance(rows[0]["start"], dt.time) and isinstance(rows[0]["order"], int)
    called_off = package.get_resource("cancelled").read_rows()
    assert len(called_off) == 1 and called_off[0]["reason"] == "weather"


def test_the_planners_timetable_csv_is_crlf_and_shows_risky_names_as_text(tmp_path):
    from web.adapters.planner import write_timetable_csv

    day = dt.date(2026, 11, 30)
    rows = [
        TimetableRow(day, "V1", 1, "S1", "-村口", "街道", 540, 600, 36.7, 119.2),
        TimetableRow(day, "V1", 2, "S2", "普通", "街道", 630, 690, 36.7, 119.2),
    ]
    path = tmp_path / "timetable.csv"
    write_timetable_csv(path, rows)
    body = path.read_bytes()
    assert body.startswith("\ufeff".encode()) and _crlf_only(body)
    got = _csv_rows(body)
    assert [r[5] for r in got[1:]] == ["'-村口", "普通"]


# --- imports ----------------------------------------------------------------------------------


def _edit(path: Path, row: int, column: str, value: str) -> None:
    """Set `column` of spreadsheet row `row` (the header is row 1) of a CSV file."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    rows[row - 1][rows[0].index(column)] = value
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)


def test_an_import_refuses_place_names_that_start_a_formula(tmp_path):
    folder = tmp_path / "district"
    shutil.copytree(DEMO, folder)
    _edit(folder / "stops.csv", 3, "name", HOSTILE[0])
    _edit(folder / "streets.csv", 2, "name_en", "+Town")
    _edit(folder / "vans.csv", 2, "name", "@SUM(A1)")
    _edit(folder / "depot.csv", 2, "name", "=1+1")
    with pytest.raises(DataFileError) as caught:
        load_dataset(folder)
    found = {
        (Path(e.path).name, p.row, p.column, str(p.message))
        for e in getattr(caught.value, "errors", [caught.value])
        for p in e.problems
    }
    where = {(f, r, c) for f, r, c, _m in found}
    assert where >= {
        ("stops.csv", 3, "name"),
        ("streets.csv", 2, "name_en"),
        ("vans.csv", 2, "name"),
        ("depot.csv", 2, "name"),
    }
    stop = next(m for f, _r, _c, m in found if f == "stops.csv")
    assert "starts with '='" in stop and "formula" in stop
    report = caught.value.report()
    assert re.search(r"stops\.csv: row 3, column 'name': .*starts with '='", report)


def test_a_district_named_like_a_formula_is_refused_and_nothing_saved(app, console):  # noqa: F811
    result = _cli(app, "district", "import", "--data", str(DEMO), "--name", "=HYPERLINK(1)")
    assert result.exit_code != 0
    assert "district name" in result.output and "starts with '='" in result.output
    assert "nothing was saved" in result.output
    with app.app_context():
        assert _home().name != "=HYPERLINK(1)"


def test_a_console_upload_with_a_formula_stop_name_names_file_row_and_column(app, home):  # noqa: F811
    stops = _rows(home / "stops.csv")
    stops[1][stops[0].index("name")] = "@SUM(A1)"
    r = _upload(_signed_in(app), {"stops": (_csv(stops), "stops.csv")})
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert ("stops.csv", "2", "name") in set(_cells(html))
    assert "“@SUM(A1)”以“@”开头，电子表格会把它当作公式执行" in html, "in the page's language"


# --- compression and robots.txt -----------------------------------------------------------------


def test_static_files_are_gzipped_for_a_client_that_offers_only_gzip(client):
    plain = (Path(__file__).parents[3] / "web/static/vendor/leaflet/leaflet.js").read_bytes()
    with client.get("/static/vendor/leaflet/leaflet.js", headers={"Accept-Encoding": "gzip"}) as r:
        assert r.headers.get("Content-Encoding") == "gzip"
        body = r.get_data()
    assert len(body) < len(plain) / 2 and gzip.decompress(body) == plain


def _gzipped(client, path: str, mimetype: str) -> None:
    plain = client.get(path).data
    assert len(plain) > 500, "big enough to be worth compressing"
    r = client.get(path, headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200 and r.mimetype == mimetype
    assert r.headers.get("Content-Encoding") == "gzip"
    assert gzip.decompress(r.data) == plain


def test_open_data_csv_is_gzipped(client):
    _gzipped(client, f"/d/fangzi/open-data/{WEEK}.csv", "text/csv")


def test_calendar_feeds_are_gzipped(app, client):
    with app.app_context():
        stop = day_visits()[0].stop_id
    _gzipped(client, f"/d/fangzi/stops/{stop}.ics", "text/calendar")


def _robots_allow(rules: list[tuple[str, str]], path: str) -> bool:
    """RFC 9309: the longest matching rule wins, Allow on a tie; `*` matches anything."""
    best: tuple[int, bool] = (-1, True)
    for kind, pattern in rules:
        regex = "".join(".*" if ch == "*" else re.escape(ch) for ch in pattern)
        if re.match(regex, path) and (len(pattern), kind == "allow") > (best[0], best[1]):
            best = (len(pattern), kind == "allow")
    return best[1]


def test_robots_txt_lets_crawlers_read_the_public_pages_only(client):
    r = client.get("/robots.txt")
    assert r.status_code == 200 and r.mimetype == "text/plain"
    lines = [ln.split("#")[0].strip() for ln in r.get_data(as_text=True).splitlines()]
    assert "User-agent: *" in lines
    rules = [
        (k.strip().lower(), v.strip())
        for k, v in (ln.split(":", 1) for ln in lines if ":" in ln)
        if k.strip().lower() in ("allow", "disallow")
    ]
    for path in (
        "/",
        "/d/fangzi/",
        "/d/fangzi/stops/370704001",
        f"/d/fangzi/open-data/{WEEK}.csv",
        f"/d/fangzi/open-data/{WEEK}/datapackage.json",
        "/static/css/site.css",
        "/d/fangzi/door-to-door",
    ):
        assert _robots_allow(rules, path), path
    for path in (
        "/dispatch/",
        "/dispatch/sign-in",
        "/dispatch/districts/fangzi/days.csv",
        "/booking/lookup",
        "/d/fangzi/booking/lookup",
        "/d/fangzi/booking/ABC123/confirmed",
        "/door-to-door/status",
        "/d/fangzi/visits/12/book",
        "/api/v1/bookings/ABC123",
    ):
        assert not _robots_allow(rules, path), path
