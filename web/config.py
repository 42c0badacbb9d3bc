"""Configuration in one place: defaults that work out of the box, overridable by environment.

Only this module reads the environment; the domain and the planner take explicit arguments.
Each default is the one of the planner's or the domain's own type (`PlanSettings`,
`SearchParams`, `GeodesicProvider` and its `SpeedProfile`, `BookingRules`), read from it
here, so a default is written down once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from routes.engine import SearchParams, default_workers
from routes.matrix import GeodesicProvider
from routes.problem import PlanSettings
from taxvan.booking import BookingRules
from taxvan.io.guards import FileLimits

PLAN = PlanSettings()
SEARCH = SearchParams()
TRAVEL = GeodesicProvider()
BOOKING = BookingRules()
FILES = FileLimits()

REPO_DATA = Path(__file__).resolve().parent.parent / "data" / "fangzi"


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def user_cache_dir() -> str:
    """The `taxvan` command's cache folder when `TAXVAN_CACHE_DIR` is unset: the user's."""
    return str(Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")).expanduser() / "taxvan")


def _default_data() -> str:
    local = Path("data/fangzi")
    return str(local if local.is_dir() else REPO_DATA)


@dataclass(frozen=True)
class Config:
    """Settings of the CLI and the app. Each field names the variable that overrides it."""

    data_dir: str = field(default_factory=lambda: _env("TAXVAN_DATA", _default_data()))
    time_limit_s: float = field(
        default_factory=lambda: float(_env("TAXVAN_TIME_LIMIT", str(SEARCH.time_limit_s)))
    )
    workers: int = field(
        default_factory=lambda: int(_env("TAXVAN_WORKERS", str(default_workers())))
    )
    """Solver searches run side by side (one per core); the best plan wins."""
    matrix: str = field(default_factory=lambda: _env("TAXVAN_MATRIX", "geodesic"))
    osrm_url: str = field(default_factory=lambda: _env("TAXVAN_OSRM_URL", ""))
    circuity: float = field(
        default_factory=lambda: float(_env("TAXVAN_CIRCUITY", str(TRAVEL.circuity)))
    )
    speeds: str = field(default_factory=lambda: _env("TAXVAN_SPEEDS", TRAVEL.profile.text()))
    remote_threshold_min: float = field(
        default_factory=lambda: float(
            _env("TAXVAN_REMOTE_THRESHOLD", str(PLAN.remote_threshold_min))
        )
    )
    service_share: float = field(
        default_factory=lambda: float(_env("TAXVAN_SERVICE_SHARE", str(PLAN.service_share)))
    )
    stop_choice: str = field(default_factory=lambda: _env("TAXVAN_STOP_CHOICE", PLAN.stop_choice))
    """Which stops get visits: "covering" (for coverage) or "catchment" (each by its own)."""
    learning: bool = field(
        default_factory=lambda: (
            _env("TAXVAN_LEARNING", "1").strip().lower() not in ("0", "false", "no", "off")
        )
    )
    """Plans learn from the crew's records: a stop whose recorded demand (bookings, walk-ins,
    people turned away) is clearly not what the registry says gets visits sized by it."""
    learning_weeks: int = field(default_factory=lambda: int(_env("TAXVAN_LEARNING_WEEKS", "8")))
    """Weeks of records a plan learns from (the most recent ones)."""
    learning_min_weeks: int = field(
        default_factory=lambda: int(_env("TAXVAN_LEARNING_MIN_WEEKS", "4"))
    )
    """Weeks with records a stop needs before its visits may change."""
    tiles: str = field(
        default_factory=lambda: _env(
            "TAXVAN_TILES", "tianditu" if _env("TAXVAN_TILE_KEY", "") else "none"
        )
    )
    """The base map: "tianditu" (China's approved base map, with `TAXVAN_TILE_KEY`), "osm", or
    "none" (the map draws its own base from the district's data). Tianditu when a key is set,
    else none: a map published in China must not show an unapproved base map."""
    tile_url: str = field(default_factory=lambda: _env("TAXVAN_TILE_URL", ""))
    tile_key: str = field(default_factory=lambda: _env("TAXVAN_TILE_KEY", ""))
    """The Tianditu key ("browser" type): it is part of every tile URL the browser asks for."""
    map_review_number: str = field(default_factory=lambda: _env("TAXVAN_MAP_REVIEW_NUMBER", ""))
    """The base map's review number (审图号) as its provider publishes it, e.g. "GS(2024)0568号":
    shown in the map's attribution and on the posters when set, never made up."""
    cache_dir: str = field(default_factory=lambda: _env("TAXVAN_CACHE_DIR", ""))
    """Where the planner keeps travel-time matrices and weekly templates. Unset, the app keeps
    them in its instance folder (`planner-cache/`), so two installations on one machine never
    share them; the `taxvan` command in the user's cache folder (`user_cache_dir()`)."""
    districts_dir: str = field(default_factory=lambda: _env("TAXVAN_DISTRICTS_DIR", ""))
    """Where the data folders of districts created in the console go (one folder per district
    code). Unset, the app keeps them in its instance folder (`districts/`); like the data
    folders of imported districts, planning workers on other machines must reach it."""
    database_url: str = field(default_factory=lambda: _env("DATABASE_URL", ""))
    db_pool_size: int = field(
        default_factory=lambda: int(_env("TAXVAN_DB_POOL_SIZE", _env("TAXVAN_THREADS", "8")))
    )
    """PostgreSQL connections each process keeps open: by default one per serving thread
    (`TAXVAN_THREADS`, as `web.serve` runs), so no request opens a connection of its own."""
    redis_url: str = field(default_factory=lambda: _env("REDIS_URL", ""))
    ratelimit_prefix: str = field(default_factory=lambda: _env("TAXVAN_RATELIMIT_PREFIX", "taxvan"))
    """Prefix of the rate-limit keys in Redis, so several sites can share one Redis."""
    secret_key: str = field(default_factory=lambda: _env("TAXVAN_SECRET_KEY", ""))
    slot_minutes: int = field(
        default_factory=lambda: int(_env("TAXVAN_SLOT_MINUTES", str(BOOKING.slot_minutes)))
    )
    walkin_share: float = field(
        default_factory=lambda: float(_env("TAXVAN_WALKIN_SHARE", str(BOOKING.walkin_share)))
    )
    booking_opens_days: int = field(
        default_factory=lambda: int(
            _env("TAXVAN_BOOKING_OPENS_DAYS", str(BOOKING.opens_days_before))
        )
    )
    booking_closes_hours: float = field(
        default_factory=lambda: float(
            _env("TAXVAN_BOOKING_CLOSES_HOURS", str(BOOKING.closes_hours_before))
        )
    )
    max_open_bookings: int = field(
        default_factory=lambda: int(
            _env("TAXVAN_MAX_OPEN_BOOKINGS", str(BOOKING.max_open_bookings))
        )
    )
    booking_rate: str = field(default_factory=lambda: _env("TAXVAN_BOOKING_RATE", "20 per minute"))
    hotline: str = field(default_factory=lambda: _env("TAXVAN_HOTLINE", "12366"))
    public_url: str = field(default_factory=lambda: _env("TAXVAN_PUBLIC_URL", ""))
    """The address the public reaches the site at (e.g. https://van.example.gov.cn): every
    absolute link (QR codes, posters, .ics feeds) is built from it, never from the Host header."""
    trusted_hosts: str = field(default_factory=lambda: _env("TAXVAN_TRUSTED_HOSTS", ""))
    """Comma-separated hosts served; other Host headers get 400 (local names by default when
    TAXVAN_PUBLIC_URL is unset)."""
    proxies: int = field(default_factory=lambda: int(_env("TAXVAN_PROXIES", "0")))
    """Reverse proxies in front of the app whose X-Forwarded-For/-Proto/-Host are believed."""
    max_request_bytes: int = field(
        default_factory=lambda: int(_env("TAXVAN_MAX_REQUEST_BYTES", str(1024 * 1024)))
    )
    """Largest request body read at all; a larger one is refused (413) before it is parsed."""
    max_upload_bytes: int = field(
        default_factory=lambda: int(_env("TAXVAN_MAX_UPLOAD_BYTES", str(20 * 1024 * 1024)))
    )
    """Largest console upload (a district's files together); larger is refused with 413."""
    import_unpacked_bytes: int = field(
        default_factory=lambda: int(_env("TAXVAN_IMPORT_UNPACKED_BYTES", str(FILES.unpacked_bytes)))
    )
    """What one imported workbook (a zip archive) may unpack to; checked before it is read."""
    import_rows: int = field(
        default_factory=lambda: int(_env("TAXVAN_IMPORT_ROWS", str(FILES.rows)))
    )
    """Records one data file (CSV or workbook) may hold; checked before it is read."""
    import_cells: int = field(
        default_factory=lambda: int(_env("TAXVAN_IMPORT_CELLS", str(FILES.cells)))
    )
    """Cells one workbook's sheet may hold; checked before it is read."""
    import_json_bytes: int = field(
        default_factory=lambda: int(_env("TAXVAN_IMPORT_JSON_BYTES", str(FILES.json_bytes)))
    )
    """Size of an outline (GeoJSON) file."""
    import_json_depth: int = field(
        default_factory=lambda: int(_env("TAXVAN_IMPORT_JSON_DEPTH", str(FILES.json_depth)))
    )
    """How deeply an outline's arrays and objects may nest; checked before it is parsed."""
    sms_url: str = field(default_factory=lambda: _env("TAXVAN_SMS_URL", ""))
    """The SMS gateway notices are posted to; unset, notices stay in the outbox."""
    sms_token: str = field(default_factory=lambda: _env("TAXVAN_SMS_TOKEN", ""))
    """Sent as `Authorization: Bearer <token>` to the gateway."""
    sms_timeout: float = field(default_factory=lambda: float(_env("TAXVAN_SMS_TIMEOUT", "10")))
    """Seconds to wait for the gateway to answer one notice."""
    sms_max_attempts: int = field(default_factory=lambda: int(_env("TAXVAN_SMS_MAX_ATTEMPTS", "8")))
    sms_retry_seconds: float = field(
        default_factory=lambda: float(_env("TAXVAN_SMS_RETRY_SECONDS", "60"))
    )
    """Wait after the first failed attempt; it doubles after each further one (at most 6 h)."""
    sms_claim_minutes: float = field(
        default_factory=lambda: float(_env("TAXVAN_SMS_CLAIM_MINUTES", "10"))
    )
    """A notice claimed by a delivery run that did not finish is taken back after this."""
    frozen_now: str = field(default_factory=lambda: _env("TAXVAN_NOW", ""))
    """An ISO date-time (China time) the app takes as now: for demos and benchmarks only."""
    signin_rate: str = field(
        default_factory=lambda: _env("TAXVAN_SIGNIN_RATE", "5 per minute; 20 per hour")
    )
    """Failed console sign-ins allowed per user name and client address together: failures from
    other addresses never lock the owner out at their own."""
    signin_address_rate: str = field(
        default_factory=lambda: _env("TAXVAN_SIGNIN_ADDRESS_RATE", "20 per minute; 100 per hour")
    )
    """Failed console sign-ins allowed per client address, whatever the names (an office may
    share one address)."""
    session_idle_minutes: float = field(
        default_factory=lambda: float(_env("TAXVAN_SESSION_IDLE_MINUTES", "30"))
    )
    """A console session ends after this long without a request."""
    crew_session_idle_minutes: float = field(
        default_factory=lambda: float(_env("TAXVAN_CREW_SESSION_IDLE_MINUTES", "240"))
    )
    """A van crew's session ends after this long without a request: the phone lies in the van
    through a long stop or a drive; `session_max_hours` still ends it."""
    session_max_hours: float = field(
        default_factory=lambda: float(_env("TAXVAN_SESSION_MAX_HOURS", "12"))
    )
    """A console session ends this long after signing in, however busy."""
    door_answer_days: int = field(default_factory=lambda: int(_env("TAXVAN_DOOR_ANSWER_DAYS", "3")))
    """Working days within which the bureau answers a door-to-door request (told to the firm)."""
    queue_name: str = field(default_factory=lambda: _env("TAXVAN_QUEUE", "taxvan-plans"))
    """The RQ queue console plans go to (with `REDIS_URL`); workers listen on it."""
    job_stale_s: float = field(
        default_factory=lambda: float(_env("TAXVAN_JOB_STALE_SECONDS", "60"))
    )
    """A running plan whose worker has not reported for this long is taken as dead (killed,
    crashed, the app restarted) and marked failed, so it can be retried."""

    @property
    def file_limits(self) -> FileLimits:
        """What a data file may hold (`taxvan.io.guards`), from the `import_*` settings."""
        return FileLimits(
            unpacked_bytes=self.import_unpacked_bytes,
            rows=self.import_rows,
            cells=self.import_cells,
            json_bytes=self.import_json_bytes,
            json_depth=self.import_json_depth,
        )
