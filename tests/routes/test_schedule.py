import pytest

from routes.schedule import schedule_day
from taxvan.errors import PlanningError
from tests.conftest import van

MIN = 60


def _matrix(minutes):
    """Symmetric seconds between depot 0 and nodes 1..n from minute distances."""
    return [[m * MIN for m in row] for row in minutes]


def test_visits_start_on_the_next_quarter_hour_after_arrival():
    sec = _matrix([[0, 20, 50], [20, 0, 7], [50, 7, 0]])
    s = schedule_day([1, 2], [45, 60], sec, van())
    # leave 08:30, arrive 08:50 -> start 09:00, end 09:45, +7 -> 09:52 -> start 10:00
    assert [(t.start, t.end) for t in s.visits] == [(540, 585), (600, 660)]
    assert s.visits[0].arrive == 530


def test_lunch_is_taken_on_the_drive_when_it_cannot_wait():
    sec = _matrix([[0, 10, 40], [10, 0, 40], [40, 40, 0]])
    # first visit 08:45-11:45; the next one would end after 12:30, so lunch comes first:
    # it starts at 11:45 on the 40-minute drive, the van arrives 13:25 and starts 13:30
    s = schedule_day([1, 2], [180, 60], sec, van())
    assert s.lunch_start == 11 * 60 + 45
    assert s.visits[1].start == 13 * 60 + 30


def test_route_that_overruns_the_shift_is_refused():
    sec = _matrix([[0, 60], [60, 0]])
    with pytest.raises(PlanningError, match="shift"):
        schedule_day([1], [180 + 180], sec, van())


def test_the_van_leaves_the_hall_when_it_must_not_at_the_start_of_the_shift():
    """Issue 9.7: 20 minutes from the hall to a 09:00 visit is a 08:40 departure."""
    sec = _matrix([[0, 20, 50], [20, 0, 7], [50, 7, 0]])
    s = schedule_day([1, 2], [45, 60], sec, van())
    assert s.visits[0].start == 9 * 60
    assert s.depart == 8 * 60 + 40


def test_a_first_visit_after_lunch_leaves_later_and_lunches_on_the_way():
    # 200 minutes away: lunch 11:30-12:30 on the drive, the visit at 13:00; leaving at
    # 08:40 still makes it (200 min of driving plus the hour of lunch)
    sec = _matrix([[0, 200], [200, 0]])
    s = schedule_day([1], [60], sec, van(shift=(8 * 60 + 30, 18 * 60)))
    assert s.visits[0].start == 13 * 60
    assert s.lunch_start == 11 * 60 + 30
    assert s.depart == 8 * 60 + 40
