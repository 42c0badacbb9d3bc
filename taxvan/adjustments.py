"""A dispatcher's adjustments to a week's plan, as plain data, and their validation.

Local knowledge the data files do not hold: the market in one village is on Tuesdays (pin
the stop to Tuesday, perhaps at 09:00), a square is closed for works (exclude the stop), the
crew has training every Friday (exclude the weekday), a stop needs two visits a week or a
longer dwell. `Adjustments` says all of it in plain values (stop ids, weekdays Monday = 0,
minutes since midnight), so the web layer can keep it as JSON (`as_dict` / `from_dict`) and
the planner takes it as it is (`routes.plan_week(..., adjustments=...)`). It is part of the
weekly template's fingerprint: the same adjustments reuse the template, a changed one plans
a new template.

`adjustment_problems(adjustments, dataset)` lists everything that cannot hold, each
problem naming the stop or the day and why; `check_adjustments` raises them together as an
`AdjustmentError`. The solver then honours the pins as constraints (`routes.weekly`).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from taxvan.clock import GRID_MINUTES, hhmm, parse_hhmm
from taxvan.dataset import Dataset
from taxvan.demand import DemandRules, VisitDemand, WeekDemand, min_gap_days
from taxvan.errors import PlanningError
from taxvan.fleet import fleet_weekdays
from taxvan.messages import N_, Message, joined, message
from taxvan.places import Stop
from taxvan.weights import Weights
from taxvan.workdays import WEEKDAY_EN, WEEKDAY_ZH, weekday_name

MAX_PIN_TOLERANCE = 60
"""A pin's tolerance at most this many minutes either side: beyond it, pin the day only."""


def parse_weekday(text: str | int) -> int:
    """`"Tue"`, `"tuesday"`, `"周二"` or ISO number `2` -> 1 (Monday = 0). ValueError otherwise."""
    if isinstance(text, int) and not isinstance(text, bool):
        if 1 <= text <= 7:
            return text - 1
        raise ValueError(f"{text} is not an ISO weekday number 1-7")
    t = str(text).strip()
    if t.isdigit() and 1 <= int(t) <= 7:
        return int(t) - 1
    low = t.lower()[:3]
    for i, name in enumerate(WEEKDAY_EN):
        if low == name.lower():
            return i
    for i, name in enumerate(WEEKDAY_ZH):
        if t in (name, name.replace("周", "星期"), name.replace("周", "礼拜")):
            return i
    raise ValueError(f"'{text}' is not a weekday (Mon..Sun, 周一..周日 or 1..7)")


@dataclass(frozen=True, slots=True)
class Pin:
    """A stop held on one weekday, and optionally at one start time.

    `start` (minutes since midnight, on the 15-minute grid) fixes when the visit opens;
    `tolerance` lets the planner open it up to that many minutes earlier or later (a
    multiple of 15; 0, the default, means exactly at `start`). Without `start` the visit
    may lie at any time of that day.
    """

    stop_id: str
    weekday: int
    start: int | None = None
    tolerance: int = 0

    @property
    def window(self) -> tuple[int, int] | None:
        """(earliest, latest) start in minutes, or None when only the day is pinned."""
        if self.start is None:
            return None
        return self.start - self.tolerance, self.start + self.tolerance

    def describe(self) -> str:
        """`"stop 123 pinned to Tue 09:00"`: how errors and the diff name it."""
        return str(self.said())

    def when(self) -> Message:
        """`Tue 09:00 ±15 min` (周二 09:00 ±15 分钟), or the weekday alone."""
        day = weekday_name(self.weekday)
        if self.start is None or not 0 <= self.start < 24 * 60:
            return day
        if self.tolerance:
            return message(
                N_("%(day)s %(time)s ±%(minutes)d min"),
                day=day,
                time=hhmm(self.start),
                minutes=self.tolerance,
            )
        return message(N_("%(day)s %(time)s"), day=day, time=hhmm(self.start))

    def said(self) -> Message:
        """The pin in words: "stop 123 pinned to Tue 09:00"."""
        return message(N_("stop %(stop)s pinned to %(when)s"), stop=self.stop_id, when=self.when())


