"""Weights learned from what happened at the stops, smoothed against the registry.

The registry says how many remote taxpayers live nearest each stop; it does not say how many
come. Once the crew records each visit (bookings, walk-ins, people turned away), a stop's
weekly demand can be estimated from those counts. A few weeks of counts are noisy, so the
estimate is shrunk towards what the registry predicts (empirical Bayes, gamma-Poisson):

- The registry's prior for stop s is `mu_s = alpha * remote_s` people a week, where `alpha`
  (people a week per remote taxpayer) is the median over the recorded stops.
- Weekly demand is Poisson around the stop's true rate, and the true rates scatter around
  their priors as a gamma with mean `mu_s` and variance `mu_s / k`. `k`, the prior's weight
  in weeks, is estimated by the method of moments from how far the stops' observed rates
  stray from their priors beyond what Poisson noise explains.
- The posterior mean is `(k * mu_s + total_s) / (k + weeks_s)`.

A stop's weight changes only when it has enough weeks of records and the evidence passes a
threshold (the posterior lies at least `z` standard deviations and `min_change` away from the
prior), so the template does not wobble from one week's noise. Learned weights keep the
registry's total, so the week's minutes are shared differently, never more of them.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from taxvan.apportion import apportion
from taxvan.demand import WeekDemand
from taxvan.messages import N_, Message, message
from taxvan.weights import Weights


@dataclass(frozen=True, slots=True)
class VisitCounts:
    """What one held visit recorded: the people who asked for the van there that day."""

    stop_id: str
    week: str
    """ISO week, e.g. "2026-W49": visits of one stop in one week add up."""
    booked: int
    walk_ins: int
    turned_away: int

    @property
    def demand(self) -> int:
        return self.booked + self.walk_ins + self.turned_away


@dataclass(frozen=True, slots=True)
class LearningRules:
    """When recorded demand may replace the registry's weight for a stop."""

    enabled: bool = True
    window_weeks: int = 8
    """Only the most recent weeks of records count."""
    min_weeks: int = 4
    """A stop needs this many weeks with records before its weight may change."""
    z: float = 2.0
    """The posterior must lie this many of its standard deviations from the prior."""
    min_change: float = 0.2
    """... and differ from it by at least this fraction."""
    prior_weeks_bounds: tuple[float, float] = (1.0, 26.0)
    """Bounds of the estimated prior weight `k`, in weeks."""


@dataclass(frozen=True, slots=True)
class StopEvidence:
    """One stop's recorded demand over the window, and what it did to the stop's weight."""

    stop_id: str
    weeks: int
    visits: int
    booked: int
    walk_ins: int
    turned_away: int
    prior: float
    """People a week the registry predicts."""
    posterior: float
    """People a week after the records."""
    learned: bool
    """Whether the stop's weight follows the records (the evidence passed the threshold)."""

    @property
    def served_per_visit(self) -> float:
        return (self.booked + self.walk_ins) / self.visits if self.visits else 0.0

    @property
    def walk_in_share(self) -> float:
        served = self.booked + self.walk_ins
        return self.walk_ins / served if served else 0.0

    @property
    def turned_away_per_visit(self) -> float:
        return self.turned_away / self.visits if self.visits else 0.0

    def summary(self) -> Message:
        """The evidence in words, e.g. "last 8 weeks averaged 11 served a visit, …"."""
        return message(
            N_(
                "last %(weeks)s weeks averaged %(served)s served a visit, %(walk_ins)s %% "
                "walk-ins, %(turned)s turned away a visit"
            ),
            weeks=self.weeks,
            served=_figure(self.served_per_visit),
            walk_ins=round(100 * self.walk_in_share),
            turned=_figure(self.turned_away_per_visit),
        )


@dataclass(frozen=True, slots=True)
class LearnedWeights:
    """Weights to plan with, and the evidence for every stop that has records."""

    weights: Weights
    evidence: Mapping[str, StopEvidence] = field(default_factory=dict)
    prior_weeks: float | None = None
    """The estimated `k`; None when nothing was learned."""
    registry: Mapping[str, int] = field(default_factory=dict)
    """The registry's stop weights the learned ones replace."""

    @property
    def changed(self) -> list[str]:
        return sorted(s for s, e in self.evidence.items() if e.learned)


def learn_weights(
    weights: Weights,
    records: Iterable[VisitCounts],
    street_of: Mapping[str, str],
    rules: LearningRules | None = None,
) -> LearnedWeights:
    """The registry's `weights` with recorded demand folded in, where the evidence is strong.

    `street_of` maps each stop id to its street code; stops not in it are ignored. Streets'
    weights become the sum of their stops' weights, in the registry's units (the learned
    weights add up to the registry's total of remote taxpayers).
    """
    rules = rules or LearningRules()
    weekly = _weekly_demand(records, street_of, rules.window_weeks)
    if not rules.enabled or not weekly:
        return LearnedWeights(weights)
    alpha = _people_per_taxpayer(weights, weekly)
    if alpha <= 0:
        return LearnedWeights(weights)
    prior = {s: alpha * weights.stop_remote.get(s, 0) for s in street_of}
    k = _prior_weeks(prior, weekly, rules)
    evidence = {
        s: _evidence(s, prior[s], k, by_week, rules) for s, by_week in weekly.items() if s in prior
    }
    rate = {
        s: (evidence[s].posterior if s in evidence and evidence[s].learned else p)
        for s, p in prior.items()
    }
    if not any(e.learned for e in evidence.values()):
        return LearnedWeights(weights, evidence, k, weights.stop_remote)
    total = sum(weights.stop_remote.get(s, 0) for s in street_of)
    stop_weight = apportion(total, rate) if total and sum(rate.values()) > 0 else {}
    # A street's weight moves by what its stops' weights moved: its remote taxpayers are
    # counted by where they live, its stops' by the stop they are nearest to.
    street_weight: dict[str, int] = dict(weights.street_remote)
    for stop_id, w in stop_weight.items():
        code = street_of[stop_id]
        moved = w - weights.stop_remote.get(stop_id, 0)
        street_weight[code] = max(0, street_weight.get(code, 0) + moved)
    learned = Weights(
        street_remote=street_weight,
        stop_remote={**weights.stop_remote, **stop_weight},
        stop_all=weights.stop_all,
        total_taxpayers=weights.total_taxpayers,
        total_remote=weights.total_remote,
    )
    return LearnedWeights(learned, evidence, k, weights.stop_remote)


