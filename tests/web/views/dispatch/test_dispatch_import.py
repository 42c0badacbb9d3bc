"""The console's import: upload, preview (every problem, or what changes), confirm.

Every test runs on SQLite and PostgreSQL (the `app` fixture). The demo district `home` is first
re-imported from a copy of the demo folder in tmp_path, so a confirmed import rewrites that copy,
never data/fangzi.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import io
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import shapely.geometry
from sqlalchemy import delete, func, select

from tests.conftest import CHINA_NOW, DEMO, VALID_USCC
from tests.web.views.dispatch.test_dispatch import _audit, _cli, _token, console, sign_in  # noqa: F401
from web.db.models import Booking, District, StopRow, VisitRow
from web.extensions import db

URL = "/dispatch/districts/fangzi/import"


@pytest.fixture
def home(app, console, tmp_path: Path) -> Path:  # noqa: F811
    """The `home` district's data folder: a copy of the demo in tmp_path."""
    folder = tmp_path / "home"
    shutil.copytree(DEMO, folder)
    result = _cli(app, "district", "import", "--data", str(folder), "--code", "fangzi")
    assert result.exit_code == 0, result.output
    yield folder
    with app.app_context():
        db.session.execute(delete(Booking).where(Booking.code.like("UPL%")))
        db.session.execute(delete(StopRow).where(StopRow.id.like("9999%")))
        db.session.commit()
        # the demo's stops as they were (a confirmed import moved one)
    assert _cli(app, "district", "import", "--data", str(DEMO), "--code", "fangzi").exit_code == 0


def _rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


def _xlsx(rows: list[list[str]]) -> bytes:
    out = io.BytesIO()
    pd.DataFrame(rows[1:], columns=rows[0]).to_excel(out, index=False)
    return out.getvalue()


def _folder_state(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def _signed_in(app, name: str = "ann"):
    client = app.test_client()
    assert sign_in(client, name).status_code == 302
    return client


def _upload(client, files: dict[str, tuple[bytes, str]], token: str | None = None):
    data = {k: (io.BytesIO(body), name) for k, (body, name) in files.items()}
    data["csrf_token"] = _token(client, URL) if token is None else token
    r = client.post(URL, data=data, content_type="multipart/form-data")
    r.request.environ["wsgi.input"].close()  # the test client's spooled body (large uploads)
    return r


def _page(r) -> str:
    return r.get_data(as_text=True)


def _cells(html: str) -> list[tuple[str, str, str]]:
    """(file, row, column) of every problem row in the page."""
    body = html.split('class="console problems"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td>", body)
    return [tuple(re.sub(r"<[^>]+>", "", cell) for cell in row) for row in rows]


def _counts(app) -> tuple[int, int]:
    with app.app_context():
        stops = db.session.scalar(select(func.count(StopRow.id)))
        imports = len(_audit(app, "district_import"))
        return stops, imports


def test_bad_rows_in_two_files_are_all_listed_and_nothing_is_saved(app, home):
    stops = _rows(home / "stops.csv")
    stops[2][4] = "north"  # row 3, lat not a number
    stops[3][3] = "castle"  # row 4, kind
    stops[4][0] = stops[5][0]  # row 5 duplicates row 6's id (reported on row 6)
    stops[7][2] = "999999999"  # row 8, street unknown
    taxpayers = _rows(home / "taxpayers.csv")
    secret_id, secret_name = taxpayers[2][0], taxpayers[2][1]
    taxpayers[2][0] = secret_id[:-1] + ("0" if secret_id[-1] != "0" else "1")  # checksum
    taxpayers[3][2] = "company"  # row 4, kind
    taxpayers[5][4] = "200"  # row 6, latitude out of range
    taxpayers[6][1] = ""  # row 7, empty name
    before_folder, before_db = _folder_state(home), _counts(app)

    client = _signed_in(app)
    r = _upload(
        client,
        {
            "stops": (_csv(stops), "stops.csv"),
            "taxpayers": (_csv(taxpayers), "taxpayers.csv"),
        },
    )
    assert r.status_code == 400
    html = _page(r)
    cells = set(_cells(html))
    for where in [
        ("stops.csv", "3", "lat"),
        ("stops.csv", "4", "kind"),
        ("stops.csv", "6", "stop_id"),
        ("stops.csv", "8", "street_code"),
        ("taxpayers.csv", "3", "taxpayer_id"),
        ("taxpayers.csv", "4", "kind"),
        ("taxpayers.csv", "6", "lat"),
        ("taxpayers.csv", "7", "name"),
    ]:
        assert where in cells, where
    assert "8 个问题" in html or "8 problems" in html, "the count of problems is shown"
    assert secret_id not in html and secret_id[:-1] not in html and secret_name not in html
    assert "确认导入" not in html, "no confirm button for a bad upload"
    assert _folder_state(home) == before_folder, "the data folder is untouched"
    assert _counts(app) == before_db, "no row and no import entry saved"


def _published(app) -> tuple[str, str]:
    """Two stops with published visits from today on."""
    with app.app_context():
        ids = db.session.scalars(
            select(VisitRow.stop_id)
            .where(VisitRow.date >= CHINA_NOW.date())
            .group_by(VisitRow.stop_id)
            .order_by(VisitRow.stop_id)
        ).all()
    return ids[0], ids[1]


def _visits(app, stop_id: str) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count(VisitRow.id)).where(
                VisitRow.stop_id == stop_id, VisitRow.date >= CHINA_NOW.date()
            )
        )


