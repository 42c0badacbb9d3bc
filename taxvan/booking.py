"""Booking rules: how a published visit is cut into bookable places, and who may book them.

A visit's time is cut into slots (15 minutes by default) at each of the van's counters. A
service occupies as many consecutive slots at one counter as its minutes need. A share of the
counter-slots is kept for walk-ins and never offered; the kept slots are spread evenly over
the visit and staggered between counters, so walk-ins find a free counter at any time.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import phonenumbers
from stdnum.cn import ric, uscc

from taxvan.errors import TaxvanError


class BookingError(TaxvanError):
    """A booking cannot be made, moved or cancelled. Subclasses carry the data of the reason,
    so the web layer maps each to an HTTP status and a translated text without reading the
    English message."""


class InvalidFields(BookingError):
    """The request itself is wrong: {field: English message} for every bad field at once."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


class PlaceTaken(BookingError):
    """The place was free when the page was shown but someone else took it first.

    `alternatives` are the nearest start times still free (HH:MM); none means the visit is
    fully booked for this service.
    """

    def __init__(self, alternatives: Sequence[str] = ()) -> None:
        self.alternatives = list(alternatives)
        super().__init__(
            "this time is no longer available"
            if self.alternatives
            else "this time is no longer available, and the visit is fully booked"
        )

    @property
    def fully_booked(self) -> bool:
        return not self.alternatives


class NotOpenYet(BookingError):
    """Booking for this time opens later (`opens`, aware, the visit's zone)."""

    def __init__(self, opens: dt.datetime) -> None:
        self.opens = opens
        super().__init__(f"booking for this visit opens on {opens:%Y-%m-%d %H:%M}")


class BookingClosed(BookingError):
    """Booking for this time closed at `closes` (aware, the visit's zone)."""

    def __init__(self, closes: dt.datetime) -> None:
        self.closes = closes
        super().__init__("booking for this time has closed")


class DoesNotFit(BookingError):
    """The service would run past the end of the visit (`visit_end`, minutes since midnight)."""

    def __init__(self, visit_end: int) -> None:
        self.visit_end = visit_end
        super().__init__("the service does not fit before the van leaves; choose earlier")


class VisitCancelled(BookingError):
    """The visit was called off (a disruption: van out of service, weather, road closed...).

    `reason` is the disruption's reason code and `note` the dispatcher's words, if any."""

    def __init__(self, reason: str | None, note: str | None = None) -> None:
        self.reason = reason
        self.note = note
        super().__init__(
            "this visit is cancelled"
            + (f" ({reason}{': ' + note if note else ''})" if reason else "")
        )


class VisitEnded(BookingError):
    """The visit is over (`ended`, aware, the visit's zone): nothing of it can be booked and
    no one is served there any more, walk-ins included; the stop's next visit can be."""

    def __init__(self, ended: dt.datetime) -> None:
        self.ended = ended
        super().__init__(f"this visit ended at {ended:%Y-%m-%d %H:%M}")


class OverlappingBooking(BookingError):
    """The taxpayer already holds a booking at an overlapping time (`other`: its start, end)."""

    def __init__(self, other: tuple[dt.datetime, dt.datetime]) -> None:
        self.other = other
        super().__init__("you already have a booking at an overlapping time")


class LimitReached(BookingError):
    """The taxpayer already holds `held` open bookings and `limit` are allowed."""

    def __init__(self, held: int, limit: int) -> None:
        self.held = held
        self.limit = limit
        super().__init__(f"you already hold {held} open bookings, the most allowed")


class BookingNotFound(BookingError):
    """No booking has this code and phone number; the same error for either, on purpose."""

    def __init__(self) -> None:
        super().__init__("no booking with this code and phone number")


class NotActive(BookingError):
    """The booking was cancelled or moved already (`status`), so it cannot change again."""

    def __init__(self, code: str, status: str) -> None:
        self.code = code
        self.status = status
        super().__init__(
            "this booking is already cancelled"
            if status == "cancelled"
            else f"this booking was already {status}"
        )


@dataclass(frozen=True, slots=True)
class BookingRules:
    slot_minutes: int = 15
    walkin_share: float = 0.3
    opens_days_before: int = 14
    closes_hours_before: float = 2.0
    max_open_bookings: int = 3

    def __post_init__(self) -> None:
        if not 0 <= self.walkin_share < 1:
            raise ValueError("the walk-in share must be at least 0 and below 1")
        if self.slot_minutes <= 0 or self.opens_days_before < 0 or self.closes_hours_before < 0:
            raise ValueError("slot length and booking window must not be negative")


