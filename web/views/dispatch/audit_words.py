"""The audit log in words: each entry as a sentence in the reader's language, its details as a
table of translated names and values.

Entries keep plain values (codes, ids, counts) so that they stay true whatever the language;
this is the one place that turns them into text. An action without its own sentence still
reads as a translated sentence, and any detail it holds is listed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from babel.lists import format_list
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from taxvan.clock import hhmm
from web.db.models import AuditEntry
from web.i18n import translate
from web.operations.drafts import WEEKDAYS_EN
from web.operations.plan_jobs import message_from_json
from web.views.dispatch.notices import KIND_LABELS, STATUS_LABELS

NOTICE_KINDS = {str(k.value): label for k, label in KIND_LABELS.items()}
NOTICE_STATUSES = dict(STATUS_LABELS)

_COMMAND_LINE = re.compile(r"^command line \((?P<who>.*)\)$")

REASONS = {
    "out_of_service": _l("The van is out of service"),
    "weather": _l("Weather"),
    "road_closed": _l("Road closed"),
    "other": _l("Other"),
}

ADJUSTMENT_KINDS = {
    "pin": _l("Pin"),
    "exclude_stop": _l("Excluded stop"),
    "exclude_day": _l("Excluded day"),
    "visits": _l("Visits a week"),
    "dwell": _l("Dwell"),
}

ROLES = {"admin": _l("administrator"), "dispatcher": _l("dispatcher")}

KINDS = {"stops": _l("stops"), "streets": _l("streets"), "services": _l("services")}

KEYS = {
    "address": _l("Address"),
    "before_start": _l("Cancelled before it started"),
    "bookings": _l("Bookings"),
    "called_off": _l("Visits called off"),
    "cancelled": _l("Cancelled"),
    "carried": _l("Bookings kept"),
    "created": _l("New district"),
    "data_dir": _l("Data folder"),
    "date": _l("Date"),
    "door_called_off": _l("Door-to-door visits called off"),
    "draft": _l("Draft"),
    "dropped": _l("Visits left out"),
    "end": _l("End"),
    "error": _l("Error"),
    "file": _l("File"),
    "files": _l("Files"),
    "format": _l("Format"),
    "id": _l("Number"),
    "job": _l("Plan job"),
    "kept": _l("Bookings unchanged"),
    "kind": _l("Kind"),
    "km": _l("Kilometres driven"),
    "lifted": _l("Call-offs lifted"),
    "masked": _l("Names and phones hidden"),
    "moved": _l("Moved"),
    "note": _l("Note"),
    "notice": _l("Notice"),
    "notice_kind": _l("Kind of notice"),
    "time_limit_s": _l("Search time (s)"),
    "vans": _l("Vans"),
    "weekdays": _l("Working days"),
    "new_template": _l("New weekly template"),
    "adjustments": _l("Adjustments"),
    "was": _l("Status before"),
    "reason": _l("Reason"),
    "reference": _l("Request"),
    "role": _l("Role"),
    "rows": _l("Rows"),
    "start": _l("Start"),
    "status": _l("Status"),
    "stop_id": _l("Stop"),
    "tolerance": _l("Tolerance"),
    "user": _l("User"),
    "value": _l("Value"),
    "van": _l("Van"),
    "version": _l("Version"),
    "visits": _l("Visits"),
    "week": _l("Week"),
    "weekday": _l("Weekday"),
    **KINDS,
}


def actor_text(actor: str) -> str:
    """Who did it; the command line's actor (saved in English) in the reader's language."""
    found = _COMMAND_LINE.match(actor or "")
    if found:
        return _("command line (%(user)s)", user=found.group("who"))
    return actor


def _words(items: list[str]) -> str:
    """A list in the reader's language ("A、B 和 C" / "A, B and C")."""
    return format_list(items, locale=str(get_locale() or "zh")) if items else ""


def _day(iso: Any) -> str:
    """A saved ISO date as month-day ("12-09"): the year is the entry's own."""
    text = str(iso or "")
    return text[5:10] if re.match(r"^\d{4}-\d{2}-\d{2}", text) else text


def _reason(d: Mapping[str, Any]) -> str:
    if d.get("reason") == "other" and d.get("note"):
        return str(d["note"])
    label = REASONS.get(str(d.get("reason")))
    return str(label) if label is not None else str(d.get("reason") or "—")


