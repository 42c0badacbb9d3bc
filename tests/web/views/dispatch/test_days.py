"""Day sheets against the bookings: names, codes, order, times, what to bring; CSV and Excel
downloads (audited); another district's dispatcher refused; an admin of no district sees no
personal data. Both databases; screenshots in headless Chromium (SQLite).
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select

from tests.conftest import DEMO, chromium_page, serving
from tests.web.daysupport import DAY, book, clean, day_visits
from tests.web.views.dispatch.test_dispatch import PASSWORD, console, sign_in  # noqa: F401  (fixture)
from web.db.models import AuditEntry
from web.extensions import db

SHOTS = Path("/tmp/taxvan-days")


@pytest.fixture
def booked(app, console):  # noqa: F811
    """Bookings on Monday's first two visits: two at the first stop, one at the second."""
    with app.app_context():
        visits = day_visits()
        first, second = visits[0], visits[1]
        made = [
            book(first.id, 1, "invoice_issue"),
            book(first.id, 2),
            book(second.id, 3, "invoice_issue"),
        ]
        out = {
            "visits": [(v.order, v.stop.name, v.start, v.end) for v in visits],
            "codes": [b.code for b in made],
            "starts": [b.start for b in made],
            # the sheet's order: the van's stops in order, each stop's bookings by time
            "ordered": [
                b.code
                for b in sorted(
                    made, key=lambda b: ([v.id for v in visits].index(b.visit_id), b.start)
                )
            ],
        }
    yield out
    clean(app, [])


def test_the_day_sheet_lists_stops_in_order_with_their_bookings(app, booked):
    client = app.test_client()
    assert sign_in(client, "ann").status_code == 302
    page = client.get(f"/dispatch/districts/fangzi/days?date={DAY.isoformat()}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    # every stop, in the van's order
    positions = [html.index(name) for _o, name, _s, _e in booked["visits"]]
    assert positions == sorted(positions)
    for code, name in zip(booked["codes"], ("纳税人1", "纳税人2", "纳税人3"), strict=True):
        assert code in html and name in html
    assert html.index("纳税人1") < html.index(booked["visits"][1][1]) < html.index("纳税人3")
    codes_in_page = sorted(booked["codes"], key=html.index)
    assert codes_in_page == booked["ordered"], "each stop's bookings by time"
    assert "13800000001" in html
    # what to bring, counted: two invoices to issue, one consultation
    assert "发票代开" in html and "经办人身份证、合同或协议、收款凭证" in html
    materials = html[html.index('class="console materials') :]
    counts = re.findall(r'<td class="count"[^>]*>(\d+)</td>', materials)
    assert "2" in counts and "1" in counts
    assert "上门服务" in html or "Door-to-door" in html
    # the phone view of the same day
    phone = client.get(f"/dispatch/districts/fangzi/today?date={DAY.isoformat()}")
    assert phone.status_code == 200 and booked["codes"][0] in phone.get_data(as_text=True)


def test_csv_and_excel_downloads_match_the_bookings_and_are_audited(app, booked):
    client = app.test_client()
    assert sign_in(client, "ann").status_code == 302
    r = client.get(f"/dispatch/districts/fangzi/days.csv?date={DAY.isoformat()}")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    raw = r.get_data()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    code_col = header.index("预约码")
    assert [row[code_col] for row in body if row[code_col]] == booked["ordered"]
    assert len(body) == 2 + 1 + (len(booked["visits"]) - 2), "one row per booking or empty stop"
    first = next(row for row in body if row[code_col] == booked["codes"][0])
    assert (
        first[header.index("姓名")] == "纳税人1" and first[header.index("手机号")] == "13800000001"
    )

    x = client.get(f"/dispatch/districts/fangzi/days.xlsx?date={DAY.isoformat()}")
    assert x.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(x.get_data()))
    ws = wb.worksheets[0]
    values = list(ws.iter_rows(values_only=True))
    codes = [row[values[0].index("预约码")] for row in values[1:]]
    assert [c for c in codes if c] == booked["ordered"]
    bring = list(wb.worksheets[1].iter_rows(values_only=True))
    assert bring[1][:3] == ("V1", "发票代开", 2)
    with app.app_context():
        entries = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "day_sheet_export")
        ).all()
        assert sorted(e.details["format"] for e in entries) == ["csv", "xlsx"]
        assert all(e.actor == "ann" and e.details["bookings"] == 3 for e in entries)