def slot_starts(start: int, end: int, slot_minutes: int) -> list[int]:
    """Start minutes of the whole slots between `start` and `end`."""
    return list(range(start, end - slot_minutes + 1, slot_minutes))


def walkin_slots(n_slots: int, counter: int, share: float) -> set[int]:
    """Slot indexes kept for walk-ins at `counter` (0-based): about `share` of them, evenly.

    Counter k is shifted by half a period against counter k-1, so walk-ins are never kept at
    every counter at the same time unless the share demands it.
    """
    if share <= 0 or n_slots == 0:
        return set()
    keep = math.ceil(n_slots * share - 1e-9)
    if keep == 0:  # a share so small it keeps no whole slot
        return set()
    period = n_slots / keep
    offset = (counter * period / 2) % period
    return {min(n_slots - 1, int(offset + i * period)) for i in range(keep)}


def slots_needed(service_minutes: int, slot_minutes: int) -> int:
    return max(1, -(-service_minutes // slot_minutes))


@dataclass(frozen=True, slots=True)
class Place:
    """A bookable start at one counter: slots `first` .. `first + length - 1`."""

    counter: int
    first: int
    length: int


def free_places(
    n_slots: int,
    counters: int,
    length: int,
    taken: Iterable[tuple[int, int]],
    walkin_share: float,
) -> list[Place]:
    """Every (counter, first slot) where `length` consecutive slots are bookable and free.

    `taken` holds (counter, slot index) pairs already booked.
    """
    busy = set(taken)
    places = []
    for c in range(counters):
        blocked = busy | {(c, i) for i in walkin_slots(n_slots, c, walkin_share)}
        for first in range(n_slots - length + 1):
            if all((c, first + k) not in blocked for k in range(length)):
                places.append(Place(c, first, length))
    return places


def booking_window(
    visit_start: dt.datetime, rules: BookingRules
) -> tuple[dt.datetime, dt.datetime]:
    """When booking a visit opens and closes (aware datetimes in the visit's zone)."""
    opens = visit_start - dt.timedelta(days=rules.opens_days_before)
    closes = visit_start - dt.timedelta(hours=rules.closes_hours_before)
    return opens, closes


def check_window(slot_start: dt.datetime, now: dt.datetime, rules: BookingRules) -> None:
    """Raise NotOpenYet or BookingClosed (with the moment) unless `now` is inside the window."""
    opens, closes = booking_window(slot_start, rules)
    if now < opens:
        raise NotOpenYet(opens)
    if now > closes:
        raise BookingClosed(closes)


def overlaps(a: tuple[dt.datetime, dt.datetime], b: tuple[dt.datetime, dt.datetime]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def check_taxpayer_limits(
    new: tuple[dt.datetime, dt.datetime],
    open_bookings: Sequence[tuple[dt.datetime, dt.datetime]],
    rules: BookingRules,
) -> None:
    """One taxpayer: no two bookings at overlapping times, at most N open bookings.

    Raises OverlappingBooking (with the other booking's times) or LimitReached (held, limit).
    The caller must hold the taxpayer's lock while `open_bookings` is read and the new booking
    written, or two requests arriving together both pass.
    """
    for b in open_bookings:
        if overlaps(new, b):
            raise OverlappingBooking(b)
    if len(open_bookings) >= rules.max_open_bookings:
        raise LimitReached(len(open_bookings), rules.max_open_bookings)


def taxpayer_id_problem(value: str) -> str | None:
    """Why `value` is not a valid taxpayer ID, or None when it is valid.

    Enterprises and individual businesses use the 18-character unified social credit code;
    a person may use the 18-digit resident ID number. Both carry a check character.
    """
    if len(value) != 18:
        return f"'{value}' has {len(value)} characters; a taxpayer ID has 18"
    if uscc.is_valid(value) or ric.is_valid(value):
        return None
    return f"'{value}' is neither a valid unified social credit code nor a resident ID number"


_SPACES = re.compile(r"[\s-]")


def normalise_mobile(text: str) -> str:
    """A Chinese mainland mobile number as 11 digits; raises ValueError if it is not one."""
    raw = _SPACES.sub("", text or "")
    try:
        number = phonenumbers.parse(raw, "CN")
    except phonenumbers.NumberParseException:
        raise ValueError("not a phone number") from None
    if number.country_code != 86 or not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid Chinese mainland number")
    if phonenumbers.number_type(number) not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        raise ValueError("not a mobile number")
    return str(number.national_number)
