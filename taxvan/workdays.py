"""Which dates of an ISO week the van works, by China's official working calendar.

Statutory holidays are off and the make-up working days (调休) are on. The calendar
library only knows the years the State Council has published; for a later year we say so
plainly and fall back to the van's ordinary weekdays.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import NamedTuple

import chinese_calendar

from taxvan.errors import TaxvanError

WEEKDAY_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
WEEKDAY_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")

_ISO_WEEK = re.compile(r"^(\d{4})-?W(\d{2})$")


class IsoWeek(NamedTuple):
    """An ISO week by its year and number; unpacks as `(year, number)`."""

    year: int
    number: int

    @property
    def label(self) -> str:
        return week_label(self.year, self.number)


def week_label(year: int, number: int) -> str:
    """(2026, 49) -> `"2026-W49"`: the one way a week is written, in files, URLs and text."""
    return f"{year}-W{number:02d}"


def parse_iso_week(text: str) -> IsoWeek:
    """`"2026-W49"` -> IsoWeek(2026, 49). Raises TaxvanError naming the bad text."""
    m = _ISO_WEEK.match(text.strip().upper())
    if not m:
        raise TaxvanError(f"'{text}' is not an ISO week like 2026-W49")
    year, week = int(m.group(1)), int(m.group(2))
    try:
        dt.date.fromisocalendar(year, week, 1)
    except ValueError:
        raise TaxvanError(f"{year} has no ISO week {week}") from None
    return IsoWeek(year, week)


def iso_week_label(day: dt.date) -> str:
    """The label of the ISO week `day` falls in."""
    year, week, _ = day.isocalendar()
    return week_label(year, week)


def next_iso_week(today: dt.date) -> str:
    return iso_week_label(today + dt.timedelta(days=7))


def week_dates(year: int, week: int) -> list[dt.date]:
    monday = dt.date.fromisocalendar(year, week, 1)
    return [monday + dt.timedelta(days=i) for i in range(7)]


@dataclass(frozen=True, slots=True)
class DayOff:
    date: dt.date
    reason: str
    reason_zh: str = ""


@dataclass(frozen=True, slots=True)
class WorkWeek:
    """The working dates of ISO week `number` of `year`, and why the others are not.

    It carries its year and number, so nothing parses its label back.
    """

    year: int
    number: int
    dates: tuple[dt.date, ...]
    holidays: tuple[DayOff, ...] = ()
    makeup_days: tuple[dt.date, ...] = ()
    calendar_known: bool = True
    notes: tuple[str, ...] = field(default_factory=tuple)
    standard: bool = False
    """The weekly template's standard week: the ordinary weekdays, whatever the calendar."""

    @property
    def iso(self) -> IsoWeek:
        return IsoWeek(self.year, self.number)

    @property
    def label(self) -> str:
        """`"2026-W49"`; the standard week is `"template (2026-W49)"`."""
        label = week_label(self.year, self.number)
        return f"template ({label})" if self.standard else label


def _holiday_names(day: dt.date) -> tuple[str, str]:
    """(English, Chinese) name of the holiday on `day`."""
    try:
        _, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        return "holiday", "节假日"
    if not name:
        return "holiday", "节假日"
    zh = next((h.chinese for h in chinese_calendar.Holiday if h.value == name), "节假日")
    return str(name), str(zh)


def work_week(label: str, weekdays: frozenset[int] = frozenset(range(5))) -> WorkWeek:
    """The dates of ISO week `label` the van works.

    `weekdays` are the ordinary working weekdays (Monday = 0). A statutory holiday on one of
    them is off; a make-up working day outside them is on.
    """
    year, week = parse_iso_week(label)
    days = week_dates(year, week)
    dates: list[dt.date] = []
    offs: list[DayOff] = []
    makeups: list[dt.date] = []
    notes: list[str] = []
    known = True
    for day in days:
        ordinary = day.weekday() in weekdays
        try:
            workday = chinese_calendar.is_workday(day)
        except NotImplementedError:
            known = False
            if ordinary:
                dates.append(day)
            continue
        if workday and (ordinary or day.weekday() >= 5):
            dates.append(day)
            if not ordinary:
                makeups.append(day)
        elif ordinary and not workday:
            offs.append(DayOff(day, *_holiday_names(day)))
    if not known:
        notes.append(
            f"China's holiday schedule for {year} is not published in the calendar library yet: "
            "planned on ordinary weekdays; re-plan once the State Council's schedule is out"
        )
    return WorkWeek(
        year=year,
        number=week,
        dates=tuple(dates),
        holidays=tuple(offs),
        makeup_days=tuple(makeups),
        calendar_known=known,
        notes=tuple(notes),
    )
