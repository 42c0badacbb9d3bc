"""Reads the public site, the API and the console show, each named for what it finds.

The views and commands hold no SQL (a test keeps it so): what they read comes from here, from
`web.db.store` or from an operation."""

from __future__ import annotations

import datetime as dt
from typing import TypeVar

from sqlalchemy import exists, func, select

from taxvan.learning import VisitCounts
from web.db.district_scope import stop_ids, visit_in_district
from web.db.models import (
    Booking,
    BookingChange,
    BookingOutcome,
    District,
    DoorRequest,
    Draft,
    PlanJob,
    PublishedWeek,
    ServiceRow,
    StopRow,
    VisitRecord,
    VisitRow,
    WalkIn,
)
from web.db.store import IS_CURRENT_VISIT, IS_CURRENT_WEEK, current_visit
from web.extensions import db

R = TypeVar("R")


def service_codes() -> list[str]:
    """Every district's service codes, once each (one code may be several districts')."""
    return list(db.session.scalars(select(ServiceRow.code).distinct().order_by(ServiceRow.code)))


def service_code_exists(code: str) -> bool:
    """Whether any district has a service with this code."""
    found = select(ServiceRow.code).where(ServiceRow.code == code).limit(1)
    return db.session.scalar(found) is not None


def district_codes() -> list[str]:
    """Every district's code, sorted."""
    return list(db.session.scalars(select(District.code).order_by(District.code)))


def current_week_labels(district: District) -> list[str]:
    """The labels of the district's published weeks (current versions), in order."""
    return list(
        db.session.scalars(
            select(PublishedWeek.week)
            .where(PublishedWeek.district_id == district.id, IS_CURRENT_WEEK)
            .order_by(PublishedWeek.week)
        )
    )


def stops_of(district: District) -> list[StopRow]:
    """The district's stops, by id."""
    return list(
        db.session.scalars(
            select(StopRow).where(StopRow.district_id == district.id).order_by(StopRow.id)
        )
    )


def current_visits_between(district: District, first: dt.date, last: dt.date) -> list[VisitRow]:
    """The district's visits of current versions from `first` to `last`, by day, van, order."""
    return list(
        db.session.scalars(
            select(VisitRow)
            .join(PublishedWeek, PublishedWeek.id == VisitRow.published_id)
            .where(
                PublishedWeek.district_id == district.id,
                VisitRow.date >= first,
                VisitRow.date <= last,
                IS_CURRENT_VISIT,
            )
            .order_by(VisitRow.date, VisitRow.van_id, VisitRow.order)
        )
    )


def services_by_length(district_id: int) -> list[ServiceRow]:
    """The district's services, shortest first."""
    return list(
        db.session.scalars(
            select(ServiceRow)
            .where(ServiceRow.district_id == district_id)
            .order_by(ServiceRow.minutes, ServiceRow.code)
        )
    )


def published_districts() -> list[District]:
    """Districts with at least one published week, by code: the ones the public site lists."""
    return list(
        db.session.scalars(
            select(District)
            .where(exists().where(PublishedWeek.district_id == District.id))
            .order_by(District.code)
        )
    )


def district_of_stop(stop_id: str) -> District | None:
    """The district of the stop `stop_id`, if there is such a stop."""
    return db.session.scalar(
        select(District)
        .join(StopRow, StopRow.district_id == District.id)
        .where(StopRow.id == stop_id)
    )


def districts_publishing(week: str) -> list[District]:
    """The districts with a current version of `week`, by code."""
    return list(
        db.session.scalars(
            select(District)
            .join(PublishedWeek, PublishedWeek.district_id == District.id)
            .where(PublishedWeek.week == week, IS_CURRENT_WEEK)
            .order_by(District.code)
        )
    )


def district_of_visit(visit_id: int) -> District | None:
    """The district whose published week holds the visit `visit_id` (any version)."""
    return db.session.scalar(
        select(District)
        .join(PublishedWeek, PublishedWeek.district_id == District.id)
        .join(VisitRow, VisitRow.published_id == PublishedWeek.id)
        .where(VisitRow.id == visit_id)
    )


def district_of_booking(code: str) -> District | None:
    """The district of the booking with this code, if there is one."""
    return db.session.scalar(
        select(District)
        .join(Booking, Booking.district_id == District.id)
        .where(Booking.code == code)
    )


