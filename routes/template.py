"""The weekly template: one standard week, planned once and repeated over the calendar.

Fixed-time, fixed-point service means a stop's times do not move from one week to the
next. So the planner plans a standard week once (every ordinary weekday working, every
every-other-week stop in) and each calendar week applies it:

- a working date runs the template day of its weekday, at the template's times;
- a statutory holiday cancels its weekday's template day, and a make-up working day (调休)
  runs the first template day its week cancelled, so the villages that lost their day to
  the holiday get it back (with none cancelled, it runs nothing: each day already ran);
- every-other-week stops are paired across the two parities, within their street first and
  then, for those left without a partner, across streets: a pair shares one place in the
  template (one stop in odd weeks, the other in even weeks, at the same time), planned with
  the slower of the two's travel times so either can keep it. One left without any partner
  keeps its own place and the van skips it in its off weeks; every other time stays as
  published (skipping a stop never makes the van late);
- if the calendar brings two visits to one stop closer than their spacing, the later one is
  not held that week.

The template is plain data (`template_to_dict` / `template_from_dict`) so the edge can keep
it on disk and reuse it until the data or the settings change.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from routes.plan import DayRoute, DroppedVisit, Plan, PlannedVisit, SearchStats, UsualTime
from routes.problem import WeekProblem
from routes.schedule import earliest_return, latest_departure
from taxvan.clock import GRID_MINUTES, hhmm
from taxvan.demand import VisitDemand, biweekly_in_week
from taxvan.errors import PlanningError
from taxvan.fleet import Van, fleet_weekdays
from taxvan.messages import N_, Message, as_json, from_json, message
from taxvan.places import Stop
from taxvan.workdays import holiday_name, weekday_name, work_week

FORMAT = 4
"""Bumped whenever the template's meaning changes; part of the saved template's fingerprint."""

Pairs = dict[str, tuple[VisitDemand, VisitDemand]]
"""Pair stop id -> (visit due in even ISO weeks, visit due in odd ones)."""


@dataclass(frozen=True)
class TemplateProblem:
    """The standard week twice over: `base` with the real stops (what calendar weeks are
    checked against) and `paired`, what the planner solves, where each pair of alternating
    every-other-week stops is one stop."""

    base: WeekProblem
    paired: WeekProblem
    pairs: Pairs


def _alternating_pairs(base: WeekProblem, node: dict[str, int]) -> Pairs:
    """Every-other-week visits of opposite parity, paired nearest first within each street,
    then what is left across streets; a pinned one keeps a place of its own."""
    sec = base.seconds
    even: dict[str, list[VisitDemand]] = {}
    odd: dict[str, list[VisitDemand]] = {}
    for v in base.demand.visits:
        # A pinned every-other-week stop keeps a place of its own on its weekday: sharing
        # it would pin its partner too.
        if v.biweekly and v.pin_weekday is None:
            side = even if biweekly_in_week(v.stop_id, 0) else odd
            side.setdefault(v.street_code, []).append(v)
    pairs: Pairs = {}
    left_even: list[VisitDemand] = []
    left_odd: list[VisitDemand] = []
    for street in sorted(even.keys() | odd.keys()):
        evens, odds = list(even.get(street, [])), list(odd.get(street, []))
        while evens and odds:
            e = evens.pop(0)
            o = _nearest(e, odds, node, sec)
            odds.remove(o)
            pairs[f"{e.stop_id}+{o.stop_id}"] = (e, o)
        left_even += evens
        left_odd += odds
    # A stop with no partner in its own street pairs with the nearest one of the other
    # parity left over in another street: alone, it would hold a place every week and use
    # it only every other week, crowding out visits the week needs. One left without any
    # partner keeps a place of its own.
    for e in left_even:
        if not left_odd:
            break
        o = _nearest(e, left_odd, node, sec)
        left_odd.remove(o)
        pairs[f"{e.stop_id}+{o.stop_id}"] = (e, o)
    return pairs


def pair_alternating(base: WeekProblem) -> TemplateProblem:
    """Pair every-other-week stops of opposite parity within each street, nearest first.

    A pair becomes one stop whose travel times to and from every place are the slower of its
    two members', so a time the template gives it suits whichever member is due.
    """
    stops = {s.id: s for s in base.dataset.stops}
    node = {s.id: k for k, s in enumerate(base.dataset.stops, start=1)}
    pairs = _alternating_pairs(base, node)
    if not pairs:
        return TemplateProblem(base, base, {})

    k = len(node) + 1
    size = k + len(pairs)
    metres = np.zeros((size, size), dtype=base.metres.dtype)
    seconds = np.zeros((size, size), dtype=base.seconds.dtype)
    metres[:k, :k], seconds[:k, :k] = base.metres, base.seconds
    extra: list[Stop] = []
    for i, (pair_id, (e, o)) in enumerate(pairs.items()):
        a, b, at = node[e.stop_id], node[o.stop_id], k + i
        for m in (metres, seconds):
            m[at, :] = np.maximum(m[a, :], m[b, :])
            m[:, at] = np.maximum(m[:, a], m[:, b])
            m[at, at] = 0
        sa, sb = stops[e.stop_id], stops[o.stop_id]
        extra.append(
            Stop(
                pair_id,
                f"{sa.name} / {sb.name}",
                sa.street_code,
                sa.kind,
                (sa.lat + sb.lat) / 2,
                (sa.lon + sb.lon) / 2,
                "pair",
            )
        )
    paired_ids = {v.stop_id for pair in pairs.values() for v in pair}
    visits = [v for v in base.demand.visits if v.stop_id not in paired_ids]
    for pair_id, (e, o) in pairs.items():
        visits.append(
            dataclasses.replace(
                e,
                stop_id=pair_id,
                dwell=max(e.dwell, o.dwell),
                remote_served=(e.remote_served + o.remote_served) / 2,
            )
        )
    paired = dataclasses.replace(
        base,
        dataset=dataclasses.replace(base.dataset, stops=(*base.dataset.stops, *extra)),
        demand=dataclasses.replace(base.demand, visits=tuple(visits)),
        metres=metres,
        seconds=seconds,
    )
    return TemplateProblem(base, paired, pairs)


def _nearest(
    e: VisitDemand, candidates: list[VisitDemand], node: dict[str, int], sec: np.ndarray
) -> VisitDemand:
    """The candidate closest to `e` by the slower of the two directions."""
    ne = node[e.stop_id]
    return min(
        candidates,
        key=lambda v: (
            max(int(sec[ne][node[v.stop_id]]), int(sec[node[v.stop_id]][ne])),
            v.stop_id,
        ),
    )


def _member(pairs: Pairs, pair_id: str, week_number: int) -> VisitDemand:
    e, o = pairs[pair_id]
    return e if biweekly_in_week(e.stop_id, week_number) else o


def calendar_problem(template_problem: WeekProblem, week_label: str) -> WeekProblem:
    """The template's problem for one calendar week: its working dates and the visits due.

    Weights, matrices and the visits themselves are the template's; only the every-other-
    week stops not due in this week leave the demand.
    """
    weekdays = fleet_weekdays(template_problem.dataset.vans)
    week = work_week(week_label, weekdays, template_problem.dataset.calendar)
    demand = template_problem.demand
    due = tuple(
        v for v in demand.visits if not v.biweekly or biweekly_in_week(v.stop_id, week.number)
    )
    return dataclasses.replace(
        template_problem, week=week, demand=dataclasses.replace(demand, visits=due)
    )


def day_sources(problem: WeekProblem) -> dict[dt.date, int | None]:
    """Working date -> weekday of the template day it runs (None: none is left to run).

    A make-up day takes a weekday its own week cancelled; with none cancelled it runs
    nothing, since every template day already runs once that week.
    """
    cancelled = sorted(h.date.weekday() for h in problem.week.holidays)
    makeup = set(problem.week.makeup_days)
    out: dict[dt.date, int | None] = {}
    for date in problem.week.dates:
        if date in makeup:
            out[date] = cancelled.pop(0) if cancelled else None
        else:
            out[date] = date.weekday()
    return out


def _holiday_reason(problem: WeekProblem, weekday: int) -> Message:
    for h in problem.week.holidays:
        if h.date.weekday() == weekday:
            return message(
                N_("not held: %(date)s (%(day)s) is a holiday (%(name)s)"),
                date=h.date.isoformat(),
                day=weekday_name(weekday),
                name=holiday_name(h),
            )
    return message(
        N_("not held: no working %(day)s in %(week)s"),
        day=weekday_name(weekday),
        week=problem.week.label,
    )


def when_message(date: dt.date, start: int, end: int) -> Message:
    """`Tue 2026-12-01 09:00-09:45` (周二 …) as a message."""
    return message(
        N_("%(day)s %(date)s %(start)s-%(end)s"),
        day=weekday_name(date.weekday()),
        date=date.isoformat(),
        start=hhmm(start),
        end=hhmm(end),
    )


def _week_date(problem: WeekProblem, weekday: int) -> dt.date:
    return dt.date.fromisocalendar(problem.week.year, problem.week.number, weekday + 1)


def choose_makeup_runs(
    problem: WeekProblem, template: Plan, due: set[str]
) -> dict[dt.date, int | None]:
    """Working date -> weekday of the template day it runs (None: none is left to run).

    An ordinary working date runs its own weekday. A make-up day runs one of the template
    days its week cancelled: the one that brings service to the most streets the running
    days leave without any, then the one serving the most remote taxpayers (the earliest
    weekday on a tie). With none cancelled it runs nothing: each day already ran.
    """
    makeup = set(problem.week.makeup_days)
    runs: dict[dt.date, int | None] = {
        date: date.weekday() for date in problem.week.dates if date not in makeup
    }
    dates = set(problem.week.dates)
    by_weekday: dict[int, list[PlannedVisit]] = {}
    for r in template.routes:
        by_weekday.setdefault(r.date.weekday(), []).extend(v for v in r.visits if v.key in due)
    running = set(runs.values())
    cancelled = sorted(
        w for w in by_weekday if w not in running and _week_date(problem, w) not in dates
    )
    served = {v.street_code for w in running if w is not None for v in by_weekday.get(w, [])}
    for date in sorted(makeup):
        if not cancelled:
            runs[date] = None
            continue

        def score(w: int, served: set[str] = served) -> tuple[int, float, int]:
            visits = by_weekday[w]
            new = {v.street_code for v in visits} - served
            return (len(new), sum(v.remote_served for v in visits), -w)

        best = max(cancelled, key=score)
        cancelled.remove(best)
        runs[date] = best
        served |= {v.street_code for v in by_weekday[best]}
    return runs


@dataclass
class _Day:
    """One van's working date in a calendar week while its visits are being settled."""

    d: int
    date: dt.date
    van: Van
    route: DayRoute | None
    visits: list[PlannedVisit]
    lunch_start: int | None

    @property
    def lunch(self) -> tuple[int, int]:
        start = self.van.lunch_earliest if self.lunch_start is None else self.lunch_start
        return start * 60, (start + self.van.lunch_minutes) * 60


