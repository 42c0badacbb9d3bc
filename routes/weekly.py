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
from routes.schedule import schedule_day, schedule_near
from routes.stability import Placed, PreviousTemplate, Stability
from taxvan.adjustments import Pin, PinError
from taxvan.clock import GRID_MINUTES, hhmm
from taxvan.demand import VisitDemand
from taxvan.errors import PlanningError
from taxvan.fleet import Van
from taxvan.messages import N_, Message, message
from taxvan.workdays import holiday_notes, weekday_name

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


def _windows(day: Day) -> list[tuple[int, int] | None]:
    """The pinned start windows (minutes) of a day's visits, None where a visit has none."""
    return [v.pin_window for v in day]


def _fit(visit: VisitDemand, day: Day, van: Van, problem: WeekProblem) -> tuple[int, int] | None:
    """(added metres, position) of the cheapest place in `day` where `visit` can be timed."""
    best = None
    node = problem.stop_node(visit.stop_id)
    nodes = [problem.stop_node(v.stop_id) for v in day]
    dwells = [v.dwell for v in day]
    wins = _windows(day)
    met = problem.metres
    for pos in range(len(day) + 1):
        try:
            schedule_day(
                [*nodes[:pos], node, *nodes[pos:]],
                [*dwells[:pos], visit.dwell, *dwells[pos:]],
                problem.seconds,
                van,
                windows=[*wins[:pos], visit.pin_window, *wins[pos:]],
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
) -> Message:
    """Why `visit` is left out: the constraint that binds, found by trying it on every day."""
    node = problem.stop_node(visit.stop_id)
    out, back = int(problem.seconds[0][node]), int(problem.seconds[node][0])
    longest = max(v.working_minutes for _, v in vehicles) * 60
    need = out + back + visit.dwell * 60
    if need > longest:
        return message(
            N_(
                "cannot be reached, served for %(dwell)d min and left within one shift "
                "(needs %(need)d min of the %(available)d available)"
            ),
            dwell=visit.dwell,
            need=need // 60,
            available=longest // 60,
        )
    dates = problem.week.dates
    spaced = [d for vi, (d, _) in enumerate(vehicles) if _too_close(visit, d, days, vehicles)]
    if len(spaced) == len(vehicles):
        return message(
            N_("no day is %(days)d working days away from the stop's other visits this week"),
            days=max(1, visit.min_gap_days),
        )
    # How late would the van be back on the day where the visit fits best?
    overrun: tuple[int, dt.date] | None = None
    for vi, (d, van) in enumerate(vehicles):
        if d in spaced:
            continue
        late = dataclasses.replace(van, shift_end=24 * 60 - 1)
        nodes = [problem.stop_node(v.stop_id) for v in days[vi]]
        dwells = [v.dwell for v in days[vi]]
        wins = _windows(days[vi])
        for pos in range(len(nodes) + 1):
            try:
                sched = schedule_day(
                    [*nodes[:pos], node, *nodes[pos:]],
                    [*dwells[:pos], visit.dwell, *dwells[pos:]],
                    problem.seconds,
                    late,
                    windows=[*wins[:pos], None, *wins[pos:]],
                )
            except PlanningError:
                continue
            over = sched.back - van.shift_end
            if overrun is None or over < overrun[0]:
                overrun = (over, dates[d])
    if overrun is None:
        return message(
            N_(
                "no day can take it and still keep the lunch break (%(dwell)d min of service "
                "and %(drive)d min of driving)"
            ),
            dwell=visit.dwell,
            drive=(out + back) // 60,
        )
    return message(
        N_(
            "no room on any day: the van's days are full; where it fits best, on %(day)s "
            "%(date)s, the van would be back %(late)d min after the shift ends (it serves "
            "%(remote)s remote taxpayers, fewer than the visits kept)"
        ),
        day=weekday_name(overrun[1].weekday()),
        date=overrun[1].isoformat(),
        late=overrun[0],
        remote=f"{visit.remote_served:.0f}",
    )


