"""The weekly planning problem: a district's data turned into numbers for one ISO week.

Builds, from a `Dataset`, the remote flags, the weights, the visit demand and the matrices
(integer metres and seconds) the engine needs. Nothing here solves anything.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from routes.matrix import GeodesicProvider, MatrixProvider, is_symmetric
from routes.reach import out_of_reach
from taxvan.adjustments import Adjustments, adjust_demand, adjusted_dataset
from taxvan.clock import GRID_MINUTES, floor_to_grid
from taxvan.coverage import DEFAULT_COVER_MINUTES, greedy_cover, nearest_stop_counts
from taxvan.dataset import Dataset
from taxvan.demand import (
    DemandRules,
    StopChoice,
    StopChooser,
    WeekDemand,
    biweekly_in_week,
    week_demand,
)
from taxvan.errors import PlanningError
from taxvan.fleet import fleet_weekdays
from taxvan.learning import LearnedWeights, visit_changes
from taxvan.messages import Message
from taxvan.places import LatLon, Stop
from taxvan.taxpayers import DEFAULT_REMOTE_THRESHOLD_MIN, remote_flags
from taxvan.weights import Weights, count_weights
from taxvan.workdays import WorkWeek, parse_iso_week, week_dates, work_week

STOP_CHOICES = ("covering", "catchment")


@dataclass(frozen=True, slots=True)
class PlanSettings:
    """What a dispatcher may change about a plan; the defaults follow the brief."""

    remote_threshold_min: float = DEFAULT_REMOTE_THRESHOLD_MIN
    service_share: float = 0.6
    """Share of a van's working minutes (shift less lunch) the week asks to spend serving;
    the rest is for driving. Visits that do not fit are dropped by weight."""
    rules: DemandRules = field(default_factory=DemandRules)
    penalty_per_remote_taxpayer: int = 100_000
    """Cost of leaving out a visit, per remote taxpayer it serves, in metres of driving."""
    stop_choice: str = "covering"
    """Which stops get visits: "covering" chooses them so the most remote taxpayers are
    within `cover_minutes[0]` of a stop visited every week (`taxvan.coverage`);
    "catchment" gives every stop visits by its own catchment, as before."""
    cover_minutes: tuple[int, ...] = DEFAULT_COVER_MINUTES
    """Trip lengths (minutes, taxpayer to stop) coverage is chosen for and reported at."""

    def __post_init__(self) -> None:
        if self.stop_choice not in STOP_CHOICES:
            raise ValueError(
                f"unknown stop choice '{self.stop_choice}'; use one of {', '.join(STOP_CHOICES)}"
            )
        if not self.cover_minutes or any(m <= 0 for m in self.cover_minutes):
            raise ValueError("coverage trip lengths must be positive minutes")
        if not 0 < self.service_share <= 1:
            raise ValueError("the service share must be between 0 and 1")
        if self.remote_threshold_min <= 0:
            raise ValueError("the remote threshold must be a positive number of minutes")


@dataclass(frozen=True, slots=True)
class RemoteStats:
    """Per remote taxpayer: its catchment stop and round trips (s) to the hall and the stop.

    With the covering stop choice the catchment stop is the nearest *chosen* stop. For
    coverage: each one's street and its travel time (s) to every stop (`to_stop_s[i, j]`,
    stop `stop_columns[j]`).
    """

    stop_ids: tuple[str, ...]
    hall_round_trip_s: np.ndarray
    stop_round_trip_s: np.ndarray
    streets: tuple[str, ...] = ()
    stop_columns: tuple[str, ...] = ()
    to_stop_s: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.int64))
    points: tuple[LatLon, ...] = ()


@dataclass(frozen=True, slots=True)
class CoverSetup:
    """The covering choice's limits and result, so a bound can be computed for the same
    limits (`bench/coverage.py`)."""

    budgets: dict[str, int]
    """Street code -> most stops it may take: visits its minutes buy at the shortest dwell."""
    max_stops: int
    """Most stops the week may take: as many as the catchment model visits a week.
    Both limits follow the settings' service minutes, even when the routes held fewer."""
    chosen: tuple[str, ...]
    left_out: Mapping[str, Message] = field(default_factory=dict)
    """Stop id -> why the choice may not take it though it could raise coverage: no van's
    day can reach and serve it, or the week's routes could not hold it (`CoverLimits`)."""


