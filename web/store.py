"""Moving domain data and plans in and out of the database."""

from __future__ import annotations

import datetime as dt

from flask import current_app
from sqlalchemy import delete, func, select

from taxvan.clock import CHINA
from taxvan.dataset import Dataset
from taxvan.errors import TaxvanError
from taxvan.workdays import iso_week_label
from web.extensions import db
from web.models import (
    Booking,
    District,
    PublishedWeek,
    ServiceRow,
    StopRow,
    StreetRow,
    VisitRow,
)
from web.planning import PlanRun


def china_now() -> dt.datetime:
    """Now, China time. Tests (and a demo frozen in time) may set TAXVAN_CLOCK to a callable."""
    try:
        clock = current_app.config.get("TAXVAN_CLOCK")
    except RuntimeError:  # outside an app context
        clock = None
    return clock() if clock else dt.datetime.now(CHINA)


class DistrictConflictError(TaxvanError):
    """The folder brings street codes or stop ids that another district already owns.

    Stop ids and street codes are unique in the installation (a printed QR code names only
    the stop), so a district cannot take over another's."""

    def __init__(self, kind: str, ids: list[str], owner: str) -> None:
        self.kind = kind
        self.ids = ids
        self.owner = owner
        super().__init__(
            f"{kind} {', '.join(ids)} already belong to district {owner}; "
            "give them ids of their own or import into that district"
        )


def owners(kind: str, ids: list[str], district: District | None) -> dict[str, str]:
    """Which other district owns each of `ids` ("streets" codes or "stops" ids)."""
    model, key = (StreetRow, StreetRow.code) if kind == "streets" else (StopRow, StopRow.id)
    query = select(key, District.code).join(District, District.id == model.district_id)
    if district is not None and district.id is not None:
        query = query.where(model.district_id != district.id)
    found: dict[str, str] = {}
    for chunk in range(0, len(ids), 500):
        found.update(
            (k, c) for k, c in db.session.execute(query.where(key.in_(ids[chunk : chunk + 500])))
        )
    return found


def check_owners(dataset: Dataset, district: District | None) -> None:
    """Refuse street codes or stop ids another district owns (DistrictConflictError)."""
    for kind, ids in (
        ("streets", [s.code for s in dataset.streets]),
        ("stops", [s.id for s in dataset.stops]),
    ):
        found = owners(kind, ids, district)
        if found:
            first = sorted(set(found.values()))[0]
            raise DistrictConflictError(
                kind, sorted(i for i, o in found.items() if o == first), first
            )


def load_dataset_rows(dataset: Dataset, district: District, commit: bool = True) -> dict[str, int]:
    """Insert or update the district's streets, stops and services; taxpayers stay in the
    registry files. A street or stop another district owns is refused, nothing saved.

    `commit=False` leaves the transaction open for a caller that saves more with it (a district
    import saves its record and audit entry in the same transaction)."""
    check_owners(dataset, district)
    if district.id is None:
        db.session.flush()
    did = district.id
    for s in dataset.streets:
        db.session.merge(
            StreetRow(code=s.code, district_id=did, name=s.name, name_en=s.name_en, served=s.served)
        )
    for s in dataset.stops:
        db.session.merge(
            StopRow(
                id=s.id,
                district_id=did,
                name=s.name,
                street_code=s.street_code,
                kind=s.kind,
                lat=s.lat,
                lon=s.lon,
                coord_source=s.coord_source,
            )
        )
    for s in dataset.services:
        db.session.merge(
            ServiceRow(
                district_id=did,
                code=s.code,
                name_zh=s.name_zh,
                name_en=s.name_en,
                minutes=s.minutes,
                materials_zh=s.materials_zh,
                materials_en=s.materials_en,
            )
        )
    if commit:
        db.session.commit()
    return {
        "streets": len(dataset.streets),
        "stops": len(dataset.stops),
        "services": len(dataset.services),
    }


def publish_run(
    run: PlanRun, map_html: str, district: District, replace: bool = False
) -> PublishedWeek:
    """Store a plan as the published timetable of its week in `district`.

    A week that already has bookings is not replaced unless `replace` is given, and even then
    only when none of its bookings is still active: people rely on published times.
    """
    load_dataset_rows(run.dataset, district)
    existing = db.session.scalar(
        select(PublishedWeek).where(
            PublishedWeek.district_id == district.id, PublishedWeek.week == run.plan.week
        )
    )
    if existing is not None:
        active = db.session.scalar(
            select(func.count(Booking.id))
            .join(VisitRow)
            .where(VisitRow.published_id == existing.id, Booking.status == "active")
        )
        if active:
            raise TaxvanError(
                f"{run.plan.week} is published and has {active} active bookings; "
                "cancel or move them before publishing again"
            )
        if not replace:
            raise TaxvanError(f"{run.plan.week} is already published (use --replace)")
        db.session.execute(
            delete(Booking).where(
                Booking.visit_id.in_(
                    select(VisitRow.id).where(VisitRow.published_id == existing.id)
                )
            )
        )
        db.session.delete(existing)
        db.session.flush()
    counters = {v.id: v.counters for v in run.dataset.vans}
    alternate = {d.key for d in run.problem.demand.visits if d.biweekly}
    week = PublishedWeek(
        district_id=district.id,
        week=run.plan.week,
        published_at=china_now().replace(tzinfo=None),
        report=run.report,
        map_html=map_html,
    )
    for v in run.plan.visits:
        usual = v.moved_from
        week.visits.append(
            VisitRow(
                usual_date=usual.date if usual else None,
                usual_start=usual.start if usual else None,
                usual_end=usual.end if usual else None,
                date=v.date,
                van_id=v.van_id,
                order=v.order,
                stop_id=v.stop_id,
                start=v.start,
                end=v.end,
                counters=counters[v.van_id],
                every_other_week=v.key in alternate,
            )
        )
    db.session.add(week)
    db.session.commit()
    return week


def latest_week(today: dt.date, district: District) -> PublishedWeek | None:
    """The district's published week that contains `today`, else the next one, else the
    latest."""
    weeks = db.session.scalars(
        select(PublishedWeek)
        .where(PublishedWeek.district_id == district.id)
        .order_by(PublishedWeek.week)
    ).all()
    label = iso_week_label(today)
    for w in weeks:
        if w.week >= label:
            return w
    return weeks[-1] if weeks else None
