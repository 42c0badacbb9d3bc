import math
import re

import pytest

from tests.conftest import OTHER_USCC, VALID_USCC, service_row
from web.db.models import Booking, VisitRow
from web.extensions import db
from web.operations import booking as svc

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
    path = f"/d/fangzi/visits/{visit.id}/book?service={service}"
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
        return svc.open_slots(v, service_row(service))[0].start


def test_booking_page_offers_slots_with_labels(app, client):
    v = _visit(app)
    page = client.get(f"/d/fangzi/visits/{v.id}/book").get_data(as_text=True)
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
    client.get("/d/fangzi/?lang=en")
    page = _book_form(client, v, "", phone="1").get_data(as_text=True)
    assert "Enter an 11-digit mainland mobile number." in page


def test_post_without_csrf_token_is_refused(app, client):
    v = _visit(app)
    resp = client.post(f"/d/fangzi/visits/{v.id}/book", data={"service": "consult"})
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert "表单已过期" in page and "Traceback" not in page


def test_lookup_needs_code_and_phone_and_cancel_frees_the_place(app, client):
    v = _visit(app)
    start = _first_slot(app, v)
    page = client.get(_book_form(client, v, start).headers["Location"]).get_data(as_text=True)
    code = re.search(r'<dd class="code">(\w+)</dd>', page).group(1)

    token = _csrf(client, "/d/fangzi/booking/lookup")
    wrong = client.post(
        "/d/fangzi/booking/lookup", data={"csrf_token": token, "code": code, "phone": "13900139000"}
    )
    assert wrong.status_code == 404 and "没有与该预约码和手机号码相符的预约" in wrong.get_data(
        as_text=True
    )
    right = client.post(
        "/d/fangzi/booking/lookup", data={"csrf_token": token, "code": code, "phone": PHONE}
    )
    assert right.status_code == 200 and "取消预约" in right.get_data(as_text=True)
    cancelled = client.post(
        "/d/fangzi/booking/cancel",
        data={"csrf_token": token, "code": code, "phone": PHONE, "confirm": "yes"},
    )
    assert "已取消" in cancelled.get_data(as_text=True)
    again = client.post(
        "/d/fangzi/booking/cancel",
        data={"csrf_token": token, "code": code, "phone": PHONE, "confirm": "yes"},
    )
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
        later = svc.open_slots(db.session.get(VisitRow, v.id), service_row("consult"))[-1].start
    token = _csrf(client, "/d/fangzi/booking/lookup")
    resp = client.post(
        "/d/fangzi/booking/reschedule",
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
        consult = service_row("consult")
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
        consult = service_row("consult")
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
        for s in svc.open_slots(visit, service_row("consult")):
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
        f"/d/fangzi/stops/{v.stop_id}",
        f"/d/fangzi/stops/{v.stop_id}/poster",
        f"/d/fangzi/stops/{v.stop_id}.ics",
        "/d/fangzi/open-data/2026-W49.csv",
        "/d/fangzi/open-data/2026-W49.json",
        "/api/v1/visits?week=2026-W49",
        f"/api/v1/visits/{v.id}/slots",
    ):
        text = client.get(path).get_data(as_text=True)
        assert "赵六隐私" not in text and VALID_USCC not in text and PHONE not in text, path


# --- moving a booking is one transaction ---------------------------------------------------


def _state(app, code: str) -> tuple[str, int, int, list[tuple[int, int]]]:
    """What a booking is: status, visit, start and the places it holds."""
    with app.app_context():
        b = db.session.scalar(db.select(Booking).where(Booking.code == code))
        return b.status, b.visit_id, b.start, sorted((c.counter, c.slot) for c in b.claims)


def _booked_code(app, client, visit: VisitRow, start: str) -> str:
    page = client.get(_book_form(client, visit, start).headers["Location"]).get_data(as_text=True)
    return re.search(r'<dd class="code">(\w+)</dd>', page).group(1)


def _move(client, code: str, target: str):
    token = _csrf(client, "/d/fangzi/booking/lookup")
    return client.post(
        "/d/fangzi/booking/reschedule",
        data={"csrf_token": token, "code": code, "phone": PHONE, "target": target},
    )


