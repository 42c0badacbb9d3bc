"""The console's publish flow: plan a draft, see every affected booking, decide, publish;
earlier versions stay readable; the taxpayers to tell download as CSV and Excel.

Every test runs on SQLite and PostgreSQL (the `app` fixture). Most tests put a hand-made draft
(the current version with one visit later and one stop gone) in place of the planner, so the
affected bookings are known; one test plans the week for real.
"""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import select

from tests.web.test_dispatch import _token, console, sign_in  # noqa: F401
from tests.web.test_publishing import (
    PHONE,
    WEEK,
    _affected_draft,
    _booking,
    _draft,
    _versions,
)
from web.db.models import AuditEntry
from web.extensions import db

BASE = f"/dispatch/districts/fangzi/weeks/{WEEK}"


@pytest.fixture
def scene(app, console, monkeypatch):  # noqa: F811
    """Three bookings (a: its visit starts an hour later in the draft, b: its stop is gone,
    c: unchanged) and the console's planner replaced by that draft."""
    codes, draft = _affected_draft(app)
    import web.views.dispatch.publishing as pages

    monkeypatch.setattr(pages, "plan_draft", lambda *args, **kwargs: draft)
    return codes


def _signed_in(app, name: str = "ann"):
    client = app.test_client()
    assert sign_in(client, name).status_code == 302
    return client


