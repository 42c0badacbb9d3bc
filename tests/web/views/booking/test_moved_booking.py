"""A booking the taxpayer moved stays findable: its old code leads to the new time and code."""

from __future__ import annotations

import re

from sqlalchemy import update

from taxvan.clock import hhmm
from tests.conftest import VALID_USCC, service_row
from web.db.models import Booking, VisitRow
from web.extensions import db
from web.operations import booking as svc

PHONE = "13800138000"
OTHER_PHONE = "13900139000"
LOOKUP = "/d/fangzi/booking/lookup"


def _long(app) -> VisitRow:
    with app.app_context():
        return max(db.session.scalars(db.select(VisitRow)).all(), key=lambda v: v.end - v.start)


def _starts(app, visit: VisitRow) -> list[str]:
    with app.app_context():
        slots = svc.open_slots(db.session.get(VisitRow, visit.id), service_row("consult"))
        return [s.start for s in slots]


def _book(app, visit: VisitRow, start: str) -> str:
    with app.app_context():
        req = svc.BookingRequest(visit.id, start, "consult", VALID_USCC, "王五", PHONE)
        return svc.book(req).code


def _csrf(client) -> str:
    page = client.get(LOOKUP).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def _move(client, code: str, visit: VisitRow, start: str) -> str:
    """Move the booking on its page, as the taxpayer does; the new booking's code."""
    resp = client.post(
        "/d/fangzi/booking/reschedule",
        data={
            "csrf_token": _csrf(client),
            "code": code,
            "phone": PHONE,
            "target": f"{visit.id}|{start}",
        },
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    return re.search(r'<dd class="code">(\w+)</dd>', page).group(1)


def _look_up(client, code: str, phone: str = PHONE):
    return client.post(LOOKUP, data={"csrf_token": _csrf(client), "code": code, "phone": phone})


def _follow_form(page: str) -> dict[str, str]:
    """The hidden fields of the page's form that opens the new booking."""
    form = re.search(
        r'<form method="post" action="/d/fangzi/booking/lookup">(.*?)</form>', page, re.S
    )
    assert form is not None, "no button leads to the new booking"
    return dict(re.findall(r'name="(\w+)" type="hidden" value="([^"]*)"', form.group(1)))


def test_the_old_code_shows_the_new_time_and_code_and_opens_the_new_booking(app, client):
    v = _long(app)
    starts = _starts(app, v)
    old = _book(app, v, starts[0])
    new = _move(client, old, v, starts[5])

    resp = _look_up(client, old)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200, page
    assert "您的预约已改约" in page and f"新的预约码为：{new}。" in page
    assert f'<dd class="code">{new}</dd>' in page
    with app.app_context():
        moved = db.session.scalar(db.select(Booking).where(Booking.code == new))
        when = f"{moved.visit.date.isoformat()} {starts[5]}–{hhmm(moved.end)}"
        place = moved.visit.stop.name
    assert when in page and place in page
    assert "取消预约" not in page  # the old booking offers nothing to do

    fields = _follow_form(page)
    assert fields["code"] == new
    opened = client.post(LOOKUP, data=fields)
    shown = opened.get_data(as_text=True)
    assert opened.status_code == 200, shown
    assert f'<dd class="code">{new}</dd>' in shown and "已预约" in shown
    assert "取消预约" in shown and "改约" in shown  # the new booking is managed as usual


def test_two_moves_lead_from_the_first_code_to_the_last(app, client):
    v = _long(app)
    starts = _starts(app, v)
    first = _book(app, v, starts[0])
    middle = _move(client, first, v, starts[3])
    last = _move(client, middle, v, starts[6])

    page = _look_up(client, first).get_data(as_text=True)
    assert f'<dd class="code">{last}</dd>' in page and middle not in page
    assert f"{starts[6]}–" in page
    assert _follow_form(page)["code"] == last
    page = _look_up(client, middle).get_data(as_text=True)
    assert f'<dd class="code">{last}</dd>' in page


def test_a_wrong_phone_finds_nothing_and_does_not_reveal_the_new_code(app, client):
    v = _long(app)
    starts = _starts(app, v)
    old = _book(app, v, starts[0])
    new = _move(client, old, v, starts[5])

    wrong = _look_up(client, old, OTHER_PHONE)
    unknown = _look_up(client, "ZZZZZZZZ", PHONE)
    assert wrong.status_code == unknown.status_code == 404
    assert "没有与该预约码和手机号码相符的预约" in wrong.get_data(as_text=True)
    assert new not in wrong.get_data(as_text=True)
    api = client.get(f"/api/v1/bookings/{old}?phone={OTHER_PHONE}")
    assert api.status_code == 404 and new not in api.get_data(as_text=True)
    # the right phone does lead on
    assert f'<dd class="code">{new}</dd>' in _look_up(client, old).get_data(as_text=True)


def test_the_api_gives_a_moved_booking_its_new_code_time_and_visit(app, client):
    v = _long(app)
    starts = _starts(app, v)
    old = _book(app, v, starts[0])
    new = _move(client, old, v, starts[5])
    last = _move(client, new, v, starts[7])

    body = client.get(f"/api/v1/bookings/{old}?phone={PHONE}").get_json()
    assert body["status"] == "moved" and body["start"] == starts[0]
    moved_to = body["moved_to"]
    assert moved_to["code"] == last and moved_to["status"] == "active"
    assert moved_to["start"] == starts[7] and moved_to["visit"]["id"] == v.id
    current = client.get(f"/api/v1/bookings/{last}?phone={PHONE}").get_json()
    assert current["status"] == "active" and current["moved_to"] is None
    doc = client.get("/api/v1/openapi.json").get_json()
    assert "moved_to" in doc["components"]["schemas"]["Booking"]["properties"]


def test_following_moves_ends_on_a_loop(app):
    """A damaged chain (a loop) still ends: the page shows the last booking reached."""
    v = _long(app)
    starts = _starts(app, v)
    a = _book(app, v, starts[0])
    with app.app_context():
        b = svc.reschedule(a, PHONE, v.id, starts[4]).code
        ids = {
            x.code: x.id
            for x in db.session.scalars(db.select(Booking).where(Booking.code.in_([a, b])))
        }
        db.session.execute(update(Booking).where(Booking.code == b).values(moved_to_id=ids[a]))
        db.session.commit()
        found = svc.latest(svc.find(a, PHONE))
        assert found is not None and found.code == b
        assert svc.latest(svc.find(b, PHONE)).code == a


def test_a_time_the_bureau_changed_says_why(app, client):
    """A booking the bureau moved keeps its code; its page says the bureau changed the time,
    and why."""
    v = _long(app)
    code = _book(app, v, _starts(app, v)[0])
    with app.app_context():
        db.session.execute(
            update(Booking).where(Booking.code == code).values(cancel_reason="weather")
        )
        db.session.commit()
    page = _look_up(client, code).get_data(as_text=True)
    assert "已预约（税务局已调整时间）" in page and "天气原因" in page
    assert "取消预约" in page


def test_the_moved_booking_page_reads_well_on_a_phone(sqlite_app, live_url, tmp_path):
    """On a 390-pixel phone: the old code's page fits the screen, passes axe's WCAG 2.1 AA
    checks, and its button opens the new booking, which can be cancelled or moved."""
    from tests.conftest import chromium_page
    from tests.web.views.test_accessibility import axe_violations

    v = _long(sqlite_app)
    starts = _starts(sqlite_app, v)
    old = _book(sqlite_app, v, starts[0])
    with sqlite_app.app_context():
        new = svc.reschedule(old, PHONE, v.id, starts[5]).code
    with chromium_page(390, 844) as page:
        page.goto(live_url + LOOKUP)
        page.get_by_label("预约码").fill(old)
        page.get_by_label("手机号码").fill(PHONE)
        page.get_by_role("button", name="查询").click()
        page.wait_for_selector(".moved-to")
        page.screenshot(path=str(tmp_path / "moved.png"), full_page=True)
        assert page.locator("h1").inner_text() == "您的预约已改约"
        assert page.locator(".moved-to dd.code").inner_text() == new
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        found = axe_violations(page)
        assert not found, "\n".join(found)
        page.get_by_role("button", name=f"打开预约{new}").click()
        page.wait_for_selector("form.cancel-booking button")
        assert page.locator("dd.code").inner_text() == new
        assert page.locator("h1").inner_text() == "您的预约"
