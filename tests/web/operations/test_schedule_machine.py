"""Every operation on the schedule, interleaved at random, keeps every rule (I1-I8).

A Hypothesis state machine books, moves and cancels bookings, publishes drafts of the current
version and of a replaced one, calls off a visit or a day, accepts a door-to-door request,
imports a changed stops file, marks a notice sent by hand, creates a second district (a new
county) and records visits as the crew does, in any order, through the same operations the
site and the console call; after every step `web.operations.invariants.check` must find
nothing. It runs on SQLite and on PostgreSQL (the `app` fixture). A new operation joins this
machine the day it is written.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import datetime as dt
import shutil
import uuid
from collections import Counter
from pathlib import Path

import pytest
from flask import Flask
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, select
from stdnum.cn import uscc

from taxvan.booking import BookingError
from taxvan.errors import TaxvanError
from tests.conftest import reset_published
from tests.districts import make_county
from tests.web.operations.test_publishing import _planned
from tests.web.operations.test_records import on_the_day
from web.db.models import Booking, District, DoorRequest, Notice, User, VisitRow
from web.db.outbox import notices_of_district
from web.db.store import current_week
from web.extensions import db
from web.operations import booking as svc
from web.operations import door
from web.operations.disruptions import DisruptionError, Scope, disrupt
from web.operations.districts import create_district, import_district
from web.operations.invariants import check
from web.operations.notices import HAND_SENDABLE, NoticeNotOpen, mark_sent_by_hand
from web.operations.publishing import (
    CANCEL,
    MOVE,
    Decision,
    Decisions,
    DraftBreaksVanDay,
    NoRoomToMove,
    StaleDraft,
    WeekDraft,
    publish_version,
)
from web.operations.records import (
    VisitCalledOff,
    VisitReport,
    WalkInCount,
    record_visit,
)

WEEK = "2026-W49"
PHONE = "13900139000"
RAN: Counter[str] = Counter()
"""How often each operation ran (done or refused as the rules say) over all examples."""


def _taxpayer(n: int) -> str:
    head = f"92370704MC{n:07d}"
    return head + uscc.calc_check_digit(head)


def _district() -> District:
    return db.session.scalar(select(District).order_by(District.id))


def _changed_stops(source: Path, target: Path, n: int) -> Path:
    """A copy of the data folder whose `n`-th stop has a new name."""
    shutil.copytree(source, target)
    stops = target / "stops.csv"
    with stops.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    row = rows[n % len(rows)]
    row["name"] = f"{row['name']}（新址）"
    with stops.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return target


class Schedule(RuleBasedStateMachine):
    """The schedule's operations as rules; `_machine` gives it the app and a folder."""

    app: Flask
    tmp_path: Path

    def __init__(self) -> None:
        super().__init__()
        with self.app.app_context():
            reset_published()
            d = _district()
            self.code = d.code
            self.folder = Path(d.data_dir)
        self.imports = 0
        self.taxpayers = 0
        self.created: int | None = None
        self.county = self.tmp_path / "county"
        if not self.county.is_dir():
            make_county(self.county)

    def teardown(self) -> None:
        with self.app.app_context():
            if self.imports:
                import_district(self.folder, code=self.code, actor="test")
            if self.created is not None:
                _remove_district(self.created)
            reset_published()

    # --- what the rules pick from ---------------------------------------------------

    def _visits(self) -> list[VisitRow]:
        week = current_week(WEEK, _district())
        return sorted(week.visits, key=lambda v: v.id) if week else []

    def _active(self) -> list[Booking]:
        return list(
            db.session.scalars(
                select(Booking).where(Booking.status == "active").order_by(Booking.id)
            )
        )

    def _booked(self, pick: int) -> list[Booking]:
        """Book first (a move or cancel needs a booking), then the active bookings."""
        for i in range(5):
            self._book_one(pick + i, 0)
            if active := self._active():
                return active
        return []

    def _book_one(self, pick: int, slot: int) -> None:
        visits = self._visits()
        v = visits[pick % len(visits)]
        service = db.session.get(svc.ServiceRow, (v.stop.district_id, "consult"))
        open_ = svc.open_slots(v, service)
        start = open_[slot % len(open_)].start if open_ else svc.hhmm(v.start)
        self.taxpayers += 1
        who = _taxpayer(self.taxpayers % 7)
        with contextlib.suppress(BookingError):
            svc.book(svc.BookingRequest(v.id, start, "consult", who, "机测", PHONE))

    # --- the operations ---------------------------------------------------------------

    @rule(pick=st.integers(0, 10_000), slot=st.integers(0, 40))
    def book(self, pick: int, slot: int) -> None:
        with self.app.app_context():
            self._book_one(pick, slot)
        RAN["book"] += 1

    @rule(pick=st.integers(0, 10_000), to=st.integers(0, 10_000))
    def move(self, pick: int, to: int) -> None:
        with self.app.app_context():
            active = self._active() or self._booked(pick)
            if not active:
                return
            b = active[pick % len(active)]
            visits = self._visits()
            v = visits[to % len(visits)]
            service = db.session.get(svc.ServiceRow, (v.stop.district_id, b.service_code))
            open_ = svc.open_slots(v, service)
            start = open_[0].start if open_ else svc.hhmm(v.start)
            with contextlib.suppress(BookingError):
                svc.reschedule(b.code, b.phone, v.id, start)
        RAN["move"] += 1

    @rule(pick=st.integers(0, 10_000))
    def cancel(self, pick: int) -> None:
        with self.app.app_context():
            active = self._active() or self._booked(pick)
            if not active:
                return
            b = active[pick % len(active)]
            with contextlib.suppress(BookingError):
                svc.cancel(b.code, b.phone)
        RAN["cancel"] += 1

    @rule(pick=st.integers(0, 10_000), whole_day=st.booleans())
    def call_off(self, pick: int, whole_day: bool) -> None:
        with self.app.app_context():
            visits = self._visits()
            v = visits[pick % len(visits)]
            scope = Scope(date=v.date) if whole_day else Scope(visit_id=v.id)
            with contextlib.suppress(DisruptionError):
                disrupt(_district(), scope, "weather", None, actor="machine")
        RAN["call_off"] += 1

    @rule(
        stale=st.booleans(),
        shift=st.sampled_from([0, 30, 60]),
        drop=st.booleans(),
        pick=st.integers(0, 10_000),
        cancel_all=st.booleans(),
    )
    def publish(self, stale: bool, shift: int, drop: bool, pick: int, cancel_all: bool):
        with self.app.app_context():
            week = current_week(WEEK, _district())
            visits = [_planned(v) for v in sorted(week.visits, key=lambda v: v.id)]
            i = pick % len(visits)
            if shift:
                v = visits[i]
                visits[i] = dataclasses.replace(v, start=v.start + shift, end=v.end + shift)
            if drop and len(visits) > 1:
                visits.pop((i + 1) % len(visits))
            base = week.version - 1 if stale else week.version
            draft = WeekDraft(WEEK, tuple(visits), dict(week.report), week.map_html, base)
            choice = Decision(CANCEL, "机测调整") if cancel_all else Decision(MOVE)
            try:
                publish_version(_district(), draft, Decisions(others=choice), "machine")
                assert not stale, "a draft of a replaced version was published"
            except StaleDraft:
                assert stale
            except DraftBreaksVanDay:
                assert shift, "only a shifted visit can run into the next one"
            except NoRoomToMove:
                publish_version(
                    _district(),
                    draft,
                    Decisions(others=Decision(CANCEL, "机测调整")),
                    "machine",
                )
        RAN["publish"] += 1

    @rule(pick=st.integers(0, 10_000), minutes=st.sampled_from([45, 60]))
    def door_to_door(self, pick: int, minutes: int) -> None:
        with self.app.app_context():
            d = _district()
            visits = self._visits()
            near = visits[pick % len(visits)].stop
            req = door.submit(
                d,
                door.NewRequest(
                    firm_name="机测建材有限公司",
                    credit_code=_taxpayer(99),
                    contact_name="王经理",
                    mobile=PHONE,
                    address="工业园 1 号",
                    point=(near.lat + 0.002, near.lon + 0.002),
                    weekdays=[],
                    dates=[],
                    services=["consult"],
                    people=2,
                    lang="zh",
                ),
            )
            week = current_week(WEEK, d)
            ask = door.PlanAsk(week, minutes, None, (near.lat + 0.002, near.lon + 0.002))
            fits = door.options(d, req, ask).fits
            user = db.session.scalar(select(User).order_by(User.id))
            if fits and user is not None:
                with contextlib.suppress(TaxvanError):
                    door.accept(d, req, ask, door.option_key(fits[0]), user)
            db.session.get(DoorRequest, req.id)
        RAN["door"] += 1

    @rule(pick=st.integers(0, 10_000))
    def send_by_hand(self, pick: int) -> None:
        with self.app.app_context():
            d = _district()
            notices = db.session.scalars(
                select(Notice).where(notices_of_district(d)).order_by(Notice.id)
            ).all()
            user = db.session.scalar(select(User).order_by(User.id))
            if not notices or user is None:
                return
            n = notices[pick % len(notices)]
            was, before = n.status, len(notices)
            try:
                done = mark_sent_by_hand(d, n.id, user)
                assert was in HAND_SENDABLE and done.status == "sent" and done.sent_by
            except NoticeNotOpen:
                assert was not in HAND_SENDABLE
            after = db.session.scalar(
                select(func.count()).select_from(Notice).where(notices_of_district(d))
            )
            assert after == before, "marking a notice sent writes no notice"
        RAN["send_by_hand"] += 1

    @rule(pick=st.integers(0, 10_000), served=st.booleans(), replay=st.booleans())
    def record(self, pick: int, served: bool, replay: bool) -> None:
        """The crew records a visit on its day (its bookings served or not, walk-ins); a
        called-off visit refuses, and a record sent twice is applied once."""
        with self.app.app_context():
            v = self._visits()[pick % len(self._visits())]
            codes = [b.code for b in self._active() if b.visit_id == v.id]
            report = VisitReport(
                client_id=str(uuid.uuid4()),
                visit_id=v.id,
                arrival=v.start,
                outcomes={c: "served" if served else "no_show" for c in codes},
                walk_ins=(WalkInCount("consult", 1 + pick % 3),),
                turned_away=pick % 2,
            )
            called_off = v.cancelled_at is not None
            try:
                for _ in range(2 if replay else 1):
                    record_visit(_district(), report, None, actor="machine", now=on_the_day(v))
                assert not called_off, "a called-off visit took a record"
            except VisitCalledOff:
                assert called_off
        RAN["record"] += 1

    @rule(n=st.integers(0, 10_000))
    def import_stops(self, n: int) -> None:
        with self.app.app_context():
            self.imports += 1
            folder = _changed_stops(self.folder, self.tmp_path / f"import-{len(RAN)}-{n}", n)
            import_district(folder, code=self.code, actor="machine")
        RAN["import"] += 1

    @rule()
    def create_district(self) -> None:
        """A new county created from the console while the schedule is in use: its rows
        join the installation's, the first district's schedule keeps every rule."""
        if self.created is not None:
            return
        with self.app.app_context():
            result = create_district(self.county, "machine-county", "机测县", "", actor="machine")
            self.created = result.district.id
        RAN["create_district"] += 1

    @invariant()
    def rules_hold(self) -> None:
        with self.app.app_context():
            assert [str(v) for v in check()] == []