@dataclass(frozen=True, slots=True)
class CoverLimits:
    """What routing the week taught the covering choice (`routes.planner`): stops the
    weekly routes left out of every week are not chosen again, and the week asks for no more
    service minutes than the routes held, so the next choice is one the days can hold."""

    left_out: Mapping[str, Message] = field(default_factory=dict)
    """Stop id -> why it is not to be chosen."""
    service_minutes: int | None = None
    """The week's service minutes, when the days held fewer than the settings ask."""

    def __bool__(self) -> bool:
        return bool(self.left_out) or self.service_minutes is not None


def weekly_places(demand: WeekDemand) -> int:
    """Stops a week's demand visits, an every-other-week stop counting half (two of them
    share one place in the weekly template): what the van's week is known to hold."""
    weekly = {v.stop_id for v in demand.visits if not v.biweekly}
    biweekly = {v.stop_id for v in demand.visits if v.biweekly}
    return len(weekly) + -(-len(biweekly) // 2)


@dataclass(frozen=True, slots=True)
class WeekProblem:
    """Everything the weekly planner needs, in plain numbers.

    Node 0 of `metres`/`seconds` is the depot, node k (k >= 1) is `dataset.stops[k - 1]`.
    """

    dataset: Dataset
    week: WorkWeek
    demand: WeekDemand
    weights: Weights
    remote: RemoteStats
    metres: np.ndarray
    seconds: np.ndarray
    settings: PlanSettings
    cover: CoverSetup | None = None
    """How the covering choice was made; None with the catchment choice."""
    biweekly_stops: frozenset[str] = frozenset()
    """Every every-other-week stop of the standard week, due in this week or not: the
    stops a fortnight adds to a week's (coverage within two weeks)."""
    stop_index: dict[str, int] = field(init=False, repr=False, compare=False)
    """Stop id -> its node, built once (every visit of the engine and the check asks)."""

    def __post_init__(self) -> None:
        index = {s.id: k for k, s in enumerate(self.dataset.stops, start=1)}
        object.__setattr__(self, "stop_index", index)

    def stop_node(self, stop_id: str) -> int:
        """The node of stop `stop_id` in `metres` and `seconds`; KeyError if there is none."""
        return self.stop_index[stop_id]


def standard_week(label: str, weekdays: frozenset[int]) -> WorkWeek:
    """The vans' ordinary weekdays of ISO week `label`, as if no holiday fell in it: the
    week the template is planned on (its dates only name the weekdays)."""
    year, week = parse_iso_week(label)
    dates = tuple(d for d in week_dates(year, week) if d.weekday() in weekdays)
    return WorkWeek(year, week, dates, standard=True)


def _remote_trips(
    provider: MatrixProvider, points: list[LatLon], stop_points: list[LatLon], symmetric: bool
) -> tuple[np.ndarray, np.ndarray]:
    """(seconds from each remote taxpayer's point to each stop, the round trips)."""
    if not points:
        empty = np.zeros((0, len(stop_points)), dtype=np.int64)
        return empty, empty.copy()
    there = provider.matrix(points, stop_points).seconds
    back = there if symmetric else provider.matrix(stop_points, points).seconds.T
    return there, there + back


def build_week_problem(
    dataset: Dataset,
    week_label: str,
    provider: MatrixProvider | None = None,
    settings: PlanSettings | None = None,
    template: bool = False,
    adjustments: Adjustments | None = None,
    limits: CoverLimits | None = None,
    learned: LearnedWeights | None = None,
) -> WeekProblem:
    """Weights, demand and matrices for ISO week `week_label` of `dataset`.

    With `template`, the problem of the standard week instead: every ordinary weekday works
    and every-other-week stops are all in (see `routes.template`). `adjustments` (checked
    by the caller, `taxvan.adjustments.check_adjustments`) take excluded stops and weekdays
    out of the district and shape the visits of pinned and changed stops. With the covering
    choice, a stop no van's day can reach and serve is never chosen, nor one of `limits`,
    whose service minutes (if given) replace the settings' share of the working minutes.

    `learned` (`taxvan.learning.learn_weights` of this problem's weights without it) sizes
    the streets' shares and the stops' visits by recorded demand instead of the registry;
    the stops visited are the same as without it (the covering choice is made on the
    registry), no stop visited every week loses its weekly visit, and the demand's notes say
    why each learned stop's visits changed.
    """
    provider = provider or GeodesicProvider()
    limits = limits or CoverLimits()
    settings = settings or PlanSettings()
    adjustments = adjustments or Adjustments()
    dataset = adjusted_dataset(dataset, adjustments)
    if not dataset.vans:
        raise PlanningError("there is no van in vans.csv")
    weekdays = fleet_weekdays(dataset.vans)
    week = (
        standard_week(week_label, weekdays)
        if template
        else work_week(week_label, weekdays, dataset.calendar)
    )

    stops = dataset.stops
    stop_points: list[LatLon] = [s.point for s in stops]
    depot = dataset.depot.point
    if not stops:
        raise PlanningError("there is no stop in stops.csv")
    tp_points = [t.point for t in dataset.taxpayers]

    symmetric = is_symmetric(provider)
    to_hall = provider.matrix(tp_points, [depot]).seconds[:, 0]
    from_hall = to_hall if symmetric else provider.matrix([depot], tp_points).seconds[0, :]
    hall_rt = to_hall + from_hall
    remote = remote_flags((hall_rt / 60).tolist(), settings.remote_threshold_min)

    remote_idx = [i for i, r in enumerate(remote) if r]
    stop_ids = [s.id for s in stops]
    there, rt = _remote_trips(provider, [tp_points[i] for i in remote_idx], stop_points, symmetric)

    def catchment(columns: list[int]) -> tuple[list[str], np.ndarray, Weights]:
        """Each remote taxpayer's nearest stop among `columns` (by round trip), and weights."""
        nearest: list[str] = [""] * len(tp_points)
        stop_rt = np.zeros(len(remote_idx), dtype=np.int64)
        if remote_idx:
            best = np.asarray(columns)[rt[:, columns].argmin(axis=1)]
            for k, i in enumerate(remote_idx):
                nearest[i] = stop_ids[best[k]]
            stop_rt = rt[np.arange(len(remote_idx)), best]
        w = count_weights(
            dataset.taxpayers, remote, nearest, [s.code for s in dataset.streets], stop_ids
        )
        return nearest, stop_rt, w

    nearest, stop_rt, weights = catchment(list(range(len(stops))))
    all_weights = weights

    day_minutes = sum(
        floor_to_grid(int(v.working_minutes * settings.service_share), GRID_MINUTES)
        for v in dataset.vans
    )
    full_budget = day_minutes * len(week.dates)
    budget = (
        full_budget if limits.service_minutes is None else min(full_budget, limits.service_minutes)
    )
    nodes = [depot, *stop_points]
    m = provider.matrix(nodes, nodes)

    def standard_demand(chooser: StopChooser | None = None, minutes: int = budget) -> WeekDemand:
        """The standard week's demand: every every-other-week stop in, whatever the parity."""
        return week_demand(
            dataset.streets, stops, weights, minutes, len(week.dates), None, settings.rules, chooser
        )

    standard = standard_demand()
    # By catchment, recorded demand sizes every stop (with the covering choice, see below).
    standard, weights = _learned_demand(
        standard,
        weights,
        learned if settings.stop_choice != "covering" else None,
        stops,
        lambda w: week_demand(
            dataset.streets, stops, w, budget, len(week.dates), None, settings.rules
        ),
    )
    all_weights = weights
    cover: CoverSetup | None = None
    if settings.stop_choice == "covering" and remote_idx:
        # The stops the choice may take follow the settings' service minutes even when the
        # routes held fewer (`limits`): those are cut from the visits' lengths, not the stops.
        full = standard if budget == full_budget else standard_demand(minutes=full_budget)
        max_stops = weekly_places(full)  # the same in every week and the template
        street_budgets = {
            c: mins // settings.rules.min_dwell for c, mins in full.street_target_minutes.items()
        }
        setups: list[CoverSetup] = []
        left_out = {
            **out_of_reach(
                m.seconds,
                {s.id: k for k, s in enumerate(stops, start=1)},
                dataset.vans,
                settings.rules.min_dwell,
            ),
            **limits.left_out,
        }

        def choose(street_minutes: Mapping[str, int]) -> StopChoice:
            """Each street takes at most as many stops as its minutes buy visits of the
            shortest dwell, the week at most as many as the catchment model visits; each
            chosen stop is sized by the remote taxpayers nearest to it."""
            budgets = {c: street_budgets.get(c, 0) for c in street_minutes}
            pick = greedy_cover(
                there,
                stop_ids,
                [s.street_code for s in stops],
                budgets,
                settings.cover_minutes,
                max_stops,
                frozenset(left_out),
            )
            setups.append(CoverSetup(budgets, max_stops, pick.stops, left_out))
            return StopChoice(
                frozenset(pick.stops),
                nearest_stop_counts(rt, stop_ids, frozenset(pick.stops)),
                frozenset(left_out),
            )

        choices: list[StopChoice] = []
        standard = standard_demand(lambda minutes: _kept(choices, choose(minutes)))
        cover = setups[0] if setups else None  # no chooser call: no working day
        # Recorded demand sizes the chosen stops' visits; the choice stays the registry's.
        standard, _ = _learned_demand(
            standard,
            weights,
            learned if choices else None,
            stops,
            lambda w: week_demand(
                dataset.streets,
                stops,
                w,
                budget,
                len(week.dates),
                None,
                settings.rules,
                lambda _minutes: _with_weights(choices[0], w),
            ),
        )
        if cover and cover.chosen:
            # A remote taxpayer belongs to the nearest stop that is visited, for the drop
            # penalties and the report alike; the streets' weights do not change.
            nearest, stop_rt, catch = catchment([stop_ids.index(s) for s in cover.chosen])
            weights = dataclasses.replace(weights, stop_remote=catch.stop_remote)
    standard = adjust_demand(
        standard,
        adjustments,
        stops,
        all_weights,
        [d.weekday() for d in week.dates],
        settings.rules,
    )
    demand = (
        standard
        if template
        else dataclasses.replace(
            standard,
            visits=tuple(
                v
                for v in standard.visits
                if not v.biweekly or biweekly_in_week(v.stop_id, week.number)
            ),
        )
    )

    return WeekProblem(
        dataset=dataset,
        week=week,
        demand=demand,
        weights=weights,
        remote=RemoteStats(
            tuple(nearest[i] for i in remote_idx),
            hall_rt[remote_idx],
            stop_rt,
            tuple(dataset.taxpayers[i].street_code for i in remote_idx),
            tuple(stop_ids),
            there,
            tuple(tp_points[i] for i in remote_idx),
        ),
        metres=m.metres,
        seconds=m.seconds,
        settings=settings,
        cover=cover,
        biweekly_stops=frozenset(v.stop_id for v in standard.visits if v.biweekly),
    )


def _kept(choices: list[StopChoice], choice: StopChoice) -> StopChoice:
    """`choice`, kept in `choices` (the learned demand visits the same stops)."""
    choices.append(choice)
    return choice


def _with_weights(choice: StopChoice, weights: Weights) -> StopChoice:
    """The same stops, sized by `weights`."""
    sized = {s: weights.stop_remote.get(s, w) for s, w in choice.weights.items()}
    return dataclasses.replace(choice, weights=sized)


def _learned_demand(
    before: WeekDemand,
    registry: Weights,
    learned: LearnedWeights | None,
    stops: Sequence[Stop],
    demand: Callable[[Weights], WeekDemand],
) -> tuple[WeekDemand, Weights]:
    """The week's demand with `learned` weights, and why each learned stop changed.

    A stop that has a weekly visit on the registry's weights keeps one: a stop whose learned
    weight would take it away (every other week, or no visit) plans with its registry weight
    instead, so recorded demand never takes a stop below its minimum visit. Returns the
    demand and the weights it was sized by (`before` and `registry` when nothing was
    learned)."""
    if learned is None or not learned.changed:
        return before, registry
    weights = learned.weights
    after = demand(weights)
    weekly = {v.stop_id for v in before.visits if not v.biweekly}
    for _ in range(3):  # raising one stop may push a neighbour below: a few rounds
        lost = weekly - {v.stop_id for v in after.visits if not v.biweekly}
        if not lost:
            break
        weights = _registry_floor(weights, learned, lost, {s.id: s.street_code for s in stops})
        after = demand(weights)
    learned = dataclasses.replace(learned, weights=weights)
    names = {s.id: s.name for s in stops}
    notes = visit_changes(before, after, learned, names)
    return dataclasses.replace(after, notes=(*after.notes, *notes)), weights


def _registry_floor(
    weights: Weights, learned: LearnedWeights, lost: set[str], street_of: Mapping[str, str]
) -> Weights:
    """`weights` with each of `lost` back at least at its registry weight, its street's
    weight raised by as much."""
    stops = dict(weights.stop_remote)
    streets = dict(weights.street_remote)
    for s in sorted(lost):
        raised = max(stops.get(s, 0), learned.registry.get(s, 0))
        streets[street_of[s]] = streets.get(street_of[s], 0) + raised - stops.get(s, 0)
        stops[s] = raised
    return dataclasses.replace(weights, stop_remote=stops, street_remote=streets)
