"""The text of every message to a taxpayer, in their language, short enough for one SMS.

A notice is one kind (booking made, moved, cancelled, a reminder, a visit a disruption cancelled
or moved, a door-to-door answer), its data and a language; `render` turns them into the text.
One SMS holds 160 GSM-7 characters, or 70 UCS-2 characters as soon as one character is outside
the GSM alphabet (any Chinese character): an English notice naming a Chinese place is a UCS-2
message too, so the limit follows the text, not the language.

When a text is too long, only the free-text fields are shortened (place, service, firm name,
reason), the longest first, cut at a clean point with an ellipsis; a booking code, a date or a
time is never cut. Each kind has shorter wordings to fall back to before a field would be cut
below a readable stub.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from taxvan.errors import TaxvanError


class NoticeKind(StrEnum):
    """What a notice tells the taxpayer."""

    BOOKED = "booked"
    MOVED = "moved"
    CANCELLED = "cancelled"
    REMINDER = "reminder"
    VISIT_CANCELLED = "visit_cancelled"
    """A disruption cancelled the visit, and with it the booking (reason given)."""
    VISIT_MOVED = "visit_moved"
    """A disruption cancelled the visit and the booking was moved to another visit."""
    DOOR_ACCEPTED = "door_accepted"
    DOOR_DECLINED = "door_declined"
    DOOR_CANCELLED = "door_cancelled"
    """An accepted door-to-door visit called off (a new timetable of the week took its time)."""


LANGUAGES = ("zh", "en")

GSM_LIMIT = 160
"""Characters of one SMS in the GSM 7-bit alphabet."""
UCS2_LIMIT = 70
"""Characters (UTF-16 code units) of one SMS with any character outside that alphabet."""

_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = frozenset("^{}\\[~]|€\f")
"""Characters sent as an escape and a second septet: they count twice."""


class NoticeTooLong(TaxvanError):
    """A notice that no wording fits into one SMS even with its names shortened."""

    def __init__(self, kind: str, lang: str, text: str) -> None:
        super().__init__(f"the {lang} {kind} notice does not fit one SMS: {text!r}")
        self.kind, self.lang, self.text = kind, lang, text


def is_gsm(text: str) -> bool:
    """The text can be sent in the GSM 7-bit alphabet."""
    return all(c in _GSM_BASIC or c in _GSM_EXTENDED for c in text)


def sms_units(text: str) -> tuple[int, int]:
    """(length as the SMS counts it, the limit of one SMS for this text)."""
    if is_gsm(text):
        return sum(2 if c in _GSM_EXTENDED else 1 for c in text), GSM_LIMIT
    return len(text.encode("utf-16-le")) // 2, UCS2_LIMIT


def fits_one_sms(text: str) -> bool:
    length, limit = sms_units(text)
    return length <= limit


@dataclass(frozen=True)
class NoticeData:
    """What a notice may say. Unused fields stay empty.

    `place`, `service`, `name` and `reason` may be shortened to fit; the rest never are.
    """

    code: str = ""
    """The booking code (the one to quote from now on, for a move the new one)."""
    date: dt.date | None = None
    start: str = ""
    """HH:MM, China time."""
    end: str = ""
    place: str = ""
    """The stop's name, or the address of a door-to-door visit."""
    service: str = ""
    """The service's name in the notice's language."""
    name: str = ""
    """The firm or person a door-to-door answer is addressed to."""
    reason: str = ""
    hotline: str = ""


CUTTABLE = ("place", "service", "name", "reason")
FLOOR = {"place": 6, "service": 4, "name": 4, "reason": 4}
"""Characters a field keeps at least (a stub shorter than this reads as noise): below it, the
next, shorter wording is tried."""