def _book(app, stop_id: str, n: int) -> None:
    with app.app_context():
        visit = db.session.scalars(
            select(VisitRow).where(VisitRow.stop_id == stop_id).order_by(VisitRow.id)
        ).first()
        for i in range(n):
            db.session.add(
                Booking(
                    code=f"UPL{i:04d}",
                    visit_id=visit.id,
                    district_id=visit.stop.district_id,
                    service_code="consult",
                    start=visit.start + 15 * i,
                    end=visit.start + 15 * i + 15,
                    counter=1,
                    taxpayer_id=VALID_USCC,
                    name="test",
                    phone="13800000000",
                    status="active" if i < n - 1 else "cancelled",
                    created_at=dt.datetime(2026, 11, 25, 9, 0),
                )
            )
        db.session.commit()


def _valid_upload(home: Path, gone: str, moved: str) -> tuple[list, list, str]:
    stops = _rows(home / "stops.csv")
    head = stops[0]
    stops = [head] + [r for r in stops[1:] if r[0] != gone]
    for r in stops[1:]:
        if r[0] == moved:
            r[4] = f"{float(r[4]) + 0.01:.6f}"
    renamed = next(r for r in stops[1:] if r[0] not in (gone, moved))
    renamed[1] = renamed[1] + "（新址）"
    new = list(stops[1])
    new[0], new[1] = "999900000001", "新服务点"
    stops.append(new)
    taxpayers = _rows(home / "taxpayers.csv")
    taxpayers[1][1] = taxpayers[1][1] + "有限公司"  # changed
    del taxpayers[2:4]  # two removed
    added = list(taxpayers[1])
    added[0], added[1] = VALID_USCC, "新注册的公司"
    taxpayers.append(added)
    return stops, taxpayers, renamed[0]


