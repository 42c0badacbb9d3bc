"""Publishing a week's timetable as a new version, without ever silently losing a booking.

`publish_version` is the one way a timetable becomes public (the `flask publish` command and
the console's publish page both call it). In one transaction it

1. takes the publishing lock (`lock_against_publishing`): bookings under way finish first,
   later ones wait and then find their visit replaced;
2. writes the new version's visits;
3. carries every active booking whose visit is unchanged in the new version (same stop, date,
   start and end, and the booking's counter still there) to the new visit, claims and all:
   same row, same code, the taxpayer notices nothing;
4. moves or cancels, as the dispatcher decided, each *affected* booking (its visit moves or
   goes): moved to the nearest visit of the same stop with room (`booking.moves`), or
   cancelled with a reason; it refuses while any affected booking has no decision;
5. records what it did to each booking (`BookingChange`) and an audit entry with the counts;
   the crew's records of the current version's visits move to the new version's visit of the
   same stop on the same day (`records.carry_records`);
6. makes the new version current with one UPDATE of the week's `CurrentWeek` row.

Any error rolls all of it back: the old version stays current and every booking as it was.
`preview_version` runs the same steps with "move" for every affected booking and rolls back,
so the console and the command line show exactly the new place each move would get.

The input is a `WeekDraft`: a plain list of visit rows with the report and the map, made from
a draft the background planner saved (`week_draft_of`, a `web.db.models.Draft` row: the console's
draft page) or from a `PlanRun` (`draft_from_run`: the `flask publish` command and the week
page's in-request planning).

Each moved or cancelled booking's taxpayer gets a notice (`VISIT_MOVED` with the new time,
`VISIT_CANCELLED` with the reason) written to the outbox in the publish transaction, in the
language they booked in; carried bookings get nothing (nothing changed for them).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import Connection, func, insert, select, update

from taxvan.clock import hhmm
from taxvan.errors import TaxvanError
from taxvan.notices import NoticeKind
from taxvan.van_day import DayProblem, day_problems
from taxvan.workdays import parse_iso_week
from web.adapters.planner import PlanRun, Say, run_plan
from web.clock import china_now
from web.db import audit
from web.db.models import (
    Booking,
    BookingChange,
    CurrentWeek,
    District,
    DoorVisit,
    Draft,
    PublishedWeek,
    ServiceRow,
    SlotClaim,
    StopRow,
    User,
    VisitRow,
)
from web.db.outbox import notify_booking
from web.db.store import current_version, current_week, load_dataset_rows
from web.extensions import db
from web.operations.booking import at, detached
from web.operations.door import call_off_door_visit
from web.operations.invariants import van_settings
from web.operations.moves import Placement, cancel_with_reason, move_to_nearest
from web.operations.records import carry_records
from web.operations.unit import Unit, transaction

MOVE = "move"
CANCEL = "cancel"


# --- the input: a draft of the week -----------------------------------------------------------


@dataclass(frozen=True)
class PlannedVisit:
    """One visit of a draft timetable, as plain values (no database row yet)."""

    date: dt.date
    van_id: str
    order: int
    stop_id: str
    start: int
    end: int
    counters: int
    every_other_week: bool = False
    usual_date: dt.date | None = None
    usual_start: int | None = None
    usual_end: int | None = None

    @property
    def key(self) -> tuple[str, dt.date, int, int]:
        """What must stay the same for a booking to be carried: stop, date, start, end."""
        return (self.stop_id, self.date, self.start, self.end)


@dataclass(frozen=True)
class WeekDraft:
    """A week's timetable ready to publish: its visits, the plan report and the map page.

    Not the jobs' `web.db.models.Draft` row (what background planning saved): `week_draft_of`
    turns one of those into this."""

    week: str
    visits: tuple[PlannedVisit, ...]
    report: dict[str, Any]
    map_html: str
    base_version: int | None = None
    """The version of the week that was current when it was planned (0: none); publishing
    refuses it once another version is current. None: not known, refused."""
    draft_id: int | None = None
    """The saved draft it came from: a draft publishes at most once."""

    def to_json(self) -> str:
        """For keeping a draft between the console's preview and its confirm."""
        return json.dumps(
            {
                "week": self.week,
                "visits": [asdict(v) for v in self.visits],
                "report": self.report,
                "map_html": self.map_html,
                "base_version": self.base_version,
                "draft_id": self.draft_id,
            },
            default=str,
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> WeekDraft:
        data = json.loads(text)

        def day(value: str | None) -> dt.date | None:
            return dt.date.fromisoformat(value) if value else None

        visits = tuple(
            PlannedVisit(**{**v, "date": day(v["date"]), "usual_date": day(v["usual_date"])})
            for v in data["visits"]
        )
        return cls(
            data["week"],
            visits,
            data["report"],
            data["map_html"],
            data.get("base_version"),
            data.get("draft_id"),
        )


def draft_from_run(run: PlanRun, map_html: str, base_version: int | None = None) -> WeekDraft:
    """The draft of a planned week (`web.adapters.planner.run_plan`), planned while version
    `base_version` of the week was current."""
    counters = {v.id: v.counters for v in run.dataset.vans}
    alternate = {d.key for d in run.problem.demand.visits if d.biweekly}
    visits = []
    for v in run.plan.visits:
        usual = v.moved_from
        visits.append(
            PlannedVisit(
                date=v.date,
                van_id=v.van_id,
                order=v.order,
                stop_id=v.stop_id,
                start=v.start,
                end=v.end,
                counters=counters[v.van_id],
                every_other_week=v.key in alternate,
                usual_date=usual.date if usual else None,
                usual_start=usual.start if usual else None,
                usual_end=usual.end if usual else None,
            )
        )
    return WeekDraft(run.plan.week, tuple(visits), run.report, map_html, base_version)


def week_draft_of(row: Draft) -> WeekDraft:
    """The timetable of a draft background planning saved (`web.jobs`), ready to publish:
    its visits are already in `VisitRow`'s shape (`web.operations.drafts.visit_dicts`)."""

    def day(value: str | None) -> dt.date | None:
        return dt.date.fromisoformat(value) if value else None

    visits = tuple(
        PlannedVisit(
            date=dt.date.fromisoformat(v["date"]),
            van_id=v["van_id"],
            order=int(v["order"]),
            stop_id=v["stop_id"],
            start=int(v["start"]),
            end=int(v["end"]),
            counters=int(v["counters"]),
            every_other_week=bool(v.get("every_other_week", False)),
            usual_date=day(v.get("usual_date")),
            usual_start=v.get("usual_start"),
            usual_end=v.get("usual_end"),
        )
        for v in row.visits
    )
    return WeekDraft(row.week, visits, row.report, row.map_html, row.base_version, row.id)


def plan_draft(
    week: str,
    district: District,
    data_dir: str | None = None,
    time_limit: float | None = None,
    say: Say = print,
    new_template: bool = False,
) -> WeekDraft:
    """Plan the district's `week` from its data folder (`run_plan`) and load its streets,
    stops and services into the database; the draft that `publish_version` publishes."""
    cfg = current_app.config["TAXVAN"]
    overrides = {
        k: v for k, v in {"data_dir": data_dir, "time_limit_s": time_limit}.items() if v is not None
    }
    cfg = dataclasses.replace(cfg, **overrides)
    label = parse_iso_week(week).label
    base = current_version(district.id, label)
    out = Path(current_app.instance_path) / "plans" / district.code / label
    run = run_plan(cfg, label, out, say=say, new_template=new_template)
    transaction(lambda _u: load_dataset_rows(run.dataset, district))
    return draft_from_run(run, run.map_html, base)


# --- decisions, results, errors ----------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """What to do with one affected booking: move it (to the nearest visit of its stop with
    room) or cancel it, with the reason the taxpayer is told."""

    action: str
    reason: str = ""

    def __post_init__(self) -> None:
        if self.action not in (MOVE, CANCEL):
            raise ValueError(f"unknown decision {self.action!r}")


@dataclass(frozen=True)
class Decisions:
    """The dispatcher's decisions: per booking id, and one for all the others."""

    each: dict[int, Decision] = field(default_factory=dict)
    others: Decision | None = None
    lift: frozenset[tuple[str, dt.date]] = frozenset()
    """Call-offs of the current version to lift: (stop id, date). Every other one carries
    over to the new version's visit of that stop on that day."""
    call_off_door: str = ""
    """The reason for calling off the door-to-door visits the new version clashes with (the
    firms are told it); empty: a clash refuses the publish."""

    def of(self, booking_id: int) -> Decision | None:
        return self.each.get(booking_id, self.others)


