"""Notices: written with the booking change they report (both databases), reminders once,
delivery through a real local HTTP gateway (delivered, retried, rejected, timed out), two
delivery runs at once, and the commands."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from taxvan.notices import NoticeKind, sms_units
from tests.conftest import CHINA_NOW, OTHER_USCC, VALID_USCC, service_row
from web.adapters.sms import HttpGateway, OutboxOnly
from web.db.models import Booking, Notice, VisitRow
from web.db.outbox import notify_booking
from web.extensions import db
from web.operations import booking as svc
from web.operations.notices import deliver_due, write_reminders

PHONE = "13800138000"


def _open_slots(app, n: int = 2) -> list[tuple[int, str]]:
    """`n` (visit id, start) places on different visits, still bookable."""
    out = []
    with app.app_context():
        consult = service_row("consult")
        for v in db.session.scalars(select(VisitRow).order_by(VisitRow.id)):
            slots = svc.open_slots(v, consult)
            if slots:
                out.append((v.id, slots[0].start))
            if len(out) == n:
                return out
    raise AssertionError("not enough open visits")


def _book(client, visit_id: int, start: str, lang: str = "zh", tid: str = VALID_USCC, **kw):
    body = {
        "visit_id": visit_id,
        "start": start,
        "service": "consult",
        "taxpayer_id": tid,
        "name": "张三",
        "phone": PHONE,
        **kw,
    }
    return client.post(f"/api/v1/bookings?lang={lang}", json=body)


def _notices(app) -> list[Notice]:
    with app.app_context():
        rows = list(db.session.scalars(select(Notice).order_by(Notice.id)))
        db.session.expunge_all()
        return rows


def test_booking_made_moved_and_cancelled_each_write_one_notice(app, client):
    (v1, s1), (v2, s2) = _open_slots(app)
    made = _book(client, v1, s1)
    assert made.status_code == 201
    code = made.get_json()["code"]
    [booked] = _notices(app)
    assert booked.kind == "booked" and booked.status == "pending" and booked.phone == PHONE
    assert code in booked.text and s1 in booked.text and booked.text.startswith("预约成功")
    assert booked.key == f"booked:{booked.booking_id}" and booked.stop_id
    with app.app_context():
        new = svc.reschedule(code, PHONE, v2, s2)
        new_code = new.code
    moved = _notices(app)[-1]
    assert moved.kind == "moved" and new_code in moved.text and s2 in moved.text
    resp = client.delete(f"/api/v1/bookings/{new_code}?phone={PHONE}")
    assert resp.status_code == 200
    cancelled = _notices(app)[-1]
    assert cancelled.kind == "cancelled" and new_code in cancelled.text
    assert [n.kind for n in _notices(app)] == ["booked", "moved", "cancelled"]
    assert all(sms_units(n.text)[0] <= sms_units(n.text)[1] for n in _notices(app))


def test_an_english_booking_gets_english_notices(app, client):
    [(v, s)] = _open_slots(app, 1)
    resp = _book(client, v, s, lang="en")
    assert resp.status_code == 201
    with app.app_context():
        b = db.session.scalar(select(Booking).where(Booking.code == resp.get_json()["code"]))
        assert b.lang == "en"
    [n] = _notices(app)
    assert n.lang == "en" and n.text.startswith("Booked:")


def test_a_booking_form_in_english_stores_the_language(app, client):
    import re

    [(v, s)] = _open_slots(app, 1)
    path = f"/d/fangzi/visits/{v}/book?service=consult&lang=en"
    page = client.get(path).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    resp = client.post(
        f"/d/fangzi/visits/{v}/book?service=consult",
        data={
            "csrf_token": token,
            "service": "consult",
            "start": s,
            "taxpayer_id": VALID_USCC,
            "name": "Li",
            "phone": PHONE,
        },
    )
    assert resp.status_code == 302
    [n] = _notices(app)
    assert n.lang == "en" and n.text.startswith("Booked:")


def test_no_notice_when_the_booking_fails(app, client):
    [(v, s)] = _open_slots(app, 1)
    assert _book(client, v, s, phone="123").status_code == 422
    assert _book(client, v, "03:00").status_code == 422
    assert _book(client, v, s).status_code == 201
    # The same taxpayer again at the same time: refused (overlap), nothing written.
    assert _book(client, v, s).status_code == 409
    assert [n.kind for n in _notices(app)] == ["booked"]
    code = _notices(app)[0].text.split("预约码")[1][:8]
    # Cancelling twice: the second is refused and writes nothing.
    assert client.delete(f"/api/v1/bookings/{code}?phone={PHONE}").status_code == 200
    assert client.delete(f"/api/v1/bookings/{code}?phone={PHONE}").status_code == 409
    assert [n.kind for n in _notices(app)] == ["booked", "cancelled"]


def test_a_failed_move_writes_no_notice(app, client):
    (v1, s1), (v2, _) = _open_slots(app)
    code = _book(client, v1, s1).get_json()["code"]
    # A time that is no slot of the target visit: refused, the booking stays as it was.
    with app.app_context(), pytest.raises(svc.BookingError):
        svc.reschedule(code, PHONE, v2, "03:00")
    assert [n.kind for n in _notices(app)] == ["booked"]


def _book_for_tomorrow(app, client, tid: str = VALID_USCC) -> str:
    """A booking on a visit the day after the clock's today; returns its code."""
    with app.app_context():
        consult = service_row("consult")
        visits = db.session.scalars(select(VisitRow).order_by(VisitRow.date, VisitRow.id))
        for v in visits:
            slots = svc.open_slots(v, consult)
            if slots:
                day = v.date
                break
    app.config["TAXVAN_CLOCK"] = lambda: dt.datetime.combine(
        day - dt.timedelta(days=1), dt.time(9, 0), tzinfo=CHINA_NOW.tzinfo
    )
    resp = _book(client, v.id, slots[0].start, tid=tid)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["code"]


