"""Adjust and re-solve from the console: the district's adjustments page (pins, excluded stops
and days, visits a week, dwell), refusals at their field with nothing saved, planning with
the adjustments (the draft records them and holds them), the draft's changes to the published
week with their reasons, a pin that cannot hold, and another district's dispatcher refused.

Every test runs on SQLite and on PostgreSQL (the `app` fixture); plans search 1-2 s."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from sqlalchemy import select

from tests.web.operations.test_plan_jobs import ended, job_id_of, make_finished_job, plan, wait_for
from tests.web.views.dispatch.test_dispatch import _audit, _token, console, sign_in  # noqa: F401
from web.db.models import AdjustmentRow, District, Draft, PlanJob, PublishedWeek
from web.extensions import db

HOME = "fangzi"
"""The console fixtures' demo district (ann's), whose 2026-W49 is published."""
PAGE = f"/dispatch/districts/{HOME}/adjustments"


@pytest.fixture
def ann(app, console):  # noqa: F811
    client = app.test_client()
    assert sign_in(client, "ann").status_code == 302
    return client


def add(client, kind: str, code: str = HOME, **fields: Any):
    """Post the adjustments page's form of `kind` (fields without their prefix)."""
    data: dict[str, Any] = {
        "csrf_token": _token(client, f"/dispatch/districts/{code}/adjustments"),
        "kind": kind,
    }
    data.update({f"{kind}-{k}": v for k, v in fields.items()})
    return client.post(f"/dispatch/districts/{code}/adjustments", data=data)


def published(app) -> dict[str, list[tuple[dt.date, int]]]:
    """Weekly stop id -> its published (date, start) in 2026-W49 of the demo district."""
    with app.app_context():
        district = db.session.scalar(select(District).where(District.code == HOME))
        week = db.session.scalar(
            select(PublishedWeek).where(
                PublishedWeek.district_id == district.id, PublishedWeek.week == "2026-W49"
            )
        )
        out: dict[str, list[tuple[dt.date, int]]] = {}
        alternate = {v.stop_id for v in week.visits if v.every_other_week}
        for v in week.visits:
            if v.stop_id not in alternate:  # weekly stops: a pin holds in every week
                out.setdefault(v.stop_id, []).append((v.date, v.start))
        return out


def rows(app) -> list[AdjustmentRow]:
    with app.app_context():
        found = db.session.scalars(select(AdjustmentRow)).all()
        for r in found:
            db.session.expunge(r)
        return list(found)


def the_draft(app, job: int) -> Draft:
    with app.app_context():
        draft = db.session.scalar(select(Draft).where(Draft.job_id == job))
        assert draft is not None
        db.session.expunge(draft)
        return draft


def replan(client, time_limit: str = "2") -> dict:
    job = job_id_of(plan(client, HOME, time_limit=time_limit, adjusted="y"))
    return wait_for(client, job, ended, code=HOME)


def change_rows(page: str, stop_id: str) -> list[str]:
    """The draft page's change rows of `stop_id` (their opening tags and cells)."""
    return re.findall(rf'<tr class="\w+" data-stop="{stop_id}".*?</tr>', page, re.S)


def test_a_pin_added_in_the_console_holds_in_the_new_draft_and_shows_as_moved(app, ann):
    before = published(app)
    # a stop visited once in the published week, pinned to another weekday at 10:00
    stop, [(date, _start)] = next((s, v) for s, v in sorted(before.items()) if len(v) == 1)
    weekday = (date.weekday() + 2) % 5
    page = ann.get(PAGE).get_data(as_text=True)
    assert f'<option value="{stop}">' in page, "the district's stops to choose from"
    assert page.count('<form method="post"') >= 6, "a form per kind (and sign-out)"
    r = add(ann, "pin", stop=stop, weekday=str(weekday), start="10:00", tolerance="0")
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    (row,) = rows(app)
    assert (row.kind, row.stop_id, row.weekday, row.start) == ("pin", stop, weekday, 600)
    (entry,) = _audit(app, "adjustment_add")
    assert entry.actor == "ann" and entry.details["stop_id"] == stop
    listed = ann.get(PAGE).get_data(as_text=True)
    assert "10:00" in listed and 'name="adjustment"' in listed, "listed with a remove button"

    district_page = ann.get(f"/dispatch/districts/{HOME}").get_data(as_text=True)
    assert re.search(r'<input checked[^>]*name="adjusted"', district_page), "ticked by default"
    state = replan(ann)
    assert state["status"] == "succeeded", state
    draft = the_draft(app, state["id"])
    assert draft.options["adjustments"]["pins"] == [
        {"stop_id": stop, "weekday": ["Mon", "Tue", "Wed", "Thu", "Fri"][weekday], "start": "10:00"}
    ], "the draft records what it was planned with"
    mine = [v for v in draft.visits if v["stop_id"] == stop]
    assert [(dt.date.fromisoformat(v["date"]).weekday(), v["start"]) for v in mine] == [
        (weekday, 600)
    ], "the stop is on the pinned weekday at the pinned time"

    page = ann.get(state["draft_url"]).get_data(as_text=True)
    assert "这份草案按以下调整规划" in page, "the draft shows its adjustments"
    (moved,) = change_rows(page, stop)
    assert 'class="moved"' in moved and 'data-reason="pinned"' in moved
    assert "调度员固定" in moved, "the reason in the console's words"
    assert "10:00" in moved and f"{date.strftime('%m-%d')}" in moved, "old -> new day and time"
    counts = re.search(r'class="change-counts".*?</p>', page, re.S).group(0)
    assert re.search(r"\d+ 项未变", counts) and "项移动" in counts
    en = ann.get(state["draft_url"] + "?lang=en").get_data(as_text=True)
    (moved_en,) = change_rows(en, stop)
    assert "pinned by the dispatcher" in moved_en and ">moved<" in moved_en
    assert "unchanged" in en and "Changes to the published timetable" in en


