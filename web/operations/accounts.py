"""Console accounts managed from a terminal (`flask user ...`): the change and its audit entry
are one transaction."""

from __future__ import annotations

from web.db import audit
from web.db.models import User
from web.extensions import db
from web.operations.districts import district_by_code
from web.operations.unit import Unit, transaction
from web.operations.users import create_user, disable_user


def create_account(name: str, password: str, role: str, district_code: str | None) -> User:
    """Create a user of the district `district_code` (none: no district); audited as the
    command line's. Raises the `UserError`s of `create_user` or DistrictNotFoundError."""

    def work(_u: Unit) -> User:
        district = district_by_code(district_code) if district_code else None
        user = create_user(name, password, role, district)
        db.session.flush()
        audit.record(
            "user_create",
            actor=audit.command_line_actor(),
            district=district,
            details={"user": user.name, "role": role},
        )
        return user

    return transaction(work)


def disable_account(name: str) -> User:
    """Disable the user `name` and end their sessions; audited as the command line's."""

    def work(_u: Unit) -> User:
        user = disable_user(name)
        audit.record(
            "user_disable",
            actor=audit.command_line_actor(),
            district=user.district,
            details={"user": user.name},
        )
        return user

    return transaction(work)
