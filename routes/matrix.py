"""Distance-matrix providers: road metres and driving seconds between points.

The default needs no network: distance on the WGS-84 ellipsoid (NumPy, the whole matrix at
once; it agrees with geopy's exact geodesic to well under a metre) times a road-circuity factor,
driven at a speed profile whose speed grows with trip length (village lanes first, county
roads after). `OsrmProvider` reads any OSRM-compatible `table` service instead, and
`CachedProvider` keeps matrices on disk so a re-plan does not ask again.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Protocol

import numpy as np

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


def is_symmetric(provider: MatrixProvider) -> bool:
    """Whether `provider` answers B -> A exactly as A -> B (a provider says so with a true
    `symmetric` attribute): then a matrix and its way back are one matrix, asked once."""
    return bool(getattr(provider, "symmetric", False))


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

    def text(self) -> str:
        """The profile as `parse` reads it: `"2:20,8:35,55"`."""
        parts = [f"{length / 1000:g}:{kmh:g}" for length, kmh in self.bands[:-1]]
        return ",".join([*parts, f"{self.bands[-1][1]:g}"])

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


WGS84_A = 6_378_137.0
"""Equatorial radius of the WGS-84 ellipsoid, metres."""
WGS84_F = 1 / 298.257223563
"""Flattening of the WGS-84 ellipsoid."""

_BLOCK = 1 << 20
"""Matrix cells computed at once: big enough for NumPy to run at full speed, small enough
that the temporaries stay a few tens of megabytes whatever the district's size."""


def _points(points: Sequence[LatLon]) -> np.ndarray:
    arr = np.asarray(points, dtype=float).reshape(-1, 2)
    return np.radians(arr)