_WEEKDAYS_ZH = "一二三四五六日"
_WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# Wordings per kind and language, longest first. Placeholders: the NoticeData fields, with
# `day` the formatted date.
TEMPLATES: dict[tuple[NoticeKind, str], tuple[str, ...]] = {
    (NoticeKind.BOOKED, "zh"): (
        "预约成功：{day} {start} {place}，{service}。预约码{code}，请按时到场。",
        "预约成功：{day} {start} {place}，{service}。预约码{code}",
        "预约成功：{day} {start} {place}。预约码{code}",
    ),
    (NoticeKind.BOOKED, "en"): (
        "Booked: {place}, {day} {start}, {service}. Code {code}. Please be on time.",
        "Booked: {place}, {day} {start}, {service}. Code {code}",
        "Booked: {place}, {day} {start}. Code {code}",
    ),
    (NoticeKind.MOVED, "zh"): (
        "预约已改到{day} {start} {place}，{service}。新预约码{code}",
        "预约已改到{day} {start} {place}。新预约码{code}",
    ),
    (NoticeKind.MOVED, "en"): (
        "Booking moved to {place}, {day} {start}, {service}. New code {code}",
        "Moved to {place}, {day} {start}. New code {code}",
    ),
    (NoticeKind.CANCELLED, "zh"): (
        "预约{code}（{day} {start} {place}）已取消。",
        "预约{code}（{day} {start}）已取消。",
    ),
    (NoticeKind.CANCELLED, "en"): (
        "Booking {code} ({place}, {day} {start}) is cancelled.",
        "Booking {code} ({day} {start}) is cancelled.",
    ),
    (NoticeKind.REMINDER, "zh"): (
        "提醒：明天{day} {start}在{place}办理{service}，预约码{code}，请带齐材料。",
        "提醒：明天{day} {start}在{place}办理{service}，预约码{code}",
        "提醒：明天{day} {start}在{place}，预约码{code}",
    ),
    (NoticeKind.REMINDER, "en"): (
        "Reminder: tomorrow {day} {start} at {place}, {service}. Code {code}. Bring your papers.",
        "Reminder: tomorrow {day} {start} at {place}, {service}. Code {code}",
        "Reminder: {day} {start} at {place}. Code {code}",
    ),
    (NoticeKind.VISIT_CANCELLED, "zh"): (
        "因{reason}，{day} {start} {place}的办税车取消，预约{code}已取消，请另约。",
        "因{reason}，{day} {start}办税车取消，预约{code}已取消",
        "{day} {start}办税车取消，预约{code}已取消",
    ),
    (NoticeKind.VISIT_CANCELLED, "en"): (
        "The tax van at {place}, {day} {start} is cancelled ({reason}). Booking {code} is "
        "cancelled; please book again.",
        "Van {day} {start} cancelled ({reason}). Booking {code} cancelled",
        "Van {day} {start} cancelled. Booking {code} cancelled",
    ),
    (NoticeKind.VISIT_MOVED, "zh"): (
        "因{reason}，预约已改到{day} {start} {place}，预约码{code}",
        "预约已改到{day} {start} {place}，预约码{code}",
    ),
    (NoticeKind.VISIT_MOVED, "en"): (
        "Visit cancelled ({reason}); your booking moved to {place}, {day} {start}. Code {code}",
        "Booking moved to {place}, {day} {start}. Code {code}",
        "Booking moved to {day} {start}. Code {code}",
    ),
    (NoticeKind.DOOR_ACCEPTED, "zh"): (
        "{name}的上门服务申请已同意：{day} {start}-{end}到{place}。",
        "上门服务已同意：{day} {start}-{end}到{place}",
        "上门服务已同意：{day} {start}-{end}",
    ),
    (NoticeKind.DOOR_ACCEPTED, "en"): (
        "Door-to-door visit for {name} agreed: {day} {start}-{end} at {place}.",
        "Door-to-door visit agreed: {day} {start}-{end} at {place}",
        "Door-to-door visit agreed: {day} {start}-{end}",
    ),
    (NoticeKind.DOOR_DECLINED, "zh"): (
        "{name}的上门服务申请未能安排：{reason}。咨询{hotline}",
        "上门服务申请未能安排：{reason}。咨询{hotline}",
        "上门服务申请未能安排，咨询{hotline}",
    ),
    (NoticeKind.DOOR_DECLINED, "en"): (
        "Door-to-door request of {name} declined: {reason}. Call {hotline}",
        "Door-to-door request declined: {reason}. Call {hotline}",
        "Door-to-door request declined. Call {hotline}",
    ),
    (NoticeKind.DOOR_CANCELLED, "zh"): (
        "{name}的上门服务{code}（{day} {start}-{end}）已取消：{reason}。咨询{hotline}",
        "上门服务{code}（{day} {start}）已取消：{reason}。咨询{hotline}",
        "上门服务{code}（{day} {start}）已取消，咨询{hotline}",
    ),
    (NoticeKind.DOOR_CANCELLED, "en"): (
        "Door-to-door visit {code} for {name} ({day} {start}-{end}) is called off: {reason}. "
        "Call {hotline}",
        "Door-to-door visit {code} ({day} {start}) called off: {reason}. Call {hotline}",
        "Door-to-door visit {code} ({day} {start}) called off. Call {hotline}",
    ),
}


