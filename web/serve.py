"""Serve the site: `python -m web.serve [--bind HOST:PORT] [--workers N]` (what scripts/demo runs).

The server is Granian, an HTTP server written in Rust that runs the Flask app in worker
processes with a pool of Python threads each. In the booking bench (`bench/booking.py`, same
machine, same run) it serves about half as many bookings again as gunicorn's threaded workers did
and spends about a quarter less CPU on each: the HTTP parsing and the hand-off between threads
that gunicorn does in Python happen in Rust here.

Booking rate limits must be counted once for the whole server, not once per process. With
`REDIS_URL` the counts live in Redis and every worker process shares them, so the server runs
`WEB_CONCURRENCY` processes (default 2). Without it Flask-Limiter counts in memory, which each
process keeps for itself, so the server runs one process with threads: one count, and asking for
more worker processes is refused at start rather than silently multiplying the limit.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
"""The checkout: `app.py` (the app Granian serves) lies there."""


ACCESS_FORMAT = '%(time)s %(addr)s "%(method)s %(path)s %(protocol)s" %(status)d %(dt_ms).1f ms'


class ServeError(Exception):
    """A serving set-up that would break a promise of the site (one rate-limit count)."""


@dataclass(frozen=True)
class ServePlan:
    """How many processes and threads serve, where, and where requests are logged."""

    host: str
    port: int
    workers: int
    threads: int
    access_log: str | None
    """None: no access log; "-": standard output; otherwise a file."""


def _positive(name: str, text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ServeError(f"{name} must be a whole number, not {text!r}") from None
    if value < 1:
        raise ServeError(f"{name} must be at least 1, not {value}")
    return value


def _address(bind: str) -> tuple[str, int]:
    host, sep, port = bind.rpartition(":")
    if not sep or not host:
        raise ServeError(f"--bind takes HOST:PORT (e.g. 127.0.0.1:5000), not {bind!r}")
    return host.strip("[]"), _positive("the port in --bind", port)


STOP_SECONDS = 5
"""On a stop, a worker still running after this long is killed. A worker that has served its
last request sometimes misses Granian's stop signal and would wait for ever (seen with two
workers: a second SIGTERM ends it); everything it had to serve is served by then."""

SERVER_THREADS = 8
"""Threads of the whole server by default, split over its worker processes."""


def default_threads(workers: int, cores: int | None = None) -> int:
    """Enough threads that a slow page (an export, a map) does not hold up bookings, few enough
    that the threads of one process do not queue for Python's interpreter lock: in the booking
    bench two processes of four threads served more bookings, on less CPU each, than two of
    eight. At most two a core and one (Granian warns above that)."""
    cores = cores or os.cpu_count() or 1
    return max(2, min(-(-SERVER_THREADS // workers), 2 * cores + 1))


def serve_plan(
    env: Mapping[str, str], bind: str = "127.0.0.1:5000", workers: int | None = None
) -> ServePlan:
    """The serving set-up the environment asks for, or a `ServeError` saying what is wrong."""
    redis = bool(env.get("REDIS_URL", "").strip())
    if workers is not None and workers < 1:
        raise ServeError(f"--workers must be at least 1, not {workers}")
    if workers is None:
        workers = _positive("WEB_CONCURRENCY", env.get("WEB_CONCURRENCY", "2")) if redis else 1
    if workers > 1 and not redis:
        raise ServeError(
            f"{workers} worker processes would each keep their own rate-limit counts in memory; "
            "set REDIS_URL to share them, or run one worker with threads "
            "(--workers 1, TAXVAN_THREADS=N)"
        )
    host, port = _address(bind)
    threads = env.get("TAXVAN_THREADS", "").strip()
    return ServePlan(
        host=host,
        port=port,
        workers=workers,
        threads=_positive("TAXVAN_THREADS", threads) if threads else default_threads(workers),
        access_log=env.get("TAXVAN_ACCESS_LOG", "").strip() or None,
    )


def _logging(access_log: str | None) -> dict[str, Any]:
    """Granian's own lines and every warning on standard error; requests (a line each) nowhere,
    on standard output or in a file. A line a request costs the serving process CPU on every
    request, and the reverse proxy in front logs requests anyway."""
    plain = {"()": "logging.Formatter", "fmt": "%(message)s"}
    handlers: dict[str, Any] = {
        "console": {
            "formatter": "generic",
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
        }
    }
    if access_log == "-":
        handlers["access"] = {
            "formatter": "access",
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
        }
    elif access_log:
        handlers["access"] = {
            "formatter": "access",
            "class": "logging.FileHandler",
            "filename": access_log,
        }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "generic": {"()": "logging.Formatter", "fmt": "[%(levelname)s] %(message)s"},
            "access": plain,
        },
        "handlers": handlers,
        # Warnings of the app and its libraries (the rate limit counting in memory while Redis
        # is unreachable, a failed job) on standard error too, not lost.
        "root": {"handlers": ["console"], "level": "WARNING"},
        "loggers": {
            "_granian": {"handlers": ["console"], "level": "INFO", "propagate": False},
            "granian.access": {
                "handlers": ["access"] if access_log else [],
                "level": "INFO",
                "propagate": False,
            },
        },
    }


def serve(plan: ServePlan) -> None:
    """Run the site as `plan` says until the server is stopped (Ctrl+C or SIGTERM)."""
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces

    if plan.access_log and plan.access_log != "-":
        try:
            open(plan.access_log, "a").close()
        except OSError as exc:
            raise ServeError(
                f"TAXVAN_ACCESS_LOG: cannot write {plan.access_log}: {exc.strerror}"
            ) from None
    # The worker processes read it too: one database connection kept per serving thread.
    os.environ["TAXVAN_THREADS"] = str(plan.threads)
    Granian(
        "app:app",
        address=plan.host,
        port=plan.port,
        interface=Interfaces.WSGI,
        http=HTTPModes.http1,  # what the reverse proxy speaks to it; no cleartext HTTP/2
        workers=plan.workers,
        blocking_threads=plan.threads,
        websockets=False,
        respawn_failed_workers=True,
        workers_kill_timeout=STOP_SECONDS,
        working_dir=ROOT,
        log_dictconfig=_logging(plan.access_log),
        log_access=plan.access_log is not None,
        log_access_format=ACCESS_FORMAT,
    ).serve()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m web.serve",
        description="Serve the taxvan site (Granian). Settings: REDIS_URL (shared rate-limit "
        "counts, needed for more than one worker process), WEB_CONCURRENCY (worker processes "
        "with Redis, default 2), TAXVAN_THREADS (threads a process; by default 8 split over "
        "the processes), "
        "TAXVAN_ACCESS_LOG (a file, or - for standard output; default none).",
    )
    parser.add_argument("--bind", default="127.0.0.1:5000", help="HOST:PORT (default %(default)s)")
    parser.add_argument(
        "--workers", type=int, help="worker processes (default: WEB_CONCURRENCY with Redis, else 1)"
    )
    args = parser.parse_args(argv)
    try:
        plan = serve_plan(os.environ, args.bind, args.workers)
        print(
            f"taxvan: serving on http://{plan.host}:{plan.port} with {plan.workers} process(es) "
            f"of {plan.threads} threads",
            file=sys.stderr,
            flush=True,
        )
        serve(plan)
    except ServeError as exc:
        print(f"taxvan: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