def _pairs(value: Mapping[str, int] | Iterable[tuple[str, int]]) -> tuple[tuple[str, int], ...]:
    items = value.items() if isinstance(value, Mapping) else value
    return tuple(sorted((str(k), int(v)) for k, v in items))


@dataclass(frozen=True)
class Adjustments:
    """What the dispatcher changed about a week's plan. Empty by default (no change).

    `visits_per_week` and `dwell` map a stop id to a number; they are kept as sorted
    `(stop_id, number)` pairs so the value is hashable and prints the same in every process
    (a dict is accepted and converted). Read them as dicts with `visits_map()` and
    `dwell_map()`.
    """

    pins: tuple[Pin, ...] = ()
    excluded_stops: frozenset[str] = frozenset()
    excluded_weekdays: frozenset[int] = frozenset()
    """Weekdays (Monday = 0) the van does not run: no route that weekday."""
    visits_per_week: tuple[tuple[str, int], ...] = ()
    """Stop id -> visits a week (every week; an every-other-week stop becomes weekly)."""
    dwell: tuple[tuple[str, int], ...] = ()
    """Stop id -> minutes on site per visit (on the 15-minute grid)."""

    def __post_init__(self) -> None:
        # Canonical forms, whatever the caller passed: sorted and deduplicated, so two equal
        # sets of adjustments give one fingerprint.
        pins = sorted(set(self.pins), key=lambda p: (p.stop_id, p.weekday, p.start or -1))
        object.__setattr__(self, "pins", tuple(pins))
        object.__setattr__(self, "excluded_stops", frozenset(self.excluded_stops))
        object.__setattr__(self, "excluded_weekdays", frozenset(self.excluded_weekdays))
        object.__setattr__(self, "visits_per_week", _pairs(self.visits_per_week))
        object.__setattr__(self, "dwell", _pairs(self.dwell))

    def __bool__(self) -> bool:
        return bool(
            self.pins
            or self.excluded_stops
            or self.excluded_weekdays
            or self.visits_per_week
            or self.dwell
        )

    def visits_map(self) -> dict[str, int]:
        return dict(self.visits_per_week)

    def dwell_map(self) -> dict[str, int]:
        return dict(self.dwell)

    def pins_of(self, stop_id: str) -> list[Pin]:
        """The stop's pins, by weekday."""
        return sorted((p for p in self.pins if p.stop_id == stop_id), key=lambda p: p.weekday)

    def changed_stops(self) -> set[str]:
        """Stops whose visits these adjustments shape (pinned, or visits or dwell changed)."""
        return (
            {p.stop_id for p in self.pins}
            | {s for s, _ in self.visits_per_week}
            | {s for s, _ in self.dwell}
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: weekdays as `Mon`..`Sun`, times as `HH:MM` (the file format too)."""
        return {
            "pins": [
                {
                    "stop_id": p.stop_id,
                    "weekday": WEEKDAY_EN[p.weekday],
                    **({} if p.start is None else {"start": hhmm(p.start)}),
                    **({"tolerance": p.tolerance} if p.tolerance else {}),
                }
                for p in self.pins
            ],
            "exclude_stops": sorted(self.excluded_stops),
            "exclude_weekdays": [WEEKDAY_EN[d] for d in sorted(self.excluded_weekdays)],
            "visits_per_week": dict(self.visits_per_week),
            "dwell": dict(self.dwell),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Adjustments:
        """The inverse of `as_dict`. Raises `AdjustmentError` naming every bad field (as
        `pins[0].start`), never a KeyError."""
        problems: list[AdjustmentProblem] = []
        if not isinstance(data, Mapping):
            raise AdjustmentError([AdjustmentProblem("the adjustments must be a JSON object")])
        known = {"pins", "exclude_stops", "exclude_weekdays", "visits_per_week", "dwell"}
        for key in sorted(set(data) - known):
            problems.append(
                AdjustmentProblem(f"unknown field; use {', '.join(sorted(known))}", field=key)
            )
        pins = []
        for i, raw in enumerate(_listed(data, "pins", problems)):
            pin = _pin_from_dict(raw, f"pins[{i}]", problems)
            if pin is not None:
                pins.append(pin)
        days = set()
        for i, raw in enumerate(_listed(data, "exclude_weekdays", problems)):
            try:
                days.add(parse_weekday(raw))
            except ValueError as exc:
                problems.append(AdjustmentProblem(str(exc), field=f"exclude_weekdays[{i}]"))
        stops = {str(s) for s in _listed(data, "exclude_stops", problems)}
        visits = _numbers_by_stop(data, "visits_per_week", problems)
        dwell = _numbers_by_stop(data, "dwell", problems)
        if problems:
            raise AdjustmentError(problems)
        return cls(tuple(pins), frozenset(stops), frozenset(days), _pairs(visits), _pairs(dwell))


def _listed(data: Mapping[str, Any], name: str, problems: list[AdjustmentProblem]) -> list[Any]:
    """The list `data` holds under `name` (none: empty); not a list is a problem."""
    value = data.get(name, [])
    if not isinstance(value, list):
        problems.append(AdjustmentProblem("must be a list", field=name))
        return []
    return value


def _numbers_by_stop(
    data: Mapping[str, Any], name: str, problems: list[AdjustmentProblem]
) -> dict[str, int]:
    """The {stop id: whole number} object `data` holds under `name`, without the entries
    that are not whole numbers (each one a problem)."""
    value = data.get(name, {})
    if not isinstance(value, Mapping):
        problems.append(AdjustmentProblem("must be an object of stop id: number", field=name))
        return {}
    out = {}
    for k, v in value.items():
        if isinstance(v, bool) or not isinstance(v, int):
            problems.append(
                AdjustmentProblem(f"{v!r} is not a whole number", str(k), field=f"{name}.{k}")
            )
        else:
            out[str(k)] = v
    return out


def _pin_from_dict(raw: Any, where: str, problems: list[AdjustmentProblem]) -> Pin | None:
    """The pin `raw` (an `as_dict` pin) says, or None when a field that makes it is bad (the
    problem is added, naming the field under `where`)."""
    if not isinstance(raw, Mapping):
        problems.append(AdjustmentProblem("must be an object", field=where))
        return None
    stop = str(raw.get("stop_id", "")).strip()
    if not stop:
        problems.append(AdjustmentProblem("missing stop_id", field=f"{where}.stop_id"))
    try:
        weekday = parse_weekday(raw.get("weekday", ""))
    except ValueError as exc:
        problems.append(AdjustmentProblem(str(exc), stop, field=f"{where}.weekday"))
        return None
    start = None
    if raw.get("start") not in (None, ""):
        try:
            start = parse_hhmm(str(raw["start"]))
        except ValueError as exc:
            problems.append(AdjustmentProblem(str(exc), stop, field=f"{where}.start"))
            return None
    tolerance = raw.get("tolerance", 0) or 0
    if isinstance(tolerance, bool) or not isinstance(tolerance, int):
        problems.append(
            AdjustmentProblem(
                f"{tolerance!r} is not whole minutes", stop, field=f"{where}.tolerance"
            )
        )
        return None
    return Pin(stop, weekday, start, tolerance)


@dataclass(frozen=True, slots=True)
class AdjustmentProblem:
    """One adjustment that cannot hold: the stop and/or weekday it concerns, and why.

    `field` names where it came from when read from a file or JSON (`pins[0].start`,
    `row 3`), so the console can point at it."""

    message: str
    stop_id: str | None = None
    weekday: int | None = None
    field: str | None = None
    template: str = ""
    """The message without its kind and values (`{time} is outside the shift ({shifts}) ...`),
    for the console to say it in the dispatcher's language; empty for file-reading problems."""
    params: tuple[tuple[str, str], ...] = ()
    """The values of `template`'s fields, as text."""
    kind: str = ""
    """What the adjustment is (`pin`, `exclude`, `exclude day`, `visits per week`, `dwell`)."""

    @classmethod
    def of(
        cls,
        kind: str,
        template: str,
        stop_id: str | None = None,
        weekday: int | None = None,
        **params: object,
    ) -> AdjustmentProblem:
        """A problem of the adjustments against the district's data: `message` is `kind:
        template` filled in, as the command line shows it."""
        values = tuple((k, str(v)) for k, v in sorted(params.items()))
        text = template.format(**dict(values))
        return cls(f"{kind}: {text}", stop_id, weekday, None, template, values, kind)

    def __str__(self) -> str:
        where = []
        if self.field:
            where.append(self.field)
        if self.stop_id:
            where.append(f"stop {self.stop_id}")
        if self.weekday is not None and 0 <= self.weekday < 7:
            where.append(WEEKDAY_EN[self.weekday])
        return (", ".join(where) + ": " if where else "") + self.message


class AdjustmentError(PlanningError):
    """The adjustments cannot hold as given; `problems` lists every reason at once."""

    def __init__(self, problems: list[AdjustmentProblem]) -> None:
        self.problems = problems
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"adjustment not possible: {problems[0]}{more}")

    def report(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class PinError(PlanningError):
    """A pinned visit the planner cannot hold on its day and time, and why. Raised rather
    than dropping the visit: the dispatcher asked for it explicitly, so no plan is made
    without it (remove or change the pin, or make room on that day)."""

    def __init__(
        self,
        pin: Pin,
        reason: str,
        stop_name: str = "",
        template: str = "",
        params: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.pin = pin
        self.reason = reason
        self.stop_name = stop_name
        self.template = template
        """`reason` without its values, for saying it in the dispatcher's language."""
        self.params = params
        name = f" ({stop_name})" if stop_name else ""
        super().__init__(f"{pin.describe()}{name} cannot be held: {reason}")


def adjustment_problems(adj: Adjustments, dataset: Dataset) -> list[AdjustmentProblem]:
    """Everything about `adj` that cannot hold for `dataset`, each naming stop/day and why.

    Checks: every stop exists and lies in a served street; a pinned or changed stop is not
    also excluded; a weekday is one some van works and is not excluded; a pinned time lies
    on the grid and inside a shift of a van working that day with the dwell after it; a
    stop has at most one pin a weekday and no more pins than visits a week; visits a week
    and dwell are in range; at least one weekday stays.
    """
    check = _AdjustmentCheck(adj, dataset)
    check.exclusions()
    check.visit_counts()
    check.dwells()
    check.pins()
    return check.out


class _AdjustmentCheck:
    """`adjustment_problems`, one kind of adjustment per method, collecting into `out`."""

    def __init__(self, adj: Adjustments, dataset: Dataset) -> None:
        self.adj = adj
        self.dataset = dataset
        self.out: list[AdjustmentProblem] = []
        self.stops = {s.id: s for s in dataset.stops}
        self.served = {s.code for s in dataset.streets if s.served}
        self.working = fleet_weekdays(dataset.vans)
        self.days_left = self.working - adj.excluded_weekdays
        self.visits = adj.visits_map()
        self.dwell = adj.dwell_map()

    def stop_ok(self, stop_id: str, what: str) -> bool:
        """The stop exists and, unless `what` excludes it, is served and not excluded."""
        stop = self.stops.get(stop_id)
        if stop is None:
            self.out.append(AdjustmentProblem.of(what, "no such stop in stops.csv", stop_id))
            return False
        if what != "exclude" and stop.street_code not in self.served:
            self.out.append(
                AdjustmentProblem.of(
                    what,
                    "the stop's street {street} is not served by the van (streets.csv "
                    "served=false)",
                    stop_id,
                    street=stop.street_code,
                )
            )
            return False
        if what != "exclude" and stop_id in self.adj.excluded_stops:
            self.out.append(AdjustmentProblem.of(what, "the stop is also excluded", stop_id))
            return False
        return True

    def exclusions(self) -> None:
        """Excluded stops exist; excluded weekdays are working weekdays, and not all of them."""
        for stop_id in sorted(self.adj.excluded_stops):
            self.stop_ok(stop_id, "exclude")
        for day in sorted(self.adj.excluded_weekdays):
            if not 0 <= day < 7:
                self.out.append(
                    AdjustmentProblem.of("exclude day", "{day} is not a weekday 0-6", day=day)
                )
            elif day not in self.working:
                self.out.append(
                    AdjustmentProblem.of(
                        "exclude day", "no van works on this weekday anyway", weekday=day
                    )
                )
        if self.working and not self.days_left:
            self.out.append(
                AdjustmentProblem.of("exclude day", "every working weekday is excluded")
            )

    def visit_counts(self) -> None:
        """Visits a week: from one to the working weekdays left."""
        days = len(self.days_left)
        for stop_id, count in self.visits.items():
            if self.stop_ok(stop_id, "visits per week") and not 1 <= count <= max(1, days):
                self.out.append(
                    AdjustmentProblem.of(
                        "visits per week",
                        "{count} is not between 1 and the {days} working weekdays (exclude "
                        "the stop for none)",
                        stop_id,
                        count=count,
                        days=days,
                    )
                )

    def dwells(self) -> None:
        """Dwell: a positive multiple of the grid, no longer than the longest shift."""
        longest = max((v.working_minutes for v in self.dataset.vans), default=0)
        for stop_id, minutes in self.dwell.items():
            if not self.stop_ok(stop_id, "dwell"):
                continue
            if minutes <= 0 or minutes % GRID_MINUTES:
                self.out.append(
                    AdjustmentProblem.of(
                        "dwell",
                        "{minutes} min is not a positive multiple of {grid} min",
                        stop_id,
                        minutes=minutes,
                        grid=GRID_MINUTES,
                    )
                )
            elif minutes > longest:
                self.out.append(
                    AdjustmentProblem.of(
                        "dwell",
                        "{minutes} min is longer than a whole shift ({longest} min without lunch)",
                        stop_id,
                        minutes=minutes,
                        longest=longest,
                    )
                )

    def pins(self) -> None:
        """A stop's pins: one a weekday, no more weekdays than visits, each day's time fits."""
        for stop_id, pins in itertools.groupby(self.adj.pins, key=lambda p: p.stop_id):
            pins_here = list(pins)
            if not self.stop_ok(stop_id, "pin"):
                continue
            for a, b in itertools.combinations(pins_here, 2):
                if a.weekday == b.weekday:
                    self.out.append(
                        AdjustmentProblem.of(
                            "pin",
                            "two pins on one weekday cannot both hold (a stop is visited at "
                            "most once a day)",
                            stop_id,
                            a.weekday,
                        )
                    )
            distinct = {p.weekday for p in pins_here}
            if stop_id in self.visits and len(distinct) > self.visits[stop_id]:
                self.out.append(
                    AdjustmentProblem.of(
                        "pin",
                        "{pinned} pinned weekdays but only {visits} visit(s) a week asked for",
                        stop_id,
                        pinned=len(distinct),
                        visits=self.visits[stop_id],
                    )
                )
            for p in pins_here:
                self.out.extend(
                    _pin_day_problems(p, self.dataset, self.adj, self.dwell.get(stop_id))
                )


def _pin_day_problems(
    p: Pin, dataset: Dataset, adj: Adjustments, dwell: int | None
) -> list[AdjustmentProblem]:
    def problem(template: str, **params: object) -> AdjustmentProblem:
        return AdjustmentProblem.of("pin", template, p.stop_id, p.weekday, **params)

    if not 0 <= p.weekday < 7:
        return [problem("{day} is not a weekday 0-6", day=p.weekday)]
    if p.weekday in adj.excluded_weekdays:
        return [problem("the van does not run that day (the weekday is excluded)")]
    vans = [v for v in dataset.vans if p.weekday in v.weekdays]
    if not vans:
        return [problem("no van works on this weekday (vans.csv weekdays)")]
    if p.tolerance < 0 or p.tolerance % GRID_MINUTES or p.tolerance > MAX_PIN_TOLERANCE:
        return [
            problem(
                "a tolerance of {tolerance} min is not a multiple of {grid} between 0 and {most}",
                tolerance=p.tolerance,
                grid=GRID_MINUTES,
                most=MAX_PIN_TOLERANCE,
            )
        ]
    if p.start is None:
        return []
    if not 0 <= p.start < 24 * 60:
        return [problem("{minutes} is not a time of day in minutes", minutes=p.start)]
    if p.start % GRID_MINUTES:
        return [
            problem(
                "{time} is not on the {grid}-minute grid published times keep",
                time=hhmm(p.start),
                grid=GRID_MINUTES,
            )
        ]
    length = dwell or GRID_MINUTES
    lo, hi = p.start - p.tolerance, p.start + p.tolerance
    if not any(v.shift_start <= hi and lo + length <= v.shift_end for v in vans):
        shifts = ", ".join(f"{hhmm(v.shift_start)}-{hhmm(v.shift_end)}" for v in vans)
        return [
            problem(
                "{time} is outside the shift ({shifts}): the van leaves the hall at the "
                "shift's start and is back by its end",
                time=hhmm(p.start),
                shifts=shifts,
            )
        ]
    return []


def check_adjustments(adj: Adjustments, dataset: Dataset) -> None:
    """Raise `AdjustmentError` with every problem of `adj` for `dataset`, if any."""
    problems = adjustment_problems(adj, dataset)
    if problems:
        raise AdjustmentError(problems)


def adjusted_dataset(dataset: Dataset, adj: Adjustments) -> Dataset:
    """The district as the planner sees it under `adj`: excluded stops gone (their remote
    taxpayers belong to the nearest stop left) and excluded weekdays off every van."""
    if not adj.excluded_stops and not adj.excluded_weekdays:
        return dataset
    return dataclasses.replace(
        dataset,
        stops=tuple(s for s in dataset.stops if s.id not in adj.excluded_stops),
        vans=tuple(
            dataclasses.replace(v, weekdays=v.weekdays - adj.excluded_weekdays)
            for v in dataset.vans
        ),
    )


def _pinned_days(
    days: int, count: int, pinned: list[int], gap: int
) -> tuple[int, tuple[int, ...]] | None:
    """(gap, day indices) of `count` visits over `days` working days that hold every pinned
    day index, spaced `gap` or more apart, with the widest gap possible up to `gap`."""
    for g in range(max(1, gap), 0, -1):
        for combo in itertools.combinations(range(days), count):
            if set(pinned) <= set(combo) and all(b - a >= g for a, b in itertools.pairwise(combo)):
                return g, combo
    return None


def _place_pins(
    stop_id: str, pins: list[Pin], weekdays: Sequence[int], count: int, gap: int
) -> tuple[int, dict[int, Pin]]:
    """The gap between a stop's `count` visits and which visit (by index) holds each pin: the
    pinned weekdays in order, spaced `gap` days apart or as close as the pins need."""
    if not pins:
        return gap, {}
    pinned_at = [weekdays.index(p.weekday) for p in pins]
    found = _pinned_days(len(weekdays), count, pinned_at, gap)
    if found is None:  # validation keeps pins <= visits <= days
        raise AdjustmentError(
            [AdjustmentProblem.of("pin", "the pinned weekdays cannot all hold", stop_id)]
        )
    gap, combo = found
    return gap, {combo.index(at): p for p, at in zip(pins, pinned_at, strict=True)}


def adjust_demand(
    demand: WeekDemand,
    adj: Adjustments,
    stops: Sequence[Stop],
    weights: Weights,
    weekdays: Sequence[int],
    rules: DemandRules,
) -> WeekDemand:
    """The week's demand with the pins, visits a week and dwell of `adj` applied.

    A changed stop's visits are made anew: as many as asked (else as before, and at least
    one per pinned weekday), of the dwell asked (else as before, else the shortest), standing
    for the same remote taxpayers as before (a stop the week did not visit stands for those
    nearest to it). Pinned weekdays go to the visits in weekday order, spaced so that the
    others can still lie the usual working days apart (closer if the pins ask for it).
    `weekdays` are the week's working weekdays in order (Monday = 0).
    """
    changed = adj.changed_stops()
    if not changed:
        return demand
    visits_asked, dwell_asked = adj.visits_map(), adj.dwell_map()
    by_stop: dict[str, list[VisitDemand]] = {}
    for v in demand.visits:
        by_stop.setdefault(v.stop_id, []).append(v)
    stop_of = {s.id: s for s in stops}
    notes: list[Message | str] = list(demand.notes)

    def remade(stop_id: str) -> list[VisitDemand]:
        old = by_stop.get(stop_id, [])
        stop = stop_of[stop_id]
        pins = [p for p in adj.pins_of(stop_id) if p.weekday in weekdays]
        biweekly = bool(old) and old[0].biweekly and stop_id not in visits_asked and len(pins) < 2
        count = visits_asked.get(stop_id) or max(len(old) or 1, len(pins))
        count = min(count, len(weekdays))
        dwell = dwell_asked.get(stop_id) or (old[0].dwell if old else rules.min_dwell)
        weight = (
            sum(v.remote_served for v in old) if old else float(weights.stop_remote.get(stop_id, 0))
        )
        gap, pin_of_index = _place_pins(
            stop_id, pins, weekdays, count, min_gap_days(count, len(weekdays))
        )
        must = any(v.must_serve for v in old)
        notes.append(adjusted_note(stop_id, count, biweekly, dwell, pins))
        out = []
        for i in range(count):
            pin = pin_of_index.get(i)
            out.append(
                VisitDemand(
                    stop_id=stop_id,
                    street_code=stop.street_code,
                    index=i,
                    count=count,
                    dwell=dwell,
                    remote_served=weight / count,
                    min_gap_days=gap,
                    biweekly=biweekly,
                    must_serve=must and i == 0,
                    pin_weekday=None if pin is None else pin.weekday,
                    pin_window=None if pin is None else pin.window,
                )
            )
        return out

    visits: list[VisitDemand] = []
    done: set[str] = set()
    for v in demand.visits:
        if v.stop_id not in changed:
            visits.append(v)
        elif v.stop_id not in done:
            done.add(v.stop_id)
            visits += remade(v.stop_id)
    for stop_id in sorted(changed - done):
        if stop_id in stop_of:
            visits += remade(stop_id)
    return dataclasses.replace(demand, visits=tuple(visits), notes=tuple(notes))


def adjusted_note(
    stop_id: str, count: int, biweekly: bool, dwell: int, pins: Sequence[Pin]
) -> Message | str:
    """What an adjusted stop's visits became, for the plan's notes."""
    template = (
        N_("adjusted: stop %(stop)s has %(count)d visit(s) every other week of %(dwell)d min")
        if biweekly
        else N_("adjusted: stop %(stop)s has %(count)d visit(s) a week of %(dwell)d min")
    )
    said = message(template, stop=stop_id, count=count, dwell=dwell)
    return joined([said, *(p.said() for p in pins)])
