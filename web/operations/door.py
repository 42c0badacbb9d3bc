"""Door-to-door requests (上门服务): store a firm's request, plan it around the published
visits, accept or decline it, and answer the firm's status lookups.

District lookups live in `district_of` and `district_stop_ids` only: streets, stops and
published weeks carry no district column yet (a district owns the stop ids its import
brought); when they do, these two change and nothing else.

Accepting or declining returns a `DoorDecision`: the data of the notice the firm gets
(issue 11's notifier takes it in one line at the view's call site).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from routes.insertion import (
    DayRoute,
    Insertion,
    InsertionResult,
    NewVisit,
    RouteVisit,
    insertions,
)
from taxvan.clock import GRID_MINUTES, ceil_to_grid, hhmm
from taxvan.errors import TaxvanError
from taxvan.fleet import Van
from taxvan.io.loaders import load_vans
from taxvan.notices import NoticeData, NoticeKind
from web.adapters.planner import make_provider
from web.clock import china_now
from web.db import audit, store
from web.db.models import (
    CurrentWeek,
    District,
    DoorRequest,
    DoorVisit,
    PublishedWeek,
    ServiceRow,
    User,
    VisitRow,
)
from web.db.outbox import notify
from web.db.store import IS_CURRENT_WEEK
from web.extensions import db
from web.operations.unit import Unit, transaction

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
"""Reference codes: no 0/O or 1/I, so a code read out on the phone is typed right."""


class DoorError(TaxvanError):
    """A door-to-door action cannot be done as asked; subclasses carry why."""


class AlreadyDecided(DoorError):
    def __init__(self, reference: str, status: str) -> None:
        self.reference = reference
        self.status = status
        super().__init__(f"request {reference} is already {status}")


class OptionGone(DoorError):
    """The chosen insertion no longer keeps every published time (the routes changed since
    the page was shown, or another request took the gap)."""

    def __init__(self) -> None:
        super().__init__("this option no longer fits the routes; choose again")


class NoPoint(DoorError):
    def __init__(self) -> None:
        super().__init__("the request has no point: enter the firm's latitude and longitude")


# --- the district, until streets, stops and weeks carry its column ---------------------------


def district_of(code: str) -> District | None:
    """The district named by `code` (`District.code`) in a URL."""
    return db.session.scalar(select(District).where(District.code == code))


def district_stop_ids(district: District) -> list[str]:
    """The stops that are the district's (those its last import brought)."""
    return list(district.rows.get("stops", []))


def district_services(district: District) -> list[ServiceRow]:
    """The district's own services, shortest first (each code once)."""
    return store.district_services(district.id)


def services_by_code(district: District) -> dict[str, ServiceRow]:
    """The district's own services by code, for naming a request's services."""
    return store.services_by_code(district.id)


def district_vans(district: District) -> list[Van]:
    """The vans of the district's data folder (shift and lunch: the insertion keeps them)."""
    folder = Path(district.data_dir)
    for name in ("vans.csv", "vans.xlsx"):
        if (folder / name).exists():
            return load_vans(folder / name)
    raise DoorError(f"district {district.code}: no vans file in {folder}")


def district_weeks(district: District, today: dt.date) -> list[PublishedWeek]:
    """Published weeks with a visit of the district from `today` on, soonest first."""
    ids = district_stop_ids(district)
    if not ids:
        return []
    query = (
        select(PublishedWeek)
        .where(
            PublishedWeek.id.in_(
                select(VisitRow.published_id).where(
                    VisitRow.stop_id.in_(ids), VisitRow.date >= today
                )
            ),
            IS_CURRENT_WEEK,
        )
        .order_by(PublishedWeek.week)
    )
    return list(db.session.scalars(query))


# --- the public side ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewRequest:
    firm_name: str
    credit_code: str
    contact_name: str
    mobile: str
    address: str
    point: tuple[float, float] | None
    weekdays: list[int]
    dates: list[dt.date]
    services: list[str]
    people: int
    lang: str


def _reference() -> str:
    while True:
        code = "S" + "".join(secrets.choice(_ALPHABET) for _ in range(7))
        if db.session.scalar(select(DoorRequest.id).where(DoorRequest.reference == code)) is None:
            return code


def submit(district: District, req: NewRequest) -> DoorRequest:
    """Store a checked request in one transaction and return it with its reference code."""
    row = DoorRequest(
        reference=_reference(),
        district=district,
        firm_name=req.firm_name,
        credit_code=req.credit_code,
        contact_name=req.contact_name,
        mobile=req.mobile,
        address=req.address,
        lat=req.point[0] if req.point else None,
        lon=req.point[1] if req.point else None,
        weekdays=sorted(set(req.weekdays)),
        dates=sorted({d.isoformat() for d in req.dates}),
        services=list(dict.fromkeys(req.services)),
        people=req.people,
        lang=req.lang,
        status="received",
        created_at=china_now().replace(tzinfo=None),
    )

    def work(_u: Unit) -> DoorRequest:
        db.session.add(row)
        return row

    return transaction(work, keep_loaded=True)


