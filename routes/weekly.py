"""The weekly planner: one route per van per working day, from the hall and back.

The week becomes one routing instance whose time axis runs over the whole week: vehicle
(day d, van) works `d * 24 h + shift`. That lets repeated visits to one stop be spaced in
days with a plain constraint on their times. Travel into a stop is rounded up to the
15-minute grid, so every visit the model times starts on the grid (see `routes.schedule`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from collections.abc import Callable

import numpy as np

from routes.engine import Break, Instance, SearchParams, Spacing, StopFn, solve_parallel
from routes.plan import DayRoute, DroppedVisit, Plan, PlannedVisit, SearchStats
from routes.problem import WeekProblem
from routes.schedule import schedule_day
from taxvan.clock import GRID_MINUTES
from taxvan.demand import VisitDemand
from taxvan.errors import PlanningError
from taxvan.fleet import Van

DAY = 24 * 3600

ProgressFn = Callable[[float, int], None]


def vehicles_of(problem: WeekProblem) -> list[tuple[int, Van]]:
    """(working-day index, van) for every van that works on each working date."""
    out = []
    makeup = set(problem.week.makeup_days)
    for d, date in enumerate(problem.week.dates):
        for van in problem.dataset.vans:
            if date.weekday() in van.weekdays or date in makeup:
                out.append((d, van))
    return out


Day = list[VisitDemand]
"""One vehicle-day's visits in route order."""


def _too_close(
    visit: VisitDemand, d: int, days: list[Day], vehicles: list[tuple[int, Van]]
) -> bool:
    """Whether another visit to the stop lies fewer working days from day `d` than its gap."""
    gap = max(1, visit.min_gap_days)
    return any(
        other.stop_id == visit.stop_id and other.key != visit.key and abs(d - d2) < gap
        for (d2, _), day in zip(vehicles, days, strict=True)
        for other in day
    )


def _fit(visit: VisitDemand, day: Day, van: Van, problem: WeekProblem) -> tuple[int, int] | None:
    """(added metres, position) of the cheapest place in `day` where `visit` can be timed."""
    best = None
    node = problem.stop_node(visit.stop_id)
    nodes = [problem.stop_node(v.stop_id) for v in day]
    dwells = [v.dwell for v in day]
    met = problem.metres
    for pos in range(len(day) + 1):
        try:
            schedule_day(
                [*nodes[:pos], node, *nodes[pos:]],
                [*dwells[:pos], visit.dwell, *dwells[pos:]],
                problem.seconds,
                van,
            )
        except PlanningError:
            continue
        a = nodes[pos - 1] if pos else 0
        b = nodes[pos] if pos < len(nodes) else 0
        added = int(met[a][node]) + int(met[node][b]) - int(met[a][b])
        if best is None or added < best[0]:
            best = (added, pos)
    return best


def _fill_free_time(
    dropped: list[VisitDemand],
    days: list[Day],
    vehicles: list[tuple[int, Van]],
    problem: WeekProblem,
) -> list[VisitDemand]:
    """Put left-out visits, heaviest first, where a day still has room for them.

    The search may end with a visit left out while a day could still take it (a short time
    limit, a local optimum); a visit the week asks for is never left out for that.
    Returns the visits still left out.
    """
    left = []
    for visit in sorted(dropped, key=lambda v: (not v.must_serve, -v.remote_served, v.key)):
        best = None
        for vi, (d, van) in enumerate(vehicles):
            if _too_close(visit, d, days, vehicles):
                continue
            fit = _fit(visit, days[vi], van, problem)
            if fit is not None and (best is None or fit[0] < best[0]):
                best = (fit[0], vi, fit[1])
        if best is None:
            left.append(visit)
        else:
            days[best[1]].insert(best[2], visit)
    return left


def _drop_reason(
    visit: VisitDemand, problem: WeekProblem, days: list[Day], vehicles: list[tuple[int, Van]]
) -> str:
    """Why `visit` is left out: the constraint that binds, found by trying it on every day."""
    node = problem.stop_node(visit.stop_id)
    out, back = int(problem.seconds[0][node]), int(problem.seconds[node][0])
    longest = max(v.working_minutes for _, v in vehicles) * 60
    need = out + back + visit.dwell * 60
    if need > longest:
        return (
            f"cannot be reached, served for {visit.dwell} min and left within one shift "
            f"(needs {need // 60} min of the {longest // 60} available)"
        )
    dates = problem.week.dates
    spaced = [d for vi, (d, _) in enumerate(vehicles) if _too_close(visit, d, days, vehicles)]
    if len(spaced) == len(vehicles):
        return (
            f"no day is {max(1, visit.min_gap_days)} working days away from the stop's other "
            "visits this week"
        )
    # How late would the van be back on the day where the visit fits best?
    overrun: tuple[int, dt.date] | None = None
    for vi, (d, van) in enumerate(vehicles):
        if d in spaced:
            continue
        late = dataclasses.replace(van, shift_end=24 * 60 - 1)
        nodes = [problem.stop_node(v.stop_id) for v in days[vi]]
        dwells = [v.dwell for v in days[vi]]
        for pos in range(len(nodes) + 1):
            try:
                sched = schedule_day(
                    [*nodes[:pos], node, *nodes[pos:]],
                    [*dwells[:pos], visit.dwell, *dwells[pos:]],
                    problem.seconds,
                    late,
                )
            except PlanningError:
                continue
            over = sched.back - van.shift_end
            if overrun is None or over < overrun[0]:
                overrun = (over, dates[d])
    if overrun is None:
        return (
            "no day can take it and still keep the lunch break "
            f"({visit.dwell} min of service and {(out + back) // 60} min of driving)"
        )
    return (
        f"no room on any day: the van's days are full; where it fits best, on "
        f"{overrun[1].isoformat()}, the van would be back {overrun[0]} min after the shift "
        f"ends (it serves {visit.remote_served:.0f} remote taxpayers, fewer than the "
        "visits kept)"
    )


