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