def _date_index(problem: WeekProblem, weekday: int) -> int | None:
    return next((d for d, date in enumerate(problem.week.dates) if date.weekday() == weekday), None)


def _pin_constraints(
    problem: WeekProblem, visits: list[VisitDemand], vehicles: list[tuple[int, Van]]
) -> tuple[list[list[int] | None], list[tuple[int, int]]]:
    """Per node (depot first): the vehicles a pinned visit may go on (its weekday's) and its
    time window on the week's time axis (its pinned start, or the whole of its day)."""
    week = (0, len(problem.week.dates) * DAY)
    allowed: list[list[int] | None] = [None]
    windows = [week]
    for v in visits:
        d = None if v.pin_weekday is None else _date_index(problem, v.pin_weekday)
        if d is None:
            allowed.append(None)
            windows.append(week)
            continue
        allowed.append([vi for vi, (dv, _) in enumerate(vehicles) if dv == d])
        if v.pin_window is None:
            windows.append((d * DAY, (d + 1) * DAY))
        else:
            windows.append((d * DAY + v.pin_window[0] * 60, d * DAY + v.pin_window[1] * 60))
    return allowed, windows


def pin_error(
    problem: WeekProblem, visit: VisitDemand, template: str, **params: object
) -> PinError:
    """The PinError for pinned `visit`, naming its pin and stop; the reason is `template`
    filled in with `params` (kept apart too, for the console to translate)."""
    assert visit.pin_weekday is not None
    window = visit.pin_window
    pin = Pin(
        visit.stop_id,
        visit.pin_weekday,
        None if window is None else (window[0] + window[1]) // 2,
        0 if window is None else (window[1] - window[0]) // 2,
    )
    name = next((s.name for s in problem.dataset.stops if s.id == visit.stop_id), "")
    values = tuple((k, str(v)) for k, v in sorted(params.items()))
    return PinError(pin, template.format(**dict(values)), name, template, values)


def check_pins(
    problem: WeekProblem, visits: list[VisitDemand], vehicles: list[tuple[int, Van]]
) -> None:
    """Fail before any search when a pin cannot hold whatever the solver does: no van that
    day, the stop out of reach at that time within the shift and lunch, or the day's pinned
    visits unable to follow one another. Raises PinError naming the pin and why."""
    by_day: dict[int, list[VisitDemand]] = {}
    for v in visits:
        if v.pin_weekday is None:
            continue
        d = _date_index(problem, v.pin_weekday)
        vans = [van for dv, van in vehicles if dv == d]
        if d is None or not vans:
            raise pin_error(
                problem, v, "no van works on that day in {week}", week=problem.week.label
            )
        if not _fits_a_van(problem, v, vans):
            template, params = _why_pin_cannot_hold(problem, v, vans[0])
            raise pin_error(problem, v, template, **params)
        if v.pin_window is not None:
            by_day.setdefault(d, []).append(v)
    for d, timed in by_day.items():
        _check_day_pins(problem, timed, [van for dv, van in vehicles if dv == d])


def _fits_a_van(problem: WeekProblem, v: VisitDemand, vans: list[Van]) -> bool:
    """Whether one of `vans` can hold the pinned visit alone, within its shift and lunch."""
    node = problem.stop_node(v.stop_id)
    for van in vans:
        try:
            schedule_day([node], [v.dwell], problem.seconds, van, windows=[v.pin_window])
        except PlanningError:
            continue
        return True
    return False


