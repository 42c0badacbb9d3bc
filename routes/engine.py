"""The routing engine: a vehicle-routing model with time windows on OR-Tools.

The one module that imports OR-Tools. It knows nothing of taxpayers or streets: the weekly
planner and the Solomon benchmark both describe their problem as an `Instance` (integer
costs and times, optional nodes with penalties, breaks, spacing between nodes) and get a
`Solution` back as plain lists.

The search is OR-Tools' own (a first solution, then guided local search) followed by a ruin
and recreate loop written here around it, which took the Solomon mean gap at 30 s from
1.56 % to 0.85 % on one core (bench/README.md).
"""

from __future__ import annotations

import contextlib
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ortools.constraint_solver import pywrapcp, routing_enums_pb2
from ortools.util import optional_boolean_pb2

from taxvan.errors import PlanningError


@dataclass(frozen=True, slots=True)
class Break:
    """A break of `duration` that must start between `start_min` and `start_max`."""

    start_min: int
    start_max: int
    duration: int


@dataclass(frozen=True, slots=True)
class Spacing:
    """Node `later` may only be served if `earlier` is, and then `gap` or more after it."""

    earlier: int
    later: int
    gap: int


@dataclass(frozen=True, slots=True)
class Instance:
    """A routing problem in integers. Node `depot` is where every vehicle starts and ends.

    `travel[i][j]` is the time dimension's transit (without service), `cost[i][j]` the arc
    cost. `penalty[i]` is None for a node that must be served, else the cost of leaving it out.
    """

    cost: Sequence[Sequence[int]]
    travel: Sequence[Sequence[int]]
    service: Sequence[int]
    windows: Sequence[tuple[int, int]]
    vehicle_windows: Sequence[tuple[int, int]]
    depot: int = 0
    penalty: Sequence[int | None] | None = None
    breaks: Sequence[Sequence[Break]] | None = None
    spacing: Sequence[Spacing] = ()
    demand: Sequence[int] | None = None
    capacity: int | None = None
    horizon: int | None = None
    allowed_vehicles: Sequence[Sequence[int] | None] | None = None
    """Per node, the only vehicles that may serve it (None: any), a constraint of the model
    (the weekly planner's pins: the vehicles of one weekday)."""
    initial_routes: Sequence[Sequence[int]] | None = None
    """A first solution to start from, nodes per vehicle (re-solving near a previous plan).
    It must keep every constraint; nodes it leaves out are inserted by the search. When it
    cannot be read, the search starts from scratch as usual."""
    vehicle_cost: Sequence[Sequence[int]] | None = None
    """Per vehicle, per node: a cost of serving the node on that vehicle, on top of the arc
    costs (re-solving near a previous plan: 0 on the node's previous vehicle, the cost of a
    move on the others)."""
    target_clock: Sequence[int | None] | None = None
    """Per node, the time of day (seconds into its `clock_period`) it should start at (None:
    no target); each minute earlier or later costs `clock_cost`. Measured on a clock that
    leaves the breaks out, so it is a guide for the search, not a promise."""
    clock_period: int = 24 * 3600
    clock_cost: int = 0

    @property
    def num_nodes(self) -> int:
        return len(self.service)

    @property
    def num_vehicles(self) -> int:
        return len(self.vehicle_windows)


def default_workers() -> int:
    """Searches side by side that `taxvan plan` runs by default: one per core, at most two
    (measured: a third search on a two-core machine only slows the other two)."""
    return min(2, os.cpu_count() or 1)


