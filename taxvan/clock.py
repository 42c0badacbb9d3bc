"""Times of day as whole minutes since midnight, shown to people as HH:MM.

All times are China time (Asia/Shanghai); the domain never converts zones.
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")
"""China's one time zone (UTC+8 all year, no daylight saving): every date and time the
project shows, publishes or compares is in it. `CHINA.key` names it in files."""


GRID_MINUTES = 15
"""Published times sit on this grid so that people can remember them."""

_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def parse_hhmm(text: str) -> int:
    """`"08:30"` -> 510. Raises ValueError with the offending text."""
    m = _HHMM.match(str(text).strip())
    if not m:
        raise ValueError(f"'{text}' is not a time of day as HH:MM")
    return int(m.group(1)) * 60 + int(m.group(2))


def hhmm(minutes: int) -> str:
    """510 -> `"08:30"`."""
    if minutes < 0 or minutes >= 24 * 60:
        raise ValueError(f"{minutes} minutes is outside one day")
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def on_grid(minutes: int, grid: int = GRID_MINUTES) -> bool:
    return minutes % grid == 0


def ceil_to_grid(minutes: int, grid: int = GRID_MINUTES) -> int:
    return -(-minutes // grid) * grid


def floor_to_grid(minutes: int, grid: int = GRID_MINUTES) -> int:
    return minutes // grid * grid
