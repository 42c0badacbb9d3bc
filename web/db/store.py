"""Moving domain data and plans in and out of the database."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from taxvan.dataset import Dataset
from taxvan.errors import TaxvanError, listing
from taxvan.messages import N_, message
from taxvan.workdays import iso_week_label
from web.db.models import (
    CurrentWeek,
    District,
    PublishedWeek,
    ServiceRow,
    StopRow,
    StreetRow,
    VisitRow,
)
from web.extensions import db


class DistrictConflictError(TaxvanError):
    """The folder brings street codes or stop ids that another district already owns.

    Stop ids and street codes are unique in the installation (a printed QR code names only
    the stop), so a district cannot take over another's."""

    def __init__(self, kind: str, ids: list[str], owner: str) -> None:
        self.kind = kind
        self.ids = ids
        self.owner = owner
        self.text = message(
            N_(
                "%(kind)s %(ids)s already belong to district %(owner)s; "
                "give them ids of their own or import into that district"
            ),
            kind=message(N_("streets") if kind == "streets" else N_("stops")),
            ids=listing(ids),
            owner=owner,
        )
        """The same in words a page translates."""
        super().__init__(str(self.text))


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


def load_dataset_rows(dataset: Dataset, district: District) -> dict[str, int]:
    """Insert or update the district's streets, stops and services in the caller's transaction;
    taxpayers stay in the registry files. A street or stop another district owns is refused
    (DistrictConflictError)."""
    check_owners(dataset, district)
    if district.id is None:
        db.session.flush()
    did = district.id
    for street in dataset.streets:
        db.session.merge(
            StreetRow(
                code=street.code,
                district_id=did,
                name=street.name,
                name_en=street.name_en,
                served=street.served,
            )
        )
    for stop in dataset.stops:
        db.session.merge(
            StopRow(
                id=stop.id,
                district_id=did,
                name=stop.name,
                street_code=stop.street_code,
                kind=stop.kind,
                lat=stop.lat,
                lon=stop.lon,
                coord_source=stop.coord_source,
            )
        )
    for service in dataset.services:
        db.session.merge(
            ServiceRow(
                district_id=did,
                code=service.code,
                name_zh=service.name_zh,
                name_en=service.name_en,
                minutes=service.minutes,
                materials_zh=service.materials_zh,
                materials_en=service.materials_en,
            )
        )
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


IS_CURRENT_WEEK = PublishedWeek.id.in_(select(CurrentWeek.published_id))
"""True for a published week row that is the current version of its district's week."""


def current_week(label: str, district: District) -> PublishedWeek | None:
    """The current version of the district's week `label`, if it is published."""
    return db.session.scalar(
        select(PublishedWeek)
        .join(CurrentWeek, CurrentWeek.published_id == PublishedWeek.id)
        .where(CurrentWeek.district_id == district.id, CurrentWeek.week == label)
    )


def current_version(district_id: int, label: str) -> int:
    """The version number of the district's current `label` week; 0 when none is published.
    A draft records it when planning starts, and publishing it checks it is still current."""
    number = db.session.scalar(
        select(PublishedWeek.version)
        .join(CurrentWeek, CurrentWeek.published_id == PublishedWeek.id)
        .where(CurrentWeek.district_id == district_id, CurrentWeek.week == label)
    )
    return int(number or 0)


def current_weeks(district: District) -> list[PublishedWeek]:
    """The current version of each of the district's published weeks, in week order."""
    return list(
        db.session.scalars(
            select(PublishedWeek)
            .join(CurrentWeek, CurrentWeek.published_id == PublishedWeek.id)
            .where(CurrentWeek.district_id == district.id)
            .order_by(PublishedWeek.week)
        )
    )


def latest_week(today: dt.date, district: District) -> PublishedWeek | None:
    """The current version of the district's published week that contains `today`, else the
    next one, else the latest."""
    weeks = current_weeks(district)
    label = iso_week_label(today)
    for w in weeks:
        if w.week >= label:
            return w
    return weeks[-1] if weeks else None


def district_by_code(code: str) -> District | None:
    """The district whose code is `code`, if there is one."""
    return db.session.scalar(select(District).where(District.code == code))


def stops_count(district: District) -> int:
    """How many stops the district has."""
    query = select(func.count(StopRow.id)).where(StopRow.district_id == district.id)
    return db.session.scalar(query) or 0


def all_districts() -> list[District]:
    """Every district of the installation, by code."""
    return list(db.session.scalars(select(District).order_by(District.code)))


def district_services(district_id: int) -> list[ServiceRow]:
    """The district's own services, shortest first. Services are keyed by (district, code):
    two districts may give one code other names, minutes or materials, so a service is never
    looked up by its code alone."""
    return list(
        db.session.scalars(
            select(ServiceRow)
            .where(ServiceRow.district_id == district_id)
            .order_by(ServiceRow.minutes, ServiceRow.code)
        )
    )


def services_by_code(district_id: int) -> dict[str, ServiceRow]:
    """The district's own services by code (see `district_services`)."""
    return {s.code: s for s in district_services(district_id)}
