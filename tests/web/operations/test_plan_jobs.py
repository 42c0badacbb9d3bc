"""Planning in the background from the console, in-process runner (no REDIS_URL): the plan form,
a job running to a draft, joining and refusing a second request, cancel, a job left behind by
a restart, retry, the draft page and access. The RQ worker runs in test_plan_worker.py.

Every test runs on SQLite and on PostgreSQL (the `app` fixture)."""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any

import pytest
from sqlalchemy import select

from tests.web.views.dispatch.test_dispatch import _audit, _token, console, sign_in  # noqa: F401
from web.adapters.maps import map_page
from web.clock import wall_now
from web.db.models import District, Draft, PlanJob
from web.db.store import current_version
from web.extensions import db


def make_finished_job(code: str) -> tuple[int, int]:
    """A succeeded job and its (tiny) draft in district `code`; in an app context."""
    district = db.session.scalar(select(District).where(District.code == code))
    assert district is not None
    job = PlanJob(
        district_id=district.id,
        week="2026-W49",
        options={"time_limit_s": 1, "vans": 1, "weekdays": [0, 1, 2, 3, 4]},
        status="succeeded",
        runner="thread",
        progress=[[0.1, 100], [0.5, 90]],
        log=[],
        actor="ann",
        created_at=wall_now(),
        finished_at=wall_now(),
    )
    report = {
        "visits_planned": 1,
        "visits_asked": 1,
        "visits_dropped": 0,
        "streets": [],
        "dropped": [],
        "notes": [],
        "coverage": {},
    }
    draft = Draft(
        district_id=district.id,
        week="2026-W49",
        job=job,
        options=job.options,
        visits=[],
        report=report,
        template={},
        map_html="<!doctype html><title>map</title>",
        fingerprint="test",
        template_reused=True,
        created_at=wall_now(),
        created_by="ann",
        base_version=current_version(district.id, "2026-W49"),  # planned from what is current
    )
    db.session.add_all([job, draft])
    db.session.commit()
    return job.id, draft.id


def plan(client, code: str = "fangzi", **fields: Any):
    """Post the plan form of district `code` (defaults: next week, 1 s, one van, Mon-Fri)."""
    data: dict[str, Any] = {
        "csrf_token": _token(client, f"/dispatch/districts/{code}"),
        "week": "2026-W49",
        "time_limit": "1",
        "vans": "1",
        "weekdays": ["0", "1", "2", "3", "4"],
    }
    data.update(fields)
    return client.post(f"/dispatch/districts/{code}/plan", data=data)


def job_id_of(response) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return int(re.search(r"/jobs/(\d+)$", response.headers["Location"]).group(1))


def job_state(client, job_id: int, code: str = "fangzi") -> dict:
    r = client.get(f"/dispatch/api/districts/{code}/jobs/{job_id}")
    assert r.status_code == 200, r.get_data(as_text=True)
    return r.get_json()


def wait_for(client, job_id: int, until, timeout: float = 90, code: str = "fangzi") -> dict:
    """Poll the job's JSON as the progress page does until `until(state)` holds."""
    deadline = time.monotonic() + timeout
    while True:
        state = job_state(client, job_id, code)
        if until(state):
            return state
        assert time.monotonic() < deadline, f"job {job_id} stuck: {state}"
        time.sleep(0.3)


def ended(state: dict) -> bool:
    return not state["active"]


def searching(state: dict) -> bool:
    return (state["status"] == "running" and state["improvements"] > 0) or not state["active"]


@pytest.fixture
def ann(app, console):  # noqa: F811
    client = app.test_client()
    assert sign_in(client, "ann").status_code == 302
    return client


def test_the_district_page_offers_the_plan_form_with_next_week(app, ann):
    page = ann.get("/dispatch/districts/fangzi").get_data(as_text=True)
    assert 'action="/dispatch/districts/fangzi/plan"' in page
    assert 'value="2026-W49"' in page, "next week (the tests' clock is in 2026-W48)"
    assert page.count('type="checkbox"') >= 6, "Mon-Sat"
    assert 'name="csrf_token"' in page


