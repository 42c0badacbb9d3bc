"""A district's adjustments to its plans, kept in the database (`AdjustmentRow`).

The planner takes adjustments as plain data (`taxvan.adjustments.Adjustments`); this module
turns the district's rows into that value, and adds a row only when the whole set, the new
one included, still holds for the district's data (`adjustment_problems`), so the console
can point at the field each problem is about and save nothing.

They are kept per district, not per week: local knowledge (the market is on Tuesdays, the
square is closed for works) holds for every week planned with them until removed. A plan job
copies them into its options when it starts (`Adjustments.as_dict`), so the job's worker gets
them and the draft records exactly the set it was made with.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from taxvan.adjustments import AdjustmentProblem, Adjustments, Pin, PinError, adjustment_problems
from taxvan.clock import hhmm
from taxvan.dataset import Dataset
from taxvan.io.loaders import load_dataset
from web.db import audit
from web.db.models import ADJUSTMENT_KINDS, AdjustmentRow, District, StopRow, User
from web.extensions import db
from web.operations.drafts import WEEKDAYS_EN
from web.operations.unit import transaction

FIELDS = {
    "pin": ("stop", "weekday", "start", "tolerance"),
    "exclude_stop": ("stop",),
    "exclude_day": ("weekday",),
    "visits": ("stop", "value"),
    "dwell": ("stop", "value"),
}
"""The console form's fields of each kind, the first one taking what no other field names."""


def rows_of(district: District) -> list[AdjustmentRow]:
    """The district's adjustment rows, by kind, stop and weekday."""
    rows = db.session.scalars(
        select(AdjustmentRow).where(AdjustmentRow.district_id == district.id)
    ).all()
    order = {k: i for i, k in enumerate(ADJUSTMENT_KINDS)}
    return sorted(
        rows, key=lambda r: (order.get(r.kind, 99), r.stop_id or "", r.weekday or 0, r.id)
    )


def as_adjustments(rows: Iterable[AdjustmentRow]) -> Adjustments:
    """The rows as the planner's value."""
    pins, stops, days = [], set(), set()
    visits: dict[str, int] = {}
    dwell: dict[str, int] = {}
    for r in rows:
        if r.kind == "pin" and r.stop_id is not None and r.weekday is not None:
            pins.append(Pin(r.stop_id, r.weekday, r.start, r.tolerance))
        elif r.kind == "exclude_stop" and r.stop_id is not None:
            stops.add(r.stop_id)
        elif r.kind == "exclude_day" and r.weekday is not None:
            days.add(r.weekday)
        elif r.kind == "visits" and r.stop_id is not None and r.value is not None:
            visits[r.stop_id] = r.value
        elif r.kind == "dwell" and r.stop_id is not None and r.value is not None:
            dwell[r.stop_id] = r.value
    return Adjustments(
        tuple(pins),
        frozenset(stops),
        frozenset(days),
        tuple(sorted(visits.items())),
        tuple(sorted(dwell.items())),
    )


def adjustments_of(district: District) -> Adjustments:
    return as_adjustments(rows_of(district))


def district_dataset(district: District) -> Dataset:
    """The district's data as the planner loads it (raises `TaxvanError` naming bad files)."""
    return load_dataset(Path(district.data_dir), current_app.config["TAXVAN"].file_limits)


@dataclass
class Refused(Exception):
    """The new adjustment cannot hold: `problems` by form field ("" = the whole form)."""

    problems: dict[str, list[str]] = field(default_factory=dict)


def field_of(problem: AdjustmentProblem, kind: str) -> str:
    """The console field a problem of `adjustment_problems` is about, for an adjustment of
    `kind` (the messages say what they concern: the stop, the day, the time or the number)."""
    msg = problem.message.lower()
    fields = FIELDS[kind]
    if "tolerance" in msg and "tolerance" in fields:
        return "tolerance"
    if any(w in msg for w in ("no such stop", "street", "also excluded")) and "stop" in fields:
        return "stop"
    if any(w in msg for w in ("shift", "grid", "time of day")) and "start" in fields:
        return "start"
    if msg.startswith(("visits per week:", "dwell:")) and "value" in fields:
        return "value"
    if ("day" in msg or "weekday" in msg) and "weekday" in fields:
        return "weekday"
    return fields[0]


KIND_NAMES = {
    "pin": _l("Pin"),
    "exclude": _l("Excluded stop"),
    "exclude day": _l("Excluded day"),
    "visits per week": _l("Visits a week"),
    "dwell": _l("Dwell"),
}

