"""Database tables (SQLAlchemy 2, typed). Converting to domain objects happens at the edges.

Bookings hold places through `SlotClaim` rows with a unique (visit, counter, slot) key: two
people racing for the last place both try to insert the same row and the database lets only
one succeed, on SQLite and PostgreSQL alike, without locks held across requests.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    UniqueConstraint,
    select,
    text,
)
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, object_session, relationship

from web.extensions import Model, db


class StreetRow(Model):
    """A street (sub-district) of one district. Street codes are unique in the installation."""

    __tablename__ = "streets"
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    served: Mapped[bool]


class StopRow(Model):
    """A stop of one district. Stop ids are unique in the installation (a printed QR code
    names only the stop), so `/stops/<id>` always finds its district."""

    __tablename__ = "stops"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    street_code: Mapped[str] = mapped_column(ForeignKey("streets.code"))
    kind: Mapped[str] = mapped_column(String(30))
    lat: Mapped[float]
    lon: Mapped[float]
    coord_source: Mapped[str] = mapped_column(String(20), default="surveyed")
    street: Mapped[StreetRow] = relationship()


class ServiceRow(Model):
    """A service as one district defines it: two districts may give the same code other
    minutes or materials, so the key is (district, code)."""

    __tablename__ = "services"
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"), primary_key=True)
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    minutes: Mapped[int]
    materials_zh: Mapped[str] = mapped_column(String(500))
    materials_en: Mapped[str] = mapped_column(String(500))


class PublishedWeek(Model):
    """One version of a week's published timetable.

    A week has versions 1, 2, ...; `CurrentWeek` says which one the public sees. Earlier
    versions stay stored (the console shows them), with who published them and when.
    Versions are unique per district and week: (district_id, week, version).
    """

    __tablename__ = "published_weeks"
    __table_args__ = (
        UniqueConstraint("district_id", "week", "version", name="uq_published_week_version"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"), index=True)
    week: Mapped[str] = mapped_column(String(10))
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    published_at: Mapped[dt.datetime]
    published_by: Mapped[str] = mapped_column(String(100), default="", server_default="")
    """The actor as the audit log names them (a user, or `command line (<os user>)`)."""
    report: Mapped[dict[str, Any]] = mapped_column(JSON)
    map_html: Mapped[str] = mapped_column(db.Text)
    draft_id: Mapped[int | None] = mapped_column(ForeignKey("drafts.id"), unique=True, default=None)
    """The draft this version was published from (a draft publishes at most once: unique);
    None for versions published before drafts were recorded."""
    lifted: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON, default=list, server_default=text("'[]'")
    )
    """Call-offs of the version it replaced that the dispatcher lifted when publishing it
    ({"stop_id", "date"}); every other call-off carried over to this version's visits."""
    visits: Mapped[list[VisitRow]] = relationship(
        back_populates="published",
        cascade="all, delete-orphan",
        order_by="(VisitRow.date, VisitRow.van_id, VisitRow.order)",
    )
    district: Mapped[District] = relationship()


class CurrentWeek(Model):
    """Which version of a district's week the public site, open data, API, .ics and bookings
    read.

    One row per (district, week), so exactly one version is current by construction;
    publishing writes the new version's rows first and then switches this one row with a
    single UPDATE in the same transaction: a reader sees the old week or the new one, never
    half of each.
    """

    __tablename__ = "current_weeks"
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"), primary_key=True)
    week: Mapped[str] = mapped_column(String(10), primary_key=True)
    published_id: Mapped[int] = mapped_column(ForeignKey("published_weeks.id"), unique=True)
    published: Mapped[PublishedWeek] = relationship()


class VisitRow(Model):
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
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    """Set when a disruption called the visit off (China time); the row stays, so its
    bookings keep their history and the public site can say it is cancelled and why."""
    cancel_reason: Mapped[str | None] = mapped_column(String(20), default=None)
    """One of `web.operations.disruptions.REASONS` (van out of service, weather, road closed,
    other)."""
    cancel_note: Mapped[str | None] = mapped_column(String(200), default=None)
    """The dispatcher's words, required with the reason `other`."""
    published: Mapped[PublishedWeek] = relationship(back_populates="visits")
    stop: Mapped[StopRow] = relationship()