def test_a_valid_upload_previews_the_changes_and_confirm_applies_them(app, home):
    gone, moved = _published(app)
    _book(app, moved, 3)  # two active bookings and a cancelled one
    stops, taxpayers, renamed = _valid_upload(home, gone, moved)
    before_folder, before_db = _folder_state(home), _counts(app)

    client = _signed_in(app)
    r = _upload(
        client,
        {
            "stops": (_xlsx(stops), "服务点 2026.xlsx"),
            "taxpayers": (_csv(taxpayers), "taxpayers.csv"),
        },
    )
    html = _page(r)
    assert r.status_code == 200, html
    stop_row = html.split('class="kind-stops"', 1)[1].split("</tr>", 1)[0]
    added = re.search(r'class="added">(\d+)', stop_row).group(1)
    changed = re.search(r'class="changed">(\d+)<br><small>([^<]*)', stop_row)
    removed = re.search(r'class="removed">(\d+)<br><small>([^<]*)', stop_row)
    assert added == "1" and "999900000001" in stop_row
    assert changed.group(1) == "2" and set(changed.group(2).split(", ")) == {moved, renamed}
    assert removed.group(1) == "1" and removed.group(2) == gone
    tp_row = html.split('class="kind-taxpayers"', 1)[1].split("</tr>", 1)[0]
    assert re.findall(r'class="(?:added|changed|removed)">(\d+)', tp_row) == ["1", "1", "2"]
    assert VALID_USCC not in html and "新注册的公司" not in html, "no taxpayer named"
    # the published visits of the removed and the moved stop, and the moved one's bookings
    impacts = html.split('class="console impacts"', 1)[1].split("</table>", 1)[0]
    cells = re.findall(
        r"<tr><td>[^<]*\((\d+)\)</td><td>([^<]*)</td><td>(\d+)</td><td>(\d+)</td>", impacts
    )
    assert sorted(cells) == sorted(
        [
            (gone, "删除", str(_visits(app, gone)), "0"),
            (moved, "移动", str(_visits(app, moved)), "2"),
        ]
    )
    assert _folder_state(home) == before_folder and _counts(app) == before_db, (
        "preview saves nothing"
    )

    token = re.search(r'name="token" type="hidden" value="([^"]+)"', html).group(1)
    csrf = re.findall(r'name="csrf_token" type="hidden" value="([^"]+)"', html)[0]
    r = client.post(URL + "/confirm", data={"csrf_token": csrf, "token": token})
    assert r.status_code == 302, _page(r)
    assert "导入完成" in _page(client.get(URL))
    names = {p.name for p in home.iterdir()}
    assert "stops.xlsx" in names and "stops.csv" not in names, "the upload replaced the file"
    assert not [p for p in home.parent.iterdir() if p.name.startswith(".home.")], "no leftovers"
    assert len(_rows(home / "taxpayers.csv")) == len(taxpayers)
    with app.app_context():
        assert db.session.get(StopRow, "999900000001") is not None
        row = db.session.get(StopRow, moved)
        assert abs(row.lat - float(next(r for r in stops if r[0] == moved)[4])) < 1e-6
        assert db.session.get(StopRow, gone) is not None, "its published visits keep it"
        district = db.session.scalar(select(District).where(District.code == "fangzi"))
        assert gone in district.rows["stops"], "still the district's, with its published visits"
    entry = _audit(app, "district_import")[-1]
    assert entry.actor == "ann" and entry.details["uploaded"] == ["stops.xlsx", "taxpayers.csv"]
    assert entry.details["stops"]["added"] == ["999900000001"]
    # the staged upload is gone: confirming twice finds nothing to confirm
    again = client.post(URL + "/confirm", data={"csrf_token": csrf, "token": token})
    assert again.status_code == 302 and _counts(app)[1] == len(_audit(app, "district_import"))


def test_a_stale_preview_is_refused(app, home):
    gone, moved = _published(app)
    stops, _, _ = _valid_upload(home, gone, moved)
    client = _signed_in(app)
    r = _upload(client, {"stops": (_csv(stops), "stops.csv")})
    assert r.status_code == 200, _page(r)
    html = _page(r)
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', html).group(1)
    csrf = re.findall(r'name="csrf_token" type="hidden" value="([^"]+)"', html)[0]
    # meanwhile someone changes the district's data
    rows = _rows(home / "services.csv")
    rows[1][4] = rows[1][4] + "。"
    (home / "services.csv").write_bytes(_csv(rows))
    before_folder, before_db = _folder_state(home), _counts(app)
    r = client.post(URL + "/confirm", data={"csrf_token": csrf, "token": token})
    assert r.status_code == 409
    assert "预览之后" in _page(r) and "未保存" in _page(r)
    assert _folder_state(home) == before_folder and _counts(app) == before_db


