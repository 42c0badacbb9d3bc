"""A draft explains itself in the console's language: each changed visit and each stop that
disappears with its reason in words (values and weekday names in Chinese), the planner's
dropped reasons and notes in Chinese, one count of the changes on the draft page and on the
publish confirmation, and a warning when the adjustments leave a street well under its
target share.

The draft is built by hand from the published 2026-W49 of the demo district (no planning):
two visits of one van's day swap places (moved), a stop the dispatcher excluded and a stop
the planner dropped disappear."""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest
from sqlalchemy import select

from routes.report import share_shortfalls
from taxvan.adjustments import Adjustments, Pin
from taxvan.messages import N_, as_json, message
from taxvan.workdays import weekday_name
from tests.web.operations.test_plan_jobs import make_finished_job
from tests.web.views.dispatch.test_dispatch import console, sign_in  # noqa: F401
from web.db.models import District, Draft, PublishedWeek, StopRow
from web.extensions import db

HOME = "fangzi"
WEEK = "2026-W49"

ENGLISH = re.compile(r"[A-Za-z]{3,}")


@pytest.fixture
def ann(app, console):  # noqa: F811
    client = app.test_client()
    assert sign_in(client, "ann").status_code == 302
    return client


def _published(district: District) -> PublishedWeek:
    week = db.session.scalar(
        select(PublishedWeek)
        .where(PublishedWeek.district_id == district.id, PublishedWeek.week == WEEK)
        .order_by(PublishedWeek.version.desc())
    )
    assert week is not None
    return week


def _row(v: Any) -> dict[str, Any]:
    return {
        "date": v.date.isoformat(),
        "van_id": v.van_id,
        "order": v.order,
        "stop_id": v.stop_id,
        "stop_name": v.stop.name,
        "street_code": v.stop.street_code,
        "street_name": v.stop.street.name,
        "start": v.start,
        "end": v.end,
        "counters": v.counters,
        "every_other_week": v.every_other_week,
        "usual_date": None,
        "usual_start": None,
        "usual_end": None,
    }


def make_scene(app) -> dict[str, Any]:
    """The hand-made draft (see the module's docstring) and what it changed."""
    with app.app_context():
        district = db.session.scalar(select(District).where(District.code == HOME))
        visits = sorted(
            (v for v in _published(district).visits if v.cancelled_at is None),
            key=lambda v: (v.date, v.van_id, v.start),
        )
        once = {}
        for v in visits:
            once.setdefault(v.stop_id, []).append(v)
        single = [s for s, vs in once.items() if len(vs) == 1]
        # two neighbouring visits of one day, of stops visited once, swap their times
        a, b = next(
            (x, y)
            for x, y in itertools.pairwise(visits)
            if (x.date, x.van_id) == (y.date, y.van_id)
            and x.stop_id in single
            and y.stop_id in single
            and x.end - x.start == y.end - y.start
        )
        excluded = next(s for s in single if s not in (a.stop_id, b.stop_id))
        ex_visit = once[excluded][0]
        dropped = next(s for s in single if s not in (a.stop_id, b.stop_id, excluded))
        rows = []
        for v in visits:
            if v.stop_id in (excluded, dropped):
                continue
            r = _row(v)
            if v is a:
                r["stop_id"], r["stop_name"] = b.stop_id, b.stop.name
            elif v is b:
                r["stop_id"], r["stop_name"] = a.stop_id, a.stop.name
            rows.append(r)
        pin = Pin(b.stop_id, a.date.weekday(), a.start, 15)
        adj = Adjustments(pins=(pin,), excluded_stops=frozenset({excluded}))
        street = ex_visit.stop.street
        no_room = message(
            N_(
                "no room on any day: the van's days are full; where it fits best, on %(day)s "
                "%(date)s, the van would be back %(late)d min after the shift ends (it serves "
                "%(remote)s remote taxpayers, fewer than the visits kept)"
            ),
            day=weekday_name(3),
            date="2026-12-03",
            late=52,
            remote="12",
        )
        _job, draft_id = make_finished_job(HOME)
        draft = db.session.get(Draft, draft_id)
        draft.visits = rows
        draft.template_reused = False
        draft.options = {**draft.options, "new_template": True, "adjustments": adj.as_dict()}
        draft.report = {
            **draft.report,
            "visits_planned": len(rows),
            "visits_dropped": 1,
            "streets": [
                {
                    "code": street.code,
                    "name": street.name,
                    "remote_taxpayers": 100,
                    "target_share": 0.211,
                    "planned_share": 0.155,
                    "target_minutes": 600,
                    "planned_minutes": 440,
                },
            ],
            "dropped": [
                {
                    "visit": f"{dropped}#1",
                    "stop_id": dropped,
                    "stop_name": once[dropped][0].stop.name,
                    "street": once[dropped][0].stop.street.name,
                    "dwell_minutes": 30,
                    "remote_taxpayers": 12.0,
                    "reason": as_json(no_room),
                }
            ],
            "notes": [
                as_json(
                    message(
                        N_(
                            "times follow the weekly template; only the calendar changes which "
                            "days run"
                        )
                    )
                ),
            ],
        }
        db.session.commit()
        return {
            "draft": draft_id,
            "moved": (a.stop_id, b.stop_id),
            "pinned": b.stop_id,
            "excluded": excluded,
            "excluded_name": db.session.scalar(select(StopRow.name).where(StopRow.id == excluded)),
            "dropped": dropped,
            "street": street.name,
        }


def _section(page: str, cls: str) -> str:
    found = re.search(rf'<section[^>]*class="{cls}".*?</section>', page, re.S)
    assert found, cls
    return found.group(0)


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


