"""Published times for a route whose order is known.

Walks the route from the depot at the start of the shift: each visit starts at the first
15-minute mark after the van can be there, and the lunch break is taken as late as the
lunch window allows (during a drive if need be, as crews do). This gives the earliest times
the van can keep, all on the grid; the engine's model has the same arithmetic, so an order
the engine found feasible always gets a schedule here. The published departure is then the
latest moment the van can leave the hall and still open its first visit on time, since
that is when the crew really sets off (and what the day sheet tells them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from taxvan.clock import GRID_MINUTES
from taxvan.errors import PlanningError
from taxvan.fleet import Van


@dataclass(frozen=True, slots=True)
class Timed:
    arrive: int
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class DaySchedule:
    visits: tuple[Timed, ...]
    depart: int
    back: int
    lunch_start: int | None


def _ceil(seconds: int, step: int) -> int:
    return -(-seconds // step) * step


def _arrival_with_lunch(t: int, travel: int, earliest: int) -> tuple[int, int]:
    """(lunch start, arrival) when lunch is taken on the drive that leaves at `t`."""
    s = max(t, earliest)
    driven = min(travel, s - t)
    return s, s + (travel - driven)


def _overlap(a0: int, a1: int, b0: int, b1: int) -> int:
    return max(0, min(a1, b1) - max(a0, b0))


def latest_departure(
    first_start: int, travel: int, lunch_start: int | None, lunch_minutes: int
) -> int:
    """Latest time (seconds) the van can leave the hall to open its first visit at
    `first_start` (seconds), `travel` seconds away, when lunch from `lunch_start`
    (seconds, or None) is taken on that drive if it falls before the visit."""
    leave = first_start - travel
    if lunch_start is None:
        return leave
    lunch_end = lunch_start + lunch_minutes * 60
    if _overlap(leave, first_start, lunch_start, lunch_end) == 0:
        return leave
    return min(lunch_start, leave - lunch_minutes * 60)


def earliest_return(last_end: int, travel: int, lunch_start: int | None, lunch_minutes: int) -> int:
    """Earliest time (seconds) the van is back at the hall after its last visit ends at
    `last_end`, `travel` seconds away; lunch starting after that visit is taken on the way."""
    if lunch_start is None or lunch_start < last_end:
        return last_end + travel
    driven = min(travel, lunch_start - last_end)
    return lunch_start + lunch_minutes * 60 + travel - driven


def schedule_day(
    nodes: Sequence[int],
    dwell_minutes: Sequence[int],
    seconds: Sequence[Sequence[int]] | np.ndarray,
    van: Van,
    depot: int = 0,
    grid_minutes: int = GRID_MINUTES,
    windows: Sequence[tuple[int, int] | None] | None = None,
    prefer: Sequence[int | None] | None = None,
) -> DaySchedule:
    """Times (minutes since midnight) for visiting `nodes` in order with one van.

    `windows` gives, per visit, the (earliest, latest) start a pin allows (None: any); the
    van waits for a pinned visit's earliest start. `prefer` gives, per visit, a start
    (minutes) not to open before: the van waits for it as for a pin, but it has no latest
    start. Raises PlanningError when the order cannot be kept within the shift, the lunch
    window and the pins.
    """
    windows = windows or [None] * len(nodes)
    prefer = prefer or [None] * len(nodes)
    step = grid_minutes * 60
    lunch = van.lunch_minutes * 60
    l_first = van.lunch_earliest * 60
    l_last = (van.lunch_latest - van.lunch_minutes) * 60
    t = van.shift_start * 60
    depart = t
    prev = depot
    lunch_start: int | None = None
    timed: list[Timed] = []
    for node, dwell, window, wish in zip(nodes, dwell_minutes, windows, prefer, strict=True):
        earliest = max(0 if window is None else window[0] * 60, 0 if wish is None else wish * 60)
        travel = int(seconds[prev][node])
        arrive = t + travel
        start = max(_ceil(arrive, step), earliest)
        end = start + dwell * 60
        if lunch_start is None and max(end, l_first) > l_last:
            s, arrive_before_lunch = _arrival_with_lunch(t, travel, l_first)
            if s > l_last:
                raise PlanningError("the lunch break cannot be kept on this route")
            lunch_start = s
            arrive = arrive_before_lunch + lunch
            start = max(_ceil(arrive, step), earliest)
            end = start + dwell * 60
        if window is not None and start > window[1] * 60:
            raise PlanningError("a pinned visit cannot start at its pinned time on this route")
        timed.append(Timed(arrive // 60 + (arrive % 60 > 0), start // 60, end // 60))
        t = end
        prev = node
    travel = int(seconds[prev][depot])
    back = t + travel
    if lunch_start is None and nodes:
        s, back_before = _arrival_with_lunch(t, travel, l_first)
        if s > l_last:
            raise PlanningError("the lunch break cannot be kept on this route")
        lunch_start = s
        back = back_before + lunch
    if back > van.shift_end * 60:
        raise PlanningError("the route does not end within the shift")
    if timed:
        depart = latest_departure(
            timed[0].start * 60,
            int(seconds[depot][nodes[0]]),
            lunch_start,
            van.lunch_minutes,
        )
    return DaySchedule(
        tuple(timed),
        depart // 60,
        back // 60 + (back % 60 > 0),
        None if lunch_start is None else lunch_start // 60,
    )


def schedule_near(
    nodes: Sequence[int],
    dwell_minutes: Sequence[int],
    seconds: Sequence[Sequence[int]] | np.ndarray,
    van: Van,
    windows: Sequence[tuple[int, int] | None] | None = None,
    prefer: Sequence[int | None] | None = None,
) -> DaySchedule:
    """`schedule_day` keeping as many visits at their preferred start (`prefer`, e.g. the
    published one) as the route allows, earliest visit first: a visit waits for its
    preferred start when the rest of the day can still be kept, else it opens as early
    as it can. With no preference that holds, this is `schedule_day`'s earliest times, so
    an order `schedule_day` can time always gets a schedule here."""
    wishes: list[int | None] = list(prefer or [None] * len(nodes))
    kept: list[int | None] = [None] * len(nodes)
    for i, wish in enumerate(wishes):
        if wish is None:
            continue
        kept[i] = wish
        try:
            schedule_day(nodes, dwell_minutes, seconds, van, windows=windows, prefer=kept)
        except PlanningError:
            kept[i] = None
    return schedule_day(nodes, dwell_minutes, seconds, van, windows=windows, prefer=kept)
