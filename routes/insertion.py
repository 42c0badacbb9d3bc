"""Fitting a one-off visit (a door-to-door request) into routes that are already published.

Published visits are promises: people have read the timetable and booked places. So a new
visit goes only where every published visit keeps its time, its crew still gets the lunch
break inside its window and the van is back at the hall before the shift ends:

* `insertions(...)` walks every day route, every gap between two visits (or the hall and a
  visit) and every start on the 15-minute grid inside the request's window, and returns each
  (day, van, gap) where the visit fits, with its earliest start and the extra driving.
* When nothing fits, the same walk lets later visits start later and earlier ones start
  earlier (on the grid) and returns, per day and van, the option that moves the fewest
  visits the fewest minutes: what would have to move. Nothing is moved here; the caller
  shows it.

Plain data in and out (no database, no Flask); travel from any `MatrixProvider`. The rules
are the independent check's (`routes.check`): the drive between two events fits in the gap
between them, less the lunch break when lunch is taken in that gap; lunch lies wholly inside
the van's lunch window and inside one gap; the van leaves the hall no earlier than the shift
starts and is back no later than it ends.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from routes.matrix import MatrixProvider
from taxvan.clock import GRID_MINUTES
from taxvan.fleet import Van
from taxvan.places import LatLon


@dataclass(frozen=True, slots=True)
class RouteVisit:
    """One visit of a published day route: `key` names it to the caller (e.g. a row id)."""

    key: str
    point: LatLon
    start: int
    """Minutes since midnight, China time."""
    end: int


@dataclass(frozen=True, slots=True)
class DayRoute:
    """One van's published day: its visits in the order driven."""

    day: dt.date
    van: Van
    visits: tuple[RouteVisit, ...]


@dataclass(frozen=True, slots=True)
class NewVisit:
    """The visit to fit in: where, how long, on which days and inside which hours.

    `days` None means any day of the routes; `window` is (earliest start, latest end) in
    minutes since midnight, None meaning the van's shift."""

    point: LatLon
    minutes: int
    days: frozenset[dt.date] | None = None
    window: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class Move:
    """A published visit that would have to change its time."""

    key: str
    start: int
    end: int
    new_start: int
    new_end: int

    @property
    def shift(self) -> int:
        """Minutes later (positive) or earlier (negative)."""
        return self.new_start - self.start


@dataclass(frozen=True, slots=True)
class Insertion:
    """The new visit on `day` with van `van_id`, between `after` and `before` (visit keys;
    None is the hall), from `start` to `end`."""

    day: dt.date
    van_id: str
    position: int
    """Index in the day's visits the new visit takes (0: first of the day)."""
    after: str | None
    before: str | None
    start: int
    end: int
    extra_metres: int
    extra_minutes: int
    """Extra driving the detour costs, against driving straight from `after` to `before`."""
    preferred: bool
    """The day is one the requester asked for."""
    moves: tuple[Move, ...] = ()
    """Empty when every published visit keeps its time."""

    @property
    def moved_minutes(self) -> int:
        return sum(abs(m.shift) for m in self.moves)


@dataclass(frozen=True, slots=True)
class InsertionResult:
    fits: tuple[Insertion, ...]
    """Every (day, van, gap) where the visit fits keeping every published time: preferred
    days first, then the least extra driving."""
    with_moves: tuple[Insertion, ...]
    """Per day and van where it cannot fit as published: the option moving the fewest
    visits the fewest minutes (absent for a day where even that is impossible)."""

    @property
    def fits_preferred(self) -> bool:
        return any(i.preferred for i in self.fits)


