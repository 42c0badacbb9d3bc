"""How planning scales: many districts through the job queue, and one district as it grows.

Part 1, districts through RQ. Creates a PostgreSQL database of its own (dropped at the end;
nothing else on the server is touched) and an RQ queue of its own in the Redis at `--redis`
(deleted at the end), imports `--districts` generated counties (`tests.districts`, one seed
each, so each has its own stops and taxpayers) as the console would, submits one plan job
per district (`web.operations.plan_jobs.submit`, as the console's plan button does) and
starts `flask --app app worker --burst` processes, first one, then two, each plan's search
on one core (`TAXVAN_WORKERS=1`), timing from the first job queued to the last finished.
The one-worker run is the reference the two-worker run is compared with.

Part 2, one district's template as it grows: the weekly template of the demo district with
50 → 500 stops and 1 → 5 vans (`bench.week.large_dataset`), each in a process of its own
(its peak memory is its own), at the planner's normal time limit. Printed per size: time to
build the problem (matrices, weights, demand), the whole plan's wall time, peak memory, the
visits asked and served, km; the smallest size is the reference the others are compared with.

    python -m bench.scale [--districts 20] [--time-limit 5] [--only queue|growth]
                          [--stops 50,100,200,500] [--vans 1,3,5]
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PG_SERVER = os.environ.get("TAXVAN_BENCH_PG", "postgresql+psycopg://127.0.0.1:5432")
WEEKS = ("2027-W02", "2027-W03")
"""One week per round, so the second round plans anew instead of joining the first's jobs."""


def own_database(name: str, action: str) -> None:
    import psycopg

    server = PG_SERVER.replace("+psycopg", "")
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        if action == "create":
            admin.execute(f'CREATE DATABASE "{name}"')
        else:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def queue_env(args: argparse.Namespace, db_name: str, instance: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": f"{PG_SERVER}/{db_name}",
        "REDIS_URL": args.redis,
        "TAXVAN_QUEUE": f"bench-scale-{os.getpid()}",
        "TAXVAN_WORKERS": "1",
        "TAXVAN_TIME_LIMIT": str(args.time_limit),
        "TAXVAN_CACHE_DIR": str(instance / "cache"),
        "TAXVAN_SECRET_KEY": secrets.token_hex(16),
    }


def flask(env: dict[str, str], *argv: str, stdin: str | None = None) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", *argv],
        cwd=ROOT,
        env=env,
        input=stdin,
        text=True,
        capture_output=True,
    )
    if done.returncode:
        raise SystemExit(f"flask {' '.join(argv)} failed:\n{done.stderr}")


def set_up(env: dict[str, str], n: int, folder: Path) -> list[str]:
    """The database's tables, an admin and `n` generated districts, imported as in the
    console; returns the districts' codes."""
    sys.path.insert(0, str(ROOT))
    from tests.districts import make_county

    flask(env, "init-db")
    password = secrets.token_urlsafe(16)
    flask(
        env, "user", "create", "bench-admin", "--role", "admin", "--password-stdin", stdin=password
    )
    codes = []
    for k in range(n):
        code = f"bench{k + 1:02d}"
        make_county(folder / code, seed=1000 + k)
        own_street_codes(folder / code, f"{k + 1:02d}")
        flask(env, "district", "import", "--data", str(folder / code), "--code", code)
        codes.append(code)
    return codes


