"""A draft against the published timetable of its week: what moves, appears or disappears.

"Same place, same time" is the promise, so the draft page lists every visit the draft
changes, with the reason (`routes.diff`). The published side is the district's published
week of the draft's week (visits called off are not in the timetable any more); the draft
side is its stored rows, and the reasons come from what the draft records: its report
(holidays, make-up days, dropped visits), the adjustments it was planned with and whether
its weekly template was planned anew.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from routes.diff import (
    REASONS,
    DiffContext,
    PlanDiff,
    diff_rows,
    recorded_dropped,
    recorded_holidays,
)
from routes.report import SHARE_POINTS, ShareShortfall, share_shortfalls
from taxvan.adjustments import Adjustments
from taxvan.clock import hhmm
from web.db.models import District, Draft, PublishedWeek, StopRow
from web.db.store import current_week
from web.extensions import db

REASON_LABELS = {
    "pinned": _l("pinned by the dispatcher"),
    "stop_excluded": _l("stop excluded by the dispatcher"),
    "day_excluded": _l("day excluded by the dispatcher: the van does not run"),
    "holiday": _l("holiday or make-up working day"),
    "stop_added": _l("new stop in the district's data"),
    "stop_removed": _l("stop no longer in the district's data"),
    "dropped": _l("left out by the planner"),
    "visits_changed": _l("visits a week changed by the dispatcher"),
    "dwell_changed": _l("dwell changed by the dispatcher"),
    "made_room": _l("moved to make room for the dispatcher's change to another stop"),
    "replanned": _l("weekly template planned anew"),
    "unknown": _l("no known reason"),
}
"""The reason codes of `routes.diff.REASONS` in the console's words (zh/en)."""
assert set(REASON_LABELS) == set(REASONS), "translate every reason code"


def published_week(district: District, week: str) -> PublishedWeek | None:
    """The week the public sees for `district`: its current version."""
    return current_week(week, district)


def published_rows(published: PublishedWeek) -> list[dict[str, Any]]:
    """The published visits still held (not called off), as `routes.diff` rows."""
    return [
        {
            "date": v.date,
            "stop_id": v.stop_id,
            "start": v.start,
            "end": v.end,
            "van": v.van_id,
            "stop_name": v.stop.name if v.stop else "",
            "street": v.stop.street.name if v.stop and v.stop.street else "",
        }
        for v in published.visits
        if v.cancelled_at is None
    ]


def draft_rows(draft: Draft) -> list[dict[str, Any]]:
    """The draft's visits as `routes.diff` rows."""
    return [
        {
            "date": v["date"],
            "stop_id": v["stop_id"],
            "start": v["start"],
            "end": v["end"],
            "van": v.get("van_id", ""),
            "stop_name": v.get("stop_name", ""),
            "street": v.get("street_name", ""),
        }
        for v in draft.visits
    ]


def draft_adjustments(draft: Draft) -> Adjustments:
    """The adjustments the draft was planned with (none for older drafts)."""
    return Adjustments.from_dict(draft.options.get("adjustments") or {})


def replan_cause(draft: Draft, published: PublishedWeek | None) -> str:
    """Why the draft's weekly template was planned anew (a key of `routes.diff.REPLAN_CAUSES`,
    "" when not known): asked for, other adjustments than the published plan's, or other
    data (another fingerprint)."""
    if draft.template_reused:
        return ""
    if draft.options.get("new_template"):
        return "asked"
    before = db.session.get(Draft, published.draft_id) if published and published.draft_id else None
    if before is None:  # published from the command line: adjustments always make a new one
        return "adjustments" if draft_adjustments(draft) else ""
    if draft_adjustments(before) != draft_adjustments(draft):
        return "adjustments"
    if before.fingerprint != draft.fingerprint:
        return "data"
    return ""


def draft_context(
    district: District, draft: Draft, published: PublishedWeek | None = None
) -> DiffContext:
    """What the draft records about its changes (see `routes.diff.DiffContext`)."""
    report = draft.report
    stops = db.session.scalars(select(StopRow.id).where(StopRow.district_id == district.id))
    return DiffContext(
        week=draft.week,
        holidays=recorded_holidays(report.get("holidays", [])),
        makeup_days=frozenset(dt.date.fromisoformat(d) for d in report.get("makeup_days", [])),
        adjustments=draft_adjustments(draft),
        dropped=recorded_dropped(report.get("dropped", [])),
        stops=frozenset(stops),
        replanned=not draft.template_reused,
        near_previous=bool((draft.template or {}).get("planned_near")),
        replan_cause=replan_cause(draft, published),
    )


def draft_diff(district: District, draft: Draft) -> PlanDiff | None:
    """The draft's changes to the published week, or None when its week is not published.
    The draft page's change list and the publish confirmation both count these."""
    published = published_week(district, draft.week)
    if published is None:
        return None
    context = draft_context(district, draft, published)
    return diff_rows(published_rows(published), draft_rows(draft), context)


def when_text(t: Any, weekday_names: list[str]) -> str:
    """`Tue 12-01 09:00–09:45` for a `routes.diff.VisitTime` (None: "")."""
    if t is None:
        return ""
    return (
        f"{weekday_names[t.date.weekday()]} {t.date.strftime('%m-%d')} "
        f"{hhmm(t.start)}–{hhmm(t.end)}"
    )


def share_warnings(district: District, draft: Draft) -> list[ShareShortfall]:
    """The streets an adjusted draft leaves more than `SHARE_POINTS` under their target
    share, each with the excluded stops of that street (none for a draft planned without
    adjustments: the planner's own shares are its choice, not the dispatcher's)."""
    adj = draft_adjustments(draft)
    if not adj:
        return []
    rows = db.session.execute(
        select(StopRow.id, StopRow.street_code).where(StopRow.district_id == district.id)
    )
    stop_street = {stop_id: street for stop_id, street in rows}
    return share_shortfalls(draft.report.get("streets", []), adj, stop_street, SHARE_POINTS)
