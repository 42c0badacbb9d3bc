"""Database tables (SQLAlchemy 2, typed). Converting to domain objects happens at the edges.

Bookings hold places through `SlotClaim` rows with a unique (visit, counter, slot) key: two
people racing for the last place both try to insert the same row and the database lets only
one succeed, on SQLite and PostgreSQL alike, without locks held across requests.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from web.extensions import db


class StreetRow(db.Model):
    __tablename__ = "streets"
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    served: Mapped[bool]


class StopRow(db.Model):
    __tablename__ = "stops"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    street_code: Mapped[str] = mapped_column(ForeignKey("streets.code"))
    kind: Mapped[str] = mapped_column(String(30))
    lat: Mapped[float]
    lon: Mapped[float]
    coord_source: Mapped[str] = mapped_column(String(20), default="surveyed")
    street: Mapped[StreetRow] = relationship()


class ServiceRow(db.Model):
    __tablename__ = "services"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    minutes: Mapped[int]
    materials_zh: Mapped[str] = mapped_column(String(500))
    materials_en: Mapped[str] = mapped_column(String(500))


class PublishedWeek(db.Model):
    """One version of a week's published timetable.

    A week has versions 1, 2, ...; `CurrentWeek` says which one the public sees. Earlier
    versions stay stored (the console shows them), with who published them and when.
    Versions are unique per week; with district-scoped weeks the key grows to
    (district_id, week, version).
    """

    __tablename__ = "published_weeks"
    __table_args__ = (UniqueConstraint("week", "version", name="uq_published_week_version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    week: Mapped[str] = mapped_column(String(10))
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    published_at: Mapped[dt.datetime]
    published_by: Mapped[str] = mapped_column(String(100), default="", server_default="")
    """The actor as the audit log names them (a user, or `command line (<os user>)`)."""
    report: Mapped[dict[str, Any]] = mapped_column(JSON)
    map_html: Mapped[str] = mapped_column(db.Text)
    visits: Mapped[list[VisitRow]] = relationship(
        back_populates="published",
        cascade="all, delete-orphan",
        order_by="(VisitRow.date, VisitRow.van_id, VisitRow.order)",
    )


class CurrentWeek(db.Model):
    """Which version of a week the public site, open data, API, .ics and bookings read.

    One row per week (later: per district and week), so exactly one version is current by
    construction; publishing writes the new version's rows first and then switches this one
    row with a single UPDATE in the same transaction: a reader sees the old week or the new
    one, never half of each.
    """

    __tablename__ = "current_weeks"
    week: Mapped[str] = mapped_column(String(10), primary_key=True)
    published_id: Mapped[int] = mapped_column(ForeignKey("published_weeks.id"), unique=True)
    published: Mapped[PublishedWeek] = relationship()


class VisitRow(db.Model):
    __tablename__ = "visits"
    id: Mapped[int] = mapped_column(primary_key=True)
    published_id: Mapped[int] = mapped_column(ForeignKey("published_weeks.id"))
    date: Mapped[dt.date] = mapped_column(index=True)
    van_id: Mapped[str] = mapped_column(String(20))
    order: Mapped[int]
    stop_id: Mapped[str] = mapped_column(ForeignKey("stops.id"), index=True)
    start: Mapped[int]
    """Minutes since midnight, China time."""
    end: Mapped[int]
    counters: Mapped[int]
    every_other_week: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    """The stop is visited every other week; this visit is one of its weeks."""
    usual_date: Mapped[dt.date | None] = mapped_column(default=None)
    """Set when the calendar moved this visit (a holiday): the date it is usually held this
    week, with its usual times below, so the public site shows the change."""
    usual_start: Mapped[int | None] = mapped_column(default=None)
    usual_end: Mapped[int | None] = mapped_column(default=None)
    published: Mapped[PublishedWeek] = relationship(back_populates="visits")
    stop: Mapped[StopRow] = relationship()


class Booking(db.Model):
    __tablename__ = "bookings"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), index=True)
    service_code: Mapped[str] = mapped_column(ForeignKey("services.code"))
    start: Mapped[int]
    end: Mapped[int]
    counter: Mapped[int]
    taxpayer_id: Mapped[str] = mapped_column(String(18), index=True)
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(12), default="active")
    created_at: Mapped[dt.datetime]
    status_reason: Mapped[str | None] = mapped_column(String(200), default=None)
    """Why the dispatcher cancelled it (a new timetable no longer holds its visit)."""
    visit: Mapped[VisitRow] = relationship()
    service: Mapped[ServiceRow] = relationship()
    claims: Mapped[list[SlotClaim]] = relationship(
        back_populates="booking", cascade="all, delete-orphan"
    )


class SlotClaim(db.Model):
    __tablename__ = "slot_claims"
    __table_args__ = (UniqueConstraint("visit_id", "counter", "slot", name="uq_claim_place"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"))
    counter: Mapped[int]
    slot: Mapped[int]
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"))
    booking: Mapped[Booking] = relationship(back_populates="claims")


class BookingChange(db.Model):
    """What publishing a version did to one booking: carried to the same visit of the new
    version, moved to another visit of the same stop, or cancelled with a reason.

    The list of taxpayers to tell (moved and cancelled) is read from these rows, so it can be
    downloaded again after publishing, for any version."""

    __tablename__ = "booking_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    published_id: Mapped[int] = mapped_column(ForeignKey("published_weeks.id"), index=True)
    """The version whose publishing made the change."""
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), index=True)
    action: Mapped[str] = mapped_column(String(12))
    """carried, moved or cancelled."""
    old_visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"))
    old_start: Mapped[int]
    old_end: Mapped[int]
    new_visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"), default=None)
    new_start: Mapped[int | None] = mapped_column(default=None)
    new_end: Mapped[int | None] = mapped_column(default=None)
    reason: Mapped[str] = mapped_column(String(200), default="")
    booking: Mapped[Booking] = relationship()
    old_visit: Mapped[VisitRow] = relationship(foreign_keys=[old_visit_id])
    new_visit: Mapped[VisitRow | None] = relationship(foreign_keys=[new_visit_id])


# --- the dispatcher console: districts, dispatchers, audit log ------------------------------


class District(db.Model):
    """A district as imported from its data folder.

    Streets, stops and published weeks carry no district column yet; `rows` records which
    street codes, stop ids and service codes the district's last import brought, so a re-import
    can say what it removes and two districts cannot claim the same stop.
    """

    __tablename__ = "districts"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    hall: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The depot: id, name, lat, lon, coord_quality."""
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    """What the folder holds beyond the rows: vans, taxpayer count, calendar days."""
    rows: Mapped[dict[str, list[str]]] = mapped_column(JSON)
    """Ids per kind ("streets", "stops", "services") from the last import."""
    data_dir: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class User(db.Model):
    """A console user: a dispatcher of one district or an admin of all (Flask-Login user)."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"), default=None)
    active: Mapped[bool] = mapped_column(default=True)
    session_token: Mapped[str] = mapped_column(String(64))
    """Part of the session's user id: changing it (disable, new password) ends every session."""
    created_at: Mapped[dt.datetime]
    last_sign_in_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    district: Mapped[District | None] = relationship()

    # Flask-Login's user interface
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class AuditEntry(db.Model):
    """Who did what, when, in which district: kept for the dispatcher and the admins."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(index=True)
    """China time, like every other time the app stores."""
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    actor: Mapped[str] = mapped_column(String(100))
    """The user's name, the name tried at a failed sign-in, or `command line (<os user>)`."""
    action: Mapped[str] = mapped_column(String(40), index=True)
    district_id: Mapped[int | None] = mapped_column(
        ForeignKey("districts.id"), default=None, index=True
    )
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    district: Mapped[District | None] = relationship()
