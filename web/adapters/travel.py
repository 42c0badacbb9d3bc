"""Round trips to the service hall, for the bureau's "travel time saved".

The travel-time model is the planner's own: `web.adapters.planner.make_provider` (the
configured matrix provider, geodesic with the configured circuity and speed profile by default,
or OSRM, behind the planner's on-disk matrix cache). A round trip is the drive there plus the
drive back.

The registry's round trips are the expensive part (every taxpayer of a district, read from
its data folder): they are kept in memory per (taxpayers file, its modification time, the
model), so a new import or a new model computes them again and nothing else does.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from taxvan.errors import TaxvanError
from taxvan.io.loaders import load_taxpayers
from taxvan.places import LatLon
from web.adapters.planner import make_provider
from web.config import Config

_CACHE: dict[tuple[str, float, str, LatLon], dict[str, float]] = {}
_LOCK = threading.Lock()
KEEP = 16
"""Registries kept in memory (a few districts' worth; each is a dict of floats)."""


def round_trips(config: Config, points: Sequence[LatLon], hall: LatLon) -> list[float]:
    """The round trip in minutes between each point and the hall."""
    if not points:
        return []
    provider = make_provider(config)
    there = provider.matrix(list(points), [hall]).seconds[:, 0]
    back = provider.matrix([hall], list(points)).seconds[0, :]
    return [float(a + b) / 60 for a, b in zip(there, back, strict=True)]


def taxpayers_file(folder: Path) -> Path | None:
    """The data folder's taxpayers table (CSV or Excel), if it has one."""
    for ext in (".csv", ".xlsx"):
        path = folder / f"taxpayers{ext}"
        if path.is_file():
            return path
    return None


def registry_round_trips(config: Config, folder: Path, hall: LatLon) -> dict[str, float]:
    """Each registered taxpayer's round trip to the hall, minutes, by taxpayer ID (upper
    case); empty when the folder has no readable taxpayers table."""
    path = taxpayers_file(folder)
    if path is None:
        return {}
    provider = make_provider(config)
    key = (str(path), path.stat().st_mtime, provider.key(), hall)
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
    try:
        taxpayers = load_taxpayers(path, None)
    except TaxvanError:
        return {}
    trips = round_trips(config, [t.point for t in taxpayers], hall)
    found = {t.id.upper(): m for t, m in zip(taxpayers, trips, strict=True)}
    with _LOCK:
        while len(_CACHE) >= KEEP:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = found
    return found
