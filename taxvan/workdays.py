"""Which dates of an ISO week the van works, by China's official working calendar.

Statutory holidays are off and the make-up working days (调休) are on. Three sources, in
order: the dispatcher's calendar file (the State Council's yearly schedule as entered, see
`CalendarDay`), the `chinese_calendar` library (the schedules published so far), and for a
later year the statutory holidays alone (fixed by law; computed by the `holidays` library),
with a plain note that the bridge days and make-up working days are not known yet (unless
the file marks the year as entered whole, `PublishedYear`). Every non-ordinary day carries
where it came from.
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
from taxvan.messages import N_, Message, Names, message

WEEKDAY_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
WEEKDAY_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
_WEEKDAY_NAMES = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))


def weekday_name(weekday: int) -> Message:
    """The short name of `weekday` (Monday = 0) as a message: "Tue", 周二 in Chinese."""
    if 0 <= weekday < 7:
        return message(_WEEKDAY_NAMES[weekday])
    return message(N_("weekday %(n)d"), n=weekday)


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


@dataclass(frozen=True, slots=True)
class PublishedYear:
    """A `schedule` row of the dispatcher's calendar file: the file holds the State Council's
    whole schedule for `year` (every bridge day and make-up working day is entered).

    Only this mark makes a year the libraries do not know count as known: a few entries
    for a year (a local holiday, say) do not tell whether its bridge days are in the file.
    """

    year: int
    name: str
    """e.g. the title of the State Council's notice."""
    source: str
    """e.g. `calendar.csv row 2`."""


SOURCE_LIBRARY = N_("the State Council's schedule in the chinese_calendar library")
SOURCE_STATUTORY = N_("the statutory holidays fixed by law (holidays library)")
_FILE_ROW = re.compile(r"^(?P<file>\S+) row (?P<row>\d+)$")


def source_message(source: str) -> Message | str:
    """Where a day off or a make-up day comes from, in words the catalogue translates."""
    if source in (SOURCE_LIBRARY, SOURCE_STATUTORY):
        return message(source)
    found = _FILE_ROW.match(source)
    if found:
        return message(N_("%(file)s row %(row)s"), file=found["file"], row=found["row"])
    return source


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
    notes: tuple[Message | str, ...] = field(default_factory=tuple)
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


class _Day(NamedTuple):
    """What the calendar says of one date, whoever works it.

    `kind` is `holiday` (a named day off: statutory, or in the library's or the file's
    schedule), `workday` (declared working, e.g. a make-up Saturday) or `ordinary` (nothing
    special: each van follows its own weekdays).
    """

    kind: str
    names: tuple[str, str]
    source: str


def _library_day(day: dt.date) -> _Day | None:
    """The day by `chinese_calendar`; None if it does not know the year.

    A weekend day the library calls a holiday without a name is an ordinary weekend,
    not a holiday: a van that works Saturdays runs on it.
    """
    try:
        off, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        return None
    if off and name:
        zh = next((h.chinese for h in chinese_calendar.Holiday if h.value == name), str(name))
        return _Day("holiday", (str(name), str(zh)), SOURCE_LIBRARY)
    if not off and day.weekday() >= 5:
        return _Day("workday", ("", ""), SOURCE_LIBRARY)
    if off and day.weekday() < 5:  # a weekday off without a name: keep it off, say so
        return _Day("holiday", ("holiday", "节假日"), SOURCE_LIBRARY)
    return _Day("ordinary", ("", ""), SOURCE_LIBRARY)


def _unknown_note(year: int, entries: int) -> Message:
    if entries:
        return message(
            N_(
                "China's holiday schedule for %(year)d is not published in the calendar library "
                "yet; calendar.csv has %(entries)s for %(year)d but no `schedule` row "
                "saying it holds the whole year: the statutory holidays (fixed by law) are off "
                "and every other weekday is planned as ordinary; enter the State Council's "
                "schedule (bridge days, make-up working days, and a `schedule` row for the "
                "year) in the data folder's calendar.csv and re-plan once it is out"
            ),
            year=year,
            entries=(
                message(N_("1 entry")) if entries == 1 else message(N_("%(n)d entries"), n=entries)
            ),
        )
    return message(
        N_(
            "China's holiday schedule for %(year)d is not published in the calendar library "
            "yet: the statutory holidays (fixed by law) are off and every other weekday is "
            "planned as ordinary; enter the State Council's schedule (bridge days, make-up "
            "working days, and a `schedule` row for the year) in the data folder's calendar.csv "
            "and re-plan once it is out"
        ),
        year=year,
    )