@pytest.mark.parametrize(
    "target",
    ["abc|10:00", "99999999999999999999|10:00", "2147483648|10:00", "{visit}|25:61", "{visit}"],
)
def test_a_malformed_move_is_refused_and_changes_nothing(app, client, target):
    """A move to a target no page offers answers a clear 4xx; the booking stays as it was
    and can still be cancelled."""
    v = _visit(app)
    code = _booked_code(app, client, v, _first_slot(app, v))
    before = _state(app, code)
    resp = _move(client, code, target.format(visit=v.id))
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422, page
    assert "新的时间不在可选范围内" in page and "Traceback" not in page
    assert _state(app, code) == before
    token = _csrf(client, "/d/fangzi/booking/lookup")
    cancelled = client.post(
        "/d/fangzi/booking/cancel",
        data={"csrf_token": token, "code": code, "phone": PHONE, "confirm": "yes"},
    )
    assert cancelled.status_code == 200 and "已取消" in cancelled.get_data(as_text=True)


def _fill(app, visit_id: int, start: str) -> None:
    """Book `start` at the visit for other taxpayers until no place is left there."""
    from stdnum.cn import uscc

    heads = [f"9237070400001{i:04d}" for i in range(20)]
    with app.app_context():
        for head in heads:
            try:
                svc.book(
                    svc.BookingRequest(
                        visit_id, start, "consult", head + uscc.calc_check_digit(head), "x", PHONE
                    )
                )
            except svc.PlaceTaken:
                return
    raise AssertionError("the place never filled")


def test_a_move_to_a_taken_place_changes_nothing(app, client):
    v = _long(app)
    slots = [s.start for s in _slots(app, v)]
    code = _booked_code(app, client, v, slots[0])
    _fill(app, v.id, slots[4])
    before = _state(app, code)
    resp = _move(client, code, f"{v.id}|{slots[4]}")
    assert resp.status_code == 409 and "该时段已被预约" in resp.get_data(as_text=True)
    assert _state(app, code) == before


def test_a_move_onto_an_overlapping_booking_changes_nothing(app, client):
    v = _long(app)
    slots = [s.start for s in _slots(app, v)]
    code = _booked_code(app, client, v, slots[0])
    _booked_code(app, client, v, slots[3])
    before = _state(app, code)
    resp = _move(client, code, f"{v.id}|{slots[3]}")
    assert resp.status_code == 409 and "您在相同时间已有预约" in resp.get_data(as_text=True)
    assert _state(app, code) == before


def test_a_move_to_a_closed_time_changes_nothing(app, client):
    import datetime as dt

    with app.app_context():
        visits = db.session.scalars(db.select(VisitRow).order_by(VisitRow.date)).all()
        early, late = visits[0], visits[-1]
        assert early.date < late.date
    code = _booked_code(app, client, late, _first_slot(app, late))
    before = _state(app, code)
    clock = app.config["TAXVAN_CLOCK"]
    now = svc.at(early.date, early.end) - dt.timedelta(minutes=15)  # every slot has closed
    app.config["TAXVAN_CLOCK"] = lambda: now
    try:
        last = f"{(early.end - 15) // 60:02d}:{(early.end - 15) % 60:02d}"
        resp = _move(client, code, f"{early.id}|{last}")
    finally:
        app.config["TAXVAN_CLOCK"] = clock
    assert resp.status_code == 409 and "该时段的预约已截止" in resp.get_data(as_text=True)
    assert _state(app, code) == before


def test_a_good_move_frees_the_old_place_in_the_same_step(app, client):
    v = _long(app)
    slots = _slots(app, v)
    old_start, new_start = slots[0].start, slots[5].start
    code = _booked_code(app, client, v, old_start)
    free_before = {s.start: s.free for s in _slots(app, v)}
    resp = _move(client, code, f"{v.id}|{new_start}")
    assert resp.status_code == 302
    free_after = {s.start: s.free for s in _slots(app, v)}
    assert free_after[old_start] == free_before.get(old_start, 0) + 1
    assert free_after.get(new_start, 0) == free_before[new_start] - 1
    assert _state(app, code)[0] == "moved" and not _state(app, code)[3]


def test_a_move_by_one_slot_may_overlap_its_own_old_time(app, client):
    """The booking being moved does not count against itself (limit or overlap)."""
    v = _long(app)
    slots = [s.start for s in _slots(app, v)]
    with app.app_context():
        service = service_row("invoice_issue")  # 20 minutes: two slots
        assert service.minutes > 15
    first = _first_slot(app, v, "invoice_issue")
    resp = _book_form(client, v, first, service="invoice_issue")
    code = re.search(r"/d/fangzi/booking/(\w+)/confirmed", resp.headers["Location"]).group(1)
    nxt = slots[slots.index(first) + 1]
    assert _move(client, code, f"{v.id}|{nxt}").status_code == 302


