"""`routes.plan_week` with recorded demand: learned weights resize visits, and say why."""

from __future__ import annotations

from collections import Counter

from routes.engine import SearchParams
from routes.matrix import CachedProvider, GeodesicProvider
from routes.planner import WeekPlan, plan_week
from routes.problem import PlanSettings, build_week_problem
from taxvan.learning import LearningRules, VisitCounts, learn_weights
from taxvan.messages import from_json


def _records(week: WeekPlan, busy: str, factor: float, weeks: int = 8) -> list[VisitCounts]:
    """Eight weeks of counts at every visited stop in line with its weight, `busy` drawing
    `factor` times as many people."""
    weights = week.problem.weights.stop_remote
    visited = Counter(v.stop_id for v in week.standard.base.demand.visits)
    out = []
    for w in range(40, 40 + weeks):
        for stop_id, count in visited.items():
            people = 0.5 * weights.get(stop_id, 0) * (factor if stop_id == busy else 1.0)
            for _ in range(count):
                per = round(people / count)
                out.append(VisitCounts(stop_id, f"2026-W{w}", per // 2, per // 4, per // 4))
    return out


def _minutes(week: WeekPlan, stop_id: str) -> int:
    return sum(v.dwell for v in week.standard.base.demand.visits if v.stop_id == stop_id)


def test_a_stop_drawing_far_more_than_the_registry_gets_more_minutes_and_says_why(
    demo_week, demo_dataset, matrix_cache
):
    visits = demo_week.standard.base.demand.visits
    street = Counter(v.street_code for v in visits).most_common(1)[0][0]
    busy = min(v.stop_id for v in visits if v.street_code == street)
    provider = CachedProvider(GeodesicProvider(), matrix_cache)
    templates = demo_week.template_path.parent
    learned = plan_week(
        demo_dataset,
        "2026-W49",
        provider,
        params=SearchParams(time_limit_s=2),
        templates=templates,
        records=_records(demo_week, busy, 4.0),
    )
    assert learned.learned is not None and busy in learned.learned.changed
    assert learned.fingerprint != demo_week.fingerprint, "a template of its own"
    assert learned.near is not None, "planned near the template without the records"
    assert _minutes(learned, busy) > _minutes(demo_week, busy)
    notes = [str(from_json(n)) for n in learned.report["notes"]]
    name = next(s.name for s in demo_dataset.stops if s.id == busy)
    assert any(n.startswith(f"{name}: ") and "served a visit" in n for n in notes), notes

    # two weeks fewer of the same counts move the estimate, not the visits: the template stays
    again = plan_week(
        demo_dataset,
        "2026-W50",
        provider,
        params=SearchParams(time_limit_s=2),
        templates=templates,
        records=_records(demo_week, busy, 4.0, weeks=6),
    )
    assert again.template_reused and again.fingerprint == learned.fingerprint

    off = plan_week(
        demo_dataset,
        "2026-W49",
        provider,
        params=SearchParams(time_limit_s=2),
        templates=templates,
        records=_records(demo_week, busy, 4.0),
        learning=LearningRules(enabled=False),
    )
    assert off.fingerprint == demo_week.fingerprint and off.template_reused


def test_demand_in_line_with_the_registry_keeps_the_template(demo_week, demo_dataset, matrix_cache):
    again = plan_week(
        demo_dataset,
        "2026-W49",
        CachedProvider(GeodesicProvider(), matrix_cache),
        params=SearchParams(time_limit_s=2),
        templates=demo_week.template_path.parent,
        records=_records(demo_week, "", 1.0),
    )
    assert again.learned is not None and again.learned.changed == []
    assert again.fingerprint == demo_week.fingerprint and again.template_reused


def test_a_stop_drawing_almost_nobody_keeps_its_weekly_visit(demo_dataset, matrix_cache):
    provider = CachedProvider(GeodesicProvider(), matrix_cache)
    settings = PlanSettings(stop_choice="catchment")
    before = build_week_problem(demo_dataset, "2026-W49", provider, settings, template=True)
    weekly = {v.stop_id for v in before.demand.visits if not v.biweekly}
    weights = before.weights.stop_remote
    street_of = {s.id: s.street_code for s in demo_dataset.stops if weights.get(s.id, 0) > 0}
    quiet = max(weekly & street_of.keys(), key=lambda s: (weights[s], s))
    records = [
        VisitCounts(s, f"2026-W{w}", 0 if s == quiet else round(weights[s] / 2), 0, 0)
        for w in range(40, 48)
        for s in street_of
    ]
    learned = learn_weights(before.weights, records, street_of, LearningRules())
    assert quiet in learned.changed, "nobody came: learned"
    after = build_week_problem(
        demo_dataset, "2026-W49", provider, settings, template=True, learned=learned
    )
    assert weekly <= {v.stop_id for v in after.demand.visits if not v.biweekly}