NONE = Decisions()


@dataclass(frozen=True)
class Affected:
    """A booking whose visit the new version moves or drops, and where a move would put it."""

    booking_id: int
    code: str
    name: str
    phone: str
    service_code: str
    stop_id: str
    stop_name: str
    old_date: dt.date
    old_start: int
    old_end: int
    proposal: Placement | None
    """The nearest place with room in the new version; None when no visit of the stop has
    room (the booking can then only be cancelled)."""

    @property
    def old_time(self) -> str:
        return f"{self.old_date.isoformat()} {hhmm(self.old_start)}–{hhmm(self.old_end)}"

    @property
    def new_time(self) -> str | None:
        p = self.proposal
        return f"{p.date.isoformat()} {hhmm(p.start)}–{hhmm(p.end)}" if p else None


@dataclass(frozen=True)
class Notice:
    """What to tell one taxpayer: their booking, the visit it was on, the visit it is on now
    (None when cancelled) and the reason. The notifier sends one message per notice."""

    booking: Booking
    old_visit: VisitRow
    new_visit: VisitRow | None
    reason: str


@dataclass(frozen=True)
class CalledOff:
    """A visit of the current version that is called off, and whether the new version's
    visit of that stop on that day stays called off (carried) or is open again (lifted)."""

    stop_id: str
    stop_name: str
    date: dt.date
    reason: str | None
    note: str | None
    lifted: bool

    @property
    def key(self) -> str:
        return f"{self.stop_id}|{self.date.isoformat()}"


