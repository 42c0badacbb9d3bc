"""The weekly planner: one route per van per working day, from the hall and back.

The week becomes one routing instance whose time axis runs over the whole week: vehicle
(day d, van) works `d * 24 h + shift`. That lets repeated visits to one stop be spaced in
days with a plain constraint on their times. Travel into a stop is rounded up to the
15-minute grid, so every visit the model times starts on the grid (see `routes.schedule`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np

from routes.engine import Break, Instance, SearchParams, Spacing, solve_parallel
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


def _drop_reason(visit: VisitDemand, problem: WeekProblem, vans: list[Van]) -> str:
    node = problem.stop_node(visit.stop_id)
    out, back = int(problem.seconds[0][node]), int(problem.seconds[node][0])
    longest = max(v.working_minutes for v in vans) * 60
    need = out + back + visit.dwell * 60
    if need > longest:
        return (
            f"cannot be reached, served for {visit.dwell} min and left within one shift "
            f"(needs {need // 60} min of the {longest // 60} available)"
        )
    return (
        f"no room left in the week: the van's days are full with visits serving more "
        f"remote taxpayers (this one serves {visit.remote_served:.0f})"
    )


def solve_week(
    problem: WeekProblem, params: SearchParams | None = None, progress: ProgressFn | None = None
) -> Plan:
    """Plan the week; every demanded visit is either in a route or listed as dropped."""
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
    instance = Instance(
        cost=met.tolist(),
        travel=travel.tolist(),
        service=[0] + [v.dwell * 60 for v in visits],
        windows=[(0, len(problem.week.dates) * DAY)] * n,
        vehicle_windows=[
            (d * DAY + v.shift_start * 60, d * DAY + v.shift_end * 60) for d, v in vehicles
        ],
        penalty=[None] + [k_pen * max(1, round(v.remote_served)) for v in visits],
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
    solution = solve_parallel(instance, params, progress)

    routes: list[DayRoute] = []
    for vi, (d, van) in enumerate(vehicles):
        nodes = solution.routes[vi]
        day_visits = [visits[k - 1] for k in nodes]
        stops = [stop_nodes[k] for k in nodes]
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

    vans = [v for _, v in vehicles]
    dropped = tuple(
        DroppedVisit(
            visits[k - 1].key,
            visits[k - 1].stop_id,
            visits[k - 1].street_code,
            visits[k - 1].dwell,
            visits[k - 1].remote_served,
            _drop_reason(visits[k - 1], problem, vans),
        )
        for k in solution.dropped
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
