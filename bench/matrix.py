"""Cold travel-time matrices: the vectorised geodesic against the old pair-by-pair one.

For the demo district and a generated district of 50,000 taxpayers and 500 stops, builds a
week's matrices the way `taxvan plan` does (`routes.problem.build_week_problem` through an
empty on-disk cache, i.e. cold) and prints the time. Beside it, the old method (geopy's
exact geodesic, pair by pair, as `GeodesicProvider` did before) is timed on a random sample
of the same pairs and extrapolated to all of them, in the same run; and the largest
difference between the two on that sample.

    python -m bench.matrix [--taxpayers 50000] [--stops 500] [--sample 20000]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from geopy.distance import geodesic

from bench.week import ROOT, WEEK, large_dataset
from routes.matrix import (
    CachedProvider,
    GeodesicProvider,
    Matrix,
    MatrixProvider,
    ellipsoid_metres,
    is_symmetric,
)
from routes.problem import build_week_problem
from taxvan.dataset import Dataset
from taxvan.io.loaders import load_dataset
from taxvan.places import LatLon


@dataclass
class Recording:
    """A provider that remembers every matrix it was asked for (its points)."""

    inner: MatrixProvider
    calls: list[tuple[list[LatLon], list[LatLon]]] = field(default_factory=list)

    @property
    def symmetric(self) -> bool:
        return is_symmetric(self.inner)

    def key(self) -> str:
        return self.inner.key()

    def matrix(self, origins: Sequence[LatLon], destinations: Sequence[LatLon]) -> Matrix:
        self.calls.append((list(origins), list(destinations)))
        return self.inner.matrix(origins, destinations)


def generated_district(demo: Dataset, n_taxpayers: int, n_stops: int, seed: int = 7) -> Dataset:
    """`n_taxpayers` drawn around the demo's own (a few hundred metres of scatter, the same
    streets) and `n_stops` spread over the outlying ones, so the remote share stays alike."""
    rng = np.random.default_rng(seed)
    base = demo.taxpayers
    pick = rng.integers(0, len(base), n_taxpayers)
    jitter = rng.normal(0.0, 0.003, (n_taxpayers, 2))
    taxpayers = tuple(
        dataclasses.replace(
            base[k],
            id=f"G{n:06d}",
            lat=base[k].lat + float(jitter[n, 0]),
            lon=base[k].lon + float(jitter[n, 1]),
        )
        for n, k in enumerate(pick)
    )
    stops = large_dataset(demo, n_stops=n_stops, n_vans=1).stops
    return dataclasses.replace(demo, name="generated", taxpayers=taxpayers, stops=stops)


def pairs_of(calls: list[tuple[list[LatLon], list[LatLon]]], both_ways: bool) -> int:
    """Pairs the old provider computed: all of a rectangular matrix, half of a square one
    (it mirrored a matrix from a list of points to itself); with `both_ways`, each
    rectangular matrix twice, as the old problem asked its way back too."""
    total = 0
    for o, d in calls:
        total += len(o) * (len(o) - 1) // 2 if o == d else len(o) * len(d) * (1 + both_ways)
    return total


def old_seconds_per_pair(
    calls: list[tuple[list[LatLon], list[LatLon]]], sample: int, seed: int = 11
) -> tuple[float, float]:
    """Seconds per pair of the old method on `sample` random pairs of the asked matrices,
    and the largest difference (m, before the circuity factor) to the vectorised one."""
    rng = np.random.default_rng(seed)
    sizes = np.array([len(o) * len(d) for o, d in calls], dtype=float)
    which = rng.choice(len(calls), sample, p=sizes / sizes.sum())
    pairs = []
    for c in which:
        o, d = calls[c]
        pairs.append((o[rng.integers(len(o))], d[rng.integers(len(d))]))
    t0 = time.perf_counter()
    exact = [geodesic(a, b).meters if a != b else 0.0 for a, b in pairs]
    per_pair = (time.perf_counter() - t0) / sample

    fast = [float(ellipsoid_metres([a], [b])[0, 0]) for a, b in pairs[:2000]]
    diff = max(abs(f - e) for f, e in zip(fast, exact[:2000], strict=True))
    return per_pair, diff


def measure(name: str, dataset: Dataset, sample: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        provider = Recording(CachedProvider(GeodesicProvider(), Path(tmp)))
        t0 = time.perf_counter()
        problem = build_week_problem(dataset, WEEK, provider, template=True)
        cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        build_week_problem(
            dataset, WEEK, CachedProvider(GeodesicProvider(), Path(tmp)), template=True
        )
        warm = time.perf_counter() - t0
    per_pair, diff = old_seconds_per_pair(provider.calls, sample)
    points = [t.point for t in dataset.taxpayers]
    stops = [s.point for s in dataset.stops]
    t0 = time.perf_counter()
    GeodesicProvider().matrix(points, stops)
    full = time.perf_counter() - t0
    asked = sum(len(o) * len(d) for o, d in provider.calls)
    pairs = pairs_of(provider.calls, both_ways=provider.symmetric)
    return {
        "name": name,
        "taxpayers": len(dataset.taxpayers),
        "stops": len(dataset.stops),
        "remote": int(problem.weights.total_remote),
        "pairs": pairs,
        "asked": asked,
        "cold": cold,
        "warm": warm,
        "old": pairs * per_pair,
        "per_pair_us": per_pair * 1e6,
        "full": full,
        "diff": diff,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--taxpayers", type=int, default=50_000)
    ap.add_argument("--stops", type=int, default=500)
    ap.add_argument("--sample", type=int, default=20_000, help="pairs timed with the old method")
    args = ap.parse_args()
    demo = load_dataset(ROOT / "data" / "fangzi")
    big = generated_district(demo, args.taxpayers, args.stops)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, NumPy {np.__version__}; week {WEEK}; "
        f"old method timed on {args.sample:,} pairs and extrapolated"
    )
    rows = [measure("demo", demo, args.sample), measure("generated", big, args.sample)]
    print(
        f"\n{'district':<11}{'taxpayers':>10}{'stops':>7}{'remote':>8}{'cells now':>11}"
        f"{'pairs old':>11}"
        f"{'cold s':>9}{'warm s':>9}{'old s (extrap.)':>17}{'speed-up':>10}"
        f"{'tp x stops s':>14}{'max diff m':>12}"
    )
    for r in rows:
        print(
            f"{r['name']:<11}{r['taxpayers']:>10,}{r['stops']:>7}{r['remote']:>8,}"
            f"{r['asked']:>11,}{r['pairs']:>11,}{r['cold']:>9.2f}{r['warm']:>9.2f}{r['old']:>17.1f}"
            f"{r['old'] / r['cold']:>9.0f}x{r['full']:>14.2f}{r['diff']:>12.3f}"
        )
    big_row = rows[-1]
    print(
        f"\n{big_row['name']} district, cold matrices: {big_row['cold']:.2f} s "
        f"(target: under 5 s for 50,000 taxpayers and 500 stops: "
        f"{'met' if big_row['cold'] < 5 else 'NOT met'})"
    )
    print(
        "cold/warm: build_week_problem (matrices, remote flags, weights, demand) with an "
        "empty / a filled matrix cache;\ntp x stops: every taxpayer to every stop in one matrix "
        f"(old method {big_row['per_pair_us']:.0f} us a pair)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