PROBLEM_TEXTS = (
    # The templates of `taxvan.adjustments.AdjustmentProblem.of`, listed so that Babel finds
    # them (tests/web/operations/test_adjust.py checks that every one the domain uses is here
    # and translated).
    _l("no such stop in stops.csv"),
    _l("the stop's street {street} is not served by the van (streets.csv served=false)"),
    _l("the stop is also excluded"),
    _l("{day} is not a weekday 0-6"),
    _l("no van works on this weekday anyway"),
    _l("every working weekday is excluded"),
    _l("{count} is not between 1 and the {days} working weekdays (exclude the stop for none)"),
    _l("{minutes} min is not a positive multiple of {grid} min"),
    _l("{minutes} min is longer than a whole shift ({longest} min without lunch)"),
    _l("two pins on one weekday cannot both hold (a stop is visited at most once a day)"),
    _l("{pinned} pinned weekdays but only {visits} visit(s) a week asked for"),
    _l("the van does not run that day (the weekday is excluded)"),
    _l("no van works on this weekday (vans.csv weekdays)"),
    _l("a tolerance of {tolerance} min is not a multiple of {grid} between 0 and {most}"),
    _l("{minutes} is not a time of day in minutes"),
    _l("{time} is not on the {grid}-minute grid published times keep"),
    _l(
        "{time} is outside the shift ({shifts}): the van leaves the hall at the shift's start "
        "and is back by its end"
    ),
    _l("the pinned weekdays cannot all hold"),
)


PIN_REASONS = (
    # The reasons `routes.weekly.pin_error` gives (tests/web/operations/test_adjust.py checks
    # the list).
    _l("no van works on that day in {week}"),
    _l(
        "the stop is {out} min from the hall and {back} min back, with {dwell} min on site, "
        "which does not fit the shift {start}-{end} and its lunch break"
    ),
    _l(
        "leaving the hall at {start}, the van needs {out} min to get there and cannot open by "
        "{latest}"
    ),
    _l(
        "after {dwell} min there from {earliest}, the van cannot be back at the hall ({back} min "
        "away) by {end}"
    ),
    _l(
        "{earliest} to {until} leaves no room for the {lunch}-minute lunch break between "
        "{lunch_from} and {lunch_to}"
    ),
    _l(
        "the pins of that day ({others}) cannot all be kept by one van, with the driving "
        "between them and the lunch break"
    ),
    _l(
        "the solver could not fit it with the other visits of that day ({dwell} min on site); "
        "move the pin or lighten that day"
    ),
)


def pin_error_text(exc: PinError) -> str:
    """A pin the planner cannot hold, and why, in the page's (or the job's) language."""
    pin = exc.pin
    when = _(WEEKDAYS_EN[pin.weekday]) if 0 <= pin.weekday < 7 else str(pin.weekday)
    if pin.start is not None and 0 <= pin.start < 24 * 60:
        when += f" {hhmm(pin.start)}"
        if pin.tolerance:
            when += " " + _("±%(minutes)d min", minutes=pin.tolerance)
    reason = _(exc.template).format(**dict(exc.params)) if exc.template else exc.reason
    return _(
        "Stop %(stop)s pinned to %(when)s cannot be held: %(reason)s",
        stop=f"{pin.stop_id} {exc.stop_name}".strip(),
        when=when,
        reason=reason,
    )


def problem_text(problem: AdjustmentProblem, *, whole: bool = True) -> str:
    """The problem in the page's language: `whole` with the stop, day and kind it concerns
    (a job's error), else only what is wrong (next to the field it concerns)."""
    if not problem.template:
        return str(problem) if whole else _without_kind(problem.message)
    text = _(problem.template).format(**dict(problem.params))
    if not whole:
        return text[:1].upper() + text[1:]
    where = []
    if problem.stop_id:
        where.append(_("stop %(id)s", id=problem.stop_id))
    if problem.weekday is not None and 0 <= problem.weekday < 7:
        where.append(_(WEEKDAYS_EN[problem.weekday]))
    kind = KIND_NAMES.get(problem.kind)
    if kind:
        text = _("%(label)s: %(text)s", label=kind, text=text)
    if where:
        text = _("%(label)s: %(text)s", label=_(", ").join(where), text=text)
    return text


def _without_kind(message: str) -> str:
    """`"pin: 18:00 is outside ..."` -> `"18:00 is outside ..."`: at its field the kind is
    plain already."""
    for lead in ("pin: ", "dwell: ", "visits per week: ", "exclude day: ", "exclude: "):
        if message.startswith(lead):
            return message[len(lead)].upper() + message[len(lead) + 1 :]
    return message


def candidate_row(district: District, kind: str, user: User, **values: Any) -> AdjustmentRow:
    """A new (unsaved) row of `kind` with `values` (stop_id, weekday, start, tolerance,
    value)."""
    from web.clock import wall_now

    if kind not in ADJUSTMENT_KINDS:
        raise ValueError(f"unknown adjustment kind {kind!r}")
    return AdjustmentRow(
        district_id=district.id,
        kind=kind,
        stop_id=values.get("stop_id"),
        weekday=values.get("weekday"),
        start=values.get("start"),
        tolerance=int(values.get("tolerance") or 0),
        value=values.get("value"),
        created_at=wall_now(),
        created_by=user.name,
    )


