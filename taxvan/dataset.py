"""One district's data, as the planner and the app need it."""

from __future__ import annotations

from dataclasses import dataclass

from taxvan.errors import DataProblem
from taxvan.fleet import Van
from taxvan.places import Depot, Stop, Street
from taxvan.services import Service
from taxvan.taxpayers import Taxpayer
from taxvan.workdays import CalendarDay


@dataclass(frozen=True, slots=True)
class DataWarning:
    """Something in a data file worth a look that does not stop loading (an outlier)."""

    path: str
    problem: DataProblem

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


@dataclass(frozen=True, slots=True)
class Dataset:
    """Everything loaded from one data folder; immutable once validated."""

    name: str
    depot: Depot
    streets: tuple[Street, ...]
    stops: tuple[Stop, ...]
    taxpayers: tuple[Taxpayer, ...]
    services: tuple[Service, ...]
    vans: tuple[Van, ...]
    calendar: tuple[CalendarDay, ...] = ()
    """The dispatcher's calendar file (State Council schedule), overriding the libraries."""
    warnings: tuple[DataWarning, ...] = ()
    """What loading found worth a look but not wrong (see `taxvan.io.loaders`)."""

    def street(self, code: str) -> Street:
        for s in self.streets:
            if s.code == code:
                return s
        raise KeyError(code)

    def stop(self, stop_id: str) -> Stop:
        for s in self.stops:
            if s.id == stop_id:
                return s
        raise KeyError(stop_id)