def _plan(client) -> str:
    r = client.post(f"{BASE}/plan", data={"csrf_token": _token(client), "time_limit": "1"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"{BASE}/publish")
    return client.get(f"{BASE}/publish").get_data(as_text=True)


def _form(page: str) -> dict[str, str]:
    fields = dict(
        re.findall(r'name="(csrf_token|token|based_on)" type="hidden" value="([^"]*)"', page)
    )
    return fields


def _booking_ids(app, codes: dict[str, str]) -> dict[str, int]:
    return {k: _booking(app, c)["id"] for k, c in codes.items()}


def test_the_publish_page_lists_every_affected_booking_and_waits_for_decisions(app, scene):
    client = _signed_in(app)
    page = _plan(client)
    assert scene["a"] in page and scene["b"] in page, "both affected bookings are listed"
    assert scene["c"] not in page, "a carried booking is not"
    assert "纳税人0" in page and PHONE in page
    assert "没有可容纳的班次" in page, "b's stop has no visit left: cancel only"
    ids = _booking_ids(app, scene)

    # no decision: refused, nothing published
    form = _form(page)
    r = client.post(f"{BASE}/publish", data=form)
    assert r.status_code == 400
    assert "需要决定" in r.get_data(as_text=True)
    assert _versions(app) == [1]

    # cancel without a reason, move where there is no room: refused per row
    r = client.post(
        f"{BASE}/publish",
        data={**form, f"decision-{ids['a']}": "cancel", f"decision-{ids['b']}": "move"},
    )
    assert r.status_code == 400 and _versions(app) == [1]
    body = r.get_data(as_text=True)
    assert "请填写告知纳税人的取消原因" in body and "只能取消" in body

    r = client.post(
        f"{BASE}/publish",
        data={
            **form,
            "decision-all": "move",
            f"decision-{ids['b']}": "cancel",
            f"reason-{ids['b']}": "村委会施工",
        },
    )
    assert r.status_code == 302, r.get_data(as_text=True)
    assert r.headers["Location"].endswith(f"{BASE}/versions/2")
    assert _versions(app) == [1, 2]
    assert _booking(app, scene["a"])["status"] == "active"
    assert _booking(app, scene["a"])["version"] == 2
    assert _booking(app, scene["b"])["reason"] == "村委会施工"
    assert _booking(app, scene["c"])["version"] == 2

    version = client.get(f"{BASE}/versions/2").get_data(as_text=True)
    assert "已发布第 2 版" in version and scene["a"] in version and "村委会施工" in version
    with app.app_context():
        entry = db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "publish").order_by(AuditEntry.id.desc())
        )
        assert entry.actor == "ann"
        assert (entry.details["carried"], entry.details["moved"], entry.details["cancelled"]) == (
            1,
            1,
            1,
        )

    # the list of taxpayers to tell
    got = client.get(f"{BASE}/versions/2/notices.csv")
    assert got.status_code == 200 and got.mimetype == "text/csv"
    assert got.data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(got.data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["手机号", "姓名", "预约码"]
    told = {r[2]: r for r in rows[1:]}
    assert set(told) == {scene["a"], scene["b"]}
    assert told[scene["b"]][6] == "已取消：村委会施工"
    xlsx = client.get(f"{BASE}/versions/2/notices.xlsx")
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    assert [[c.value for c in r] for r in sheet.iter_rows()] == rows


def test_earlier_versions_stay_readable_in_the_console(app, scene):
    client = _signed_in(app)
    page = _plan(client)
    ids = _booking_ids(app, scene)
    form = {**_form(page), "decision-all": "cancel", "reason-all": "路线调整"}
    assert client.post(f"{BASE}/publish", data=form).status_code == 302
    week = client.get(BASE).get_data(as_text=True)
    assert "第 1 版" in week and "第 2 版" in week and "ann" in week
    assert week.count("当前") >= 1
    old = client.get(f"{BASE}/versions/1")
    assert old.status_code == 200
    text = old.get_data(as_text=True)
    assert "较早的版本" in text, "it says the public sees another version"
    with app.app_context():
        from web.db.models import PublishedWeek

        first = db.session.scalar(
            select(PublishedWeek).where(PublishedWeek.week == WEEK, PublishedWeek.version == 1)
        )
        n_visits = len(first.visits)
    assert text.count('<tr><td class="when">') >= n_visits
    assert client.get(f"{BASE}/versions/3").status_code == 404
    assert ids  # the bookings were there to cancel


def test_a_preview_made_stale_by_another_publish_is_refused(app, scene):
    first, second = _signed_in(app), _signed_in(app, "root")
    page1 = _plan(first)
    page2 = _plan(second)
    decide = {"decision-all": "cancel", "reason-all": "路线调整"}
    assert first.post(f"{BASE}/publish", data={**_form(page1), **decide}).status_code == 302
    stale = second.post(f"{BASE}/publish", data={**_form(page2), **decide})
    assert stale.status_code == 409
    assert _versions(app) == [1, 2], "the second publish saved nothing"


def test_another_districts_dispatcher_is_refused(app, scene):
    stranger = _signed_in(app, "bo")
    for url in (BASE, f"{BASE}/versions/1", f"{BASE}/versions/1/notices.csv", f"{BASE}/publish"):
        assert stranger.get(url).status_code == 403, url
    token = _token(stranger)
    for url in (f"{BASE}/plan", f"{BASE}/publish"):
        assert stranger.post(url, data={"csrf_token": token, "time_limit": "1"}).status_code == 403
    assert _versions(app) == [1]


def test_forms_without_the_csrf_token_are_refused(app, scene):
    client = _signed_in(app)
    page = _plan(client)
    form = {k: v for k, v in _form(page).items() if k != "csrf_token"}
    r = client.post(f"{BASE}/publish", data={**form, "decision-all": "move"})
    assert r.status_code == 400 and _versions(app) == [1]
    r = client.post(f"{BASE}/plan", data={"time_limit": "1"})
    assert r.status_code == 400
    assert _versions(app) == [1]


def test_the_console_plans_the_week_for_real_and_publishes_it(app, console):  # noqa: F811
    """No stand-in: the week is planned from the district's data folder (1 s), previewed and
    published; the public API then lists the new version's visits."""
    client = _signed_in(app)
    page = _plan(client)
    assert "发布 2026-W49 第 2 版" in page
    old = {v["id"] for v in client.get(f"/api/v1/visits?week={WEEK}&district=fangzi").get_json()}
    r = client.post(f"{BASE}/publish", data=_form(page))
    assert r.status_code == 302, r.get_data(as_text=True)
    assert _versions(app) == [1, 2]
    new = {v["id"] for v in client.get(f"/api/v1/visits?week={WEEK}&district=fangzi").get_json()}
    assert new and new.isdisjoint(old)
    assert "第 2 版" in client.get(BASE).get_data(as_text=True)


def test_a_background_draft_is_published_from_its_draft_page(app, scene):
    """The draft page's "publish this draft" opens the confirm step for that saved draft
    (`web.db.models.Draft`, as a planning job leaves it): it lists the affected bookings, takes
    the decisions, publishes, tells the moved and cancelled taxpayers, marks the draft
    published, and a second publish of it is refused."""
    from tests.web.test_plan_jobs import make_finished_job
    from web.db.models import Draft, Notice
    from web.operations.publishing import PlannedVisit

    with app.app_context():
        _job_id, draft_id = make_finished_job("fangzi")
        week_draft = _draft(app, None)
        row = db.session.get(Draft, draft_id)
        # the hand-made draft of the scene (a later, b's stop gone), in the jobs' row shape
        import web.views.dispatch.publishing as pages

        planned: tuple[PlannedVisit, ...] = pages.plan_draft().visits
        row.visits = [
            {**v.__dict__, "date": v.date.isoformat(), "usual_date": None} for v in planned
        ]
        row.report, row.map_html = dict(week_draft.report), week_draft.map_html
        db.session.commit()
    client = _signed_in(app)
    draft_page = client.get(f"/dispatch/districts/fangzi/drafts/{draft_id}").get_data(as_text=True)
    url = f"/dispatch/districts/fangzi/drafts/{draft_id}/publish"
    assert f'href="{url}"' in draft_page
    page = client.get(url).get_data(as_text=True)
    assert scene["a"] in page and scene["b"] in page and scene["c"] not in page
    ids = _booking_ids(app, scene)
    form = {
        **_form(page),
        "decision-all": "move",
        f"decision-{ids['b']}": "cancel",
        f"reason-{ids['b']}": "道路施工",
    }
    r = client.post(url, data=form)
    assert r.status_code == 302, r.get_data(as_text=True)
    assert _versions(app) == [1, 2]
    assert _booking(app, scene["b"])["status"] == "cancelled"
    with app.app_context():
        assert db.session.get(Draft, draft_id).status == "published"
        kinds = sorted(db.session.scalars(select(Notice.kind).where(Notice.kind.like("visit_%"))))
        assert kinds == ["visit_cancelled", "visit_moved"]
    again = client.get(url, follow_redirects=True).get_data(as_text=True)
    assert "已经发布" in again and _versions(app) == [1, 2]
