"""The weekly planning problem: a district's data turned into numbers for one ISO week.

Builds, from a `Dataset`, the remote flags, the weights, the visit demand and the matrices
(integer metres and seconds) the engine needs. Nothing here solves anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from routes.matrix import GeodesicProvider, MatrixProvider, is_symmetric
from taxvan.clock import GRID_MINUTES, floor_to_grid
from taxvan.dataset import Dataset
from taxvan.demand import DemandRules, WeekDemand, week_demand
from taxvan.errors import PlanningError
from taxvan.fleet import fleet_weekdays
from taxvan.places import LatLon
from taxvan.taxpayers import DEFAULT_REMOTE_THRESHOLD_MIN, remote_flags
from taxvan.weights import Weights, count_weights
from taxvan.workdays import WorkWeek, parse_iso_week, week_dates, work_week


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

    def __post_init__(self) -> None:
        if not 0 < self.service_share <= 1:
            raise ValueError("the service share must be between 0 and 1")
        if self.remote_threshold_min <= 0:
            raise ValueError("the remote threshold must be a positive number of minutes")


@dataclass(frozen=True, slots=True)
class RemoteStats:
    """Per remote taxpayer: its catchment stop and round trips (s) to the hall and the stop."""

    stop_ids: tuple[str, ...]
    hall_round_trip_s: np.ndarray
    stop_round_trip_s: np.ndarray


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


def build_week_problem(
    dataset: Dataset,
    week_label: str,
    provider: MatrixProvider | None = None,
    settings: PlanSettings | None = None,
    template: bool = False,
) -> WeekProblem:
    """Weights, demand and matrices for ISO week `week_label` of `dataset`.

    With `template`, the problem of the standard week instead: every ordinary weekday works
    and every-other-week stops are all in (see `routes.template`).
    """
    provider = provider or GeodesicProvider()
    settings = settings or PlanSettings()
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
    nearest: list[str] = [""] * len(tp_points)
    stop_rt = np.zeros(len(remote_idx), dtype=np.int64)
    if remote_idx:
        pts = [tp_points[i] for i in remote_idx]
        there = provider.matrix(pts, stop_points).seconds
        back = there if symmetric else provider.matrix(stop_points, pts).seconds.T
        rt = there + back
        best = rt.argmin(axis=1)
        for k, i in enumerate(remote_idx):
            nearest[i] = stops[best[k]].id
        stop_rt = rt[np.arange(len(remote_idx)), best]
    weights = count_weights(
        dataset.taxpayers,
        remote,
        nearest,
        [s.code for s in dataset.streets],
        [s.id for s in stops],
    )

    day_minutes = sum(
        floor_to_grid(int(v.working_minutes * settings.service_share), GRID_MINUTES)
        for v in dataset.vans
    )
    demand = week_demand(
        dataset.streets,
        stops,
        weights,
        day_minutes * len(week.dates),
        len(week.dates),
        None if template else week.number,
        settings.rules,
    )

    nodes = [depot, *stop_points]
    m = provider.matrix(nodes, nodes)
    return WeekProblem(
        dataset=dataset,
        week=week,
        demand=demand,
        weights=weights,
        remote=RemoteStats(tuple(nearest[i] for i in remote_idx), hall_rt[remote_idx], stop_rt),
        metres=m.metres,
        seconds=m.seconds,
        settings=settings,
    )
