"""The plan report: the figures a dispatcher and the open-government office look at.

Kilometres and hours driven, service hours per street against its target share, remote
taxpayers reached and the travel time they save against a trip to the hall, and what was
left out and why. A plain dict (it is written as JSON as is) and a text rendering of it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from routes.plan import Plan
from routes.problem import WeekProblem
from routes.template import day_sources
from taxvan.adjustments import Adjustments
from taxvan.clock import hhmm
from taxvan.coverage import Coverage, coverage, nearest_visited_seconds
from taxvan.demand import biweekly_in_week
from taxvan.messages import N_, Message, as_json, from_json, joined, message
from taxvan.places import LatLon
from taxvan.workdays import WEEKDAY_EN, parse_iso_week

SHARE_POINTS = 3.0
"""A street more than this many percentage points under its target share is worth a warning
when the dispatcher's adjustments made the plan."""


@dataclass(frozen=True)
class ShareShortfall:
    """A street the plan leaves under its target share, and the excluded stops of it."""

    code: str
    name: str
    planned_share: float
    target_share: float
    excluded: tuple[str, ...] = ()

    @property
    def points(self) -> float:
        """How many percentage points it is short."""
        return 100 * (self.target_share - self.planned_share)

    def said(self) -> Message:
        """The warning in words, with the street, both shares and the excluded stops."""
        values = {
            "street": self.name,
            "planned": f"{100 * self.planned_share:.1f}",
            "target": f"{100 * self.target_share:.1f}",
            "points": f"{self.points:.1f}",
        }
        if self.excluded:
            return message(
                N_(
                    "%(street)s gets %(planned)s %% of the week's service time, against a target "
                    "of %(target)s %% (%(points)s points under), after the exclusion of stop "
                    "%(stops)s; pin or add visits to its other stops, or lift the exclusion"
                ),
                stops=joined(list(self.excluded), message(N_("%(first)s, %(rest)s"))),
                **values,
            )
        return message(
            N_(
                "%(street)s gets %(planned)s %% of the week's service time, against a target of "
                "%(target)s %% (%(points)s points under), with these adjustments"
            ),
            **values,
        )


def share_shortfalls(
    streets: Iterable[Mapping[str, Any]],
    adjustments: Adjustments,
    stop_street: Mapping[str, str],
    points: float = SHARE_POINTS,
) -> list[ShareShortfall]:
    """The report's streets (`plan_report`'s "streets") more than `points` percentage points
    under their target share, most short first, each with the stops `adjustments` excludes
    on it (`stop_street`: stop id -> street code)."""
    out = []
    for s in streets:
        target, planned = float(s.get("target_share", 0)), float(s.get("planned_share", 0))
        if 100 * (target - planned) <= points + 1e-9:
            continue
        code = str(s.get("code", ""))
        excluded = tuple(
            sorted(x for x in adjustments.excluded_stops if stop_street.get(x) == code)
        )
        out.append(ShareShortfall(code, str(s.get("name", code)), planned, target, excluded))
    return sorted(out, key=lambda x: -x.points)


