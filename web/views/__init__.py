"""What the app answers over HTTP: the public site, bookings, the API and the console."""
