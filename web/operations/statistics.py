"""The bureau's figures for a district (or all of them), per ISO week or month: the rows the
database holds turned into `taxvan.statistics` facts, counted there.

* Visits: those of the current timetable up to today (a called-off visit counts as called off;
  every other visit whose day has come as held, whether or not the crew recorded it).
* Travel time saved: a served booking's taxpayer's round trip from their registered location
  to the hall, by the planner's travel-time model (`web.adapters.travel`); a walk-in named by a
  credit code found in the registry likewise; any other walk-in (or a taxpayer no longer in the
  registry) counts the stop's own round trip, and the page says how many were estimated so.
* Coverage over time: read from each published week's report (the plan's share of remote
  taxpayers within the first coverage trip length of a stop visited that week), not computed
  again: it is the coverage of the week as published, before any call-off.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app

from taxvan.statistics import (
    Period,
    PeriodFigures,
    VisitFacts,
    by_period,
    coverage_by_period,
    figures,
    period_of,
)
from web.adapters.travel import registry_round_trips, round_trips
from web.clock import china_now
from web.db.figures import VisitRowFacts, street_names, visits_with_records, weekly_reports
from web.db.models import District
from web.db.store import all_districts, district_services

PUBLIC_MONTHS = 12
"""Months the public page shows, the current one included."""


@dataclass(frozen=True)
class DistrictFigures:
    """A district's figures of a range, per period and in total, with what the page needs to
    name the codes."""

    district: District
    period: Period
    first: dt.date
    last: dt.date
    periods: list[PeriodFigures]
    total: PeriodFigures
    coverage: list[tuple[str, float]]
    coverage_minutes: int | None
    streets: Mapping[str, tuple[str, str]]
    """Street code -> (Chinese name, English name)."""
    services: Mapping[str, tuple[str, str]]


def _lead_days(v: VisitRowFacts, booked_at: dt.datetime) -> float:
    start = dt.datetime.combine(v.date, dt.time()) + dt.timedelta(minutes=v.start)
    return max(0.0, (start - booked_at.replace(tzinfo=None)).total_seconds() / 86400)


def _facts(v: VisitRowFacts, registry: Mapping[str, float], stop_trip: float) -> VisitFacts:
    served: dict[str, int] = {}
    walk_ins: dict[str, int] = {}
    trips: list[float] = []
    estimated = no_show = 0
    for o in v.outcomes:
        if o.outcome != "served":
            no_show += 1
            continue
        served[o.service] = served.get(o.service, 0) + 1
        if (trip := registry.get(o.taxpayer_id.upper())) is not None:
            trips.append(trip)
        else:
            estimated += 1
    for service, count, code in v.walk_ins:
        walk_ins[service] = walk_ins.get(service, 0) + count
        if code and (trip := registry.get(code.upper())) is not None:
            trips.append(trip)
        else:
            estimated += count
    return VisitFacts(
        date=v.date,
        stop_id=v.stop_id,
        street=v.street,
        called_off=v.called_off,
        recorded=v.recorded,
        served=served,
        walk_ins=walk_ins,
        no_show=no_show,
        turned_away=v.turned_away,
        lead_days=tuple(_lead_days(v, o.booked_at) for o in v.outcomes),
        trips=tuple(trips),
        estimated=estimated,
        stop_trip=stop_trip,
    )


def _hall(district: District) -> tuple[float, float]:
    return (float(district.hall["lat"]), float(district.hall["lon"]))


def visit_facts(district: District, first: dt.date, last: dt.date) -> list[VisitFacts]:
    """The facts of the district's visits from `first` to `last` (never past today)."""
    last = min(last, china_now().date())
    if last < first:
        return []
    rows = visits_with_records(district, first, last)
    config = current_app.config["TAXVAN"]
    registry: Mapping[str, float] = {}
    if any(v.outcomes or any(c for _, _, c in v.walk_ins) for v in rows):
        registry = registry_round_trips(config, Path(district.data_dir), _hall(district))
    stops = sorted({(v.stop_id, v.stop_point) for v in rows if v.recorded})
    stop_trips = dict(
        zip(
            [s for s, _ in stops],
            round_trips(config, [p for _, p in stops], _hall(district)),
            strict=True,
        )
    )
    return [_facts(v, registry, stop_trips.get(v.stop_id, 0.0)) for v in rows]


def _coverage(
    district: District, period: Period, first: dt.date, last: dt.date
) -> tuple[list[tuple[str, float]], int | None]:
    reports = weekly_reports(district, period_of(first, Period.WEEK), period_of(last, Period.WEEK))
    shares: dict[str, float] = {}
    minutes: int | None = None
    for week, report in sorted(reports.items()):
        cov: dict[str, Any] = (report or {}).get("coverage") or {}
        if not cov.get("minutes") or not cov.get("remote_taxpayers"):
            continue
        minutes = int(cov["minutes"][0])
        shares[week] = float(cov["this_week"]["share"][str(minutes)])
    return coverage_by_period(shares, period), minutes


def district_figures(
    district: District, period: Period, first: dt.date, last: dt.date
) -> DistrictFigures:
    """The district's figures from `first` to `last` per `period`, and in total."""
    return _figures_of(district, visit_facts(district, first, last), period, first, last)


def _figures_of(
    district: District, facts: list[VisitFacts], period: Period, first: dt.date, last: dt.date
) -> DistrictFigures:
    coverage, minutes = _coverage(district, period, first, last)
    return DistrictFigures(
        district=district,
        period=period,
        first=first,
        last=last,
        periods=by_period(facts, period, first, last),
        total=figures("total", facts),
        coverage=coverage,
        coverage_minutes=minutes,
        streets=street_names(district),
        services={s.code: (s.name_zh, s.name_en) for s in district_services(district.id)},
    )


@dataclass(frozen=True)
class AllFigures:
    """Every district's figures and their sum, per period and in total."""

    districts: list[DistrictFigures]
    periods: list[PeriodFigures]
    total: PeriodFigures


def every_district(period: Period, first: dt.date, last: dt.date) -> AllFigures:
    """Each district's figures, by code, and all of them together (the admin's page)."""
    each, facts = [], []
    for d in all_districts():
        mine = visit_facts(d, first, last)
        facts.extend(mine)
        each.append(_figures_of(d, mine, period, first, last))
    return AllFigures(
        districts=each,
        periods=by_period(facts, period, first, last),
        total=figures("total", facts),
    )


def public_months(district: District, today: dt.date | None = None) -> list[PeriodFigures]:
    """The district's monthly totals of the last `PUBLIC_MONTHS` months, newest first: counts
    only (the public page shows no name, ID, phone or code)."""
    today = today or china_now().date()
    months = (today.year * 12 + today.month - 1) - (PUBLIC_MONTHS - 1)
    first = dt.date(months // 12, months % 12 + 1, 1)
    facts = visit_facts(district, first, today)
    return list(reversed(by_period(facts, Period.MONTH, first, today)))