@dataclass
class Outcome:
    """What publishing (or its preview) did: the version, the counts and the notices."""

    week: str
    version: int
    published_id: int | None
    """None for a preview (nothing was saved)."""
    visits: int
    carried: int = 0
    moved: int = 0
    cancelled: int = 0
    kept: int = 0
    """Bookings of visits that already took place, left on them as history."""
    affected: list[Affected] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    called_off: list[CalledOff] = field(default_factory=list)
    """Call-offs of the current version that meet a visit of the new one: carried over
    unless lifted (the confirmation page lists them, each with a box to lift it)."""
    door_clashes: list[DoorClash] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.week} version {self.version}: {self.visits} visits; bookings carried "
            f"{self.carried}, moved {self.moved}, cancelled {self.cancelled}"
        )


class UndecidedBookings(TaxvanError):
    """Publishing refused: these affected bookings have no decision yet."""

    def __init__(self, week: str, affected: Sequence[Affected]) -> None:
        self.week = week
        self.affected = list(affected)
        codes = ", ".join(a.code for a in self.affected)
        super().__init__(
            f"{week}: {len(self.affected)} bookings are on visits the new version moves or "
            f"removes ({codes}); decide for each: move to the nearest visit of the same stop, "
            "or cancel with a reason"
        )


class NoRoomToMove(TaxvanError):
    """Publishing refused: a booking to move finds no visit of its stop with room."""

    def __init__(self, code: str, stop_name: str) -> None:
        self.code = code
        self.stop_name = stop_name
        super().__init__(
            f"booking {code}: no visit of {stop_name} in the new version has room for it; "
            "cancel it with a reason instead"
        )


class ReasonMissing(TaxvanError):
    """Publishing refused: a cancellation has no reason to tell the taxpayer."""

    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(f"booking {code}: give the reason for cancelling it")


class StaleDraft(TaxvanError):
    """Publishing refused: another version of the week became current after the draft was
    planned; applying it would undo what that version did."""

    def __init__(self, week: str, base: int | None, current: int) -> None:
        self.week = week
        self.base = base
        self.current = current
        super().__init__(
            f"{week} changed since the draft was planned (from version {base}, now version "
            f"{current}); plan again from the current version"
        )


class DraftPublished(TaxvanError):
    """Publishing refused: this draft is already published (a draft publishes once)."""

    def __init__(self, draft_id: int, version: int) -> None:
        self.draft_id = draft_id
        self.version = version
        super().__init__(f"draft {draft_id} is already published as version {version}")


