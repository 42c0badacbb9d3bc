"""Delivery runs: claim what is due, send it, record the outcome; and the reminders.

A run claims due notices in small batches (`status` pending -> sending, with a token of its
own) in a short transaction of its own, sends them outside any transaction, and records each
outcome. Two runs at once never claim one notice twice: on PostgreSQL the claim selects with
`FOR UPDATE SKIP LOCKED` (a run passes over the rows another is claiming); on SQLite the
claim is one UPDATE ... WHERE status = 'pending', and SQLite runs one writer at a time. A run
that dies after claiming leaves rows in `sending`: after `TAXVAN_SMS_CLAIM_MINUTES` a later run
takes them back (the gateway's idempotency key drops a message it already has).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections import Counter
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import Connection, DateTime, and_, bindparam, select, text, update
from sqlalchemy.orm import joinedload

from taxvan.errors import TaxvanError
from taxvan.notices import NoticeKind
from web.adapters.sms import HttpGateway, OutboxOnly, Outcome, Outgoing, Sender
from web.clock import china_now
from web.db import audit
from web.db.models import Booking, District, Notice, User, VisitRow
from web.db.outbox import NOTICES, notices_of_district, notify_booking
from web.extensions import db
from web.operations.unit import Unit, transaction

BATCH = 20

_PG_CLAIM = text(
    "UPDATE notices SET status = 'sending', claimed_by = :token, claimed_at = :now"
    " WHERE id IN (SELECT id FROM notices WHERE status = 'pending' AND next_attempt_at <= :now"
    " ORDER BY next_attempt_at, id LIMIT :batch FOR UPDATE SKIP LOCKED)"
    " RETURNING id"
).bindparams(bindparam("now", type_=DateTime()))
_SQLITE_CLAIM = text(
    "UPDATE notices SET status = 'sending', claimed_by = :token, claimed_at = :now"
    " WHERE id IN (SELECT id FROM notices WHERE status = 'pending' AND next_attempt_at <= :now"
    " ORDER BY next_attempt_at, id LIMIT :batch) AND status = 'pending'"
    " RETURNING id"
).bindparams(bindparam("now", type_=DateTime()))
"""Typed `now`: SQLite compares the stored text, which must be written the way SQLAlchemy
writes the column."""


def configured_sender() -> Sender:
    """The HTTP gateway when `TAXVAN_SMS_URL` is set, else outbox only."""
    cfg = current_app.config["TAXVAN"]
    if cfg.sms_url:
        return HttpGateway(cfg.sms_url, cfg.sms_token, cfg.sms_timeout)
    return OutboxOnly()


def backoff(attempts: int, base_s: float) -> dt.timedelta:
    """Wait after the `attempts`-th failure: base, 2 x base, 4 x base ... at most 6 hours."""
    return dt.timedelta(seconds=min(base_s * 2 ** (attempts - 1), 6 * 3600))


@dataclass
class DeliveryReport:
    """What one run did, for the command's output and the tests."""

    counts: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    def line(self) -> str:
        parts = [f"{n} {k}" for k, n in sorted(self.counts.items())]
        return ", ".join(parts) or "nothing due"


def _claim(conn: Connection, token: str, now: dt.datetime, batch: int) -> list[int]:
    stmt = _PG_CLAIM if conn.dialect.name == "postgresql" else _SQLITE_CLAIM
    ids = [r[0] for r in conn.execute(stmt, {"token": token, "now": now, "batch": batch})]
    return ids