def stop_of(district: District, stop_id: str) -> StopRow | None:
    """The stop `stop_id` if it is the district's (another district's stop is not found)."""
    stop = db.session.get(StopRow, stop_id)
    return stop if stop is not None and stop.district_id == district.id else None


def upcoming_visits(stop: StopRow, first: dt.date, last: dt.date) -> list[VisitRow]:
    """The stop's visits of current versions from `first` to `last`, in time order."""
    return list(
        db.session.scalars(
            select(VisitRow)
            .where(
                VisitRow.stop_id == stop.id,
                IS_CURRENT_VISIT,
                VisitRow.date >= first,
                VisitRow.date <= last,
            )
            .order_by(VisitRow.date, VisitRow.start)
        )
    )


def district_current_visit(district: District, visit_id: int) -> VisitRow | None:
    """The visit `visit_id` if it is the district's and in the current version of its week."""
    visit = current_visit(visit_id)
    if visit is None:
        return None
    week = db.session.get(PublishedWeek, visit.published_id)
    return visit if week is not None and week.district_id == district.id else None


def service_of(district_id: int, code: str) -> ServiceRow | None:
    """The district's service `code`, if it has one."""
    return db.session.get(ServiceRow, (district_id, code))


def booking_of(district: District, code: str) -> Booking | None:
    """The district's booking with this code, if there is one."""
    return db.session.scalar(
        select(Booking).where(Booking.code == code, Booking.district_id == district.id)
    )


def door_request_of(district: District, reference: str) -> DoorRequest | None:
    """The district's door-to-door request with this reference (any case), if there is one."""
    return db.session.scalar(
        select(DoorRequest).where(
            DoorRequest.reference == reference.strip().upper(),
            DoorRequest.district_id == district.id,
        )
    )


def stop_points(stop_ids: list[str]) -> list[tuple[float, float]]:
    """The (lat, lon) of each of these stops."""
    rows = db.session.execute(select(StopRow.lat, StopRow.lon).where(StopRow.id.in_(stop_ids)))
    return [(lat, lon) for lat, lon in rows]


def district_visits_between(district: District, first: dt.date, last: dt.date) -> list[VisitRow]:
    """The district's visits (any version) from `first` to `last`, by day, van and order."""
    return list(
        db.session.scalars(
            select(VisitRow)
            .where(visit_in_district(district), VisitRow.date >= first, VisitRow.date <= last)
            .order_by(VisitRow.date, VisitRow.van_id, VisitRow.order)
        )
    )


def district_visit(district: District, visit_id: int) -> VisitRow | None:
    """The visit `visit_id` if it is at one of the district's stops."""
    visit = db.session.get(VisitRow, visit_id)
    return visit if visit is not None and visit.stop_id in stop_ids(district) else None


def van_days(district: District, since: dt.date) -> list[tuple[dt.date, str]]:
    """(day, van) of each van's day with visits of the district from `since` on, in order."""
    rows = db.session.execute(
        select(VisitRow.date, VisitRow.van_id)
        .where(visit_in_district(district), VisitRow.date >= since)
        .distinct()
        .order_by(VisitRow.date, VisitRow.van_id)
    )
    return [(date, van) for date, van in rows]


def visits_of_day(district: District, date: dt.date, van_id: str | None = None) -> list[VisitRow]:
    """The district's visits of `date` (of one van, or all), by van and order."""
    query = select(VisitRow).where(visit_in_district(district), VisitRow.date == date)
    if van_id:
        query = query.where(VisitRow.van_id == van_id)
    return list(db.session.scalars(query.order_by(VisitRow.van_id, VisitRow.order)))


def active_bookings_at(visit_ids: list[int]) -> list[Booking]:
    """The active bookings of these visits, by start time, counter and id."""
    if not visit_ids:
        return []
    return list(
        db.session.scalars(
            select(Booking)
            .where(Booking.visit_id.in_(visit_ids), Booking.status == "active")
            .order_by(Booking.start, Booking.counter, Booking.id)
        )
    )


def job_of(district: District, job_id: int) -> PlanJob | None:
    """The district's plan job `job_id`, if it has one."""
    job = db.session.get(PlanJob, job_id)
    return job if job is not None and job.district_id == district.id else None


def draft_of(district: District, draft_id: int) -> Draft | None:
    """The district's draft `draft_id`, if it has one."""
    draft = db.session.get(Draft, draft_id)
    return draft if draft is not None and draft.district_id == district.id else None


