"""gunicorn settings for taxvan: `gunicorn -c gunicorn.conf.py app:app` (what scripts/demo runs).

Booking rate limits must be counted once for the whole server, not once per process. With
`REDIS_URL` the counts live in Redis and every worker process shares them, so the server runs
`WEB_CONCURRENCY` processes (default 2). Without it Flask-Limiter counts in memory, which each
process keeps for itself, so the server runs one process with threads: one count, and a second
worker process is refused at start rather than silently doubling the limit.
"""

from __future__ import annotations

import os
import sys
from typing import Any

_REDIS = bool(os.environ.get("REDIS_URL", "").strip())

bind = "127.0.0.1:5000"
workers = int(os.environ.get("WEB_CONCURRENCY", "2")) if _REDIS else 1
threads = int(os.environ.get("TAXVAN_THREADS", "8"))
# One line a request costs the serving process about a tenth of a booking's CPU (gunicorn formats
# and writes it under the logging lock). The reverse proxy in front logs requests anyway; set
# TAXVAN_ACCESS_LOG (a file, or "-" for standard output) to have gunicorn log them too.
accesslog = os.environ.get("TAXVAN_ACCESS_LOG", "").strip() or None
# gunicorn would believe X-Forwarded-Proto from 127.0.0.1; the app believes proxies only as
# TAXVAN_PROXIES says (Werkzeug's ProxyFix), so gunicorn believes none.
secure_scheme_headers: dict[str, str] = {}
forwarded_allow_ips = ""
# gunicorn 27's control socket is one path per user (~/.gunicorn): a second server on the machine
# would take it over; the site does not use it.
control_socket_disable = True


def on_starting(server: Any) -> None:
    """Refuse several worker processes that would each count the rate limits on their own."""
    if server.cfg.workers > 1 and not _REDIS:
        sys.exit(
            f"taxvan: {server.cfg.workers} worker processes would each keep their own rate-limit "
            "counts in memory; set REDIS_URL to share them, or run one worker with threads "
            "(--workers 1 --threads N)"
        )
