"""Booking throughput and latency on PostgreSQL, through the app and straight to the database.

Creates a PostgreSQL database of its own (dropped again at the end; nothing else on the server
is touched), publishes the demo week in it, serves the app as the README says
(`python -m web.serve`, Granian) on a free loopback port and lets C concurrent clients book
(and cancel again, so places never run out) for S seconds, with the booking rules as
configured by default (one taxpayer's limits included) and the booking rate limit counted on
every request. The same clients also run the booking bare on the database, in two ways:
the very statements the app's booking path sends to PostgreSQL, compiled from the app's own
statement objects (`AppSQL`: visit; publishing and taxpayer's advisory locks, open bookings
with the visit's claims, cancellation and version; cap and overlap decided; booking and
claims inserted; its notice written; commit; the cancel under the booking's row lock with its
notice), and the minimal transaction of earlier runs (the place's claims, insert booking and
claim, commit). The three take turns
(`--rounds`, default 3), so they share whatever else the machine is doing, and the figures
are printed side by side with the ratios.

Serving set-up: by default the production one, `REDIS_URL` set (the bench's own key prefix
in the Redis at `--redis`, deleted at the end) and `--workers` processes (default 2, one per
core) of `--threads` threads sharing the rate-limit counts there; `--redis ''` measures the
set-up without Redis, one process with threads counting in memory.

    python bench/booking.py [--clients 16] [--seconds 15] [--rounds 3] [--workers 2] [--threads N]
"""

from __future__ import annotations

import argparse
import datetime as dt
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


class Window:
    """The counted part of a round: requests started in [start, stop) count."""

    def __init__(self, start: float, stop: float) -> None:
        self.start, self.stop = start, stop


class Tally:
    """What the clients of one path measured over all its rounds."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.lat: list[float] = []
        self.counts = {"ok": 0, "refused": 0, "other": 0}
        self.seconds = 0.0
        self.cpu = 0.0
        self.lock = threading.Lock()

    def add(self, window: Window, t0: float, dt: float, kind: str) -> None:
        if window.start <= t0 < window.stop:
            with self.lock:
                self.lat.append(dt)
                self.counts[kind] += 1


def run_round(client, clients: int, window: Window) -> None:
    """Run `client(k, window)` for k in range(clients) on threads until the window closes.
    The threads start (and connect) before the window opens; only its requests count."""
    threads = [threading.Thread(target=client, args=(k, window)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def summarise(t: Tally) -> dict:
    if not t.lat:
        raise SystemExit(f"{t.label}: no request was counted (did the server or the clients fail?)")
    lat_ms = sorted(x * 1000 for x in t.lat)
    q = statistics.quantiles(lat_ms, n=100) if len(lat_ms) > 1 else [lat_ms[0]] * 99
    return {
        "label": t.label,
        "tx": len(t.lat),
        "per_s": len(t.lat) / t.seconds,
        "ok": t.counts["ok"],
        "refused": t.counts["refused"],
        "other": t.counts["other"],
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


def http_client(base: str, targets: list[tuple[int, str]], tally: Tally, round_no: int):
    """A client as a phone's browser is: one kept-alive HTTP/1.1 connection; it books, then
    cancels what it booked. Only the booking requests are timed."""
    host, port = base.removeprefix("http://").split(":")
    headers = {"Content-Type": "application/json"}

    def client(k: int, window: Window) -> None:
        rnd = random.Random(round_no * 1000 + k)
        my_ids = ids(5000, k)
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        conn.connect()
        time.sleep(max(0.0, window.start - time.monotonic() - 0.5))
        i = rnd.randrange(len(my_ids))
        while time.monotonic() < window.stop:
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
            tally.add(
                window, t0, dt, "ok" if status == 201 else "refused" if status == 409 else "other"
            )
            if status == 201:
                conn.request("DELETE", f"/api/v1/bookings/{answer['code']}?phone=13800138000")
                conn.getresponse().read()
        conn.close()

    return client


MINIMAL_CLAIMS = "SELECT counter FROM slot_claims WHERE visit_id = %s AND slot = %s"
MINIMAL_BOOKING = (
    'INSERT INTO bookings (code, visit_id, district_id, service_code, start, "end", counter,'
    " taxpayer_id, name, phone, status, created_at) VALUES (%s, %s, %s, 'consult', %s, %s, %s,"
    " %s, 'bench', '13800138000', 'active', now()) RETURNING id"
)
MINIMAL_CLAIM = (
    "INSERT INTO slot_claims (visit_id, counter, slot, booking_id) VALUES (%s, %s, %s, %s)"
)
MAX_OPEN = 3
"""The default cap on a taxpayer's open bookings (`BookingRules.max_open_bookings`)."""
NOTICE_TEXT = (
    "【税务大厅流动车】预约成功 ABCD2345：12月1日 09:00-09:15 某某社区，"
    "个人所得税咨询。改约/取消请用预约码。"
)
"""A notice's text about as long as the app's (one SMS); the app renders its own."""


