"""The weekly template: one standard week, planned once and repeated over the calendar.

Fixed-time, fixed-point service means a stop's times do not move from one week to the
next. So the planner plans a standard week once (every ordinary weekday working, every
every-other-week stop in) and each calendar week applies it:

- a working date runs the template day of its weekday, at the template's times;
- a statutory holiday cancels its weekday's template day, and a make-up working day (调休)
  runs the first template day its week cancelled, so the villages that lost their day to
  the holiday get it back (with none cancelled, it runs nothing: each day already ran);
- every-other-week stops of one street are paired across the two parities: a pair shares one
  place in the template (one stop in odd weeks, the other in even weeks, at the same time),
  planned with the slower of the two's travel times so either can keep it. An unpaired one
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
from dataclasses import dataclass
from typing import Any

import numpy as np

from routes.plan import DayRoute, DroppedVisit, Plan, PlannedVisit, SearchStats
from routes.problem import WeekProblem
from taxvan.demand import VisitDemand, biweekly_in_week
from taxvan.errors import PlanningError
from taxvan.fleet import fleet_weekdays
from taxvan.places import Stop
from taxvan.workdays import WEEKDAY_EN, work_week

FORMAT = 2
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


def pair_alternating(base: WeekProblem) -> TemplateProblem:
    """Pair every-other-week stops of opposite parity within each street, nearest first.

    A pair becomes one stop whose travel times to and from every place are the slower of its
    two members', so a time the template gives it suits whichever member is due.
    """
    stops = {s.id: s for s in base.dataset.stops}
    node = {s.id: k for k, s in enumerate(base.dataset.stops, start=1)}
    sec = base.seconds
    even: dict[str, list[VisitDemand]] = {}
    odd: dict[str, list[VisitDemand]] = {}
    for v in base.demand.visits:
        if v.biweekly:
            side = even if biweekly_in_week(v.stop_id, 0) else odd
            side.setdefault(v.street_code, []).append(v)
    pairs: Pairs = {}
    for street, evens in even.items():
        odds = list(odd.get(street, []))
        for e in evens:
            if not odds:
                break
            ne = node[e.stop_id]
            o = min(odds, key=lambda v: (int(sec[ne][node[v.stop_id]]), v.stop_id))
            odds.remove(o)
            pairs[f"{e.stop_id}+{o.stop_id}"] = (e, o)
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


def _holiday_reason(problem: WeekProblem, weekday: int) -> str:
    for h in problem.week.holidays:
        if h.date.weekday() == weekday:
            return f"not held: {h.date.isoformat()} is a holiday ({h.reason})"
    return f"not held: no working {WEEKDAY_EN[weekday]} in {problem.week.label}"


def apply_template(template: Plan, problem: WeekProblem, pairs: Pairs | None = None) -> Plan:
    """The plan of the calendar week `problem` (see `calendar_problem`) from `template`.

    `pairs` are the template's alternating pairs (`pair_alternating`): each pair's place goes
    to the member due this week.
    """
    pairs = pairs or {}
    template = _resolve_pairs(template, pairs, problem.week.number)
    vans = {v.id: v for v in problem.dataset.vans}
    by_day = {(r.date.weekday(), r.van_id): r for r in template.routes}
    due = {v.key: v for v in problem.demand.visits}
    sources = day_sources(problem)
    makeup = set(problem.week.makeup_days)
    node = {s.id: k for k, s in enumerate(problem.dataset.stops, start=1)}

    held: list[tuple[int, dt.date, DayRoute, list[PlannedVisit]]] = []
    for d, date in enumerate(problem.week.dates):
        for van_id, van in vans.items():
            if date.weekday() not in van.weekdays and date not in makeup:
                continue
            source = sources[date]
            route = None if source is None else by_day.get((source, van_id))
            if route is not None:
                kept = [v for v in route.visits if v.key in due]
                held.append((d, date, route, kept))

    dropped: list[DroppedVisit] = []

    def drop(v: PlannedVisit, reason: str) -> None:
        dv = due[v.key]
        dropped.append(
            DroppedVisit(v.key, v.stop_id, v.street_code, dv.dwell, v.remote_served, reason)
        )

    # Spacing: the calendar may bring two visits to one stop too close; keep the earlier.
    gap = {v.stop_id: max(1, v.min_gap_days) for v in problem.demand.visits}
    last_day: dict[str, tuple[int, dt.date]] = {}
    for d, date, _, kept in held:
        for v in list(kept):
            before = last_day.get(v.stop_id)
            if before is not None and d - before[0] < gap[v.stop_id]:
                kept.remove(v)
                drop(v, f"not held: too close to its visit on {before[1].isoformat()}")
            else:
                last_day[v.stop_id] = (d, date)

    routes: list[DayRoute] = []
    for d, date, route, kept in held:
        path = [0, *(node[v.stop_id] for v in kept), 0] if kept else []
        routes.append(
            dataclasses.replace(
                route,
                date=date,
                day_index=d,
                visits=tuple(
                    dataclasses.replace(v, date=date, order=k) for k, v in enumerate(kept, start=1)
                ),
                metres=sum(int(problem.metres[a][b]) for a, b in itertools.pairwise(path)),
                drive_seconds=sum(int(problem.seconds[a][b]) for a, b in itertools.pairwise(path)),
            )
        )

    run_days = {(sources[date], route.van_id) for _, date, route, _ in held}
    for (weekday, van_id), route in sorted(by_day.items(), key=lambda kv: kv[0]):
        if (weekday, van_id) not in run_days:
            for v in route.visits:
                if v.key in due:
                    drop(v, _holiday_reason(problem, weekday))
    for dv in template.dropped:
        if dv.key in due:
            dropped.append(dv)

    notes = list(problem.week.notes) + list(problem.demand.notes)
    notes.append("times follow the weekly template; only the calendar changes which days run")
    for h in problem.week.holidays:
        notes.append(f"{h.date.isoformat()} is a holiday ({h.reason}): no visits")
    for m in problem.week.makeup_days:
        source = sources[m]
        if source is None:
            notes.append(
                f"{m.isoformat()} is a make-up working day, but no weekday of this week was "
                "cancelled: the template has nothing to run; add visits by hand if wanted"
            )
        else:
            notes.append(
                f"{m.isoformat()} is a make-up working day: the van works, "
                f"on the {WEEKDAY_EN[source]} timetable"
            )
    return Plan(
        week=problem.week.label,
        routes=tuple(routes),
        dropped=tuple(dropped),
        search=template.search,
        notes=tuple(notes),
    )


def _resolve_pairs(template: Plan, pairs: Pairs, week_number: int) -> Plan:
    """The template with each pair's place given to the member due in `week_number`."""
    if not pairs:
        return template

    def visit(v: PlannedVisit) -> PlannedVisit:
        if v.stop_id not in pairs:
            return v
        m = _member(pairs, v.stop_id, week_number)
        return dataclasses.replace(v, key=m.key, stop_id=m.stop_id, remote_served=m.remote_served)

    def dropped(d: DroppedVisit) -> DroppedVisit:
        if d.stop_id not in pairs:
            return d
        m = _member(pairs, d.stop_id, week_number)
        return dataclasses.replace(
            d, key=m.key, stop_id=m.stop_id, dwell=m.dwell, remote_served=m.remote_served
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
        "dropped": [dataclasses.asdict(d) for d in template.dropped],
        "search": {
            "objective": template.search.objective,
            "wall_time_s": template.search.wall_time_s,
            "time_limit_s": template.search.time_limit_s,
        },
        "notes": list(template.notes),
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
        dropped = tuple(DroppedVisit(**d) for d in data["dropped"])
        s = data["search"]
        search = SearchStats(s["objective"], s["wall_time_s"], s["time_limit_s"])
    except (KeyError, TypeError, ValueError) as exc:
        raise PlanningError(
            f"the saved template does not fit the data ({exc}); plan a new one"
        ) from None
    return Plan(data.get("planned_on", "template"), tuple(routes), dropped, search, ())
