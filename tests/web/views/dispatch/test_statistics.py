"""The bureau's figures: records made through the crew's records operation show on the
district's statistics page, the admin's page across districts and the month's workbook; the
public monthly totals show counts only; crews and other districts' dispatchers are refused.
On SQLite and PostgreSQL (the `app` fixture)."""

from __future__ import annotations

import datetime as dt
import io
import re
import uuid

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from taxvan.clock import CHINA
from tests.conftest import OTHER_USCC, VALID_USCC, open_visit
from tests.web.views.dispatch.test_crew import crew  # noqa: F401  (fixture)
from tests.web.views.dispatch.test_dispatch import console, sign_in  # noqa: F401  (fixtures)
from web.db.models import District, VisitRow
from web.extensions import db
from web.operations import booking as svc
from web.operations.disruptions import Scope, disrupt
from web.operations.records import VisitReport, WalkInCount, record_visit

PAGE = "/dispatch/districts/fangzi/statistics"


def _recorded(app) -> tuple[dt.date, str]:
    """A booked visit recorded by the crew (booking served, 3 walk-ins and one named by a
    credit code, 2 turned away), another visit of another day called off; the clock on the
    recorded visit's evening. Returns its day and the booking's code."""
    visit_id, start = open_visit(app)
    with app.app_context():
        b = svc.book(
            svc.BookingRequest(visit_id, start, "consult", VALID_USCC, "纳税人甲", "13800138000")
        )
        visit = db.session.get(VisitRow, visit_id)
        day = visit.date
        now = dt.datetime.combine(day, dt.time(18, 0), tzinfo=CHINA)
        app.config["TAXVAN_CLOCK"] = lambda: now
        district = db.session.get(District, visit.published.district_id)
        other = db.session.scalar(
            select(VisitRow)
            .where(VisitRow.published_id == visit.published_id, VisitRow.date == day)
            .where(VisitRow.id != visit_id)
            .order_by(VisitRow.id)
        )
        disrupt(district, Scope(visit_id=other.id), "weather", actor="test")
        record_visit(
            district,
            VisitReport(
                client_id=str(uuid.uuid4()),
                visit_id=visit_id,
                arrival=9 * 60,
                departure=12 * 60,
                outcomes={b.code: "served"},
                walk_ins=(WalkInCount("consult", 3), WalkInCount("consult", 1, OTHER_USCC)),
                turned_away=2,
            ),
            None,
            actor="crew",
            now=now,
        )
        return day, b.code


def _cell(html: str, cls: str) -> str:
    return re.search(rf'<dd class="{cls}">([^<]*)</dd>', html).group(1)


def test_the_crew_s_records_show_on_the_district_s_figures(app, console):  # noqa: F811
    day, _code = _recorded(app)
    client = app.test_client()
    sign_in(client, "ann")
    week = f"?by=week&from={day.isoformat()}&to={day.isoformat()}"
    r = client.get(PAGE + week + "&lang=en")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert _cell(html, "served-total") == "5"  # one booking served, four walk-ins
    assert float(_cell(html, "saved-total").replace(",", "")) > 0
    # the served table: booked 1, walk-in 4, total 5, for the week and in total
    served = html[html.index('class="console stat-table served-table"') :]
    served = served[: served.index("</table>")]
    label = f"{day.isocalendar()[0]}-W{day.isocalendar()[1]:02d}"
    assert re.search(rf"<th scope=\"row\">{label}</th><td>1</td><td>4</td><td>5</td>", served)
    visits = html[html.index("visits-table") :]
    assert re.search(r"<th scope=\"row\">Total</th><td>\d+</td><td>1</td><td>1</td>", visits)
    assert "<svg" in html and "<figcaption>" in html
    # and in Chinese
    zh = client.get(PAGE + week + "&lang=zh").get_data(as_text=True)
    assert "节省往返时间" in zh and _cell(zh, "served-total") == "5"


def test_the_month_s_workbook_holds_the_same_figures(app, console):  # noqa: F811
    day, _code = _recorded(app)
    client = app.test_client()
    sign_in(client, "ann")
    month = f"{day.year}-{day.month:02d}"
    r = client.get(f"{PAGE}/{month}.xlsx?lang=en")
    assert r.status_code == 200
    assert f"statistics-fangzi-{month}.xlsx" in r.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(r.data))
    summary = list(book["Summary"].iter_rows(values_only=True))
    header, total = summary[0], summary[-1]
    assert total[0] == month
    row = dict(zip(header, total, strict=True))
    assert row["Served, booked"] == 1 and row["Served, walk-in"] == 4
    assert row["Served, total"] == 5 and row["Turned away"] == 2
    assert row["Visits called off"] == 1 and row["Travel time saved (hours)"] > 0
    services = list(book["Services"].iter_rows(values_only=True))
    assert services[1][0] == "consult" and services[1][2] == 5
    assert client.get(f"{PAGE}/2026-13.xlsx").status_code == 404


def test_the_admin_sees_every_district_and_dispatchers_only_their_own(app, crew):  # noqa: F811
    _recorded(app)
    admin = app.test_client()
    sign_in(admin, "root")
    assert admin.get(PAGE).status_code == 200
    everyone = admin.get("/dispatch/statistics?by=month&lang=en").get_data(as_text=True)
    assert "district-table" in everyone and "fangzi" in everyone
    assert admin.get("/dispatch/districts/nowhere/statistics").status_code == 404
    other = app.test_client()
    sign_in(other, "bo")  # the county's dispatcher
    assert other.get(PAGE).status_code == 403
    assert other.get(PAGE + "/2026-12.xlsx").status_code == 403
    assert other.get("/dispatch/statistics").status_code == 403
    phone = app.test_client()
    sign_in(phone, "van1")
    assert phone.get(PAGE).status_code == 403
    assert phone.get(PAGE + "/2026-12.xlsx").status_code == 403


def test_the_public_monthly_totals_show_counts_and_nothing_personal(app, console):  # noqa: F811
    day, code = _recorded(app)
    r = app.test_client().get("/d/fangzi/figures?lang=en")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    month = f"{day.year}-{day.month:02d}"
    cells = r"<td>\d+</td><td>1</td><td>5</td><td>4</td><td>2</td>"
    assert re.search(rf'<th scope="row">{month}</th>{cells}', html)
    for private in ("纳税人甲", "13800138000", VALID_USCC, OTHER_USCC, code):
        assert private not in html


@pytest.mark.parametrize("query", ["?from=nonsense", "?from=2026-12-01&to=2026-01-01"])
def test_a_range_not_understood_shows_the_default_and_says_so(app, console, query):  # noqa: F811
    client = app.test_client()
    sign_in(client, "ann")
    r = client.get(PAGE + query + "&lang=en")
    assert r.status_code == 200 and "The range was not understood" in r.get_data(as_text=True)
