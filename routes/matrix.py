"""Distance-matrix providers: road metres and driving seconds between points.

The default needs no network: geodesic distance (geopy) times a road-circuity factor,
driven at a speed profile whose speed grows with trip length (village lanes first, county
roads after). `OsrmProvider` reads any OSRM-compatible `table` service instead, and
`CachedProvider` keeps matrices on disk so a re-plan does not ask again.
"""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
from geopy.distance import geodesic

from taxvan.errors import TaxvanError
from taxvan.places import LatLon


@dataclass(frozen=True, slots=True)
class Matrix:
    """Road metres and driving seconds, `[origin, destination]`, as int64 arrays."""

    metres: np.ndarray
    seconds: np.ndarray


class MatrixProvider(Protocol):
    def key(self) -> str:
        """A string that changes whenever the provider would answer differently."""
        ...

    def matrix(self, origins: Sequence[LatLon], destinations: Sequence[LatLon]) -> Matrix: ...


@dataclass(frozen=True, slots=True)
class SpeedProfile:
    """Speed by stretch of a trip: the first `bands[0][0]` metres at `bands[0][1]` km/h, ...

    The last band's length is ignored (it runs to the end of the trip).
    """

    bands: tuple[tuple[float, float], ...] = ((2_000, 20.0), (8_000, 35.0), (0, 55.0))

    def __post_init__(self) -> None:
        if not self.bands or any(kmh <= 0 for _, kmh in self.bands):
            raise ValueError("every speed band needs a positive speed")

    def seconds(self, metres: np.ndarray) -> np.ndarray:
        left = np.asarray(metres, dtype=float)
        total = np.zeros_like(left)
        for i, (length, kmh) in enumerate(self.bands):
            part = left if i == len(self.bands) - 1 else np.minimum(left, length)
            total += part / (kmh / 3.6)
            left = left - part
        return total

    @classmethod
    def parse(cls, text: str) -> SpeedProfile:
        """`"2:20,8:35,55"`: 2 km at 20 km/h, the next 8 km at 35 km/h, the rest at 55 km/h."""
        bands = []
        try:
            parts = [p.strip() for p in text.split(",") if p.strip()]
            for p in parts[:-1]:
                km, kmh = p.split(":")
                bands.append((float(km) * 1000, float(kmh)))
            bands.append((0.0, float(parts[-1])))
            return cls(tuple(bands))
        except (ValueError, IndexError):
            raise TaxvanError(
                f"speed profile '{text}' is not like '2:20,8:35,55' (km:kmh, ..., kmh)"
            ) from None


@dataclass(frozen=True, slots=True)
class GeodesicProvider:
    """Geodesic metres on the WGS-84 ellipsoid times a circuity factor, at a speed profile."""

    circuity: float = 1.35
    profile: SpeedProfile = field(default_factory=SpeedProfile)

    def __post_init__(self) -> None:
        if self.circuity < 1:
            raise ValueError("a road is never shorter than the straight line: circuity >= 1")

    def key(self) -> str:
        return f"geodesic:{self.circuity}:{self.profile.bands}"

    def matrix(self, origins: Sequence[LatLon], destinations: Sequence[LatLon]) -> Matrix:
        same = list(origins) == list(destinations)
        metres = np.zeros((len(origins), len(destinations)))
        for i, a in enumerate(origins):
            for j, b in enumerate(destinations):
                if same and j < i:
                    metres[i, j] = metres[j, i]
                elif a != b:
                    metres[i, j] = geodesic(a, b).meters * self.circuity
        return Matrix(
            np.rint(metres).astype(np.int64), np.rint(self.profile.seconds(metres)).astype(np.int64)
        )


@dataclass(frozen=True, slots=True)
class OsrmProvider:
    """An OSRM-compatible `table` service (OSRM itself, or a service speaking its API)."""

    url: str
    profile: str = "driving"
    timeout: float = 30.0

    def key(self) -> str:
        return f"osrm:{self.url}:{self.profile}"

    def matrix(self, origins: Sequence[LatLon], destinations: Sequence[LatLon]) -> Matrix:
        points = list(origins) + list(destinations)
        coords = ";".join(f"{lon:.6f},{lat:.6f}" for lat, lon in points)
        n = len(origins)
        sources = ";".join(str(i) for i in range(n))
        dests = ";".join(str(n + j) for j in range(len(destinations)))
        url = (
            f"{self.url.rstrip('/')}/table/v1/{self.profile}/{coords}"
            f"?sources={sources}&destinations={dests}&annotations=duration,distance"
        )
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as resp:
                body = json.load(resp)
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise TaxvanError(f"OSRM table service at {self.url} did not answer: {exc}") from None
        except json.JSONDecodeError:
            raise TaxvanError(f"OSRM table service at {self.url} did not answer JSON") from None
        if body.get("code") != "Ok":
            raise TaxvanError(
                f"OSRM table service at {self.url} refused: {body.get('code')} "
                f"{body.get('message', '')}".strip()
            )
        try:
            durations = np.array(body["durations"], dtype=float)
            distances = np.array(body["distances"], dtype=float)
        except (KeyError, TypeError, ValueError):
            raise TaxvanError(
                f"OSRM table service at {self.url} answered without durations and distances"
            ) from None
        if np.isnan(durations).any() or np.isnan(distances).any():
            raise TaxvanError(f"OSRM at {self.url} found no road between some of the points")
        return Matrix(np.rint(distances).astype(np.int64), np.rint(durations).astype(np.int64))


@dataclass(frozen=True, slots=True)
class CachedProvider:
    """Keeps each matrix in `folder`, keyed by the provider and the exact points asked."""

    inner: MatrixProvider
    folder: Path

    def key(self) -> str:
        return self.inner.key()

    def matrix(self, origins: Sequence[LatLon], destinations: Sequence[LatLon]) -> Matrix:
        digest = hashlib.sha256(
            json.dumps([self.inner.key(), list(origins), list(destinations)]).encode()
        ).hexdigest()[:32]
        path = self.folder / f"{digest}.npz"
        if path.exists():
            try:
                with np.load(path) as data:
                    return Matrix(data["metres"], data["seconds"])
            except (OSError, ValueError, KeyError):
                pass  # a broken cache file is rebuilt below
        result = self.inner.matrix(origins, destinations)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp.npz")
            np.savez_compressed(tmp, metres=result.metres, seconds=result.seconds)
            tmp.replace(path)
        except OSError:
            pass  # a read-only cache only costs time
        return result
