"""The booking domain's errors as the web shows them: HTTP status and translated text.

The one place that maps each `BookingError` type to what a person (page) or a program (API)
sees, from the data the error carries, never from its English message.
"""

from __future__ import annotations

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
}
"""A stable machine-readable name of each reason, for API clients (the OpenAPI document lists
these)."""
OTHER_KIND = "booking_error"


def error_kind(exc: BookingError) -> str:
    return ERROR_KINDS.get(type(exc), OTHER_KIND)


def user_message(exc: BookingError) -> str:
    """The reason in the request's language (Chinese by default)."""
    if isinstance(exc, PlaceTaken):
        if exc.fully_booked:
            return _("This time is no longer available, and this visit is fully booked.")
        return _("This time is no longer available.")
    if isinstance(exc, NotOpenYet):
        return _(
            "Booking for this visit opens on %(when)s.",
            when=format_datetime(exc.opens, "yyyy-MM-dd HH:mm"),
        )
    if isinstance(exc, BookingClosed):
        return _("Booking for this time has closed.")
    if isinstance(exc, DoesNotFit):
        return _(
            "This service does not fit before the van leaves at %(end)s; choose an earlier time.",
            end=hhmm(exc.visit_end),
        )
    if isinstance(exc, VisitCancelled):
        from web.operations.disruptions import (
            reason_text,  # the reasons' texts live with the disruptions
        )

        return _(
            "This visit is cancelled (%(reason)s); it cannot be booked. "
            "Choose another visit of this stop.",
            reason=reason_text(exc.reason, exc.note),
        )
    if isinstance(exc, OverlappingBooking):
        return _("You already have a booking at an overlapping time.")
    if isinstance(exc, LimitReached):
        return _("You already hold the most open bookings allowed.")
    if isinstance(exc, BookingNotFound):
        return _("No booking matches this code and phone number.")
    if isinstance(exc, NotActive):
        if exc.status == "cancelled":
            return _("This booking is already cancelled.")
        return _("This booking was moved to another time already.")
    if isinstance(exc, InvalidFields):
        if set(exc.errors) <= {"target", "visit_id", "start"}:
            return _("The new time is not one of the times offered; choose one from the list.")
        return _("Some fields are not valid.")
    return str(exc)


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
    return body
