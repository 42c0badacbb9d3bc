"""What a taxpayer sees around a booking's edges: a visit that is over offers no booking and
points to the stop's next visit; a cancel asks first and comes last; a cancelled booking
asks for nothing to bring; a move says what became of the old code. Both databases."""

from __future__ import annotations

import re

import pytest

from tests.conftest import VALID_USCC, service_row
from tests.web.daysupport import DAY, add_visit, clean, day_visits
from web.db.models import Booking, VisitRow
from web.extensions import db
from web.operations import booking as svc

PHONE = "13800138000"
LOOKUP = "/d/fangzi/booking/lookup"


def _text(resp) -> str:
    return resp.get_data(as_text=True)


def _csrf(client) -> str:
    page = _text(client.get(LOOKUP))
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


# --- a visit that is over ------------------------------------------------------------------


@pytest.fixture
def ended(app):
    """The clock just after Monday's first visit ended; its stop visited again on Wednesday."""
    with app.app_context():
        first = day_visits()[0]
        later = add_visit(first, days=2)
        db.session.commit()
        ids = {"ended": first.id, "stop": first.stop_id, "next": later.id}
        moment = svc.at(first.date, first.end + 1)
    app.config["TAXVAN_CLOCK"] = lambda: moment
    yield ids
    clean(app, [ids["next"]])


def _item(page: str) -> str:
    """The stop page's list item of Monday's visit (found by the date it shows)."""
    items = re.findall(r"<li[^>]*>.*?</li>", page, re.S)
    return next(i for i in items if DAY.isoformat() in i)


def test_an_ended_visit_offers_no_booking_on_the_stop_page_or_the_week(app, client, ended):
    page = _text(client.get(f"/d/fangzi/stops/{ended['stop']}"))
    item = _item(page)
    assert "本次服务已结束" in item
    assert f"/visits/{ended['ended']}/book" not in page, "a Book link on a visit that is over"
    assert "欢迎现场办理" not in item, "walk-ins welcomed to a van that has left"
    assert f"/visits/{ended['next']}/book" in page, "the next visit is still bookable"
    week = _text(client.get("/d/fangzi/"))
    assert f"/visits/{ended['ended']}/book" not in week


def test_an_ended_visit_says_so_and_points_to_the_next_one(app, client, ended):
    resp = client.get(f"/d/fangzi/visits/{ended['ended']}/book")
    page = _text(resp)
    assert resp.status_code == 200
    assert "<h1>本次服务已结束</h1>" in page
    assert 'type="radio"' not in page and "欢迎现场办理" not in page
    assert "该服务点的下一次服务" in page
    assert f'href="/d/fangzi/visits/{ended["next"]}/book"' in page


def test_a_forced_booking_of_an_ended_visit_is_refused(app, client, ended):
    with app.app_context():
        visit = db.session.get(VisitRow, ended["ended"])
        start = f"{visit.start // 60:02d}:{visit.start % 60:02d}"
    resp = client.post(
        f"/d/fangzi/visits/{ended['ended']}/book",
        data={
            "csrf_token": _csrf(client),
            "service": "consult",
            "start": start,
            "taxpayer_id": VALID_USCC,
            "name": "王五",
            "phone": PHONE,
        },
    )
    assert resp.status_code == 409
    assert "本次服务已于 2026-11-30" in _text(resp) and "结束，不能再预约" in _text(resp)
    api = client.post(
        "/api/v1/bookings",
        json={
            "visit_id": ended["ended"],
            "start": start,
            "service": "consult",
            "taxpayer_id": VALID_USCC,
            "name": "王五",
            "phone": PHONE,
        },
    )
    assert api.status_code == 409 and api.get_json()["error"] == "visit_ended"
    with app.app_context():
        assert (
            db.session.scalar(db.select(Booking).where(Booking.taxpayer_id == VALID_USCC)) is None
        )


# --- cancelling: asked first, placed last --------------------------------------------------