@dataclass(frozen=True)
class DoorClash:
    """An accepted door-to-door visit that a visit of the new version overlaps."""

    reference: str
    firm_name: str
    van_id: str
    date: dt.date
    start: int
    end: int
    stop_name: str
    stop_start: int
    stop_end: int


class DoorClashes(TaxvanError):
    """Publishing refused: the new version puts stop visits over accepted door-to-door visits;
    the dispatcher calls those off (with a reason the firms are told) or plans again."""

    def __init__(self, week: str, clashes: Sequence[DoorClash]) -> None:
        self.week = week
        self.clashes = list(clashes)
        refs = ", ".join(c.reference for c in self.clashes)
        super().__init__(
            f"{week}: the new version overlaps {len(self.clashes)} door-to-door visits ({refs}); "
            "call them off with a reason, or plan again"
        )


class DraftBreaksVanDay(TaxvanError):
    """Publishing refused: in the draft, a van's day has overlapping visits, visits outside
    the crew's shift or no room for lunch (the planner never makes one; a hand-edited or
    corrupted draft may)."""

    def __init__(self, week: str, problems: Sequence[tuple[str, dt.date, DayProblem]]) -> None:
        self.week = week
        self.problems = list(problems)
        said = "; ".join(f"{van} {day}: {p.kind}" for van, day, p in self.problems[:5])
        super().__init__(f"{week}: the draft breaks a van's day ({said})")


class NotTheDistrictsWeek(TaxvanError):
    """The draft or the week's current version has visits at another district's stops."""

    def __init__(self, district: str, week: str, stops: Iterable[str]) -> None:
        self.district = district
        self.week = week
        self.stops = sorted(stops)
        super().__init__(
            f"{week}: visits at stops that are not district {district}'s "
            f"({', '.join(self.stops[:5])}{'…' if len(self.stops) > 5 else ''})"
        )


# --- the district's weeks -----------------------------------------------------------------------


def district_week_ids(district: District) -> Any:
    """A subquery of the published week ids (every version) that are `district`'s."""
    return select(PublishedWeek.id).where(PublishedWeek.district_id == district.id)


def week_versions(district: District, week: str) -> list[PublishedWeek]:
    """Every stored version of the district's `week`, newest first."""
    return list(
        db.session.scalars(
            select(PublishedWeek)
            .where(PublishedWeek.week == week, PublishedWeek.id.in_(district_week_ids(district)))
            .order_by(PublishedWeek.version.desc())
        )
    )


def current_id(district: District, week: str) -> int | None:
    """The id of the district's current version of `week`."""
    return db.session.scalar(
        select(CurrentWeek.published_id).where(
            CurrentWeek.district_id == district.id, CurrentWeek.week == week
        )
    )


def _check_district(district: District, draft: WeekDraft) -> None:
    """Every stop the draft visits is the district's (a stop of another district, or one not
    imported, would publish a visit no page of the district can show)."""
    stops = {v.stop_id for v in draft.visits}
    own = set(
        db.session.scalars(
            select(StopRow.id).where(StopRow.district_id == district.id, StopRow.id.in_(stops))
        )
    )
    if stops - own:
        raise NotTheDistrictsWeek(district.code, draft.week, stops - own)


# --- publishing ------------------------------------------------------------------------------


def _new_version(district: District, draft: WeekDraft, who: str) -> PublishedWeek:
    number = (
        db.session.scalar(
            select(func.max(PublishedWeek.version)).where(
                PublishedWeek.district_id == district.id, PublishedWeek.week == draft.week
            )
        )
        or 0
    ) + 1
    week = PublishedWeek(
        district_id=district.id,
        week=draft.week,
        version=number,
        published_at=china_now().replace(tzinfo=None),
        published_by=who[:100],
        report=draft.report,
        map_html=draft.map_html,
    )
    for v in draft.visits:
        week.visits.append(VisitRow(**asdict(v)))
    db.session.add(week)
    db.session.flush()
    return week


def _switch(district: District, week: str, published_id: int, had_current: bool) -> None:
    """Make `published_id` the district's current version of `week`: one statement."""
    if had_current:
        db.session.execute(
            update(CurrentWeek)
            .where(CurrentWeek.district_id == district.id, CurrentWeek.week == week)
            .values(published_id=published_id)
        )
    else:
        db.session.execute(
            insert(CurrentWeek).values(
                district_id=district.id, week=week, published_id=published_id
            )
        )


