"""The crew's records of its visits: applied once per record id, only on its district's
current visits from their day on, never on a called-off visit, carried over a re-publish, and
audited. On SQLite and PostgreSQL (the `app` fixture)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import func, select

from taxvan.clock import CHINA
from tests.conftest import OTHER_USCC, VALID_USCC, open_visit
from tests.web.operations.test_publishing import _planned
from web.db.models import (
    AppliedRecord,
    AuditEntry,
    BookingOutcome,
    District,
    VisitRecord,
    VisitRow,
    WalkIn,
)
from web.db.store import current_week
from web.extensions import db
from web.operations import booking as svc
from web.operations.disruptions import NothingToCancel, Scope, disrupt
from web.operations.invariants import check
from web.operations.publishing import Decision, Decisions, WeekDraft, publish_version
from web.operations.records import (
    IdReused,
    RecordInvalid,
    VisitCalledOff,
    VisitNotFound,
    VisitNotYet,
    VisitReport,
    WalkInCount,
    record_visit,
)


def _district() -> District:
    return db.session.scalar(select(District).order_by(District.id))


def on_the_day(visit: VisitRow, minutes: int = 17 * 60) -> dt.datetime:
    """The visit's own day, late afternoon (China time): the crew records then."""
    return dt.datetime.combine(visit.date, dt.time(minutes // 60, minutes % 60), tzinfo=CHINA)


def report(visit_id: int, **kw) -> VisitReport:
    return VisitReport(client_id=str(uuid.uuid4()), visit_id=visit_id, **kw)


def _booked_visit(app) -> tuple[int, str]:
    visit_id, start = open_visit(app)
    with app.app_context():
        b = svc.book(
            svc.BookingRequest(visit_id, start, "consult", VALID_USCC, "纳税人", "13800138000")
        )
        return visit_id, b.code


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_record_sent_twice_is_recorded_once_and_answers_the_same(app):
    visit_id, code = _booked_visit(app)
    with app.app_context():
        visit = db.session.get(VisitRow, visit_id)
        sent = report(
            visit_id,
            arrival=9 * 60 + 5,
            departure=11 * 60 + 40,
            outcomes={code: "served"},
            walk_ins=(WalkInCount("consult", 3), WalkInCount("consult", 1, OTHER_USCC)),
            turned_away=2,
            note="村委会门口停车",
        )
        first = record_visit(_district(), sent, None, actor="crew", now=on_the_day(visit))
        again = record_visit(_district(), sent, None, actor="crew", now=on_the_day(visit))
        assert not first.replayed and again.replayed
        assert again.answer == first.answer
        assert _count(VisitRecord) == 1 and _count(AppliedRecord) == 1
        assert _count(WalkIn) == 2 and _count(BookingOutcome) == 1
        (entry,) = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "visit_record")
        ).all()
        assert entry.details["after"]["turned_away"] == 2
        assert entry.details["after"]["outcomes"] == {code: "served"}
        assert entry.details["before"] is None
        # a newer record of the visit replaces the whole record, and the audit shows both
        newer = report(visit_id, outcomes={code: "no_show"}, turned_away=0)
        record_visit(_district(), newer, None, actor="crew", now=on_the_day(visit))
        rec = db.session.scalar(select(VisitRecord))
        assert [o.outcome for o in rec.outcomes] == ["no_show"] and rec.walk_ins == []
        assert rec.arrival is None and _count(VisitRecord) == 1
        last = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "visit_record").order_by(AuditEntry.id)
        ).all()[-1]
        assert last.details["before"]["turned_away"] == 2
        assert check() == []


