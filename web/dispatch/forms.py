"""Console forms (Flask-WTF: every one carries a CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length


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