def _check_fresh(district: District, draft: WeekDraft) -> int:
    """The week's current version number, if `draft` may still be published over it: it was
    planned from that version and is not published yet."""
    if draft.draft_id is not None:
        done = db.session.scalar(
            select(PublishedWeek.version).where(PublishedWeek.draft_id == draft.draft_id)
        )
        if done is not None:
            raise DraftPublished(draft.draft_id, done)
    number = current_version(district.id, draft.week)
    if draft.base_version != number:
        raise StaleDraft(draft.week, draft.base_version, number)
    return number


def _carry_call_offs(
    current: PublishedWeek | None, new: PublishedWeek, lift: frozenset[tuple[str, dt.date]]
) -> list[CalledOff]:
    """Call the new version's visits off where the current version's visit of the same stop on
    the same day is called off, unless the dispatcher lifted that call-off."""
    if current is None:
        return []
    off = {(v.stop_id, v.date): v for v in current.visits if v.cancelled_at is not None}
    out: dict[tuple[str, dt.date], CalledOff] = {}
    for v in new.visits:
        old = off.get((v.stop_id, v.date))
        if old is None:
            continue
        lifted = (v.stop_id, v.date) in lift
        if not lifted:
            v.cancelled_at = old.cancelled_at
            v.cancel_reason, v.cancel_note = old.cancel_reason, old.cancel_note
        out[(v.stop_id, v.date)] = CalledOff(
            v.stop_id, old.stop.name, v.date, old.cancel_reason, old.cancel_note, lifted
        )
    new.lifted = [{"stop_id": k[0], "date": k[1].isoformat()} for k, c in out.items() if c.lifted]
    return sorted(out.values(), key=lambda c: (c.date, c.stop_name))


def _door_visits(district: District, week: str) -> list[DoorVisit]:
    return list(
        db.session.scalars(
            select(DoorVisit)
            .where(DoorVisit.district_id == district.id, DoorVisit.week == week)
            .order_by(DoorVisit.date, DoorVisit.start, DoorVisit.id)
        )
    )


def _check_van_days(district: District, new: PublishedWeek, doors: Sequence[DoorVisit]) -> None:
    """Every van's day of the new version, with the door-to-door visits it keeps, holds the
    day's rules (`taxvan.van_day`): refused otherwise, nothing saved."""
    busy: dict[tuple[str, dt.date], list[tuple[int, int, str]]] = defaultdict(list)
    for v in new.visits:
        if v.cancelled_at is None:
            busy[(v.van_id, v.date)].append((v.start, v.end, v.stop_id))
    for d in doors:
        busy[(d.van_id, d.date)].append((d.start, d.end, d.request.reference))
    vans = van_settings(district)
    problems = []
    for (van, day), spans in sorted(busy.items()):
        shift, lunch = vans.get(van, {}).get("shift"), vans.get(van, {}).get("lunch")
        for p in day_problems(
            spans, (shift[0], shift[1]) if shift else None, tuple(lunch) if lunch else None
        ):
            problems.append((van, day, p))
    if problems:
        raise DraftBreaksVanDay(new.week, problems)


def _door_clashes(district: District, new: PublishedWeek) -> list[tuple[DoorVisit, DoorClash]]:
    """The district's door-to-door visits of the week that a visit of `new` (not called off)
    of the same van overlaps."""
    out: list[tuple[DoorVisit, DoorClash]] = []
    for d in _door_visits(district, new.week):
        hit = next(
            (
                v
                for v in new.visits
                if v.cancelled_at is None
                and v.van_id == d.van_id
                and v.date == d.date
                and v.start < d.end
                and d.start < v.end
            ),
            None,
        )
        if hit is not None:
            stop = db.session.get(StopRow, hit.stop_id)
            clash = DoorClash(
                d.request.reference,
                d.request.firm_name,
                d.van_id,
                d.date,
                d.start,
                d.end,
                stop.name if stop else hit.stop_id,
                hit.start,
                hit.end,
            )
            out.append((d, clash))
    return out


