"""Plans that learn: the crew's records (made through `record_visit`) flow into the next plan
job's draft, which gives a stop recorded far busier than the registry says more minutes and
says why; with learning off the records change nothing. On SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import uuid
from collections import Counter

from sqlalchemy import select

from tests.web.operations.test_plan_jobs import (  # noqa: F401
    ann,
    ended,
    job_id_of,
    plan,
    wait_for,
)
from tests.web.operations.test_records import on_the_day
from tests.web.views.dispatch.test_dispatch import console  # noqa: F401
from web.db.models import District, Draft
from web.db.store import current_week
from web.extensions import db
from web.operations.records import VisitReport, WalkInCount, record_visit


def _draft(app, state: dict) -> dict[str, int]:
    """Minutes a week per stop in the draft the job made."""
    assert state["status"] == "succeeded", state
    with app.app_context():
        draft = db.session.scalars(select(Draft).order_by(Draft.id.desc())).first()
        minutes: Counter[str] = Counter()
        for v in draft.visits:
            minutes[v["stop_id"]] += v["end"] - v["start"]
        return dict(minutes)


def _plan(app, client) -> tuple[dict[str, int], str]:
    state = wait_for(client, job_id_of(plan(client, week="2026-W50", time_limit="2")), ended)
    return _draft(app, state), client.get(state["draft_url"]).get_data(as_text=True)


def _record_week(app, busy: str) -> str:
    """Record every visit of the published 2026-W49: a few people each, `busy` crowded."""
    with app.app_context():
        district = db.session.scalar(select(District).order_by(District.id))
        name = ""
        for visit in current_week("2026-W49", district).visits:
            crowded = visit.stop_id == busy
            name = visit.stop.name if crowded else name
            record_visit(
                district,
                VisitReport(
                    client_id=str(uuid.uuid4()),
                    visit_id=visit.id,
                    walk_ins=(WalkInCount("consult", 30 if crowded else 2),),
                    turned_away=25 if crowded else 0,
                ),
                None,
                actor="crew",
                now=on_the_day(visit),
            )
        return name


def test_recorded_demand_lengthens_a_busy_stop_and_the_draft_says_why(app, ann):  # noqa: F811
    cfg = app.config["TAXVAN"]
    app.config["TAXVAN"] = dataclasses.replace(cfg, learning=False, learning_min_weeks=1)
    before, _ = _plan(app, ann)
    with app.app_context():
        district = db.session.scalar(select(District).order_by(District.id))
        recorded = {v.stop_id for v in current_week("2026-W49", district).visits}
    busy = min(s for s in before if s in recorded)
    name = _record_week(app, busy)

    off, page = _plan(app, ann)
    assert off == before, "learning off: the records change nothing"
    assert "近 1 周平均" not in page

    app.config["TAXVAN"] = dataclasses.replace(cfg, learning=True, learning_min_weeks=1)
    on, page = _plan(app, ann)
    assert on[busy] > before[busy], (before, on)
    assert f"{name}：" in page and "近 1 周平均每次服务" in page, "why, in Chinese"