def test_bad_plan_forms_say_what_is_wrong_and_start_nothing(app, ann):
    r = plan(ann, week="2026-53x", vans="3", weekdays=[])
    page = r.get_data(as_text=True)
    assert r.status_code == 400
    assert 'id="week-error"' in page and "2026-W49" in page, "how to write a week"
    assert 'id="vans-error"' in page, "more vans than the district has"
    assert page.count('class="field-error"') == 3, "and no working day"
    with app.app_context():
        assert db.session.scalars(select(PlanJob)).all() == []
    r = ann.post("/dispatch/districts/fangzi/plan", data={"week": "2026-W49"})
    assert r.status_code == 400, "no CSRF token"


def test_a_plan_runs_in_process_to_a_draft(app, ann):
    r = plan(ann, time_limit="3", new_template="y")
    job = job_id_of(r)
    page = ann.get(f"/dispatch/districts/fangzi/jobs/{job}").get_data(as_text=True)
    assert 'http-equiv="refresh"' in page, "refreshes itself without script"
    assert "plan-job.js" in page
    # the same week again joins the running job; another week is refused while it runs
    again = plan(ann, time_limit="3", new_template="y")
    assert job_id_of(again) == job
    other = plan(ann, week="2026-W50")
    assert job_id_of(other) == job
    assert "2026-W49" in ann.get(other.headers["Location"]).get_data(as_text=True)

    state = wait_for(ann, job, ended)
    assert state["status"] == "succeeded", state
    assert state["progress"], "the improving objective was recorded"
    values = [v for _t, v in state["progress"]]
    assert values == sorted(values, reverse=True), "it only improves"
    assert state["draft_url"]
    with app.app_context():
        jobs = db.session.scalars(select(PlanJob)).all()
        assert [j.id for j in jobs] == [job], "neither second request made a job"
        draft = db.session.scalars(select(Draft)).one()
        assert draft.week == "2026-W49" and draft.status == "draft"
        assert draft.visits and all(
            map_page(draft.map_html, lang).startswith("<!DOCTYPE html>") for lang in ("zh", "en")
        )
        assert '<html lang="en">' in map_page(draft.map_html, "en")
    actions = [e.action for e in _audit(app, "plan_started") + _audit(app, "plan_finished")]
    assert actions == ["plan_started", "plan_finished"]

    page = ann.get(state["draft_url"]).get_data(as_text=True)
    assert "<iframe" in page and f"/drafts/{draft.id}/map" in page
    assert '<svg class="chart share-chart" role="img"' in page
    assert '<title id="share-title">' in page and '<desc id="share-desc">' in page
    assert 'class="console shares"' in page, "the chart's figures as a table beside it"
    first = draft.visits[0]
    assert first["stop_name"] in page
    assert 'id="by-day"' in page and 'id="dropped-h"' in page
    assert 'id="publish"' in page, "the spot for publishing"
    m = ann.get(f"/dispatch/districts/fangzi/drafts/{draft.id}/map")
    assert m.status_code == 200 and "L.map" in m.get_data(as_text=True)
    assert "frame-ancestors 'self'" in m.headers["Content-Security-Policy"]


def test_cancel_stops_the_search_early(app, ann):
    job = job_id_of(plan(ann, time_limit="60", new_template="y"))
    wait_for(ann, job, searching)
    asked = time.monotonic()
    token = _token(ann, f"/dispatch/districts/fangzi/jobs/{job}")
    r = ann.post(f"/dispatch/districts/fangzi/jobs/{job}/cancel", data={"csrf_token": token})
    assert r.status_code == 302
    state = wait_for(ann, job, ended, timeout=30)
    assert state["status"] == "cancelled"
    assert time.monotonic() - asked < 15, "stopped long before the 60 s limit"
    assert state["draft_id"] is None
    with app.app_context():
        assert db.session.scalars(select(Draft)).all() == []
    (entry,) = _audit(app, "plan_cancelled")
    assert entry.actor == "ann" and entry.details["job"] == job
    page = ann.get(f"/dispatch/districts/fangzi/jobs/{job}").get_data(as_text=True)
    assert "/retry" in page and "/cancel" not in page