class Booking(Model):
    """A taxpayer's place at a visit. `district_id` is the visit's district (through its
    published week); it is here because the service is the district's: (district, code)."""

    __tablename__ = "bookings"
    __table_args__ = (
        ForeignKeyConstraint(
            ["district_id", "service_code"],
            ["services.district_id", "services.code"],
            name="fk_bookings_service",
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), index=True)
    district_id: Mapped[int] = mapped_column(index=True)
    service_code: Mapped[str] = mapped_column(String(40))
    start: Mapped[int]
    end: Mapped[int]
    counter: Mapped[int]
    taxpayer_id: Mapped[str] = mapped_column(String(18), index=True)
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(12), default="active")
    created_at: Mapped[dt.datetime]
    lang: Mapped[str] = mapped_column(String(5), default="zh", server_default="zh")
    """The language the taxpayer booked in: their notices are written in it."""
    cancel_reason: Mapped[str | None] = mapped_column(String(20), default=None)
    """Why a disruption cancelled (or moved) this booking; None for the taxpayer's own."""
    cancel_note: Mapped[str | None] = mapped_column(String(200), default=None)
    status_reason: Mapped[str | None] = mapped_column(String(200), default=None)
    """Why the dispatcher cancelled it when publishing a new version of its week (the new
    timetable no longer holds its visit): the dispatcher's words, shown on the booking page."""
    moved_to_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"), default=None)
    """The booking this one became when the taxpayer moved it (a new code): the old code
    leads to the new time and code."""
    visit: Mapped[VisitRow] = relationship()
    service: Mapped[ServiceRow] = relationship()
    claims: Mapped[list[SlotClaim]] = relationship(
        back_populates="booking", cascade="all, delete-orphan"
    )


