"""The audit log: who signed in, imported or managed users, downloaded names and phones
(day sheets, the outbox, a publish's notice list), when, in which district.

Entries are added to the caller's transaction, so an action and its entry are saved together
or not at all; a failed sign-in or a download, which saves nothing else, is a transaction of
its own (`web.operations.signing_in`, `web.operations.downloads`).
"""

from __future__ import annotations

import getpass
from typing import Any

from sqlalchemy import select

from web.clock import china_now
from web.db.models import AuditEntry, District, User
from web.extensions import db

ACTIONS = (
    "sign_in",
    "sign_out",
    "sign_in_failed",
    "district_import",
    "user_create",
    "user_disable",
    "notices_export",
    "disruption",
    "day_sheet_export",
    "door_accept",
    "door_decline",
    "door_called_off",
    "plan_started",
    "plan_finished",
    "plan_cancelled",
    "plan_failed",
    "publish",
    "adjustment_add",
    "adjustment_remove",
    "password_change",
    "password_reset",
    "publish_notices_export",
    "notice_sent_by_hand",
    "user_enable",
    "visit_record",
)


def command_line_actor() -> str:
    """The actor of a `flask` command: the operating-system user who ran it."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        who = "?"
    return f"command line ({who})"


def record(
    action: str,
    *,
    actor: str,
    user: User | None = None,
    district: District | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an entry for `action` (one of ACTIONS) to the session."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    entry = AuditEntry(
        at=china_now().replace(tzinfo=None),
        user_id=user.id if user is not None else None,
        actor=actor,
        action=action,
        district=district,
        details=details or {},
    )
    db.session.add(entry)
    return entry


def latest(district: District | None = None, limit: int = 50) -> list[AuditEntry]:
    """The newest entries first; of one district, or of all when `district` is None."""
    query = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
    if district is not None:
        query = query.where(AuditEntry.district_id == district.id)
    return list(db.session.scalars(query))