def test_other_districts_are_refused_and_an_admin_sees_no_personal_data(app, booked):
    stranger = app.test_client()
    assert sign_in(stranger, "bo").status_code == 302
    for path in ("days", "days.csv", "days.xlsx", "today"):
        r = stranger.get(f"/dispatch/districts/fangzi/{path}?date={DAY.isoformat()}")
        assert r.status_code == 403, path
    root = app.test_client()
    assert sign_in(root, "root").status_code == 302
    html = root.get(f"/dispatch/districts/fangzi/days?date={DAY.isoformat()}").get_data(
        as_text=True
    )
    assert booked["codes"][0] in html and "纳税人1" not in html and "13800000001" not in html
    r = root.get(f"/dispatch/districts/fangzi/days.csv?date={DAY.isoformat()}")
    body = r.data.decode("utf-8-sig")
    assert r.status_code == 200 and booked["codes"][0] in body, "the sheet, masked"
    assert "纳税人1" not in body and "13800000001" not in body and "138****0001" in body


@pytest.fixture
def console_live(sqlite_app):
    app = sqlite_app
    runner = app.test_cli_runner()
    for args, stdin in (
        (["district", "import", "--data", str(DEMO), "--code", "fangzi", "--name", "示范区"], None),
        (["user", "create", "ann", "--district", "fangzi", "--password-stdin"], PASSWORD),
    ):
        result = runner.invoke(args=args, input=stdin)
        assert result.exit_code == 0, result.output
    with app.app_context():
        visits = day_visits()  # two or more: a plan searched on a busy machine varies
        book(visits[0].id, 1, "invoice_issue")
        book(visits[0].id, 2)
        book(visits[1].id, 3, "invoice_sale")
        book(visits[min(2, len(visits) - 1)].id, 4)
    app.config["SERVER_NAME"] = None
    with serving(app) as url:
        yield url


def _sign_in(page, url: str) -> None:
    page.goto(url + "/dispatch/sign-in")
    page.get_by_label("用户名").fill("ann")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_label("密码").press("Enter")
    page.wait_for_selector(".console-bar")


def test_screenshots_laptop_and_print(console_live, laptop_page):
    SHOTS.mkdir(exist_ok=True)
    sheet = f"{console_live}/dispatch/districts/fangzi/days?date={DAY.isoformat()}"
    _sign_in(laptop_page, console_live)
    laptop_page.goto(sheet)
    laptop_page.wait_for_selector(".day-sheet")
    assert laptop_page.evaluate("document.documentElement.scrollWidth") <= 1366
    laptop_page.screenshot(path=str(SHOTS / "laptop.png"), full_page=True)
    # printed: A4, no navigation, no console bar, no links bar
    laptop_page.emulate_media(media="print")
    assert not laptop_page.locator("header.top").is_visible()
    assert not laptop_page.locator(".console-bar").is_visible()
    assert not laptop_page.locator(".sheet-actions").is_visible()
    assert laptop_page.locator(".day-sheet").is_visible()
    laptop_page.screenshot(path=str(SHOTS / "print.png"), full_page=True)
    pdf = laptop_page.pdf(format="A4", path=str(SHOTS / "sheet.pdf"))
    assert pdf.startswith(b"%PDF")


def test_screenshot_phone(console_live, phone_page):
    """Today's sheet on a phone (the tests' today has no visit, so the Monday)."""
    SHOTS.mkdir(exist_ok=True)
    _sign_in(phone_page, console_live)
    phone_page.goto(f"{console_live}/dispatch/districts/fangzi/today?date={DAY.isoformat()}")
    phone_page.wait_for_selector(".day-sheet")
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 360
    assert phone_page.locator(".bookings-list a[href^='tel:']").count() == 4
    phone_page.screenshot(path=str(SHOTS / "phone.png"), full_page=True)


PHONE_SHOTS = Path("/work/shots/public")

ONE_LINE = """el => {
  const r = document.createRange(); r.selectNodeContents(el);
  const lines = new Set([...r.getClientRects()].map(q => Math.round(q.top)));
  return [el.getBoundingClientRect().width, lines.size, el.textContent.trim()];
}"""
"""A cell's width and how many lines its text takes."""


def test_the_full_sheet_is_cards_on_a_390_px_phone(console_live):
    """The full day sheet (not the phone view) on a 390 px phone: nothing runs off the side,
    and each taxpayer's name reads on one line instead of a character a line."""
    with chromium_page(390, 844) as page:
        _sign_in(page, console_live)
        page.goto(f"{console_live}/dispatch/districts/fangzi/days?date={DAY.isoformat()}")
        page.wait_for_selector(".day-sheet")
        if PHONE_SHOTS.parent.exists():
            PHONE_SHOTS.mkdir(exist_ok=True)
            page.screenshot(path=str(PHONE_SHOTS / "day-sheet-390.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        names = page.locator("table.bookings tbody td:nth-child(2)")
        assert names.count() == 4
        for width, lines, text in (names.nth(i).evaluate(ONE_LINE) for i in range(4)):
            assert lines == 1 and width >= 4 * 16, (text, width, lines)
