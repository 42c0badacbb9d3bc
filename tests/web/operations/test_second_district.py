"""The whole product on a second district: a generated Gansu county (see tests/districts.py).

The CLI, the `flask` commands and the public site are exercised on it as on the Fangzi demo:
nothing may assume the demo's extent, shape or names.
"""

from __future__ import annotations

import contextlib
import html
import io
import json
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import (
    CHINA_NOW,
    PG_SERVER,
    VALID_USCC,
    _dispose,
    _web_config,
    service_row,
)
from tests.districts import (
    COUNTY_CODE,
    MARKUP_HALL,
    MARKUP_STREET,
    QUOTE_STOP,
    QUOTE_STREET,
    SCRIPT_STOP,
    TRADITIONAL_STREET,
    make_county,
)
from tests.web.commands.test_cli import COLUMNS
from web.cli import main

STATUTORY = "the statutory holidays fixed by law (holidays library)"

CALENDAR = "date,kind,name,name_en\n2026-12-31,holiday,县庆,County day\n"
"""The dispatcher's calendar file: a local day off on Thursday 31 December 2026."""


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = make_county(tmp_path_factory.mktemp("district") / "county")
    (folder / "calendar.csv").write_text(CALENDAR, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("county-cache")


def _cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def _plan(county: Path, cache: Path, out: Path, week: str) -> str:
    code, text, err = _cli(
        "plan",
        "--data",
        str(county),
        "--week",
        week,
        "--out",
        str(out),
        "--time-limit",
        "2",
        "--cache-dir",
        str(cache),
    )
    assert code == 0, err
    return text


@pytest.fixture(scope="module")
def planned(county: Path, cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("county-plan")
    _plan(county, cache, out, "2026-W49")
    return out


def test_check_data_passes_on_the_county(county: Path):
    code, out, err = _cli("check-data", "--data", str(county))
    assert code == 0 and err == ""
    assert "OK — 7 streets, 28 stops, 355 taxpayers, 4 services, 1 van(s), 1 calendar day" in out


def test_check_data_lists_every_problem_of_every_file(county: Path, tmp_path: Path):
    broken = tmp_path / "broken"
    shutil.copytree(county, broken)
    for name, row, column, value in [
        ("depot.csv", 2, "lat", "north"),
        ("stops.csv", 3, "lat", "39.9"),  # 100 km north of the county: outside its outline
        ("taxpayers.csv", 4, "taxpayer_id", "91620799MA00000000"),
        ("vans.csv", 2, "lunch_earliest", "07:00"),
    ]:
        frame = pd.read_csv(broken / name, dtype=str, keep_default_na=False)
        frame.loc[row - 2, column] = value
        frame.to_csv(broken / name, index=False)
    code, out, err = _cli("check-data", "--data", str(broken))
    assert code == 1 and out == ""
    lines = err.splitlines()
    assert lines[-1] == "4 problem(s) in 4 file(s)"
    found = [(Path(line.split(": ", 1)[0]).name, line.split(": ", 2)[1]) for line in lines[:-1]]
    assert found == [
        ("depot.csv", "row 2, column 'lat'"),
        ("stops.csv", "row 3, column 'lat'"),
        ("taxpayers.csv", "row 4, column 'taxpayer_id'"),
        ("vans.csv", "row 2, column 'lunch_earliest'"),
    ]
    assert "outside the district outline in outline.geojson" in lines[1]


def test_check_data_prints_outliers_as_warnings_and_passes(tmp_path: Path):
    data = make_county(tmp_path / "county", outline=False)
    frame = pd.read_csv(data / "taxpayers.csv", dtype=str, keep_default_na=False)
    frame.loc[8, "lon"] = str(round(float(frame.loc[8, "lon"]) - 1.0, 6))  # 87 km west
    frame.to_csv(data / "taxpayers.csv", index=False)
    code, out, err = _cli("check-data", "--data", str(data))
    assert code == 0 and "; 1 warning(s) above" in out
    assert err.startswith("warning: ") and err.count("\n") == 1
    assert "taxpayers.csv: row 10, column 'lon': the point" in err


def test_plan_writes_the_files_and_serves_the_far_streets(planned: Path):
    for name in ("timetable.csv", "timetable.json", "report.json", "map.html", "template.json"):
        assert (planned / name).is_file()
    rows = pd.read_csv(planned / "timetable.csv", dtype=str, encoding="utf-8-sig")
    assert list(rows.columns) == COLUMNS
    assert rows["stop_id"].str.startswith(COUNTY_CODE).all()
    assert {QUOTE_STREET, TRADITIONAL_STREET, MARKUP_STREET} <= set(rows["street"])
    assert rows["lon"].astype(float).min() < 100.0, "visits far west of the hall at 100.45"
    report = json.loads((planned / "report.json").read_text(encoding="utf-8"))
    park = next(s for s in report["streets"] if s["name"] == "示例工业园区")
    assert park["remote_taxpayers"] == 0, "the park beside the hall has no remote taxpayer"


def test_map_shows_hostile_names_as_text(planned: Path):
    page = (planned / "map.html").read_text(encoding="utf-8")
    assert SCRIPT_STOP not in page and MARKUP_STREET not in page and MARKUP_HALL not in page
    shown = [
        json.loads(f'"{s}"')
        for s in re.findall(r'\.bind(?:Popup|Tooltip)\("((?:[^"\\]|\\.)*)"', page)
    ]
    for name in (SCRIPT_STOP, QUOTE_STOP, MARKUP_HALL):
        assert any(html.escape(name) in s for s in shown), name
    assert html.escape(MARKUP_STREET) in page  # the legend


def test_new_year_and_the_calendar_file_are_not_planned_and_say_where_from(
    county: Path, cache: Path, planned: Path, tmp_path: Path
):
    """2026-W53 runs into 2027, which the calendar library does not know yet."""
    text = _plan(county, cache, tmp_path, "2026-W53")
    assert "Using the weekly template" in text
    rows = pd.read_csv(tmp_path / "timetable.csv", dtype=str, encoding="utf-8-sig")
    assert set(rows["date"]) == {"2026-12-28", "2026-12-29", "2026-12-30"}
    doc = json.loads((tmp_path / "timetable.json").read_text(encoding="utf-8"))
    assert [(h["date"], h["name"], h["source"]) for h in doc["holidays"]] == [
        ("2026-12-31", "County day", "calendar.csv row 2"),
        ("2027-01-01", "New Year's Day", STATUTORY),
    ]
    notes = "\n".join(doc["notes"])
    assert "China's holiday schedule for 2027 is not published" in notes
    assert "2026-12-31 is off (County day): from calendar.csv row 2" in notes


def test_entering_the_holiday_schedule_keeps_the_template(
    county: Path, cache: Path, planned: Path, tmp_path: Path
):
    """The dispatcher enters 2027's schedule: the calendar changes, stops keep their times."""
    data = tmp_path / "county"
    shutil.copytree(county, data)
    with (data / "calendar.csv").open("a", encoding="utf-8") as f:
        f.write("2027-02-09,holiday,春节,Spring Festival\n2027-02-20,workday,春节调休,\n")
        f.write("2027-01-01,schedule,国务院办公厅关于2027年部分节假日安排的通知,\n")
    text = _plan(data, cache, tmp_path / "out", "2027-W06")
    assert "Using the weekly template" in text
    doc = json.loads((tmp_path / "out" / "timetable.json").read_text(encoding="utf-8"))
    assert [(h["date"], h["source"]) for h in doc["holidays"]] == [
        ("2027-02-08", STATUTORY),
        ("2027-02-09", "calendar.csv row 3"),
    ]
    assert not any("not published" in n for n in doc["notes"])


# --- the flask commands and the site ----------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def county_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database for the county: SQLite, or a PostgreSQL database made for it."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'county.sqlite'}"
        return
    import psycopg

    name = f"taxvan_county_{os.getpid()}_{secrets.token_hex(4)}"
    admin = psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _csrf(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def test_flask_commands_and_public_site_on_the_county(
    county: Path, cache: Path, planned: Path, county_db: str, tmp_path: Path, monkeypatch
):
    from web import create_app
    from web.db.models import StopRow, VisitRow
    from web.extensions import db
    from web.operations import booking as svc

    monkeypatch.setenv("TAXVAN_DATA", str(county))
    monkeypatch.setenv("TAXVAN_CACHE_DIR", str(cache))
    app = create_app(_web_config(county_db, tmp_path))
    try:
        runner = app.test_cli_runner()
        setup = runner.invoke(args=["setup-demo", "--time-limit", "2"])
        assert setup.exit_code == 0, setup.output
        assert "published 2026-W48" in setup.output and "published 2026-W49" in setup.output
        assert f"district {county.name} ({county.name}): created" in setup.output
        published = runner.invoke(args=["publish", "--week", "2026-W50", "--time-limit", "2"])
        assert published.exit_code == 0 and "published 2026-W50" in published.output

        client = app.test_client()
        home = client.get(f"/d/{county.name}/")
        assert home.status_code == 200
        page = home.get_data(as_text=True)
        assert html.escape(MARKUP_STREET, quote=False) in page and MARKUP_STREET not in page
        assert html.escape(TRADITIONAL_STREET) in page

        with app.app_context():
            stop_id = db.session.scalar(db.select(StopRow.id).where(StopRow.name == SCRIPT_STOP))
            visit = db.session.scalars(
                db.select(VisitRow)
                .where(VisitRow.date > CHINA_NOW.date())
                .order_by(VisitRow.date, VisitRow.start)
            ).first()
            start = svc.open_slots(visit, service_row("invoice_sale"))[0].start
            visit_id = visit.id
        stop = client.get(f"/d/{county.name}/stops/{stop_id}")
        assert stop.status_code == 200
        stop_page = stop.get_data(as_text=True)
        assert "&lt;script&gt;alert(" in stop_page and SCRIPT_STOP not in stop_page

        week_map = client.get(f"/d/{county.name}/map/2026-W49").get_data(as_text=True)
        assert "bindTooltip(" in week_map and SCRIPT_STOP not in week_map

        path = f"/d/{county.name}/visits/{visit_id}/book?service=invoice_sale"
        resp = client.post(
            path,
            data={
                "csrf_token": _csrf(client, path),
                "service": "invoice_sale",
                "start": start,
                "taxpayer_id": VALID_USCC,
                "name": "王五",
                "phone": "13800138000",
            },
        )
        assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
        done = client.get(resp.headers["Location"]).get_data(as_text=True)
        assert "预约成功" in done and re.search(r'<dd class="code">(\w+)</dd>', done)
    finally:
        _dispose(app)