@dataclass(frozen=True, slots=True)
class SearchParams:
    """How the engine searches. The defaults are the best measured here (see bench/README.md).

    `first_solution` and `metaheuristic` take the names of OR-Tools' enums.
    """

    time_limit_s: float = 10.0
    first_solution: str = "PARALLEL_CHEAPEST_INSERTION"
    metaheuristic: str = "GUIDED_LOCAL_SEARCH"
    guided_local_search_lambda: float | None = None
    bandit_operators: bool = False
    """Let a multi-armed bandit pick the local-search operators. Helps at 5 s on some
    instances, hurts at 30 s on Solomon (bench/README.md), so off by default."""
    reset_penalties: bool = False
    """Reset the guided-local-search penalties at each new best solution (off: measured)."""
    extra_operators: tuple[str, ...] = ()
    """Extra OR-Tools local-search operators to switch on, by field name without `use_`."""
    earliest_times: bool = False
    """Ask the solver for the earliest service times (costs search speed; the weekly planner
    computes its published times itself, see `routes.schedule`)."""
    ruin_recreate: bool = True
    """After `first_phase_share` of the time, ruin and recreate around the best solution
    (Solomon, 13 hard instances at 30 s: 2.27 % -> 0.86 % mean gap; bench/README.md)."""
    first_phase_share: float = 0.15
    ruin_size: int = 15
    """Visits removed per ruin."""
    step_s: float = 1.0
    """Time limit of the search that recreates each ruined solution."""
    step_metaheuristic: str = "GREEDY_DESCENT"
    accept_worse: float = 0.003
    """Record-to-record acceptance: a recreated solution up to this share worse than the
    best is kept as the next one to ruin, shrinking to nothing at the time limit."""
    seed: int = 0
    log_search: bool = False
    workers: int = 1
    """Searches run side by side on this many cores (see `solve_parallel`); the best wins."""

    def __post_init__(self) -> None:
        if self.time_limit_s <= 0:
            raise ValueError("the time limit must be positive")
        if not hasattr(routing_enums_pb2.FirstSolutionStrategy, self.first_solution):
            raise ValueError(f"unknown first solution strategy {self.first_solution}")
        if self.workers < 1:
            raise ValueError("workers must be at least 1")
        if not hasattr(routing_enums_pb2.LocalSearchMetaheuristic, self.metaheuristic):
            raise ValueError(f"unknown metaheuristic {self.metaheuristic}")
        operators = pywrapcp.DefaultRoutingSearchParameters().local_search_operators
        for name in self.extra_operators:
            if not hasattr(operators, f"use_{name}"):
                raise ValueError(f"unknown local-search operator {name}")


@dataclass(frozen=True, slots=True)
class Solution:
    """Routes as node lists (depot excluded) with the solver's service start times."""

    routes: list[list[int]]
    starts: list[list[int]]
    vehicle_start: list[int]
    vehicle_end: list[int]
    break_starts: list[list[int]]
    dropped: list[int]
    objective: int
    travel_cost: int
    wall_time_s: float
    improvements: list[tuple[float, int]] = field(default_factory=list)


ProgressFn = Callable[[float, int], None]
StopFn = Callable[[], bool]
"""Asked very often during a search (OR-Tools' custom limit): True ends it. Keep it cheap (an
event's flag); whoever sets the flag may take its time."""


class SearchStopped(PlanningError):
    """The search was asked to stop (`stop` said True) before its time limit: no plan."""

    def __init__(self) -> None:
        super().__init__("the search was stopped before it finished")


_STATUS = {
    0: "not solved yet",
    1: "solved",
    2: "no solution found",
    3: "time limit reached before any solution",
    4: "the model is infeasible",
    5: "the search parameters are invalid",
}


@dataclass
class _Model:
    """One OR-Tools model of an instance. A model serves one timed search: the solver's
    time limit runs from its first search, so every ruin-and-recreate step builds anew."""

    manager: pywrapcp.RoutingIndexManager
    routing: pywrapcp.RoutingModel
    time_dim: pywrapcp.RoutingDimension
    break_vars: list[list[pywrapcp.IntervalVar]]


