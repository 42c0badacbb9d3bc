"""Configuration in one place: defaults that work out of the box, overridable by environment.

Only this module reads the environment; the domain and the planner take explicit arguments.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

REPO_DATA = Path(__file__).resolve().parent.parent / "data" / "fangzi"


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def _default_data() -> str:
    local = Path("data/fangzi")
    return str(local if local.is_dir() else REPO_DATA)


@dataclass(frozen=True)
class Config:
    """Settings of the CLI and the app. Each field names the variable that overrides it."""

    data_dir: str = field(default_factory=lambda: _env("TAXVAN_DATA", _default_data()))
    time_limit_s: float = field(default_factory=lambda: float(_env("TAXVAN_TIME_LIMIT", "10")))
    workers: int = field(
        default_factory=lambda: int(_env("TAXVAN_WORKERS", str(min(2, os.cpu_count() or 1))))
    )
    """Solver searches run side by side (one per core); the best plan wins."""
    matrix: str = field(default_factory=lambda: _env("TAXVAN_MATRIX", "geodesic"))
    osrm_url: str = field(default_factory=lambda: _env("TAXVAN_OSRM_URL", ""))
    circuity: float = field(default_factory=lambda: float(_env("TAXVAN_CIRCUITY", "1.35")))
    speeds: str = field(default_factory=lambda: _env("TAXVAN_SPEEDS", "2:20,8:35,55"))
    remote_threshold_min: float = field(
        default_factory=lambda: float(_env("TAXVAN_REMOTE_THRESHOLD", "60"))
    )
    service_share: float = field(default_factory=lambda: float(_env("TAXVAN_SERVICE_SHARE", "0.6")))
    tiles: str = field(default_factory=lambda: _env("TAXVAN_TILES", "osm"))
    tile_url: str = field(default_factory=lambda: _env("TAXVAN_TILE_URL", ""))
    tile_key: str = field(default_factory=lambda: _env("TAXVAN_TILE_KEY", ""))
    cache_dir: str = field(
        default_factory=lambda: _env(
            "TAXVAN_CACHE_DIR",
            str(Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")).expanduser() / "taxvan"),
        )
    )
    database_url: str = field(default_factory=lambda: _env("DATABASE_URL", ""))
    redis_url: str = field(default_factory=lambda: _env("REDIS_URL", ""))
    secret_key: str = field(default_factory=lambda: _env("TAXVAN_SECRET_KEY", ""))
    slot_minutes: int = field(default_factory=lambda: int(_env("TAXVAN_SLOT_MINUTES", "15")))
    walkin_share: float = field(default_factory=lambda: float(_env("TAXVAN_WALKIN_SHARE", "0.3")))
    booking_opens_days: int = field(
        default_factory=lambda: int(_env("TAXVAN_BOOKING_OPENS_DAYS", "14"))
    )
    booking_closes_hours: float = field(
        default_factory=lambda: float(_env("TAXVAN_BOOKING_CLOSES_HOURS", "2"))
    )
    max_open_bookings: int = field(
        default_factory=lambda: int(_env("TAXVAN_MAX_OPEN_BOOKINGS", "3"))
    )
    booking_rate: str = field(default_factory=lambda: _env("TAXVAN_BOOKING_RATE", "20 per minute"))
    hotline: str = field(default_factory=lambda: _env("TAXVAN_HOTLINE", "12366"))
    max_request_bytes: int = field(
        default_factory=lambda: int(_env("TAXVAN_MAX_REQUEST_BYTES", str(1024 * 1024)))
    )
    """Largest request body read at all; a larger one is refused (413) before it is parsed."""
    frozen_now: str = field(default_factory=lambda: _env("TAXVAN_NOW", ""))
    """An ISO date-time (China time) the app takes as now: for demos and benchmarks only."""
