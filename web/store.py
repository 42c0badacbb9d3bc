"""Moving domain data and plans in and out of the database."""

from __future__ import annotations

import datetime as dt

from flask import current_app
from sqlalchemy import select

from taxvan.clock import CHINA
from taxvan.dataset import Dataset
from taxvan.workdays import iso_week_label
from web.extensions import db
from web.models import (
    CurrentWeek,
    PublishedWeek,
    ServiceRow,
    StopRow,
    StreetRow,
    VisitRow,
)


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


IS_CURRENT_VISIT = VisitRow.published_id.in_(select(CurrentWeek.published_id))
"""True for a visit of a current version: what the public site, the open data, the API,
the .ics feeds and bookings read. Earlier versions stay stored for the console."""


def current_visit(visit_id: int) -> VisitRow | None:
    """A visit of a current version by id; None for a visit an earlier version held."""
    return db.session.scalar(select(VisitRow).where(VisitRow.id == visit_id, IS_CURRENT_VISIT))


def current_week(label: str) -> PublishedWeek | None:
    """The current version of week `label`, if it is published."""
    return db.session.scalar(
        select(PublishedWeek)
        .join(CurrentWeek, CurrentWeek.published_id == PublishedWeek.id)
        .where(CurrentWeek.week == label)
    )


def current_weeks() -> list[PublishedWeek]:
    """The current version of every published week, in week order."""
    return list(
        db.session.scalars(
            select(PublishedWeek)
            .join(CurrentWeek, CurrentWeek.published_id == PublishedWeek.id)
            .order_by(PublishedWeek.week)
        )
    )


def latest_week(today: dt.date) -> PublishedWeek | None:
    """The published week that contains `today`, else the next one, else the latest."""
    weeks = current_weeks()
    label = iso_week_label(today)
    for w in weeks:
        if w.week >= label:
            return w
    return weeks[-1] if weeks else None
