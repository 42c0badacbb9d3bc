"""Operations that meet at the same moment, through real HTTP clients: the schedule holds.

The app is served by Werkzeug's threaded server (`tests.conftest.serving`) on SQLite and on
PostgreSQL; each client is a thread with its own cookies, released together by a barrier.
Before the schedule had one owner, bookings sent while a day was called off landed on it and
stayed active (3 of 8, then 7 of 8), two publishes of one week both applied, and a publish
could put a visit over a door-to-door visit. After each race the schedule's rules
(`web.operations.invariants.check`) hold and every answer is one the client can act on.
"""

from __future__ import annotations

import http.cookiejar
import json
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable

import pytest
from sqlalchemy import select

from tests.conftest import serving
from tests.web.operations.test_publishing import (
    _affected_draft,
    _draft,
    _home,
    _taxpayer,
    _three_visits,
    _versions,
)
from tests.web.views.dispatch.test_dispatch import PASSWORD, console  # noqa: F401  (fixture)
from tests.web.views.dispatch.test_dispatch_publish import draft_url, save_draft
from web.db.models import Booking, Notice, ServiceRow, VisitRow
from web.extensions import db
from web.operations import booking as svc
from web.operations.disruptions import Scope, disrupt
from web.operations.invariants import check

PHONE = "13700137000"


class Client:
    """A browser's worth of HTTP: cookies kept, redirects not followed."""

    def __init__(self, base: str) -> None:
        self.base = base
        jar = http.cookiejar.CookieJar()

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
                return None

        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(jar), NoRedirect()
        )

    def send(self, path: str, data: dict[str, str] | None = None, json_body=None):
        """(status, body text)."""
        headers = {}
        body = None
        if json_body is not None:
            body, headers = json.dumps(json_body).encode(), {"Content-Type": "application/json"}
        elif data is not None:
            body = urllib.parse.urlencode(data).encode()
        req = urllib.request.Request(self.base + path, body, headers)
        try:
            with self.opener.open(req, timeout=120) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as err:
            text = err.read().decode()
            err.close()
            return err.code, text

    def token(self, path: str) -> str:
        _status, page = self.send(path)
        return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)

    def sign_in(self, name: str) -> Client:
        token = self.token("/dispatch/sign-in")
        status, _ = self.send(
            "/dispatch/sign-in", {"csrf_token": token, "name": name, "password": PASSWORD}
        )
        assert status == 302
        return self


def together(*calls: Callable[[], object]) -> list[object]:
    """Run every call from its own thread at the same moment; their results in order."""
    barrier = threading.Barrier(len(calls))
    out: list[object] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            out[i] = calls[i]()
        except Exception as exc:  # kept and asserted on by the test
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def _booking_call(client: Client, visit_id: int, start: str, n: int) -> Callable[[], object]:
    body = {
        "visit_id": visit_id,
        "start": start,
        "service": "consult",
        "taxpayer_id": _taxpayer(100 + n),
        "name": f"并发{n}",
        "phone": PHONE,
    }
    return lambda: client.send("/api/v1/bookings", json_body=body)


def _starts(app, visit_id: int, n: int) -> list[str]:
    with app.app_context():
        v = db.session.get(VisitRow, visit_id)
        consult = db.session.get(ServiceRow, (_home().id, "consult"))
        return [s.start for s in svc.open_slots(v, consult)][:n]


def _rules_kept(app) -> None:
    with app.app_context():
        assert [str(v) for v in check()] == []


def test_bookings_sent_while_a_visit_is_called_off_never_stay_on_it(app, console):  # noqa: F811
    a, _b, _c = _three_visits(app)
    with app.app_context():
        seed = svc.book(
            svc.BookingRequest(
                a[0], _starts(app, a[0], 1)[0], "consult", _taxpayer(99), "种子", PHONE
            )
        )
        preview = disrupt(_home(), Scope(visit_id=a[0]), "weather", None, actor="t", dry_run=True)
    starts = _starts(app, a[0], 8)
    with serving(app) as base:
        dispatcher = Client(base).sign_in("ann")
        url = "/dispatch/districts/fangzi/disruptions"
        form = {
            "csrf_token": dispatcher.token(f"{url}?visit={a[0]}"),
            "visit": str(a[0]),
            "date": "",
            "van": "",
            "reason": "weather",
            "note": "",
            "expect": preview.fingerprint,
        }
        public = Client(base)
        answers = together(
            lambda: dispatcher.send(f"{url}/confirm", form),
            *[_booking_call(public, a[0], s, n) for n, s in enumerate(starts)],
        )
    confirm, *booked = answers
    assert all(not isinstance(x, Exception) for x in answers), answers
    assert confirm[0] in (200, 409), confirm
    assert all(status in (201, 409, 422) for status, _ in booked), booked
    made = [json.loads(body)["code"] for status, body in booked if status == 201]
    with app.app_context():
        visit = db.session.get(VisitRow, a[0])
        if confirm[0] == 200:
            assert visit.cancelled_at is not None
            assert not made, "a booking told 预约成功 after the call-off began"
            seed_row = db.session.scalar(select(Booking).where(Booking.code == seed.code))
            assert seed_row.visit_id != a[0] or seed_row.status != "active"
        for code in made:
            row = db.session.scalar(select(Booking).where(Booking.code == code))
            assert not (row.status == "active" and row.visit.cancelled_at is not None)
    _rules_kept(app)


