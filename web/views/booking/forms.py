"""Booking forms (Flask-WTF: CSRF-protected, each field's error in the page's language)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectField, StringField
from wtforms.validators import DataRequired, Length, ValidationError

from taxvan.booking import normalise_mobile, taxpayer_id_problem
from web.views.inputs import line_problem


def _taxpayer_id(form: FlaskForm, field: StringField) -> None:
    value = (field.data or "").strip().upper().replace(" ", "")
    field.data = value
    if taxpayer_id_problem(value):
        raise ValidationError(
            _l("Enter a valid 18-character unified social credit code or resident ID number.")
        )


def _one_line(form: FlaskForm, field: StringField) -> None:
    """A name is one line of printable text: no control characters that would garble the
    crew's day sheet (NUL is already refused for every field before the form is read)."""
    if line_problem(field.data or ""):
        raise ValidationError(_l("Use letters, digits and punctuation only."))


def _mobile(form: FlaskForm, field: StringField) -> None:
    try:
        field.data = normalise_mobile(field.data or "")
    except ValueError:
        raise ValidationError(_l("Enter an 11-digit mainland mobile number.")) from None


class BookingForm(FlaskForm):
    service = SelectField(_l("Service"), validators=[DataRequired(_l("Choose a service."))])
    start = RadioField(
        _l("Time"), validators=[DataRequired(_l("Choose a time."))], validate_choice=False
    )
    taxpayer_id = StringField(
        _l("Taxpayer ID (unified social credit code or ID number)"),
        validators=[DataRequired(_l("Enter the taxpayer ID.")), _taxpayer_id],
    )
    name = StringField(
        _l("Name"),
        validators=[
            DataRequired(_l("Enter your name.")),
            Length(max=100, message=_l("At most 100 characters.")),
            _one_line,
        ],
    )
    phone = StringField(
        _l("Mobile phone"),
        validators=[DataRequired(_l("Enter your mobile phone number.")), _mobile],
    )


class LookupForm(FlaskForm):
    code = StringField(
        _l("Booking code"),
        validators=[
            DataRequired(_l("Enter the booking code.")),
            Length(min=6, max=12, message=_l("Check the code.")),
        ],
    )
    phone = StringField(
        _l("Mobile phone"),
        validators=[DataRequired(_l("Enter your mobile phone number.")), _mobile],
    )


class ManageForm(FlaskForm):
    code = HiddenField()
    phone = HiddenField()


class CancelForm(ManageForm):
    confirm = HiddenField()
    """"yes" from the question's own form: without it a cancel only asks first."""


class RescheduleForm(ManageForm):
    target = RadioField(
        _l("New time"), validators=[DataRequired(_l("Choose a new time."))], validate_choice=False
    )
