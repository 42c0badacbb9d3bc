"""The bureau's figures in the console: a district's (its dispatcher and the admins; not the
crew), every district's (the admins), per ISO week or month over a range, each chart with a
table of the same numbers, and a month's workbook for the open-government report."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from flask import render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup

from taxvan.statistics import Period, PeriodFigures, month_bounds, period_of, periods_between
from web.adapters.spreadsheets import xlsx_bytes
from web.clock import china_now
from web.operations.statistics import DistrictFigures, district_figures, every_district
from web.views.dispatch.blueprint import admin_only, bp, district_or_404
from web.views.dispatch.stat_charts import Series, bar_chart
from web.views.downloads import XLSX, download

SPAN = 12
"""Periods shown when the range is not chosen: the last 12 weeks or months, today's included."""
LONGEST = dt.timedelta(days=3 * 366)
"""The longest range one page counts."""


def _zh() -> bool:
    return str(get_locale()).startswith("zh")


def _default_first(period: Period, today: dt.date) -> dt.date:
    if period is Period.WEEK:
        return today - dt.timedelta(days=today.weekday() + 7 * (SPAN - 1))
    months = today.year * 12 + today.month - 1 - (SPAN - 1)
    return dt.date(months // 12, months % 12 + 1, 1)


def _date(name: str) -> dt.date | None:
    text = (request.args.get(name) or "").strip()
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def choice() -> tuple[Period, dt.date, dt.date, str | None]:
    """The period and range the query asks for (defaults where it asks nothing or nonsense),
    and what was wrong with it, if anything."""
    today = china_now().date()
    period = Period.MONTH if request.args.get("by") == "month" else Period.WEEK
    first, last = _date("from"), _date("to")
    problem = None
    bad = any(request.args.get(n) and d is None for n, d in (("from", first), ("to", last)))
    if bad or (first and last and (last < first or last - first > LONGEST)):
        problem = _(
            "The range was not understood (from a date to a later one, at most three years): "
            "the default is shown."
        )
        first = last = None
    last = last or today
    first = first or _default_first(period, last)
    return period, first, last, problem


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.1f} %"


def _days(v: float | None) -> str:
    return "–" if v is None else f"{v:.1f}"


def _hours(v: float) -> str:
    return f"{v:,.0f}"


def _name(names: dict[str, tuple[str, str]] | Any, code: str) -> str:
    pair = names.get(code)
    return code if pair is None else (pair[0] if _zh() else pair[1] or pair[0])


def charts(
    periods: Sequence[PeriodFigures], coverage: Sequence[tuple[str, float]]
) -> dict[str, Markup]:
    """The page's charts: taxpayers served, travel time saved, visits, coverage."""
    labels = [p.label for p in periods]
    out = {
        "served": bar_chart(
            "served",
            labels,
            [
                Series(_("booked"), [p.served_booked for p in periods]),
                Series(_("walk-in"), [p.served_walk_in for p in periods]),
            ],
            title=_("Taxpayers served"),
            desc=_(
                "Taxpayers served per period, booked and walk-in stacked; "
                "the table below gives the numbers."
            ),
        ),
        "saved": bar_chart(
            "saved",
            labels,
            [Series(_("hours"), [p.hours_saved for p in periods])],
            title=_("Travel time saved (hours)"),
            desc=_(
                "Hours of round trips to the service hall not made, per period; "
                "the table below gives the numbers."
            ),
        ),
        "visits": bar_chart(
            "visits",
            labels,
            [
                Series(_("held"), [p.visits_held for p in periods]),
                Series(_("called off"), [p.visits_called_off for p in periods]),
            ],
            title=_("Visits held and called off"),
            desc=_(
                "Visits held and called off per period, stacked; the table below gives the numbers."
            ),
        ),
    }
    if coverage:
        out["coverage"] = bar_chart(
            "coverage",
            [c[0] for c in coverage],
            [Series(_("coverage"), [c[1] for c in coverage])],
            title=_("Coverage of remote taxpayers"),
            desc=_(
                "Share of remote taxpayers near a visited stop, per period; "
                "the table below gives the numbers."
            ),
            fmt=lambda v: f"{100 * v:.0f} %",
            top=1.0,
        )
    return out


Table = tuple[list[str], list[list[Any]]]