def test_two_publishes_of_one_week_at_once_apply_once(app, console):  # noqa: F811
    codes, draft = _affected_draft(app)
    first, second = draft_url(save_draft(app, draft)), draft_url(save_draft(app, draft))
    with serving(app) as base:
        ann, root = Client(base).sign_in("ann"), Client(base).sign_in("root")
        forms = []
        for client, url in ((ann, first), (root, second)):
            _s, page = client.send(url)
            fields = dict(
                re.findall(
                    r'name="(csrf_token|token|based_on)" type="hidden" value="([^"]*)"', page
                )
            )
            forms.append({**fields, "decision-all": "cancel", "reason-all": "路线调整"})
        answers = together(lambda: ann.send(first, forms[0]), lambda: root.send(second, forms[1]))
    statuses = sorted(status for status, _ in answers)
    assert statuses == [302, 409], statuses
    assert _versions(app) == [1, 2]
    with app.app_context():
        for code in codes.values():
            b = db.session.scalar(select(Booking).where(Booking.code == code))
            told = db.session.scalars(
                select(Notice.kind).where(Notice.booking_id == b.id, Notice.kind != "booked")
            ).all()
            assert len(told) <= 1, f"{code} told {told}"
    _rules_kept(app)


def test_a_publish_and_bookings_at_once_leave_no_booking_on_a_replaced_visit(app, console):  # noqa: F811
    a, _b, _c = _three_visits(app)
    gone = next(v for v in _draft(app).visits if v.stop_id == a[1])
    url = draft_url(save_draft(app, _draft(app, lambda vs: vs.remove(gone))))
    starts = _starts(app, a[0], 6)
    with serving(app) as base:
        ann = Client(base).sign_in("ann")
        _s, page = ann.send(url)
        fields = dict(
            re.findall(r'name="(csrf_token|token|based_on)" type="hidden" value="([^"]*)"', page)
        )
        form = {**fields, "decision-all": "cancel", "reason-all": "站点调整"}
        public = Client(base)
        answers = together(
            lambda: ann.send(url, form),
            *[_booking_call(public, a[0], s, n) for n, s in enumerate(starts)],
        )
    publish, *booked = answers
    assert publish[0] in (302, 400), publish  # 400: a booking landed first and needs a decision
    assert all(status in (201, 409, 422) for status, _ in booked), booked
    _rules_kept(app)


def test_a_publish_and_a_door_to_door_accept_at_once_never_overlap(app, console):  # noqa: F811
    from web.db.models import User
    from web.operations import door

    a, _b, _c = _three_visits(app)
    gone = next(v for v in _draft(app).visits if v.stop_id == a[1])
    with app.app_context():
        from web.operations.publishing import NONE, publish_version

        publish_version(_home(), _draft(app, lambda vs: vs.remove(gone)), NONE, "ann")
        d = _home()
        stop = db.session.get(VisitRow, a[0]).stop
        point = (stop.lat, stop.lon)
        req = door.submit(
            d,
            door.NewRequest(
                "并发建材有限公司",
                _taxpayer(98),
                "王经理",
                PHONE,
                "工业园 2 号",
                point,
                [],
                [gone.date],
                ["consult"],
                2,
                "zh",
            ),
        )
        ref = req.reference
    url = draft_url(save_draft(app, _draft(app, lambda vs: vs.append(gone))))

    def accept() -> object:
        with app.app_context():
            from web.db.store import current_week

            d = _home()
            req = db.session.scalar(
                select(door.DoorRequest).where(door.DoorRequest.reference == ref)
            )
            week = current_week("2026-W49", d)
            ask = door.PlanAsk(week, 45, (gone.start, gone.end), point)
            fits = door.options(d, req, ask).fits
            user = db.session.scalar(select(User).where(User.name == "ann"))
            return door.accept(d, req, ask, door.option_key(fits[0]), user) if fits else None

    with serving(app) as base:
        ann = Client(base).sign_in("ann")
        _s, page = ann.send(url)
        fields = dict(
            re.findall(r'name="(csrf_token|token|based_on)" type="hidden" value="([^"]*)"', page)
        )
        answers = together(lambda: ann.send(url, fields), accept)
    publish, accepted = answers
    assert publish[0] in (302, 400, 409), publish
    assert not isinstance(accepted, Exception) or isinstance(accepted, door.DoorError), accepted
    _rules_kept(app)


pytestmark = pytest.mark.slow
