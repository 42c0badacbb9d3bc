import datetime as dt

import holidays
import pytest

from taxvan.errors import TaxvanError
from taxvan.workdays import (
    CalendarDay,
    PublishedYear,
    next_iso_week,
    parse_iso_week,
    work_week,
)


def test_national_day_week_drops_the_holidays_and_adds_the_makeup_saturday():
    """2026-W41: 5-7 October off (National Day), Saturday 10 October is a working day."""
    w = work_week("2026-W41")
    assert w.dates == (dt.date(2026, 10, 8), dt.date(2026, 10, 9), dt.date(2026, 10, 10))
    assert [h.date.day for h in w.holidays] == [5, 6, 7]
    assert w.makeup_days == (dt.date(2026, 10, 10),)


def test_ordinary_week_is_monday_to_friday():
    w = work_week("2026-W49")
    assert [d.weekday() for d in w.dates] == [0, 1, 2, 3, 4]
    assert w.calendar_known and not [str(n) for n in w.notes]


def test_makeup_days_agree_with_a_second_calendar_library():
    """Cross-check chinese_calendar against holidays.China for every week of 2026."""
    cn = holidays.China(years=2026)
    expected_makeup = {d for d in cn.weekend_workdays if d.year == 2026}
    found = set()
    for week in range(1, 54):
        try:
            w = work_week(f"2026-W{week:02d}")
        except TaxvanError:
            continue
        found.update(d for d in w.makeup_days if d.year == 2026)
        for h in w.holidays:
            assert h.date in cn, f"{h.date} is off in one library only"
    assert found == expected_makeup


def test_unpublished_year_falls_back_to_weekdays_and_says_so():
    w = work_week("2027-W10")
    assert not w.calendar_known
    assert len(w.dates) == 5
    assert "not published" in str(w.notes[0])


def test_bad_week_labels_are_refused_with_the_text():
    for bad in ("2026-49", "next week", "2026-W54", "2026-W00"):
        with pytest.raises(TaxvanError, match=bad.split("-")[0] if "W" in bad else bad):
            parse_iso_week(bad)


def test_next_week_crosses_the_year():
    assert next_iso_week(dt.date(2026, 12, 30)) == "2027-W01"
    assert next_iso_week(dt.date(2026, 11, 25)) == "2026-W49"


def test_a_work_week_carries_its_year_and_number():
    from taxvan.workdays import IsoWeek, iso_week_label, week_label

    w = work_week("2027-w01")
    assert (w.year, w.number) == (2027, 1) and w.iso == IsoWeek(2027, 1)
    assert w.label == week_label(2027, 1) == "2027-W01"
    assert parse_iso_week("2026W49") == (2026, 49) and parse_iso_week("2026W49").label == "2026-W49"
    # ISO weeks cross calendar years: 1 January 2027 is in 2026's week 53
    assert iso_week_label(dt.date(2027, 1, 1)) == "2026-W53"


# --- years the calendar library has not published -------------------------------------

STATUTORY = "the statutory holidays fixed by law (holidays library)"


def test_unpublished_year_still_keeps_the_statutory_holidays_off():
    """2027 is not in chinese_calendar: New Year's Day and the Spring Festival are off anyway."""
    new_year = work_week("2026-W53")  # Mon 28 Dec 2026 .. Sun 3 Jan 2027
    assert dt.date(2027, 1, 1) not in new_year.dates
    assert new_year.dates[-1] == dt.date(2026, 12, 31)
    (off,) = new_year.holidays
    assert (off.date, off.reason, off.reason_zh, off.source) == (
        dt.date(2027, 1, 1),
        "New Year's Day",
        "元旦",
        STATUTORY,
    )
    spring = work_week("2027-W05")  # Chinese New Year's Eve is Fri 5 Feb 2027
    assert dt.date(2027, 2, 5) not in spring.dates
    assert dt.date(2027, 2, 8) not in work_week("2027-W06").dates
    assert "not published" in str(spring.notes[0]) and "calendar.csv" in str(spring.notes[0])
    assert f"2027-02-05 is off (Chinese New Year's Eve): from {STATUTORY}" in [
        str(n) for n in spring.notes
    ]


def _day(date: str, working: bool, name: str, row: int) -> CalendarDay:
    return CalendarDay(dt.date.fromisoformat(date), working, name, name, f"calendar.csv row {row}")


