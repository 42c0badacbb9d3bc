import math
import re

import pytest

from tests.conftest import OTHER_USCC, VALID_USCC
from web.booking import service as svc
from web.extensions import db
from web.models import Booking, ServiceRow, VisitRow

PHONE = "13800138000"


def _visit(app, index: int = 0) -> VisitRow:
    with app.app_context():
        return db.session.scalars(db.select(VisitRow).order_by(VisitRow.id)).all()[index]


def _long(app) -> VisitRow:
    with app.app_context():
        return max(db.session.scalars(db.select(VisitRow)).all(), key=lambda v: v.end - v.start)


def _csrf(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def _book_form(client, visit: VisitRow, start: str, service: str = "consult", **fields):
    path = f"/visits/{visit.id}/book?service={service}"
    data = {
        "csrf_token": _csrf(client, path),
        "service": service,
        "start": start,
        "taxpayer_id": VALID_USCC,
        "name": "王五",
        "phone": PHONE,
        **fields,
    }
    return client.post(path, data=data)


def _first_slot(app, visit: VisitRow, service: str = "consult") -> str:
    with app.app_context():
        v = db.session.get(VisitRow, visit.id)
        return svc.open_slots(v, db.session.get(ServiceRow, service))[0].start


def test_booking_page_offers_slots_with_labels(app, client):
    v = _visit(app)
    page = client.get(f"/visits/{v.id}/book").get_data(as_text=True)
    assert "预约办税时间" in page and 'type="radio"' in page
    assert '<label for="taxpayer_id">' in page and '<label for="phone">' in page
    assert 'name="csrf_token"' in page


def test_book_confirm_shows_code_and_materials(app, client):
    v = _visit(app)
    start = _first_slot(app, v, "invoice_sale")
    resp = _book_form(client, v, start, service="invoice_sale")
    assert resp.status_code == 302
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "预约成功" in page and "营业执照副本" in page
    code = re.search(r'<dd class="code">(\w+)</dd>', page).group(1)
    with app.app_context():
        b = db.session.scalar(db.select(Booking).where(Booking.code == code))
        assert b.taxpayer_id == VALID_USCC and b.status == "active"


def test_each_bad_field_gets_its_own_message(app, client):
    v = _visit(app)
    resp = _book_form(client, v, "", taxpayer_id="91370704MA3C00000X", name="", phone="12345")
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert 'id="taxpayer_id-error">请输入有效的18位统一社会信用代码' in page
    assert 'id="phone-error">请输入11位大陆手机号码' in page
    assert 'id="name-error">请输入姓名' in page
    assert 'id="start-error">请选择时间' in page
    assert 'aria-invalid="true"' in page


def test_errors_follow_the_page_language(app, client):
    v = _visit(app)
    client.get("/?lang=en")
    page = _book_form(client, v, "", phone="1").get_data(as_text=True)
    assert "Enter an 11-digit mainland mobile number." in page


def test_post_without_csrf_token_is_refused(app, client):
    v = _visit(app)
    resp = client.post(f"/visits/{v.id}/book", data={"service": "consult"})
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert "表单已过期" in page and "Traceback" not in page


def test_lookup_needs_code_and_phone_and_cancel_frees_the_place(app, client):
    v = _visit(app)
    start = _first_slot(app, v)
    page = client.get(_book_form(client, v, start).headers["Location"]).get_data(as_text=True)
    code = re.search(r'<dd class="code">(\w+)</dd>', page).group(1)

    token = _csrf(client, "/booking/lookup")
    wrong = client.post(
        "/booking/lookup", data={"csrf_token": token, "code": code, "phone": "13900139000"}
    )
    assert wrong.status_code == 404 and "没有与该预约码和手机号码相符的预约" in wrong.get_data(
        as_text=True
    )
    right = client.post("/booking/lookup", data={"csrf_token": token, "code": code, "phone": PHONE})
    assert right.status_code == 200 and "取消预约" in right.get_data(as_text=True)
    cancelled = client.post(
        "/booking/cancel", data={"csrf_token": token, "code": code, "phone": PHONE}
    )
    assert "已取消" in cancelled.get_data(as_text=True)
    again = client.post("/booking/cancel", data={"csrf_token": token, "code": code, "phone": PHONE})
    assert again.status_code == 409 and "该预约已取消" in again.get_data(as_text=True)
    with app.app_context():
        b = db.session.scalar(db.select(Booking).where(Booking.code == code))
        assert b.status == "cancelled" and not b.claims


def test_reschedule_moves_to_the_new_time(app, client):
    v = _visit(app)
    start = _first_slot(app, v)
    page = client.get(_book_form(client, v, start).headers["Location"]).get_data(as_text=True)
    code = re.search(r'<dd class="code">(\w+)</dd>', page).group(1)
    with app.app_context():
        later = svc.open_slots(
            db.session.get(VisitRow, v.id), db.session.get(ServiceRow, "consult")
        )[-1].start
    token = _csrf(client, "/booking/lookup")
    resp = client.post(
        "/booking/reschedule",
        data={"csrf_token": token, "code": code, "phone": PHONE, "target": f"{v.id}|{later}"},
    )
    assert resp.status_code == 302
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert later in page
    with app.app_context():
        old = db.session.scalar(db.select(Booking).where(Booking.code == code))
        assert old.status == "moved" and not old.claims


def test_same_taxpayer_cannot_overlap_or_exceed_the_limit(app):
    v = _long(app)
    with app.app_context():
        visit = db.session.get(VisitRow, v.id)
        consult = db.session.get(ServiceRow, "consult")
        slots = svc.open_slots(visit, consult)
        svc.book(svc.BookingRequest(v.id, slots[0].start, "consult", OTHER_USCC, "李四", PHONE))
        with pytest.raises(svc.BookingError, match="overlapping"):
            svc.book(svc.BookingRequest(v.id, slots[0].start, "consult", OTHER_USCC, "李四", PHONE))
        for s in slots[2:4]:
            svc.book(svc.BookingRequest(v.id, s.start, "consult", OTHER_USCC, "李四", PHONE))
        with pytest.raises(svc.BookingError, match="open bookings"):
            svc.book(svc.BookingRequest(v.id, slots[6].start, "consult", OTHER_USCC, "李四", PHONE))


def test_walkin_share_is_never_bookable_and_full_slot_offers_alternatives(app):
    v = _visit(app)
    with app.app_context():
        visit = db.session.get(VisitRow, v.id)
        consult = db.session.get(ServiceRow, "consult")
        n_slots = (visit.end - visit.start) // 15
        total = n_slots * visit.counters
        booked = 0
        ids = [f"9237070400000{i:04d}" for i in range(200)]
        from stdnum.cn import uscc

        ids = [i + uscc.calc_check_digit(i) for i in ids]
        while True:
            slots = svc.open_slots(visit, consult)
            if not slots:
                break
            svc.book(svc.BookingRequest(v.id, slots[0].start, "consult", ids[booked], "x", PHONE))
            booked += 1
        # 30 % of each counter's slots, rounded up, stay free for walk-ins
        assert booked == visit.counters * (n_slots - math.ceil(n_slots * 3 / 10))
        assert booked < total
        with pytest.raises(svc.PlaceTaken) as err:
            svc.book(
                svc.BookingRequest(
                    v.id,
                    f"{visit.start // 60:02d}:{visit.start % 60:02d}",
                    "consult",
                    ids[-1],
                    "x",
                    PHONE,
                )
            )
        assert "fully booked" in str(err.value)


def test_booking_closes_before_the_visit(app):
    import datetime as dt

    from tests.conftest import CHINA_NOW

    v = _visit(app)
    with app.app_context():
        visit = db.session.get(VisitRow, v.id)
        start = svc.at(visit.date, visit.start)
        first_place = svc.BookingRequest(
            v.id,
            f"{visit.start // 60:02d}:{visit.start % 60:02d}",
            "consult",
            VALID_USCC,
            "x",
            PHONE,
        )
        now = start - dt.timedelta(minutes=30)
        app.config["TAXVAN_CLOCK"] = lambda: now
        for s in svc.open_slots(visit, db.session.get(ServiceRow, "consult")):
            h, m = map(int, s.start.split(":"))
            assert svc.at(visit.date, h * 60 + m) - now >= dt.timedelta(hours=2)
        with pytest.raises(svc.BookingError, match="closed"):
            svc.book(first_place)
        app.config["TAXVAN_CLOCK"] = lambda: CHINA_NOW - dt.timedelta(days=30)
        with pytest.raises(svc.BookingError, match="opens on"):
            svc.book(first_place)


def test_public_pages_never_show_names_ids_or_phones(app, client):
    v = _visit(app)
    start = _first_slot(app, v)
    _book_form(client, v, start, name="赵六隐私")
    for path in (
        "/",
        f"/stops/{v.stop_id}",
        f"/stops/{v.stop_id}/poster",
        f"/stops/{v.stop_id}.ics",
        "/open-data/2026-W49.csv",
        "/open-data/2026-W49.json",
        "/api/v1/visits?week=2026-W49",
        f"/api/v1/visits/{v.id}/slots",
    ):
        text = client.get(path).get_data(as_text=True)
        assert "赵六隐私" not in text and VALID_USCC not in text and PHONE not in text, path