def _build(instance: Instance, params: SearchParams, must_serve_penalty: int | None) -> _Model:
    """The model. With `must_serve_penalty`, nodes that must be served may be left out at
    that cost, so that a partly ruined solution can be read back in and completed."""
    manager = pywrapcp.RoutingIndexManager(
        instance.num_nodes, instance.num_vehicles, instance.depot
    )
    routing = pywrapcp.RoutingModel(manager)

    # Matrices registered as such are evaluated in C++; Python callbacks would be called
    # millions of times during the search and make it several times slower.
    cost = [list(map(int, row)) for row in instance.cost]
    service = [int(x) for x in instance.service]
    transit = [[service[i] + int(t) for t in row] for i, row in enumerate(instance.travel)]
    cost_index = routing.RegisterTransitMatrix(cost)
    routing.SetArcCostEvaluatorOfAllVehicles(cost_index)
    time_dim = _add_time(instance, manager, routing, transit)
    if instance.allowed_vehicles is not None:
        _restrict_vehicles(instance, manager, routing, instance.allowed_vehicles)
    if instance.demand is not None and instance.capacity is not None:
        d_index = routing.RegisterUnaryTransitVector([int(d) for d in instance.demand])
        routing.AddDimensionWithVehicleCapacity(
            d_index, 0, [instance.capacity] * instance.num_vehicles, True, "load"
        )
    _add_penalties(instance, manager, routing, must_serve_penalty)
    break_vars = _add_breaks(instance, manager, routing, time_dim, service)
    _add_spacing(instance, manager, routing, time_dim)
    if instance.vehicle_cost is not None:
        _add_vehicle_cost(routing, instance.vehicle_cost)
    if instance.target_clock is not None and instance.clock_cost > 0:
        _add_clock(instance, manager, routing, transit)
    if params.earliest_times:
        for node in range(instance.num_nodes):
            if node != instance.depot:
                routing.AddVariableMinimizedByFinalizer(
                    time_dim.CumulVar(manager.NodeToIndex(node))
                )
    return _Model(manager, routing, time_dim, break_vars)


def _add_time(
    instance: Instance,
    manager: pywrapcp.RoutingIndexManager,
    routing: pywrapcp.RoutingModel,
    transit: list[list[int]],
) -> pywrapcp.RoutingDimension:
    """The "time" dimension (seconds; service then travel on each arc), with every node's
    window and every vehicle's shift."""
    time_index = routing.RegisterTransitMatrix(transit)
    horizon = instance.horizon or max(b for _, b in instance.vehicle_windows)
    routing.AddDimension(time_index, horizon, horizon, False, "time")
    time_dim = routing.GetDimensionOrDie("time")
    for node, (a, b) in enumerate(instance.windows):
        if node == instance.depot:
            continue
        time_dim.CumulVar(manager.NodeToIndex(node)).SetRange(a, b)
    for v, (a, b) in enumerate(instance.vehicle_windows):
        time_dim.CumulVar(routing.Start(v)).SetRange(a, b)
        time_dim.CumulVar(routing.End(v)).SetRange(a, b)
    return time_dim


def _restrict_vehicles(
    instance: Instance,
    manager: pywrapcp.RoutingIndexManager,
    routing: pywrapcp.RoutingModel,
    allowed_vehicles: Sequence[Sequence[int] | None],
) -> None:
    for node, allowed in enumerate(allowed_vehicles):
        if allowed is not None and node != instance.depot:
            # SetAllowedVehiclesForIndex rejects Python sequences in OR-Tools 9.15
            # (docs/pitfalls); -1 keeps the node optional (inactive).
            routing.VehicleVar(manager.NodeToIndex(node)).SetValues([-1, *map(int, allowed)])


def _add_penalties(
    instance: Instance,
    manager: pywrapcp.RoutingIndexManager,
    routing: pywrapcp.RoutingModel,
    must_serve_penalty: int | None,
) -> None:
    """A node with a penalty may be left out at that cost; one without must be served
    (unless `must_serve_penalty` lets it go too)."""
    penalties = instance.penalty or [None] * instance.num_nodes
    for node, pen in enumerate(penalties):
        if node == instance.depot:
            continue
        if pen is not None:
            routing.AddDisjunction([manager.NodeToIndex(node)], int(pen))
        elif must_serve_penalty is not None:
            routing.AddDisjunction([manager.NodeToIndex(node)], must_serve_penalty)