def tables(periods: Sequence[PeriodFigures], total: PeriodFigures) -> dict[str, Table]:
    """The numbers of each chart (`charts`), one row per period and the total last."""
    rows = [*periods, total]

    def label(p: PeriodFigures) -> str:
        return _("Total") if p is total else p.label

    return {
        "served": (
            [_("Period"), _("booked"), _("walk-in"), _("Total")],
            [[label(p), p.served_booked, p.served_walk_in, p.served] for p in rows],
        ),
        "saved": (
            [_("Period"), _("hours"), _("Trips estimated from the stop")],
            [[label(p), _hours(p.hours_saved), p.trips_estimated] for p in rows],
        ),
        "visits": (
            [_("Period"), _("held"), _("called off"), _("recorded by the crew")],
            [[label(p), p.visits_held, p.visits_called_off, p.visits_recorded] for p in rows],
        ),
    }


def _helpers() -> dict[str, Any]:
    return {"pct": _pct, "days": _days, "hours": _hours, "code_name": _name}


@bp.get("/districts/<code>/statistics")
def statistics(code: str) -> Any:
    """The district's figures per week or month over a range."""
    district = district_or_404(code)
    period, first, last, problem = choice()
    f = district_figures(district, period, first, last)
    months = periods_between(first, min(last, china_now().date()), Period.MONTH)
    return render_template(
        "dispatch/statistics.html",
        district=district,
        f=f,
        period=period,
        first=first,
        last=last,
        problem=problem,
        charts=charts(f.periods, f.coverage),
        tables=tables(f.periods, f.total),
        months=months,
        **_helpers(),
    )


@bp.get("/statistics")
@admin_only
def statistics_all() -> Any:
    """Every district's figures, and all of them together."""
    period, first, last, problem = choice()
    every = every_district(period, first, last)
    return render_template(
        "dispatch/statistics_all.html",
        every=every,
        period=period,
        first=first,
        last=last,
        problem=problem,
        charts=charts(every.periods, []),
        tables=tables(every.periods, every.total),
        **_helpers(),
    )


def _summary_header() -> list[str]:
    return [
        _("Period"),
        _("Visits held"),
        _("Visits called off"),
        _("Visits recorded"),
        _("Served, booked"),
        _("Served, walk-in"),
        _("Served, total"),
        _("No-shows"),
        _("No-show rate"),
        _("Turned away"),
        _("Booking lead time, median (days)"),
        _("Travel time saved (hours)"),
        _("Trips estimated from the stop"),
    ]


def _summary_row(p: PeriodFigures, label: str) -> list[Any]:
    return [
        label,
        p.visits_held,
        p.visits_called_off,
        p.visits_recorded,
        p.served_booked,
        p.served_walk_in,
        p.served,
        p.no_show,
        None if p.no_show_rate is None else round(p.no_show_rate, 4),
        p.turned_away,
        None if p.lead_days_median is None else round(p.lead_days_median, 1),
        round(p.hours_saved, 1),
        p.trips_estimated,
    ]


def workbook(f: DistrictFigures, month: str) -> bytes:
    """The month's figures: a summary (each ISO week of the month and the month), taxpayers
    served by street and by service. Counts only; every text cell typed as text."""
    weeks = [w for w in f.periods]
    summary = [_summary_row(w, w.label) for w in weeks] + [_summary_row(f.total, month)]
    streets = [[c, _name(f.streets, c), n] for c, n in f.total.by_street.items()]
    services = [[c, _name(f.services, c), n] for c, n in f.total.by_service.items()]
    return xlsx_bytes(
        [
            (_("Summary"), _summary_header(), summary),
            (_("Streets"), [_("Code"), _("Street"), _("Taxpayers served")], streets),
            (_("Services"), [_("Code"), _("Service"), _("Taxpayers served")], services),
        ]
    )


@bp.get("/districts/<code>/statistics/<month>.xlsx")
def statistics_xlsx(code: str, month: str) -> Any:
    """A month's figures as an Excel workbook (weeks of the month, streets, services)."""
    from flask import abort

    district = district_or_404(code)
    try:
        first, last = month_bounds(month)
    except ValueError:
        abort(404)
    label = period_of(first, Period.MONTH)  # the name is the app's own text, not the URL's
    f = district_figures(district, Period.WEEK, first, last)
    name = f"statistics-{district.code}-{label}.xlsx"
    return download(workbook(f, label), name, XLSX)
