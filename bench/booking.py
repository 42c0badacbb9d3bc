"""Booking throughput and latency on PostgreSQL, through the app and straight to the database.

Creates a PostgreSQL database of its own (dropped again at the end; nothing else on the server
is touched), publishes the demo week in it, serves the app as the README says
(`gunicorn -c gunicorn.conf.py`) on a free loopback port and lets C concurrent clients book
(and cancel again, so places never run out) for S seconds, with the booking rules as
configured by default (one taxpayer's limits included) and the booking rate limit counted on
every request. Then the same clients run the booking transaction directly on the database
(read the visit's claims, insert the booking and its claim under the unique key, commit),
and the figures are printed side by side with their ratio.

Serving set-up: by default the production one, `REDIS_URL` set (the bench's own key prefix
in the Redis at `--redis`, deleted at the end) and `--workers` processes (default 2, one per
core) of `--threads` threads sharing the rate-limit counts there; `--redis ''` measures the
set-up without Redis, one process with threads counting in memory.

    python bench/booking.py [--clients 16] [--seconds 15] [--workers 2] [--threads 8]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import psycopg
from stdnum.cn import uscc

ROOT = Path(__file__).resolve().parent.parent
PG_SERVER = os.environ.get("BENCH_PG_SERVER", "postgresql://postgres@127.0.0.1:5432")
"""The PostgreSQL server; the bench creates and drops its own database there."""
TAG = f"taxvan_bench_{os.getpid()}_{secrets.token_hex(4)}"
PG = f"{PG_SERVER}/{TAG}"
NOW = "2026-11-25T10:00:00"


def ids(n: int, tag: int) -> list[str]:
    heads = [f"92370704B{tag:02d}{i:06d}" for i in range(n)]
    return [h + uscc.calc_check_digit(h) for h in heads]


def own_database(action: str) -> None:
    """CREATE or DROP the bench's own database (named in PG) through the server's `postgres`."""
    name = PG.rsplit("/", 1)[1]
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as admin:
        if action == "create":
            admin.execute(f'CREATE DATABASE "{name}"')
        else:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def publish(env: dict[str, str]) -> None:
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    subprocess.run([*flask, "init-db"], env=env, check=True, capture_output=True, cwd=ROOT)
    subprocess.run(
        [*flask, "publish", "--week", "2026-W49", "--time-limit", "2"],
        env=env,
        check=True,
        capture_output=True,
        cwd=ROOT,
    )


def places() -> list[tuple[int, str]]:
    with psycopg.connect(PG) as conn:
        rows = conn.execute('SELECT id, start, "end" FROM visits').fetchall()
    return [
        (vid, f"{m // 60:02d}:{m % 60:02d}") for vid, s, e in rows for m in range(s, e - 15 + 1, 15)
    ]


def run_clients(client, clients: int) -> float:
    """Run `client(k)` for k in range(clients) on threads; the wall time they took."""
    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.monotonic() - t0


def summarise(label: str, lat: list[float], ok: int, refused: int, seconds: float) -> dict:
    if not lat:
        raise SystemExit(f"{label}: no request was counted (did the server or the clients fail?)")
    lat_ms = sorted(x * 1000 for x in lat)
    q = statistics.quantiles(lat_ms, n=100) if len(lat_ms) > 1 else [lat_ms[0]] * 99
    return {
        "label": label,
        "tx": len(lat),
        "per_s": len(lat) / seconds,
        "ok": ok,
        "refused": refused,
        "p50": q[49],
        "p95": q[94],
        "p99": q[98],
    }


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU the processes have used so far (Linux /proc)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(x) for x in text.split()]


def run_http(
    base: str,
    clients: int,
    seconds: float,
    targets: list[tuple[int, str]],
    warmup: float,
    server_pids: list[int],
) -> dict:
    """Each client keeps one HTTP/1.1 connection (as a browser does) and books, then cancels
    what it booked; only the booking requests are timed. The first `warmup` seconds are not
    counted (every worker loads its lazy imports and fills its caches then)."""
    lat: list[float] = []
    counts = {"ok": 0, "refused": 0, "other": 0}
    lock = threading.Lock()
    counted_from = time.monotonic() + warmup
    stop = counted_from + seconds
    host, port = base.removeprefix("http://").split(":")
    headers = {"Content-Type": "application/json"}

    def client(k: int) -> None:
        rnd = random.Random(k)
        my_ids = ids(5000, k)
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        i = 0
        while time.monotonic() < stop:
            visit_id, start = rnd.choice(targets)
            body = json.dumps(
                {
                    "visit_id": visit_id,
                    "start": start,
                    "service": "consult",
                    "taxpayer_id": my_ids[i % len(my_ids)],
                    "name": "bench",
                    "phone": "13800138000",
                }
            )
            i += 1
            t0 = time.monotonic()
            conn.request("POST", "/api/v1/bookings", body, headers)
            resp = conn.getresponse()
            answer = json.loads(resp.read())
            dt = time.monotonic() - t0
            status = resp.status
            if t0 >= counted_from:
                with lock:
                    lat.append(dt)
                    kind = "ok" if status == 201 else "refused" if status == 409 else "other"
                    counts[kind] += 1
            if status == 201:
                conn.request("DELETE", f"/api/v1/bookings/{answer['code']}?phone=13800138000")
                conn.getresponse().read()
        conn.close()

    cpu: list[float] = []

    def watch() -> None:
        time.sleep(max(0.0, counted_from - time.monotonic()))
        cpu.append(cpu_seconds(server_pids))
        time.sleep(max(0.0, stop - time.monotonic()))
        cpu.append(cpu_seconds(server_pids))

    watcher = threading.Thread(target=watch)
    watcher.start()
    elapsed = run_clients(client, clients) - warmup
    watcher.join()
    result = summarise(
        "app (gunicorn + Flask + SQLAlchemy)",
        lat,
        counts["ok"],
        counts["refused"],
        elapsed,
    )
    result["other"] = counts["other"]
    result["server_cpu_ms"] = (cpu[1] - cpu[0]) * 1000 / max(1, len(lat))
    return result


def run_raw(clients: int, seconds: float, targets: list[tuple[int, str]]) -> dict:
    """The same transaction in plain SQL: read claims, insert booking and claim, commit."""
    lat: list[float] = []
    counts = {"ok": 0, "refused": 0}
    lock = threading.Lock()
    stop = time.monotonic() + seconds
    with psycopg.connect(PG) as conn:
        meta = {
            vid: (s, c)
            for vid, s, c in conn.execute("SELECT id, start, counters FROM visits").fetchall()
        }

    def client(k: int) -> None:
        rnd = random.Random(1000 + k)
        n = 0
        with psycopg.connect(PG) as conn:
            while time.monotonic() < stop:
                visit_id, start = rnd.choice(targets)
                vstart, counters = meta[visit_id]
                h, m = map(int, start.split(":"))
                slot = (h * 60 + m - vstart) // 15
                t0 = time.monotonic()
                booked = None
                with conn.transaction():
                    taken = {
                        c
                        for (c,) in conn.execute(
                            "SELECT counter FROM slot_claims WHERE visit_id = %s AND slot = %s",
                            (visit_id, slot),
                        )
                    }
                    free = [c for c in range(counters) if c not in taken]
                    if free:
                        try:
                            with conn.transaction():
                                bid = conn.execute(
                                    "INSERT INTO bookings (code, visit_id, service_code, start, "
                                    '"end", counter, taxpayer_id, name, phone, status, '
                                    "created_at) VALUES (%s, %s, 'consult', %s, %s, %s, %s, "
                                    "'bench', '13800138000', 'active', now()) RETURNING id",
                                    (
                                        f"R{k:02d}{n:07d}"[:12],
                                        visit_id,
                                        h * 60 + m,
                                        h * 60 + m + 15,
                                        free[0],
                                        f"RAW{k:015d}"[:18],
                                    ),
                                ).fetchone()[0]
                                conn.execute(
                                    "INSERT INTO slot_claims (visit_id, counter, slot, "
                                    "booking_id) VALUES (%s, %s, %s, %s)",
                                    (visit_id, free[0], slot, bid),
                                )
                                booked = bid
                        except psycopg.errors.UniqueViolation:
                            booked = None
                n += 1
                dt = time.monotonic() - t0
                with lock:
                    lat.append(dt)
                    counts["ok" if booked else "refused"] += 1
                if booked:
                    with conn.transaction():
                        conn.execute("DELETE FROM slot_claims WHERE booking_id = %s", (booked,))
                        conn.execute("DELETE FROM bookings WHERE id = %s", (booked,))

    elapsed = run_clients(client, clients)
    return summarise("raw SQL (psycopg)", lat, counts["ok"], counts["refused"], elapsed)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument(
        "--workers", type=int, default=2, help="gunicorn worker processes (1 without Redis)"
    )
    ap.add_argument("--warmup", type=float, default=5.0, help="seconds of the app not counted")
    ap.add_argument("--threads", type=int, default=8, help="threads per gunicorn worker")
    ap.add_argument(
        "--redis",
        default="redis://127.0.0.1:6379/0",
        help="REDIS_URL for the rate-limit counts ('' = none: one process, counts in memory)",
    )
    ap.add_argument("--port", type=int, default=0, help="default: a free port")
    args = ap.parse_args()
    env = {
        **os.environ,
        "DATABASE_URL": PG,
        "TAXVAN_NOW": NOW,
        "TAXVAN_SECRET_KEY": "bench",
        "TAXVAN_BOOKING_RATE": "1000000 per minute",
        "TAXVAN_WALKIN_SHARE": "0",
        "TAXVAN_THREADS": str(args.threads),
        "TAXVAN_RATELIMIT_PREFIX": TAG,
    }
    env.pop("REDIS_URL", None)
    env.pop("WEB_CONCURRENCY", None)
    if args.redis:
        env["REDIS_URL"] = args.redis
        env["WEB_CONCURRENCY"] = str(args.workers)
    else:
        args.workers = 1
    limits = f"rate limit counted in Redis ({args.redis})" if args.redis else "counted in memory"
    print(
        f"machine: {os.cpu_count()} cores; PostgreSQL at {PG}; {args.clients} clients, "
        f"{args.seconds:g} s each; gunicorn -c gunicorn.conf.py: {args.workers} worker(s) x "
        f"{args.threads} threads, {limits}"
    )
    own_database("create")
    try:
        return bench(args, env)
    finally:
        own_database("drop")
        if args.redis:
            forget_counts(args.redis)


def forget_counts(url: str) -> None:
    """Delete the rate-limit counts the bench's server left under its own prefix."""
    import redis

    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=f"{TAG}*"))
    if keys:
        client.delete(*keys)
    client.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench(args: argparse.Namespace, env: dict[str, str]) -> int:
    args.port = args.port or free_port()
    publish(env)
    targets = places()
    # The README's run command; its access log (one line a request) is part of what is measured.
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"),
            *("--bind", f"127.0.0.1:{args.port}", "app:app"),
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{args.port}"
    try:
        for _ in range(150):
            if server.poll() is not None:
                raise SystemExit(f"gunicorn stopped at start (exit status {server.returncode})")
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise SystemExit("gunicorn did not answer /healthz within 30 s")
        while len(children(server.pid)) < args.workers:
            time.sleep(0.2)
        app = run_http(base, args.clients, args.seconds, targets, args.warmup, children(server.pid))
    finally:
        server.terminate()
        server.wait(timeout=30)
    raw = run_raw(args.clients, args.seconds, targets)
    print(
        f"\n{'':<38}{'tx/s':>8}{'booked':>8}{'refused':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
    )
    for r in (app, raw):
        print(
            f"{r['label']:<38}{r['per_s']:>8.0f}{r['ok']:>8}{r['refused']:>9}{r['p50']:>9.1f}"
            f"{r['p95']:>9.1f}{r['p99']:>9.1f}"
        )
    print(
        f"\napp / raw throughput: {app['per_s'] / raw['per_s']:.2f}; "
        f"other HTTP statuses: {app.get('other', 0)}; gunicorn workers' CPU per booking "
        f"(with its cancel): {app['server_cpu_ms']:.1f} ms; load average at the end: "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
