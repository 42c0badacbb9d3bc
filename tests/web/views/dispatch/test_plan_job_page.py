"""The plan job page: a back link, a cancel that asks first (by a page of its own, so it works
without script), and a cost chart that starts at the first plan serving every visit it must,
with its axes labelled in units."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.web.views.dispatch.test_dispatch import _token, console, sign_in  # noqa: F401  (fixture)
from web.clock import wall_now
from web.db.models import District, PlanJob
from web.extensions import db

pytestmark = pytest.mark.usefixtures("console")

PROGRESS = [[0.1, 10_500_000_000], [0.4, 2_100_000], [1.5, 1_900_000], [3.0, 1_812_345]]
"""A search's improvements: the first plan left a visit out that the week must serve."""


def _running_job(app) -> int:
    with app.app_context():
        district = db.session.scalar(select(District).where(District.code == "fangzi"))
        now = wall_now()
        job = PlanJob(
            district_id=district.id,
            week="2026-W49",
            options={"time_limit_s": 10, "vans": 1, "weekdays": [0, 1, 2, 3, 4]},
            status="running",
            runner="thread",
            progress=PROGRESS,
            log=[],
            actor="ann",
            created_at=now,
            started_at=now,
            heartbeat_at=now,
        )
        db.session.add(job)
        db.session.commit()
        return job.id


def _cancel_requested(app, job_id: int) -> bool:
    with app.app_context():
        return bool(db.session.get(PlanJob, job_id).cancel_requested)


def test_cancel_is_not_the_back_button_and_asks_first(app):
    job = _running_job(app)
    ann = app.test_client()
    sign_in(ann, "ann")
    url = f"/dispatch/districts/fangzi/jobs/{job}"
    page = ann.get(url).get_data(as_text=True)
    assert '<a href="/dispatch/districts/fangzi">← 返回' in page, "a plain back link"
    assert ">返回</button>" not in page, "no button that reads Back"
    assert 'method="post" action="' + url + '/cancel"' not in page, "one click does not cancel"
    assert f'href="{url}/cancel">取消规划…</a>' in page

    ask = ann.get(url + "/cancel").get_data(as_text=True)
    assert "取消 2026-W49 的规划？" in ask and "确定取消规划" in ask and "不，继续规划" in ask
    assert not _cancel_requested(app, job), "asking cancels nothing"
    token = _token(ann, url + "/cancel")
    r = ann.post(url + "/cancel", data={"csrf_token": token})
    assert r.status_code == 302
    assert _cancel_requested(app, job)


def test_the_cost_chart_starts_at_the_first_plan_serving_every_visit(app):
    job = _running_job(app)
    ann = app.test_client()
    sign_in(ann, "ann")
    page = ann.get(f"/dispatch/districts/fangzi/jobs/{job}").get_data(as_text=True)
    chart = page.split('<svg class="chart progress-chart"', 1)[1].split("</svg>", 1)[0]
    assert "搜索时间（秒）" in chart and "成本（行驶米数加罚分）" in chart, "axes with units"
    assert "10.5G" not in chart and "10,500,000" not in chart
    assert "2,100k" in chart and "1,812k" in chart
    line = re.search(r'class="progress-line" points="([^"]*)"', chart).group(1)
    ys = [float(p.split(",")[1]) for p in line.split()]
    assert max(ys) - min(ys) > 100, "the improvements after the first full plan are visible"
    assert "此前的 1 个方案遗漏了必需服务" in page