def _disruption(d: Mapping[str, Any]) -> str:
    reason = _reason(d)
    if d.get("date") and d.get("van"):
        what = _(
            "%(date)s van %(van)s called off (%(reason)s)",
            date=_day(d["date"]),
            van=d["van"],
            reason=reason,
        )
    elif d.get("date"):
        what = _("%(date)s every van called off (%(reason)s)", date=_day(d["date"]), reason=reason)
    else:
        what = _(
            "%(n)d visit(s) called off (%(reason)s)", n=len(d.get("visits") or []), reason=reason
        )
    moved = d.get("moved") or {}
    cancelled = d.get("cancelled") or []
    parts = [what]
    if moved:
        days = sorted({_day(str(t)[:10]) for t in moved.values()})
        parts.append(_("%(n)d booking(s) moved to %(days)s", n=len(moved), days=_words(days)))
    if cancelled:
        parts.append(_("%(n)d booking(s) cancelled", n=len(cancelled)))
    if not moved and not cancelled:
        parts.append(_("no booking affected"))
    text = parts[0]
    for part in parts[1:]:
        text = _("%(first)s, %(rest)s", first=text, rest=part)
    return text


def _import(d: Mapping[str, Any]) -> str:
    counts = []
    for kind, label in KINDS.items():
        c = d.get(kind)
        if isinstance(c, Mapping):
            counts.append(_counts(c, str(label)))
    first = _("New district imported") if d.get("created") else _("District data imported")
    if not counts:
        return first
    return _("%(first)s: %(counts)s", first=first, counts=_("; ").join(counts))


def _counts(c: Mapping[str, Any], label: str = "") -> str:
    def n(key: str) -> int:
        v = c.get(key)
        return len(v) if isinstance(v, list | tuple) else int(v or 0)

    text = _(
        "%(added)d added, %(changed)d changed, %(removed)d removed, %(unchanged)d unchanged",
        added=n("added"),
        changed=n("changed"),
        removed=n("removed"),
        unchanged=n("unchanged"),
    )
    return _("%(kind)s %(counts)s", kind=label, counts=text) if label else text


def _when(d: Mapping[str, Any]) -> str:
    start, end = d.get("start"), d.get("end")
    times = ""
    if isinstance(start, int) and isinstance(end, int) and 0 <= start <= end < 24 * 60:
        times = f"{hhmm(start)}–{hhmm(end)}"
    return f"{_day(d.get('date'))} {times}".strip()


def _g(d: Mapping[str, Any], key: str) -> Any:
    value = d.get(key)
    return "—" if value is None else value


SENTENCES: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "sign_in": lambda d: _("Signed in"),
    "sign_out": lambda d: _("Signed out"),
    "sign_in_failed": lambda d: _("Failed sign-in"),
    "district_import": _import,
    "user_create": lambda d: _(
        "Created the user %(user)s (%(role)s)",
        user=_g(d, "user"),
        role=str(ROLES.get(str(d.get("role")), d.get("role") or "—")),
    ),
    "user_disable": lambda d: _("Disabled the user %(user)s", user=_g(d, "user")),
    "user_enable": lambda d: _("Enabled the user %(user)s again", user=_g(d, "user")),
    "notices_export": lambda d: _(
        "Downloaded %(n)d notices (%(format)s)", n=int(d.get("rows") or 0), format=_fmt(d)
    ),
    "disruption": _disruption,
    "day_sheet_export": lambda d: _(
        "Downloaded the day sheet of %(date)s: %(n)d bookings (%(format)s)",
        date=_day(d.get("date")),
        n=int(d.get("bookings") or 0),
        format=_fmt(d),
    ),
    "door_accept": lambda d: _(
        "Accepted the door-to-door request %(ref)s for %(when)s",
        ref=_g(d, "reference"),
        when=_when(d),
    ),
    "door_decline": lambda d: _(
        "Declined the door-to-door request %(ref)s", ref=_g(d, "reference")
    ),
    "door_called_off": lambda d: _(
        "Called off the door-to-door visit %(ref)s of %(date)s",
        ref=_g(d, "reference"),
        date=_day(d.get("date")),
    ),
    "plan_started": lambda d: _("Started planning %(week)s", week=_g(d, "week")),
    "plan_finished": lambda d: _(
        "Planned %(week)s: a draft of %(n)d visits, %(dropped)d left out",
        week=_g(d, "week"),
        n=int(d.get("visits") or 0),
        dropped=int(d.get("dropped") or 0),
    ),
    "plan_cancelled": lambda d: _("Cancelled planning %(week)s", week=_g(d, "week")),
    "plan_failed": lambda d: _("Planning %(week)s failed", week=_g(d, "week")),
    "publish": lambda d: _(
        "Published %(week)s version %(version)s: %(visits)d visits; %(carried)d bookings "
        "kept, %(moved)d moved, %(cancelled)d cancelled",
        week=_g(d, "week"),
        version=_g(d, "version"),
        visits=int(d.get("visits") or 0),
        carried=int(d.get("carried") or 0),
        moved=int(d.get("moved") or 0),
        cancelled=int(d.get("cancelled") or 0),
    ),
    "adjustment_add": lambda d: _("Added an adjustment: %(kind)s", kind=_kind(d)),
    "adjustment_remove": lambda d: _("Removed an adjustment: %(kind)s", kind=_kind(d)),
    "password_change": lambda d: _("Changed their own password"),
    "password_reset": lambda d: _("Reset the password of %(user)s", user=_g(d, "user")),
    "publish_notices_export": lambda d: _(
        "Downloaded the notice list of %(week)s version %(version)s: %(n)d rows (%(format)s)",
        week=_g(d, "week"),
        version=_g(d, "version"),
        n=int(d.get("rows") or 0),
        format=_fmt(d),
    ),
    "visit_record": lambda d: _(
        "Recorded the crew's report of visit %(visit)s (%(date)s)",
        visit=_g(d, "visit"),
        date=_day(d.get("date")),
    ),
    "notice_sent_by_hand": lambda d: _(
        "Marked notice %(notice)s as sent by hand", notice=_g(d, "notice")
    ),
}