def recent_jobs(district: District, limit: int) -> list[PlanJob]:
    """The district's latest `limit` plan jobs, newest first."""
    return list(
        db.session.scalars(
            select(PlanJob)
            .where(PlanJob.district_id == district.id)
            .order_by(PlanJob.id.desc())
            .limit(limit)
        )
    )


def recent_drafts(district: District, limit: int) -> list[Draft]:
    """The district's latest `limit` drafts, newest first."""
    return list(
        db.session.scalars(
            select(Draft)
            .where(Draft.district_id == district.id)
            .order_by(Draft.id.desc())
            .limit(limit)
        )
    )


def change_counts(published_ids: list[int]) -> dict[int, dict[str, int]]:
    """Per published week: how many bookings its publish carried, moved and cancelled."""
    counts: dict[int, dict[str, int]] = {i: {} for i in published_ids}
    if published_ids:
        rows = db.session.execute(
            select(BookingChange.published_id, BookingChange.action, func.count())
            .where(BookingChange.published_id.in_(published_ids))
            .group_by(BookingChange.published_id, BookingChange.action)
        )
        for pid, action, n in rows:
            counts[pid][action] = n
    return counts


def open_drafts(district: District, label: str) -> list[Draft]:
    """The district's drafts of the week `label` not published yet, newest first."""
    return list(
        db.session.scalars(
            select(Draft)
            .where(Draft.district_id == district.id, Draft.week == label, Draft.status == "draft")
            .order_by(Draft.id.desc())
        )
    )


def published_week(published_id: int) -> PublishedWeek | None:
    """The published week (any version) with this id."""
    return db.session.get(PublishedWeek, published_id)


def active_bookings_per_visit(visit_ids: list[int]) -> dict[int, int]:
    """How many active bookings each of these visits holds (visits with none left out)."""
    rows = db.session.execute(
        select(Booking.visit_id, func.count())
        .where(Booking.visit_id.in_(visit_ids), Booking.status == "active")
        .group_by(Booking.visit_id)
    )
    return {visit_id: n for visit_id, n in rows}


def reload(row: R) -> R:
    """`row` as the database holds it now (another request may have changed it)."""
    db.session.refresh(row)
    return row


def stops_by_ids(stop_ids: list[str]) -> list[StopRow]:
    """These stops (those that exist)."""
    return list(db.session.scalars(select(StopRow).where(StopRow.id.in_(stop_ids))))


def upcoming_use(stop_id: str, since: dt.date) -> tuple[int, int]:
    """The stop's visits of current versions from `since` on, and their active bookings."""
    visits = select(VisitRow.id).where(
        VisitRow.stop_id == stop_id, VisitRow.date >= since, IS_CURRENT_VISIT
    )
    n_visits = db.session.scalar(select(func.count()).select_from(visits.subquery())) or 0
    if not n_visits:
        return 0, 0
    n_bookings = db.session.scalar(
        select(func.count(Booking.id)).where(
            Booking.visit_id.in_(visits), Booking.status == "active"
        )
    )
    return n_visits, n_bookings or 0


def stop_name(stop_id: str) -> str:
    """The stop's name; its id when there is no such stop."""
    row = db.session.get(StopRow, stop_id)
    return row.name if row is not None else stop_id


def recorded_demand(district: District, first: dt.date, before: dt.date) -> list[VisitCounts]:
    """What the crew recorded at the district's visits from `first` to the day before
    `before`: per recorded visit its stop, ISO week, bookings with an outcome (served or no
    show: they asked for the van), walk-ins and people turned away; what plans learn from."""
    booked = (
        select(func.count())
        .where(BookingOutcome.record_id == VisitRecord.id)
        .correlate(VisitRecord)
        .scalar_subquery()
    )
    walk_ins = (
        select(func.coalesce(func.sum(WalkIn.count), 0))
        .where(WalkIn.record_id == VisitRecord.id)
        .correlate(VisitRecord)
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(VisitRow.stop_id, VisitRow.date, booked, walk_ins, VisitRecord.turned_away)
        .join(VisitRow, VisitRow.id == VisitRecord.visit_id)
        .where(
            VisitRecord.district_id == district.id,
            VisitRow.date >= first,
            VisitRow.date < before,
        )
        .order_by(VisitRow.date, VisitRow.id)
    )
    out = []
    for stop_id, date, n_booked, n_walk_ins, turned in rows:
        year, week, _ = date.isocalendar()
        out.append(
            VisitCounts(stop_id, f"{year}-W{week:02d}", int(n_booked), int(n_walk_ins), turned)
        )
    return out