def test_a_job_left_running_by_a_restart_fails_and_retries(app, ann):
    """The web process running an in-process job stopped (its heartbeat went quiet): the job
    shows as failed with nothing saved, and Retry plans it again."""
    with app.app_context():
        district = db.session.scalar(select(District).where(District.code == "fangzi"))
        old = wall_now() - dt.timedelta(minutes=10)
        job = PlanJob(
            district_id=district.id,
            week="2026-W49",
            options={"time_limit_s": 1, "vans": 1, "weekdays": [0, 1, 2, 3, 4]},
            status="running",
            runner="thread",
            progress=[[0.2, 1000]],
            log=[],
            actor="ann",
            created_at=old,
            started_at=old,
            heartbeat_at=old,
        )
        db.session.add(job)
        db.session.commit()
        job_id = job.id
    page = ann.get(f"/dispatch/districts/fangzi/jobs/{job_id}").get_data(as_text=True)
    state = job_state(ann, job_id)
    assert state["status"] == "failed"
    assert "nothing was saved" in state["error"]
    assert re.search(r"规划进程已 \d+ 秒无响应，未保存任何内容。", page), "the reader's language"
    assert "/retry" in page
    (failed,) = _audit(app, "plan_failed")
    assert failed.details["job"] == job_id

    token = _token(ann, f"/dispatch/districts/fangzi/jobs/{job_id}")
    r = ann.post(f"/dispatch/districts/fangzi/jobs/{job_id}/retry", data={"csrf_token": token})
    new = job_id_of(r)
    assert new != job_id
    state = wait_for(ann, new, ended)
    assert state["status"] == "succeeded", state
    with app.app_context():
        assert db.session.get(PlanJob, new).retry_of == job_id


def test_planning_errors_show_as_their_message(app, ann, tmp_path):
    """Bad data in the district's folder fails the job with the loader's message."""
    with app.app_context():
        district = db.session.scalar(select(District).where(District.code == "fangzi"))
        district.data_dir = str(tmp_path / "missing")
        db.session.commit()
    job = job_id_of(plan(ann))
    state = wait_for(ann, job, ended)
    assert state["status"] == "failed"
    assert "missing" in state["error"] and "Traceback" not in state["error"]
    page = ann.get(f"/dispatch/districts/fangzi/jobs/{job}").get_data(as_text=True)
    assert "Traceback" not in page and 'class="notice error job-error"' in page


def test_another_districts_jobs_and_drafts_are_out_of_reach(app, console):  # noqa: F811
    with app.app_context():
        home_job, home_draft = make_finished_job("fangzi")
        _county_job, county_draft = make_finished_job("county")
    bo = app.test_client()
    sign_in(bo, "bo")
    for url in (
        f"/dispatch/districts/fangzi/jobs/{home_job}",
        f"/dispatch/api/districts/fangzi/jobs/{home_job}",
        f"/dispatch/districts/fangzi/drafts/{home_draft}",
        f"/dispatch/districts/fangzi/drafts/{home_draft}/map",
    ):
        assert bo.get(url).status_code == 403, url
    token = _token(bo, "/dispatch/districts/county")
    for action in ("cancel", "retry"):
        url = f"/dispatch/districts/fangzi/jobs/{home_job}/{action}"
        assert bo.post(url, data={"csrf_token": token}).status_code == 403
    # the home district's ids under the county's own code are not found, not shown
    for url in (
        f"/dispatch/districts/county/jobs/{home_job}",
        f"/dispatch/api/districts/county/jobs/{home_job}",
        f"/dispatch/districts/county/drafts/{home_draft}",
        f"/dispatch/districts/county/drafts/{home_draft}/map",
    ):
        assert bo.get(url).status_code == 404, url
    assert bo.get(f"/dispatch/districts/county/drafts/{county_draft}").status_code == 200


def test_the_database_holds_one_active_job_per_district(app, console):  # noqa: F811
    """Two requests passing the check at the same moment cannot both start a job: the second
    insert breaks a partial unique index (queued or running), on SQLite and PostgreSQL."""
    from sqlalchemy.exc import IntegrityError

    with app.app_context():
        district = db.session.scalar(select(District).where(District.code == "fangzi"))

        def job(status: str, week: str = "2026-W49") -> PlanJob:
            return PlanJob(
                district_id=district.id,
                week=week,
                options={},
                status=status,
                runner="thread",
                progress=[],
                log=[],
                actor="ann",
                created_at=wall_now(),
            )

        db.session.add_all([job("failed"), job("cancelled"), job("succeeded"), job("running")])
        db.session.commit()
        db.session.add(job("queued", "2026-W50"))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