def _settle_door_clashes(
    district: District,
    week: str,
    clashes: list[tuple[DoorVisit, DoorClash]],
    reason: str,
    preview: bool,
    who: str,
    user: User | None,
) -> None:
    """Refuse while the new version clashes with door-to-door visits and no reason to call
    them off was given; otherwise call them off, each firm told why, in this transaction."""
    if not clashes or preview:
        return
    if not reason.strip():
        raise DoorClashes(week, [c for _d, c in clashes])
    for d, _clash in clashes:
        call_off_door_visit(district, d, reason.strip(), who, user)


def _active_on(current: PublishedWeek | None, for_update: bool) -> list[Booking]:
    if current is None:
        return []
    query = (
        select(Booking)
        .join(VisitRow, Booking.visit_id == VisitRow.id)
        .where(VisitRow.published_id == current.id, Booking.status == "active")
        .order_by(VisitRow.date, Booking.start, Booking.id)
    )
    if for_update:
        query = query.with_for_update(of=Booking).execution_options(populate_existing=True)
    return list(db.session.scalars(query))


def _run(
    u: Unit,
    district: District,
    draft: WeekDraft,
    decisions: Decisions,
    who: str,
    user: User | None,
    preview: bool,
) -> Outcome:
    """One attempt inside the unit of work; `transaction` commits or rolls back."""
    session = db.session
    u.district(district.id, exclusive=True)
    now = china_now()
    _check_fresh(district, draft)
    current = current_week(draft.week, district)
    new, outcome = _checked_version(district, draft, current, decisions, who, user, preview)

    # Taxpayers before rows (the lock order): nobody books in the district meanwhile.
    u.lock_taxpayers(b.taxpayer_id for b in _active_on(current, for_update=False))
    u.rows()
    bookings = _active_on(current, for_update=True)
    same, by_stop = _visits_by_place(new)
    carried, affected = _match_bookings(bookings, same, now, outcome)
    if not preview:
        _check_decisions(draft.week, affected, decisions)
    changes = _carry(u.conn, new, carried, outcome)
    changes += _settle_affected(
        _Settling(u, district, new, by_stop, now, preview), affected, decisions, outcome
    )

    session.add_all(changes)
    carry_records(current, new)
    _switch(district, draft.week, new.id, current is not None)
    if draft.draft_id is not None:
        session.execute(update(Draft).where(Draft.id == draft.draft_id).values(status="published"))
    _audit_publish(district, draft.week, new, outcome, who, user, preview)
    session.flush()
    for b in bookings:
        session.expire(b)  # rows changed underneath by the statements above
    return outcome


def _checked_version(
    district: District,
    draft: WeekDraft,
    current: PublishedWeek | None,
    decisions: Decisions,
    who: str,
    user: User | None,
    preview: bool,
) -> tuple[PublishedWeek, Outcome]:
    """The draft as the week's new version (its visits added) and its outcome so far: the
    current version's call-offs carried, the van days checked with the door-to-door visits it
    keeps, the ones it clashes with called off (or the publish refused)."""
    _check_district(district, draft)
    new = _new_version(district, draft, who)
    new.draft_id = draft.draft_id
    outcome = Outcome(draft.week, new.version, None if preview else new.id, len(new.visits))
    outcome.called_off = _carry_call_offs(current, new, decisions.lift)
    clashes = _door_clashes(district, new)
    outcome.door_clashes = [c for _d, c in clashes]
    kept = [d for d in _door_visits(district, new.week) if d not in {x for x, _c in clashes}]
    _check_van_days(district, new, kept)
    _settle_door_clashes(district, draft.week, clashes, decisions.call_off_door, preview, who, user)
    return new, outcome


def _visits_by_place(
    new: PublishedWeek,
) -> tuple[dict[tuple[str, dt.date, int, int], list[VisitRow]], dict[str, list[VisitRow]]]:
    """The new version's visits that run (not called off), by stop and time, and by stop."""
    same: dict[tuple[str, dt.date, int, int], list[VisitRow]] = defaultdict(list)
    by_stop: dict[str, list[VisitRow]] = defaultdict(list)
    for v in new.visits:
        if v.cancelled_at is not None:
            continue
        same[(v.stop_id, v.date, v.start, v.end)].append(v)
        by_stop[v.stop_id].append(v)
    return same, by_stop


