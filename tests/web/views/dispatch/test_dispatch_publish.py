"""The console's publish flow: open a draft, see every affected booking, decide, publish;
earlier versions stay readable; the taxpayers to tell download as CSV and Excel.

Every test runs on SQLite and PostgreSQL (the `app` fixture). The drafts are hand-made (the
current version with one visit later and one stop gone), saved as a background job saves its
draft, so the affected bookings are known; planning itself runs only as a job (its own tests).
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from sqlalchemy import select

from tests.web.operations.test_publishing import (
    PHONE,
    WEEK,
    _affected_draft,
    _booking,
    _versions,
)
from tests.web.views.dispatch.test_dispatch import _token, console, sign_in  # noqa: F401
from web.db.models import AuditEntry
from web.extensions import db

BASE = f"/dispatch/districts/fangzi/weeks/{WEEK}"


class Scene(dict):
    """The three bookings' codes by name, and the draft that affects them."""

    app: Any
    draft: Any


@pytest.fixture
def scene(app, console):  # noqa: F811
    """Three bookings (a: its visit starts an hour later in the draft, b: its stop is gone,
    c: unchanged) and that draft; `_plan` saves it as a finished job's draft."""
    codes, draft = _affected_draft(app)
    out = Scene(codes)
    out.app, out.draft = app, draft
    return out


def save_draft(app, draft, base_version: int | None = None) -> int:
    """`draft` saved as a finished background job saves its draft (planned from the week's
    current version unless `base_version` says otherwise); its id."""
    from tests.web.operations.test_plan_jobs import make_finished_job
    from web.db.models import Draft

    with app.app_context():
        _job_id, draft_id = make_finished_job("fangzi")
        row = db.session.get(Draft, draft_id)
        row.visits = [
            {**v.__dict__, "date": v.date.isoformat(), "usual_date": None} for v in draft.visits
        ]
        row.report, row.map_html = dict(draft.report), draft.map_html
        row.base_version = draft.base_version if base_version is None else base_version
        db.session.commit()
        return draft_id


def draft_url(draft_id: int) -> str:
    return f"/dispatch/districts/fangzi/drafts/{draft_id}/publish"


def _signed_in(app, name: str = "ann"):
    client = app.test_client()
    assert sign_in(client, name).status_code == 302
    return client


def _plan(client, scene) -> tuple[str, str]:
    """A new draft of the scene's (as planning leaves one) and its publish page: (url, page)."""
    url = draft_url(save_draft(scene.app, scene.draft))
    return url, client.get(url).get_data(as_text=True)


def _form(page: str) -> dict[str, str]:
    fields = dict(
        re.findall(r'name="(csrf_token|token|based_on)" type="hidden" value="([^"]*)"', page)
    )
    return fields


def _booking_ids(app, codes: dict[str, str]) -> dict[str, int]:
    return {k: _booking(app, c)["id"] for k, c in codes.items()}


def test_the_publish_page_lists_every_affected_booking_and_waits_for_decisions(app, scene):
    client = _signed_in(app)
    url, page = _plan(client, scene)
    assert scene["a"] in page and scene["b"] in page, "both affected bookings are listed"
    assert scene["c"] not in page, "a carried booking is not"
    assert "纳税人0" in page and PHONE in page
    assert "没有可容纳的班次" in page, "b's stop has no visit left: cancel only"
    ids = _booking_ids(app, scene)

    # no decision: refused, nothing published
    form = _form(page)
    r = client.post(url, data=form)
    assert r.status_code == 400
    assert "需要决定" in r.get_data(as_text=True)
    assert _versions(app) == [1]

    # cancel without a reason, move where there is no room: refused per row
    r = client.post(
        url,
        data={**form, f"decision-{ids['a']}": "cancel", f"decision-{ids['b']}": "move"},
    )
    assert r.status_code == 400 and _versions(app) == [1]
    body = r.get_data(as_text=True)
    assert "请填写告知纳税人的取消原因" in body and "只能取消" in body

    r = client.post(
        url,
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
    url, page = _plan(client, scene)
    ids = _booking_ids(app, scene)
    form = {**_form(page), "decision-all": "cancel", "reason-all": "路线调整"}
    assert client.post(url, data=form).status_code == 302
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
    url1, page1 = _plan(first, scene)
    url2, page2 = _plan(second, scene)  # planned from the same version
    decide = {"decision-all": "cancel", "reason-all": "路线调整"}
    assert first.post(url1, data={**_form(page1), **decide}).status_code == 302
    stale = second.post(url2, data={**_form(page2), **decide})
    assert stale.status_code == 409
    assert "请基于当前版本重新规划" in stale.get_data(as_text=True)
    assert second.get(url2).status_code == 409, "and its page says so before any decision"
    assert _versions(app) == [1, 2], "the second publish saved nothing"


def test_another_districts_dispatcher_is_refused(app, scene):
    stranger = _signed_in(app, "bo")
    publish = draft_url(save_draft(app, scene.draft))
    for url in (BASE, f"{BASE}/versions/1", f"{BASE}/versions/1/notices.csv", publish):
        assert stranger.get(url).status_code == 403, url
    token = _token(stranger)
    assert stranger.post(publish, data={"csrf_token": token}).status_code == 403
    assert _versions(app) == [1]


def test_forms_without_the_csrf_token_are_refused(app, scene):
    client = _signed_in(app)
    url, page = _plan(client, scene)
    form = {k: v for k, v in _form(page).items() if k != "csrf_token"}
    r = client.post(url, data={**form, "decision-all": "move"})
    assert r.status_code == 400 and _versions(app) == [1]


def test_a_background_draft_is_published_from_its_draft_page(app, scene):
    """The draft page's "publish this draft" opens the confirm step for that saved draft
    (`web.db.models.Draft`, as a planning job leaves it): it lists the affected bookings, takes
    the decisions, publishes, tells the moved and cancelled taxpayers, marks the draft
    published, and a second publish of it is refused."""
    from web.db.models import Draft, Notice

    draft_id = save_draft(app, scene.draft)
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


def test_a_draft_that_breaks_a_van_day_is_refused_with_its_reason_not_an_error(app, scene):
    """A draft whose van runs two visits at once (a corrupted or hand-edited draft) cannot be
    published: its page says why in the console's language, with a link to plan again."""
    import dataclasses

    first = scene.draft.visits[0]
    twice = dataclasses.replace(scene.draft, visits=(*scene.draft.visits, first))
    url = draft_url(save_draft(app, twice))
    client = _signed_in(app)
    page = client.get(url)
    assert page.status_code == 409
    text = page.get_data(as_text=True)
    assert "草案不符合车辆当日安排" in text and "服务时间重叠" in text
    assert _versions(app) == [1]