def _fmt(d: Mapping[str, Any]) -> str:
    return str(d.get("format") or "—").upper()


def _kind(d: Mapping[str, Any]) -> str:
    label = ADJUSTMENT_KINDS.get(str(d.get("kind")))
    return str(label) if label is not None else str(d.get("kind") or "—")


def sentence(entry: AuditEntry) -> str:
    """What happened, as one sentence in the reader's language."""
    details = entry.details or {}
    words = SENTENCES.get(entry.action)
    if words is None:
        return _("Other action (%(action)s)", action=entry.action)
    try:
        return words(details)
    except (TypeError, ValueError, AttributeError):  # an old entry of another shape
        return _("Other action (%(action)s)", action=entry.action)


def detail_rows(entry: AuditEntry) -> list[tuple[str, str]]:
    """The entry's details as (name, value) rows, both in the reader's language."""
    return [(key_text(k, v), value_text(k, v)) for k, v in (entry.details or {}).items()]


def key_text(key: str, value: Any = None) -> str:
    if key == "visits" and isinstance(value, list):
        return _("Visit numbers")
    label = KEYS.get(key)
    return str(label) if label is not None else key


def value_text(key: str, value: Any) -> str:
    """A detail's value: None as a dash, yes and no, codes as their labels."""
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    label = _label(key, value)
    if label is not None:
        return label
    if key == "weekdays" and isinstance(value, list):
        return " ".join(_label("weekday", d) or str(d) for d in value)
    if key == "adjustments" and isinstance(value, Mapping):
        n = sum(len(v) if isinstance(v, list | Mapping) else 1 for v in value.values() if v)
        return _("%(n)d adjustment(s)", n=n)
    if isinstance(value, Mapping) and "template" in value:
        return translate(message_from_json(dict(value)))
    if isinstance(value, Mapping):
        return _mapping(value)
    if isinstance(value, list | tuple):
        return _(", ").join(value_text("", v) for v in value)
    return str(value)


def _label(key: str, value: Any) -> str | None:
    """A coded value's label (a reason, a kind, a role, a weekday, a time of day)."""
    labels = {
        "reason": REASONS,
        "kind": ADJUSTMENT_KINDS,
        "role": ROLES,
        "notice_kind": NOTICE_KINDS,
        "was": NOTICE_STATUSES,
    }.get(key)
    if labels is not None and isinstance(value, str) and value in labels:
        return str(labels[value])
    if key == "weekday" and isinstance(value, int) and 0 <= value < len(WEEKDAYS_EN):
        return _(WEEKDAYS_EN[value])
    if key in ("start", "end") and isinstance(value, int) and 0 <= value < 24 * 60:
        return hhmm(value)
    return None


def _mapping(value: Mapping[str, Any]) -> str:
    if {"added", "changed", "removed"} <= set(value):
        return _counts(value)
    return _("; ").join(f"{k} → {value_text('', v)}" for k, v in value.items())
