"""Which dates of an ISO week the van works, by China's official working calendar.

Statutory holidays are off and the make-up working days (调休) are on. Three sources, in
order: the dispatcher's calendar file (the State Council's yearly schedule as entered, see
`CalendarDay`), the `chinese_calendar` library (the schedules published so far), and for a
later year the statutory holidays alone (fixed by law; computed by the `holidays` library),
with a plain note that the bridge days and make-up working days are not known yet. Every
non-ordinary day carries where it came from.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import chinese_calendar
import holidays

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
    source: str = ""
    """Where the day off comes from: a calendar file row, or which library."""


@dataclass(frozen=True, slots=True)
class CalendarDay:
    """One day of the dispatcher's calendar file: a holiday or a working day, by name.

    It overrides the libraries, so a year's State Council schedule (bridge days, make-up
    Saturdays) can be entered before any library publishes it.
    """

    date: dt.date
    working: bool
    name: str
    name_en: str
    source: str
    """e.g. `calendar.csv row 4`."""


SOURCE_LIBRARY = "the State Council's schedule in the chinese_calendar library"
SOURCE_STATUTORY = "the statutory holidays fixed by law (holidays library)"


@functools.lru_cache(maxsize=64)
def _statutory(year: int) -> tuple[dict[dt.date, str], dict[dt.date, str]]:
    kw = {"years": year, "observed": False}
    return dict(holidays.China(**kw, language="en_US")), dict(
        holidays.China(**kw, language="zh_CN")
    )


def statutory_holiday(day: dt.date) -> tuple[str, str] | None:
    """(English, Chinese) name if `day` is a statutory holiday (全体公民放假的节日) by law.

    The law fixes these days for every year, so they are known before the State Council
    publishes the year's schedule; substitute days and make-up working days are not.
    """
    en, zh = _statutory(day.year)
    if day not in en:
        return None
    return en[day], zh.get(day, en[day])


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


def work_week(
    label: str,
    weekdays: frozenset[int] = frozenset(range(5)),
    calendar: Sequence[CalendarDay] = (),
) -> WorkWeek:
    """The dates of ISO week `label` the van works.

    `weekdays` are the ordinary working weekdays (Monday = 0). A holiday on one of them is
    off; a make-up working day on a weekend is on. `calendar` (the dispatcher's file)
    overrides the libraries day by day; a year neither it nor `chinese_calendar` knows keeps
    only the statutory holidays off and says so in the notes.
    """
    year, week = parse_iso_week(label)
    days = week_dates(year, week)
    entries = {c.date: c for c in calendar}
    years_in_file = {c.date.year for c in calendar}
    dates: list[dt.date] = []
    offs: list[DayOff] = []
    makeups: list[dt.date] = []
    unknown: set[int] = set()
    sources: list[str] = []
    for day in days:
        ordinary = day.weekday() in weekdays
        entry = entries.get(day)
        if entry is not None:
            workday, names, source = entry.working, (entry.name_en, entry.name), entry.source
        else:
            try:
                workday = chinese_calendar.is_workday(day)
                names, source = _holiday_names(day), SOURCE_LIBRARY
            except NotImplementedError:
                if day.year not in years_in_file:
                    unknown.add(day.year)
                statutory = statutory_holiday(day)
                workday = statutory is None and day.weekday() < 5
                names, source = statutory or ("", ""), SOURCE_STATUTORY
        if workday and (ordinary or day.weekday() >= 5):
            dates.append(day)
            if not ordinary:
                makeups.append(day)
                sources.append(f"{day.isoformat()} is a make-up working day: from {source}")
        elif ordinary and not workday:
            offs.append(DayOff(day, *names, source=source))
            sources.append(f"{day.isoformat()} is off ({names[0]}): from {source}")
    notes = [
        f"China's holiday schedule for {y} is not published in the calendar library yet: "
        "the statutory holidays (fixed by law) are off and every other weekday is planned as "
        "ordinary; enter the State Council's schedule (bridge days, make-up working days) in "
        "the data folder's calendar.csv and re-plan once it is out"
        for y in sorted(unknown)
    ]
    return WorkWeek(
        year=year,
        number=week,
        dates=tuple(dates),
        holidays=tuple(offs),
        makeup_days=tuple(makeups),
        calendar_known=not unknown,
        notes=(*notes, *sources),
    )