def plan_report(plan: Plan, problem: WeekProblem) -> dict[str, Any]:
    """Figures of `plan`; every number is rounded for reading, never for further sums."""
    ds = problem.dataset
    # what each make-up day really runs: the template's choice, else the calendar's default
    sources = dict(plan.makeup_runs) or day_sources(problem)
    street_name = {s.code: s.name for s in ds.streets}
    stop_name = {s.id: s.name for s in ds.stops}
    visits = plan.visits
    service_min = sum(v.end - v.start for v in visits)
    metres = sum(r.metres for r in plan.routes)
    drive_s = sum(r.drive_seconds for r in plan.routes)

    by_street: dict[str, int] = dict.fromkeys(problem.demand.street_target_minutes, 0)
    for v in visits:
        by_street[v.street_code] = by_street.get(v.street_code, 0) + (v.end - v.start)
    streets = []
    for code, target_min in problem.demand.street_target_minutes.items():
        planned = by_street.get(code, 0)
        streets.append(
            {
                "code": code,
                "name": street_name.get(code, code),
                "remote_taxpayers": problem.weights.street_remote.get(code, 0),
                "target_share": round(problem.demand.street_target_share[code], 4),
                "target_minutes": target_min,
                "planned_minutes": planned,
                "planned_share": round(planned / service_min, 4) if service_min else 0.0,
            }
        )

    visited = {v.stop_id for v in visits}
    reached_mask = np.array([s in visited for s in problem.remote.stop_ids], dtype=bool)
    saved_s = (problem.remote.hall_round_trip_s - problem.remote.stop_round_trip_s)[reached_mask]
    days = []
    for r in plan.routes:
        days.append(
            {
                "date": r.date.isoformat(),
                "weekday": WEEKDAY_EN[r.date.weekday()],
                "van": r.van_id,
                "visits": len(r.visits),
                "depart": hhmm(r.depart),
                "back": hhmm(r.back),
                "lunch": None
                if r.lunch_start is None
                else f"{hhmm(r.lunch_start)}-{hhmm(r.lunch_start + r.lunch_minutes)}",
                "km": round(r.metres / 1000, 1),
                "drive_hours": round(r.drive_seconds / 3600, 2),
                "service_hours": round(sum(v.end - v.start for v in r.visits) / 60, 2),
            }
        )
    return {
        "week": plan.week,
        "working_dates": [d.isoformat() for d in problem.week.dates],
        "holidays": [
            {
                "date": h.date.isoformat(),
                "name": h.reason,
                "name_zh": h.reason_zh,
                "source": h.source,
            }
            for h in problem.week.holidays
        ],
        "makeup_days": [d.isoformat() for d in problem.week.makeup_days],
        "makeup_timetables": {
            d.isoformat(): sources[d] for d in problem.week.makeup_days if d in sources
        },
        "calendar_known": problem.week.calendar_known,
        "visits_planned": len(visits),
        "visits_asked": len(problem.demand.visits),
        "visits_dropped": len(plan.dropped),
        "km_driven": round(metres / 1000, 1),
        "hours_driven": round(drive_s / 3600, 2),
        "service_hours": round(service_min / 60, 2),
        "service_hours_target": round(problem.demand.budget_minutes / 60, 2),
        "streets": streets,
        "taxpayers": problem.weights.total_taxpayers,
        "remote_taxpayers": problem.weights.total_remote,
        "remote_share": round(problem.weights.remote_share, 4),
        "remote_threshold_min": problem.settings.remote_threshold_min,
        "remote_reached": int(reached_mask.sum()),
        "travel_hours_saved": round(float(saved_s.sum()) / 3600, 1),
        "travel_minutes_saved_each": round(float(saved_s.mean()) / 60, 1) if saved_s.size else 0.0,
        "days": days,
        "coverage": coverage_section(plan, problem),
        "dropped": [
            {
                "visit": d.key,
                "stop_id": d.stop_id,
                "stop_name": stop_name.get(d.stop_id, ""),
                "street": street_name.get(d.street_code, d.street_code),
                "dwell_minutes": d.dwell,
                "remote_taxpayers": round(d.remote_served, 1),
                "reason": as_json(d.reason),
            }
            for d in plan.dropped
        ],
        "notes": [as_json(n) for n in plan.notes],
        "search": {
            "objective": plan.search.objective,
            "seconds": round(plan.search.wall_time_s, 2),
            "time_limit_seconds": plan.search.time_limit_s,
            "improvements": len(plan.search.improvements),
        },
    }


def fortnight_stops(plan: Plan, problem: WeekProblem) -> set[str]:
    """Stops visited this week, and the every-other-week stops due in the other week of the
    fortnight (the template gives them their place there)."""
    visited = {v.stop_id for v in plan.visits}
    try:
        _, number = parse_iso_week(problem.week.label)
    except ValueError:  # the template itself: both parities are in it
        return visited | set(problem.biweekly_stops)
    return visited | {s for s in problem.biweekly_stops if not biweekly_in_week(s, number)}


def uncovered_points(plan: Plan, problem: WeekProblem) -> dict[int, list[LatLon]]:
    """Per trip length, where the remote taxpayers live that no stop visited this week is
    that near: for the map's coverage layer, which counts them per square."""
    r = problem.remote
    if not r.stop_columns or len(r.points) != len(r.streets):
        return {}
    near = nearest_visited_seconds(r.to_stop_s, r.stop_columns, {v.stop_id for v in plan.visits})
    return {
        m: [p for p, s in zip(r.points, near, strict=True) if s > m * 60]
        for m in problem.settings.cover_minutes
    }


def _counts(c: Coverage, street: str | None = None) -> dict[str, Any]:
    total = c.total if street is None else c.street_total.get(street, 0)
    within = c.within if street is None else c.street_within.get(street, {})
    return {
        "within": {str(m): within.get(m, 0) for m in c.minutes},
        "share": {str(m): round(within.get(m, 0) / total, 4) if total else 0.0 for m in c.minutes},
    }


def coverage_section(plan: Plan, problem: WeekProblem) -> dict[str, Any]:
    """Remote taxpayers within each trip length (one way, taxpayer to stop, by the plan's
    travel times) of a stop the plan visits this week, and within two weeks; overall and
    per street of registration. Counts only: never who."""
    r = problem.remote
    minutes = problem.settings.cover_minutes
    if not r.stop_columns:  # a hand-made problem without travel times to the stops
        return {"minutes": list(minutes), "remote_taxpayers": 0, "streets": []}
    week = coverage(
        r.to_stop_s, r.stop_columns, r.streets, {v.stop_id for v in plan.visits}, minutes
    )
    two = coverage(r.to_stop_s, r.stop_columns, r.streets, fortnight_stops(plan, problem), minutes)
    names = {s.code: s.name for s in problem.dataset.streets}
    return {
        "stop_choice": problem.settings.stop_choice,
        "not_chosen": not_chosen(problem),
        "minutes": list(minutes),
        "remote_taxpayers": week.total,
        "this_week": _counts(week),
        "two_weeks": _counts(two),
        "streets": [
            {
                "code": code,
                "name": names.get(code, code),
                "remote_taxpayers": week.street_total[code],
                "this_week": _counts(week, code),
                "two_weeks": _counts(two, code),
            }
            for code in week.street_total
        ],
    }


