"""The bureau's figures: what the van did, per ISO week or per month, from plain rows.

One `VisitFacts` per visit of the period (held or called off) goes in; one `PeriodFigures` per
period comes out, plus their total. Nothing here reads a database or a file: the web layer
gathers the rows (the crew's records, the bookings, the registry's round trips) and this module
only counts, so the counting is tested with plain data.

**Travel time saved** is the bulletin's own measure: every taxpayer served at the van is a round
trip to the service hall they did not make. A served booking (or a walk-in named by a credit code
found in the registry) counts its taxpayer's round trip from their registered location; any
other walk-in counts the stop's own round trip to the hall (an estimate: where they came from is
not known), and the figures say how many trips were estimated so.
"""

from __future__ import annotations

import datetime as dt
import statistics as pystats
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum


class Period(StrEnum):
    WEEK = "week"
    MONTH = "month"


def period_of(day: dt.date, period: Period) -> str:
    """The label of the period holding `day`: `2026-W49` (ISO week) or `2026-12`."""
    if period is Period.WEEK:
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{day.year}-{day.month:02d}"


def periods_between(first: dt.date, last: dt.date, period: Period) -> list[str]:
    """Every period's label from `first` to `last`, in order (empty ones too: a chart shows a
    week without visits as a gap, not as nothing)."""
    labels: list[str] = []
    day = first
    while day <= last:
        label = period_of(day, period)
        if not labels or labels[-1] != label:
            labels.append(label)
        day += dt.timedelta(days=7 if period is Period.WEEK else 1)
    end = period_of(last, period)
    if labels and labels[-1] != end:
        labels.append(end)
    return labels


def month_bounds(label: str) -> tuple[dt.date, dt.date]:
    """The first and last day of the month `YYYY-MM`; ValueError if it is not one."""
    year, month = (int(p) for p in label.split("-", 1))
    first = dt.date(year, month, 1)
    after = dt.date(year + month // 12, month % 12 + 1, 1)
    return first, after - dt.timedelta(days=1)


@dataclass(frozen=True)
class VisitFacts:
    """One visit of the period as the figures need it: plain values, no names."""

    date: dt.date
    stop_id: str
    street: str
    """The stop's street code."""
    called_off: bool
    recorded: bool = False
    """The crew sent a record of it."""
    served: Mapping[str, int] = field(default_factory=dict)
    """Bookings served, by service code."""
    walk_ins: Mapping[str, int] = field(default_factory=dict)
    """Walk-ins served, by service code."""
    no_show: int = 0
    turned_away: int = 0
    lead_days: Sequence[float] = ()
    """Of each booking with an outcome: days from booking to the visit's start."""
    trips: Sequence[float] = ()
    """Of each served taxpayer whose registered location is known (a served booking, a walk-in
    named by a credit code): their round trip to the hall, minutes."""
    estimated: int = 0
    """Served taxpayers whose location is not known (walk-ins): each counts `stop_trip`."""
    stop_trip: float = 0.0
    """The stop's own round trip to the hall, minutes."""

    @property
    def served_booked(self) -> int:
        return sum(self.served.values())

    @property
    def served_walk_in(self) -> int:
        return sum(self.walk_ins.values())


@dataclass(frozen=True)
class PeriodFigures:
    """One period's figures (or the total of several, labelled `total`)."""

    label: str
    visits_held: int = 0
    visits_called_off: int = 0
    visits_recorded: int = 0
    served_booked: int = 0
    served_walk_in: int = 0
    no_show: int = 0
    turned_away: int = 0
    lead_days_median: float | None = None
    lead_days_mean: float | None = None
    minutes_saved: float = 0.0
    trips_estimated: int = 0
    """Trips of `minutes_saved` taken as the stop's own round trip (walk-ins)."""
    by_street: Mapping[str, int] = field(default_factory=dict)
    """Taxpayers served (booked and walk-in) by street code."""
    by_service: Mapping[str, int] = field(default_factory=dict)
    """Taxpayers served (booked and walk-in) by service code."""

    @property
    def served(self) -> int:
        return self.served_booked + self.served_walk_in

    @property
    def no_show_rate(self) -> float | None:
        """No-shows among bookings with an outcome; None without any."""
        seen = self.served_booked + self.no_show
        return self.no_show / seen if seen else None

    @property
    def hours_saved(self) -> float:
        return self.minutes_saved / 60


def figures(label: str, visits: Iterable[VisitFacts]) -> PeriodFigures:
    """The figures of these visits, under `label`. A called-off visit counts only as called
    off (it takes no records)."""
    held = called_off = recorded = booked = walk_in = no_show = turned = estimated = 0
    minutes = 0.0
    leads: list[float] = []
    streets: Counter[str] = Counter()
    services: Counter[str] = Counter()
    for v in visits:
        if v.called_off:
            called_off += 1
            continue
        held += 1
        recorded += v.recorded
        booked += v.served_booked
        walk_in += v.served_walk_in
        no_show += v.no_show
        turned += v.turned_away
        leads.extend(v.lead_days)
        minutes += sum(v.trips) + v.estimated * v.stop_trip
        estimated += v.estimated
        streets[v.street] += v.served_booked + v.served_walk_in
        services.update(v.served)
        services.update(v.walk_ins)
    return PeriodFigures(
        label=label,
        visits_held=held,
        visits_called_off=called_off,
        visits_recorded=recorded,
        served_booked=booked,
        served_walk_in=walk_in,
        no_show=no_show,
        turned_away=turned,
        lead_days_median=pystats.median(leads) if leads else None,
        lead_days_mean=pystats.fmean(leads) if leads else None,
        minutes_saved=minutes,
        trips_estimated=estimated,
        by_street={k: n for k, n in sorted(streets.items()) if n},
        by_service={k: n for k, n in sorted(services.items()) if n},
    )


def by_period(
    visits: Iterable[VisitFacts], period: Period, first: dt.date, last: dt.date
) -> list[PeriodFigures]:
    """The figures of each period from `first` to `last` (visits outside left out), in order;
    a period without visits has zeros."""
    grouped: dict[str, list[VisitFacts]] = {p: [] for p in periods_between(first, last, period)}
    for v in visits:
        if first <= v.date <= last:
            grouped[period_of(v.date, period)].append(v)
    return [figures(label, rows) for label, rows in grouped.items()]


def coverage_by_period(weeks: Mapping[str, float], period: Period) -> list[tuple[str, float]]:
    """Coverage (a share per ISO week label, as the published weeks' reports hold it) per
    period: a week's own share, or a month's mean over its weeks (a week belongs to the month
    of its Thursday, as ISO weeks belong to years)."""
    if period is Period.WEEK:
        return sorted(weeks.items())
    months: dict[str, list[float]] = {}
    for label, share in weeks.items():
        thursday = dt.date.fromisoformat(f"{label}-4") if "-W" in label else None
        if thursday is None:
            continue
        months.setdefault(period_of(thursday, Period.MONTH), []).append(share)
    return [(m, pystats.fmean(s)) for m, s in sorted(months.items())]
