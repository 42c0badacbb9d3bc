"""Door-to-door forms (Flask-WTF: CSRF, each field's error in the page's language).

A field that cannot be taken is named with its error (422), and nothing is stored: the
request is saved in one transaction only when every field is good. NUL and broken UTF-8 are
refused for every field before a form is read (`web.views.inputs`, 400 naming the field).
"""

from __future__ import annotations

import datetime as dt
import math
import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from stdnum.cn import uscc
from wtforms import (
    HiddenField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, ValidationError

from taxvan.booking import normalise_mobile
from web.views.inputs import WholeNumberField, line_problem

MAX_PEOPLE = 500
MAX_DATES = 10
DATE_HORIZON_DAYS = 90
"""Preferred dates may lie from tomorrow up to this many days ahead."""


class CheckboxesField(SelectMultipleField):
    """Several choices as checkboxes (one tap each on a phone)."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def _plain_line(form: FlaskForm, field: StringField) -> None:
    """One line of printable text without markup: a firm's name or address goes onto the
    crew's day sheet and the console, and nobody's name needs `<` or `>`."""
    value = (field.data or "").strip()
    field.data = value
    if line_problem(value) or "<" in value or ">" in value:
        raise ValidationError(_l("Use letters, digits and punctuation only (no < or >)."))


def _credit_code(form: FlaskForm, field: StringField) -> None:
    """The unified social credit code with its GB 32100-2015 check character (python-stdnum,
    as the registry's loader and the booking form check it)."""
    value = re.sub(r"[\s-]", "", field.data or "").upper()
    field.data = value
    if len(value) != 18 or not uscc.is_valid(value):
        raise ValidationError(
            _l("Enter the firm's 18-character unified social credit code; check every character.")
        )


def _mobile(form: FlaskForm, field: StringField) -> None:
    try:
        field.data = normalise_mobile(field.data or "")
    except ValueError:
        raise ValidationError(_l("Enter an 11-digit mainland mobile number.")) from None


def _coordinate(low: float, high: float):
    def check(form: FlaskForm, field: StringField) -> None:
        text = (field.data or "").strip()
        field.data = text
        if not text:
            return
        try:
            value = float(text)
        except ValueError:
            raise ValidationError(_l("Enter a number in decimal degrees, e.g. 36.65.")) from None
        if not math.isfinite(value) or not low <= value <= high:
            raise ValidationError(_l("This point is not in China; pick it on the map."))

    return check


def parse_dates(text: str, today: dt.date) -> list[dt.date]:
    """`2026-12-03, 2026-12-05` -> dates; raises ValueError with what is wrong."""
    parts = [p for p in re.split(r"[\s,，;；、]+", text.strip()) if p]
    if len(parts) > MAX_DATES:
        raise ValueError(f"at most {MAX_DATES} dates")
    out = []
    for p in parts:
        try:
            day = dt.date.fromisoformat(p)
        except ValueError:
            raise ValueError(f"'{p[:20]}' is not a date as YYYY-MM-DD") from None
        if not today < day <= today + dt.timedelta(days=DATE_HORIZON_DAYS):
            raise ValueError(f"{day} is not between tomorrow and {DATE_HORIZON_DAYS} days ahead")
        out.append(day)
    return out


class DoorRequestForm(FlaskForm):
    firm_name = StringField(
        _l("Firm name"),
        validators=[
            DataRequired(_l("Enter the firm's name.")),
            Length(max=200, message=_l("At most %(max)d characters.")),
            _plain_line,
        ],
    )
    credit_code = StringField(
        _l("Unified social credit code"),
        validators=[DataRequired(_l("Enter the unified social credit code.")), _credit_code],
    )
    contact_name = StringField(
        _l("Contact person"),
        validators=[
            DataRequired(_l("Enter the contact person's name.")),
            Length(max=100, message=_l("At most %(max)d characters.")),
            _plain_line,
        ],
    )
    mobile = StringField(
        _l("Mobile phone"),
        validators=[DataRequired(_l("Enter your mobile phone number.")), _mobile],
    )
    address = StringField(
        _l("Address"),
        validators=[
            DataRequired(_l("Enter the address the van should come to.")),
            Length(max=300, message=_l("At most %(max)d characters.")),
            _plain_line,
        ],
    )
    lat = StringField(_l("Latitude"), validators=[_coordinate(3.5, 54.0)])
    lon = StringField(_l("Longitude"), validators=[_coordinate(73.0, 135.5)])
    weekdays = CheckboxesField(_l("Preferred weekdays"), coerce=int)
    dates = StringField(
        _l("Preferred dates"),
        validators=[Length(max=200, message=_l("At most %(max)d characters."))],
    )
    services = CheckboxesField(
        _l("Services"), validators=[DataRequired(_l("Choose at least one service."))]
    )
    people = WholeNumberField(
        _l("How many people will come"),
        validators=[
            InputRequired(_l("Enter how many people will come.")),
            NumberRange(min=1, max=MAX_PEOPLE, message=_l("Between 1 and %(max)d.")),
        ],
    )

    def validate_lon(self, field: StringField) -> None:
        if bool(self.lat.data) != bool(field.data) and not self.lat.errors:
            raise ValidationError(
                _l("Give both latitude and longitude, or neither (the bureau will find it).")
            )


class StatusForm(FlaskForm):
    reference = StringField(
        _l("Reference code"),
        validators=[
            DataRequired(_l("Enter the reference code.")),
            Length(min=6, max=12, message=_l("Check the code.")),
        ],
    )
    mobile = StringField(
        _l("Mobile phone"),
        validators=[DataRequired(_l("Enter your mobile phone number.")), _mobile],
    )


class AcceptForm(FlaskForm):
    reference = HiddenField()
    week = HiddenField()
    minutes = HiddenField()
    window_start = HiddenField()
    window_end = HiddenField()
    lat = HiddenField()
    lon = HiddenField()
    option = HiddenField()


class DeclineForm(FlaskForm):
    reference = HiddenField()
    reason = TextAreaField(
        _l("Reason (the firm sees it)"),
        validators=[
            DataRequired(_l("Give the reason.")),
            Length(max=500, message=_l("At most %(max)d characters.")),
        ],
    )
