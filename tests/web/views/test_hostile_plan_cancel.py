"""The plan job's cancel under attack: only a POST with its token cancels, and only a job of
the district the URL names. On SQLite and PostgreSQL (the `app` fixture)."""

from __future__ import annotations

import pytest

from tests.web.views.dispatch.test_dispatch import (  # noqa: F401  (fixtures)
    _token,
    console,
    sign_in,
)
from tests.web.views.dispatch.test_plan_job_page import _cancel_requested, _running_job

pytestmark = pytest.mark.usefixtures("console")


def test_a_job_is_cancelled_only_by_its_district_s_post_with_its_token(app):
    job = _running_job(app)
    url = f"/dispatch/districts/fangzi/jobs/{job}/cancel"
    bo = app.test_client()
    sign_in(bo, "bo")  # the county's dispatcher
    token = _token(bo, "/dispatch/districts/county")
    assert bo.post(url, data={"csrf_token": token}).status_code == 403
    other = f"/dispatch/districts/county/jobs/{job}/cancel"
    assert bo.post(other, data={"csrf_token": token}).status_code == 404, "not the county's job"
    assert bo.get(other).status_code == 404
    root = app.test_client()
    sign_in(root, "root")
    token = _token(root, url)
    assert root.post(other, data={"csrf_token": token}).status_code == 404
    ann = app.test_client()
    sign_in(ann, "ann")
    assert ann.post(url).status_code == 400, "no token"
    assert ann.post(url, data={"csrf_token": "forged"}).status_code == 400
    assert ann.get(url).status_code == 200, "a GET only asks"
    assert not _cancel_requested(app, job)


def test_a_cancel_racing_the_job_s_start_does_not_end_a_running_search(app):
    """The page loaded the job while it was queued; a worker started it before the cancel was
    saved: the search is asked to stop (it stops within seconds), not marked ended while it
    still runs."""
    from sqlalchemy import select, update

    from web.db.models import PlanJob, User
    from web.extensions import db
    from web.operations import plan_jobs

    job_id = _running_job(app)
    with app.app_context():
        db.session.execute(update(PlanJob).values(status="queued", started_at=None))
        db.session.commit()
        job = db.session.get(PlanJob, job_id)
        assert job.status == "queued"  # as the page read it
        with db.engine.begin() as worker:  # the worker starts it meanwhile
            worker.execute(update(PlanJob).values(status="running"))
        ann = db.session.scalar(select(User).where(User.name == "ann"))
        plan_jobs.cancel(job, ann)
    with app.app_context():
        job = db.session.get(PlanJob, job_id)
        assert (job.status, job.cancel_requested, job.finished_at) == ("running", True, None)
