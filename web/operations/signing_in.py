"""Signing in and out of the console, as the audit log and the user's record keep them.

The view checks the password (`web.operations.users.authenticate`) and keeps the session;
these save what happened, each in a transaction of its own."""

from __future__ import annotations

from web.clock import china_now
from web.db import audit
from web.db.models import User
from web.operations.unit import Unit, transaction
from web.operations.users import find_user, normalise_name


def failed_sign_in(name: str, address: str | None) -> None:
    """Log a failed attempt. Attempts on an existing account go to its district's log too,
    so its dispatcher sees them (the page never says whether the name exists)."""

    def work(_u: Unit) -> None:
        tried = find_user(name)
        audit.record(
            "sign_in_failed",
            actor=normalise_name(name)[:100],
            user=tried,
            district=tried.district if tried is not None else None,
            details={"address": address},
        )

    transaction(work)


def signed_in(user: User, address: str | None) -> None:
    """Stamp the user's last sign-in and log it."""

    def work(_u: Unit) -> None:
        user.last_sign_in_at = china_now().replace(tzinfo=None)
        audit.record(
            "sign_in",
            actor=user.name,
            user=user,
            district=user.district,
            details={"address": address},
        )

    transaction(work)