def _preview_form(client, files) -> dict[str, str]:
    r = _upload(client, files)
    assert r.status_code == 200, _page(r)
    html = _page(r)
    return {
        "token": re.search(r'name="token" type="hidden" value="([^"]+)"', html).group(1),
        "csrf_token": re.findall(r'name="csrf_token" type="hidden" value="([^"]+)"', html)[0],
    }


def test_of_two_previews_only_the_first_confirmed_is_applied(app, home):
    stops = _rows(home / "stops.csv")
    one, other = list(stops[1]), list(stops[1])
    one[0], other[0] = "999900000003", "999900000004"
    ann, root = _signed_in(app), _signed_in(app, "root")
    first = _preview_form(ann, {"stops": (_csv([*stops, one]), "stops.csv")})
    second = _preview_form(root, {"stops": (_csv([*stops, other]), "stops.csv")})
    assert ann.post(URL + "/confirm", data=first).status_code == 302
    r = root.post(URL + "/confirm", data=second)
    assert r.status_code == 409 and "预览之后" in _page(r)
    with app.app_context():
        assert db.session.get(StopRow, "999900000003") is not None
        assert db.session.get(StopRow, "999900000004") is None
    assert "999900000004" not in (home / "stops.csv").read_text(encoding="utf-8")


def test_a_confirm_the_database_refuses_puts_the_old_folder_back(app, home, console):  # noqa: F811
    stops = _rows(home / "stops.csv")
    new = list(stops[1])
    new[0] = "999900000002"
    client = _signed_in(app)
    r = _upload(client, {"stops": (_csv([*stops, new]), "stops.csv")})
    assert r.status_code == 200, _page(r)
    html = _page(r)
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', html).group(1)
    csrf = re.findall(r'name="csrf_token" type="hidden" value="([^"]+)"', html)[0]
    # meanwhile the county takes that stop id (the home district's own data is unchanged)
    county = _rows(console.county_dir / "stops.csv")
    taken = list(county[1])
    taken[0] = "999900000002"
    (console.county_dir / "stops.csv").write_bytes(_csv([*county, taken]))
    result = _cli(app, "district", "import", "--data", str(console.county_dir), "--code", "county")
    assert result.exit_code == 0, result.output
    before_folder, before_db = _folder_state(home), _counts(app)
    r = client.post(URL + "/confirm", data={"csrf_token": csrf, "token": token})
    assert r.status_code == 400
    assert "999900000002" in _page(r) and "county" in _page(r)
    assert _folder_state(home) == before_folder, "the old folder is back"
    assert not [p for p in home.parent.iterdir() if p.name.startswith(".home.")]
    assert _counts(app) == before_db
    with app.app_context():
        district = db.session.scalar(select(District).where(District.code == "fangzi"))
        assert "999900000002" not in district.rows["stops"]


def test_outliers_are_shown_as_warnings_and_the_import_stays_possible(app, home, console):  # noqa: F811
    folder = console.county_dir
    (folder / "outline.geojson").unlink()  # with an outline a far point is an error instead
    assert _cli(app, "district", "import", "--data", str(folder), "--code", "county").exit_code == 0
    stops = _rows(folder / "stops.csv")
    stops[3][4] = f"{float(stops[3][4]) + 3:.6f}"  # about 330 km north of its street
    taxpayers = _rows(folder / "taxpayers.csv")
    taxpayers[4][4] = f"{float(taxpayers[4][4]) + 3:.6f}"
    far = f"{taxpayers[4][4]}"
    client = _signed_in(app, "bo")
    url = "/dispatch/districts/county/import"
    data = {
        "stops": (io.BytesIO(_csv(stops)), "stops.csv"),
        "taxpayers": (io.BytesIO(_csv(taxpayers)), "taxpayers.csv"),
        "csrf_token": _token(client, url),
    }
    r = client.post(url, data=data, content_type="multipart/form-data")
    html = _page(r)
    assert r.status_code == 200, html
    warnings = html.split('class="console warnings"', 1)[1].split("</table>", 1)[0]
    warnings = re.sub(r"</?code>", "", warnings)  # file and column names are code
    rows = re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td>", warnings)
    assert ("stops.csv", "4") in rows and ("taxpayers.csv", "5") in rows
    assert far not in html, "a taxpayer's point is not shown"
    assert "确认导入" in html


