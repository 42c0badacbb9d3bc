"""The plan: what the planner returns. Plain data, ready to publish, check and report."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from taxvan.messages import Message


@dataclass(frozen=True, slots=True)
class UsualTime:
    """When a visit the calendar moved is normally held: its template day's date in this
    week and its published times (minutes), so the public can be told what changed."""

    date: dt.date
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class PlannedVisit:
    """One visit as published: a stop served on a date from `start` to `end` (minutes)."""

    key: str
    stop_id: str
    street_code: str
    date: dt.date
    van_id: str
    order: int
    arrive: int
    start: int
    end: int
    remote_served: float
    moved_from: UsualTime | None = None
    """Set when this week holds the visit on another day or at other times than usual."""


@dataclass(frozen=True, slots=True)
class DayRoute:
    """One van's day: depot, visits in order, depot; with its lunch break."""

    date: dt.date
    day_index: int
    van_id: str
    visits: tuple[PlannedVisit, ...]
    depart: int
    back: int
    lunch_start: int | None
    lunch_minutes: int
    metres: int
    drive_seconds: int


@dataclass(frozen=True, slots=True)
class DroppedVisit:
    """A visit the week asked for but the plan leaves out, and why."""

    key: str
    stop_id: str
    street_code: str
    dwell: int
    remote_served: float
    reason: Message | str
    """Why, as a message (`str()` is the English)."""


@dataclass(frozen=True, slots=True)
class SearchStats:
    objective: int
    wall_time_s: float
    time_limit_s: float
    improvements: tuple[tuple[float, int], ...] = ()


@dataclass(frozen=True, slots=True)
class Plan:
    """The visits of one ISO week, per van and working day, and what was left out."""

    week: str
    routes: tuple[DayRoute, ...]
    dropped: tuple[DroppedVisit, ...]
    search: SearchStats
    notes: tuple[Message | str, ...] = field(default_factory=tuple)
    makeup_runs: tuple[tuple[dt.date, int | None], ...] = ()
    """Make-up working day -> weekday (Monday = 0) of the template day it runs, if any."""

    @property
    def visits(self) -> list[PlannedVisit]:
        return [v for r in self.routes for v in r.visits]