def _overlap(a0: int, a1: int, b0: int, b1: int) -> int:
    return max(0, min(a1, b1) - max(a0, b0))


class _Week:
    """The calendar week's days and the arithmetic of fitting a visit into their free time
    without moving any visit already there (fixed times stay fixed)."""

    def __init__(self, problem: WeekProblem, days: list[_Day]) -> None:
        self.problem = problem
        self.days = days
        self.node = {s.id: k for k, s in enumerate(problem.dataset.stops, start=1)}

    def too_close(
        self, stop_id: str, gap: int, d: int, ignore: frozenset[str] | set[str] = frozenset()
    ) -> bool:
        """Whether a visit to `stop_id` on day `d` would lie too close to another one."""
        return any(
            v.stop_id == stop_id and v.key not in ignore and abs(day.d - d) < max(1, gap)
            for day in self.days
            for v in day.visits
        )

    def slot(
        self, day: _Day, stop_id: str, dwell: int, visits: list[PlannedVisit], pos: int
    ) -> tuple[int, int] | None:
        """(added metres, start minute) of the earliest time `stop_id` fits between
        `visits[pos - 1]` and `visits[pos]` (the hall at either end of the shift)."""
        sec, met, n = self.problem.seconds, self.problem.metres, self.node[stop_id]
        step = GRID_MINUTES * 60
        l0, l1 = day.lunch
        if pos:
            a, a_end = self.node[visits[pos - 1].stop_id], visits[pos - 1].end * 60
        else:
            a, a_end = 0, day.van.shift_start * 60
        if pos < len(visits):
            b, b_start = self.node[visits[pos].stop_id], visits[pos].start * 60
        else:
            b, b_start = 0, day.van.shift_end * 60
        t_in, t_out = int(sec[a][n]), int(sec[n][b])
        start = -(-(a_end + t_in) // step) * step
        while start + dwell * 60 <= b_start:
            end = start + dwell * 60
            if (
                _overlap(start, end, l0, l1) == 0
                and start - a_end - _overlap(a_end, start, l0, l1) >= t_in
                and b_start - end - _overlap(end, b_start, l0, l1) >= t_out
            ):
                added = int(met[a][n]) + int(met[n][b]) - int(met[a][b])
                return added, start // 60
            start += step
        return None

    def best_place(self, stop_id: str, dwell: int, gap: int) -> tuple[int, _Day, int, int] | None:
        """(added metres, day, position, start) of the cheapest free place for a visit."""
        best = None
        for day in self.days:
            if self.too_close(stop_id, gap, day.d):
                continue
            for pos in range(len(day.visits) + 1):
                fit = self.slot(day, stop_id, dwell, day.visits, pos)
                if fit is not None and (best is None or fit[0] < best[0]):
                    best = (fit[0], day, pos, fit[1])
        return best


def apply_template(template: Plan, problem: WeekProblem, pairs: Pairs | None = None) -> Plan:
    """The plan of the calendar week `problem` (see `calendar_problem`) from `template`.

    `pairs` are the template's alternating pairs (`pair_alternating`): each pair's place goes
    to the member due this week. The days that run keep their template times; a make-up day
    runs the cancelled template day chosen by `choose_makeup_runs`; the other cancelled
    visits go into free time of the days that run, a street with no service yet first. A
    street still without service gets its visit in place of visits of streets served anyway
    (fewest remote taxpayers first), so every street is served whenever a day has the room.
    A visit held on another day or at other times than usual carries `moved_from`.
    """
    template = _resolve_pairs(template, pairs or {}, problem.week.number)
    runs = choose_makeup_runs(problem, template, {v.key for v in problem.demand.visits})
    week = _CalendarWeek(template, problem, runs)
    week.keep_spacing()
    week.hold_cancelled_visits()
    week.fill()
    week.serve_every_street()
    week.fill()
    week.drop_pending()
    dropped = week.dropped + [dv for dv in template.dropped if dv.key in week.due]
    days = week.days
    routes = [_route(day, problem, week.node) for day in days if day.route or day.visits]
    return Plan(
        week=problem.week.label,
        routes=tuple(routes),
        dropped=tuple(dropped),
        search=template.search,
        notes=tuple(_calendar_notes(problem, runs) + week.moved_notes),
        makeup_runs=tuple((m, runs[m]) for m in problem.week.makeup_days),
    )


def _calendar_notes(problem: WeekProblem, runs: dict[dt.date, int | None]) -> list[Message | str]:
    """The week's and the demand's notes, and what its holidays and make-up days did."""
    notes = list(problem.week.notes) + list(problem.demand.notes)
    notes.append(
        message(N_("times follow the weekly template; only the calendar changes which days run"))
    )
    for h in problem.week.holidays:
        notes.append(
            message(
                N_("%(date)s (%(day)s) is a holiday (%(name)s): no visits"),
                date=h.date.isoformat(),
                day=weekday_name(h.date.weekday()),
                name=holiday_name(h),
            )
        )
    for m in problem.week.makeup_days:
        source = runs[m]
        if source is None:
            notes.append(
                message(
                    N_(
                        "%(date)s is a make-up working day, but no weekday of this week was "
                        "cancelled: the template has nothing to run; add visits by hand if wanted"
                    ),
                    date=m.isoformat(),
                )
            )
        else:
            notes.append(
                message(
                    N_(
                        "%(date)s is a make-up working day: the van works, on the %(day)s timetable"
                    ),
                    date=m.isoformat(),
                    day=weekday_name(source),
                )
            )
    return notes


class _CalendarWeek(_Week):
    """`apply_template`'s work, step by step: the days that run with the template visits
    they keep, the visits of cancelled days waiting for free time (`pending`), and what was
    dropped (`dropped`, with the reason) or moved (`moved_notes`)."""

    def __init__(
        self, template: Plan, problem: WeekProblem, runs: dict[dt.date, int | None]
    ) -> None:
        self.runs = runs
        self.by_day = {(r.date.weekday(), r.van_id): r for r in template.routes}
        self.due = {v.key: v for v in problem.demand.visits}
        self.gap = {v.stop_id: max(1, v.min_gap_days) for v in problem.demand.visits}
        self.stop_name = {s.id: s.name for s in problem.dataset.stops}
        self.street_name = {s.code: s.name for s in problem.dataset.streets}
        self.dropped: list[DroppedVisit] = []
        self.pending: list[PlannedVisit] = []
        self.moved_notes: list[Message | str] = []
        self.bumped: dict[str, Message] = {}
        """Why a visit that gave its time to an unserved street's visit was not held."""
        super().__init__(problem, self._running_days(problem))

    def _running_days(self, problem: WeekProblem) -> list[_Day]:
        """Each van's working dates, with the due visits of the template day each runs (its
        own weekday, or for a make-up day the cancelled day chosen)."""
        makeup = set(problem.week.makeup_days)
        vans = {v.id: v for v in problem.dataset.vans}
        days: list[_Day] = []
        for d, date in enumerate(problem.week.dates):
            for van_id, van in vans.items():
                if date.weekday() not in van.weekdays and date not in makeup:
                    continue
                source = self.runs[date]
                route = None if source is None else self.by_day.get((source, van_id))
                kept: list[PlannedVisit] = []
                if route is not None and source is not None:
                    usual = _week_date(problem, source)
                    for v in route.visits:
                        if v.key in self.due:
                            moved = None if usual == date else UsualTime(usual, v.start, v.end)
                            kept.append(dataclasses.replace(v, date=date, moved_from=moved))
                lunch = route.lunch_start if route else None
                days.append(_Day(d, date, van, route, kept, lunch))
        return days

    def drop(self, v: PlannedVisit, reason: Message) -> None:
        dv = self.due[v.key]
        self.dropped.append(
            DroppedVisit(v.key, v.stop_id, v.street_code, dv.dwell, v.remote_served, reason)
        )

    def served(self) -> set[str]:
        return {v.street_code for day in self.days for v in day.visits}

    def keep_spacing(self) -> None:
        """The calendar may bring two visits to one stop too close: keep the earlier."""
        last_day: dict[str, tuple[int, dt.date]] = {}
        for day in self.days:
            for v in list(day.visits):
                before = last_day.get(v.stop_id)
                if before is not None and day.d - before[0] < self.gap[v.stop_id]:
                    day.visits.remove(v)
                    self.drop(
                        v,
                        message(
                            N_("not held: too close to its visit on %(day)s %(date)s"),
                            day=weekday_name(before[1].weekday()),
                            date=before[1].isoformat(),
                        ),
                    )
                else:
                    last_day[v.stop_id] = (day.d, day.date)

    def hold_cancelled_visits(self) -> None:
        """Visits of cancelled template days that no make-up day runs wait for free time;
        a visit pinned to its weekday is held only where the calendar runs that day's
        timetable (a make-up day), never moved into another day's free time."""
        run_days = {(self.runs[day.date], day.van.id) for day in self.days}
        for (weekday, van_id), route in sorted(self.by_day.items(), key=lambda kv: kv[0]):
            if (weekday, van_id) in run_days:
                continue
            usual = _week_date(self.problem, weekday)
            for v in route.visits:
                if v.key not in self.due:
                    continue
                if self.due[v.key].pin_weekday is not None:
                    self.drop(
                        v,
                        message(
                            N_("%(reason)s; pinned to %(day)s, so not moved to another day"),
                            reason=_holiday_reason(self.problem, weekday),
                            day=weekday_name(weekday),
                        ),
                    )
                    continue
                self.pending.append(
                    dataclasses.replace(v, moved_from=UsualTime(usual, v.start, v.end))
                )

    def place(self, v: PlannedVisit, day: _Day, pos: int, start: int) -> None:
        """Put a moved visit at `start` before `day.visits[pos]`, and note the move."""
        dwell = v.end - v.start
        day.visits.insert(
            pos, dataclasses.replace(v, date=day.date, start=start, end=start + dwell)
        )
        if day.lunch_start is None:
            day.lunch_start = day.van.lunch_earliest
        assert v.moved_from is not None
        u = v.moved_from
        self.moved_notes.append(
            message(
                N_("%(stop)s (%(visit)s) moved from %(old)s to %(new)s"),
                stop=self.stop_name.get(v.stop_id, v.stop_id),
                visit=v.key,
                old=when_message(u.date, u.start, u.end),
                new=when_message(day.date, start, start + dwell),
            )
        )

    def fill(self) -> None:
        """Pending visits into the cheapest free time, one at a time: a street with no
        service yet first, then the street's minimum visit, then the most remote taxpayers."""
        while self.pending:
            have = self.served()
            self.pending.sort(
                key=lambda v: (
                    v.street_code in have,
                    not self.due[v.key].must_serve,
                    -v.remote_served,
                    v.key,
                )
            )
            for v in self.pending:
                spot = self.best_place(v.stop_id, v.end - v.start, self.gap[v.stop_id])
                if spot is not None:
                    self.pending.remove(v)
                    self.place(v, spot[1], spot[2], spot[3])
                    break
            else:
                return

    def serve_every_street(self) -> None:
        """A street still without service gets a pending visit in place of up to three
        visits of streets served anyway (fewest remote taxpayers first); those wait again."""
        for street in sorted({v.street_code for v in self.problem.demand.visits}):
            if street in self.served():
                continue
            best = self._best_swap(street)
            if best is None:
                continue
            _, v, day, i, j, start = best
            out = day.visits[i:j]
            del day.visits[i:j]
            self.pending.remove(v)
            self.place(v, day, i, start)
            for x in out:
                self.bumped[x.key] = message(
                    N_(
                        "not held: its time on %(day)s %(date)s went to %(stop)s so that "
                        "%(street)s is served this week"
                    ),
                    day=weekday_name(day.date.weekday()),
                    date=day.date.isoformat(),
                    stop=self.stop_name.get(v.stop_id, v.stop_id),
                    street=self.street_name.get(street, street),
                )
                usual_time = x.moved_from or UsualTime(x.date, x.start, x.end)
                self.pending.append(dataclasses.replace(x, moved_from=usual_time))

    def _best_swap(
        self, street: str
    ) -> tuple[tuple[float, int], PlannedVisit, _Day, int, int, int] | None:
        """(cost, visit, day, i, j, start): the first of `street`'s pending visits (its
        minimum visit, then the most remote taxpayers) that fits in place of `day.visits[i:j]`,
        at the least cost in remote taxpayers, then metres."""
        candidates = sorted(
            (v for v in self.pending if v.street_code == street),
            key=lambda v: (not self.due[v.key].must_serve, -v.remote_served, v.key),
        )
        for v in candidates:
            best = None
            for day in self.days:
                for swap in self._swaps(v, day):
                    if best is None or swap[0] < best[0]:
                        best = swap
            if best is not None:
                return best
        return None

    def _swaps(
        self, v: PlannedVisit, day: _Day
    ) -> Iterator[tuple[tuple[float, int], PlannedVisit, _Day, int, int, int]]:
        """Every way `v` fits on `day` in place of one to three visits in a row (none pinned)
        whose streets stay served by the day's other visits or another day's."""
        held = {x.street_code for other in self.days if other is not day for x in other.visits}
        for i in range(len(day.visits) + 1):
            for j in range(i, min(len(day.visits), i + 3) + 1):
                out = day.visits[i:j]
                rest = day.visits[:i] + day.visits[j:]
                if not {x.street_code for x in out} <= held | {x.street_code for x in rest}:
                    continue
                if any(self.due[x.key].pin_weekday is not None for x in out):
                    continue  # a pinned visit keeps its time
                if self.too_close(v.stop_id, self.gap[v.stop_id], day.d, {x.key for x in out}):
                    continue
                fit = self.slot(day, v.stop_id, v.end - v.start, rest, i)
                if fit is None:
                    continue
                yield (sum(x.remote_served for x in out), fit[0]), v, day, i, j, fit[1]

    def drop_pending(self) -> None:
        """What still waits is not held: bumped for an unserved street, or no room."""
        for v in self.pending:
            reason = self.bumped.get(v.key)
            if reason is None:
                assert v.moved_from is not None
                reason = message(
                    N_("%(reason)s; no day that runs has room for it"),
                    reason=_holiday_reason(self.problem, v.moved_from.date.weekday()),
                )
            self.drop(v, reason)


def _route(day: _Day, problem: WeekProblem, node: dict[str, int]) -> DayRoute:
    """The day's route with its visits in time order; departure and return re-derived from
    the visits it holds this week (a visit skipped this week lets the van leave later)."""
    visits = sorted(day.visits, key=lambda v: v.start)
    visits = [dataclasses.replace(v, order=k) for k, v in enumerate(visits, start=1)]
    path = [0, *(node[v.stop_id] for v in visits), 0] if visits else []
    sec = problem.seconds
    base = day.route
    depart = base.depart if base else day.van.shift_start
    back = base.back if base else day.van.shift_start
    if visits:
        lm = day.van.lunch_minutes
        ls = None if day.lunch_start is None else day.lunch_start * 60
        leave = latest_departure(visits[0].start * 60, int(sec[0][path[1]]), ls, lm)
        ret = earliest_return(visits[-1].end * 60, int(sec[path[-2]][0]), ls, lm)
        if ls is not None:
            leave, ret = min(leave, ls), max(ret, ls + lm * 60)
        depart = max(day.van.shift_start, leave // 60)
        back = -(-ret // 60)
    return DayRoute(
        day.date,
        day.d,
        day.van.id,
        tuple(visits),
        depart,
        back,
        day.lunch_start,
        day.van.lunch_minutes,
        sum(int(problem.metres[a][b]) for a, b in itertools.pairwise(path)),
        sum(int(sec[a][b]) for a, b in itertools.pairwise(path)),
    )


def _resolve_pairs(template: Plan, pairs: Pairs, week_number: int) -> Plan:
    """The template with each pair's place given to the member due in `week_number`."""
    if not pairs:
        return template

    def visit(v: PlannedVisit) -> PlannedVisit:
        if v.stop_id not in pairs:
            return v
        m = _member(pairs, v.stop_id, week_number)
        return dataclasses.replace(
            v,
            key=m.key,
            stop_id=m.stop_id,
            street_code=m.street_code,
            remote_served=m.remote_served,
        )

    def dropped(d: DroppedVisit) -> DroppedVisit:
        if d.stop_id not in pairs:
            return d
        m = _member(pairs, d.stop_id, week_number)
        return dataclasses.replace(
            d,
            key=m.key,
            stop_id=m.stop_id,
            street_code=m.street_code,
            dwell=m.dwell,
            remote_served=m.remote_served,
        )

    return dataclasses.replace(
        template,
        routes=tuple(
            dataclasses.replace(r, visits=tuple(visit(v) for v in r.visits))
            for r in template.routes
        ),
        dropped=tuple(dropped(d) for d in template.dropped),
    )


def template_to_dict(template: Plan, fingerprint: str) -> dict[str, Any]:
    """The template as JSON-ready data: routes by weekday, not by date."""
    return {
        "format": FORMAT,
        "fingerprint": fingerprint,
        "planned_on": template.week,
        "routes": [
            {
                "weekday": r.date.weekday(),
                "van": r.van_id,
                "depart": r.depart,
                "back": r.back,
                "lunch_start": r.lunch_start,
                "lunch_minutes": r.lunch_minutes,
                "metres": r.metres,
                "drive_seconds": r.drive_seconds,
                "visits": [
                    {
                        "key": v.key,
                        "stop_id": v.stop_id,
                        "street": v.street_code,
                        "arrive": v.arrive,
                        "start": v.start,
                        "end": v.end,
                        "remote_served": v.remote_served,
                    }
                    for v in r.visits
                ],
            }
            for r in template.routes
        ],
        "dropped": [
            {**dataclasses.asdict(d), "reason": as_json(d.reason)} for d in template.dropped
        ],
        "search": {
            "objective": template.search.objective,
            "wall_time_s": template.search.wall_time_s,
            "time_limit_s": template.search.time_limit_s,
        },
        "notes": [as_json(n) for n in template.notes],
    }


def template_from_dict(data: dict[str, Any], template_problem: WeekProblem) -> Plan:
    """A template read back; raises PlanningError if it does not fit `template_problem`."""
    if data.get("format") != FORMAT:
        raise PlanningError("the saved template has an unknown format; plan a new one")
    date_of = {d.weekday(): d for d in template_problem.week.dates}
    stops = {s.id for s in template_problem.dataset.stops}
    try:
        routes = []
        for d, r in enumerate(data["routes"]):
            date = date_of[r["weekday"]]
            visits = tuple(
                PlannedVisit(
                    v["key"],
                    v["stop_id"],
                    v["street"],
                    date,
                    r["van"],
                    k,
                    v["arrive"],
                    v["start"],
                    v["end"],
                    v["remote_served"],
                )
                for k, v in enumerate(r["visits"], start=1)
            )
            if any(v.stop_id not in stops for v in visits):
                raise KeyError("stop")
            routes.append(
                DayRoute(
                    date,
                    d,
                    r["van"],
                    visits,
                    r["depart"],
                    r["back"],
                    r["lunch_start"],
                    r["lunch_minutes"],
                    r["metres"],
                    r["drive_seconds"],
                )
            )
        dropped = tuple(
            DroppedVisit(**{**d, "reason": from_json(d.get("reason"))}) for d in data["dropped"]
        )
        s = data["search"]
        search = SearchStats(s["objective"], s["wall_time_s"], s["time_limit_s"])
    except (KeyError, TypeError, ValueError) as exc:
        raise PlanningError(
            f"the saved template does not fit the data ({exc}); plan a new one"
        ) from None
    return Plan(data.get("planned_on", "template"), tuple(routes), dropped, search, ())