def _remove_district(district_id: int) -> None:
    """Remove a district the machine created, with its rows and folder (the PostgreSQL
    database outlives the test)."""
    from sqlalchemy import delete

    from web.db.models import AuditEntry, ServiceRow, StopRow, StreetRow

    district = db.session.get(District, district_id)
    folder = Path(district.data_dir)
    for model in (StopRow, StreetRow, ServiceRow, AuditEntry):
        db.session.execute(delete(model).where(model.district_id == district_id))
    db.session.delete(district)
    db.session.commit()
    shutil.rmtree(folder, ignore_errors=True)


def _machine(app: Flask, tmp_path: Path) -> type[RuleBasedStateMachine]:
    """The machine working in `app`, writing changed data folders under `tmp_path`."""
    return type("AppSchedule", (Schedule,), {"app": app, "tmp_path": tmp_path})


def _user(app) -> None:
    """A console user to accept door-to-door requests in the machine's name."""
    from web.clock import wall_now

    with app.app_context():
        if db.session.scalar(select(User).limit(1)) is None:
            db.session.add(
                User(
                    name="machine",
                    password_hash="-",
                    role="admin",
                    session_token="machine",
                    created_at=wall_now(),
                )
            )
            db.session.commit()


@pytest.mark.slow
def test_every_interleaving_of_the_operations_keeps_the_schedule_rules(app, tmp_path):
    _user(app)
    RAN.clear()
    run_state_machine_as_test(
        _machine(app, tmp_path),
        settings=settings(
            max_examples=10,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            phases=[Phase.generate],
        ),
    )
    assert set(RAN) == {
        "book",
        "move",
        "cancel",
        "call_off",
        "publish",
        "door",
        "import",
        "send_by_hand",
        "create_district",
        "record",
    }, f"every operation ran: {dict(RAN)}"
    assert dt.date.fromisocalendar(2026, 49, 1)  # the week the machine works in