class SlotClaim(Model):
    __tablename__ = "slot_claims"
    __table_args__ = (UniqueConstraint("visit_id", "counter", "slot", name="uq_claim_place"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"))
    counter: Mapped[int]
    slot: Mapped[int]
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"))
    booking: Mapped[Booking] = relationship(back_populates="claims")


class BookingChange(Model):
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


class District(Model):
    """A district as imported from its data folder.

    Its streets, stops, services and published weeks carry its id (`district_id`): the
    columns are the one record of what the district owns (`rows` reads them).
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
    data_dir: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]

    @property
    def rows(self) -> dict[str, list[str]]:
        """The district's street codes, stop ids and service codes, sorted, per kind."""
        session = object_session(self)
        if session is None or self.id is None:
            return {"streets": [], "stops": [], "services": []}
        return {
            kind: sorted(session.scalars(select(key).where(model.district_id == self.id)))
            for kind, model, key in (
                ("streets", StreetRow, StreetRow.code),
                ("stops", StopRow, StopRow.id),
                ("services", ServiceRow, ServiceRow.code),
            )
        }


class User(Model):
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


class AuditEntry(Model):
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


# --- notices to taxpayers: the outbox -------------------------------------------------------


class Notice(Model):
    """One message to a taxpayer, written in the transaction of the change it reports (a
    transactional outbox) and delivered later by `flask send-notices` (see web/notify/)."""

    __tablename__ = "notices"
    __table_args__ = (Index("ix_notices_due", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    """What the notice is about, e.g. `reminder:<booking id>`: the same notice is never written
    twice."""
    kind: Mapped[str] = mapped_column(String(30), index=True)
    lang: Mapped[str] = mapped_column(String(5))
    phone: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(String(400))
    booking_id: Mapped[int | None] = mapped_column(index=True)
    """The booking it is about; no foreign key: the record of a message outlives a booking that
    a republished week deletes."""
    stop_id: Mapped[str | None] = mapped_column(String(40), index=True)
    """The stop of the visit it is about: finds its district until districts own stops."""
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"), index=True)
    """Set by callers that know the district (a door-to-door answer)."""
    status: Mapped[str] = mapped_column(String(12), default="pending")
    """pending, sending (claimed by a delivery run), sent, rejected (the gateway refused the
    number or text: not retried), failed (gave up after the last attempt)."""
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime]
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)
    claimed_by: Mapped[str | None] = mapped_column(String(32), default=None)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    created_at: Mapped[dt.datetime] = mapped_column(index=True)
    """China time, like every other time the app stores."""
    sent_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    sent_by: Mapped[str | None] = mapped_column(String(100), default=None)
    """The console user who marked it sent by hand (they told the taxpayer themselves); None
    for a notice the gateway sent."""


# --- door-to-door requests (上门服务) ----------------------------------------------------------


class DoorRequest(Model):
    """A firm's request for a visit at its own address, from the public form.

    `reference` and `mobile` together open its status page; the firm, contact and point are
    private (never on a public page)."""

    __tablename__ = "door_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(12), unique=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"), index=True)
    firm_name: Mapped[str] = mapped_column(String(200))
    credit_code: Mapped[str] = mapped_column(String(18))
    contact_name: Mapped[str] = mapped_column(String(100))
    mobile: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(300))
    lat: Mapped[float | None] = mapped_column(default=None)
    lon: Mapped[float | None] = mapped_column(default=None)
    """The point picked or typed; None leaves it to the dispatcher."""
    weekdays: Mapped[list[int]] = mapped_column(JSON)
    """Preferred weekdays, Monday = 0; with `dates` empty too, any day."""
    dates: Mapped[list[str]] = mapped_column(JSON)
    """Preferred dates, ISO."""
    services: Mapped[list[str]] = mapped_column(JSON)
    people: Mapped[int]
    lang: Mapped[str] = mapped_column(String(5))
    """The requester's language, for the answer's notice."""
    status: Mapped[str] = mapped_column(String(12), default="received", index=True)
    """received, accepted or declined."""
    reason: Mapped[str | None] = mapped_column(String(500), default=None)
    created_at: Mapped[dt.datetime]
    decided_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    district: Mapped[District] = relationship()
    visit: Mapped[DoorVisit | None] = relationship(back_populates="request", uselist=False)


class DoorVisit(Model):
    """An accepted request as a one-off visit of a van on a day, planned around the published
    visits (`routes.insertion`). A table of its own rather than a row of `visits`: it is not a
    stop anyone can walk to or book, and the public timetable and open data stay the stops'."""

    __tablename__ = "door_visits"
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("door_requests.id"), unique=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"))
    week: Mapped[str] = mapped_column(String(10))
    date: Mapped[dt.date] = mapped_column(index=True)
    van_id: Mapped[str] = mapped_column(String(20))
    start: Mapped[int]
    """Minutes since midnight, China time."""
    end: Mapped[int]
    lat: Mapped[float]
    lon: Mapped[float]
    after_visit: Mapped[int | None] = mapped_column(default=None)
    """The published visit it follows (a `visits` id; None: it comes first)."""
    before_visit: Mapped[int | None] = mapped_column(default=None)
    extra_metres: Mapped[int]
    extra_minutes: Mapped[int]
    created_at: Mapped[dt.datetime]
    request: Mapped[DoorRequest] = relationship(back_populates="visit")


# --- planning in the background: jobs and the drafts they make (web/jobs/) -------------------

JOB_ACTIVE = ("queued", "running")
"""A district has at most one job in these states (a partial unique index says so)."""


ADJUSTMENT_KINDS = ("pin", "exclude_stop", "exclude_day", "visits", "dwell")


