"""Public pages: the week's schedule, stop pages, posters, feeds and open data."""