def test_forms_without_the_csrf_token_are_refused(app, home):
    client = _signed_in(app)
    before = _folder_state(home)
    r = _upload(client, {"stops": (_csv(_rows(home / "stops.csv")), "stops.csv")}, token="")
    assert r.status_code == 400 and "确认导入" not in _page(r)
    r = client.post(URL + "/confirm", data={"token": "x" * 32})
    assert r.status_code == 400
    assert _folder_state(home) == before


def test_another_districts_dispatcher_is_refused(app, home):
    client = _signed_in(app, "bo")
    assert client.get(URL).status_code == 403
    token = _token(client, "/dispatch/districts/county/import")
    r = _upload(client, {"stops": (_csv(_rows(home / "stops.csv")), "stops.csv")}, token=token)
    assert r.status_code == 403
    assert client.post(URL + "/confirm", data={"csrf_token": token}).status_code == 403
    # and an admin may import into any district
    assert _signed_in(app, "root").get(URL).status_code == 200


@pytest.mark.parametrize(
    ("field", "name", "body", "message"),
    [
        ("stops", "../../web/static/stops.csv", b"stop_id\n1\n", "文件名"),
        ("stops", "..\\..\\stops.csv", b"stop_id\n1\n", "文件名"),
        ("stops", ".hidden.csv", b"stop_id\n1\n", "文件名"),
        ("taxpayers", "registry.exe", b"MZ\x90\x00", "只接受 .csv 或 .xlsx"),
        ("stops", "stops.pdf", b"%PDF-1.4", "只接受 .csv 或 .xlsx"),
        ("stops", "stops.xlsx", b"stop_id,name\n1,a\n", "不是 Excel"),
        ("stops", "stops.csv", b"\x89PNG\r\n\x1a\n\x00\x00", "不是 CSV"),
    ],
)
def test_hostile_or_wrong_files_are_refused_by_name(app, home, field, name, body, message):
    client = _signed_in(app)
    staging = Path(app.instance_path) / "import-staging"
    staged = sorted(staging.rglob("*")) if staging.exists() else []
    before, static = _folder_state(home), sorted(Path(app.static_folder).rglob("*"))
    r = _upload(client, {field: (body, name)})
    assert r.status_code == 400
    html = _page(r)
    assert message in html and f"{field}.csv / .xlsx" in html, "the field is named"
    assert _folder_state(home) == before
    assert sorted(Path(app.static_folder).rglob("*")) == static
    assert (sorted(staging.rglob("*")) if staging.exists() else []) == staged, "nothing kept"


def test_a_too_large_upload_gets_413(app, home):
    cfg = app.config["TAXVAN"]
    app.config["TAXVAN"] = dataclasses.replace(cfg, max_upload_bytes=20_000)
    try:
        client = _signed_in(app)
        r = _upload(client, {"taxpayers": (b"x" * 30_000, "taxpayers.csv")})
        assert r.status_code == 413
        assert "19 KB" in _page(r)
        small = _upload(client, {"stops": (b"stop_id\n1\n", "stops.csv")})
        assert small.status_code == 400, "under the limit it is read (and checked)"
    finally:
        app.config["TAXVAN"] = cfg


def test_choosing_no_file_says_so(app, home):
    client = _signed_in(app)
    r = client.post(URL, data={"csrf_token": _token(client, URL)}, follow_redirects=True)
    assert "请至少选择一个文件" in _page(r)