def test_invalid_adjustments_are_refused_at_their_field_and_nothing_is_saved(app, ann):
    stop = sorted(published(app))[0]
    cases = [
        ({"stop": "nowhere", "weekday": "1", "start": "10:00"}, "pin-stop"),
        ({"stop": stop, "weekday": "1", "start": "18:00"}, "pin-start"),
        ({"stop": stop, "weekday": "1", "start": "10:10"}, "pin-start"),
        ({"stop": stop, "weekday": "6", "start": ""}, "pin-weekday"),
        ({"weekday": "1", "start": "10:00"}, "pin-stop"),
    ]
    for fields, field in cases:
        r = add(ann, "pin", tolerance="0", **fields)
        page = r.get_data(as_text=True)
        assert r.status_code == 400, fields
        assert f'id="{field}-error"' in page, (fields, field)
        assert 'aria-invalid="true"' in page
        assert "Traceback" not in page
    page = add(ann, "pin", stop=stop, weekday="1", start="18:00", tolerance="0").get_data(
        as_text=True
    )
    assert "超出班次（" in page and "outside the shift" not in page, "in the page's language"
    ann.get(f"{PAGE}?lang=en")
    page = add(ann, "pin", stop=stop, weekday="1", start="18:00", tolerance="0").get_data(
        as_text=True
    )
    assert "is outside the shift (" in page, "the problem's own words, in English"
    ann.get(f"{PAGE}?lang=zh")
    r = add(ann, "dwell", stop=stop, value="20")
    assert r.status_code == 400 and 'id="dwell-value-error"' in r.get_data(as_text=True)
    r = add(ann, "exclude_day", weekday="6")
    assert r.status_code == 400 and 'id="exclude_day-weekday-error"' in r.get_data(as_text=True)
    # a pinned stop cannot also be excluded: the second is refused, the first kept
    assert add(ann, "pin", stop=stop, weekday="1", tolerance="0").status_code == 302
    r = add(ann, "exclude_stop", stop=stop)
    assert r.status_code == 400 and 'id="exclude_stop-stop-error"' in r.get_data(as_text=True)
    assert [r.kind for r in rows(app)] == ["pin"]
    assert len(_audit(app, "adjustment_add")) == 1
    # without the CSRF token nothing is saved either
    r = ann.post(PAGE, data={"kind": "exclude_day", "exclude_day-weekday": "2"})
    assert r.status_code == 400 and len(rows(app)) == 1


def test_excluded_stops_and_days_are_honoured_and_explained(app, ann):
    before = published(app)
    friday = [s for s, v in before.items() if any(d.weekday() == 4 for d, _s in v)]
    other = next(s for s, v in sorted(before.items()) if all(d.weekday() != 4 for d, _s in v))
    assert add(ann, "exclude_stop", stop=other).status_code == 302
    assert add(ann, "exclude_day", weekday="4").status_code == 302
    state = replan(ann, "1")
    assert state["status"] == "succeeded", state
    draft = the_draft(app, state["id"])
    assert not [v for v in draft.visits if v["stop_id"] == other], "the excluded stop"
    assert not [v for v in draft.visits if dt.date.fromisoformat(v["date"]).weekday() == 4]
    page = ann.get(state["draft_url"]).get_data(as_text=True)
    gone = change_rows(page, other)
    assert gone and all('class="removed"' in g and "stop_excluded" in g for g in gone)
    assert friday and any(
        'data-reason="day_excluded"' in row for s in friday for row in change_rows(page, s)
    )
    # removing one: the row goes, audited
    (stop_row,) = [r for r in rows(app) if r.kind == "exclude_stop"]
    token = _token(ann, PAGE)
    r = ann.post(f"{PAGE}/remove", data={"csrf_token": token, "adjustment": str(stop_row.id)})
    assert r.status_code == 302
    assert [r.kind for r in rows(app)] == ["exclude_day"]
    assert _audit(app, "adjustment_remove")[0].details["stop_id"] == other