def holiday_name(off: DayOff) -> Names:
    """The holiday's name in both languages, as the calendar gives them."""
    return Names(off.reason, off.reason_zh)


def holiday_notes(week: WorkWeek) -> list[Message]:
    """What the week's holidays and make-up working days do to the plan."""
    notes = [
        message(
            N_("%(date)s (%(day)s) is a holiday (%(name)s): no visits"),
            date=h.date.isoformat(),
            day=weekday_name(h.date.weekday()),
            name=holiday_name(h),
        )
        for h in week.holidays
    ]
    notes += [
        message(
            N_("%(date)s (%(day)s) is a make-up working day: the van works"),
            date=m.isoformat(),
            day=weekday_name(m.weekday()),
        )
        for m in week.makeup_days
    ]
    return notes


def work_week(
    label: str,
    weekdays: frozenset[int] = frozenset(range(5)),
    calendar: Sequence[CalendarDay | PublishedYear] = (),
) -> WorkWeek:
    """The dates of ISO week `label` the van works.

    `weekdays` are the ordinary working weekdays (Monday = 0), Saturday and Sunday
    included if the van works them. A named holiday on one of them is off; a make-up
    working day on a weekend is on. `calendar` (the dispatcher's file) overrides the
    libraries day by day; a year neither `chinese_calendar` knows nor the file marks as
    published (`PublishedYear`) keeps only the statutory holidays off and says so in the
    notes.
    """
    year, week = parse_iso_week(label)
    days = week_dates(year, week)
    entries = {c.date: c for c in calendar if isinstance(c, CalendarDay)}
    published = {c.year for c in calendar if isinstance(c, PublishedYear)}
    dates: list[dt.date] = []
    offs: list[DayOff] = []
    makeups: list[dt.date] = []
    unknown: set[int] = set()
    sources: list[Message] = []
    for day in days:
        ordinary = day.weekday() in weekdays
        entry = entries.get(day)
        said: _Day | None
        if entry is not None:
            said = _Day(
                "workday" if entry.working else "holiday",
                (entry.name_en, entry.name),
                entry.source,
            )
        else:
            said = _library_day(day)
        if said is None:
            if day.year not in published:
                unknown.add(day.year)
            statutory = statutory_holiday(day)
            said = (
                _Day("holiday", statutory, SOURCE_STATUTORY)
                if statutory
                else _Day("ordinary", ("", ""), SOURCE_STATUTORY)
            )
        if said.kind == "holiday":
            if ordinary:
                offs.append(DayOff(day, *said.names, source=said.source))
                sources.append(
                    message(
                        N_("%(date)s is off (%(name)s): from %(source)s"),
                        date=day.isoformat(),
                        name=Names(*said.names),
                        source=source_message(said.source),
                    )
                )
        elif ordinary:
            dates.append(day)
        elif said.kind == "workday" and day.weekday() >= 5:
            dates.append(day)
            makeups.append(day)
            sources.append(
                message(
                    N_("%(date)s is a make-up working day: from %(source)s"),
                    date=day.isoformat(),
                    source=source_message(said.source),
                )
            )
    per_year = {y: sum(1 for d in entries if d.year == y) for y in unknown}
    notes = [_unknown_note(y, per_year[y]) for y in sorted(unknown)]
    return WorkWeek(
        year=year,
        number=week,
        dates=tuple(dates),
        holidays=tuple(offs),
        makeup_days=tuple(makeups),
        calendar_known=not unknown,
        notes=(*notes, *sources),
    )