class AppSQL:
    """The SQL text (with its fixed values) of each statement the app's booking path sends to
    PostgreSQL, compiled from the app's own statement objects as the app compiles them
    (`web.db.driver_sql`): the bare path runs exactly these, so it stays the same as the app's.

    Booking: the visit with its stop, street and service; in one transaction the district's
    lock (shared) and the taxpayer's advisory lock, the taxpayer's open bookings with the
    visit's claims, cancellation and current version in one statement, the booking with its
    claims and its notice in one statement; commit. Cancel:
    the booking with its visit, stop, street and service under its row lock, its places freed
    and status set in one statement, its notice; commit."""

    def __init__(self) -> None:
        from sqlalchemy.dialects.postgresql import psycopg as pg_dialect

        from web.db import locks
        from web.db.driver_sql import driver_sql
        from web.db.outbox import INSERT_ONCE
        from web.operations import booking as svc

        dialect = pg_dialect.dialect()

        def sql(stmt):
            return driver_sql(stmt, dialect)

        self.visit = sql(svc.VISIT_WITH_SERVICE)
        self.lock = sql(locks.SHARED_AND_TAXPAYER)
        self.held = sql(svc.HELD)
        self.insert = sql(svc.PG_INSERT_BOOKING_CLAIMS_AND_NOTICE)
        self.notice = sql(INSERT_ONCE["postgresql"])
        self.find = sql(svc.BOOKING_BY_CODE_FOR_UPDATE)
        self.release = sql(svc.PG_RELEASE)
        self.space = locks.DISTRICT_SPACE
        self.lock_key = locks.taxpayer_key
        self.visit_cols = {k: i for i, k in enumerate(svc.VISITS.c.keys())}
        n_visit, n_stop, n_street = (len(t.c) for t in (svc.VISITS, svc.STOPS, svc.STREETS))
        self.stop_district = n_visit + list(svc.STOPS.c.keys()).index("district_id")
        self.service_minutes = (
            n_visit + n_stop + n_street + list(svc.SERVICES.c.keys()).index("minutes")
        )
        self.booking_cols = {k: i for i, k in enumerate(svc.BOOKINGS.c.keys())}
        self.booking_stop = len(svc.BOOKINGS.c) + self.visit_cols["stop_id"]


def run(conn, stmt: tuple[str, dict], **params):
    sql, defaults = stmt
    return conn.execute(sql, {**defaults, **params})


