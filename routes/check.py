"""An independent check of a plan against the matrix, the vans and the week's demand.

Shares no code with the solver or the scheduler on purpose: it re-derives every rule a
dispatcher relies on from the published times alone (travel fits between visits, dwell as
asked, shift, lunch, the 15-minute grid, spacing of repeated visits, nothing lost).
"""

from __future__ import annotations

import itertools

import numpy as np

from routes.plan import DayRoute, Plan, PlannedVisit
from routes.problem import WeekProblem
from taxvan.clock import GRID_MINUTES, hhmm
from taxvan.demand import VisitDemand
from taxvan.fleet import Van
from taxvan.workdays import WEEKDAY_EN


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def check_plan(plan: Plan, problem: WeekProblem) -> list[str]:
    """Every broken rule as a sentence; an empty list means the plan can be kept."""
    errors: list[str] = []
    vans = {v.id: v for v in problem.dataset.vans}
    demand = {v.key: v for v in problem.demand.visits}
    node = {s.id: k for k, s in enumerate(problem.dataset.stops, start=1)}

    seen: dict[str, str] = {}
    for r in plan.routes:
        van = vans[r.van_id]
        if r.visits:
            errors += _route_errors(r, van, demand, node, problem.seconds, seen)
    errors += _spacing_errors(plan, problem, demand)
    dropped = {d.key for d in plan.dropped}
    for key in demand:
        if key not in seen and key not in dropped:
            errors.append(f"visit {key} is neither planned nor listed as dropped")
        if key in seen and key in dropped:
            errors.append(f"visit {key} is both planned and dropped")
    return errors


def _route_errors(
    r: DayRoute,
    van: Van,
    demand: dict[str, VisitDemand],
    node: dict[str, int],
    sec: np.ndarray,
    seen: dict[str, str],
) -> list[str]:
    """A day's broken rules: shift and lunch, each visit as asked, the driving between them.
    `seen` (visit key: the day holding it) finds a visit planned twice."""
    where = f"{r.date} {r.van_id}"
    errors, lunch = _shift_errors(r, van, where)
    prev_node, prev_end = 0, r.depart * 60.0
    legs = [*r.visits, None]
    for v in legs:
        if v is None:
            to, start, label = 0, r.back * 60.0, "the hall"
        else:
            if v.key in seen:
                errors.append(f"{where}: visit {v.key} is also planned on {seen[v.key]}")
            seen[v.key] = where
            dv = demand.get(v.key)
            if dv is None:
                errors.append(f"{where}: visit {v.key} was not asked for")
                continue
            errors += _visit_errors(v, dv, where, lunch)
            to, start, label = node[v.stop_id], v.start * 60.0, v.key
        gap = start - prev_end
        if lunch:
            gap -= _overlap(prev_end, start, *lunch)
        need = float(sec[prev_node][to])
        if gap + 1e-6 < need:
            errors.append(
                f"{where}: {need / 60:.0f} min of driving to {label} do not fit "
                f"in the {gap / 60:.0f} min available"
            )
        if v is not None:
            prev_node, prev_end = to, v.end * 60.0
    if lunch and not (r.depart * 60.0 <= lunch[0] and lunch[1] <= r.back * 60.0 + 1e-6):
        errors.append(f"{where}: lunch break is outside the working day")
    return errors


def _shift_errors(
    r: DayRoute, van: Van, where: str
) -> tuple[list[str], tuple[float, float] | None]:
    """The day's lunch break and shift errors, and the lunch break (seconds) if it has one."""
    errors = []
    lunch = None
    if r.lunch_start is None:
        errors.append(f"{where}: no lunch break")
    else:
        lunch = (r.lunch_start * 60.0, (r.lunch_start + van.lunch_minutes) * 60.0)
        if r.lunch_start < van.lunch_earliest or r.lunch_start + van.lunch_minutes > (
            van.lunch_latest
        ):
            errors.append(
                f"{where}: lunch at {hhmm(r.lunch_start)} is outside "
                f"{hhmm(van.lunch_earliest)}-{hhmm(van.lunch_latest)}"
            )
    if r.depart < van.shift_start:
        errors.append(f"{where}: leaves before the shift starts")
    if r.back > van.shift_end:
        errors.append(f"{where}: back at {hhmm(r.back)}, after the shift ends")
    return errors, lunch


def _visit_errors(
    v: PlannedVisit, dv: VisitDemand, where: str, lunch: tuple[float, float] | None
) -> list[str]:
    """A visit against what was asked: its stop, the grid, its dwell, its pin, lunch."""
    errors = []
    if v.stop_id != dv.stop_id:
        errors.append(f"{where}: visit {v.key} is at the wrong stop")
    if v.start % GRID_MINUTES or v.end % GRID_MINUTES:
        errors.append(
            f"{where}: {v.key} {hhmm(v.start)}-{hhmm(v.end)} is off the {GRID_MINUTES}-minute grid"
        )
    if v.end - v.start != dv.dwell:
        errors.append(f"{where}: {v.key} lasts {v.end - v.start} min, asked for {dv.dwell}")
    if dv.pin_weekday is not None:
        usual = v.moved_from.date if v.moved_from else v.date
        if usual.weekday() != dv.pin_weekday:
            errors.append(
                f"{where}: {v.key} is pinned to {WEEKDAY_EN[dv.pin_weekday]} but "
                f"held on {WEEKDAY_EN[usual.weekday()]}"
            )
        win = dv.pin_window
        if win is not None and not win[0] <= v.start <= win[1]:
            errors.append(
                f"{where}: {v.key} starts at {hhmm(v.start)}, outside its pinned "
                f"{hhmm(win[0])}-{hhmm(win[1])}"
            )
    if lunch and _overlap(v.start * 60.0, v.end * 60.0, *lunch) > 0:
        errors.append(f"{where}: {v.key} overlaps the lunch break")
    return errors


def _spacing_errors(plan: Plan, problem: WeekProblem, demand: dict[str, VisitDemand]) -> list[str]:
    """Repeated visits to a stop closer than the working days they must lie apart."""
    errors = []
    days: dict[str, list[tuple[int, str]]] = {}
    index_of = {d: i for i, d in enumerate(problem.week.dates)}
    for v in plan.visits:
        days.setdefault(v.stop_id, []).append((index_of[v.date], v.key))
    for stop_id, items in days.items():
        items.sort()
        gap = max(demand[k].min_gap_days for _, k in items if k in demand)
        for (d1, k1), (d2, k2) in itertools.pairwise(items):
            if d2 - d1 < max(1, gap):
                errors.append(
                    f"{stop_id}: visits {k1} and {k2} are {d2 - d1} working days "
                    f"apart, fewer than {max(1, gap)}"
                )
    return errors
