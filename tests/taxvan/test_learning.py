"""Weights learned from recorded demand: they move only on strong evidence, and say why."""

from __future__ import annotations

import random

from taxvan.demand import week_demand
from taxvan.learning import LearningRules, VisitCounts, learn_weights, visit_changes
from taxvan.places import Stop, StopKind, Street
from taxvan.weights import Weights

STOPS = {"A-1": "A", "A-2": "A", "B-1": "B", "B-2": "B"}
REMOTE = {"A-1": 40, "A-2": 40, "B-1": 40, "B-2": 40}


def _weights() -> Weights:
    return Weights(
        street_remote={"A": 80, "B": 80},
        stop_remote=dict(REMOTE),
        stop_all=dict(REMOTE),
        total_taxpayers=400,
        total_remote=160,
    )


def _records(rate: dict[str, float], weeks: int, seed: int = 1) -> list[VisitCounts]:
    """Poisson-ish weekly demand per stop, one visit a week, split into its three kinds."""
    rng = random.Random(seed)
    out = []
    for w in range(weeks):
        for stop_id, lam in rate.items():
            people = sum(1 for _ in range(int(lam * 4)) if rng.random() < 0.25)
            turned = people // 10
            walk_ins = (people - turned) * 3 // 10
            out.append(
                VisitCounts(
                    stop_id, f"2026-W{w + 1:02d}", people - turned - walk_ins, walk_ins, turned
                )
            )
    return out


def test_demand_in_line_with_the_registry_changes_no_weight() -> None:
    learned = learn_weights(_weights(), _records(dict.fromkeys(STOPS, 10.0), 8), STOPS)
    assert learned.changed == []
    assert learned.weights == _weights()


def test_a_stop_drawing_three_times_its_share_gets_more_of_the_week_and_the_total_stays() -> None:
    rate = {"A-1": 30.0, "A-2": 10.0, "B-1": 10.0, "B-2": 10.0}
    learned = learn_weights(_weights(), _records(rate, 8), STOPS)
    assert learned.changed == ["A-1"]
    w = learned.weights
    assert w.stop_remote["A-1"] > 2 * w.stop_remote["A-2"]
    assert sum(w.stop_remote.values()) == sum(REMOTE.values())
    assert w.street_remote["A"] > w.street_remote["B"]
    assert w.street_remote["A"] == w.stop_remote["A-1"] + w.stop_remote["A-2"]


def test_too_few_weeks_or_learning_off_keep_the_registry() -> None:
    rate = {"A-1": 30.0, "A-2": 10.0, "B-1": 10.0, "B-2": 10.0}
    assert learn_weights(_weights(), _records(rate, 3), STOPS).changed == []
    off = learn_weights(_weights(), _records(rate, 8), STOPS, LearningRules(enabled=False))
    assert off.weights == _weights()


def test_only_the_window_counts() -> None:
    """Eight old weeks of a crowd, then eight ordinary ones: the crowd is forgotten."""
    crowd = _records({"A-1": 30.0, "A-2": 10.0, "B-1": 10.0, "B-2": 10.0}, 8)
    ordinary = [
        VisitCounts(
            r.stop_id, f"2026-W{int(r.week[-2:]) + 8:02d}", r.booked, r.walk_ins, r.turned_away
        )
        for r in _records(dict.fromkeys(STOPS, 10.0), 8, seed=2)
    ]
    assert learn_weights(_weights(), crowd + ordinary, STOPS).changed == []


def test_the_change_is_explained_in_words() -> None:
    streets = [Street("A", "A", "A", True), Street("B", "B", "B", True)]
    stops = [Stop(s, f"stop {s}", c, StopKind.VILLAGE, 36.5, 119.3) for s, c in STOPS.items()]
    rate = {"A-1": 30.0, "A-2": 10.0, "B-1": 10.0, "B-2": 10.0}
    learned = learn_weights(_weights(), _records(rate, 8), STOPS)
    before = week_demand(streets, stops, _weights(), 600, 5, None)
    after = week_demand(streets, stops, learned.weights, 600, 5, None)
    names = {s.id: s.name for s in stops}
    reasons = [str(m) for m in visit_changes(before, after, learned, names)]
    assert len(reasons) >= 1
    assert reasons[0].startswith("stop A-1: one visit of ")
    assert "last 8 weeks averaged" in reasons[0] and "turned away a visit" in reasons[0]


def test_a_street_moves_by_what_its_stops_moved_from_its_own_count() -> None:
    """Streets count remote taxpayers where they live, stops where they are nearest: a
    street's learned weight is its own count moved by its stops' change, not their sum."""
    registry = Weights(
        street_remote={"A": 100, "B": 60},
        stop_remote=dict(REMOTE),
        stop_all=dict(REMOTE),
        total_taxpayers=400,
        total_remote=160,
    )
    rate = {"A-1": 10.0, "A-2": 10.0, "B-1": 30.0, "B-2": 10.0}
    learned = learn_weights(registry, _records(rate, 8), STOPS)
    assert "B-1" in learned.changed
    w = learned.weights
    moved_a = sum(w.stop_remote[s] - REMOTE[s] for s in ("A-1", "A-2"))
    moved_b = sum(w.stop_remote[s] - REMOTE[s] for s in ("B-1", "B-2"))
    assert w.street_remote == {"A": 100 + moved_a, "B": 60 + moved_b}