def test_calendar_file_overrides_the_libraries_and_is_named_as_the_source():
    """The dispatcher enters 2027's schedule: bridge days off, a make-up Saturday on."""
    calendar = [
        _day("2027-02-09", False, "春节", 2),
        _day("2027-02-10", False, "春节", 3),
        _day("2027-02-11", False, "春节", 4),
        _day("2027-02-13", True, "春节调休", 5),
        _day("2026-12-03", False, "区级活动", 6),  # overrides a library-known working day
    ]
    w = work_week("2027-W06", calendar=calendar)  # Mon 8 .. Sun 14 Feb 2027
    assert w.dates == (dt.date(2027, 2, 12), dt.date(2027, 2, 13))
    assert w.makeup_days == (dt.date(2027, 2, 13),)
    assert [(h.date.day, h.source) for h in w.holidays] == [
        (8, STATUTORY),
        (9, "calendar.csv row 2"),
        (10, "calendar.csv row 3"),
        (11, "calendar.csv row 4"),
    ]
    assert not w.calendar_known, "day entries alone do not say the whole year is in the file"
    assert "calendar.csv has 4 entries for 2027" in str(w.notes[0])
    assert "2027-02-13 is a make-up working day: from calendar.csv row 5" in [
        str(n) for n in w.notes
    ]
    known = work_week("2026-W49", calendar=calendar)
    assert dt.date(2026, 12, 3) not in known.dates
    assert known.holidays[0].source == "calendar.csv row 6"


def test_one_local_day_in_the_file_does_not_publish_the_whole_year():
    """A county holiday in March says nothing about 2027's National Day bridge days."""
    local = [_day("2027-03-01", False, "县庆", 2)]
    w = work_week("2027-W40", calendar=local)  # Mon 4 .. Sun 10 Oct 2027
    assert not w.calendar_known
    assert w.dates == tuple(dt.date(2027, 10, d) for d in range(4, 9))
    (note,) = [n for n in [str(n) for n in w.notes] if "not published" in n]
    assert "calendar.csv has 1 entry for 2027" in note and "schedule" in note


def test_a_schedule_row_marks_the_year_as_published_by_the_file():
    marked = [
        _day("2027-03-01", False, "县庆", 2),
        PublishedYear(2027, "国务院办公厅关于2027年部分节假日安排的通知", "calendar.csv row 3"),
    ]
    w = work_week("2027-W40", calendar=marked)
    assert w.calendar_known
    assert not [n for n in [str(n) for n in w.notes] if "not published" in n]
    assert w.dates == tuple(dt.date(2027, 10, d) for d in range(4, 9))
    # the mark covers its own year only: 2028 is still unknown
    assert not work_week("2027-W52", calendar=marked).calendar_known  # 27 Dec .. 2 Jan 2028


# --- vans that work on Saturdays -------------------------------------------------------

MON_SAT = frozenset(range(6))


def test_a_saturday_van_runs_its_ordinary_saturday_in_an_unpublished_year():
    w = work_week("2027-W06", MON_SAT)  # Mon 8 .. Sun 14 Feb 2027; 8 Feb is Spring Festival
    assert w.dates == tuple(dt.date(2027, 2, d) for d in range(9, 14))
    assert [(h.date, h.reason, h.source) for h in w.holidays] == [
        (dt.date(2027, 2, 8), "Chinese New Year (Spring Festival)", STATUTORY)
    ]
    assert w.makeup_days == ()


def test_a_saturday_van_runs_its_ordinary_saturday_in_a_published_year():
    w = work_week("2026-W49", MON_SAT)  # Mon 30 Nov .. Sun 6 Dec 2026, no holiday
    assert w.dates == (*work_week("2026-W49").dates, dt.date(2026, 12, 5))
    assert w.holidays == () and w.makeup_days == ()


def test_a_saturday_van_still_has_named_holidays_off_on_saturday():
    """2026-W40: National Day runs 1-7 October; Saturday 3 October is part of it."""
    w = work_week("2026-W40", MON_SAT)
    assert w.dates == (dt.date(2026, 9, 28), dt.date(2026, 9, 29), dt.date(2026, 9, 30))
    assert [(h.date.day, h.reason) for h in w.holidays] == [
        (1, "National Day"),
        (2, "National Day"),
        (3, "National Day"),
    ]
    # its Saturday 10 October is an ordinary working day for it, not a make-up day
    after = work_week("2026-W41", MON_SAT)
    assert after.dates[-1] == dt.date(2026, 10, 10) and after.makeup_days == ()
    # a holiday entered in the file on a Saturday is off for it, by the file's name
    cal = [_day("2027-02-13", False, "春节", 4)]
    w = work_week("2027-W06", MON_SAT, cal)
    assert dt.date(2027, 2, 13) not in w.dates
    assert (w.holidays[-1].date, w.holidays[-1].source) == (
        dt.date(2027, 2, 13),
        "calendar.csv row 4",
    )