def test_a_called_off_visit_takes_no_record_and_a_recorded_visit_is_not_called_off(app):
    with app.app_context():
        week = current_week("2026-W49", _district())
        visits = sorted(week.visits, key=lambda v: v.id)
        first = visits[0]
        second = next(v for v in visits if v.date != first.date)
        disrupt(_district(), Scope(visit_id=first.id), "weather", actor="test")
        with pytest.raises(VisitCalledOff):
            record_visit(_district(), report(first.id), None, actor="crew", now=on_the_day(first))
        assert _count(VisitRecord) == 0
        record_visit(
            _district(),
            report(second.id, turned_away=1),
            None,
            actor="crew",
            now=on_the_day(second),
        )
        with pytest.raises(NothingToCancel):
            disrupt(_district(), Scope(visit_id=second.id), "weather", actor="test")
        # calling off the whole day leaves the recorded visit held
        day = disrupt(_district(), Scope(date=second.date), "out_of_service", actor="test")
        assert day.visits and second.id not in {v.id for v in day.visits}
        assert db.session.get(VisitRow, second.id).cancelled_at is None
        assert check() == []


def test_records_are_refused_before_the_day_outside_the_district_and_when_invalid(app):
    with app.app_context():
        week = current_week("2026-W49", _district())
        visit = sorted(week.visits, key=lambda v: v.id)[0]
        with pytest.raises(VisitNotYet):
            record_visit(
                _district(),
                report(visit.id),
                None,
                actor="crew",
                now=on_the_day(visit) - dt.timedelta(days=1),
            )
        with pytest.raises(VisitNotFound):
            record_visit(_district(), report(10**6), None, actor="crew", now=on_the_day(visit))
        bad = report(
            visit.id,
            arrival=12 * 60,
            departure=11 * 60,
            outcomes={"NOPE": "served"},
            walk_ins=(
                WalkInCount("no-such-service", 1),
                WalkInCount("consult", 2, "91370704MA3C000008"),
            ),
            turned_away=-1,
        )
        with pytest.raises(RecordInvalid) as refused:
            record_visit(_district(), bad, None, actor="crew", now=on_the_day(visit))
        assert set(refused.value.problems) == {
            "departure",
            "outcomes.NOPE",
            "walk_ins.0.service",
            "walk_ins.1.credit_code",
            "turned_away",
        }
        same_id = report(visit.id)
        record_visit(_district(), same_id, None, actor="crew", now=on_the_day(visit))
        other = sorted(week.visits, key=lambda v: v.id)[1]
        with pytest.raises(IdReused):
            record_visit(
                _district(),
                VisitReport(client_id=same_id.client_id, visit_id=other.id),
                None,
                actor="crew",
                now=on_the_day(other),
            )
        assert _count(VisitRecord) == 1


def test_a_record_moves_with_its_stop_and_day_when_the_week_is_republished(app):
    with app.app_context():
        week = current_week("2026-W49", _district())
        visit = sorted(week.visits, key=lambda v: v.id)[0]
        stop, date = visit.stop_id, visit.date
        record_visit(
            _district(), report(visit.id, turned_away=4), None, actor="crew", now=on_the_day(visit)
        )
        visits = [_planned(v) for v in sorted(week.visits, key=lambda v: v.id)]
        draft = WeekDraft("2026-W49", tuple(visits), dict(week.report), week.map_html, week.version)
        publish_version(_district(), draft, Decisions(others=Decision("move")), "test")
        rec = db.session.scalar(select(VisitRecord))
        assert rec.visit.published_id != visit.published_id, "on the new version's visit"
        assert (rec.visit.stop_id, rec.visit.date, rec.turned_away) == (stop, date, 4)
        assert _count(VisitRecord) == 1
        assert check() == []


def test_one_record_sent_from_several_connections_at_once_is_applied_once(app):
    import threading

    with app.app_context():
        visit = sorted(current_week("2026-W49", _district()).visits, key=lambda v: v.id)[0]
        sent = report(visit.id, turned_away=3, walk_ins=(WalkInCount("consult", 2),))
        now = on_the_day(visit)
    barrier = threading.Barrier(4)
    answers: list[dict] = []
    errors: list[BaseException] = []

    def send() -> None:
        with app.app_context():
            try:
                barrier.wait()
                answers.append(record_visit(_district(), sent, None, actor="crew", now=now).answer)
            except BaseException as exc:  # reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == [] and len(answers) == 4
    assert all(a == answers[0] for a in answers), "every send gets the same answer"
    with app.app_context():
        assert _count(VisitRecord) == 1 and _count(WalkIn) == 1 and _count(AppliedRecord) == 1
        assert check() == []