def _add_breaks(
    instance: Instance,
    manager: pywrapcp.RoutingIndexManager,
    routing: pywrapcp.RoutingModel,
    time_dim: pywrapcp.RoutingDimension,
    service: list[int],
) -> list[list[pywrapcp.IntervalVar]]:
    """Each vehicle's breaks (lunch) as interval variables no service overlaps."""
    break_vars: list[list[pywrapcp.IntervalVar]] = [[] for _ in range(instance.num_vehicles)]
    if instance.breaks is None:
        return break_vars
    solver = routing.solver()
    node_visit_transit = [0] * routing.Size()
    for idx in range(routing.Size()):
        if not routing.IsStart(idx):
            node_visit_transit[idx] = service[manager.IndexToNode(idx)]
    for v, brs in enumerate(instance.breaks):
        intervals = [
            solver.FixedDurationIntervalVar(
                b.start_min, b.start_max, b.duration, False, f"break {v}.{k}"
            )
            for k, b in enumerate(brs)
        ]
        if intervals:
            time_dim.SetBreakIntervalsOfVehicle(intervals, v, node_visit_transit)
            for iv in intervals:
                routing.AddIntervalToAssignment(iv)
        break_vars[v] = intervals
    return break_vars


def _add_spacing(
    instance: Instance,
    manager: pywrapcp.RoutingIndexManager,
    routing: pywrapcp.RoutingModel,
    time_dim: pywrapcp.RoutingDimension,
) -> None:
    """A later visit is served only with its earlier one, at least `gap` after it."""
    solver = routing.solver()
    for sp in instance.spacing:
        e = manager.NodeToIndex(sp.earlier)
        later = manager.NodeToIndex(sp.later)
        solver.Add(routing.ActiveVar(later) <= routing.ActiveVar(e))
        solver.Add(
            time_dim.CumulVar(later) - time_dim.CumulVar(e) >= sp.gap * routing.ActiveVar(later)
        )


def _add_vehicle_cost(
    routing: pywrapcp.RoutingModel, vehicle_cost: Sequence[Sequence[int]]
) -> None:
    """Each vehicle's unary transit is the cost of serving a node there; the span of the
    "moves" dimension is their sum over the route, charged once into the objective."""
    rows = [[int(c) for c in row] for row in vehicle_cost]
    vectors = [routing.RegisterUnaryTransitVector(row) for row in rows]
    bound = max(1, max(sum(row) for row in rows))
    routing.AddDimensionWithVehicleTransits(vectors, 0, bound, True, "moves")
    routing.GetDimensionOrDie("moves").SetSpanCostCoefficientForAllVehicles(1)