def _match_bookings(
    bookings: list[Booking],
    same: dict[tuple[str, dt.date, int, int], list[VisitRow]],
    now: dt.datetime,
    outcome: Outcome,
) -> tuple[list[tuple[Booking, VisitRow]], list[Booking]]:
    """(bookings carried to the new version's visit at the same stop and time, with room on
    their counter; bookings affected). A booking whose visit is over stays as it was (kept)."""
    carried: list[tuple[Booking, VisitRow]] = []
    affected: list[Booking] = []
    for b in bookings:
        old = b.visit
        match = next(
            (
                v
                for v in same.get((old.stop_id, old.date, old.start, old.end), [])
                if b.counter < v.counters
            ),
            None,
        )
        if match is not None:
            carried.append((b, match))
        elif at_end(old) <= now:
            outcome.kept += 1
        else:
            affected.append(b)
    return carried, affected


def _check_decisions(week: str, affected: list[Booking], decisions: Decisions) -> None:
    """Every affected booking has a decision, and a cancellation its reason."""
    undecided = [b for b in affected if decisions.of(b.id) is None]
    if undecided:
        raise UndecidedBookings(week, [_affected(b, None) for b in undecided])
    for b in affected:
        d = decisions.of(b.id)
        if d is not None and d.action == CANCEL and not d.reason.strip():
            raise ReasonMissing(b.code)


def _carry(
    conn: Connection,
    new: PublishedWeek,
    carried: list[tuple[Booking, VisitRow]],
    outcome: Outcome,
) -> list[BookingChange]:
    """Move the carried bookings and their places to the new version's visits."""
    changes: list[BookingChange] = []
    for b, v in carried:
        conn.execute(update(Booking).where(Booking.id == b.id).values(visit_id=v.id))
        conn.execute(update(SlotClaim).where(SlotClaim.booking_id == b.id).values(visit_id=v.id))
        changes.append(_change(new, b, "carried", v, b.start, b.end, ""))
        outcome.carried += 1
    return changes


@dataclass
class _Settling:
    """What moving or cancelling the affected bookings of a publish works with."""

    u: Unit
    district: District
    new: PublishedWeek
    by_stop: dict[str, list[VisitRow]]
    now: dt.datetime
    preview: bool
    visits_by_id: dict[int, VisitRow] = field(init=False)
    services: dict[str, ServiceRow] = field(init=False)

    def __post_init__(self) -> None:
        self.visits_by_id = {v.id: v for v in self.new.visits}
        self.services = {
            s.code: s
            for s in db.session.scalars(
                select(ServiceRow).where(ServiceRow.district_id == self.district.id)
            )
        }


def _settle_affected(
    st: _Settling, affected: list[Booking], decisions: Decisions, outcome: Outcome
) -> list[BookingChange]:
    """Move or cancel each affected booking as decided (a preview: move them all, saying
    which have no room), telling each taxpayer unless it is a preview."""
    changes: list[BookingChange] = []
    for b in affected:
        d = Decision(MOVE) if st.preview else decisions.of(b.id)
        assert d is not None
        change = _move(st, b, d, outcome) if d.action == MOVE else _cancel(st, b, d, outcome)
        if change is not None:
            changes.append(change)
    return changes


def _move(st: _Settling, b: Booking, d: Decision, outcome: Outcome) -> BookingChange | None:
    """Move `b` to the nearest free place of its stop in the new version (none in a preview:
    no change; none when publishing: refused)."""
    old = b.visit
    place = move_to_nearest(st.u, b, st.by_stop.get(old.stop_id, []), st.now)
    outcome.affected.append(_affected(b, place))
    if place is None:
        if st.preview:
            return None
        raise NoRoomToMove(b.code, old.stop.name)
    target = st.visits_by_id[place.visit_id]
    change = _change(st.new, b, "moved", target, place.start, place.end, d.reason)
    outcome.notices.append(Notice(b, old, target, d.reason))
    outcome.moved += 1
    if not st.preview:
        _tell(NoticeKind.VISIT_MOVED, b, target, place, st.services, d.reason, st.now)
    return change


def _cancel(st: _Settling, b: Booking, d: Decision, outcome: Outcome) -> BookingChange:
    """Cancel `b`, giving the dispatcher's reason."""
    old = b.visit
    outcome.affected.append(_affected(b, None))
    cancel_with_reason(st.u.conn, b.id, d.reason.strip())
    change = _change(st.new, b, "cancelled", None, None, None, d.reason.strip())
    outcome.notices.append(Notice(b, old, None, d.reason.strip()))
    outcome.cancelled += 1
    if not st.preview:
        _tell(NoticeKind.VISIT_CANCELLED, b, old, None, st.services, d.reason, st.now)
    return change