def _slots(app, visit: VisitRow, service: str = "consult") -> list[svc.SlotView]:
    with app.app_context():
        return svc.open_slots(db.session.get(VisitRow, visit.id), service_row(service))


# --- the domain's errors are types carrying their data -------------------------------------


def test_refusals_are_typed_and_carry_their_data(app):
    import datetime as dt

    from taxvan.booking import (
        BookingClosed,
        BookingNotFound,
        LimitReached,
        NotActive,
        NotOpenYet,
        OverlappingBooking,
    )

    v = _long(app)
    with app.app_context():
        visit = db.session.get(VisitRow, v.id)
        slots = svc.open_slots(visit, service_row("consult"))
        made = [
            svc.book(svc.BookingRequest(v.id, s.start, "consult", OTHER_USCC, "李四", PHONE))
            for s in slots[0:6:2]
        ]
        with pytest.raises(OverlappingBooking) as overlap:
            svc.book(svc.BookingRequest(v.id, slots[0].start, "consult", OTHER_USCC, "李四", PHONE))
        assert overlap.value.other[0] == svc.at(visit.date, made[0].start)
        with pytest.raises(LimitReached) as limit:
            svc.book(svc.BookingRequest(v.id, slots[8].start, "consult", OTHER_USCC, "李四", PHONE))
        assert (limit.value.held, limit.value.limit) == (3, 3)
        with pytest.raises(BookingNotFound):
            svc.find(made[0].code, "13900139000")
        svc.cancel(made[0].code, PHONE)
        with pytest.raises(NotActive) as inactive:
            svc.cancel(made[0].code, PHONE)
        assert inactive.value.status == "cancelled"
        start = svc.at(visit.date, visit.start)
        request = svc.BookingRequest(v.id, slots[0].start, "consult", VALID_USCC, "x", PHONE)
        with pytest.raises(BookingClosed) as closed:
            svc.book(request, now=start)
        assert closed.value.closes == svc.at(
            visit.date, svc.parse_hhmm(slots[0].start)
        ) - dt.timedelta(hours=2)
        with pytest.raises(NotOpenYet) as not_yet:
            svc.book(request, now=start - dt.timedelta(days=20))
        assert not_yet.value.opens.date() == visit.date - dt.timedelta(days=14)


def test_api_errors_name_their_kind_and_status_from_the_type(app, client):
    v = _long(app)
    slots = [s.start for s in _slots(app, v)]
    body = {
        "visit_id": v.id,
        "service": "consult",
        "taxpayer_id": VALID_USCC,
        "name": "张三",
        "phone": PHONE,
    }
    code = client.post("/api/v1/bookings", json={**body, "start": slots[0]}).get_json()["code"]
    overlap = client.post("/api/v1/bookings", json={**body, "start": slots[0]})
    assert overlap.status_code == 409 and overlap.get_json()["error"] == "overlapping_booking"
    missing = client.delete(f"/api/v1/bookings/{code}?phone=13900139000")
    assert missing.status_code == 404 and missing.get_json()["error"] == "not_found"
    assert client.delete(f"/api/v1/bookings/{code}?phone={PHONE}").status_code == 200
    again = client.delete(f"/api/v1/bookings/{code}?phone={PHONE}")
    assert again.status_code == 409 and again.get_json()["error"] == "not_active"
    bad = client.post("/api/v1/bookings", json={**body, "start": "noon"})
    assert bad.status_code == 422 and bad.get_json()["errors"] == {
        "start": "expected a time as HH:MM"
    }


def test_a_service_running_past_the_visit_says_when_the_van_leaves(app, client):
    """A 20-minute service at a visit's last 15-minute slot: refused with the leaving time."""
    from taxvan.booking import DoesNotFit
    from web.views.booking.errors import user_message

    v = _long(app)
    last = v.end - 15
    resp = client.post(
        "/api/v1/bookings",
        json={
            "visit_id": v.id,
            "start": f"{last // 60:02d}:{last % 60:02d}",
            "service": "invoice_issue",
            "taxpayer_id": VALID_USCC,
            "name": "张三",
            "phone": PHONE,
        },
    )
    assert resp.status_code == 409 and resp.get_json()["error"] == "does_not_fit"
    with app.test_request_context("/"):
        text = user_message(DoesNotFit(v.end))
    assert f"{v.end // 60:02d}:{v.end % 60:02d}" in text and "办税车离开" in text


