"""Visit demand: how the week's service time is shared out over streets, stops and visits.

1. Streets get a share of the week's service minutes proportional to their remote
   taxpayers (exact-sum apportionment on the 15-minute grid, at least one shortest visit
   each).
2. Within a street the minutes go to its stops by catchment weight; a stop gets 0-3 visits
   a week of a dwell within bounds on the grid, or one visit every other week when its share
   is too small for a weekly one. Stops too small even for that give their time back. One
   weekly visit per street is its minimum visit (`must_serve`), which the planner keeps
   before any other, so every served street is visited every week.
3. Repeated visits to one stop must lie at least `min_gap_days` working days apart.

Step 2 can instead start from a choice of stops made for coverage (`StopChoice`, see
`taxvan.coverage`): a chooser picks which stops of each street get visits, given the
street's minutes, and only then are the visits sized (`share_chosen`).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from taxvan.apportion import apportion
from taxvan.clock import GRID_MINUTES
from taxvan.messages import N_, Message, message
from taxvan.places import Stop, Street
from taxvan.weights import Weights


@dataclass(frozen=True, slots=True)
class DemandRules:
    """Bounds of the visit pattern; the defaults follow the brief."""

    min_dwell: int = 45
    max_dwell: int = 180
    max_visits_per_week: int = 3
    grid: int = GRID_MINUTES
    allow_biweekly: bool = True

    def __post_init__(self) -> None:
        if self.min_dwell % self.grid or self.max_dwell % self.grid:
            raise ValueError("dwell bounds must lie on the time grid")
        if not 0 < self.min_dwell <= self.max_dwell:
            raise ValueError("the shortest dwell must be positive and not above the longest")
        if not 1 <= self.max_visits_per_week <= 7:
            raise ValueError("visits per week must be between 1 and 7")


@dataclass(frozen=True, slots=True)
class VisitDemand:
    """One visit the week asks for: the `index`-th of `count` visits to a stop."""

    stop_id: str
    street_code: str
    index: int
    count: int
    dwell: int
    remote_served: float
    """Remote taxpayers this visit stands for (the stop's weight over its visits)."""
    min_gap_days: int
    biweekly: bool = False
    must_serve: bool = False
    """The street's minimum visit: every served street gets at least one visit a week, so
    the planner holds this one before anything else (it is never the first to give way)."""
    pin_weekday: int | None = None
    """Set when the dispatcher pinned this visit to a weekday (Monday = 0): the planner puts
    it on that weekday's route or fails naming the pin (`taxvan.adjustments`)."""
    pin_window: tuple[int, int] | None = None
    """(earliest, latest) start in minutes when the pin also fixes the time."""

    @property
    def key(self) -> str:
        return f"{self.stop_id}#{self.index + 1}"


@dataclass(frozen=True, slots=True)
class WeekDemand:
    """All visits asked for in one week, and the targets they came from."""

    visits: tuple[VisitDemand, ...]
    street_target_minutes: dict[str, int]
    street_target_share: dict[str, float]
    budget_minutes: int
    notes: tuple[Message | str, ...] = field(default_factory=tuple)

    def minutes_by_street(self) -> dict[str, int]:
        out = dict.fromkeys(self.street_target_minutes, 0)
        for v in self.visits:
            out[v.street_code] = out.get(v.street_code, 0) + v.dwell
        return out


def biweekly_in_week(stop_id: str, iso_week_number: int) -> bool:
    """Whether an every-other-week stop is due in this ISO week.

    The parity comes from the stop id, so stops alternate and the pattern is stable from one
    planning run to the next.
    """
    return iso_week_number % 2 == zlib.crc32(stop_id.encode()) % 2


def min_gap_days(count: int, working_days: int) -> int:
    """Working days that must lie between repeated visits to one stop.

    Even spreading would ask for `(days - 1) // (count - 1)`, which for two visits in five
    days allows only Monday and Friday; `ceil(days / count)` leaves the planner a choice
    (Mon/Thu, Tue/Fri, Mon/Fri) while keeping the visits well apart.
    """
    if count <= 1:
        return 0
    return max(1, min((working_days - 1) // (count - 1), -(-working_days // count)))


def _stop_pattern(minutes: int, rules: DemandRules) -> tuple[int, int, bool]:
    """(visits, dwell, biweekly) for a stop's weekly minutes; (0, 0, False) if too small."""
    if minutes >= rules.min_dwell:
        count = min(rules.max_visits_per_week, -(-minutes // rules.max_dwell))
        dwell = minutes / count
        dwell = round(dwell / rules.grid) * rules.grid
        dwell = max(rules.min_dwell, min(rules.max_dwell, dwell))
        return count, int(dwell), False
    if rules.allow_biweekly and 2 * minutes >= rules.min_dwell:
        return 1, rules.min_dwell, True
    return 0, 0, False


def share_street(
    minutes: int,
    stops: Sequence[Stop],
    weights: Weights,
    rules: DemandRules,
    need_weekly: bool = True,
) -> dict[str, tuple[int, int, bool]]:
    """Share one street's weekly minutes over its stops: stop id -> (visits, dwell, biweekly).

    Stops whose share is too small even for a visit every other week drop out and their
    minutes are shared again among the rest, so the street keeps its whole share. With
    `need_weekly`, at least one stop is visited every week (the street's minimum visit): if
    the shares would make them all every-other-week stops, the heaviest gets one shortest
    weekly visit and the rest share what is left.
    """
    candidates = [s for s in stops if weights.stop_remote.get(s.id, 0) > 0]
    if not candidates and stops:
        # No remote taxpayer is nearest to any stop here: serve the busiest stop anyway,
        # since every served street gets at least one visit.
        candidates = [max(stops, key=lambda s: (weights.stop_all.get(s.id, 0), s.id))]
        stop_weight = {candidates[0].id: 1.0}
    else:
        stop_weight = {s.id: float(weights.stop_remote[s.id]) for s in candidates}
    units = minutes // rules.grid
    while candidates:
        shares = apportion(units, {s.id: stop_weight[s.id] for s in candidates})
        patterns = {sid: _stop_pattern(u * rules.grid, rules) for sid, u in shares.items()}
        empty = [s for s in candidates if patterns[s.id][0] == 0]
        if not empty and need_weekly and all(p[2] for p in patterns.values()):
            best = max(candidates, key=lambda s: (stop_weight[s.id], s.id))
            out = {best.id: (1, rules.min_dwell, False)}
            others = [s for s in candidates if s.id != best.id]
            if others and minutes > rules.min_dwell:
                out.update(share_street(minutes - rules.min_dwell, others, weights, rules, False))
            return out
        if not empty:
            return patterns
        if len(empty) == len(candidates):
            if not need_weekly:
                return {}
            # Even the biggest stop gets too little on its own: give it one shortest visit.
            best = max(candidates, key=lambda s: (stop_weight[s.id], s.id))
            return {best.id: (1, rules.min_dwell, False)}
        candidates = [s for s in candidates if patterns[s.id][0] > 0]
    return {}


@dataclass(frozen=True, slots=True)
class StopChoice:
    """Stops chosen to be visited every week, and the remote taxpayers each one stands for
    (each taxpayer counted at its nearest chosen stop), which sizes their visits."""

    stops: frozenset[str]
    weights: Mapping[str, int]
    left_out: frozenset[str] = frozenset()
    """Stops no visit may go to, even where nothing was chosen (the van's days cannot hold
    them)."""


StopChooser = Callable[[Mapping[str, int]], StopChoice]
"""Street code -> the street's weekly service minutes, to the stops chosen for the week."""


def share_chosen(
    minutes: int,
    stops: Sequence[Stop],
    choice: StopChoice,
    weights: Weights,
    rules: DemandRules,
) -> dict[str, tuple[int, int, bool]]:
    """Share one street's weekly minutes over the stops `choice` picked in it.

    Each chosen stop gets at least one shortest visit every week (the choice was made so
    that the van is near its taxpayers this week, so none becomes every-other-week); the
    rest of the minutes follow the chosen stops' weights. A street where nothing was chosen
    falls back to `share_street` over its stops not left out.
    """
    chosen = [s for s in stops if s.id in choice.stops]
    if not chosen:
        return share_street(
            minutes, [s for s in stops if s.id not in choice.left_out], weights, rules
        )
    units = minutes // rules.grid
    floor = min(rules.min_dwell // rules.grid, units // len(chosen))
    shares = apportion(
        units, {s.id: float(choice.weights.get(s.id, 0)) for s in chosen}, floor=floor
    )
    weekly = DemandRules(
        rules.min_dwell, rules.max_dwell, rules.max_visits_per_week, rules.grid, False
    )
    out = {}
    for sid, u in shares.items():
        pattern = _stop_pattern(u * rules.grid, weekly)
        out[sid] = pattern if pattern[0] else (1, rules.min_dwell, False)
    return out


def week_demand(
    streets: Sequence[Street],
    stops: Sequence[Stop],
    weights: Weights,
    budget_minutes: int,
    working_days: int,
    iso_week_number: int | None,
    rules: DemandRules | None = None,
    chooser: StopChooser | None = None,
) -> WeekDemand:
    """The visits one week asks for, from the week's service-minute budget and the weights.

    Only served streets take part; each gets at least one shortest visit a week. With no
    week number (the weekly template) every-other-week stops are all included, flagged, so
    the template holds a place for each and a calendar week keeps only those due in it.
    With a `chooser`, the stops it picks (given each street's minutes) get the visits
    instead of every stop by its own catchment (`share_chosen`).
    """
    rules = rules or DemandRules()
    served = [s for s in streets if s.served]
    if not served:
        return WeekDemand(
            (), {}, {}, budget_minutes, (message(N_("no street is marked as served")),)
        )
    if working_days < 1:
        return WeekDemand((), {}, {}, 0, (message(N_("no working day in this week")),))
    units = budget_minutes // rules.grid
    floor_units = rules.min_dwell // rules.grid
    notes: list[Message | str] = []
    if units < floor_units * len(served):
        units = floor_units * len(served)
        notes.append(
            message(
                N_(
                    "the budget of %(budget)d min is below one shortest visit per street; "
                    "raised to %(raised)d min"
                ),
                budget=budget_minutes,
                raised=units * rules.grid,
            )
        )
    street_weight = {s.code: float(weights.street_remote.get(s.code, 0)) for s in served}
    street_units = apportion(units, street_weight, floor=floor_units)
    # The share each street is asked for is what it gets after the floor, so a street with
    # no remote taxpayer shows the share of its minimum visit, not 0 % next to its minutes.
    target_share = {c: u / units for c, u in street_units.items()}

    max_visits = min(rules.max_visits_per_week, working_days)
    week_rules = DemandRules(
        rules.min_dwell, rules.max_dwell, max_visits, rules.grid, rules.allow_biweekly
    )
    choice = chooser({c: u * rules.grid for c, u in street_units.items()}) if chooser else None
    by_street: Mapping[str, list[Stop]] = {s.code: [] for s in served}
    for stop in stops:
        if stop.street_code in by_street:
            by_street[stop.street_code].append(stop)

    visits: list[VisitDemand] = []
    for street in served:
        street_stops = by_street[street.code]
        if not street_stops:
            notes.append(message(N_("%(street)s is served but has no stop"), street=street.name))
            continue
        street_minutes = street_units[street.code] * rules.grid
        patterns = (
            share_street(street_minutes, street_stops, weights, week_rules)
            if choice is None
            else share_chosen(street_minutes, street_stops, choice, weights, week_rules)
        )
        visits += _street_visits(
            street, street_stops, patterns, weights, choice, iso_week_number, working_days
        )
    return WeekDemand(
        visits=tuple(visits),
        street_target_minutes={c: u * rules.grid for c, u in street_units.items()},
        street_target_share=target_share,
        budget_minutes=units * rules.grid,
        notes=tuple(notes),
    )


def _street_visits(
    street: Street,
    street_stops: Sequence[Stop],
    patterns: Mapping[str, tuple[int, int, bool]],
    weights: Weights,
    choice: StopChoice | None,
    iso_week_number: int | None,
    working_days: int,
) -> list[VisitDemand]:
    """The visits one street's stops get from their (count, dwell, biweekly) patterns: an
    every-other-week stop only in its weeks (all of them for the template, no week number),
    and the street's minimum visit marked to be served first."""
    weekly = [sid for sid, p in patterns.items() if p[0] > 0 and not p[2]]
    minimum = max(
        weekly,
        key=lambda sid: (weights.stop_remote.get(sid, 0), patterns[sid][1], sid),
        default=None,
    )
    visits = []
    for stop in street_stops:
        count, dwell, biweekly = patterns.get(stop.id, (0, 0, False))
        if count == 0:
            continue
        if (
            biweekly
            and iso_week_number is not None
            and not biweekly_in_week(stop.id, iso_week_number)
        ):
            continue
        served_weight = (
            weights.stop_remote.get(stop.id, 0)
            if choice is None or stop.id not in choice.stops
            else choice.weights.get(stop.id, 0)
        )
        gap = min_gap_days(count, working_days)
        for i in range(count):
            visits.append(
                VisitDemand(
                    stop_id=stop.id,
                    street_code=street.code,
                    index=i,
                    count=count,
                    dwell=dwell,
                    remote_served=served_weight / count,
                    min_gap_days=gap,
                    biweekly=biweekly,
                    must_serve=stop.id == minimum and i == 0,
                )
            )
    return visits