def _audit_publish(
    district: District,
    week: str,
    new: PublishedWeek,
    outcome: Outcome,
    who: str,
    user: User | None,
    preview: bool,
) -> None:
    """The publish in the audit log: the version and what happened to the bookings."""
    audit.record(
        "publish",
        actor=who,
        user=user,
        district=district,
        details={
            "week": week,
            "version": new.version,
            "visits": len(new.visits),
            "carried": outcome.carried,
            "moved": outcome.moved,
            "cancelled": outcome.cancelled,
            "kept": outcome.kept,
            "called_off": sum(1 for c in outcome.called_off if not c.lifted),
            "lifted": sum(1 for c in outcome.called_off if c.lifted),
            "door_called_off": 0 if preview else len(outcome.door_clashes),
        },
    )


def taxpayer_reason(lang: str, words: str) -> str:
    """Why the booking changed, in the taxpayer's language (their notice): the new timetable,
    with the dispatcher's words when there are any."""
    with force_locale(lang if lang in ("zh", "en") else "zh"):
        text = _("the timetable changed")
    words = words.strip()
    return f"{text}: {words}" if words else text


def _tell(
    kind: NoticeKind,
    b: Booking,
    visit: VisitRow,
    place: Placement | None,
    services: dict[str, ServiceRow],
    words: str,
    now: dt.datetime,
) -> None:
    """Write the taxpayer's notice into the outbox, in the publish transaction: the booking as
    it is now (at `place` of `visit` when moved; as it was when cancelled)."""
    columns = {c.key: getattr(b, c.key) for c in Booking.__table__.columns}
    if place is not None:
        columns.update(visit_id=place.visit_id, start=place.start, end=place.end)
        columns.update(counter=place.counter)
    told = detached(Booking, columns, visit=visit, service=services[b.service_code])
    notify_booking(
        kind,
        told,
        reason=taxpayer_reason(b.lang, words),
        conn=db.session.connection(),
        now=now,
    )


def at_end(visit: VisitRow) -> dt.datetime:
    """When a visit ends (aware, China time)."""
    return at(visit.date, visit.end)


def _affected(b: Booking, place: Placement | None) -> Affected:
    v = b.visit
    return Affected(
        b.id,
        b.code,
        b.name,
        b.phone,
        b.service_code,
        v.stop_id,
        v.stop.name,
        v.date,
        b.start,
        b.end,
        place,
    )


def _change(
    new: PublishedWeek,
    b: Booking,
    action: str,
    target: VisitRow | None,
    start: int | None,
    end: int | None,
    reason: str,
) -> BookingChange:
    return BookingChange(
        published_id=new.id,
        booking_id=b.id,
        action=action,
        old_visit_id=b.visit_id,
        old_start=b.start,
        old_end=b.end,
        new_visit_id=target.id if target is not None else None,
        new_start=start,
        new_end=end,
        reason=reason,
    )


def publish_version(
    district: District,
    draft: WeekDraft,
    decisions: Decisions = NONE,
    who: str = "",
    user: User | None = None,
) -> Outcome:
    """Publish `draft` as the new current version of its week, as one unit of work (see the
    module docstring). Raises StaleDraft, DraftPublished, DoorClashes, UndecidedBookings,
    ReasonMissing, NoRoomToMove or NotTheDistrictsWeek, and saves nothing then.

    `outcome.notices` lists (booking, old visit, new visit or None, reason) for each moved or
    cancelled booking: what a notifier sends."""
    actor = who or audit.command_line_actor()
    return transaction(
        lambda u: _run(u, district, draft, decisions, actor, user, False), keep_loaded=True
    )


def preview_version(district: District, draft: WeekDraft, who: str = "") -> Outcome:
    """What publishing `draft` would do, every affected booking with the place a move would
    give it; saves nothing (the same unit of work as `publish_version`, rolled back)."""
    return transaction(
        lambda u: _run(u, district, draft, NONE, who or "preview", None, True),
        dry_run=True,
        keep_loaded=True,
    )
