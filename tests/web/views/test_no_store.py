"""Pages and downloads that show taxpayers' names, phones or bookings are never stored by a
browser or a proxy (`Cache-Control: no-store`): the console, the booking pages, the door-to-door
pages, the API's booking answers. The public timetable may be cached as before.

On SQLite and PostgreSQL (the `app` fixture)."""

from __future__ import annotations

import re

from tests.web.views.booking.test_booking import PHONE, _book_form, _csrf, _first_slot, _visit
from tests.web.views.dispatch.test_dispatch import _token, console, sign_in  # noqa: F401  (fixture)


def _no_store(response) -> bool:
    return "no-store" in response.headers.get("Cache-Control", "")


def test_every_console_page_and_download_is_no_store(app, console):  # noqa: F811
    anonymous = app.test_client()
    assert _no_store(anonymous.get("/dispatch/sign-in")), "the sign-in page"
    assert _no_store(anonymous.get("/dispatch/districts/fangzi")), "the redirect to sign in"

    client = app.test_client()
    assert _no_store(sign_in(client, "ann"))
    for path in (
        "/dispatch/districts/fangzi",
        "/dispatch/districts/fangzi/days?date=2026-11-30",
        "/dispatch/districts/fangzi/days.csv?date=2026-11-30",
        "/dispatch/districts/fangzi/days.xlsx?date=2026-11-30",
        "/dispatch/districts/fangzi/door-to-door",
        "/dispatch/api/districts/fangzi",
        "/dispatch/districts/fangzi/notices",
    ):
        r = client.get(path)
        assert r.status_code == 200, (path, r.status_code)
        assert r.headers["Cache-Control"] == "no-store", path
    refused = client.get("/dispatch/districts/county")
    assert refused.status_code == 403 and _no_store(refused), "a refusal too"
    signed_out = client.post(
        "/dispatch/sign-out", data={"csrf_token": _token(client, "/dispatch/districts/fangzi")}
    )
    assert _no_store(signed_out)


def test_the_taxpayer_s_booking_pages_are_no_store(app, client):
    v = _visit(app)
    form = client.get(f"/d/fangzi/visits/{v.id}/book")
    assert form.status_code == 200 and _no_store(form), "the booking form"
    booked = _book_form(client, v, _first_slot(app, v))
    assert booked.status_code == 302 and _no_store(booked)
    confirmation = client.get(booked.headers["Location"])
    page = confirmation.get_data(as_text=True)
    assert "预约成功" in page and _no_store(confirmation), "the confirmation shows the code"
    code = re.search(r'<dd class="code">(\w+)</dd>', page).group(1)

    lookup = client.get("/d/fangzi/booking/lookup")
    assert lookup.status_code == 200 and _no_store(lookup)
    token = _csrf(client, "/d/fangzi/booking/lookup")
    found = client.post(
        "/d/fangzi/booking/lookup", data={"csrf_token": token, "code": code, "phone": PHONE}
    )
    assert found.status_code == 200 and code in found.get_data(as_text=True)
    assert _no_store(found), "the booking found by code and phone"
    moved = client.post(
        "/d/fangzi/booking/reschedule",
        data={"csrf_token": token, "code": code, "phone": PHONE, "target": "bad"},
    )
    assert _no_store(moved), "a move (refused or not)"
    cancelled = client.post(
        "/d/fangzi/booking/cancel",
        data={"csrf_token": token, "code": code, "phone": PHONE, "confirm": "yes"},
    )
    assert cancelled.status_code == 200 and _no_store(cancelled)
    assert _no_store(client.get("/booking/lookup")), "the booking URL without a district"

    api = client.get(f"/api/v1/bookings/{code}?phone={PHONE}")
    assert api.status_code in (200, 404) and _no_store(api), "the API's answer on a booking"

    for path in ("/d/fangzi/door-to-door", "/door-to-door/status"):
        r = client.get(path)
        assert r.status_code == 200 and _no_store(r), path


def test_the_public_timetable_may_still_be_cached(app, client):
    v = _visit(app)
    with app.app_context():
        from web.db.models import VisitRow
        from web.extensions import db

        stop_id = db.session.get(VisitRow, v.id).stop_id
    for path in (
        "/d/fangzi/",
        f"/d/fangzi/stops/{stop_id}",
        "/d/fangzi/open-data/2026-W49.csv",
        "/d/fangzi/open-data/2026-W49.json",
        "/api/v1/visits?week=2026-W49",
    ):
        r = client.get(path)
        assert r.status_code == 200, (path, r.status_code)
        assert not _no_store(r), path