# --- the lean path ------------------------------------------------------------------------

MAX_BOOKING_STATEMENTS = {"postgresql": 4, "sqlite": 6}
"""Visit (with stop and street) and service; the taxpayer's lock; the taxpayer's open bookings
with the visit's claims; the booking with its claims and its notice in the outbox (one
statement on PostgreSQL; on SQLite the booking, its claims and the notice, one INSERT each).
The reply is built from what was written."""


def _statements_during(app, action):
    """The SQL statements sent to the database while `action()` runs, and the database's name."""
    from sqlalchemy import event

    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        result = action()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return result, statements, engine.dialect.name


def test_a_booking_runs_few_sql_statements(app, client):
    v = _long(app)
    start = _first_slot(app, v)
    resp, statements, dialect = _statements_during(
        app,
        lambda: client.post(
            "/api/v1/bookings",
            json={
                "visit_id": v.id,
                "start": start,
                "service": "consult",
                "taxpayer_id": VALID_USCC,
                "name": "张三",
                "phone": PHONE,
            },
        ),
    )
    assert resp.status_code == 201 and resp.get_json()["visit"]["stop_name"]
    assert 0 < len(statements) <= MAX_BOOKING_STATEMENTS[dialect], "\n".join(statements)
    # The taxpayer's lock is inside the counted path (PostgreSQL: advisory lock; SQLite: the
    # write lock taken before the taxpayer's bookings are read).
    lock = "pg_advisory_xact_lock" if dialect == "postgresql" else "BEGIN IMMEDIATE"
    assert any(lock in s for s in statements[:3]), "\n".join(statements)


MAX_CANCEL_STATEMENTS = {"postgresql": 3, "sqlite": 5}
"""The booking with its visit, stop, street and service under its row lock (on SQLite the
write lock first), then the claims deleted and the status set (one statement on PostgreSQL),
and its notice in the outbox (one INSERT)."""


def test_a_cancel_runs_few_sql_statements(app, client):
    v = _long(app)
    body = {
        "visit_id": v.id,
        "start": _first_slot(app, v),
        "service": "consult",
        "taxpayer_id": VALID_USCC,
        "name": "张三",
        "phone": PHONE,
    }
    code = client.post("/api/v1/bookings", json=body).get_json()["code"]
    resp, statements, dialect = _statements_during(
        app, lambda: client.delete(f"/api/v1/bookings/{code}?phone={PHONE}")
    )
    assert resp.status_code == 200 and resp.get_json()["status"] == "cancelled"
    assert resp.get_json()["visit"]["stop_name"]
    assert 0 < len(statements) <= MAX_CANCEL_STATEMENTS[dialect], "\n".join(statements)
    assert "FOR UPDATE" in statements[0] or statements[0] == "BEGIN IMMEDIATE"


REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture
def limited_app(sqlite_template, tmp_path):
    """Make the app on its own SQLite copy with the booking limit counted in `storage`, and a
    client address of its own (the limiter is one object for every app in the process, and
    its key prefix is the first app's); afterwards the limiter is off again and Redis clean."""
    import random
    import shutil

    import redis

    from tests.conftest import _dispose, _web_config
    from web import create_app
    from web.extensions import limiter

    made = []
    address = f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"

    def make(rate: str, storage: str):
        shutil.copy(sqlite_template, tmp_path / "db.sqlite")
        app = create_app(
            {
                **_web_config(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path),
                "RATELIMIT_ENABLED": True,
                "RATELIMIT_STORAGE_URI": storage,
                "TAXVAN_BOOKING_RATE": rate,
            }
        )
        made.append(app)
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = address
        return app, client, address

    yield make
    limiter.enabled = False
    for app in made:
        _dispose(app)
    r = redis.Redis.from_url(REDIS)
    keys = list(r.scan_iter(f"*/{address}/*"))
    if keys:
        r.delete(*keys)
    r.close()


