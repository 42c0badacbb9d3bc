"""Console accounts managed by an administrator, in the console or from a terminal (`flask
user ...`): the change and its audit entry are one transaction.

`actor` names who did it in the audit log (the command line's actor by default); `by` is the
administrator's own user row when the console did it."""

from __future__ import annotations

import secrets

from web.db import audit
from web.db.models import User
from web.extensions import db
from web.operations.districts import district_by_code
from web.operations.unit import Unit, transaction
from web.operations.users import (
    UserError,
    UserNotFoundError,
    create_user,
    disable_user,
    end_sessions,
    find_user,
    normalise_name,
)

PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
"""Characters of a generated password: lower-case letters and digits a person reads aloud or
types without mistaking one for another (no i, l, o, 0, 1)."""


class OwnAccountError(UserError):
    """An administrator cannot disable their own account (nobody might be left to sign in)."""

    def __init__(self) -> None:
        super().__init__("you cannot disable your own account")


def generate_password() -> str:
    """A new random password to tell a user once: 4 groups of 4 characters (about 79 bits),
    e.g. `k7mq-x3pt-9hwa-r2ve`."""
    groups = ("".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(4)) for _ in range(4))
    return "-".join(groups)


def create_account(
    name: str,
    password: str,
    role: str,
    district_code: str | None,
    actor: str | None = None,
    by: User | None = None,
) -> User:
    """Create a user of the district `district_code` (none: no district). Raises the
    `UserError`s of `create_user` or DistrictNotFoundError."""

    def work(_u: Unit) -> User:
        district = district_by_code(district_code) if district_code else None
        user = create_user(name, password, role, district)
        db.session.flush()
        audit.record(
            "user_create",
            actor=actor or audit.command_line_actor(),
            user=by,
            district=district,
            details={"user": user.name, "role": role},
        )
        return user

    # Two admins creating one name at once: the second insert fails on the name's unique key,
    # and its second run finds the first's user (UserExistsError), not a server error.
    return transaction(work, attempts=2, keep_loaded=True)


def disable_account(name: str, actor: str | None = None, by: User | None = None) -> User:
    """Disable the user `name` and end their sessions. An administrator (`by`) cannot disable
    their own account (OwnAccountError)."""

    def work(_u: Unit) -> User:
        if by is not None and normalise_name(name) == by.name:
            raise OwnAccountError
        user = disable_user(name)
        audit.record(
            "user_disable",
            actor=actor or audit.command_line_actor(),
            user=by,
            district=user.district,
            details={"user": user.name},
        )
        return user

    return transaction(work, keep_loaded=True)


def enable_account(name: str, actor: str | None = None, by: User | None = None) -> User:
    """Let a disabled user sign in again (with their password as it was)."""

    def work(_u: Unit) -> User:
        user = find_user(name)
        if user is None:
            raise UserNotFoundError(normalise_name(name))
        user.active = True
        end_sessions(user)
        audit.record(
            "user_enable",
            actor=actor or audit.command_line_actor(),
            user=by,
            district=user.district,
            details={"user": user.name},
        )
        return user

    return transaction(work, keep_loaded=True)