def test_reminders_are_written_once(app, client):
    code = _book_for_tomorrow(app, client)
    with app.app_context():
        tomorrow = db.session.scalar(
            select(VisitRow.date).join(Booking).where(Booking.code == code)
        )
        assert write_reminders(tomorrow) == 1
        assert write_reminders(tomorrow) == 0
        assert write_reminders(tomorrow - dt.timedelta(days=1)) == 0
    reminders = [n for n in _notices(app) if n.kind == "reminder"]
    assert len(reminders) == 1 and code in reminders[0].text
    assert reminders[0].text.startswith("提醒：明天")


def test_cancelled_bookings_get_no_reminder(app, client):
    code = _book_for_tomorrow(app, client)
    assert client.delete(f"/api/v1/bookings/{code}?phone={PHONE}").status_code == 200
    with app.app_context():
        day = db.session.scalar(select(VisitRow.date).join(Booking).where(Booking.code == code))
        assert write_reminders(day) == 0


def test_notify_booking_is_the_one_call_for_a_disruption(app, client):
    [(v, s)] = _open_slots(app, 1)
    code = _book(client, v, s).get_json()["code"]
    with app.app_context():
        b = db.session.scalar(select(Booking).where(Booking.code == code))
        assert notify_booking(NoticeKind.VISIT_CANCELLED, b, reason="道路封闭")
        assert not notify_booking(NoticeKind.VISIT_CANCELLED, b, reason="道路封闭")
        db.session.commit()
    n = _notices(app)[-1]
    assert n.kind == "visit_cancelled" and "道路封闭" in n.text and code in n.text


# --- delivery through a local HTTP gateway --------------------------------------------------