def notice(kind: str, booking_id: int, stop_id: str, now: dt.datetime) -> dict:
    return {
        "key": f"{kind}:{booking_id}",
        "kind": kind,
        "lang": "zh",
        "phone": "13800138000",
        "text": NOTICE_TEXT,
        "booking_id": booking_id,
        "stop_id": stop_id,
        "district_id": None,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


def sql_client(
    q: AppSQL | None, targets: list[tuple[int, str]], meta: dict, tally: Tally, round_no: int
):
    """A client straight on the database, one connection each: with `q`, the app's own
    statements (`AppSQL`), deciding cap, overlap and counter in between as the app does;
    without (the minimal transaction of earlier runs): read the place's claims, insert
    booking and claim, commit; delete them again. Only the booking transaction is timed."""
    now = dt.datetime.fromisoformat(NOW)

    def client(k: int, window: Window) -> None:
        rnd = random.Random(round_no * 1000 + 100 + k)
        my_ids = ids(5000, 50 + k)
        n = rnd.randrange(10**6)
        with psycopg.connect(PG) as conn:
            time.sleep(max(0.0, window.start - time.monotonic() - 0.5))
            while time.monotonic() < window.stop:
                visit_id, start = rnd.choice(targets)
                h, m = map(int, start.split(":"))
                minute = h * 60 + m
                n += 1
                code = f"{'S' if q else 'R'}{k:02d}{n % 10**9:09d}"[:12]
                tid = my_ids[n % len(my_ids)]
                t0 = time.monotonic()
                booked = (
                    book_same(q, conn, visit_id, minute, tid, code, now)
                    if q
                    else book_minimal(conn, visit_id, minute, meta, k, code)
                )
                dt_ = time.monotonic() - t0
                tally.add(window, t0, dt_, "ok" if booked else "refused")
                if booked and q:
                    cancel_same(q, conn, code, now)
                elif booked:
                    with conn.transaction():
                        conn.execute("DELETE FROM slot_claims WHERE booking_id = %s", (booked,))
                        conn.execute("DELETE FROM bookings WHERE id = %s", (booked,))

    return client


def book_minimal(conn, visit_id: int, minute: int, meta: dict, k: int, code: str):
    vstart, counters, district = meta[visit_id]
    slot = (minute - vstart) // 15
    with conn.transaction():
        taken = {c for (c,) in conn.execute(MINIMAL_CLAIMS, (visit_id, slot))}
        free = [c for c in range(counters) if c not in taken]
        if not free:
            return None
        try:
            with conn.transaction():
                bid = conn.execute(
                    MINIMAL_BOOKING,
                    (code, visit_id, district, minute, minute + 15, free[0], f"RAW{k:015d}"[:18]),
                ).fetchone()[0]
                conn.execute(MINIMAL_CLAIM, (visit_id, free[0], slot, bid))
                return bid
        except psycopg.errors.UniqueViolation:
            return None


def book_same(q: AppSQL, conn, visit_id: int, minute: int, tid: str, code: str, now):
    try:
        with conn.transaction():  # one transaction from the visit's read on, as the app's
            row = run(conn, q.visit, visit_id=visit_id, service="consult").fetchone()
            v = q.visit_cols
            vstart, counters, date = row[v["start"]], row[v["counters"]], row[v["date"]]
            stop_id, district = row[v["stop_id"]], row[q.stop_district]
            length = -(-row[q.service_minutes] // 15)
            slot, end = (minute - vstart) // 15, minute + length * 15
            run(conn, q.lock, space=q.space, district=district, key=q.lock_key(tid))
            mine, taken, current = [], set(), False
            held = run(conn, q.held, taxpayer_id=tid, today=now.date(), visit_id=visit_id)
            for own, _bid, d, a, b in held:
                if own == 2:
                    raise LookupError  # called off
                if own == 3:
                    current = True
                elif own:
                    mine.append((d, a, b))
                else:
                    taken.add((a, b))
            if not current or len(mine) >= MAX_OPEN:
                raise LookupError
            if any(d == date and a < end and minute < b for d, a, b in mine):
                raise LookupError
            slots = range(slot, slot + length)
            free = [c for c in range(counters) if not any((c, x) in taken for x in slots)]
            if not free:
                raise LookupError
            values = {
                "code": code,
                "visit_id": visit_id,
                "district_id": district,
                "service_code": "consult",
                "start": minute,
                "end": end,
                "counter": free[0],
                "taxpayer_id": tid,
                "name": "bench",
                "phone": "13800138000",
                "status": "active",
                "created_at": now,
                "lang": "zh",
                "first_slot": slot,
                "last_slot": slot + length - 1,
            }
            told = notice("booked", 0, stop_id, now)
            told.update(key_head="booked:", key_tail="")
            values.update({f"n_{k}": v for k, v in told.items()})
            booking_id = run(conn, q.insert, **values).fetchone()[0]
            return booking_id
    except (LookupError, psycopg.errors.UniqueViolation):
        return None


def cancel_same(q: AppSQL, conn, code: str, now) -> None:
    with conn.transaction():
        row = run(conn, q.find, code=code).fetchone()
        b = q.booking_cols
        if row and row[b["status"]] == "active" and row[b["phone"]] == "13800138000":
            run(conn, q.release, booking_id=row[b["id"]], new_status="cancelled")
            stop_id = row[q.booking_stop]
            run(conn, q.notice, **notice("cancelled", row[b["id"]], stop_id, now)).fetchall()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=15.0, help="counted seconds of each path")
    ap.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="the paths take turns this many times (each path's seconds split between them)",
    )
    ap.add_argument("--workers", type=int, default=2, help="worker processes (1 without Redis)")
    ap.add_argument(
        "--warmup", type=float, default=5.0, help="seconds of the app not counted (first round)"
    )
    ap.add_argument(
        "--threads",
        type=int,
        default=0,
        help="threads per worker process (0: the server's default)",
    )
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
        "TAXVAN_RATELIMIT_PREFIX": TAG,
    }
    env.pop("REDIS_URL", None)
    env.pop("TAXVAN_THREADS", None)
    if args.threads:
        env["TAXVAN_THREADS"] = str(args.threads)
    env.pop("WEB_CONCURRENCY", None)
    if args.redis:
        env["REDIS_URL"] = args.redis
        env["WEB_CONCURRENCY"] = str(args.workers)
    else:
        args.workers = 1
    if not args.threads:
        sys.path.insert(0, str(ROOT))
        from web.serve import default_threads

        args.threads = default_threads(args.workers)
    limits = f"rate limit counted in Redis ({args.redis})" if args.redis else "counted in memory"
    print(
        f"machine: {os.cpu_count()} cores; PostgreSQL at {PG}; {args.clients} clients, "
        f"{args.seconds:g} s each path in {args.rounds} rounds; python -m web.serve: "
        f"{args.workers} worker(s) x {args.threads} threads, {limits}; load average at the "
        f"start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}"
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


def start_server(args: argparse.Namespace, env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    """The README's run command on a free loopback port, once it answers /healthz."""
    args.port = args.port or free_port()
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "web.serve"),
            *("--bind", f"127.0.0.1:{args.port}", "--workers", str(args.workers)),
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{args.port}"
    for _ in range(150):
        if server.poll() is not None:
            raise SystemExit(f"the server stopped at start (exit status {server.returncode})")
        try:
            urllib.request.urlopen(f"{base}/healthz", timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    else:
        server.terminate()
        raise SystemExit("the server did not answer /healthz within 30 s")
    while len(children(server.pid)) < args.workers:
        time.sleep(0.2)
    return server, base


def bench(args: argparse.Namespace, env: dict[str, str]) -> int:
    """The app and the two bare transactions take turns, `args.rounds` times, so that all three
    share whatever else the machine is doing; each path's figures add up its rounds."""
    publish(env)
    targets = places()
    with psycopg.connect(PG) as conn:
        meta = {
            vid: (s, c, d)
            for vid, s, c, d in conn.execute(
                "SELECT v.id, v.start, v.counters, p.district_id FROM visits v"
                " JOIN stops p ON p.id = v.stop_id"
            ).fetchall()
        }
    q = AppSQL()
    app = Tally("app (Granian + Flask + SQLAlchemy)")
    same = Tally("bare SQL, the app's statements")
    minimal = Tally("bare SQL, minimal transaction")
    each = args.seconds / args.rounds
    server, base = start_server(args, env)
    try:
        workers = children(server.pid)
        for r in range(args.rounds):
            warm = args.warmup if r == 0 else 0.0
            for tally, client, warmup in (
                (app, http_client(base, targets, app, r), warm),
                (same, sql_client(q, targets, meta, same, r), min(warm, 1.0)),
                (minimal, sql_client(None, targets, meta, minimal, r), min(warm, 1.0)),
            ):
                t = time.monotonic() + 1.0 + warmup  # a second to start and connect
                window = Window(t, t + each)
                cpu = [0.0]
                if tally is app:
                    watcher = threading.Timer(
                        max(0.0, window.start - time.monotonic()),
                        lambda cpu=cpu: cpu.__setitem__(0, cpu_seconds(workers)),
                    )
                    watcher.start()
                run_round(client, args.clients, window)
                if tally is app:
                    watcher.join()
                    tally.cpu += cpu_seconds(workers) - cpu[0]
                tally.seconds += each
    finally:
        server.terminate()
        server.wait(timeout=30)
    rows = [summarise(t) for t in (app, same, minimal)]
    print(
        f"\n{'':<38}{'tx/s':>8}{'booked':>8}{'refused':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
    )
    for r in rows:
        print(
            f"{r['label']:<38}{r['per_s']:>8.0f}{r['ok']:>8}{r['refused']:>9}{r['p50']:>9.1f}"
            f"{r['p95']:>9.1f}{r['p99']:>9.1f}"
        )
    a, s, m = rows
    print(
        f"\napp / bare (the app's statements): {a['per_s'] / s['per_s']:.2f}; "
        f"app / bare (minimal): {a['per_s'] / m['per_s']:.2f}; other HTTP statuses: "
        f"{a['other']}; serving processes' CPU per booking (with its cancel): "
        f"{app.cpu * 1000 / max(1, len(app.lat)):.1f} ms; load average at the end: "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