def _replaces(row: AdjustmentRow, new: AdjustmentRow) -> bool:
    """A stop has one visits-a-week and one dwell value: a new one replaces the old."""
    return new.kind in ("visits", "dwell") and row.kind == new.kind and row.stop_id == new.stop_id


def add(district: District, new: AdjustmentRow, user: User, dataset: Dataset) -> AdjustmentRow:
    """Save `new` if the district's adjustments with it still hold for `dataset`; else raise
    `Refused` with the problems the new row brings, by field, and save nothing. Audited."""
    return transaction(lambda _u: _add(district, new, user, dataset))


def _add(district: District, new: AdjustmentRow, user: User, dataset: Dataset) -> AdjustmentRow:
    rows = rows_of(district)
    kept = [r for r in rows if not _replaces(r, new)]
    before = {str(p) for p in adjustment_problems(as_adjustments(rows), dataset)}
    after = adjustment_problems(as_adjustments([*kept, new]), dataset)
    fresh = [p for p in after if str(p) not in before]
    if fresh:
        out: dict[str, list[str]] = {}
        for p in fresh:
            out.setdefault(field_of(p, new.kind), []).append(problem_text(p, whole=False))
        raise Refused(out)
    for r in rows:
        if r not in kept:
            db.session.delete(r)
    db.session.add(new)
    db.session.flush()
    audit.record(
        "adjustment_add",
        actor=user.name,
        user=user,
        district=district,
        details={"id": new.id, **describe(new)},
    )
    return new


def remove(district: District, row_id: int, user: User) -> AdjustmentRow | None:
    """Remove the district's row `row_id` (None if it has no such row). Audited."""
    return transaction(lambda _u: _remove(district, row_id, user))


def _remove(district: District, row_id: int, user: User) -> AdjustmentRow | None:
    row = db.session.get(AdjustmentRow, row_id)
    if row is None or row.district_id != district.id:
        return None
    audit.record(
        "adjustment_remove",
        actor=user.name,
        user=user,
        district=district,
        details={"id": row.id, **describe(row)},
    )
    db.session.delete(row)
    return row


def describe(row: AdjustmentRow) -> dict[str, Any]:
    """The row as plain values (for the audit log)."""
    out: dict[str, Any] = {"kind": row.kind}
    for name in ("stop_id", "weekday", "start", "value"):
        value = getattr(row, name)
        if value is not None:
            out[name] = value
    if row.tolerance:
        out["tolerance"] = row.tolerance
    return out


def current_problems(district: District, dataset: Dataset) -> list[AdjustmentProblem]:
    """What no longer holds of the saved adjustments (the data changed since they were
    added): shown on the page, and a plan with them fails naming it."""
    return adjustment_problems(adjustments_of(district), dataset)


def stop_names(district: District) -> dict[str, StopRow]:
    """The district's stops by id."""
    rows = db.session.scalars(select(StopRow).where(StopRow.district_id == district.id)).all()
    return {s.id: s for s in rows}


def stop_display_names(district: District) -> dict[str, str]:
    """The district's stops' names by id, for messages that name a stop by its id."""
    rows = db.session.execute(
        select(StopRow.id, StopRow.name).where(StopRow.district_id == district.id)
    ).all()
    return {stop_id: name for stop_id, name in rows}


def stop_choices(district: District) -> dict[str, list[tuple[str, str]]]:
    """The district's stops for a select, grouped by street: {street: [(id, "name (id)")]}."""
    out: dict[str, list[tuple[str, str]]] = {}
    stops = sorted(
        stop_names(district).values(), key=lambda s: (s.street.name if s.street else "", s.name)
    )
    for s in stops:
        street = s.street.name if s.street else s.street_code
        out.setdefault(street, []).append((s.id, f"{s.name} ({s.id})"))
    return out


def items(adj: Adjustments) -> list[dict[str, Any]]:
    """`adj` as the rows the console lists (kind, stop_id, weekday, start, tolerance, value),
    for showing the adjustments a draft was made with."""
    out: list[dict[str, Any]] = [
        {
            "kind": "pin",
            "stop_id": p.stop_id,
            "weekday": p.weekday,
            "start": p.start,
            "tolerance": p.tolerance,
        }
        for p in adj.pins
    ]
    out += [{"kind": "exclude_stop", "stop_id": s} for s in sorted(adj.excluded_stops)]
    out += [{"kind": "exclude_day", "weekday": d} for d in sorted(adj.excluded_weekdays)]
    out += [{"kind": "visits", "stop_id": s, "value": n} for s, n in adj.visits_per_week]
    out += [{"kind": "dwell", "stop_id": s, "value": n} for s, n in adj.dwell]
    return out
