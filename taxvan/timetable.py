"""The published timetable: one row per visit, in the open-data columns of the brief.

Changing `TIMETABLE_COLUMNS` is a breaking change for everyone who reads the open data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from taxvan.clock import hhmm
from taxvan.workdays import WEEKDAY_EN

TIMETABLE_COLUMNS = (
    "date",
    "weekday",
    "van",
    "order",
    "stop_id",
    "stop_name",
    "street",
    "start",
    "end",
    "lat",
    "lon",
)


@dataclass(frozen=True, slots=True)
class TimetableRow:
    """One published visit. Times are minutes since midnight, China time."""

    date: dt.date
    van: str
    order: int
    stop_id: str
    stop_name: str
    street: str
    start: int
    end: int
    lat: float
    lon: float

    def as_record(self) -> dict[str, Any]:
        """The row as the open-data files carry it (ISO date, HH:MM times)."""
        return {
            "date": self.date.isoformat(),
            "weekday": WEEKDAY_EN[self.date.weekday()],
            "van": self.van,
            "order": self.order,
            "stop_id": self.stop_id,
            "stop_name": self.stop_name,
            "street": self.street,
            "start": hhmm(self.start),
            "end": hhmm(self.end),
            "lat": self.lat,
            "lon": self.lon,
        }