def ellipsoid_metres(origins: Sequence[LatLon], destinations: Sequence[LatLon]) -> np.ndarray:
    """Metres along the WGS-84 ellipsoid between every origin and every destination.

    Lambert's formula: the central angle between the points' reduced latitudes on the
    sphere, corrected to first order in the flattening. NumPy computes the whole matrix at
    once, a few hundred times faster than geopy's exact geodesic pair by pair, and agrees
    with it to well under a metre over a district (tests/routes/test_matrix.py checks it);
    the error grows to some metres only over thousands of kilometres.
    """
    a, b = _points(origins), _points(destinations)
    out = np.zeros((len(a), len(b)))
    if not len(a) or not len(b):
        return out
    # reduced latitudes; half angles so that no difference of nearly equal cosines is taken
    beta_a = np.arctan((1 - WGS84_F) * np.tan(a[:, 0]))
    beta_b = np.arctan((1 - WGS84_F) * np.tan(b[:, 0]))
    sa, sb = np.sin(beta_a), np.sin(beta_b)
    ca, cb = np.cos(beta_a), np.cos(beta_b)
    sha, cha = np.sin(beta_a / 2), np.cos(beta_a / 2)
    shb, chb = np.sin(beta_b / 2), np.cos(beta_b / 2)
    sla, cla = np.sin(a[:, 1] / 2), np.cos(a[:, 1] / 2)
    slb, clb = np.sin(b[:, 1] / 2), np.cos(b[:, 1] / 2)
    rows = max(1, _BLOCK // len(b))
    for lo in range(0, len(a), rows):
        i = slice(lo, lo + rows)
        h = np.multiply.outer(cha[i], shb)  # becomes sin^2(sigma / 2)
        h -= np.multiply.outer(sha[i], chb)
        h *= h
        dlon = np.multiply.outer(cla[i], slb)
        dlon -= np.multiply.outer(sla[i], clb)
        dlon *= dlon
        dlon *= np.multiply.outer(ca[i], cb)
        h += dlon
        np.clip(h, 0.0, 1.0, out=h)
        root = np.sqrt(h)
        sigma = np.arcsin(root)
        sigma *= 2
        # sin(sigma) = 2 sin(sigma/2) cos(sigma/2)
        sin_sigma = np.sqrt(1.0 - h)
        sin_sigma *= root
        sin_sigma *= 2
        plus = np.add.outer(sa[i], sb)
        plus *= plus
        plus *= (sigma - sin_sigma) / 4
        minus = np.subtract.outer(sa[i], sb)
        minus *= minus
        minus *= (sigma + sin_sigma) / 4
        with np.errstate(divide="ignore", invalid="ignore"):
            plus /= 1.0 - h
            minus /= h
        plus += minus
        plus[h == 0] = 0.0
        plus *= -WGS84_F / 2
        plus += sigma
        plus *= WGS84_A
        out[i] = plus
    return out


@dataclass(frozen=True, slots=True)
class GeodesicProvider:
    """Geodesic metres on the WGS-84 ellipsoid times a circuity factor, at a speed profile."""

    circuity: float = 1.35
    profile: SpeedProfile = field(default_factory=SpeedProfile)
    symmetric: ClassVar[bool] = True
    """The same distance both ways, to the bit (`ellipsoid_metres` is symmetric)."""

    def __post_init__(self) -> None:
        if self.circuity < 1:
            raise ValueError("a road is never shorter than the straight line: circuity >= 1")

    def key(self) -> str:
        return f"geodesic:{self.circuity}:{self.profile.bands}"

    def matrix(self, origins: Sequence[LatLon], destinations: Sequence[LatLon]) -> Matrix:
        """The whole matrix with NumPy (see `ellipsoid_metres`), a block of rows at a time."""
        origins, destinations = list(origins), list(destinations)
        out = Matrix(
            np.zeros((len(origins), len(destinations)), dtype=np.int64),
            np.zeros((len(origins), len(destinations)), dtype=np.int64),
        )
        rows = max(1, _BLOCK // max(1, len(destinations)))
        for lo in range(0, len(origins), rows):
            metres = ellipsoid_metres(origins[lo : lo + rows], destinations) * self.circuity
            out.metres[lo : lo + rows] = np.rint(metres)
            out.seconds[lo : lo + rows] = np.rint(self.profile.seconds(metres))
        return out


@dataclass(frozen=True, slots=True)
class OsrmProvider:
    """An OSRM-compatible `table` service (OSRM itself, or a service speaking its API)."""

    url: str
    profile: str = "driving"
    timeout: float = 30.0
    max_points: int = 100
    """Coordinates per `table` request: osrm-routed refuses more than its
    `--max-table-size` (100 unless started with more). A larger matrix is asked in blocks,
    each a batched table call of its own."""

    def __post_init__(self) -> None:
        if self.max_points < 2:
            raise ValueError("an OSRM table request needs room for two points")

    def key(self) -> str:
        return f"osrm:{self.url}:{self.profile}"

    def matrix(self, origins: Sequence[LatLon], destinations: Sequence[LatLon]) -> Matrix:
        """The matrix in as few table requests as `max_points` allows."""
        origins, destinations = list(origins), list(destinations)
        out = Matrix(
            np.zeros((len(origins), len(destinations)), dtype=np.int64),
            np.zeros((len(origins), len(destinations)), dtype=np.int64),
        )
        if not origins or not destinations:
            return out
        cols = min(len(destinations), self.max_points - min(len(origins), self.max_points // 2))
        rows = self.max_points - cols
        for i in range(0, len(origins), rows):
            for j in range(0, len(destinations), cols):
                block = self._table(origins[i : i + rows], destinations[j : j + cols])
                out.metres[i : i + rows, j : j + cols] = block.metres
                out.seconds[i : i + rows, j : j + cols] = block.seconds
        return out

    def _table(self, origins: list[LatLon], destinations: list[LatLon]) -> Matrix:
        """One batched table request: every origin to every destination."""
        points = origins + destinations
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

    @property
    def symmetric(self) -> bool:
        return is_symmetric(self.inner)

    def key(self) -> str:
        return self.inner.key()

    def matrix(self, origins: Sequence[LatLon], destinations: Sequence[LatLon]) -> Matrix:
        h = hashlib.sha256(self.inner.key().encode() + b"\0")
        for points in (origins, destinations):
            arr = np.asarray(points, dtype=np.float64).reshape(-1, 2)
            h.update(len(arr).to_bytes(8, "little") + arr.tobytes())
        path = self.folder / f"{h.hexdigest()[:32]}.npz"
        if path.exists():
            try:
                with np.load(path) as data:
                    return Matrix(data["metres"].astype(np.int64), data["seconds"].astype(np.int64))
            except (OSError, ValueError, KeyError):
                pass  # a broken cache file is rebuilt below
        result = self.inner.matrix(origins, destinations)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.{secrets.token_hex(4)}.tmp.npz")
            # Uncompressed, in 32 bits when the numbers fit: zlib took seconds on a large
            # district, longer than computing the matrix again.
            np.savez(tmp, metres=_compact(result.metres), seconds=_compact(result.seconds))
            tmp.replace(path)
        except OSError:
            pass  # a read-only cache only costs time
        return result


def _compact(values: np.ndarray) -> np.ndarray:
    info = np.iinfo(np.int32)
    if values.size and (values.min() < info.min or values.max() > info.max):
        return values
    return values.astype(np.int32)