def find(reference: str, mobile: str) -> DoorRequest | None:
    """The request with this reference and mobile; None for either wrong (on purpose)."""
    row = db.session.scalar(
        select(DoorRequest).where(DoorRequest.reference == reference.strip().upper())
    )
    if row is None or not secrets.compare_digest(row.mobile, mobile):
        return None
    return row


# --- planning it in -------------------------------------------------------------------------


def default_minutes(req: DoorRequest, counters: int = 2) -> int:
    """A first guess at the visit's length: every person's services over the van's counters,
    on the grid, at least 45 minutes (the shortest planned visit)."""
    minutes = {c: s.minutes for c, s in store.services_by_code(req.district_id).items()}
    per_person = sum(minutes.get(c, 15) for c in req.services)
    need = -(-per_person * req.people // max(1, counters))
    return max(45, ceil_to_grid(need, GRID_MINUTES))


def day_routes(district: District, week: PublishedWeek) -> list[DayRoute]:
    """The week's published day routes of the district's vans, with the door-to-door visits
    already accepted in them, and an empty route for a van that works a day but has no visit."""
    vans = {v.id: v for v in district_vans(district)}
    ids = set(district_stop_ids(district))
    by_day: dict[tuple[dt.date, str], list[RouteVisit]] = defaultdict(list)
    days: set[dt.date] = set()
    for v in week.visits:
        if v.stop_id not in ids:
            continue
        days.add(v.date)
        by_day[(v.date, v.van_id)].append(
            RouteVisit(str(v.id), (v.stop.lat, v.stop.lon), v.start, v.end)
        )
    for d in db.session.scalars(
        select(DoorVisit).where(DoorVisit.district_id == district.id, DoorVisit.week == week.week)
    ):
        days.add(d.date)
        by_day[(d.date, d.van_id)].append(
            RouteVisit(f"door:{d.id}", (d.lat, d.lon), d.start, d.end)
        )
    routes = []
    for day in sorted(days):
        for van in vans.values():
            stops = sorted(by_day.get((day, van.id), []), key=lambda r: r.start)
            if stops or day.weekday() in van.weekdays:
                routes.append(DayRoute(day, van, tuple(stops)))
    return routes


@dataclass(frozen=True, slots=True)
class PlanAsk:
    """What the dispatcher asks the planner: the week, the visit's length and window, and
    the point (the request's, or one the dispatcher typed)."""

    week: PublishedWeek
    minutes: int
    window: tuple[int, int] | None
    point: tuple[float, float]


def options(district: District, req: DoorRequest, ask: PlanAsk) -> InsertionResult:
    """Where the request fits into the week without moving a published visit (or what would
    have to move), its preferred weekdays and dates marked."""
    routes = day_routes(district, ask.week)
    asked = {dt.date.fromisoformat(x) for x in req.dates}
    days = None
    if req.weekdays or asked:
        days = frozenset(r.day for r in routes if r.day.weekday() in req.weekdays or r.day in asked)
    provider = make_provider(current_app.config["TAXVAN"])
    hall = (float(district.hall["lat"]), float(district.hall["lon"]))
    return insertions(routes, hall, provider, NewVisit(ask.point, ask.minutes, days, ask.window))


# --- deciding -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DoorDecision:
    """What the firm is told: the data of the notice, in the firm's language (`lang`)."""

    reference: str
    mobile: str
    lang: str
    firm_name: str
    decision: str
    """accepted, declined or called_off."""
    date: dt.date | None = None
    start: int | None = None
    end: int | None = None
    reason: str | None = None


def accept(
    district: District, req: DoorRequest, ask: PlanAsk, choice: str, user: User
) -> DoorDecision:
    """Plan the request in as the chosen option (`day|van|position|start`), if it still keeps
    every published time; store the visit, the decision and its audit entry together, as one
    unit of work under the district's exclusive lock (no publish or call-off changes the
    published visits meanwhile)."""
    return transaction(lambda u: _accept(u, district, req, ask, choice, user))


def _accept(
    u: Unit, district: District, req: DoorRequest, ask: PlanAsk, choice: str, user: User
) -> DoorDecision:
    u.district(district.id, exclusive=True)
    db.session.refresh(req)
    if req.status != "received":
        raise AlreadyDecided(req.reference, req.status)
    # The week as it is now, under the lock: a publish may have replaced the version the
    # dispatcher's options were worked out on.
    current = db.session.scalar(
        select(PublishedWeek)
        .join(CurrentWeek, CurrentWeek.published_id == PublishedWeek.id)
        .where(CurrentWeek.district_id == district.id, CurrentWeek.week == ask.week.week)
    )
    if current is None:
        raise OptionGone()
    ask = dataclasses.replace(ask, week=current)
    result = options(district, req, ask)
    chosen = next((i for i in result.fits if option_key(i) == choice), None)
    if chosen is None:
        raise OptionGone()
    now = china_now().replace(tzinfo=None)
    req.status, req.decided_at, req.decided_by = "accepted", now, user.id
    req.lat, req.lon = ask.point
    visit = DoorVisit(
        request=req,
        district_id=district.id,
        week=ask.week.week,
        date=chosen.day,
        van_id=chosen.van_id,
        start=chosen.start,
        end=chosen.end,
        lat=ask.point[0],
        lon=ask.point[1],
        after_visit=_visit_id(chosen.after),
        before_visit=_visit_id(chosen.before),
        extra_metres=chosen.extra_metres,
        extra_minutes=chosen.extra_minutes,
        created_at=now,
    )
    db.session.add(visit)
    audit.record(
        "door_accept",
        actor=user.name,
        user=user,
        district=district,
        details={
            "reference": req.reference,
            "date": chosen.day.isoformat(),
            "van": chosen.van_id,
            "start": chosen.start,
            "end": chosen.end,
        },
    )
    decision = DoorDecision(
        req.reference,
        req.mobile,
        req.lang,
        req.firm_name,
        "accepted",
        chosen.day,
        chosen.start,
        chosen.end,
    )
    _tell(decision, req, district)
    return decision


def decline(district: District, req: DoorRequest, reason: str, user: User) -> DoorDecision:
    """Decline with a reason the firm sees on its status page (one unit of work)."""
    return transaction(lambda u: _decline(u, district, req, reason, user))


def _decline(
    u: Unit, district: District, req: DoorRequest, reason: str, user: User
) -> DoorDecision:
    u.district(district.id, exclusive=True)
    db.session.refresh(req)
    if req.status != "received":
        raise AlreadyDecided(req.reference, req.status)
    req.status, req.reason = "declined", reason
    req.decided_at, req.decided_by = china_now().replace(tzinfo=None), user.id
    audit.record(
        "door_decline",
        actor=user.name,
        user=user,
        district=district,
        details={"reference": req.reference, "reason": reason},
    )
    decision = DoorDecision(
        req.reference, req.mobile, req.lang, req.firm_name, "declined", reason=reason
    )
    _tell(decision, req, district)
    return decision


def call_off_door_visit(
    district: District, visit: DoorVisit, reason: str, actor: str, user: User | None
) -> DoorDecision:
    """Call an accepted door-to-door visit off (a new version of its week takes its time),
    inside the caller's unit of work, which holds the district's exclusive lock: the visit
    goes, the request is marked called off with the reason its status page shows, and the
    firm is told."""
    req = visit.request
    decision = DoorDecision(
        req.reference,
        req.mobile,
        req.lang,
        req.firm_name,
        "called_off",
        visit.date,
        visit.start,
        visit.end,
        reason,
    )
    req.status, req.reason = "called_off", reason[:500]
    req.decided_at = china_now().replace(tzinfo=None)
    db.session.delete(visit)
    audit.record(
        "door_called_off",
        actor=actor,
        user=user,
        district=district,
        details={"reference": req.reference, "date": visit.date.isoformat(), "reason": reason},
    )
    _tell(decision, req, district)
    return decision


def _tell(decision: DoorDecision, req: DoorRequest, district: District) -> None:
    """The firm's notice of the decision, in the decision's transaction (the outbox)."""
    kind = {
        "accepted": NoticeKind.DOOR_ACCEPTED,
        "called_off": NoticeKind.DOOR_CANCELLED,
    }.get(decision.decision, NoticeKind.DOOR_DECLINED)
    notify(
        kind,
        NoticeData(
            code=decision.reference,
            date=decision.date,
            start=hhmm(decision.start) if decision.start is not None else "",
            end=hhmm(decision.end) if decision.end is not None else "",
            place=req.address,
            name=decision.firm_name,
            reason=decision.reason or "",
            hotline=current_app.config.get("TAXVAN_HOTLINE", ""),
        ),
        phone=decision.mobile,
        lang=decision.lang if decision.lang in ("zh", "en") else "zh",
        key=f"door:{decision.reference}"
        + (":called_off" if decision.decision == "called_off" else ""),
        district_id=district.id,
    )


def option_key(i: Insertion) -> str:
    """How a form names an insertion: `day|van|position|start`."""
    return f"{i.day.isoformat()}|{i.van_id}|{i.position}|{i.start}"


def _visit_id(key: str | None) -> int | None:
    return int(key) if key is not None and key.isdigit() else None


# --- for the console and the crew's day sheet -----------------------------------------------


def requests_of(district: District, status: str | None = None) -> list[DoorRequest]:
    query = select(DoorRequest).where(DoorRequest.district_id == district.id)
    if status:
        query = query.where(DoorRequest.status == status)
    return list(db.session.scalars(query.order_by(DoorRequest.created_at.desc())))


def door_visits_of(district: District, van_id: str, day: dt.date) -> list[DoorVisit]:
    """The door-to-door visits of a van on a day, in time order: for the crew's day sheet
    (with `visit.request` for the firm, address, contact, services and people)."""
    return list(
        db.session.scalars(
            select(DoorVisit)
            .where(
                DoorVisit.district_id == district.id,
                DoorVisit.van_id == van_id,
                DoorVisit.date == day,
            )
            .order_by(DoorVisit.start)
        )
    )
