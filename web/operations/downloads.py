"""Downloads of personal data (day sheets, the outbox): each one is in the audit log."""

from __future__ import annotations

from typing import Any

from web.db import audit
from web.db.models import District, User
from web.extensions import db
from web.operations.unit import Unit, transaction


def log_download(action: str, user_id: int, district: District, details: dict[str, Any]) -> None:
    """Save the audit entry of a download (`action`, one of `audit.ACTIONS`) by the user."""

    def work(_u: Unit) -> None:
        user = db.session.get(User, user_id)
        assert user is not None  # a signed-in user
        audit.record(action, actor=user.name, user=user, district=district, details=details)

    transaction(work)