def _add_clock(
    instance: Instance,
    manager: pywrapcp.RoutingIndexManager,
    routing: pywrapcp.RoutingModel,
    transit: list[list[int]],
) -> None:
    """A "clock" dimension in minutes of the day (the time axis modulo `clock_period`, breaks
    left out) with soft bounds at each node's target time. It never binds: only the
    vehicles' starts are fixed to their shift, and waiting is free."""
    period = instance.clock_period
    minutes = [[-(-t // 60) for t in row] for row in transit]
    clock_index = routing.RegisterTransitMatrix(minutes)
    cap = 8 * period // 60
    routing.AddDimension(clock_index, cap, cap, False, "clock")
    clock = routing.GetDimensionOrDie("clock")
    for v, (a, b) in enumerate(instance.vehicle_windows):
        day0 = a - a % period
        clock.CumulVar(routing.Start(v)).SetRange((a - day0) // 60, -(-(b - day0) // 60))
    assert instance.target_clock is not None
    for node, target in enumerate(instance.target_clock):
        if target is None or node == instance.depot:
            continue
        index = manager.NodeToIndex(node)
        clock.SetCumulVarSoftUpperBound(index, target // 60, instance.clock_cost)
        clock.SetCumulVarSoftLowerBound(index, target // 60, instance.clock_cost)


def _search_parameters(
    params: SearchParams, seconds: float, metaheuristic: str | None = None
) -> object:
    search = pywrapcp.DefaultRoutingSearchParameters()
    search.first_solution_strategy = getattr(
        routing_enums_pb2.FirstSolutionStrategy, params.first_solution
    )
    search.local_search_metaheuristic = getattr(
        routing_enums_pb2.LocalSearchMetaheuristic, metaheuristic or params.metaheuristic
    )
    search.time_limit.FromMilliseconds(max(1, int(seconds * 1000)))
    if params.guided_local_search_lambda is not None:
        search.guided_local_search_lambda_coefficient = params.guided_local_search_lambda
    search.log_search = params.log_search
    search.use_multi_armed_bandit_concatenate_operators = params.bandit_operators
    search.guided_local_search_reset_penalties_on_new_best_solution = params.reset_penalties
    for name in params.extra_operators:
        setattr(search.local_search_operators, f"use_{name}", optional_boolean_pb2.BOOL_TRUE)
    return search


def _routes(model: _Model, assignment: pywrapcp.Assignment, vehicles: int) -> list[list[int]]:
    routing, manager = model.routing, model.manager
    out = []
    for v in range(vehicles):
        idx = assignment.Value(routing.NextVar(routing.Start(v)))
        route = []
        while not routing.IsEnd(idx):
            route.append(manager.IndexToNode(idx))
            idx = assignment.Value(routing.NextVar(idx))
        out.append(route)
    return out


class _Ruin:
    """Slack-induced string removal, after Christiaens and Vanden Berghe (2020): remove short
    strings of consecutive visits from routes near a random seed visit. Nodes tied by a
    spacing constraint go together, or the partial solution could not be read back."""

    def __init__(self, instance: Instance, size: int, seed: int) -> None:
        import numpy as np

        self.size = size
        self.rng = random.Random(seed)
        cost = np.asarray(instance.cost, dtype=np.int64)
        self.near = np.argsort(cost + cost.T, axis=1, kind="stable").tolist()
        self.depot = instance.depot
        self.tied: dict[int, set[int]] = {}
        for sp in instance.spacing:
            group = self.tied.get(sp.earlier, {sp.earlier}) | self.tied.get(sp.later, {sp.later})
            for node in group:
                self.tied[node] = group

    def __call__(self, routes: list[list[int]]) -> list[list[int]]:
        where = {node: r for r, route in enumerate(routes) for node in route}
        if not where:
            return routes
        seed = self.rng.choice(sorted(where))
        removed: set[int] = set()
        touched: set[int] = set()
        for node in self.near[seed]:
            if len(removed) >= self.size:
                break
            r = where.get(node)
            if r is None or r in touched:
                continue
            touched.add(r)
            route = routes[r]
            length = min(len(route), self.rng.randint(1, 6))
            pos = route.index(node)
            first = max(0, min(pos - self.rng.randint(0, length - 1), len(route) - length))
            for gone in route[first : first + length]:
                removed |= self.tied.get(gone, {gone})
        return [[node for node in route if node not in removed] for route in routes]


def _stoppable(model: _Model, stop: StopFn | None) -> _Model:
    """Let `stop` end the model's search: OR-Tools checks a custom limit at every step of the
    search, so the search ends within moments of `stop` turning True, improving or not."""
    if stop is not None:
        solver = model.routing.solver()
        model.routing.AddSearchMonitor(solver.CustomLimit(stop))
    return model


def solve(
    instance: Instance,
    params: SearchParams | None = None,
    progress: ProgressFn | None = None,
    stop: StopFn | None = None,
) -> Solution:
    """Solve `instance`; raise PlanningError with the solver's status if nothing is found,
    `SearchStopped` if `stop` said so before the time limit.

    Guided local search first; then, if `params.ruin_recreate`, the rest of the time goes to
    ruin and recreate around the best solution: remove strings of nearby visits and let a
    short search put them back, keeping the result when it is no worse.
    """
    params = params or SearchParams()
    t0 = time.monotonic()
    deadline = t0 + params.time_limit_s
    improvements: list[tuple[float, int]] = []

    def record(value: int) -> None:
        if not improvements or value < improvements[-1][1]:
            elapsed = time.monotonic() - t0
            improvements.append((elapsed, value))
            if progress is not None:
                progress(elapsed, value)

    first_phase = params.time_limit_s
    if params.ruin_recreate:
        first_phase *= params.first_phase_share
    assignment = None
    if instance.initial_routes is not None:
        model, assignment = _solve_from(instance, params, first_phase, record, stop)
    if assignment is None:
        model, assignment = _search_anew(instance, params, lambda: first_phase, record, stop)
    _raise_if_stopped(stop)
    if assignment is None and first_phase < params.time_limit_s and model.routing.status() == 3:
        # No first solution within the first phase: give the whole time to finding one.
        model, assignment = _search_anew(
            instance, params, lambda: deadline - time.monotonic(), record, stop
        )
        _raise_if_stopped(stop)
    if assignment is None:
        status = _STATUS.get(model.routing.status(), f"status {model.routing.status()}")
        raise PlanningError(f"the routing solver found no plan: {status}")

    if params.ruin_recreate:
        model, assignment = _ruin_and_recreate(
            instance, params, model, assignment, deadline, record, stop
        )
    return _solution(instance, model, assignment, time.monotonic() - t0, improvements)


def _search_anew(
    instance: Instance,
    params: SearchParams,
    seconds: Callable[[], float],
    record: Callable[[int], None],
    stop: StopFn | None,
) -> tuple[_Model, Any]:
    """A search from scratch for `seconds()` (asked once the model is built), each better
    solution `record`ed."""
    model = _stoppable(_build(instance, params, None), stop)
    model.routing.AddAtSolutionCallback(lambda: record(model.routing.CostVar().Value()))
    return model, model.routing.SolveWithParameters(_search_parameters(params, seconds()))


def _raise_if_stopped(stop: StopFn | None) -> None:
    if stop is not None and stop():
        raise SearchStopped()


def _solve_from(
    instance: Instance,
    params: SearchParams,
    seconds: float,
    record: Callable[[int], None],
    stop: StopFn | None = None,
) -> tuple[_Model, pywrapcp.Assignment | None]:
    """Search from `instance.initial_routes`. The model is closed with the search parameters
    before the routes are read: reading them closes it, and parameters given after that are
    silently ignored (docs/pitfalls.md, google/or-tools#1841). None if they cannot be read
    (a route that breaks a constraint, google/or-tools#1600)."""
    assert instance.initial_routes is not None
    model = _stoppable(_build(instance, params, None), stop)
    model.routing.AddAtSolutionCallback(lambda: record(model.routing.CostVar().Value()))
    search = _search_parameters(params, seconds)
    model.routing.CloseModelWithParameters(search)
    start = model.routing.ReadAssignmentFromRoutes(
        [[int(n) for n in route] for route in instance.initial_routes], True
    )
    if start is None:
        return model, None
    return model, model.routing.SolveFromAssignmentWithParameters(start, search)


def _ruin_and_recreate(
    instance: Instance,
    params: SearchParams,
    model: _Model,
    assignment: pywrapcp.Assignment,
    deadline: float,
    record: Callable[[int], None],
    stop: StopFn | None = None,
) -> tuple[_Model, pywrapcp.Assignment]:
    ruin = _Ruin(instance, params.ruin_size, params.seed)
    optional = sum(int(p) for p in (instance.penalty or []) if p is not None)
    longest = max(max(int(c) for c in row) for row in instance.cost)
    extra = sum(max(map(int, row)) for row in instance.vehicle_cost or [[0]])
    must_serve = 10 * (longest * instance.num_nodes + optional + extra) + 1
    best = (model, assignment, assignment.ObjectiveValue())
    current = best
    begin = time.monotonic()
    while (left := deadline - time.monotonic()) > 0.02:
        if stop is not None and stop():
            raise SearchStopped()
        partial = ruin(_routes(current[0], current[1], instance.num_vehicles))
        trial = _stoppable(_build(instance, params, must_serve), stop)
        search = _search_parameters(params, min(params.step_s, left), params.step_metaheuristic)
        trial.routing.CloseModelWithParameters(search)
        start = trial.routing.ReadAssignmentFromRoutes(partial, True)
        if start is None:
            continue
        found = trial.routing.SolveFromAssignmentWithParameters(start, search)
        if found is None:
            continue
        value = found.ObjectiveValue()
        # Record-to-record travel: accept a little worse early on, nothing worse at the end.
        slack = params.accept_worse * best[2] * left / max(deadline - begin, 1e-9)
        if value <= current[2] or value <= best[2] + slack:
            current = (trial, found, value)
        if value <= best[2]:
            best = current
            record(value)
    model, assignment, _ = best
    return model, assignment


def _solution(
    instance: Instance,
    model: _Model,
    assignment: pywrapcp.Assignment,
    wall: float,
    improvements: list[tuple[float, int]],
) -> Solution:
    routing, manager, time_dim = model.routing, model.manager, model.time_dim
    routes: list[list[int]] = []
    starts: list[list[int]] = []
    v_start: list[int] = []
    v_end: list[int] = []
    travel_cost = 0
    visited = set()
    for v in range(instance.num_vehicles):
        idx = routing.Start(v)
        v_start.append(assignment.Value(time_dim.CumulVar(idx)))
        route: list[int] = []
        route_starts: list[int] = []
        while not routing.IsEnd(idx):
            nxt = assignment.Value(routing.NextVar(idx))
            travel_cost += int(instance.cost[manager.IndexToNode(idx)][manager.IndexToNode(nxt)])
            idx = nxt
            if not routing.IsEnd(idx):
                node = manager.IndexToNode(idx)
                route.append(node)
                visited.add(node)
                route_starts.append(assignment.Value(time_dim.CumulVar(idx)))
        v_end.append(assignment.Value(time_dim.CumulVar(idx)))
        routes.append(route)
        starts.append(route_starts)
    breaks_out = [[assignment.StartValue(iv) for iv in brs] for brs in model.break_vars]
    dropped = [
        node for node in range(instance.num_nodes) if node != instance.depot and node not in visited
    ]
    return Solution(
        routes,
        starts,
        v_start,
        v_end,
        breaks_out,
        dropped,
        assignment.ObjectiveValue(),
        travel_cost,
        wall,
        improvements,
    )


def portfolio(params: SearchParams, workers: int) -> list[SearchParams]:
    """`workers` different searches for the same time limit, `params` first.

    The others change the first solution (local cheapest insertion, then savings), which
    found better weekly plans where parallel cheapest insertion got stuck (bench/README.md),
    and the seed of the ruin and recreate loop.
    """
    import dataclasses

    variants = ["LOCAL_CHEAPEST_INSERTION", "SAVINGS", "SEQUENTIAL_CHEAPEST_INSERTION"]
    out = [params]
    for name in variants:
        if len(out) >= workers:
            break
        if name != params.first_solution:
            out.append(
                dataclasses.replace(params, first_solution=name, seed=params.seed + len(out))
            )
    return out[:workers]


_stop_event: Any = None
"""In a portfolio's worker process: the event that says the search in the parent was stopped."""


def _share_stop(event: Any) -> None:
    global _stop_event
    _stop_event = event


def _solve_quietly(args: tuple[Instance, SearchParams]) -> Solution | None:
    try:
        return solve(*args, stop=_stop_event.is_set if _stop_event is not None else None)
    except PlanningError:
        return None


def solve_parallel(
    instance: Instance,
    params: SearchParams | None = None,
    progress: ProgressFn | None = None,
    workers: int = 1,
    stop: StopFn | None = None,
) -> Solution:
    """Run a portfolio of searches on `workers` cores and keep the best solution.

    The first search runs in this process and reports progress; the others run in worker
    processes. With one worker this is `solve`. When `stop` ends the first search, an event
    shared with the worker processes ends theirs too, and `SearchStopped` is raised.
    """
    params = params or SearchParams()
    workers = max(workers, params.workers)
    if workers <= 1:
        return solve(instance, params, progress, stop)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    searches = portfolio(params, workers)
    # forkserver: no fork of a process that may hold threads (Flask, pytest, the web server)
    ctx = multiprocessing.get_context("forkserver")
    stopped = ctx.Event()
    with ProcessPoolExecutor(
        max_workers=len(searches) - 1,
        mp_context=ctx,
        initializer=_share_stop,
        initargs=(stopped,),
    ) as pool:
        others = [pool.submit(_solve_quietly, (instance, p)) for p in searches[1:]]
        try:
            best: Solution | None = solve(instance, searches[0], progress, stop)
        except SearchStopped:
            stopped.set()
            for fut in others:
                with contextlib.suppress(Exception):  # they end within moments of the event
                    fut.result()
            raise
        except PlanningError:
            best = None
        for fut in others:
            sol = fut.result()
            if sol is not None and (best is None or sol.objective < best.objective):
                best = sol
    if best is None:
        raise PlanningError("the routing solver found no plan with any of its searches")
    return best
