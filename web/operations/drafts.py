"""A planned week as a `Draft`: the rows, report, template and map a job produced.

The draft keeps its visits in the shape a published week needs (`visit_dicts`), with the stop
and street names of the data it was planned from, so the draft page (and whoever publishes
it) never has to plan or load the data folder again.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from typing import Any

from taxvan.clock import hhmm
from web.adapters.planner import PlanRun

WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def visit_dicts(run: PlanRun) -> list[dict[str, Any]]:
    """Every planned visit, by date, van and order: the columns of `VisitRow` (`date` as ISO
    text, times in minutes since midnight, China time) plus names for showing them."""
    stops = {s.id: s for s in run.dataset.stops}
    streets = {s.code: s for s in run.dataset.streets}
    counters = {v.id: v.counters for v in run.dataset.vans}
    alternate = {d.key for d in run.problem.demand.visits if d.biweekly}
    out = []
    for v in sorted(run.plan.visits, key=lambda v: (v.date, v.van_id, v.order)):
        stop = stops[v.stop_id]
        street = streets.get(stop.street_code)
        usual = v.moved_from
        out.append(
            {
                "date": v.date.isoformat(),
                "van_id": v.van_id,
                "order": v.order,
                "stop_id": v.stop_id,
                "stop_name": stop.name,
                "street_code": stop.street_code,
                "street_name": street.name if street else stop.street_code,
                "start": v.start,
                "end": v.end,
                "counters": counters[v.van_id],
                "every_other_week": v.key in alternate,
                "usual_date": usual.date.isoformat() if usual else None,
                "usual_start": usual.start if usual else None,
                "usual_end": usual.end if usual else None,
            }
        )
    return out


@dataclass(frozen=True)
class Day:
    """One date of the draft's timetable, for the page."""

    date: dt.date
    weekday: int
    visits: list[dict[str, Any]]


def timetable_by_day(visits: list[dict[str, Any]]) -> list[Day]:
    """The draft's visits grouped by date (then van and order), times as HH:MM."""
    days = []
    for date, group in itertools.groupby(visits, key=lambda v: v["date"]):
        day = dt.date.fromisoformat(date)
        rows = [
            {
                **v,
                "start_text": hhmm(v["start"]),
                "end_text": hhmm(v["end"]),
                "usual_text": (
                    f"{v['usual_date']} {hhmm(v['usual_start'])}"
                    if v.get("usual_date") and v.get("usual_start") is not None
                    else None
                ),
            }
            for v in group
        ]
        days.append(Day(day, day.weekday(), rows))
    return days
