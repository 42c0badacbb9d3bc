"""Vans: vehicles with a crew, a shift, a lunch break and service counters."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from taxvan.clock import hhmm


@dataclass(frozen=True, slots=True)
class Van:
    """One van and its crew's working day, in minutes since midnight.

    The lunch break lasts `lunch_minutes` and lies wholly between `lunch_earliest` and
    `lunch_latest` (so it starts no later than `lunch_latest - lunch_minutes`).
    """

    id: str
    name: str
    counters: int
    shift_start: int
    shift_end: int
    lunch_minutes: int
    lunch_earliest: int
    lunch_latest: int
    weekdays: frozenset[int] = frozenset(range(5))
    """ISO weekdays minus one (Monday = 0) the crew works in an ordinary week."""

    def __post_init__(self) -> None:
        if self.counters < 1:
            raise ValueError(f"van {self.id}: needs at least one service counter")
        if not self.shift_start < self.shift_end:
            raise ValueError(f"van {self.id}: shift ends before it starts")
        if not (
            self.shift_start <= self.lunch_earliest
            and self.lunch_earliest + self.lunch_minutes <= self.lunch_latest <= self.shift_end
        ):
            raise ValueError(
                f"van {self.id}: a {self.lunch_minutes}-minute lunch does not fit between "
                f"{hhmm(self.lunch_earliest)} and {hhmm(self.lunch_latest)} inside the shift"
            )

    @property
    def working_minutes(self) -> int:
        return self.shift_end - self.shift_start - self.lunch_minutes


def fleet_weekdays(vans: Iterable[Van]) -> frozenset[int]:
    """The weekdays (Monday = 0) on which at least one van works."""
    return frozenset().union(*(v.weekdays for v in vans))