def format_day(date: dt.date | None, lang: str) -> str:
    """`12月1日周二` / `Tue 1 Dec`: short, and unambiguous within the booking window."""
    if date is None:
        return ""
    if lang == "zh":
        return f"{date.month}月{date.day}日周{_WEEKDAYS_ZH[date.weekday()]}"
    return f"{_WEEKDAYS_EN[date.weekday()]} {date.day} {_MONTHS_EN[date.month - 1]}"


_TRAILING = " ,.;:-(（，、。；：·"


def shorten(text: str, keep: int, ellipsis: str) -> str:
    """`text` cut to at most `keep` characters including the ellipsis, at a clean point: never
    inside a word of Latin text when a space is near, never leaving a dangling bracket or comma.
    """
    if len(text) <= keep:
        return text
    room = max(keep - len(ellipsis), 1)
    head = text[:room]
    if " " in head and not head.endswith(" ") and text[room : room + 1] not in ("", " "):
        # A Latin word would be cut: end at the last space if that keeps most of the text.
        space = head.rstrip().rfind(" ")
        if space >= room // 2:
            head = head[:space]
    head = head.rstrip(_TRAILING)
    return (head or text[:room]) + ellipsis


def render(kind: NoticeKind | str, data: NoticeData, lang: str) -> str:
    """The notice's text in `lang` ("zh" or "en"; anything else falls back to Chinese) that
    fits one SMS; raises NoticeTooLong if no wording does (the tests keep that from happening).
    """
    kind = NoticeKind(kind)
    lang = lang if lang in LANGUAGES else "zh"
    day = format_day(data.date, lang)
    templates = TEMPLATES[(kind, lang)]
    # A shorter wording with every name whole reads better than a longer one with names cut.
    for cut in (False, True):
        for template in templates:
            fitted = _fit(template, data, day, cut)
            if fitted is not None:
                return fitted
    raise NoticeTooLong(kind, lang, templates[-1])


def _fill(template: str, data: NoticeData, day: str) -> str:
    return template.format(
        day=day,
        code=data.code,
        start=data.start,
        end=data.end,
        place=data.place,
        service=data.service,
        name=data.name,
        reason=data.reason,
        hotline=data.hotline,
    )


def _floor(field: str, value: str) -> int:
    """Characters `value` keeps at least: twice as many for Latin text, whose words are longer."""
    return FLOOR[field] * (2 if is_gsm(value) else 1)


def _fit(template: str, data: NoticeData, day: str, cut: bool) -> str | None:
    """The template filled in, its cuttable fields shortened (longest first, when `cut`) until
    it fits one SMS; None when it does not fit without cutting a field below its floor."""
    spaced: dict[str, Any] = {f: " ".join(getattr(data, f).split()) for f in CUTTABLE}
    clean = replace(data, **spaced)
    text = _fill(template, clean, day)
    length, limit = sms_units(text)
    if length <= limit:
        return text
    if not cut:
        return None
    ellipsis = "…" if limit == UCS2_LIMIT else "..."
    used = [f for f in CUTTABLE if "{" + f + "}" in template]
    keep = {f: len(getattr(clean, f)) for f in used}
    floor = {f: min(keep[f], _floor(f, getattr(clean, f))) for f in used}
    current = clean
    while length > limit:
        candidates = [f for f in used if keep[f] > floor[f]]
        if not candidates:
            return None
        longest = max(candidates, key=lambda f: keep[f] - floor[f])
        keep[longest] = max(floor[longest], keep[longest] - (length - limit))
        cut_field: dict[str, Any] = {
            longest: shorten(getattr(clean, longest), keep[longest], ellipsis)
        }
        current = replace(current, **cut_field)
        text = _fill(template, current, day)
        length, limit = sms_units(text)
        if limit == GSM_LIMIT and ellipsis != "...":  # pragma: no cover - cut away the last CJK
            ellipsis = "..."
    return text