def _booked(app) -> str:
    with app.app_context():
        v = max(db.session.scalars(db.select(VisitRow)).all(), key=lambda v: v.end - v.start)
        start = svc.open_slots(v, service_row("consult"))[0].start
        return svc.book(svc.BookingRequest(v.id, start, "consult", VALID_USCC, "王五", PHONE)).code


def _status(app, code: str) -> str:
    with app.app_context():
        return db.session.scalar(db.select(Booking.status).where(Booking.code == code))


def _fields(form: str) -> dict[str, str]:
    """The name and value of each input of a form's HTML, whatever their attributes' order."""
    out = {}
    for tag in re.findall(r"<input[^>]*>", form):
        attrs = dict(re.findall(r'(\w+)="([^"]*)"', tag))
        out[attrs["name"]] = attrs.get("value", "")
    return out


def test_cancel_asks_first_and_comes_after_the_move_choices(app, client):
    code = _booked(app)
    page = _text(
        client.post(LOOKUP, data={"csrf_token": _csrf(client), "code": code, "phone": PHONE})
    )
    move = page.index("/booking/reschedule")
    cancel = page.index('action="/d/fangzi/booking/cancel"')
    assert move < cancel, "the cancel button stands above the move choices"
    form = re.search(r'<form[^>]*action="/d/fangzi/booking/cancel"[^>]*>(.*?)</form>', page, re.S)
    assert 'class="danger"' not in form.group(1), "the first step is not the red, final one"

    # the booking page's button only asks
    asked = client.post("/d/fangzi/booking/cancel", data=_fields(form.group(1)))
    question = _text(asked)
    assert asked.status_code == 200 and "确定要取消这个预约吗" in question
    assert _status(app, code) == "active", "one tap cancelled the booking"
    confirm = re.search(
        r'<form[^>]*action="/d/fangzi/booking/cancel"[^>]*>(.*?)</form>', question, re.S
    ).group(1)
    keep = re.search(
        r'<form[^>]*action="/d/fangzi/booking/lookup"[^>]*>(.*?)</form>', question, re.S
    )
    assert keep is not None and "不取消" in keep.group(1), "a way back that keeps it"
    assert question.index("不取消") < question.index("确定取消预约"), "the cancel comes last"

    # a way back keeps the booking
    back = client.post(LOOKUP, data=_fields(keep.group(1)))
    assert back.status_code == 200 and _status(app, code) == "active"

    # the question's own button cancels
    done = client.post("/d/fangzi/booking/cancel", data=_fields(confirm))
    assert done.status_code == 200 and _status(app, code) == "cancelled"


def test_the_cancelled_page_asks_for_nothing_to_bring(app, client):
    code = _booked(app)
    with app.app_context():
        svc.cancel(code, PHONE)
    page = _text(
        client.post(LOOKUP, data={"csrf_token": _csrf(client), "code": code, "phone": PHONE})
    )
    assert "您的预约已取消" in page and code in page
    assert "请携带" not in page and "营业执照" not in page
    assert "在该服务点预约其他时间" in page


# --- a move: what became of the old code ---------------------------------------------------


def test_after_a_move_the_page_says_what_became_of_the_old_code(app, client):
    old = _booked(app)
    with app.app_context():
        booking = db.session.scalar(db.select(Booking).where(Booking.code == old))
        v = db.session.get(VisitRow, booking.visit_id)
        target = svc.open_slots(v, service_row("consult"))[4].start
    resp = client.post(
        "/d/fangzi/booking/reschedule",
        data={
            "csrf_token": _csrf(client),
            "code": old,
            "phone": PHONE,
            "target": f"{v.id}|{target}",
        },
    )
    assert resp.status_code == 302
    page = _text(client.get(resp.headers["Location"]))
    new = re.search(r'<dd class="code">(\w+)</dd>', page).group(1)
    assert new != old
    assert "改约成功" in page
    assert f"原预约码 {old} 已失效" in page and "用原预约码查询会转到这个新预约" in page
    assert f"新预约码 {new}" in page
