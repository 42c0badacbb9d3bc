"""Re-solving near the previous template: "same place, same time" is the promise.

A dispatcher who pins one stop expects that stop, and what must make room for it, to move,
and nothing else. Planning the changed template from scratch lets the search choose every
weekday and time anew, so most visits move for a few kilometres saved. So a new template
starts from the previous one and is held near it:

- the previous routes are the solver's first solution (visits a pin or an exclusion
  forbids there are left out of it and inserted by the search);
- a visit that leaves its previous weekday or van costs `Stability.move_cost`, and a
  visit that opens at another time of day costs `Stability.minute_cost` per minute off;
- the published times are recomputed preferring each visit's previous start
  (`routes.schedule.schedule_day(..., prefer=...)`).

The weights, in the planner's cost unit (metres of driving):

- a move costs `move_cost` (50 km) or twice the longest drive between two places of the
  week, whichever is more: above anything moving visits can save in driving (taking a
  visit out of a route saves at most its detour, at most twice the longest drive), so the
  search moves a visit only when a constraint needs the room;
- leaving out a visit the previous template held costs the same on top of its own penalty
  (`PlanSettings.penalty_per_remote_taxpayer`, 100 km per remote taxpayer), so a visit is
  moved rather than dropped, and a held visit is not swapped for another one that serves a
  few more taxpayers;
- a street's minimum visit and a pin weigh more than all of these together (their
  penalties are computed above the sum of every other cost, these included;
  `routes.weekly`), and a pin is a constraint of the model anyway (its vans and its
  window), which no cost can override;
- `minute_cost` 500 m a minute: 15 minutes later cost 7.5 km, an hour 30 km, so a visit
  keeps its time unless that costs more driving, and a shift within its day is preferred to
  another day.

Measured (bench/README.md, `python -m bench.stability`): with a flat 30 km a move and 200 m
a minute, the second district still moved visits of untouched days (a far-end visit is
worth more than 30 km of driving there) and swapped dropped visits; with the floor of twice
the longest drive and the cost on dropping a held visit, no untouched day changed.

`PreviousTemplate` is the previous template as the planner needs it: each visit's weekday,
van and start, and each route's order, read from the template's JSON (`template_to_dict`,
what `template.json` and the templates folder hold). Reading is lenient: visits of stops
the data no longer holds are skipped, since the previous template may come from older data.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from taxvan.errors import PlanningError


@dataclass(frozen=True, slots=True)
class Stability:
    """How strongly a re-solve holds the previous template (see the module's docstring)."""

    move_cost: int = 50_000
    """Least cost of a visit leaving its previous weekday or van, or being left out, in
    metres of driving (at least twice the week's longest drive is charged)."""
    minute_cost: int = 500
    """Cost per minute a visit opens earlier or later than before, in metres of driving."""

    def __post_init__(self) -> None:
        if self.move_cost < 0 or self.minute_cost < 0:
            raise ValueError("stability costs cannot be negative")


@dataclass(frozen=True, slots=True)
class Placed:
    """Where a visit of the previous template was: weekday (Monday = 0), van, start minute,
    and its place in the day's route (1 = first)."""

    weekday: int
    van: str
    start: int
    order: int


@dataclass(frozen=True)
class PreviousTemplate:
    """The template a new one is planned near: visit key -> where it was."""

    visits: Mapping[str, Placed]
    fingerprint: str = ""
    source: str = ""
    """Where it came from (a path, "published", ...), for messages."""
    by_stop: Mapping[str, tuple[Placed, ...]] = field(default_factory=dict)
    """Stop id -> its visits' places in route order; pair ids (`A+B`) also under each member,
    so a stop whose pairing changed still finds its place."""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "") -> PreviousTemplate:
        """Read a template's JSON (`routes.template.template_to_dict`); PlanningError if it is
        not one."""
        visits: dict[str, Placed] = {}
        by_stop: dict[str, list[Placed]] = {}
        try:
            for r in data["routes"]:
                weekday, van = int(r["weekday"]), str(r["van"])
                for order, v in enumerate(r["visits"], start=1):
                    placed = Placed(weekday, van, int(v["start"]), order)
                    visits[str(v["key"])] = placed
                    stop = str(v["stop_id"])
                    for member in {stop, *stop.split("+")}:
                        by_stop.setdefault(member, []).append(placed)
        except (KeyError, TypeError, ValueError) as exc:
            where = f" {source}" if source else ""
            raise PlanningError(f"the previous template{where} is not a template ({exc})") from None
        return cls(
            visits,
            str(data.get("fingerprint", "")),
            source,
            {k: tuple(v) for k, v in by_stop.items()},
        )

    @classmethod
    def from_file(cls, path: Path) -> PreviousTemplate:
        """Read a `template.json`; PlanningError naming the file if it cannot be read."""
        try:
            data = json.loads(Path(path).read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise PlanningError(f"the previous template {path} cannot be read ({exc})") from None
        if not isinstance(data, Mapping):
            raise PlanningError(f"the previous template {path} is not a template")
        return cls.from_dict(data, str(path))

    def place_of(self, key: str, stop_id: str, index: int) -> Placed | None:
        """Where visit `key` (the `index`-th of stop `stop_id`, 0-based) was: by its key,
        else, for a stop whose pairing changed, the `index`-th place of the stop or of a
        member of its pair."""
        if key in self.visits:
            return self.visits[key]
        for member in (stop_id, *stop_id.split("+")):
            places = self.by_stop.get(member, ())
            if index < len(places):
                return places[index]
        return None
