"""The users page: every console user, and an administrator's operations on them (create a
user with a role and a district, disable and enable, a new password: `web.operations.accounts`).

A password the console generates is shown once, in the answer to the form that created the
user (never in a redirect's flash, which would carry it in the session cookie), on a page no
cache keeps (the console's pages are `no-store`).
"""

from __future__ import annotations

import re
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from web.db.store import all_districts
from web.operations import accounts
from web.operations.districts import DistrictNotFoundError
from web.operations.users import (
    MIN_DISTINCT,
    MIN_PASSWORD,
    ROLES,
    UserError,
    UserExistsError,
    WeakPasswordError,
    all_users,
    find_user,
    name_misleads,
)
from web.views.dispatch.blueprint import admin_only, bp, signed_in_user
from web.views.dispatch.views import _password_messages

NAME = re.compile(r"^\S{1,60}$")


class NewUserForm(FlaskForm):
    """A new console user; an empty password has the console generate one."""

    name = StringField(
        _l("User name"),
        validators=[DataRequired(_l("Enter the user name.")), Length(max=60)],
    )
    role = RadioField(
        _l("Role"),
        choices=[
            SelectChoice("dispatcher", _l("dispatcher (one district)")),
            SelectChoice("crew", _l("van crew (its district's day sheets and records)")),
            SelectChoice("admin", _l("administrator (every district, users)")),
        ],
        default="dispatcher",
        validators=[DataRequired(_l("Choose a role."))],
    )
    district = SelectField(_l("District"), choices=[], validators=[Optional()])
    password = PasswordField(
        _l("Initial password (leave empty to generate one)"),
        validators=[Optional(), Length(max=200)],
    )


class UserActionForm(FlaskForm):
    """Only the CSRF token: disabling and enabling are POSTs."""


def _form(blank: bool = False) -> NewUserForm:
    """The new-user form, from the request or `blank`, with the districts to choose from."""
    form = NewUserForm(formdata=None) if blank else NewUserForm()
    districts = all_districts()
    form.district.choices = [SelectChoice("", _("— none —"))] + [
        SelectChoice(d.code, d.name + _(" (code %(code)s)", code=d.code)) for d in districts
    ]
    if blank:
        # the district the first-run page asked for, else the only one
        asked = request.args.get("district", "")
        codes = [d.code for d in districts]
        form.district.data = asked if asked in codes else codes[0] if len(codes) == 1 else ""
    return form


def _page(form: NewUserForm, status: int = 200, **kw: Any) -> Any:
    return (
        render_template(
            "dispatch/users.html",
            users=all_users(),
            form=form,
            action_form=UserActionForm(),
            min_password=MIN_PASSWORD,
            min_distinct=MIN_DISTINCT,
            **kw,
        ),
        status,
    )


@bp.get("/users")
@admin_only
def users() -> Any:
    return _page(_form(blank=True))


def _field_problems(form: NewUserForm) -> bool:
    """The form's own checks beyond its validators; True when the user may be created."""
    name = (form.name.data or "").strip()
    if name and not NAME.match(name):
        form.name.errors = [
            *form.name.errors,
            _("A user name is 1 to 60 characters without spaces."),
        ]
    elif name and name_misleads(name):
        form.name.errors = [
            *form.name.errors,
            _(
                "A user name has no invisible or control characters and does not start with "
                "=, + or @ (it would read as another name, or run in a spreadsheet)."
            ),
        ]
    if form.role.data == "dispatcher" and not form.district.data:
        form.district.errors = [*form.district.errors, _("A dispatcher needs a district.")]
    if form.role.data == "crew" and not form.district.data:
        form.district.errors = [*form.district.errors, _("A van crew needs a district.")]
    return not form.errors


@bp.post("/users")
@admin_only
def user_create() -> Any:
    """Create a user; a generated password is shown once, on this answer."""
    form = _form()
    if not form.validate_on_submit() or not _field_problems(form):
        return _page(form, 400)
    if form.role.data not in ROLES:
        abort(400)
    admin = signed_in_user()
    generated = not form.password.data
    password = accounts.generate_password() if generated else form.password.data or ""
    try:
        user = accounts.create_account(
            (form.name.data or "").strip(),
            password,
            form.role.data or "dispatcher",
            form.district.data or None,
            actor=admin.name,
            by=admin,
        )
    except UserExistsError:
        form.name.errors = [*form.name.errors, _("A user with this name exists already.")]
        return _page(form, 400)
    except WeakPasswordError as exc:
        messages = _password_messages()
        form.password.errors = [*form.password.errors, *(messages[p.code] for p in exc.problems)]
        return _page(form, 400)
    except DistrictNotFoundError:
        form.district.errors = [*form.district.errors, _("Choose a district of the list.")]
        return _page(form, 400)
    except UserError as exc:
        return _page(form, 400, refused=str(exc))
    if not generated:
        flash(_("%(name)s can sign in now with the password you chose.", name=user.name), "ok")
        return redirect(url_for("dispatch.users"))
    return _page(_form(blank=True), created=user.name, password=password)


def _act(name: str, enable: bool) -> Any:
    if not UserActionForm().validate_on_submit():
        flash(_("This form has expired. Reload the page."), "error")
        return redirect(url_for("dispatch.users"))
    if find_user(name) is None:
        abort(404)
    admin = signed_in_user()
    try:
        if enable:
            user = accounts.enable_account(name, actor=admin.name, by=admin)
        else:
            user = accounts.disable_account(name, actor=admin.name, by=admin)
    except accounts.OwnAccountError:
        flash(_("You cannot disable your own account."), "error")
        return redirect(url_for("dispatch.users"))
    if enable:
        flash(_("%(name)s can sign in again.", name=user.name), "ok")
    else:
        flash(_("%(name)s is disabled; their sessions have ended.", name=user.name), "ok")
    return redirect(url_for("dispatch.users"))


@bp.post("/users/<name>/disable")
@admin_only
def user_disable(name: str) -> Any:
    """Disable a user: they cannot sign in, and their sessions end."""
    return _act(name, enable=False)


@bp.post("/users/<name>/enable")
@admin_only
def user_enable(name: str) -> Any:
    """Let a disabled user sign in again."""
    return _act(name, enable=True)