def _counts(page: str) -> str:
    found = re.search(r'<p class="change-counts".*?</p>', page, re.S)
    assert found
    return " ".join(_text(found.group(0)).split())


def test_the_chinese_draft_page_gives_every_reason_in_chinese_with_its_values(app, ann):
    scene = make_scene(app)
    page = ann.get(f"/dispatch/districts/{HOME}/drafts/{scene['draft']}").get_data(as_text=True)

    changes = _section(page, "draft-changes")
    pinned = re.search(rf'<tr class="moved" data-stop="{scene["pinned"]}".*?</tr>', changes, re.S)
    assert pinned, "the pinned stop moved"
    assert "调度员固定了时间：站点" in pinned.group(0) and "±15 分钟" in pinned.group(0)
    assert re.search(r"固定在周[一二三四五] \d\d:\d\d", pinned.group(0)), "weekday in Chinese"
    other = next(s for s in scene["moved"] if s != scene["pinned"])
    moved = re.search(rf'<tr class="moved" data-stop="{other}".*?</tr>', changes, re.S)
    assert moved and "调度员要求重新规划每周模板" in moved.group(0), "why it was planned anew"
    assert "每周模板已重新规划</td>" not in changes, "not a bare label"

    dropped = _section(page, "dropped")
    assert "每天都没有空余时间" in dropped and "周四 2026-12-03" in dropped
    assert "下班后 52 分钟" in dropped
    assert "时间沿用每周模板" in page, "the draft's notes"
    for part in (changes, dropped, re.search(r'<ul class="notes">.*?</ul>', page, re.S).group(0)):
        words = set(ENGLISH.findall(_text(part))) - {"data", "stop", "reason"}
        assert not words, words  # attribute names aside, no English word

    en = ann.get(f"/dispatch/districts/{HOME}/drafts/{scene['draft']}?lang=en").get_data(
        as_text=True
    )
    assert "the dispatcher pinned it: stop" in en and "±15 min" in en
    assert "no room on any day" in en and "Thu 2026-12-03" in en


def test_a_stop_that_disappears_is_listed_with_its_reason(app, ann):
    scene = make_scene(app)
    page = ann.get(f"/dispatch/districts/{HOME}/drafts/{scene['draft']}").get_data(as_text=True)
    table = re.search(r'<table class="console gone-stops">.*?</table>', page, re.S)
    assert table, "the stops no longer visited are listed"
    gone = dict(re.findall(r'<tr data-stop="([^"]+)" data-reason="(\w+)"', table.group(0)))
    assert gone == {scene["excluded"]: "stop_excluded", scene["dropped"]: "dropped"}
    rows = table.group(0)
    # the stop by its name, as the dispatcher knows it, not by its id
    assert f"调度员已将站点 {scene['excluded_name']} 排除在规划之外" in rows
    assert "规划未能安排此次服务——每天都没有空余时间" in rows
    assert "2 个站点不再服务" in _counts(page)


def test_the_change_view_and_the_publish_confirmation_count_alike(app, ann):
    scene = make_scene(app)
    draft_page = ann.get(f"/dispatch/districts/{HOME}/drafts/{scene['draft']}").get_data(
        as_text=True
    )
    publish = ann.get(f"/dispatch/districts/{HOME}/drafts/{scene['draft']}/publish")
    assert publish.status_code == 200, publish.get_data(as_text=True)[:3000]
    confirm = publish.get_data(as_text=True)
    counts = _counts(draft_page)
    assert counts == _counts(confirm)
    assert "2 项移动" in counts and "0 项新增" in counts and "2 项删除" in counts
    assert "新增或调整" not in confirm and "取消或调整" not in confirm
    assert "低 5.6 个百分点" in confirm, "the share warning before publishing too"


def test_an_adjustment_that_leaves_a_street_under_its_share_is_warned(app, ann):
    scene = make_scene(app)
    page = ann.get(f"/dispatch/districts/{HOME}/drafts/{scene['draft']}").get_data(as_text=True)
    warning = re.search(r'<div class="notice warning share-warnings".*?</div>', page, re.S)
    assert warning, "the street 5.6 points under its share is warned about"
    text = _text(warning.group(0))
    assert scene["street"] in text and "15.5 %" in text and "21.1 %" in text
    assert f"排除站点 {scene['excluded_name']} 后" in text and "低 5.6 个百分点" in text


def test_a_draft_without_adjustments_or_within_three_points_is_not_warned():
    streets = [
        {"code": "A", "name": "A", "target_share": 0.30, "planned_share": 0.275},
        {"code": "B", "name": "B", "target_share": 0.211, "planned_share": 0.155},
    ]
    adj = Adjustments(excluded_stops=frozenset({"b1"}))
    (short,) = share_shortfalls(streets, adj, {"b1": "B", "a1": "A"})
    assert (short.code, short.excluded, round(short.points, 1)) == ("B", ("b1",), 5.6)
    assert "15.5 % of the week's service time, against a target of 21.1 %" in str(short.said())


def test_old_drafts_with_plain_english_reasons_still_read(app, ann):
    scene = make_scene(app)
    with app.app_context():
        draft = db.session.get(Draft, scene["draft"])
        report = dict(draft.report)
        report["dropped"] = [{**report["dropped"][0], "reason": "no room on any day (old)"}]
        report["notes"] = ["an old note"]
        draft.report = report
        db.session.commit()
    page = ann.get(f"/dispatch/districts/{HOME}/drafts/{scene['draft']}").get_data(as_text=True)
    assert "no room on any day (old)" in page and "an old note" in page
