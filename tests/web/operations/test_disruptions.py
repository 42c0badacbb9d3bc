"""Disruptions: a day or a visit called off, its bookings moved to the nearest visit of the same
stop with room or cancelled with the reason, in one transaction; the public site, the .ics
feed, the API and the open data show it; booking a cancelled visit is refused. Both databases.
"""

from __future__ import annotations

import re
from types import SimpleNamespace

import icalendar
import pytest
from sqlalchemy import delete, func, select, text

from taxvan.booking import VisitCancelled
from tests.conftest import service_row
from tests.web.daysupport import DAY, Day, add_visit, book, clean, day_visits, phone, taxpayer_id
from tests.web.views.dispatch.test_dispatch import _token, console, sign_in  # noqa: F401  (fixture)
from web.db.models import (
    AuditEntry,
    Booking,
    District,
    Notice,
    ServiceRow,
    SlotClaim,
    StopRow,
    VisitRow,
)
from web.extensions import db
from web.operations import booking as svc
from web.operations.disruptions import Scope, disrupt


@pytest.fixture
def day(app, console):  # noqa: F811
    """Monday's visits; the first stop gets a visit 3 days earlier and one 7 days later, the
    second a 30-minute visit a week later (room for two consultations)."""
    with app.app_context():
        visits = day_visits()
        assert len(visits) >= 2, "the demo's Monday has visits"
        extra = []
        while len(visits) < 3:  # a plan searched on a busy machine may put fewer on Monday
            extra.append(_visit_at_an_unvisited_stop(visits[-1]))
            visits = day_visits()
        a, b = visits[0], visits[1]
        early = add_visit(a, -3)
        late = add_visit(a, 7)
        short = add_visit(b, 7, minutes=30)
        db.session.commit()
        d = Day([SimpleNamespace(id=v.id, stop_id=v.stop_id) for v in visits])
        d.added = [early.id, late.id, short.id, *extra]
    yield d
    clean(app, d.added)


def _visit_at_an_unvisited_stop(after: VisitRow) -> int:
    """A visit on `after`'s day, after it, at one of the district's stops with no visit."""
    visited = select(VisitRow.stop_id)
    stop = db.session.scalar(
        select(StopRow.id)
        .where(StopRow.district_id == after.stop.district_id, StopRow.id.not_in(visited))
        .order_by(StopRow.id)
    )
    v = VisitRow(
        published_id=after.published_id,
        date=after.date,
        van_id=after.van_id,
        order=after.order + 1,
        stop_id=stop,
        start=after.end + 30,
        end=after.end + 90,
        counters=after.counters,
    )
    db.session.add(v)
    db.session.flush()
    return v.id


def _consult() -> ServiceRow:
    return service_row("consult")


def _district() -> District:
    return db.session.scalar(select(District).where(District.code == "fangzi"))


def _others_of_stop(v: SimpleNamespace, added: list[int]) -> int:
    return db.session.scalar(
        select(func.count(VisitRow.id)).where(
            VisitRow.stop_id == v.stop_id, VisitRow.id != v.id, VisitRow.id.not_in(added)
        )
    )


def test_a_day_called_off_moves_each_booking_to_the_nearest_visit_with_room(app, day):
    a, b, c = day.visits[0], day.visits[1], day.visits[2]
    early, late, short = day.added[:3]
    with app.app_context():
        assert _others_of_stop(c, day.added) == 0, "the third stop must have no other visit"
        short_room = len(svc.open_slots(db.session.get(VisitRow, short), _consult()))
        assert short_room == 2
        on_a = [book(a.id, n) for n in (1, 2)]
        on_b = [book(b.id, n) for n in (3, 4, 5)]
        on_c = [book(c.id, 6)]
        before = {x.code: x for x in on_a + on_b + on_c}
        result = disrupt(_district(), Scope(date=DAY), "weather", None, actor="test")
        assert result.applied
        notices = {n.code: n for n in result.notices}
        assert set(notices) == set(before), "every booking is accounted for"

        # the first stop: the visit three days earlier is nearer than the one a week later
        for x in on_a:
            n = notices[x.code]
            assert n.moved and n.new_visit.id == early and n.new_start == x.start
        # the second stop: the short visit has room for two; the third booking is cancelled
        moved_b = [notices[x.code] for x in on_b if notices[x.code].moved]
        assert len(moved_b) == 2 and {n.new_visit.id for n in moved_b} == {short}
        assert len([x for x in on_b if not notices[x.code].moved]) == 1
        assert notices[on_c[0].code].new_visit is None

        db.session.expire_all()
        for code, n in notices.items():
            row = db.session.scalar(select(Booking).where(Booking.code == code))
            assert row.cancel_reason == "weather"
            if n.moved:  # the same booking, its code kept: the taxpayer looks it up as before
                assert n.new_code == code
                assert row.status == "active" and row.visit_id == n.new_visit.id
                assert row.start == n.new_start
                assert [c.visit_id for c in row.claims] == [n.new_visit.id]
            else:
                assert row.status == "cancelled" and row.claims == [], "the places are free"
        # nothing lost: active bookings = the moved ones; the short visit is not overfilled
        active = db.session.scalar(select(func.count(Booking.id)).where(Booking.status == "active"))
        assert active == len(result.moved) == 4
        short_visit = db.session.get(VisitRow, short)
        assert svc.open_slots(short_visit, _consult()) == []
        claims = db.session.scalar(
            select(func.count(SlotClaim.id)).where(SlotClaim.visit_id == short)
        )
        assert claims == 2
        for v in day.visits:
            row = db.session.get(VisitRow, v.id)
            assert row.cancelled_at is not None and row.cancel_reason == "weather"
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "disruption"))
        assert entry.details["cancelled"] and len(entry.details["moved"]) == 4
        assert late not in {n.new_visit.id for n in result.moved}


