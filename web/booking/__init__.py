"""Booking: slots taxpayers book, with lookup, cancel and reschedule by code and phone."""