def _why_pin_cannot_hold(
    problem: WeekProblem, v: VisitDemand, van: Van
) -> tuple[str, dict[str, object]]:
    """(template, values) saying why the pinned visit does not fit `van`'s day: the way
    there, the way back, or the lunch break."""
    node = problem.stop_node(v.stop_id)
    out, back = int(problem.seconds[0][node]), int(problem.seconds[node][0])
    if v.pin_window is None:
        return (
            "the stop is {out} min from the hall and {back} min back, with {dwell} min on "
            "site, which does not fit the shift {start}-{end} and its lunch break",
            {
                "out": out // 60,
                "back": back // 60,
                "dwell": v.dwell,
                "start": hhmm(van.shift_start),
                "end": hhmm(van.shift_end),
            },
        )
    lo, hi = v.pin_window
    if van.shift_start * 60 + out > hi * 60:
        return (
            "leaving the hall at {start}, the van needs {out} min to get there "
            "and cannot open by {latest}",
            {"start": hhmm(van.shift_start), "out": -(-out // 60), "latest": hhmm(hi)},
        )
    if lo * 60 + v.dwell * 60 + back > van.shift_end * 60:
        return (
            "after {dwell} min there from {earliest}, the van cannot be back at the "
            "hall ({back} min away) by {end}",
            {
                "dwell": v.dwell,
                "earliest": hhmm(lo),
                "back": back // 60,
                "end": hhmm(van.shift_end),
            },
        )
    return (
        "{earliest} to {until} leaves no room for the {lunch}-minute lunch "
        "break between {lunch_from} and {lunch_to}",
        {
            "earliest": hhmm(lo),
            "until": hhmm(lo + v.dwell),
            "lunch": van.lunch_minutes,
            "lunch_from": hhmm(van.lunch_earliest),
            "lunch_to": hhmm(van.lunch_latest),
        },
    )


def _check_day_pins(problem: WeekProblem, timed: list[VisitDemand], vans: list[Van]) -> None:
    """More pinned times on a day than vans: one van must keep them all, one after another."""
    timed.sort(key=lambda v: v.pin_window or (0, 0))
    if len(timed) <= len(vans):
        return  # each may go on a van of its own
    try:
        schedule_day(
            [problem.stop_node(v.stop_id) for v in timed],
            [v.dwell for v in timed],
            problem.seconds,
            vans[0],
            windows=[v.pin_window for v in timed],
        )
    except PlanningError:
        others = ", ".join(
            f"{v.stop_id} {hhmm(v.pin_window[0])}" for v in timed[1:] if v.pin_window is not None
        )
        raise pin_error(
            problem,
            timed[0],
            "the pins of that day ({others}) cannot all be kept by one van, with the "
            "driving between them and the lunch break",
            others=others,
        ) from None


def _previous_places(
    problem: WeekProblem,
    visits: list[VisitDemand],
    vehicles: list[tuple[int, Van]],
    previous: PreviousTemplate | None,
) -> list[tuple[Placed, int | None] | None]:
    """Per visit: its place in the previous template and the vehicle of that weekday and
    van this week (None: that day or van no longer works), or None if it was not there."""
    if previous is None:
        return [None] * len(visits)
    vehicle_of = {
        (problem.week.dates[d].weekday(), van.id): vi for vi, (d, van) in enumerate(vehicles)
    }
    out: list[tuple[Placed, int | None] | None] = []
    for v in visits:
        placed = previous.place_of(v.key, v.stop_id, v.index)
        out.append(
            None if placed is None else (placed, vehicle_of.get((placed.weekday, placed.van)))
        )
    return out


def _initial_routes(
    problem: WeekProblem,
    visits: list[VisitDemand],
    vehicles: list[tuple[int, Van]],
    places: list[tuple[Placed, int | None] | None],
    allowed: list[list[int] | None],
) -> list[list[int]]:
    """The previous template's routes as nodes of this week's instance, kept only where they
    hold every constraint of the new one (a first solution must, google/or-tools#1600): a
    visit goes back to its previous vehicle unless a pin sends it elsewhere; repeated visits
    to a stop keep their order and spacing; a day that can no longer be timed (a pin's
    window, the shift, lunch) sheds visits, last first, until it can. What is left out is
    inserted by the search."""
    nodes = _previous_routes(vehicles, places, allowed)
    day_of = {k: vehicles[vi][0] for vi, ordered in enumerate(nodes) for k in ordered}
    gone = _out_of_spacing(visits, day_of)

    def timed(route: list[int], van: Van) -> bool:
        try:
            schedule_day(
                [problem.stop_node(visits[k - 1].stop_id) for k in route],
                [visits[k - 1].dwell for k in route],
                problem.seconds,
                van,
                windows=[visits[k - 1].pin_window for k in route],
            )
        except PlanningError:
            return False
        return True

    out: list[list[int]] = []
    for vi, ordered in enumerate(nodes):
        van = vehicles[vi][1]
        route = [k for k in ordered if k not in gone]
        while route and not timed(route, van):
            # the one visit whose leaving lets the day be timed (the latest first), else
            # the last one, and try again
            shorter = next(
                (
                    route[:i] + route[i + 1 :]
                    for i in reversed(range(len(route)))
                    if timed(route[:i] + route[i + 1 :], van)
                ),
                route[:-1],
            )
            route = shorter
        out.append(route)
    return out


def _previous_routes(
    vehicles: list[tuple[int, Van]],
    places: list[tuple[Placed, int | None] | None],
    allowed: list[list[int] | None],
) -> list[list[int]]:
    """Per vehicle, the visits (nodes) the previous template had there, in its order, but
    those whose pin now allows other vehicles only."""
    ranked: list[list[tuple[int, int]]] = [[] for _ in vehicles]
    for k, place in enumerate(places, start=1):
        if place is None or place[1] is None:
            continue
        vi = place[1]
        ok = allowed[k]
        if ok is not None and vi not in ok:
            continue
        ranked[vi].append((place[0].order, k))
    return [[k for _, k in sorted(places_of)] for places_of in ranked]


def _out_of_spacing(visits: list[VisitDemand], day_of: dict[int, int]) -> set[int]:
    """The visits (nodes) placed too soon: visit k+1 of a stop goes only after visit k, far
    enough apart (as in the model)."""
    gone: set[int] = set()
    by_stop: dict[str, list[int]] = {}
    for k, v in enumerate(visits, start=1):
        by_stop.setdefault(v.stop_id, []).append(k)
    for ks in by_stop.values():
        for a, b in itertools.pairwise(ks):
            if b not in day_of:
                continue
            gap = max(1, visits[b - 1].min_gap_days)
            if a not in day_of or a in gone or day_of[b] - day_of[a] < gap:
                gone.add(b)
    return gone


def solve_week(
    problem: WeekProblem,
    params: SearchParams | None = None,
    progress: ProgressFn | None = None,
    previous: PreviousTemplate | None = None,
    stability: Stability | None = None,
    stop: StopFn | None = None,
) -> Plan:
    """Plan the week; every demanded visit is either in a route or listed as dropped.

    With `previous` (the template this one replaces) the search starts from its routes and
    holds the week near it: a visit leaving its previous weekday or van, or its previous
    time of day, costs what `stability` says (`routes.stability`), and the published times
    prefer the previous starts. Pins and a street's minimum visit outweigh those costs.
    `stop` (asked often during the search) ends it early with `routes.engine.SearchStopped`.
    """
    params = params or SearchParams()
    stability = stability or Stability()
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

    spacing = _spacing(visits, span)
    check_pins(problem, visits, vehicles)
    k_pen = problem.settings.penalty_per_remote_taxpayer
    penalty = [k_pen * max(1, round(v.remote_served)) for v in visits]
    places = _previous_places(problem, visits, vehicles, previous)
    longest_arc = int(met.max()) if met.size else 0
    # Near the previous template: a cost for serving a visit on another vehicle than its
    # previous weekday and van (none when that day is gone: it has to move), the same cost
    # added to leaving out a visit the previous template held (so it is moved rather than
    # dropped, and not swapped for another visit for a little weight), and a target time of
    # day (none for a pinned time, which its window holds). A move costs at least twice the
    # longest drive, more than moving visits can ever save in driving (a visit's detour is at
    # most that); see routes.stability.
    vehicle_cost = None
    target: list[int | None] | None = None
    stable_max = 0
    if previous is not None:
        move = max(stability.move_cost, 2 * longest_arc)
        penalty = [
            p + (move if place is not None and place[1] is not None else 0)
            for p, place in zip(penalty, places, strict=True)
        ]
        vehicle_cost = [
            [0] + [0 if p is None or p[1] is None or p[1] == vi else move for p in places]
            for vi in range(len(vehicles))
        ]
        target = [None]
        target += [
            None if p is None or v.pin_window is not None else p[0].start * 60
            for v, p in zip(visits, places, strict=True)
        ]
        stable_max = n * (move + stability.minute_cost * 24 * 60)
    # A street's minimum visit outweighs every other visit, all the driving and every cost of
    # moving away from the previous template together, so the search gives up anything else
    # first (it stays optional only so that a stop no shift can reach is reported instead of
    # making the week unsolvable).
    must = 10 * (longest_arc * n + sum(penalty) + stable_max) + 1
    penalty = [must if v.must_serve else p for v, p in zip(visits, penalty, strict=True)]
    # A pinned visit outweighs even the minimum visits: it is a constraint, optional in the
    # model only so that one that cannot hold is named (PinError) instead of "no plan".
    pinned = must * (1 + sum(v.must_serve for v in visits)) + 1
    penalty = [
        pinned if v.pin_weekday is not None else p for v, p in zip(visits, penalty, strict=True)
    ]
    allowed, windows = _pin_constraints(problem, visits, vehicles)
    instance = Instance(
        cost=met.tolist(),
        travel=travel.tolist(),
        service=[0] + [v.dwell * 60 for v in visits],
        windows=windows,
        allowed_vehicles=allowed,
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
        initial_routes=(
            None
            if previous is None
            else _initial_routes(problem, visits, vehicles, places, allowed)
        ),
        vehicle_cost=vehicle_cost,
        target_clock=target,
        clock_period=DAY,
        clock_cost=stability.minute_cost if previous is not None else 0,
    )
    solution = solve_parallel(instance, params, progress, stop=stop)
    days = [[visits[k - 1] for k in nodes] for nodes in solution.routes]
    wish = {
        v.key: p[0].start
        for v, p in zip(visits, places, strict=True)
        if p is not None and v.pin_window is None
    }
    _check_no_pin_dropped(problem, [visits[k - 1] for k in solution.dropped])
    left_out = _fill_free_time([visits[k - 1] for k in solution.dropped], days, vehicles, problem)

    routes = [_day_route(problem, d, van, days[vi], wish) for vi, (d, van) in enumerate(vehicles)]

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
    notes += holiday_notes(problem.week)
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


def _spacing(visits: list[VisitDemand], span: int) -> list[Spacing]:
    """Repeated visits to a stop in order, their working days apart (less one shift's
    `span` seconds: a day's visits may lie anywhere in its shift)."""
    spacing = []
    by_stop: dict[str, list[int]] = {}
    for k, v in enumerate(visits, start=1):
        by_stop.setdefault(v.stop_id, []).append(k)
    for nodes in by_stop.values():
        for a, b in itertools.pairwise(nodes):
            gap_days = visits[b - 1].min_gap_days
            spacing.append(Spacing(a, b, max(1, gap_days) * DAY - span))
    return spacing


def _check_no_pin_dropped(problem: WeekProblem, dropped: list[VisitDemand]) -> None:
    """A pinned visit the search left out is an error naming the pin."""
    for v in dropped:
        if v.pin_weekday is not None:
            raise pin_error(
                problem,
                v,
                "the solver could not fit it with the other visits of that day ({dwell} min "
                "on site); move the pin or lighten that day",
                dwell=v.dwell,
            )


def _day_route(
    problem: WeekProblem,
    d: int,
    van: Van,
    day_visits: list[VisitDemand],
    wish: dict[str, int],
) -> DayRoute:
    """One van's day with the visits the search gave it, timed (near the `wish`ed starts)."""
    stops = [problem.stop_node(v.stop_id) for v in day_visits]
    try:
        sched = schedule_near(
            stops,
            [v.dwell for v in day_visits],
            problem.seconds,
            van,
            windows=_windows(day_visits),
            prefer=[wish.get(v.key) for v in day_visits],
        )
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
    return DayRoute(
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
