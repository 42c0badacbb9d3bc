"""Console pages for disruptions: choose a day or a visit and a reason, see what will happen (every
booking that moves, where to, and those cancelled), confirm; see what happened.

The work is `web.operations.disruptions.disrupt`: the preview runs it and rolls back, the
confirmation runs it again and commits, so the preview shows exactly what the confirmation does
(its fingerprint travels with the confirmation; if bookings changed in between, nothing is
saved and the new preview is shown).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from web.clock import china_now
from web.db.models import District, VisitRow
from web.db.queries import active_bookings_per_visit, district_visit, district_visits_between
from web.operations.disruptions import (
    Disruption,
    DisruptionChanged,
    DisruptionError,
    Scope,
    disrupt,
)
from web.views.dispatch.blueprint import bp, district_or_404, people_of, signed_in_user
from web.views.dispatch.days import van_names
from web.views.dispatch.forms import DisruptionForm

FIELD_MESSAGES = {
    "date": lambda: _("No upcoming visit of this district matches: nothing to call off."),
    "reason": lambda: _("Choose a reason."),
    "note": lambda: _("Say what the other reason is (at most 200 characters)."),
}


def _upcoming(district: District) -> list[tuple[dt.date, list[VisitRow]]]:
    """The district's visits from today on that are not called off, by day."""
    today = china_now().date()
    visits = district_visits_between(district, today, today + dt.timedelta(days=21))
    days: dict[dt.date, list[VisitRow]] = {}
    for v in visits:
        days.setdefault(v.date, []).append(v)
    return list(days.items())


def _scope(form: DisruptionForm) -> Scope | None:
    """The scope the form names, or None when it names neither a day nor a visit."""
    if form.visit.data:
        return Scope(visit_id=form.visit.data)
    try:
        date = dt.date.fromisoformat(form.date.data or "")
    except ValueError:
        return None
    return Scope(date=date, van_id=form.van.data or None)


def _page(district: District, form: DisruptionForm, status: int = 200, **kw: Any) -> Any:
    visit = district_visit(district, form.visit.data) if form.visit.data else None
    days = _upcoming(district)
    ids = [v.id for _day, visits in days for v in visits]
    if visit is not None:
        ids.append(visit.id)
    booked = active_bookings_per_visit(ids)
    return (
        render_template(
            "dispatch/disruptions.html",
            district=district,
            form=form,
            days=days,
            booked=booked,
            day_booked={
                day.isoformat(): sum(booked.get(v.id, 0) for v in visits if not v.cancelled_at)
                for day, visits in days
            },
            vans=van_names(district),
            chosen_visit=visit,
            people=people_of(district),
            **kw,
        ),
        status,
    )


def _run(
    district: District, form: DisruptionForm, dry_run: bool, expect: str | None = None
) -> Disruption | Any:
    """The disruption (previewed or applied), or the page/redirect saying what is wrong.
    Applied with `expect` (the preview's fingerprint), it is refused if it would do anything
    else than the preview showed: the page then shows the new preview."""
    scope = _scope(form)
    if scope is None:
        flash(_("Choose a day or a visit to call off."), "error")
        return redirect(url_for("dispatch.disruptions", code=district.code))
    if not form.validate():
        return _page(district, form, 422)
    user = signed_in_user()
    try:
        return disrupt(
            district,
            scope,
            form.reason.data or "",
            form.note.data,
            actor=user.name,
            user=user,
            dry_run=dry_run,
            expect=expect,
        )
    except DisruptionChanged:
        again = _run(district, form, dry_run=True)
        if not isinstance(again, Disruption):
            return again
        changed = _(
            "Bookings changed since the preview: nothing was saved. Check the new preview "
            "and confirm again."
        )
        return _page(district, form, 409, preview=again, confirm=form, changed=changed)
    except DisruptionError as exc:
        form[exc.field].errors = [*form[exc.field].errors, FIELD_MESSAGES[exc.field]()]
        return _page(district, form, 422)


@bp.route("/districts/<code>/disruptions", methods=["GET", "POST"])
def disruptions(code: str) -> Any:
    """GET: the form (`?date=` or `?visit=` fills it). POST: the preview, nothing saved."""
    district = district_or_404(code)
    if request.method == "GET":
        form = DisruptionForm(formdata=None)
        form.date.data = request.args.get("date", "")
        form.van.data = request.args.get("van", "")
        visit = request.args.get("visit", "")
        form.visit.data = int(visit) if visit.isdigit() and len(visit) < 10 else None
        return _page(district, form)
    form = DisruptionForm()
    result = _run(district, form, dry_run=True)
    if not isinstance(result, Disruption):
        return result
    return _page(district, form, preview=result, confirm=form)


@bp.post("/districts/<code>/disruptions/confirm")
def disruptions_confirm(code: str) -> Any:
    """Apply the previewed disruption (one transaction) and show what was done."""
    district = district_or_404(code)
    form = DisruptionForm()
    result = _run(district, form, dry_run=False, expect=request.form.get("expect", ""))
    if not isinstance(result, Disruption):
        return result
    return _page(district, DisruptionForm(formdata=None), done=result)
