"""Console forms (Flask-WTF: every one carries a CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TimeField,
    ValidationError,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from taxvan.errors import TaxvanError
from web.views.inputs import WholeNumberField


class SignInForm(FlaskForm):
    name = StringField(
        _l("User name"),
        validators=[DataRequired(_l("Enter your user name.")), Length(max=60)],
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(_l("Enter your password.")), Length(max=200)],
    )


def _new_password() -> PasswordField:
    return PasswordField(
        _l("New password"),
        validators=[DataRequired(_l("Enter the new password.")), Length(max=200)],
    )


def _repeat_password() -> PasswordField:
    return PasswordField(
        _l("New password again"),
        validators=[DataRequired(_l("Enter the new password again.")), Length(max=200)],
    )


class ChangePasswordForm(FlaskForm):
    """A user's own new password: the current one, then the new one twice."""

    current = PasswordField(
        _l("Current password"),
        validators=[DataRequired(_l("Enter your current password.")), Length(max=200)],
    )
    new = _new_password()
    repeat = _repeat_password()


class ResetPasswordForm(FlaskForm):
    """An administrator's reset: the new password twice."""

    new = _new_password()
    repeat = _repeat_password()


class SignOutForm(FlaskForm):
    """Only the CSRF token: signing out is a POST, so another site cannot sign a user out."""


class DisruptionForm(FlaskForm):
    """Call off a day (one van or all) or one visit, with the reason.

    The same fields are posted twice: to preview (nothing saved) and, from the preview's
    hidden copy, to confirm."""

    date = StringField(_l("Date"), validators=[Optional(), Length(max=10)])
    van = StringField(_l("Van"), validators=[Optional(), Length(max=20)])
    visit = WholeNumberField(_l("Visit"), validators=[Optional(), NumberRange(1, 2**31 - 1)])
    reason = RadioField(
        _l("Reason"),
        choices=[
            SelectChoice("out_of_service", _l("The van is out of service")),
            SelectChoice("weather", _l("Weather")),
            SelectChoice("road_closed", _l("Road closed")),
            SelectChoice("other", _l("Other (say what)")),
        ],
        validators=[DataRequired(_l("Choose a reason."))],
    )
    note = StringField(_l("Details"), validators=[Optional(), Length(max=200)])


WEEKDAY_CHOICES = [
    SelectChoice(str(d), label)
    for d, label in enumerate((_l("Mon"), _l("Tue"), _l("Wed"), _l("Thu"), _l("Fri"), _l("Sat")))
]


class PlanForm(FlaskForm):
    """Plan a week of the district in the background (`web.jobs`)."""

    week = StringField(
        _l("Week (ISO, e.g. 2026-W49)"),
        validators=[DataRequired(_l("Enter the week to plan.")), Length(max=10)],
    )
    time_limit = WholeNumberField(
        _l("Search time (seconds)"),
        validators=[
            InputRequired(_l("Enter how long the search may take.")),
            NumberRange(1, 1800, _l("Between %(min)s and %(max)s seconds.")),
        ],
    )
    vans = WholeNumberField(
        _l("Vans"),
        validators=[InputRequired(_l("Enter how many vans go out.")), NumberRange(min=1)],
    )
    weekdays = SelectMultipleField(
        _l("Working days"),
        choices=WEEKDAY_CHOICES,
        coerce=int,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validators=[DataRequired(_l("Choose at least one working day."))],
    )
    new_template = BooleanField(_l("Plan a new weekly template (times may change)"))
    adjusted = BooleanField(_l("Plan with the district's adjustments"))

    def validate_week(self, field: StringField) -> None:
        from taxvan.workdays import parse_iso_week

        try:
            field.data = parse_iso_week((field.data or "").strip()).label
        except (ValueError, TaxvanError):
            raise ValidationError(_l("Write the week as 2026-W49.")) from None


class JobActionForm(FlaskForm):
    """Only the CSRF token: cancel and retry are POSTs."""


ALL_WEEKDAY_CHOICES = [*WEEKDAY_CHOICES, SelectChoice("6", _l("Sun"))]


class AdjustmentForm(FlaskForm):
    """One adjustment of the district's plans (`web.operations.adjustments`). Each kind shows
    its own fields (`web.operations.adjustments.FIELDS`) in a form of its own, under a prefix
    (`pin-stop`), so
    that the page's five forms keep their ids apart; the view checks the fields of the kind
    and `adjustment_problems` the rest."""

    stop = SelectField(_l("Stop"), choices=[], validators=[Optional()])
    weekday = SelectField(
        _l("Day"), choices=ALL_WEEKDAY_CHOICES, coerce=int, validators=[Optional()]
    )
    start = TimeField(_l("Time (optional)"), validators=[Optional()])
    tolerance = SelectField(
        _l("Tolerance"),
        choices=[
            SelectChoice("0", _l("exactly")),
            SelectChoice("15", _l("±%(minutes)d min", minutes=15)),
            SelectChoice("30", _l("±%(minutes)d min", minutes=30)),
            SelectChoice("45", _l("±%(minutes)d min", minutes=45)),
            SelectChoice("60", _l("±%(minutes)d min", minutes=60)),
        ],
        coerce=int,
        default=0,
        validators=[Optional()],
    )
    value = WholeNumberField(_l("Number"), validators=[Optional(), NumberRange(0, 24 * 60)])


class RemoveAdjustmentForm(FlaskForm):
    """Remove one adjustment (its id in a hidden field)."""

    adjustment = WholeNumberField(validators=[InputRequired(), NumberRange(1, 2**31 - 1)])