def test_a_pin_that_cannot_hold_fails_the_job_naming_it(app, ann):
    a, b = sorted(published(app))[:2]
    assert add(ann, "pin", stop=a, weekday="0", start="10:00", tolerance="0").status_code == 302
    assert add(ann, "pin", stop=b, weekday="0", start="10:00", tolerance="0").status_code == 302
    state = replan(ann, "1")
    assert state["status"] == "failed"
    assert "固定在周一 10:00，无法满足：" in state["error"], state["error"]
    assert state["draft_id"] is None
    page = ann.get(f"/dispatch/districts/{HOME}/jobs/{state['id']}").get_data(as_text=True)
    assert "Traceback" not in page and "无法满足" in page
    with app.app_context():
        assert db.session.scalars(select(Draft)).all() == []
        job = db.session.get(PlanJob, state["id"])
        assert job.options["adjustments"]["pins"], "a retry plans with the same adjustments"


def test_another_districts_dispatcher_is_refused(app, console):  # noqa: F811
    ann = app.test_client()
    sign_in(ann, "ann")
    stop = sorted(published(app))[0]
    assert add(ann, "exclude_stop", stop=stop).status_code == 302
    (row,) = rows(app)
    bo = app.test_client()
    sign_in(bo, "bo")
    token = _token(bo, "/dispatch/districts/county")
    assert bo.get(PAGE).status_code == 403
    r = bo.post(PAGE, data={"csrf_token": token, "kind": "exclude_day", "exclude_day-weekday": "1"})
    assert r.status_code == 403
    r = bo.post(f"{PAGE}/remove", data={"csrf_token": token, "adjustment": str(row.id)})
    assert r.status_code == 403
    # under bo's own district the demo district's row is not found
    r = bo.post(
        "/dispatch/districts/county/adjustments/remove",
        data={"csrf_token": token, "adjustment": str(row.id)},
    )
    assert r.status_code == 302 and len(rows(app)) == 1
    county = bo.get("/dispatch/districts/county/adjustments").get_data(as_text=True)
    assert f'value="{stop}"' not in county, "only the county's own stops to choose"


def test_a_draft_of_an_unpublished_week_says_so(app, ann):
    with app.app_context():
        _job, draft_id = make_finished_job(HOME)
        draft = db.session.get(Draft, draft_id)
        draft.week = "2026-W50"
        db.session.commit()
    page = ann.get(f"/dispatch/districts/{HOME}/drafts/{draft_id}").get_data(as_text=True)
    assert 'class="no-published"' in page and "2026-W50" in page
    assert "这份草案未使用调整规划" in page
    assert 'name="adjusted" value="y"' in page, "re-plan with the district's adjustments"


def test_every_problem_the_domain_names_is_said_in_chinese(app):
    """Each message template of `AdjustmentProblem.of` in taxvan is listed for Babel and has a
    Chinese text with the same fields, so no adjustment problem reaches the Chinese console in
    English (a new one without a translation fails here)."""
    import ast
    import string
    from pathlib import Path

    from flask_babel import force_locale, gettext

    import routes.weekly
    import taxvan.adjustments
    from web.operations.adjustments import PIN_REASONS, PROBLEM_TEXTS

    tree = ast.parse(Path(taxvan.adjustments.__file__).read_text("utf-8"))
    used = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "attr", getattr(node.func, "id", ""))
        args = node.args
        if name == "of" and len(args) >= 2 and isinstance(args[1], ast.Constant):
            used.add(args[1].value)
        elif name == "problem" and args and isinstance(args[0], ast.Constant):
            used.add(args[0].value)
    listed = {t._args[0] for t in PROBLEM_TEXTS}  # the msgids of the lazy strings
    assert used and used <= listed, used - listed
    reasons = set()
    for node in ast.walk(ast.parse(Path(routes.weekly.__file__).read_text("utf-8"))):
        called = isinstance(node, ast.Call) and getattr(node.func, "id", "") == "pin_error"
        if called and len(node.args) >= 3 and isinstance(node.args[2], ast.Constant):
            reasons.add(node.args[2].value)
        chosen = isinstance(node, ast.Tuple) and node.elts  # a reason chosen before the call
        if chosen and isinstance(node.elts[0], ast.Constant) and "{" in str(node.elts[0].value):
            reasons.add(node.elts[0].value)
    assert reasons and reasons <= {t._args[0] for t in PIN_REASONS}, reasons
    used |= reasons

    def fields(text: str) -> set[str]:
        return {f for _, f, _, _ in string.Formatter().parse(text) if f}

    with app.test_request_context(), force_locale("zh"):
        for template in used:
            chinese = gettext(template)
            assert chinese != template, template
            assert fields(chinese) == fields(template), template