def _release_stale(now: dt.datetime, minutes: float) -> int:
    """Claims older than `minutes` (a run that died) go back to pending."""

    def work(_u: Unit) -> int:
        result = db.session.execute(
            update(Notice)
            .where(
                Notice.status == "sending",
                Notice.claimed_at < now - dt.timedelta(minutes=minutes),
            )
            .values(status="pending", claimed_by=None)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    return transaction(work)


def _claimed(ids: list[int]) -> list[Outgoing]:
    rows = db.session.execute(
        select(Notice.id, Notice.phone, Notice.text, Notice.lang, Notice.attempts)
        .where(Notice.id.in_(ids))
        .order_by(Notice.id)
    )
    return [Outgoing(*r) for r in rows]


def deliver_due(
    sender: Sender | None = None,
    now: dt.datetime | None = None,
    limit: int | None = None,
    batch_size: int = BATCH,
) -> DeliveryReport:
    """Send every notice that is due through `sender` (the configured one by default).

    Returns what happened; with the outbox-only sender nothing is claimed and the report
    counts the notices waiting in the outbox."""
    sender = sender or configured_sender()
    cfg = current_app.config["TAXVAN"]
    report = DeliveryReport()
    stamp = (now or china_now()).replace(tzinfo=None)
    if not sender.delivers:
        waiting = db.session.scalar(
            select(db.func.count()).select_from(Notice).where(Notice.status == "pending")
        )
        report.counts["waiting in the outbox (no SMS gateway configured)"] = int(waiting or 0)
        return report
    _release_stale(stamp, cfg.sms_claim_minutes)
    token = secrets.token_hex(8)
    done = 0
    while limit is None or done < limit:
        batch = batch_size if limit is None else min(batch_size, limit - done)

        def claim(u: Unit, n: int = batch) -> list[int]:
            return _claim(u.conn, token, stamp, n)

        ids = transaction(claim)
        if not ids:
            break

        # read in a transaction of its own: none stays open while the gateway answers
        def read(_u: Unit, claimed: list[int] = ids) -> list[Outgoing]:
            return _claimed(claimed)

        notices = transaction(read)
        for notice in notices:
            outcome = sender.send(notice)
            _record(notice, outcome, token, report, cfg.sms_max_attempts, cfg.sms_retry_seconds)
        done += len(ids)
    return report


def _record(
    notice: Outgoing,
    outcome: Outcome,
    token: str,
    report: DeliveryReport,
    max_attempts: int,
    retry_s: float,
) -> None:
    """Store one attempt's outcome (only if this run still holds the claim)."""
    at = china_now().replace(tzinfo=None)
    attempts = notice.attempts + 1
    values: dict[str, object] = {"attempts": attempts, "claimed_by": None, "claimed_at": None}
    if outcome.result == "sent":
        values |= {"status": "sent", "sent_at": at, "last_error": None}
    elif outcome.result == "rejected":
        values |= {"status": "rejected", "last_error": outcome.error[:500]}
    elif attempts >= max_attempts:
        values |= {"status": "failed", "last_error": outcome.error[:500]}
    else:
        values |= {
            "status": "pending",
            "last_error": outcome.error[:500],
            "next_attempt_at": at + backoff(attempts, retry_s),
        }
    transaction(
        lambda _u: db.session.execute(
            update(NOTICES)
            .where(and_(NOTICES.c.id == notice.id, NOTICES.c.claimed_by == token))
            .values(**values)
        )
    )
    status = str(values["status"])
    report.counts["retry later" if status == "pending" else status] += 1
    if outcome.error:
        report.errors.append(f"notice {notice.id}: {outcome.error}")


def write_reminders(day: dt.date, now: dt.datetime | None = None) -> int:
    """Write a reminder for each active booking on `day` that has none yet; commit; how many.

    The unique key `reminder:<booking id>` makes a second run write nothing."""

    def work(u: Unit) -> int:
        rows = db.session.scalars(
            select(Booking)
            .join(VisitRow, Booking.visit_id == VisitRow.id)
            .where(VisitRow.date == day, Booking.status == "active")
            .options(
                joinedload(Booking.visit).joinedload(VisitRow.stop), joinedload(Booking.service)
            )
            .order_by(Booking.id)
        )
        return sum(notify_booking(NoticeKind.REMINDER, b, conn=u.conn, now=now) for b in rows.all())

    return transaction(work)


HAND_SENDABLE = ("pending", "failed", "rejected")
"""A notice the dispatcher may mark as sent by hand: one waiting in the outbox, or one the
gateway gave up on or refused (they phoned or texted the taxpayer themselves). One being sent
by a delivery run is not (the run would record its own outcome over it), nor one sent."""


class NoticeNotFound(TaxvanError):
    """No notice of this id in the district."""

    def __init__(self, notice_id: int) -> None:
        self.notice_id = notice_id
        super().__init__(f"no notice {notice_id} in this district")


class NoticeNotOpen(TaxvanError):
    """The notice cannot be marked sent by hand in its status (sending or sent)."""

    def __init__(self, notice_id: int, status: str) -> None:
        self.notice_id, self.status = notice_id, status
        super().__init__(f"notice {notice_id} is {status}: it cannot be marked sent by hand")


def mark_sent_by_hand(district: District, notice_id: int, user: User) -> Notice:
    """Record that `user` told the taxpayer of notice `notice_id` themselves (a call, a text
    from the bureau's phone): it leaves the outbox as sent, with who and when; audited.

    The notice's status is changed only if it is still one `HAND_SENDABLE` when the update
    runs, so a delivery run claiming it at the same moment wins and this is refused."""

    def work(_u: Unit) -> Notice:
        notice = db.session.scalar(
            select(Notice).where(Notice.id == notice_id, notices_of_district(district))
        )
        if notice is None:
            raise NoticeNotFound(notice_id)
        was = notice.status
        at = china_now().replace(tzinfo=None)
        done = db.session.execute(
            update(Notice)
            .where(Notice.id == notice_id, Notice.status.in_(HAND_SENDABLE))
            .values(status="sent", sent_at=at, sent_by=user.name, claimed_by=None)
            .execution_options(synchronize_session=False)
        )
        if not done.rowcount:  # type: ignore[attr-defined]
            db.session.refresh(notice)
            raise NoticeNotOpen(notice_id, notice.status)
        audit.record(
            "notice_sent_by_hand",
            actor=user.name,
            user=user,
            district=district,
            details={"notice": notice_id, "notice_kind": notice.kind, "was": was},
        )
        db.session.refresh(notice)
        return notice

    return transaction(work, keep_loaded=True)