def _ceil(m: int, step: int = GRID_MINUTES) -> int:
    return -(-m // step) * step


def _floor(m: int, step: int = GRID_MINUTES) -> int:
    return (m // step) * step


def day_is_feasible(
    van: Van, events: Sequence[tuple[int, int, int]], seconds: Sequence[Sequence[int]]
) -> bool:
    """Whether a van can keep `events` (node, start, end; node 0 is the hall) in this order:
    every drive fits its gap, lunch fits in one gap inside its window, the day inside the
    shift. Gaps count from the shift's start and to its end (the van leaves and returns when
    it must)."""
    if not events:
        return True
    gaps: list[tuple[int, int, int]] = []  # (from, to, travel seconds)
    prev_node, prev_end = 0, van.shift_start
    for node, start, end in events:
        if start < prev_end or end < start:
            return False
        gaps.append((prev_end, start, int(seconds[prev_node][node])))
        prev_node, prev_end = node, end
    gaps.append((prev_end, van.shift_end, int(seconds[prev_node][0])))
    plain = [(b - a) * 60 >= t for a, b, t in gaps]
    lm = van.lunch_minutes

    def lunch_ok(a: int, b: int, t: int) -> bool:
        lo, hi = max(a, van.lunch_earliest), min(b, van.lunch_latest)
        return hi - lo >= lm and (b - a - lm) * 60 >= t

    bad = [i for i, ok in enumerate(plain) if not ok]
    if len(bad) > 1:
        return False
    if bad:
        return lunch_ok(*gaps[bad[0]])
    return any(lunch_ok(*g) for g in gaps)


def insertions(
    routes: Sequence[DayRoute],
    hall: LatLon,
    provider: MatrixProvider,
    new: NewVisit,
    grid: int = GRID_MINUTES,
) -> InsertionResult:
    """Where `new` fits into `routes` without moving a published visit, else what would move.

    `routes` are the published day routes (a van with no visit that day may be given with no
    visits: the new visit is then its only one)."""
    points: list[LatLon] = [hall, new.point]
    index: dict[LatLon, int] = {hall: 0}
    index.setdefault(new.point, 1)
    new_node = 1  # its own node even when it lies at the hall or at a stop
    for r in routes:
        for v in r.visits:
            if v.point not in index:
                index[v.point] = len(points)
                points.append(v.point)
    m = provider.matrix(points, points)
    sec, metres = m.seconds.tolist(), m.metres.tolist()
    fits: list[Insertion] = []
    moved: list[Insertion] = []
    for r in routes:
        nodes = [index[v.point] for v in r.visits]
        preferred = new.days is None or r.day in new.days
        found = _fits(r, nodes, new_node, new, sec, metres, preferred, grid)
        if found:
            fits.extend(found)
        else:
            best = _least_moves(r, nodes, new_node, new, sec, metres, preferred, grid)
            if best is not None:
                moved.append(best)
    fits.sort(key=lambda i: (not i.preferred, i.extra_minutes, i.day, i.van_id, i.start))
    moved.sort(key=lambda i: (not i.preferred, len(i.moves), i.moved_minutes, i.day, i.van_id))
    return InsertionResult(tuple(fits), tuple(moved))


def _window(r: DayRoute, new: NewVisit) -> tuple[int, int]:
    lo, hi = new.window or (r.van.shift_start, r.van.shift_end)
    return max(lo, r.van.shift_start), min(hi, r.van.shift_end)


def _detour(nodes: list[int], pos: int, new_node: int, table: Sequence[Sequence[int]]) -> int:
    prev = nodes[pos - 1] if pos > 0 else 0
    nxt = nodes[pos] if pos < len(nodes) else 0
    return int(table[prev][new_node] + table[new_node][nxt] - table[prev][nxt])


def _events(r: DayRoute, nodes: list[int]) -> list[tuple[int, int, int]]:
    return [(n, v.start, v.end) for n, v in zip(nodes, r.visits, strict=True)]


def _insertion(
    r: DayRoute,
    nodes: list[int],
    pos: int,
    start: int,
    new: NewVisit,
    new_node: int,
    sec: Sequence[Sequence[int]],
    metres: Sequence[Sequence[int]],
    preferred: bool,
    moves: tuple[Move, ...] = (),
) -> Insertion:
    return Insertion(
        r.day,
        r.van.id,
        pos,
        r.visits[pos - 1].key if pos > 0 else None,
        r.visits[pos].key if pos < len(r.visits) else None,
        start,
        start + new.minutes,
        _detour(nodes, pos, new_node, metres),
        round(_detour(nodes, pos, new_node, sec) / 60),
        preferred,
        moves,
    )


def _fits(
    r: DayRoute,
    nodes: list[int],
    new_node: int,
    new: NewVisit,
    sec: Sequence[Sequence[int]],
    metres: Sequence[Sequence[int]],
    preferred: bool,
    grid: int,
) -> list[Insertion]:
    """Each gap of the day where the new visit fits as published, at its earliest start."""
    lo, hi = _window(r, new)
    events = _events(r, nodes)
    out = []
    for pos in range(len(nodes) + 1):
        prev_end = r.visits[pos - 1].end if pos > 0 else r.van.shift_start
        next_start = r.visits[pos].start if pos < len(nodes) else r.van.shift_end
        first = _ceil(max(prev_end, lo), grid)
        last = min(next_start, hi) - new.minutes
        for s in range(first, last + 1, grid):
            trial = [*events[:pos], (new_node, s, s + new.minutes), *events[pos:]]
            if day_is_feasible(r.van, trial, sec):
                out.append(_insertion(r, nodes, pos, s, new, new_node, sec, metres, preferred))
                break
    return out


def _least_moves(
    r: DayRoute,
    nodes: list[int],
    new_node: int,
    new: NewVisit,
    sec: Sequence[Sequence[int]],
    metres: Sequence[Sequence[int]],
    preferred: bool,
    grid: int,
) -> Insertion | None:
    """The new visit placed at each gap and start of the window, later visits pushed later
    and earlier ones pulled earlier as little as the drives need (with the lunch break taken
    in each gap in turn); the feasible day that moves the fewest visits the fewest minutes."""
    lo, hi = _window(r, new)
    best: tuple[tuple[int, int, int], Insertion] | None = None
    n = len(nodes)
    lm = r.van.lunch_minutes
    for pos in range(n + 1):
        for s in range(_ceil(lo, grid), hi - new.minutes + 1, grid):
            e = s + new.minutes
            for lunch_gap in range(n + 2):  # gap k lies before event k of the new day
                seq: list[tuple[int, int, int] | None] = [None] * (n + 1)
                seq[pos] = (new_node, s, e)
                # later visits: as early as published, else as soon as the drive allows
                t, prev = e, new_node
                for j in range(pos, n):
                    v, node = r.visits[j], nodes[j]
                    need = sec[prev][node] + (lm * 60 if lunch_gap == j + 1 else 0)
                    start = max(v.start, _ceil(t + _ceil(need, 60) // 60, grid))
                    seq[j + 1] = (node, start, start + v.end - v.start)
                    t, prev = start + v.end - v.start, node
                # earlier visits: as late as published, else as late as the drive allows
                t, nxt = s, new_node
                for j in range(pos - 1, -1, -1):
                    v, node = r.visits[j], nodes[j]
                    need = sec[node][nxt] + (lm * 60 if lunch_gap == j + 1 else 0)
                    end = min(v.end, _floor(t - _ceil(need, 60) // 60, grid))
                    seq[j] = (node, end - (v.end - v.start), end)
                    t, nxt = end - (v.end - v.start), node
                events = [x for x in seq if x is not None]
                if not day_is_feasible(r.van, events, sec):
                    continue
                moves = tuple(
                    Move(v.key, v.start, v.end, ev[1], ev[2])
                    for v, ev in zip(
                        r.visits, [x for k, x in enumerate(events) if k != pos], strict=True
                    )
                    if ev[1] != v.start
                )
                ins = _insertion(r, nodes, pos, s, new, new_node, sec, metres, preferred, moves)
                rank = (len(moves), ins.moved_minutes, ins.extra_minutes)
                if best is None or rank < best[0]:
                    best = (rank, ins)
    return None if best is None else best[1]


def allowed_days(
    dates: Collection[dt.date], weekdays: Collection[int], asked: Collection[dt.date]
) -> frozenset[dt.date]:
    """The days of `dates` a requester asked for: ISO weekday - 1 in `weekdays`, or a date in
    `asked`; every date when they asked for neither."""
    if not weekdays and not asked:
        return frozenset(dates)
    return frozenset(d for d in dates if d.weekday() in weekdays or d in asked)