class AdjustmentRow(Model):
    """One of a district's standing adjustments to its plans (`taxvan.adjustments`): a pin, an
    excluded stop or weekday, a stop's visits a week or dwell.

    Kept per district, not per week: what local knowledge says (the market is on Tuesdays,
    the square is closed for works) holds for every week planned with them until removed. A
    plan job copies the district's adjustments into its options when it starts, so the draft
    records the ones it was made with even after they change."""

    __tablename__ = "adjustments"
    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    """One of ADJUSTMENT_KINDS."""
    stop_id: Mapped[str | None] = mapped_column(String(40), default=None)
    weekday: Mapped[int | None] = mapped_column(default=None)
    """Monday = 0 (pin, exclude_day)."""
    start: Mapped[int | None] = mapped_column(default=None)
    """A pin's start, minutes since midnight; None pins the day only."""
    tolerance: Mapped[int] = mapped_column(default=0)
    value: Mapped[int | None] = mapped_column(default=None)
    """Visits a week, or dwell minutes."""
    created_at: Mapped[dt.datetime]
    created_by: Mapped[str] = mapped_column(String(100))
    district: Mapped[District] = relationship()


class PlanJob(Model):
    """One request to plan a district's week, from queued to succeeded/failed/cancelled.

    The solver's improving objective lands in `progress` as it improves; `heartbeat_at` is
    touched every second or so while it runs, so a job whose worker died is recognised and
    marked failed (`web.operations.plan_jobs.reap`)."""

    __tablename__ = "plan_jobs"
    __table_args__ = (
        Index(
            "uq_plan_jobs_one_active",
            "district_id",
            unique=True,
            sqlite_where=text("status IN ('queued', 'running')"),
            postgresql_where=text("status IN ('queued', 'running')"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"), index=True)
    week: Mapped[str] = mapped_column(String(10))
    options: Mapped[dict[str, Any]] = mapped_column(JSON)
    """time_limit_s, vans, weekdays (Monday = 0), new_template."""
    status: Mapped[str] = mapped_column(String(12), default="queued")
    """queued, running, succeeded, failed or cancelled."""
    runner: Mapped[str] = mapped_column(String(10))
    """"rq" (a worker through Redis) or "thread" (in the web process)."""
    rq_id: Mapped[str | None] = mapped_column(String(60), default=None)
    worker: Mapped[str | None] = mapped_column(String(120), default=None)
    """host:pid of the process solving it."""
    progress: Mapped[list[list[float]]] = mapped_column(JSON, default=list)
    """[[elapsed seconds, objective], ...] as the search improves (thinned when long)."""
    log: Mapped[list[str]] = mapped_column(JSON, default=list)
    """What the planner said (the lines `taxvan plan` prints)."""
    error: Mapped[str | None] = mapped_column(db.Text, default=None)
    error_message: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    """The error as a message (template and values) when it has one, so the page shows it in
    the reader's language; `error` is its English text."""
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    cancelled_by: Mapped[str | None] = mapped_column(String(100), default=None)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    actor: Mapped[str] = mapped_column(String(100))
    retry_of: Mapped[int | None] = mapped_column(ForeignKey("plan_jobs.id"), default=None)
    created_at: Mapped[dt.datetime]
    started_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    finished_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    district: Mapped[District] = relationship()
    draft: Mapped[Draft | None] = relationship(back_populates="job", uselist=False)

    @property
    def active(self) -> bool:
        return self.status in JOB_ACTIVE


class Draft(Model):
    """A planned week of a district, not published: what a job produced, whole or not at all.

    Stored in the database (not the instance folder) so that a worker on another machine can
    hand it to the web servers and it survives restarts. `visits` holds the timetable in the
    shape `PublishedWeek.visits` needs (`web.operations.drafts.visit_dicts`), so publishing a draft
    is copying its rows; `status` stays "draft" until then."""

    __tablename__ = "drafts"
    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"), index=True)
    week: Mapped[str] = mapped_column(String(10), index=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("plan_jobs.id"), default=None)
    status: Mapped[str] = mapped_column(String(12), default="draft")
    options: Mapped[dict[str, Any]] = mapped_column(JSON)
    visits: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    report: Mapped[dict[str, Any]] = mapped_column(JSON)
    template: Mapped[dict[str, Any]] = mapped_column(JSON)
    map_html: Mapped[str] = mapped_column(db.Text)
    fingerprint: Mapped[str] = mapped_column(String(40))
    template_reused: Mapped[bool]
    base_version: Mapped[int | None] = mapped_column(default=None)
    """The version of the week current when the draft was planned (0: none was published);
    publishing applies it only while that version is still current. None: not recorded
    (planned before this column), refused."""
    created_at: Mapped[dt.datetime]
    created_by: Mapped[str] = mapped_column(String(100))
    district: Mapped[District] = relationship()
    job: Mapped[PlanJob | None] = relationship(back_populates="draft")


# --- what the van did: the crew's records of its visits -------------------------------------

OUTCOMES = ("served", "no_show")
"""What became of a booking at its visit, as the crew records it."""


class VisitRecord(Model):
    """What the crew recorded at one visit (one row per visit): when the van arrived and left,
    how many taxpayers it turned away for lack of time, and a note.

    Its bookings' outcomes (`BookingOutcome`) and walk-ins (`WalkIn`) hang from it. Times are
    minutes since midnight, China time, on the visit's date, like `VisitRow.start`/`end`.
    A record follows its visit's stop and day when a re-publish replaces the visit (the new
    version's visit of the same stop on the same day takes it), so the figures count a visit
    once. Never on a called-off visit (invariant I8)."""

    __tablename__ = "visit_records"
    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), unique=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"), index=True)
    """The visit's district (through its published week), kept for scoping and the figures."""
    arrival: Mapped[int | None] = mapped_column(default=None)
    """When the van arrived (minutes since midnight); None: not recorded yet."""
    departure: Mapped[int | None] = mapped_column(default=None)
    """When the van left (minutes since midnight); None: not recorded yet."""
    turned_away: Mapped[int] = mapped_column(default=0)
    """Taxpayers who came and could not be served for lack of time."""
    note: Mapped[str] = mapped_column(String(500), default="")
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    """The user whose record was applied last."""
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    """China time, when the server applied the newest record."""
    visit: Mapped[VisitRow] = relationship()
    outcomes: Mapped[list[BookingOutcome]] = relationship(
        back_populates="record", cascade="all, delete-orphan", order_by="BookingOutcome.booking_id"
    )
    walk_ins: Mapped[list[WalkIn]] = relationship(
        back_populates="record", cascade="all, delete-orphan", order_by="WalkIn.id"
    )


class BookingOutcome(Model):
    """A booking of a recorded visit as served or no-show (one row per booking at most)."""

    __tablename__ = "booking_outcomes"
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("visit_records.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(10))
    """One of OUTCOMES."""
    record: Mapped[VisitRecord] = relationship(back_populates="outcomes")
    booking: Mapped[Booking] = relationship()


class WalkIn(Model):
    """Taxpayers served at a recorded visit without a booking, counted by service; a row with
    a credit code is one identified taxpayer (count 1)."""

    __tablename__ = "walk_ins"
    __table_args__ = (
        ForeignKeyConstraint(
            ["district_id", "service_code"],
            ["services.district_id", "services.code"],
            name="fk_walk_ins_service",
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("visit_records.id"), index=True)
    district_id: Mapped[int] = mapped_column()
    service_code: Mapped[str] = mapped_column(String(40))
    count: Mapped[int]
    credit_code: Mapped[str | None] = mapped_column(String(18), default=None)
    """A unified social credit code or resident ID (checksum checked), when the crew took it."""
    record: Mapped[VisitRecord] = relationship(back_populates="walk_ins")


class AppliedRecord(Model):
    """A record the phone sent, by the id the phone gave it (a UUID): applied once. Sending it
    again (the connection dropped before the answer came) returns the stored answer and
    changes nothing."""

    __tablename__ = "applied_records"
    client_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("visit_records.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    received_at: Mapped[dt.datetime]
    answer: Mapped[dict[str, Any]] = mapped_column(JSON)
