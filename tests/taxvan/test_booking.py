"""The pure booking rules a taxpayer meets, without a database: slots, walk-in places kept
free, the booking window, the per-taxpayer limits and the ID and phone checks."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import uscc

from taxvan.booking import (
    BookingClosed,
    BookingRules,
    LimitReached,
    NotOpenYet,
    OverlappingBooking,
    check_taxpayer_limits,
    check_window,
    free_places,
    normalise_mobile,
    slot_starts,
    slots_needed,
    taxpayer_id_problem,
    walkin_slots,
)
from taxvan.clock import CHINA

RULES = BookingRules()


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=CHINA)


def test_a_visit_is_cut_into_slots_and_a_service_takes_whole_slots():
    assert slot_starts(9 * 60, 10 * 60, 15) == [540, 555, 570, 585]
    assert slots_needed(15, 15) == 1
    assert slots_needed(20, 15) == 2, "a 20-minute service takes two 15-minute slots"
    assert slots_needed(45, 15) == 3


@given(
    n_slots=st.integers(1, 40),
    counter=st.integers(0, 3),
    share=st.floats(0, 0.9),
)
def test_about_the_walk_in_share_of_each_counter_stays_free(n_slots, counter, share):
    kept = walkin_slots(n_slots, counter, share)
    assert kept <= set(range(n_slots))
    assert abs(len(kept) - share * n_slots) <= 1


def test_free_places_skip_taken_and_walk_in_slots_and_need_consecutive_room():
    places = free_places(4, 1, 2, taken={(0, 1)}, walkin_share=0)
    assert [(p.counter, p.first) for p in places] == [(0, 2)], "slot 1 is taken"
    assert free_places(4, 2, 1, taken=set(), walkin_share=0.5) != []
    kept = walkin_slots(4, 0, 0.5)
    firsts = {p.first for p in free_places(4, 1, 1, set(), 0.5)}
    assert firsts.isdisjoint(kept), "walk-in places are never offered"


def test_booking_opens_two_weeks_before_and_closes_two_hours_before():
    start = at(14, 10)
    with pytest.raises(NotOpenYet):
        check_window(start, at(14, 10) - dt.timedelta(days=15), RULES)
    check_window(start, at(14, 7, 59), RULES)
    with pytest.raises(BookingClosed):
        check_window(start, at(14, 8, 1), RULES)


def test_one_taxpayer_cannot_overlap_or_hold_more_than_the_cap():
    first = (at(7, 9), at(7, 9, 30))
    with pytest.raises(OverlappingBooking):
        check_taxpayer_limits((at(7, 9, 15), at(7, 9, 45)), [first], RULES)
    check_taxpayer_limits((at(7, 9, 30), at(7, 10)), [first], RULES)  # back to back is fine
    held = [(at(d, 9), at(d, 9, 30)) for d in (7, 8, 9)]
    with pytest.raises(LimitReached) as full:
        check_taxpayer_limits((at(10, 9), at(10, 9, 30)), held, RULES)
    assert (full.value.held, full.value.limit) == (3, RULES.max_open_bookings)


def test_taxpayer_ids_carry_their_check_character():
    head = "91370704MA3C00001"
    good = head + uscc.calc_check_digit(head)
    assert taxpayer_id_problem(good) is None
    wrong = good[:-1] + ("0" if good[-1] != "0" else "1")
    assert taxpayer_id_problem(wrong) is not None
    assert "18" in (taxpayer_id_problem("123") or "")


def test_mobile_numbers_are_normalised_or_refused():
    assert normalise_mobile("138 0013 8000") == "13800138000"
    assert normalise_mobile("+86 138-0013-8000") == "13800138000"
    with pytest.raises(ValueError):
        normalise_mobile("12345")
