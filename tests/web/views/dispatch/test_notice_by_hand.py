"""The outbox can mark a notice as sent by hand: the dispatcher told the taxpayer themselves.
The notice shows who and when, the audit log says it, and it is a POST with the CSRF token."""

from __future__ import annotations

import re

from sqlalchemy import select, update

from tests.web.views.dispatch.test_dispatch import _audit, _token, sign_in
from tests.web.views.dispatch.test_notices_console import (  # noqa: F401  (fixture)
    _clean_notices,
    _write,
    console,
)
from web.db.models import Notice
from web.extensions import db

OUTBOX = "/dispatch/districts/fangzi/notices"


def _first(app) -> int:
    with app.app_context():
        return db.session.scalar(select(Notice.id).order_by(Notice.id))


def _notice(app, notice_id: int) -> Notice:
    with app.app_context():
        n = db.session.get(Notice, notice_id)
        db.session.expunge(n)
        return n


def test_a_waiting_notice_is_marked_sent_by_hand_with_who_and_when(app, console):  # noqa: F811
    _clean_notices(app)
    _write(app, 2)
    notice_id = _first(app)
    ann = app.test_client()
    sign_in(ann, "ann")
    page = ann.get(OUTBOX).get_data(as_text=True)
    assert f'action="{OUTBOX}/{notice_id}/sent-by-hand"' in page and "标记为已发送" in page

    token = _token(ann, OUTBOX)
    r = ann.post(f"{OUTBOX}/{notice_id}/sent-by-hand", data={"csrf_token": token})
    assert r.status_code == 302
    n = _notice(app, notice_id)
    assert n.status == "sent" and n.sent_by == "ann" and n.sent_at is not None
    (entry,) = _audit(app, "notice_sent_by_hand")
    assert entry.actor == "ann" and entry.details["notice"] == notice_id
    assert entry.details["was"] == "pending"

    page = ann.get(r.headers["Location"]).get_data(as_text=True)
    assert f"通知 {notice_id} 已标记为人工发送。" in page
    row = re.search(rf'<tr class="status-sent" id="notice-{notice_id}">.*?</tr>', page, re.S)
    assert (
        row
        and "由 ann 人工发送" in row.group(0)
        and n.sent_at.strftime("%m-%d %H:%M") in row.group(0)
    )
    assert "sent-by-hand" not in row.group(0), "a sent notice has no button"
    log = ann.get("/dispatch/districts/fangzi").get_data(as_text=True)
    assert f"将通知 {notice_id} 标记为已人工发送" in log
    _clean_notices(app)


def test_it_needs_the_token_and_refuses_a_notice_being_sent(app, console):  # noqa: F811
    _clean_notices(app)
    _write(app, 1)
    notice_id = _first(app)
    ann = app.test_client()
    sign_in(ann, "ann")
    assert ann.post(f"{OUTBOX}/{notice_id}/sent-by-hand").status_code == 400
    with app.app_context():
        db.session.execute(update(Notice).values(status="sending", claimed_by="run"))
        db.session.commit()
    token = _token(ann, OUTBOX)
    r = ann.post(f"{OUTBOX}/{notice_id}/sent-by-hand", data={"csrf_token": token})
    page = ann.get(r.headers["Location"]).get_data(as_text=True)
    assert "不能标记为人工发送" in page
    assert _notice(app, notice_id).status == "sending" and _audit(app, "notice_sent_by_hand") == []
    bo = app.test_client()
    sign_in(bo, "bo")
    token = _token(bo, "/dispatch/districts/county/notices")
    other = bo.post(
        f"/dispatch/districts/county/notices/{notice_id}/sent-by-hand", data={"csrf_token": token}
    )
    assert other.status_code == 404, "another district's notice"
    _clean_notices(app)
