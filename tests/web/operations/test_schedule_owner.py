"""Where publishing, call-offs, door-to-door visits and bookings meet, the schedule holds.

Each test is one defect a dispatcher or taxpayer met when the operations each picked their own
rules: a stale draft published over a newer version, a draft published twice, a re-publish that
re-opened a called-off day, a publish over a door-to-door visit, a disruption preview whose
codes were not the confirmation's. Every test runs on SQLite and PostgreSQL and ends with the
schedule's rules (`web.operations.invariants.check`) kept.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import select, update

from tests.web.operations.test_publishing import (
    PHONE,
    WEEK,
    _book,
    _booking,
    _draft,
    _home,
    _three_visits,
    _versions,
)
from web.db.models import (
    Booking,
    DoorRequest,
    DoorVisit,
    Notice,
    PublishedWeek,
    VisitRow,
)
from web.db.store import current_week
from web.extensions import db
from web.operations import booking as svc
from web.operations.disruptions import DisruptionChanged, Scope, disrupt
from web.operations.invariants import check
from web.operations.publishing import (
    NONE,
    Decisions,
    DoorClashes,
    DraftPublished,
    StaleDraft,
    preview_version,
    publish_version,
)


def _rules_kept(app) -> None:
    with app.app_context():
        assert [str(v) for v in check()] == []


def _call_off(app, visit_id: int) -> None:
    with app.app_context():
        disrupt(_home(), Scope(visit_id=visit_id), "weather", None, actor="test")


def test_a_draft_of_a_replaced_version_is_refused_and_saves_nothing(app):
    a, _b, _c = _three_visits(app)
    code = _book(app, a[0], 1)
    first, second = _draft(app), _draft(app)  # both planned from version 1
    with app.app_context():
        publish_version(_home(), first, NONE, "ann")
    before = _booking(app, code)
    with app.app_context(), pytest.raises(StaleDraft) as refused:
        publish_version(_home(), second, NONE, "bo")
    assert (refused.value.base, refused.value.current) == (1, 2)
    assert "plan again from the current version" in str(refused.value)
    assert _versions(app) == [1, 2], "no third version"
    assert _booking(app, code) == before, "the booking was not handled twice"
    with app.app_context():
        told = db.session.scalars(select(Notice).where(Notice.booking_id == before["id"])).all()
        assert [n.kind for n in told] == ["booked"], "one notice for one change"
    _rules_kept(app)


def test_a_saved_draft_publishes_once(app):
    from tests.web.views.dispatch.test_dispatch_publish import save_draft

    draft_id = save_draft(app, _draft(app))
    with app.app_context():
        from web.db.models import Draft
        from web.operations.publishing import week_draft_of

        row = db.session.get(Draft, draft_id)
        draft = week_draft_of(row)
        publish_version(_home(), draft, NONE, "ann")
        with pytest.raises(DraftPublished):
            publish_version(_home(), dataclasses.replace(draft, base_version=2), NONE, "ann")
        assert db.session.get(Draft, draft_id).status == "published"
    assert _versions(app) == [1, 2]
    _rules_kept(app)


def test_a_called_off_visit_stays_called_off_after_a_re_publish_unless_lifted(app):
    a, b, _c = _three_visits(app)
    _call_off(app, a[0])
    _call_off(app, b[0])
    with app.app_context():
        preview = preview_version(_home(), _draft(app))
        listed = {c.stop_id: c for c in preview.called_off}
        assert set(listed) == {a[1], b[1]} and not any(c.lifted for c in listed.values())
        lift = frozenset({(b[1], listed[b[1]].date)})
        outcome = publish_version(_home(), _draft(app), Decisions(lift=lift), "ann")
        assert {c.stop_id for c in outcome.called_off if c.lifted} == {b[1]}
        week = current_week(WEEK, _home())
        by_stop = {v.stop_id: v for v in week.visits}
        assert by_stop[a[1]].cancelled_at is not None, "carried over"
        assert by_stop[a[1]].cancel_reason == "weather"
        assert by_stop[b[1]].cancelled_at is None, "lifted: open for bookings again"
        assert week.lifted == [{"stop_id": b[1], "date": listed[b[1]].date.isoformat()}]
        still_off = by_stop[a[1]].id
    with app.app_context(), pytest.raises(svc.VisitCancelled):
        visit = db.session.get(VisitRow, still_off)
        svc.book(
            svc.BookingRequest(
                still_off, svc.hhmm(visit.start), "consult", _taxpayer(5), "甲", PHONE
            )
        )
    _rules_kept(app)


def _taxpayer(n: int) -> str:
    from tests.web.operations.test_publishing import _taxpayer as taxpayer

    return taxpayer(n)


def _accept_door_visit(app, date: dt.date, van: str, start: int, end: int) -> str:
    """An accepted door-to-door request with its visit on `van` at `date` `start`-`end`;
    its reference."""
    with app.app_context():
        now = dt.datetime(2026, 11, 25, 9, 0)
        req = DoorRequest(
            reference="SDOORTST",
            district_id=_home().id,
            firm_name="某建材有限公司",
            credit_code=_taxpayer(9),
            contact_name="王经理",
            mobile=PHONE,
            address="某工业园 1 号",
            weekdays=[],
            dates=[],
            services=["consult"],
            people=2,
            lang="zh",
            status="accepted",
            created_at=now,
            decided_at=now,
        )
        db.session.add(req)
        db.session.flush()
        db.session.add(
            DoorVisit(
                request_id=req.id,
                district_id=_home().id,
                week=WEEK,
                date=date,
                van_id=van,
                start=start,
                end=end,
                lat=36.7,
                lon=119.2,
                extra_metres=0,
                extra_minutes=0,
                created_at=now,
            )
        )
        db.session.commit()
        return req.reference


def test_a_publish_over_a_door_to_door_visit_is_refused_until_it_is_called_off(app):
    a, _b, _c = _three_visits(app)
    gone = next(v for v in _draft(app).visits if v.stop_id == a[1])
    without = _draft(app, lambda vs: vs.remove(gone))
    with app.app_context():
        publish_version(_home(), without, NONE, "ann")  # version 2 leaves a gap ...
    # ... a door-to-door visit is accepted into it ...
    reference = _accept_door_visit(app, gone.date, gone.van_id, gone.start, gone.end)
    _rules_kept(app)
    draft = _draft(app, lambda vs: vs.append(gone))  # ... and a new draft fills it again
    with app.app_context():
        preview = preview_version(_home(), draft)
        assert [c.reference for c in preview.door_clashes] == [reference]
        with pytest.raises(DoorClashes) as refused:
            publish_version(_home(), draft, NONE, "ann")
        assert refused.value.clashes[0].reference == reference
    assert _versions(app) == [1, 2], "refused: nothing saved"
    with app.app_context():
        publish_version(_home(), draft, Decisions(call_off_door="车辆当天另有安排"), "ann")
        req = db.session.scalar(select(DoorRequest).where(DoorRequest.reference == reference))
        assert req.status == "called_off" and req.reason == "车辆当天另有安排"
        assert req.visit is None
        told = db.session.scalar(select(Notice).where(Notice.kind == "door_cancelled"))
        assert told is not None and "车辆当天另有安排" in told.text and told.phone == PHONE
    assert _versions(app) == [1, 2, 3]
    _rules_kept(app)


def test_the_disruption_preview_shows_the_codes_the_confirmation_keeps(app):
    a, _b, _c = _three_visits(app)
    codes = [_book(app, a[0], n) for n in (1, 2)]
    with app.app_context():
        preview = disrupt(
            _home(), Scope(visit_id=a[0]), "road_closed", None, actor="t", dry_run=True
        )
        assert sorted(n.code for n in preview.notices) == sorted(codes)
        done = disrupt(
            _home(),
            Scope(visit_id=a[0]),
            "road_closed",
            None,
            actor="t",
            expect=preview.fingerprint,
        )
        assert [(n.code, n.new_code) for n in done.notices] == [
            (n.code, n.new_code) for n in preview.notices
        ]
        for n in done.notices:
            if n.moved:
                assert n.new_code == n.code, "a moved booking keeps its code"
                row = db.session.scalar(select(Booking).where(Booking.code == n.code))
                assert row.status == "active" and row.visit_id == n.new_visit.id
    _rules_kept(app)


def test_a_disruption_confirmed_after_bookings_changed_is_refused_and_saves_nothing(app):
    a, _b, _c = _three_visits(app)
    _book(app, a[0], 1)
    with app.app_context():
        preview = disrupt(_home(), Scope(visit_id=a[0]), "weather", None, actor="t", dry_run=True)
    _book(app, a[0], 2)  # booked between the preview and the confirmation
    with app.app_context():
        with pytest.raises(DisruptionChanged):
            disrupt(
                _home(),
                Scope(visit_id=a[0]),
                "weather",
                None,
                actor="t",
                expect=preview.fingerprint,
            )
        assert db.session.get(VisitRow, a[0]).cancelled_at is None, "nothing saved"
    _rules_kept(app)


def test_check_schedule_finds_a_broken_rule_and_the_command_exits_1(app):
    a, _b, _c = _three_visits(app)
    code = _book(app, a[0], 1)
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["check-schedule"])
    assert ok.exit_code == 0, ok.output
    with app.app_context():  # what a stray writer outside the operations could leave
        db.session.execute(
            update(VisitRow)
            .where(VisitRow.id == a[0])
            .values(cancelled_at=dt.datetime(2026, 11, 25), cancel_reason="weather")
        )
        db.session.commit()
        found = check()
        assert [v.rule for v in found] == ["I1"] and code in str(found[0])
    bad = runner.invoke(args=["check-schedule", "--district", "fangzi"])
    assert bad.exit_code == 1 and "I1" in bad.output and code in bad.output
    missing = runner.invoke(args=["check-schedule", "--district", "nowhere"])
    assert missing.exit_code != 0 and "Traceback" not in missing.output
    with app.app_context():
        versions = db.session.scalars(select(PublishedWeek.version)).all()
        assert versions