def own_street_codes(folder: Path, tag: str) -> None:
    """Street codes and stop ids are unique across an installation: give each generated
    county its own (the last two digits of the county part) in every file that names them."""
    columns = {
        "streets.csv": ("code",),
        "stops.csv": ("stop_id", "street_code"),
        "taxpayers.csv": ("street_code",),
    }
    for name, names in columns.items():
        path = folder / name
        with path.open(encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
        for row in rows:
            for column in names:
                row[column] = row[column][:4] + tag + row[column][6:]
        with path.open("w", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)


def submit_all(env: dict[str, str], codes: list[str], week: str) -> list[int]:
    """One plan job per district, submitted as the console's plan button does."""
    os.environ.update(env)
    from web import create_app
    from web.operations.districts import district_by_code
    from web.operations.plan_jobs import PlanOptions, submit
    from web.operations.users import find_user

    app = create_app()
    ids = []
    with app.app_context():
        user = find_user("bench-admin")
        assert user is not None
        for code in codes:
            district = district_by_code(code)
            # a new template each time: a saved one would be reused with no search at all
            options = PlanOptions(
                week, float(env["TAXVAN_TIME_LIMIT"]), 1, (0, 1, 2, 3, 4), new_template=True
            )
            job, _joined = submit(district, options, user)
            ids.append(job.id)
    return ids


def job_states(env: dict[str, str], ids: list[int]) -> dict[str, int]:
    os.environ.update(env)
    from web import create_app
    from web.db.models import PlanJob
    from web.extensions import db

    app = create_app()
    with app.app_context():
        states: dict[str, int] = {}
        for job_id in ids:
            job = db.session.get(PlanJob, job_id)
            status = job.status if job is not None else "missing"
            states[status] = states.get(status, 0) + 1
        return states


def run_queue(args: argparse.Namespace) -> list[dict[str, Any]]:
    db_name = f"taxvan_bench_scale_{os.getpid()}_{secrets.token_hex(3)}"
    own_database(db_name, "create")
    rows = []
    try:
        with tempfile.TemporaryDirectory(prefix="taxvan-scale-") as tmp:
            env = queue_env(args, db_name, Path(tmp))
            print(f"importing {args.districts} generated districts ...", flush=True)
            codes = set_up(env, args.districts, Path(tmp) / "districts")
            for workers, week in zip((1, 2), WEEKS, strict=True):
                ids = submit_all(env, codes, week)
                print(f"{len(ids)} plan jobs queued; {workers} worker(s) ...", flush=True)
                t0 = time.monotonic()
                procs = [
                    subprocess.Popen(
                        [sys.executable, "-m", "flask", "--app", "app", "worker", "--burst"],
                        cwd=ROOT,
                        env=env,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                    for _ in range(workers)
                ]
                for p in procs:
                    p.wait()
                wall = time.monotonic() - t0
                rows.append({"workers": workers, "wall": wall, "states": job_states(env, ids)})
    finally:
        own_database(db_name, "drop")
        forget_queue(args.redis, f"bench-scale-{os.getpid()}")
    return rows


def forget_queue(url: str, name: str) -> None:
    from redis import Redis

    r = Redis.from_url(url)
    for key in r.scan_iter(f"rq:*{name}*"):
        r.delete(key)


def grow(args: tuple[int, int, float]) -> dict[str, Any]:
    """One size of the demo district, planned in this (fresh) process."""
    n_stops, n_vans, seconds = args
    from bench.week import WEEK, large_dataset
    from routes.engine import SearchParams
    from routes.matrix import CachedProvider, GeodesicProvider
    from routes.planner import plan_week
    from routes.problem import build_week_problem
    from taxvan.io.loaders import load_dataset

    dataset = large_dataset(load_dataset(ROOT / "data" / "fangzi"), n_stops, n_vans)
    # matrices cold, as for a district planned the first time
    provider = CachedProvider(GeodesicProvider(), Path(tempfile.mkdtemp(prefix="taxvan-scale-")))
    t0 = time.monotonic()
    build_week_problem(dataset, WEEK, provider)
    build = time.monotonic() - t0
    t0 = time.monotonic()
    week = plan_week(dataset, WEEK, provider, params=SearchParams(time_limit_s=seconds, workers=1))
    wall = time.monotonic() - t0
    return {
        "stops": n_stops,
        "vans": n_vans,
        "build": build,
        "wall": wall,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "asked": len(week.problem.demand.visits),
        "served": len(week.plan.visits),
        "km": sum(r.metres for r in week.plan.routes) / 1000,
    }


def run_growth(args: argparse.Namespace) -> list[dict[str, Any]]:
    sizes = [(s, v, args.time_limit) for v in args.vans for s in args.stops]
    rows = []
    for size in sizes:
        print(f"planning {size[0]} stops, {size[1]} van(s) ...", flush=True)
        # a fresh process per size, spawned, so its peak memory is its own
        with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
            rows.append(pool.submit(grow, size).result())
    return rows


def print_queue(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    print(f"\n## {args.districts} districts through RQ ({args.time_limit:g} s a plan, 1 core each)")
    print("| workers | wall s | jobs | vs 1 worker |")
    print("|---:|---:|---|---:|")
    ref = rows[0]["wall"]
    for r in rows:
        states = ", ".join(f"{k} {v}" for k, v in sorted(r["states"].items()))
        print(f"| {r['workers']} | {r['wall']:.1f} | {states} | {ref / r['wall']:.2f}× faster |")


def print_growth(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    print(f"\n## One district's template as it grows ({args.time_limit:g} s search, 1 core)")
    print("| stops | vans | build s | plan wall s | peak MB | visits asked | served | km |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['stops']} | {r['vans']} | {r['build']:.1f} | {r['wall']:.1f} | "
            f"{r['rss_mb']:.0f} | {r['asked']} | {r['served']} | {r['km']:.0f} |"
        )
    ref = rows[0]
    big = rows[-1]
    print(
        f"\n{big['stops']} stops / {big['vans']} vans against {ref['stops']} / {ref['vans']}: "
        f"build {big['build'] / max(ref['build'], 1e-3):.1f}×, "
        f"memory {big['rss_mb'] / ref['rss_mb']:.1f}×"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--districts", type=int, default=20)
    ap.add_argument("--time-limit", type=float, default=5.0, help="search seconds a plan")
    ap.add_argument("--redis", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    ap.add_argument("--only", choices=["queue", "growth"])
    ap.add_argument(
        "--stops", type=lambda s: [int(x) for x in s.split(",")], default=[50, 100, 200, 500]
    )
    ap.add_argument("--vans", type=lambda s: [int(x) for x in s.split(",")], default=[1, 3, 5])
    args = ap.parse_args()
    print(
        f"# bench.scale: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.machine()}"
    )
    if args.only != "growth":
        print_queue(run_queue(args), args)
    if args.only != "queue":
        print_growth(run_growth(args), args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
