"""Console forms (Flask-WTF: every one carries a CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, PasswordField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional


class SignInForm(FlaskForm):
    name = StringField(
        _l("User name"),
        validators=[DataRequired(_l("Enter your user name.")), Length(max=60)],
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(_l("Enter your password.")), Length(max=200)],
    )


class SignOutForm(FlaskForm):
    """Only the CSRF token: signing out is a POST, so another site cannot sign a user out."""


class DisruptionForm(FlaskForm):
    """Call off a day (one van or all) or one visit, with the reason.

    The same fields are posted twice: to preview (nothing saved) and, from the preview's
    hidden copy, to confirm."""

    date = StringField(_l("Date"), validators=[Optional(), Length(max=10)])
    van = StringField(_l("Van"), validators=[Optional(), Length(max=20)])
    visit = IntegerField(_l("Visit"), validators=[Optional(), NumberRange(1, 2**31 - 1)])
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
