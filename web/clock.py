"""The app's one clock: what time it is, China time.

`china_now` is the time every rule reads (booking windows, what is upcoming, when a change was
made). Tests and a demo frozen in time set `TAXVAN_CLOCK` (a callable) to move it; outside an
app context it is the real time. `wall_now` is the same real time as a naive value, for what
measures living processes (a plan job's heartbeat): a frozen demo clock must not make a
running worker look dead.
"""

from __future__ import annotations

import datetime as dt

from flask import current_app

from taxvan.clock import CHINA


def china_now() -> dt.datetime:
    """Now, China time (aware): the app's clock, `TAXVAN_CLOCK` when set."""
    try:
        clock = current_app.config.get("TAXVAN_CLOCK")
    except RuntimeError:  # outside an app context
        clock = None
    return clock() if clock else dt.datetime.now(CHINA)


def wall_now() -> dt.datetime:
    """Real time, China, naive: for heartbeats, never the frozen clock."""
    return dt.datetime.now(CHINA).replace(tzinfo=None)
