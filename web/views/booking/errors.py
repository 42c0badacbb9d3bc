"""The booking domain's errors as the web shows them: HTTP status and translated text.

The one place that maps each `BookingError` type to what a person (page) or a program (API)
sees, from the data the error carries, never from its English message.
"""

from __future__ import annotations

import functools
from typing import Any

from flask_babel import format_datetime
from flask_babel import gettext as _

from taxvan.booking import (
    BookingClosed,
    BookingError,
    BookingNotFound,
    DoesNotFit,
    InvalidFields,
    LimitReached,
    NotActive,
    NotOpenYet,
    OverlappingBooking,
    PlaceTaken,
    VisitCancelled,
    VisitEnded,
)
from taxvan.clock import hhmm


def http_status(exc: BookingError) -> int:
    """404 when no booking matches, 422 for a malformed request, 409 for every refusal of a
    well-formed request (taken, closed, not open yet, limit, overlap, not active)."""
    if isinstance(exc, BookingNotFound):
        return 404
    if isinstance(exc, InvalidFields):
        return 422
    return 409


ERROR_KINDS: dict[type[BookingError], str] = {
    PlaceTaken: "place_taken",
    NotOpenYet: "not_open_yet",
    BookingClosed: "booking_closed",
    DoesNotFit: "does_not_fit",
    OverlappingBooking: "overlapping_booking",
    LimitReached: "limit_reached",
    BookingNotFound: "not_found",
    NotActive: "not_active",
    InvalidFields: "invalid_fields",
    VisitCancelled: "visit_cancelled",
    VisitEnded: "visit_ended",
}
"""A stable machine-readable name of each reason, for API clients (the OpenAPI document lists
these)."""
OTHER_KIND = "booking_error"


def error_kind(exc: BookingError) -> str:
    return ERROR_KINDS.get(type(exc), OTHER_KIND)


@functools.singledispatch
def user_message(exc: BookingError) -> str:
    """The reason in the request's language (Chinese by default); one function per kind of
    error below."""
    return str(exc)


@user_message.register
def _place_taken(exc: PlaceTaken) -> str:
    if exc.fully_booked:
        return _("This time is no longer available, and this visit is fully booked.")
    return _("This time is no longer available.")


@user_message.register
def _not_open_yet(exc: NotOpenYet) -> str:
    return _(
        "Booking for this visit opens on %(when)s.",
        when=format_datetime(exc.opens, "yyyy-MM-dd HH:mm"),
    )


@user_message.register
def _booking_closed(exc: BookingClosed) -> str:
    return _("Booking for this time has closed.")


@user_message.register
def _does_not_fit(exc: DoesNotFit) -> str:
    return _(
        "This service does not fit before the van leaves at %(end)s; choose an earlier time.",
        end=hhmm(exc.visit_end),
    )


@user_message.register
def _visit_cancelled(exc: VisitCancelled) -> str:
    from web.operations.disruptions import (
        reason_text,  # the reasons' texts live with the disruptions
    )

    return _(
        "This visit is cancelled (%(reason)s); it cannot be booked. "
        "Choose another visit of this stop.",
        reason=reason_text(exc.reason, exc.note),
    )


@user_message.register
def _visit_ended(exc: VisitEnded) -> str:
    return _(
        "This visit ended at %(when)s; it cannot be booked. Choose another visit of this stop.",
        when=format_datetime(exc.ended, "yyyy-MM-dd HH:mm"),
    )


@user_message.register
def _overlapping(exc: OverlappingBooking) -> str:
    return _("You already have a booking at an overlapping time.")


@user_message.register
def _limit_reached(exc: LimitReached) -> str:
    return _("You already hold the most open bookings allowed.")


@user_message.register
def _not_found(exc: BookingNotFound) -> str:
    return _("No booking matches this code and phone number.")


@user_message.register
def _not_active(exc: NotActive) -> str:
    if exc.status == "cancelled":
        return _("This booking is already cancelled.")
    return _("This booking was moved to another time already.")


@user_message.register
def _invalid_fields(exc: InvalidFields) -> str:
    if set(exc.errors) <= {"target", "visit_id", "start"}:
        return _("The new time is not one of the times offered; choose one from the list.")
    return _("Some fields are not valid.")


def error_json(exc: BookingError) -> dict[str, Any]:
    """The API's error body: the reason's kind, the domain's English message (the API's
    language, stable for programs) and the data the error carries."""
    body: dict[str, Any] = {"error": error_kind(exc), "message": str(exc)}
    if isinstance(exc, PlaceTaken):
        body["alternatives"] = exc.alternatives
    elif isinstance(exc, InvalidFields):
        body["errors"] = exc.errors
    elif isinstance(exc, NotOpenYet):
        body["opens"] = exc.opens.isoformat()
    elif isinstance(exc, LimitReached):
        body["held"], body["limit"] = exc.held, exc.limit
    elif isinstance(exc, VisitCancelled):
        body["reason"] = exc.reason
    elif isinstance(exc, VisitEnded):
        body["ended"] = exc.ended.isoformat()
    return body