def _redis_commands_during(address: str, action) -> list[str]:
    """The commands clients send Redis on the keys of `address` while `action()` runs (MONITOR;
    the commands a Lua script runs inside Redis are not round trips and are left out)."""
    import threading
    import uuid

    import redis

    done = f"taxvan-test-done-{uuid.uuid4().hex}"
    seen: list[str] = []
    ready = threading.Event()

    def watch() -> None:
        with redis.Redis.from_url(REDIS).monitor() as monitor:
            ready.set()
            for command in monitor.listen():
                if done in command["command"]:
                    return
                key = f"/{address}/" in command["command"]
                if key and command.get("client_type") != "lua":
                    seen.append(command["command"])

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    assert ready.wait(10)
    try:
        action()
    finally:
        redis.Redis.from_url(REDIS).echo(done)
        watcher.join(10)
    assert not watcher.is_alive(), "MONITOR did not see the end marker"
    return seen


def test_a_booking_asks_the_rate_limit_store_once(limited_app):
    """The limit is counted on every booking request, with one round trip to Redis (the
    count), not three (the count, then its value and expiry for X-RateLimit-* headers)."""
    app, client, address = limited_app("100 per minute", REDIS)
    v = _long(app)
    start = _first_slot(app, v)
    body = {
        "visit_id": v.id,
        "start": start,
        "service": "consult",
        "taxpayer_id": VALID_USCC,
        "name": "张三",
        "phone": PHONE,
    }
    answers = []
    commands = _redis_commands_during(
        address, lambda: answers.append(client.post("/api/v1/bookings", json=body))
    )
    assert answers[0].status_code == 201
    assert len(commands) == 1, commands


@pytest.mark.parametrize("storage", ["memory://", REDIS])
def test_a_refused_request_says_when_to_come_back(limited_app, storage):
    """Past the limit the answer is 429 with Retry-After: the seconds until the budget is back."""
    _app, client, _address = limited_app("2 per minute", storage)
    answers = [client.post("/api/v1/bookings", json={}) for _ in range(3)]
    assert [a.status_code for a in answers] == [422, 422, 429]
    assert "Retry-After" not in answers[0].headers
    assert 1 <= int(answers[2].headers["Retry-After"]) <= 60


def test_each_serving_thread_keeps_its_own_database_connection(pg_url, tmp_path, monkeypatch):
    """On PostgreSQL the app keeps one connection per serving thread (TAXVAN_THREADS, which
    `web.serve` runs): with fewer, requests beyond the pool would each open and close a
    connection, a new server process every time."""
    from tests.conftest import _dispose, _web_config
    from web import create_app

    monkeypatch.setenv("TAXVAN_THREADS", "12")
    app = create_app(_web_config(pg_url, tmp_path))
    try:
        with app.app_context():
            assert db.engine.pool.size() == 12
    finally:
        _dispose(app)


def test_service_lengths_read_in_the_page_language(app, client):
    """The form names each service with its length: 分钟 on the Chinese page, min in English."""
    v = _visit(app)
    page = client.get(f"/d/fangzi/visits/{v.id}/book?service=consult").get_data(as_text=True)
    assert "咨询" in page and "分钟)" in page and " min)" not in page
    client.get("/d/fangzi/?lang=en")
    english = client.get(f"/d/fangzi/visits/{v.id}/book?service=consult").get_data(as_text=True)
    assert " min)" in english and "分钟" not in english


def test_bookings_go_on_counted_in_memory_while_redis_is_down(limited_app):
    """With the rate-limit Redis unreachable a booking request is not a server error: the
    budget is counted in memory (the limit still holds, with Retry-After) until Redis is back."""
    _app, client, _address = limited_app("2 per minute", "redis://127.0.0.1:1/0")
    answers = [client.post("/api/v1/bookings", json={}) for _ in range(3)]
    assert [a.status_code for a in answers] == [422, 422, 429]
    assert 1 <= int(answers[2].headers["Retry-After"]) <= 60


def test_the_booking_pages_and_the_api_spend_one_budget(limited_app):
    """A client cannot multiply its allowance by spreading requests over the booking page's
    form and the API: both count in one budget per address."""
    app, client, _address = limited_app("3 per minute", REDIS)
    v = _visit(app)
    page = f"/d/fangzi/visits/{v.id}/book"
    token = _csrf(client, page)  # GET: shows the form, not counted
    assert client.post("/api/v1/bookings", json={}).status_code == 422
    assert client.post(page, data={"csrf_token": token}).status_code == 422  # the form again
    assert client.post("/api/v1/bookings", json={}).status_code == 422
    assert client.post(page, data={"csrf_token": token}).status_code == 429
    assert client.post("/api/v1/bookings", json={}).status_code == 429