def not_chosen(problem: WeekProblem) -> list[dict[str, Any]]:
    """The stops the covering choice could not take because a van's days cannot hold them,
    each with why (its reason as a message's template and values, for any language)."""
    if problem.cover is None:
        return []
    stops = {s.id: s for s in problem.dataset.stops}
    names = {s.code: s.name for s in problem.dataset.streets}
    out = []
    for stop_id, why in problem.cover.left_out.items():
        stop = stops.get(stop_id)
        street = stop.street_code if stop else ""
        out.append(
            {
                "stop_id": stop_id,
                "stop_name": stop.name if stop else "",
                "street": names.get(street, street),
                "reason": {"template": why.template, "values": dict(why.values)},
            }
        )
    return sorted(out, key=lambda d: d["stop_id"])


def _format_coverage(cov: dict[str, Any]) -> list[str]:
    minutes = cov["minutes"]
    if not cov.get("streets"):
        return []
    head = " / ".join(str(m) for m in minutes)

    def shares(part: dict[str, Any]) -> str:
        return " ".join(f"{part['share'][str(m)]:>6.1%}" for m in minutes)

    lines = [
        "",
        f"  coverage ({cov['stop_choice']} stop choice): remote taxpayers within {head} min "
        "of a visited stop",
        f"  {_pad('street', 12)} {'remote':>7}  {'this week':^{7 * len(minutes)}}  "
        f"{'within two weeks':^{7 * len(minutes)}}",
    ]
    for s in cov["streets"]:
        lines.append(
            f"  {_pad(s['name'], 12)} {s['remote_taxpayers']:>7}  {shares(s['this_week'])}  "
            f"{shares(s['two_weeks'])}"
        )
    lines.append(
        f"  {_pad('all', 12)} {cov['remote_taxpayers']:>7}  {shares(cov['this_week'])}  "
        f"{shares(cov['two_weeks'])}"
    )
    if cov.get("not_chosen"):
        lines += ["", "  stops the covering choice left out (the van's days cannot hold them):"]
        for d in cov["not_chosen"]:
            why = Message(d["reason"]["template"], d["reason"]["values"])
            lines.append(f"  - {d['stop_id']} {d['stop_name']} ({d['street']}): {why}")
    return lines


def _pad(text: str, width: int) -> str:
    """Left-align `text` in `width` terminal columns; CJK characters take two."""
    cols = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(0, width - cols)


def format_report(report: dict[str, Any]) -> str:
    """The report as a dispatcher reads it on a terminal."""
    not_held = sum(
        1 for d in report["dropped"] if str(from_json(d["reason"])).startswith("not held")
    )
    left_out = f"{report['visits_dropped'] - not_held} dropped"
    if not_held:
        left_out = f"{not_held} not held (calendar), " + left_out
    lines = [
        f"Plan for {report['week']}: {report['visits_planned']} visits on "
        f"{len(report['working_dates'])} working days, {left_out}",
        f"  driving: {report['km_driven']:.1f} km, {report['hours_driven']:.1f} h;  "
        f"service: {report['service_hours']:.1f} h (target {report['service_hours_target']:.1f} h)",
        f"  remote taxpayers: {report['remote_taxpayers']} of {report['taxpayers']} "
        f"({report['remote_share']:.1%}, round trip to the hall >= "
        f"{report['remote_threshold_min']:g} min by car)",
        f"  reached this week: {report['remote_reached']}; travel saved against the hall: "
        f"{report['travel_hours_saved']:.0f} h "
        f"({report['travel_minutes_saved_each']:.0f} min each)",
        "",
        "  day         van  visits  depart  back   lunch         km     drive h  service h",
    ]
    for d in report["days"]:
        lines.append(
            f"  {d['date']} {d['weekday']} {d['van']:<4} {d['visits']:>5}   {d['depart']}   "
            f"{d['back']}  {d['lunch'] or '-':<12} {d['km']:>6.1f}  {d['drive_hours']:>6.1f}  "
            f"{d['service_hours']:>8.1f}"
        )
    lines += [
        "",
        f"  {_pad('street', 12)} {'remote':>8}  {'target share':>11}  {'planned share':>12}  "
        f"{'target h':>8}  {'planned h':>9}",
    ]
    for s in report["streets"]:
        lines.append(
            f"  {_pad(s['name'], 12)} {s['remote_taxpayers']:>8}  {s['target_share']:>11.1%}  "
            f"{s['planned_share']:>12.1%}  {s['target_minutes'] / 60:>8.1f}  "
            f"{s['planned_minutes'] / 60:>9.1f}"
        )
    lines += _format_coverage(report.get("coverage", {"minutes": []}))
    if report["dropped"]:
        lines += ["", "  visits left out:"]
        for d in report["dropped"]:
            lines.append(
                f"  - {d['visit']} {d['stop_name']} ({d['street']}, "
                f"{d['dwell_minutes']} min): {from_json(d['reason'])}"
            )
    for note in report["notes"]:
        lines.append(f"  note: {from_json(note)}")
    return "\n".join(lines)