def solve_week(
    problem: WeekProblem,
    params: SearchParams | None = None,
    progress: ProgressFn | None = None,
    stop: StopFn | None = None,
) -> Plan:
    """Plan the week; every demanded visit is either in a route or listed as dropped.

    `stop` (asked often during the search) ends it early with `routes.engine.SearchStopped`."""
    params = params or SearchParams()
    visits = list(problem.demand.visits)
    vehicles = vehicles_of(problem)
    notes = list(problem.week.notes) + list(problem.demand.notes)
    if not vehicles:
        raise PlanningError(f"no van works in {problem.week.label}: every day is off")
    if not visits:
        raise PlanningError(f"{problem.week.label} asks for no visit: no remote taxpayer found")

    stop_nodes = [0] + [problem.stop_node(v.stop_id) for v in visits]
    sec = problem.seconds[np.ix_(stop_nodes, stop_nodes)]
    met = problem.metres[np.ix_(stop_nodes, stop_nodes)]
    step = GRID_MINUTES * 60
    travel = -(-sec // step) * step
    travel[:, 0] = sec[:, 0]  # the way home need not end on the grid
    n = len(stop_nodes)
    span = max(v.shift_end - v.shift_start for _, v in vehicles) * 60

    spacing = []
    by_stop: dict[str, list[int]] = {}
    for k, v in enumerate(visits, start=1):
        by_stop.setdefault(v.stop_id, []).append(k)
    for nodes in by_stop.values():
        for a, b in itertools.pairwise(nodes):
            gap_days = visits[b - 1].min_gap_days
            spacing.append(Spacing(a, b, max(1, gap_days) * DAY - span))

    k_pen = problem.settings.penalty_per_remote_taxpayer
    penalty = [k_pen * max(1, round(v.remote_served)) for v in visits]
    # A street's minimum visit outweighs every other visit and all the driving together, so
    # the search gives up anything else first (it stays optional only so that a stop no
    # shift can reach is reported instead of making the week unsolvable).
    longest_arc = int(met.max()) if met.size else 0
    must = 10 * (longest_arc * n + sum(penalty)) + 1
    penalty = [must if v.must_serve else p for v, p in zip(visits, penalty, strict=True)]
    instance = Instance(
        cost=met.tolist(),
        travel=travel.tolist(),
        service=[0] + [v.dwell * 60 for v in visits],
        windows=[(0, len(problem.week.dates) * DAY)] * n,
        vehicle_windows=[
            (d * DAY + v.shift_start * 60, d * DAY + v.shift_end * 60) for d, v in vehicles
        ],
        penalty=[None, *penalty],
        breaks=[
            [
                Break(
                    d * DAY + v.lunch_earliest * 60,
                    d * DAY + (v.lunch_latest - v.lunch_minutes) * 60,
                    v.lunch_minutes * 60,
                )
            ]
            for d, v in vehicles
        ],
        spacing=spacing,
        horizon=len(problem.week.dates) * DAY,
    )
    solution = solve_parallel(instance, params, progress, stop=stop)
    days = [[visits[k - 1] for k in nodes] for nodes in solution.routes]
    left_out = _fill_free_time([visits[k - 1] for k in solution.dropped], days, vehicles, problem)

    routes: list[DayRoute] = []
    for vi, (d, van) in enumerate(vehicles):
        day_visits = days[vi]
        stops = [problem.stop_node(v.stop_id) for v in day_visits]
        try:
            sched = schedule_day(stops, [v.dwell for v in day_visits], problem.seconds, van)
        except PlanningError as exc:
            raise PlanningError(
                f"internal error: route of {van.id} on {problem.week.dates[d]} found by the "
                f"solver cannot be timed ({exc})"
            ) from None
        date = problem.week.dates[d]
        planned = tuple(
            PlannedVisit(
                v.key,
                v.stop_id,
                v.street_code,
                date,
                van.id,
                order,
                t.arrive,
                t.start,
                t.end,
                v.remote_served,
            )
            for order, (v, t) in enumerate(zip(day_visits, sched.visits, strict=True), start=1)
        )
        path = [0, *stops, 0] if stops else []
        metres = sum(int(problem.metres[a][b]) for a, b in itertools.pairwise(path))
        drive = sum(int(problem.seconds[a][b]) for a, b in itertools.pairwise(path))
        routes.append(
            DayRoute(
                date,
                d,
                van.id,
                planned,
                sched.depart,
                sched.back,
                sched.lunch_start,
                van.lunch_minutes,
                metres,
                drive,
            )
        )

    dropped = tuple(
        DroppedVisit(
            v.key,
            v.stop_id,
            v.street_code,
            v.dwell,
            v.remote_served,
            _drop_reason(v, problem, days, vehicles),
        )
        for v in left_out
    )
    for h in problem.week.holidays:
        notes.append(f"{h.date.isoformat()} is a holiday ({h.reason}): no visits")
    for m in problem.week.makeup_days:
        notes.append(f"{m.isoformat()} is a make-up working day: the van works")
    return Plan(
        week=problem.week.label,
        routes=tuple(routes),
        dropped=dropped,
        search=SearchStats(
            solution.objective,
            solution.wall_time_s,
            params.time_limit_s,
            tuple(solution.improvements),
        ),
        notes=tuple(notes),
    )
