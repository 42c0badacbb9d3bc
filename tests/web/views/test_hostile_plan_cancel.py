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
