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

from routes.diff import REASONS, DiffContext, PlanDiff, diff_rows
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


def draft_context(district: District, draft: Draft) -> DiffContext:
    report = draft.report
    dropped: dict[str, list[str]] = {}
    for d in report.get("dropped", []):
        dropped.setdefault(str(d.get("stop_id", "")), []).append(str(d.get("reason", "")))
    stops = db.session.scalars(select(StopRow.id).where(StopRow.district_id == district.id))
    return DiffContext(
        week=draft.week,
        holidays={
            dt.date.fromisoformat(h["date"]): h.get("name", "") for h in report.get("holidays", [])
        },
        makeup_days=frozenset(dt.date.fromisoformat(d) for d in report.get("makeup_days", [])),
        adjustments=draft_adjustments(draft),
        dropped={k: tuple(v) for k, v in dropped.items()},
        stops=frozenset(stops),
        replanned=not draft.template_reused,
    )


def draft_diff(district: District, draft: Draft) -> PlanDiff | None:
    """The draft's changes to the published week, or None when its week is not published."""
    published = published_week(district, draft.week)
    if published is None:
        return None
    return diff_rows(published_rows(published), draft_rows(draft), draft_context(district, draft))


def when_text(t: Any, weekday_names: list[str]) -> str:
    """`Tue 12-01 09:00–09:45` for a `routes.diff.VisitTime` (None: "")."""
    if t is None:
        return ""
    return (
        f"{weekday_names[t.date.weekday()]} {t.date.strftime('%m-%d')} "
        f"{hhmm(t.start)}–{hhmm(t.end)}"
    )