def test_a_preview_changes_nothing_and_shows_what_the_confirmation_does(app, day):
    a = day.visits[0]
    with app.app_context():
        mine = book(a.id, 1)
        preview = disrupt(
            _district(), Scope(visit_id=a.id), "road_closed", None, actor="t", dry_run=True
        )
        assert not preview.applied and preview.moved[0].new_visit.id == day.added[0]
        db.session.expire_all()
        assert db.session.get(VisitRow, a.id).cancelled_at is None
        assert db.session.scalar(select(Booking).where(Booking.code == mine.code)).status == (
            "active"
        )
        assert (
            db.session.scalar(select(AuditEntry).where(AuditEntry.action == "disruption")) is None
        )


def test_a_failure_half_way_leaves_everything_as_it_was(app, day):
    a, b = day.visits[0], day.visits[1]
    with app.app_context():
        codes = [book(a.id, 1).code, book(a.id, 2).code, book(b.id, 3).code]
        claims_before = db.session.scalar(select(func.count(SlotClaim.id)))
        seen: list[str] = []

        def fail_on_second(notice) -> None:
            seen.append(notice.code)
            if len(seen) == 2:
                db.session.execute(text("SELECT * FROM no_such_table"))  # a real DB error

        with pytest.raises(Exception, match="no_such_table"):
            disrupt(
                _district(), Scope(date=DAY), "other", "flood", actor="t", after_each=fail_on_second
            )
        db.session.rollback()
        db.session.expire_all()
        assert len(seen) == 2, "it failed after one booking was moved"
        for code in codes:
            booking = db.session.scalar(select(Booking).where(Booking.code == code))
            assert booking.status == "active" and booking.cancel_reason is None
        assert db.session.scalar(select(func.count(Booking.id))) == 3
        assert db.session.scalar(select(func.count(SlotClaim.id))) == claims_before
        assert all(db.session.get(VisitRow, v.id).cancelled_at is None for v in day.visits)
        assert (
            db.session.scalar(
                select(func.count(AuditEntry.id)).where(AuditEntry.action == "disruption")
            )
            == 0
        )


def test_the_public_site_ics_api_and_open_data_show_the_cancellation(app, day):
    a = day.visits[0]
    with app.app_context():
        disrupt(_district(), Scope(visit_id=a.id), "road_closed", "桥梁维修", actor="t")
    client = app.test_client()
    home = client.get("/d/fangzi/?week=2026-W49").get_data(as_text=True)
    assert "cancelled-label" in home and "桥梁维修" in home
    stop = client.get(f"/d/fangzi/stops/{a.stop_id}").get_data(as_text=True)
    assert "cancelled-label" in stop and "桥梁维修" in stop
    assert f"/d/fangzi/visits/{a.id}/book" not in stop, "no booking link for a cancelled visit"
    cal = icalendar.Calendar.from_ical(client.get(f"/d/fangzi/stops/{a.stop_id}.ics").get_data())
    events = {str(e["uid"]): e for e in cal.walk("VEVENT")}
    ev = events[f"visit-{a.id}@taxvan"]
    assert str(ev["status"]) == "CANCELLED" and "桥梁维修" in str(ev["description"])
    assert "road closed" in str(ev["description"])
    assert all(str(e["status"]) == "CONFIRMED" for k, e in events.items() if k != ev["uid"])

    visits = client.get("/api/v1/visits?week=2026-W49&district=fangzi").get_json()
    mine = next(v for v in visits if v["id"] == a.id)
    assert mine["status"] == "cancelled" and mine["cancellation"]["reason"] == "road_closed"
    assert all(v["status"] == "scheduled" for v in visits if v["id"] != a.id)
    doc = client.get("/d/fangzi/open-data/2026-W49.json").get_json()
    assert [c["stop_id"] for c in doc["cancelled"]] == [a.stop_id]
    assert doc["cancelled"][0]["note"] == "桥梁维修"
    csv_text = client.get("/d/fangzi/open-data/2026-W49/cancelled.csv").get_data(as_text=True)
    assert csv_text.startswith("\ufeffdate,van,order,stop_id") and a.stop_id in csv_text


