"""A taxpayer's bookings: book, look up, move, cancel."""