def test_the_chinese_page_says_every_problem_in_chinese_with_its_values(app, home):
    stops = _rows(home / "stops.csv")
    stops[2][4] = "35.9x"  # row 3: lat
    vans = _rows(home / "vans.csv")
    at = vans[0].index("shift_end")
    vans = [[c for i, c in enumerate(row) if i != at] for row in vans]  # no shift_end column
    client = _signed_in(app)
    r = _upload(client, {"stops": (_csv(stops), "stops.csv"), "vans": (_csv(vans), "vans.csv")})
    assert r.status_code == 400
    html = _page(r)
    body = html.split('class="console problems"', 1)[1].split("</table>", 1)[0]
    body = re.sub(r"</?code>", "", body)  # file and column names are code
    cells = re.findall(
        r"<tr><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td>", body
    )
    assert ("stops.csv", "3", "lat", "“35.9x”不是以十进制度数表示的 WGS-84 纬度") in cells
    assert ("vans.csv", "—", "shift_end", "缺少该列") in cells
    english = {w for *_, text in cells for w in re.findall(r"[A-Za-z]{3,}", text)}
    assert english <= {"WGS"}, english
    assert "is not" not in html and "missing column" not in html


def _geojson(geometry) -> bytes:
    feature = {"type": "Feature", "properties": {}, "geometry": shapely.geometry.mapping(geometry)}
    return json.dumps({"type": "FeatureCollection", "features": [feature]}).encode()


def test_the_preview_shows_each_changed_field_of_vans_hall_outline_and_stops(app, home):
    vans = _rows(home / "vans.csv")
    head = vans[0]
    vans[1][head.index("shift_start")], vans[1][head.index("shift_end")] = "09:00", "17:30"
    old_shift = f"{_rows(home / 'vans.csv')[1][head.index('shift_start')]}–"
    depot = _rows(home / "depot.csv")
    old_hall = depot[1][1]
    depot[1][1] = old_hall + "（新址）"
    depot[1][2] = f"{float(depot[1][2]) + 0.01:.6f}"
    outline = shapely.geometry.shape(
        json.loads((home / "outline.geojson").read_text())["features"][0]["geometry"]
    ).buffer(0.01)
    gone, moved = _published(app)
    stops, _, renamed = _valid_upload(home, gone, moved)
    old_name = next(r[1] for r in _rows(home / "stops.csv") if r[0] == renamed)

    client = _signed_in(app)
    r = _upload(
        client,
        {
            "vans": (_csv(vans), "vans.csv"),
            "depot": (_csv(depot), "depot.csv"),
            "outline": (_geojson(outline), "outline.geojson"),
            "stops": (_csv(stops), "stops.csv"),
        },
    )
    html = _page(r)
    assert r.status_code == 200, html
    table = html.split('class="console field-changes"', 1)[1].split("</table>", 1)[0]
    rows = {
        (kind, change): text
        for kind, change, text in re.findall(
            r'<tr class="item-(\w+) is-(\w+)">(.*?)</tr>', table, flags=re.DOTALL
        )
    }
    assert f"班次：{old_shift}" in rows["vans", "changed"]
    assert "→ 09:00–17:30" in rows["vans", "changed"]
    hall = rows["hall", "changed"]
    assert f"名称：{old_hall} → {old_hall}（新址）" in hall and "位置移动 1,112 米" in hall
    assert "面积：" in rows["outline", "changed"] and "平方公里" in rows["outline", "changed"]
    stop_rows = re.findall(r'<tr class="item-stops is-(\w+)">(.*?)</tr>', table, flags=re.DOTALL)
    by_id = {re.search(r"\((\d+)\)", text).group(1): (change, text) for change, text in stop_rows}
    assert by_id[moved][0] == "changed" and re.search(r"位置移动 1,1\d\d 米", by_id[moved][1])
    assert f"名称：{old_name} → {old_name}（新址）" in by_id[renamed][1]
    assert by_id["999900000001"][0] == "added" and by_id[gone][0] == "removed"
    assert not re.search(r"\bmoved\b|\bname:", table), "no English"


def test_the_confirmed_import_says_its_counts_in_words(app, home):
    stops = _rows(home / "stops.csv")
    new = list(stops[1])
    new[0] = "999900000005"
    client = _signed_in(app)
    form = _preview_form(client, {"stops": (_csv([*stops, new]), "stops.csv")})
    r = client.post(URL + "/confirm", data=form, follow_redirects=True)
    html = _page(r)
    assert "街道：新增 0，修改 0，删除 0" in html and "服务点：新增 1，修改 0，删除 0" in html
    assert "+0" not in html and "~0" not in html