def test_booking_a_cancelled_visit_is_refused_clearly(app, day):
    a = day.visits[0]
    with app.app_context():
        start = svc.open_slots(db.session.get(VisitRow, a.id), _consult())[0].start
        disrupt(_district(), Scope(visit_id=a.id), "out_of_service", None, actor="t")
        with pytest.raises(VisitCancelled):
            book(a.id, 9, start=start)
    client = app.test_client()
    page = client.get(f"/d/fangzi/visits/{a.id}/book")
    assert page.status_code == 200
    text_ = page.get_data(as_text=True)
    # said calmly (a notice, not a form's error summary), and no form to fill in
    assert 'class="notice" role="status"' in text_ and 'name="taxpayer_id"' not in text_
    api = client.post(
        "/api/v1/bookings",
        json={
            "visit_id": a.id,
            "start": start,
            "service": "consult",
            "taxpayer_id": taxpayer_id(9),
            "name": "某人",
            "phone": phone(9),
        },
    )
    assert api.status_code == 409 and api.get_json()["error"] == "visit_cancelled"
    assert api.get_json()["reason"] == "out_of_service"
    with app.app_context():
        assert db.session.scalar(select(func.count(Booking.id))) == 0


def test_the_console_previews_then_confirms_and_other_districts_are_refused(app, day):
    a = day.visits[0]
    with app.app_context():
        mine = book(a.id, 1)
    client = app.test_client()
    assert sign_in(client, "ann").status_code == 302
    url = "/dispatch/districts/fangzi/disruptions"
    form = client.get(f"{url}?date={DAY.isoformat()}")
    assert form.status_code == 200
    token = _token(client, f"{url}?date={DAY.isoformat()}")
    fields = {"csrf_token": token, "date": DAY.isoformat(), "van": "", "reason": "weather"}
    preview = client.post(url, data=fields)
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200 and mine.code in page and "纳税人1" in page
    with app.app_context():
        assert db.session.get(VisitRow, a.id).cancelled_at is None, "a preview saves nothing"
    missing_note = client.post(url, data={**fields, "reason": "other"})
    assert missing_note.status_code == 422
    expect = re.search(r'name="expect" value="([0-9a-f]+)"', page).group(1)
    unseen = client.post(f"{url}/confirm", data=fields)
    assert unseen.status_code == 409, "a confirmation names the preview it confirms"
    with app.app_context():
        assert db.session.get(VisitRow, a.id).cancelled_at is None
    done = client.post(f"{url}/confirm", data={**fields, "expect": expect})
    assert done.status_code == 200 and mine.code in done.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(VisitRow, a.id).cancel_reason == "weather"

    stranger = app.test_client()
    assert sign_in(stranger, "bo").status_code == 302
    assert stranger.get(url).status_code == 403
    token = _token(stranger)
    refused = stranger.post(f"{url}/confirm", data={**fields, "csrf_token": token})
    assert refused.status_code == 403


def test_each_affected_taxpayer_is_told_in_their_language_with_the_disruption(app, day):
    a, c = day.visits[0], day.visits[2]
    with app.app_context():
        db.session.execute(delete(Notice))
        db.session.commit()
        moving = book(a.id, 1)
        visit = db.session.get(VisitRow, c.id)
        start = svc.open_slots(visit, _consult())[0].start
        english = svc.book(
            svc.BookingRequest(c.id, start, "consult", taxpayer_id(7), "Li", phone(7), lang="en")
        )
        result = disrupt(_district(), Scope(date=DAY), "weather", None, actor="test")
        told = {
            n.kind: n
            for n in db.session.scalars(
                select(Notice).where(Notice.kind.in_(["visit_moved", "visit_cancelled"]))
            )
        }
        moved = next(n for n in result.notices if n.code == moving.code)
        assert told["visit_moved"].lang == "zh" and "天气" in told["visit_moved"].text
        assert moved.new_code in told["visit_moved"].text
        new = db.session.scalar(select(Booking).where(Booking.code == moved.new_code))
        assert new.lang == "zh" and told["visit_moved"].booking_id == new.id
        assert told["visit_cancelled"].booking_id == english.id
        assert told["visit_cancelled"].lang == "en" and "weather" in told["visit_cancelled"].text
        assert english.code in told["visit_cancelled"].text


def test_a_failed_disruption_tells_nobody(app, day):
    a = day.visits[0]
    with app.app_context():
        db.session.execute(delete(Notice))
        db.session.commit()
        book(a.id, 1)

        def fail(notice):
            raise RuntimeError("the database went away")

        with pytest.raises(RuntimeError):
            disrupt(_district(), Scope(date=DAY), "weather", None, actor="t", after_each=fail)
        kinds = set(db.session.scalars(select(Notice.kind)))
        assert kinds == {"booked"}, "only the booking's own notice, none for the disruption"
