"""Services belong to a district: two districts with the same service codes but other names,
minutes and materials. Each page of one district shows its own services, once.

Both databases (the `app` fixture). The demo district (`fangzi`) is published; the second
district (`county`) is imported after it with the demo's service codes, but its own names
("县…"), 60 minutes each and its own materials ("县…材料").
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import DEMO, reset_published
from tests.districts import make_county
from tests.web.daysupport import DAY, book, clean, day_visits
from tests.web.operations.test_door import _clean_door, _send
from tests.web.operations.test_publishing import _affected_draft, _booking, _home
from tests.web.views.dispatch.test_dispatch import PASSWORD, _clean, _cli, sign_in
from web.db.models import ServiceRow
from web.extensions import db
from web.operations.publishing import CANCEL, MOVE, Decision, Decisions, publish_version

COUNTY_PREFIX = "县"


def county_folder(tmp_path: Path) -> Path:
    """The generated county with the demo's service codes under its own names, minutes and
    materials."""
    folder = make_county(tmp_path / "county")
    with (DEMO / "services.csv").open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        r["name_zh"] = COUNTY_PREFIX + r["name_zh"]
        r["name_en"] = "County " + r["name_en"]
        r["minutes"] = "60"
        r["materials_zh"] = COUNTY_PREFIX + "里要的材料：" + r["code"]
        r["materials_en"] = "County papers: " + r["code"]
    with (folder / "services.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return folder


def make_two_districts(app, tmp_path: Path) -> None:
    """The demo district and the county (imported after it), with dispatchers ann (fangzi),
    bo (county), an admin of no district (root) and an admin of the demo district (ada)."""
    for args in (
        ("district", "import", "--data", str(DEMO), "--code", "fangzi", "--name", "本区"),
        (
            "district",
            "import",
            "--data",
            str(county_folder(tmp_path)),
            "--code",
            "county",
            "--name",
            "示例县",
        ),
    ):
        result = _cli(app, *args)
        assert result.exit_code == 0, result.output
    for name, extra in (
        ("ann", ["--district", "fangzi"]),
        ("bo", ["--district", "county"]),
        ("root", ["--role", "admin"]),
        ("ada", ["--role", "admin", "--district", "fangzi"]),
    ):
        result = _cli(app, "user", "create", name, *extra, "--password-stdin", input=PASSWORD)
        assert result.exit_code == 0, result.output


@pytest.fixture
def two(app, tmp_path: Path):
    _clean_door(app)
    _clean(app)
    make_two_districts(app, tmp_path)
    with app.app_context():
        names = {(s.district_id, s.code): s.name_zh for s in db.session.scalars(select(ServiceRow))}
        assert len(names) == 10 and len(set(names.values())) == 10, "same codes, other names"
    yield
    with app.app_context():
        reset_published()  # the bookings, what a publish told and the versions it made
    clean(app, [])
    _clean_door(app)
    _clean(app)


def _signed_in(app, name: str = "ann"):
    client = app.test_client()
    assert sign_in(client, name).status_code == 302
    return client


def test_the_day_sheet_says_what_its_own_district_asks_to_bring(app, two):
    with app.app_context():
        first, second = day_visits()[:2]
        book(first.id, 1, "invoice_issue")
        book(second.id, 2, "invoice_issue")
    client = _signed_in(app)
    html = client.get(f"/dispatch/districts/fangzi/days?date={DAY.isoformat()}").get_data(
        as_text=True
    )
    materials = html[html.index('class="console materials') :]
    assert "发票代开" in materials and "经办人身份证、合同或协议、收款凭证" in materials
    assert COUNTY_PREFIX + "发票代开" not in html and "里要的材料" not in html
    xlsx = client.get(f"/dispatch/districts/fangzi/days.xlsx?date={DAY.isoformat()}")
    import openpyxl

    bring = list(openpyxl.load_workbook(io.BytesIO(xlsx.data)).worksheets[1].values)
    assert bring[1] == ("V1", "发票代开", 2, "经办人身份证、合同或协议、收款凭证")


def test_a_publish_lists_each_booking_to_tell_once_with_its_own_service(app, two):
    codes, draft = _affected_draft(app)
    ids = {k: _booking(app, c)["id"] for k, c in codes.items()}
    decisions = Decisions({ids["b"]: Decision(CANCEL, "道路施工")}, Decision(MOVE))
    with app.app_context():
        publish_version(_home(), draft, decisions, "tester")
    client = _signed_in(app)
    base = "/dispatch/districts/fangzi/weeks/2026-W49/versions/2"
    page = client.get(base).get_data(as_text=True)
    for key in ("a", "b"):
        assert page.count(codes[key]) == 1, f"booking {key} listed once"
    assert "咨询与辅导办理" in page and COUNTY_PREFIX + "咨询" not in page
    rows = list(csv.reader(io.StringIO(client.get(f"{base}/notices.csv").data.decode("utf-8-sig"))))
    assert sorted(r[2] for r in rows[1:]) == sorted([codes["a"], codes["b"]])
    assert {r[3] for r in rows[1:]} == {"咨询与辅导办理"}


def test_the_door_to_door_form_and_pages_list_each_service_once(app, two):
    client = app.test_client()
    form = client.get("/d/fangzi/door-to-door").get_data(as_text=True)
    with app.app_context():
        demo_codes = _home().rows["services"]
    assert demo_codes
    for code in demo_codes:
        assert len(re.findall(rf'name="services"[^>]*value="{code}"', form)) == 1, code
    assert "咨询与辅导办理" in form and COUNTY_PREFIX + "咨询" not in form
    county = client.get("/d/county/door-to-door").get_data(as_text=True)
    assert len(re.findall(r'name="services"[^>]*value="consult"', county)) == 1
    assert COUNTY_PREFIX + "咨询与辅导办理" in county

    sent = _send(app, client, services=["consult", "invoice_issue"], people="3")
    assert sent.status_code == 302
    ann = _signed_in(app)
    listing = ann.get("/dispatch/districts/fangzi/door-to-door").get_data(as_text=True)
    assert "咨询与辅导办理" in listing and COUNTY_PREFIX not in listing
    ref = re.search(r"ref=(S[A-Z0-9]{7})", listing).group(1)
    plan = ann.get(f"/dispatch/districts/fangzi/door-to-door/plan?ref={ref}").get_data(as_text=True)
    assert "咨询与辅导办理" in plan and COUNTY_PREFIX + "咨询" not in plan
    # the first guess at its length: 3 people x (15 + 20) min over 2 counters -> 60 min, on
    # the grid; with the county's 60-minute services it would be 180
    assert re.search(r'name="minutes"[^>]*value="60"', plan), "the district's own minutes"


def test_a_booking_a_disruption_moves_keeps_its_own_districts_length(app, two):
    from tests.web.daysupport import add_visit
    from web.db.models import Booking, District
    from web.operations.disruptions import Scope, disrupt

    with app.app_context():
        first = day_visits()[0]
        earlier = add_visit(first, -3)
        db.session.commit()
        mine = book(first.id, 1, "consult")
        assert mine.end - mine.start == 15
        fangzi = db.session.scalar(select(District).where(District.code == "fangzi"))
        result = disrupt(fangzi, Scope(visit_id=first.id), "weather", None, actor="test")
        (moved,) = result.moved
        assert moved.new_visit.id == earlier.id
        new = db.session.scalar(select(Booking).where(Booking.code == moved.new_code))
        added = [earlier.id]
    clean(app, added)
    assert new.end - new.start == 15, "the demo's 15-minute consultation, not the county's 60"