def visit_changes(
    before: WeekDemand,
    after: WeekDemand,
    learned: LearnedWeights,
    names: Mapping[str, str],
) -> list[Message]:
    """Why each learned stop's visits changed, in words, e.g.
    "P: visit 45 → 60 min: last 8 weeks averaged 11 served a visit, …"."""
    out = []
    for stop_id in learned.changed:
        old = _pattern(before, stop_id)
        new = _pattern(after, stop_id)
        if old == new:
            continue
        out.append(
            message(
                N_("%(stop)s: %(old)s → %(new)s: %(evidence)s"),
                stop=names.get(stop_id, stop_id),
                old=_pattern_words(old),
                new=_pattern_words(new),
                evidence=learned.evidence[stop_id].summary(),
            )
        )
    return out


def _weekly_demand(
    records: Iterable[VisitCounts], street_of: Mapping[str, str], window_weeks: int
) -> dict[str, dict[str, list[VisitCounts]]]:
    """stop -> week -> its visits' counts, for the last `window_weeks` weeks with records."""
    by_stop: dict[str, dict[str, list[VisitCounts]]] = defaultdict(lambda: defaultdict(list))
    kept = [r for r in records if r.stop_id in street_of]
    weeks = sorted({r.week for r in kept})[-window_weeks:] if window_weeks > 0 else []
    recent = set(weeks)
    for r in kept:
        if r.week in recent:
            by_stop[r.stop_id][r.week].append(r)
    return {s: dict(w) for s, w in by_stop.items()}


def _people_per_taxpayer(
    weights: Weights, weekly: Mapping[str, Mapping[str, list[VisitCounts]]]
) -> float:
    """People a week per remote taxpayer: the median over the stops with records.

    The median, not the pooled mean, so that a few stops drawing far more (or fewer) people
    than the registry says do not move every other stop's prior with them.
    """
    ratios = [
        sum(r.demand for v in by_week.values() for r in v) / len(by_week) / weights.stop_remote[s]
        for s, by_week in weekly.items()
        if weights.stop_remote.get(s, 0) > 0
    ]
    return statistics.median(ratios) if ratios else 0.0


def _prior_weeks(
    prior: Mapping[str, float],
    weekly: Mapping[str, Mapping[str, list[VisitCounts]]],
    rules: LearningRules,
) -> float:
    """The prior's weight `k` in weeks, by the method of moments.

    For a stop with prior `mu` and `n` weeks at observed rate `r`, E[(r - mu)^2] is
    `mu / k` (how far true rates stray from the registry) plus `mu / n` (Poisson noise).
    """
    excess, scale = 0.0, 0.0
    for stop_id, by_week in weekly.items():
        mu = prior.get(stop_id, 0.0)
        if mu <= 0:
            continue
        n = len(by_week)
        rate = sum(r.demand for v in by_week.values() for r in v) / n
        excess += (rate - mu) ** 2 - mu / n
        scale += mu
    low, high = rules.prior_weeks_bounds
    if scale <= 0 or excess <= 0:
        return high
    return min(high, max(low, scale / excess))


def _evidence(
    stop_id: str,
    mu: float,
    k: float,
    by_week: Mapping[str, list[VisitCounts]],
    rules: LearningRules,
) -> StopEvidence:
    visits = [r for v in by_week.values() for r in v]
    n = len(by_week)
    total = sum(r.demand for r in visits)
    posterior = (k * mu + total) / (k + n)
    sd = math.sqrt(posterior / (k + n)) if posterior > 0 else 0.0
    far = abs(posterior - mu) >= rules.z * sd and sd > 0
    big = abs(posterior - mu) >= rules.min_change * mu if mu > 0 else posterior > 0
    return StopEvidence(
        stop_id=stop_id,
        weeks=n,
        visits=len(visits),
        booked=sum(r.booked for r in visits),
        walk_ins=sum(r.walk_ins for r in visits),
        turned_away=sum(r.turned_away for r in visits),
        prior=mu,
        posterior=posterior,
        learned=n >= rules.min_weeks and far and big,
    )


def _pattern(demand: WeekDemand, stop_id: str) -> tuple[int, int]:
    """(visits a week, minutes a visit) of one stop in a week's demand; (0, 0) if none."""
    visits = [v for v in demand.visits if v.stop_id == stop_id]
    return (len(visits), visits[0].dwell) if visits else (0, 0)


def _pattern_words(pattern: tuple[int, int]) -> Message:
    count, dwell = pattern
    if count == 0:
        return message(N_("no visit"))
    if count == 1:
        return message(N_("one visit of %(minutes)s min"), minutes=dwell)
    return message(N_("%(count)s visits of %(minutes)s min"), count=count, minutes=dwell)


def _figure(x: float) -> str:
    """A count averaged over visits, as a person would say it: 11, 2.5."""
    return f"{x:.0f}" if x >= 10 or x == int(x) else f"{x:.1f}"
