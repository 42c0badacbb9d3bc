"""The outbox's "sent by hand" racing a delivery run (PostgreSQL, real connections): each
notice leaves the outbox once, either by the gateway or by hand, never both."""

from __future__ import annotations

import threading

from sqlalchemy import delete, select

from taxvan.notices import NoticeKind
from tests.web.operations.test_notices import (  # noqa: F401  (fixtures)
    _use_gateway,
    client_for_pg,
    gateway,
)
from web.db.models import AuditEntry, Booking, District, Notice, User
from web.db.outbox import notify_booking
from web.extensions import db
from web.operations.notices import NoticeNotOpen, deliver_due, mark_sent_by_hand
from web.operations.users import create_user

N = 16


def test_a_notice_is_sent_by_the_gateway_or_by_hand_never_both(pg_session_app, client_for_pg):  # noqa: F811
    app = pg_session_app
    with app.app_context():
        b = db.session.scalars(select(Booking)).first()
        assert b is not None
        for i in range(N):
            notify_booking(NoticeKind.VISIT_CANCELLED, b, reason="车辆故障", key=f"race:{i}")
        district_id = b.district_id
        create_user("hand-racer", "correct horse battery", "admin", None)
        db.session.commit()
        ids = sorted(db.session.scalars(select(Notice.id)))
    by_hand: list[int] = []
    refused: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def deliver() -> None:
        with app.app_context():
            try:
                start.wait()
                deliver_due(batch_size=1)
            except BaseException as exc:  # reported below
                errors.append(exc)
            finally:
                db.session.remove()

    def mark() -> None:
        with app.app_context():
            try:
                district = db.session.get(District, district_id)
                user = db.session.scalar(select(User).where(User.name == "hand-racer"))
                start.wait()
                for notice_id in reversed(ids):
                    try:
                        mark_sent_by_hand(district, notice_id, user)
                        by_hand.append(notice_id)
                    except NoticeNotOpen:
                        refused.append(notice_id)
            except BaseException as exc:  # reported below
                errors.append(exc)
            finally:
                db.session.remove()

    try:
        with gateway() as (gw, url):
            gw.delay = 0.02
            _use_gateway(app, url)
            threads = [threading.Thread(target=deliver), threading.Thread(target=mark)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(120)
        sent_by_gateway = [int(r["id"].rsplit("-", 1)[1]) for r in gw.received]
        assert errors == []
        assert not set(sent_by_gateway) & set(by_hand), "told twice"
        assert sorted(sent_by_gateway + by_hand) == ids, "each notice left the outbox once"
        with app.app_context():
            rows = {n.id: n for n in db.session.scalars(select(Notice))}
            assert all(rows[i].status == "sent" for i in ids)
            assert sorted(i for i in ids if rows[i].sent_by) == sorted(by_hand)
    finally:
        with app.app_context():
            db.session.execute(delete(AuditEntry))
            db.session.execute(delete(User).where(User.name == "hand-racer"))
            db.session.commit()
