"""bench/booking.py runs end to end: the app and both bare transactions side by side, in a
database of its own that is gone afterwards."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[2]
PG_SERVER = os.environ.get("TAXVAN_TEST_PG", "postgresql://postgres@127.0.0.1:5432")


def _bench_databases() -> set[str]:
    with psycopg.connect(f"{PG_SERVER}/postgres") as conn:
        rows = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'taxvan_bench_%'")
        return {name for (name,) in rows}


def test_booking_bench_prints_the_three_paths_and_drops_its_database():
    before = _bench_databases()
    out = subprocess.run(
        [
            sys.executable,
            "bench/booking.py",
            *("--clients", "2", "--seconds", "2", "--rounds", "2", "--warmup", "0.5"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "BENCH_PG_SERVER": PG_SERVER},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    text = out.stdout
    for label in (
        "app (Granian + Flask + SQLAlchemy)",
        "bare SQL, the app's statements",
        "bare SQL, minimal transaction",
    ):
        row = next(line for line in text.splitlines() if line.startswith(label))
        assert float(row[len(label) :].split()[0]) > 0, row  # each path booked something
    assert re.search(r"app / bare \(the app's statements\): \d+\.\d\d", text)
    assert "other HTTP statuses: 0;" in text  # only 201 and 409
    assert _bench_databases() <= before  # its own database is dropped again