class Gateway:
    """A small SMS gateway on loopback: records each request; answers as `script` says."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.headers: list[dict] = []
        self.script: list[tuple[int, dict]] = []
        """Answers to give, in order; when empty, 200."""
        self.delay = 0.0
        self.lock = threading.Lock()

    def answer(self) -> tuple[int, dict]:
        with self.lock:
            return self.script.pop(0) if self.script else (200, {"status": "queued"})


@contextmanager
def gateway() -> Iterator[tuple[Gateway, str]]:
    gw = Gateway()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with gw.lock:
                gw.received.append(body)
                gw.headers.append(dict(self.headers))
            if gw.delay:
                time.sleep(gw.delay)
            status, answer = gw.answer()
            data = json.dumps(answer).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:  # the client gave up (timeout test)
                pass

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield gw, f"http://127.0.0.1:{server.server_port}/sms/send"
    finally:
        server.shutdown()
        server.server_close()


def _use_gateway(app, url: str, **kw) -> None:
    app.config["TAXVAN"] = dataclasses.replace(
        app.config["TAXVAN"], sms_url=url, sms_token="s3cret", **kw
    )


def _at(app, moment: dt.datetime) -> None:
    app.config["TAXVAN_CLOCK"] = lambda: moment


def test_the_gateway_gets_each_notice_once_with_its_idempotency_key(app, client):
    [(v, s)] = _open_slots(app, 1)
    assert _book(client, v, s).status_code == 201
    with gateway() as (gw, url):
        _use_gateway(app, url)
        with app.app_context():
            report = deliver_due()
            again = deliver_due()
    assert report.counts == {"sent": 1} and again.line() == "nothing due"
    [n] = _notices(app)
    assert n.status == "sent" and n.attempts == 1 and n.sent_at is not None
    [body] = gw.received
    assert body == {
        "id": f"taxvan-notice-{n.id}",
        "phone": PHONE,
        "text": n.text,
        "lang": "zh",
    }
    assert gw.headers[0]["Idempotency-Key"] == f"taxvan-notice-{n.id}"
    assert gw.headers[0]["Authorization"] == "Bearer s3cret"


def test_a_gateway_error_is_retried_later_and_then_delivered(app, client):
    [(v, s)] = _open_slots(app, 1)
    _book(client, v, s)
    with gateway() as (gw, url):
        _use_gateway(app, url, sms_retry_seconds=60)
        gw.script = [(500, {"error": "busy"})]
        with app.app_context():
            first = deliver_due()
        [n] = _notices(app)
        assert first.counts == {"retry later": 1}
        assert n.status == "pending" and n.attempts == 1 and "HTTP 500" in n.last_error
        assert n.next_attempt_at == CHINA_NOW.replace(tzinfo=None) + dt.timedelta(seconds=60)
        with app.app_context():
            assert deliver_due().line() == "nothing due"  # not due yet
        _at(app, CHINA_NOW + dt.timedelta(seconds=61))
        with app.app_context():
            assert deliver_due().counts == {"sent": 1}
    [n] = _notices(app)
    assert n.status == "sent" and n.attempts == 2 and n.last_error is None
    assert len(gw.received) == 2 and gw.received[0]["id"] == gw.received[1]["id"]


def test_a_bad_number_is_not_retried(app, client):
    [(v, s)] = _open_slots(app, 1)
    _book(client, v, s)
    with gateway() as (gw, url):
        _use_gateway(app, url)
        gw.script = [(400, {"error": "invalid_number", "message": "no such subscriber"})]
        with app.app_context():
            assert deliver_due().counts == {"rejected": 1}
        _at(app, CHINA_NOW + dt.timedelta(days=1))
        with app.app_context():
            assert deliver_due().line() == "nothing due"
    [n] = _notices(app)
    assert n.status == "rejected" and "invalid_number" in n.last_error
    assert len(gw.received) == 1


def test_a_hanging_gateway_times_out_and_is_retried(app, client):
    [(v, s)] = _open_slots(app, 1)
    _book(client, v, s)
    with gateway() as (gw, url):
        _use_gateway(app, url, sms_timeout=0.5)
        gw.delay = 3
        t0 = time.monotonic()
        with app.app_context():
            report = deliver_due()
        assert time.monotonic() - t0 < 2.5
    assert report.counts == {"retry later": 1}
    [n] = _notices(app)
    assert n.status == "pending" and "no answer within 0.5 s" in n.last_error


def test_attempts_run_out_and_the_notice_fails(app, client):
    [(v, s)] = _open_slots(app, 1)
    _book(client, v, s)
    with gateway() as (gw, url):
        _use_gateway(app, url, sms_max_attempts=2, sms_retry_seconds=1)
        gw.script = [(503, {}), (503, {})]
        with app.app_context():
            deliver_due()
        _at(app, CHINA_NOW + dt.timedelta(minutes=5))
        with app.app_context():
            assert deliver_due().counts == {"failed": 1}
    assert _notices(app)[0].status == "failed"


def test_without_a_gateway_notices_stay_in_the_outbox(app, client):
    [(v, s)] = _open_slots(app, 1)
    _book(client, v, s)
    with app.app_context():
        report = deliver_due(OutboxOnly())
    assert "1 waiting in the outbox" in report.line()
    assert _notices(app)[0].status == "pending"


def test_an_unreachable_gateway_is_retried():
    from web.adapters.sms import Outgoing

    outcome = HttpGateway("http://127.0.0.1:9/", timeout=1).send(Outgoing(1, PHONE, "x", "zh", 0))
    assert outcome.result == "retry" and "cannot reach" in outcome.error


def test_two_delivery_runs_at_once_send_each_notice_once(pg_session_app, client_for_pg):
    app = pg_session_app
    # Twelve notices to send, written as bookings would write them.
    with app.app_context():
        b = db.session.scalars(select(Booking)).first()
        assert b is not None
        for i in range(12):
            notify_booking(NoticeKind.VISIT_CANCELLED, b, reason="车辆故障", key=f"test:{i}")
        db.session.commit()
    with gateway() as (gw, url):
        gw.delay = 0.05
        _use_gateway(app, url)
        reports = []

        start = threading.Barrier(2)

        def run() -> None:
            with app.app_context():
                start.wait()
                reports.append(deliver_due(batch_size=2))

        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    ids = [r["id"] for r in gw.received]
    assert len(ids) == 12 and len(set(ids)) == 12
    assert sum(r.counts["sent"] for r in reports) == 12
    assert all(r.counts["sent"] > 0 for r in reports), "both runs took part"


@pytest.fixture
def client_for_pg(pg_session_app):
    """The PostgreSQL app with its outbox empty and one booking in place."""
    from sqlalchemy import delete

    from web.db.models import SlotClaim

    app = pg_session_app
    app.config["TAXVAN_CLOCK"] = lambda: CHINA_NOW
    with app.app_context():
        db.session.execute(delete(Notice))
        db.session.execute(delete(SlotClaim))
        db.session.execute(delete(Booking))
        db.session.commit()
    client = app.test_client()
    [(v, s)] = _open_slots(app, 1)
    assert _book(client, v, s, tid=OTHER_USCC).status_code == 201
    with app.app_context():
        db.session.execute(delete(Notice))
        db.session.commit()
    yield client
    app.config["TAXVAN"] = dataclasses.replace(app.config["TAXVAN"], sms_url="")
    with app.app_context():
        db.session.execute(delete(Notice))
        db.session.commit()
        db.session.remove()


def test_the_commands_write_reminders_once_and_send_them(app, client):
    _book_for_tomorrow(app, client)
    runner = app.test_cli_runner()
    with gateway() as (gw, url):
        _use_gateway(app, url)
        first = runner.invoke(args=["send-reminders"])
        second = runner.invoke(args=["send-reminders"])
        notices = runner.invoke(args=["send-notices"])
    assert first.exit_code == 0, first.output
    assert "1 reminders written" in first.output and "2 sent" in first.output
    assert "0 reminders written" in second.output and "nothing due" in second.output
    assert "nothing due" in notices.output
    assert sorted(r["text"][:2] for r in gw.received) == sorted(["预约", "提醒"])


def test_a_run_passes_over_notices_another_run_is_claiming(pg_session_app, client_for_pg):
    """PostgreSQL: rows locked by another claim are skipped (SKIP LOCKED), not waited for and
    not sent twice."""
    import psycopg

    app = pg_session_app
    with app.app_context():
        b = db.session.scalars(select(Booking)).first()
        for i in range(3):
            notify_booking(NoticeKind.REMINDER, b, key=f"lock:{i}")
        db.session.commit()
        first = db.session.scalar(select(Notice.id).order_by(Notice.id))
        url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url) as other, gateway() as (gw, gw_url):
        other.execute("SELECT id FROM notices WHERE id = %s FOR UPDATE", (first,))
        _use_gateway(app, gw_url)
        t0 = time.monotonic()
        with app.app_context():
            report = deliver_due()
        assert time.monotonic() - t0 < 5
        other.rollback()
    assert report.counts == {"sent": 2}
    assert first not in {int(r["id"].rsplit("-", 1)[1]) for r in gw.received}
