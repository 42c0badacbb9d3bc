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


def load_dataset_rows(dataset: Dataset, commit: bool = True) -> dict[str, int]:
    """Insert or update streets, stops and services; taxpayers stay in the registry files.

    `commit=False` leaves the transaction open for a caller that saves more with it (a district
    import saves its record and audit entry in the same transaction)."""
    for s in dataset.streets:
        db.session.merge(StreetRow(code=s.code, name=s.name, name_en=s.name_en, served=s.served))
    for s in dataset.stops:
        db.session.merge(
            StopRow(
                id=s.id,
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


def publish_run(run: PlanRun, map_html: str, replace: bool = False) -> PublishedWeek:
    """Store a plan as the published timetable of its week.

    A week that already has bookings is not replaced unless `replace` is given, and even then
    only when none of its bookings is still active: people rely on published times.
    """
    load_dataset_rows(run.dataset)
    existing = db.session.scalar(select(PublishedWeek).where(PublishedWeek.week == run.plan.week))
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


def latest_week(today: dt.date) -> PublishedWeek | None:
    """The published week that contains `today`, else the next one, else the latest."""
    weeks = db.session.scalars(select(PublishedWeek).order_by(PublishedWeek.week)).all()
    label = iso_week_label(today)
    for w in weeks:
        if w.week >= label:
            return w
    return weeks[-1] if weeks else None
