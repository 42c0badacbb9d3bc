"""One taxpayer's limits under requests that arrive together, through real HTTP clients.

The app is served by Werkzeug's threaded server on a free loopback port, against the test's
own SQLite file and (second parameter of `app`) the session's own PostgreSQL database; the
clients are threads released together by a barrier.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

import pytest

from tests.conftest import VALID_USCC, service_row, serving
from web.db.models import Booking, VisitRow
from web.extensions import db
from web.operations import booking as svc

PHONE = "13800138000"


def send_together(requests: list[urllib.request.Request]) -> list[tuple[int, dict]]:
    """Send every request from its own thread at the same moment; (status, JSON body) each."""
    barrier = threading.Barrier(len(requests))
    out: list[tuple[int, dict]] = [(0, {})] * len(requests)

    def send(i: int) -> None:
        barrier.wait()
        try:
            with urllib.request.urlopen(requests[i], timeout=60) as resp:
                out[i] = (resp.status, json.load(resp))
        except urllib.error.HTTPError as err:
            out[i] = (err.code, json.load(err))
            err.close()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(requests))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def booking_request(base: str, visit_id: int, start: str) -> urllib.request.Request:
    body = {
        "visit_id": visit_id,
        "start": start,
        "service": "consult",
        "taxpayer_id": VALID_USCC,
        "name": "王五",
        "phone": PHONE,
    }
    return urllib.request.Request(
        f"{base}/api/v1/bookings", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )


def distinct_starts(app, n: int) -> list[tuple[int, str]]:
    """`n` bookable (visit, start) pairs at pairwise different, non-overlapping times."""
    out: list[tuple[int, str]] = []
    with app.app_context():
        consult = service_row("consult")
        for v in db.session.scalars(db.select(VisitRow).order_by(VisitRow.id)):
            out += [(v.id, s.start) for s in svc.open_slots(v, consult)[::2]]
            if len(out) >= n:
                return out[:n]
    raise AssertionError(f"fewer than {n} open places")


def active_bookings(app) -> list[Booking]:
    with app.app_context():
        return list(
            db.session.scalars(
                db.select(Booking).where(
                    Booking.taxpayer_id == VALID_USCC, Booking.status == "active"
                )
            )
        )


def test_ten_requests_at_once_book_no_more_than_the_limit(app):
    """10 requests for one taxpayer at 10 different times: exactly the limit (3) is booked,
    the other 7 are refused as over the limit, on SQLite and PostgreSQL."""
    limit = app.config["TAXVAN_MAX_OPEN_BOOKINGS"]
    targets = distinct_starts(app, 10)
    with serving(app) as base:
        answers = send_together([booking_request(base, v, s) for v, s in targets])
    statuses = sorted(status for status, _ in answers)
    assert statuses == [201] * limit + [409] * (10 - limit), answers
    refused = [body for status, body in answers if status == 409]
    assert {b["error"] for b in refused} == {"limit_reached"}
    assert all(b["held"] == limit and b["limit"] == limit for b in refused)
    assert len(active_bookings(app)) == limit


@pytest.mark.parametrize("copies", [2, 6])
def test_the_same_time_sent_at_once_books_once(app, copies):
    """The same booking sent `copies` times at once: one booking, the rest refused as
    overlapping it (not a second place at another counter)."""
    ((visit_id, start),) = distinct_starts(app, 1)
    with serving(app) as base:
        answers = send_together([booking_request(base, visit_id, start)] * copies)
    assert sorted(s for s, _ in answers) == [201] + [409] * (copies - 1), answers
    assert {b["error"] for s, b in answers if s == 409} == {"overlapping_booking"}
    assert len(active_bookings(app)) == 1


def test_cancel_and_moves_of_one_booking_at_once_leave_one_outcome(app):
    """A cancel and two moves of the same booking at once: exactly one of them happens; the
    taxpayer ends with at most one active booking and no place is held twice."""
    import re

    targets = distinct_starts(app, 3)
    with app.app_context():
        booking = svc.book(svc.BookingRequest(*targets[0], "consult", VALID_USCC, "王五", PHONE))
        code = booking.code
    client = app.test_client()
    page = client.get("/d/fangzi/booking/lookup").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    cookie = client.get_cookie("session", domain="taxvan.test")
    assert cookie is not None
    with serving(app) as base:

        def form(path: str, **data: str) -> urllib.request.Request:
            body = "&".join(
                f"{k}={urllib.request.quote(v)}"
                for k, v in {"csrf_token": token, "code": code, "phone": PHONE, **data}.items()
            )
            return urllib.request.Request(
                f"{base}{path}",
                body.encode(),
                {
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Cookie": f"session={cookie.value}",
                    "Host": "taxvan.test",
                },
            )

        requests = [
            form("/d/fangzi/booking/cancel", confirm="yes"),
            form("/d/fangzi/booking/reschedule", target=f"{targets[1][0]}|{targets[1][1]}"),
            form("/d/fangzi/booking/reschedule", target=f"{targets[2][0]}|{targets[2][1]}"),
        ]
        barrier = threading.Barrier(len(requests))
        statuses: list[int] = []

        def send(req: urllib.request.Request) -> None:
            barrier.wait()
            opener = urllib.request.build_opener(NoRedirect)
            try:
                with opener.open(req, timeout=60) as resp:
                    statuses.append(resp.status)
            except urllib.error.HTTPError as err:
                statuses.append(err.code)
                err.close()

        threads = [threading.Thread(target=send, args=(r,)) for r in requests]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert 500 not in statuses, statuses
    assert sum(s in (200, 302) for s in statuses) == 1, statuses
    with app.app_context():
        rows = db.session.scalars(db.select(Booking).where(Booking.taxpayer_id == VALID_USCC))
        by_status: dict[str, int] = {}
        claims = 0
        for b in rows:
            by_status[b.status] = by_status.get(b.status, 0) + 1
            claims += len(b.claims)
    assert by_status in ({"cancelled": 1}, {"moved": 1, "active": 1}), by_status
    assert claims == by_status.get("active", 0)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Report a redirect (a successful move) as its status instead of following it."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None
