"""The console page of a district's adjustments: pin a stop to a day (and a time), exclude a
stop or a day, change a stop's visits a week or dwell; list them with remove buttons.

A new adjustment is saved only when the district's adjustments with it still hold for the
district's data (`web.operations.adjustments.add`); otherwise each problem is shown at the
field it is about and nothing is saved. Planning with them is the plan form's (and the draft page's)
"with the district's adjustments".
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as WerkzeugResponse

from taxvan.dataset import Dataset
from taxvan.errors import TaxvanError
from web.db.models import ADJUSTMENT_KINDS, District
from web.operations import adjustments
from web.operations.drafts import WEEKDAYS_EN
from web.views.dispatch.blueprint import bp, district_or_404, signed_in_user
from web.views.dispatch.forms import AdjustmentForm, RemoveAdjustmentForm


def _forms(district: District) -> dict[str, AdjustmentForm]:
    """One form per kind, under the kind's prefix, with the district's stops to choose."""
    choices = adjustments.stop_choices(district)
    out = {}
    for kind in ADJUSTMENT_KINDS:
        form = AdjustmentForm(prefix=kind, formdata=None)
        form.stop.choices = choices
        out[kind] = form
    return out


def _page(
    district: District,
    forms: dict[str, AdjustmentForm] | None = None,
    dataset: Dataset | None = None,
    data_error: str | None = None,
) -> str:
    if dataset is None and data_error is None:
        try:
            dataset = adjustments.district_dataset(district)
        except TaxvanError as exc:
            data_error = str(exc)
    problems = adjustments.current_problems(district, dataset) if dataset is not None else []
    return render_template(
        "dispatch/adjustments.html",
        district=district,
        rows=adjustments.rows_of(district),
        forms=forms or _forms(district),
        remove_form=RemoveAdjustmentForm(),
        stops=adjustments.stop_names(district),
        weekday_names=[_(n) for n in WEEKDAYS_EN],
        problems=problems,
        data_error=data_error,
    )


@bp.get("/districts/<code>/adjustments")
def adjustments_page(code: str) -> str:
    """The district's adjustments and the forms to add one."""
    return _page(district_or_404(code))


def _values(kind: str, form: AdjustmentForm) -> dict[str, Any]:
    """The fields of `kind` as row values; a required field left empty gets its error."""
    fields = adjustments.FIELDS[kind]
    values: dict[str, Any] = {}
    if "stop" in fields:
        if not form.stop.data:
            form.stop.errors = [*form.stop.errors, _("Choose a stop.")]
        values["stop_id"] = form.stop.data or None
    if "weekday" in fields:
        if form.weekday.data is None:
            form.weekday.errors = [*form.weekday.errors, _("Choose a day.")]
        values["weekday"] = form.weekday.data
    if "start" in fields:
        t: dt.time | None = form.start.data
        values["start"] = None if t is None else t.hour * 60 + t.minute
        values["tolerance"] = form.tolerance.data or 0 if t is not None else 0
    if "value" in fields:
        if form.value.data is None:
            form.value.errors = [
                *form.value.errors,
                _("Enter the visits a week.") if kind == "visits" else _("Enter the minutes."),
            ]
        values["value"] = form.value.data
    return values


@bp.post("/districts/<code>/adjustments")
def adjustment_add(code: str) -> Any:
    """Add one adjustment (the hidden `kind` says which form was sent); 400 with every
    problem at its field, and nothing saved, when it cannot hold."""
    district = district_or_404(code)
    kind = request.form.get("kind", "")
    forms = _forms(district)
    if kind not in forms:
        flash(_("Choose what to change."), "error")
        return _page(district, forms), 400
    form = AdjustmentForm(prefix=kind)
    form.stop.choices = forms[kind].stop.choices
    forms[kind] = form
    valid = form.validate()
    values = _values(kind, form)
    if not valid or any(getattr(form, f).errors for f in adjustments.FIELDS[kind]):
        return _page(district, forms), 400
    try:
        dataset = adjustments.district_dataset(district)
    except TaxvanError as exc:
        return _page(district, forms, data_error=str(exc)), 400
    user = signed_in_user()
    try:
        row = adjustments.candidate_row(district, kind, user, **values)
        adjustments.add(district, row, user, dataset)
    except adjustments.Refused as refused:
        for name, messages in refused.problems.items():
            field = getattr(form, name)
            field.errors = [*field.errors, *messages]
        return _page(district, forms, dataset), 400
    flash(_("Saved. Plan the week with the district's adjustments to see what changes."), "info")
    return redirect(url_for("dispatch.adjustments_page", code=code) + "#saved")


@bp.post("/districts/<code>/adjustments/remove")
def adjustment_remove(code: str) -> WerkzeugResponse:
    """Remove one of the district's adjustments (its id in the form)."""
    district = district_or_404(code)
    form = RemoveAdjustmentForm()
    if form.validate_on_submit() and form.adjustment.data is not None:
        if adjustments.remove(district, form.adjustment.data, signed_in_user()) is not None:
            flash(_("Adjustment removed."), "info")
        else:
            flash(_("That adjustment is already gone."), "error")
    else:
        flash(_("Nothing was removed: reload the page and try again."), "error")
    return redirect(url_for("dispatch.adjustments_page", code=code) + "#saved")
