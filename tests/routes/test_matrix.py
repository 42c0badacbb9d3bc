import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
from geopy.distance import geodesic

import routes.matrix
from routes.matrix import (
    CachedProvider,
    GeodesicProvider,
    OsrmProvider,
    SpeedProfile,
    is_symmetric,
)
from routes.problem import build_week_problem
from taxvan.errors import TaxvanError

HALL = (36.6509, 119.1634)
JIULONG = (36.657, 119.348)


def test_geodesic_matrix_is_road_metres_and_profile_seconds():
    p = GeodesicProvider(circuity=1.35)
    m = p.matrix([HALL, JIULONG], [HALL, JIULONG])
    assert m.metres[0, 0] == 0 and m.metres[0, 1] == m.metres[1, 0]
    # about 16.5 km as the crow flies, 22 km by road
    assert 21_000 < m.metres[0, 1] < 23_500
    # 2 km at 20 km/h + 8 km at 35 km/h + the rest at 55 km/h
    rest = m.metres[0, 1] - 10_000
    expected = 2000 / (20 / 3.6) + 8000 / (35 / 3.6) + rest / (55 / 3.6)
    assert abs(m.seconds[0, 1] - expected) <= 1


@pytest.mark.parametrize("centre", [(36.65, 119.25), (1.3, 103.8), (-41.3, 174.8), (62.0, 25.7)])
def test_vectorised_matrix_agrees_with_geopy_pair_by_pair(centre):
    """The whole-matrix NumPy geodesic gives geopy's exact numbers to within a metre and a
    second, on random points of a district-sized area anywhere."""
    rng = np.random.default_rng(abs(hash(centre)) % 2**32)
    lat, lon = centre
    pts = [(lat + dy, lon + dx) for dy, dx in rng.uniform(-0.4, 0.4, (40, 2))]
    origins, destinations = pts[:25], [*pts[25:], pts[0]]
    p = GeodesicProvider(circuity=1.35)
    m = p.matrix(origins, destinations)
    exact = np.array([[geodesic(a, b).meters * 1.35 for b in destinations] for a in origins])
    assert np.abs(m.metres - exact).max() <= 1
    assert np.abs(m.seconds - p.profile.seconds(exact)).max() <= 1
    assert m.metres[0, -1] == 0 and m.seconds[0, -1] == 0, "a point to itself is no trip"
    assert m.metres.dtype == np.int64 and m.metres.shape == (25, 16)


def test_matrix_is_the_same_computed_in_small_blocks(monkeypatch):
    rng = np.random.default_rng(3)
    pts = [tuple(p) for p in rng.uniform((36.4, 119.0), (36.9, 119.5), (30, 2))]
    whole = GeodesicProvider().matrix(pts, pts[:7])
    monkeypatch.setattr(routes.matrix, "_BLOCK", 10)
    blocks = GeodesicProvider().matrix(pts, pts[:7])
    assert np.array_equal(whole.metres, blocks.metres)
    assert np.array_equal(whole.seconds, blocks.seconds)
    assert np.array_equal(whole.metres[:7], whole.metres[:7].T), "the same both ways"
    empty = GeodesicProvider().matrix([], pts)
    assert empty.metres.shape == (0, 30)


def test_speed_profile_parses_and_rejects():
    prof = SpeedProfile.parse("1:10,50")
    assert prof.seconds(np.array([1000.0, 2000.0])).round().tolist() == [360, 432]
    with pytest.raises(TaxvanError, match="not like"):
        SpeedProfile.parse("fast")


def test_cache_answers_the_second_time_without_the_provider(tmp_path: Path):
    calls = []

    class Counting:
        def key(self):
            return "counting"

        def matrix(self, origins, destinations):
            calls.append(1)
            return GeodesicProvider().matrix(origins, destinations)

    cached = CachedProvider(Counting(), tmp_path)
    a = cached.matrix([HALL], [JIULONG])
    b = cached.matrix([HALL], [JIULONG])
    assert len(calls) == 1
    assert np.array_equal(a.seconds, b.seconds) and np.array_equal(a.metres, b.metres)
    assert b.seconds.dtype == np.int64 and b.metres.dtype == np.int64
    cached.matrix([JIULONG], [HALL])
    assert len(calls) == 2


def _fake_seconds(a: tuple[float, float], b: tuple[float, float]) -> float:
    return round(abs(a[0] - b[0]) * 1e4 + abs(a[1] - b[1]) * 2e4)


class _Osrm(BaseHTTPRequestHandler):
    """A small OSRM-compatible table service on loopback, answering from known numbers."""

    sizes: ClassVar[list[int]] = []
    """Coordinates in each request received."""

    def do_GET(self):
        url = urlsplit(self.path)
        parts = url.path.split("/")
        coords = parts[-1].split(";")
        q = parse_qs(url.query)
        src = [int(i) for i in q["sources"][0].split(";")]
        dst = [int(i) for i in q["destinations"][0].split(";")]
        _Osrm.sizes.append(len(coords))
        if "refuse" in url.path:
            body = {"code": "InvalidQuery", "message": "Query string malformed"}
        elif "/geo/" in url.path:  # numbers from the coordinates themselves
            xy = [tuple(float(v) for v in c.split(",")) for c in coords]
            body = {
                "code": "Ok",
                "durations": [[_fake_seconds(xy[i], xy[j]) for j in dst] for i in src],
                "distances": [[10.0 * _fake_seconds(xy[i], xy[j]) for j in dst] for i in src],
            }
        else:
            body = {
                "code": "Ok",
                "durations": [[100.0 * i + j for j in dst] for i in src],
                "distances": [[1000.0 * i + j for j in dst] for i in src],
                "sources": [{"location": coords[i]} for i in src],
            }
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def osrm_url():
    server = HTTPServer(("127.0.0.1", 0), _Osrm)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_osrm_provider_reads_sources_and_destinations(osrm_url: str):
    m = OsrmProvider(osrm_url).matrix([HALL, JIULONG], [JIULONG])
    # sources are points 0 and 1, the destination is point 2 of the request
    assert m.seconds.tolist() == [[2], [102]]
    assert m.metres.tolist() == [[2], [1002]]


def test_osrm_refusal_and_silence_are_clear_errors(osrm_url: str):
    with pytest.raises(TaxvanError, match="refused: InvalidQuery"):
        OsrmProvider(osrm_url + "/refuse").matrix([HALL], [JIULONG])
    with pytest.raises(TaxvanError, match="did not answer"):
        OsrmProvider("http://127.0.0.1:9", timeout=2).matrix([HALL], [JIULONG])


def test_osrm_provider_asks_a_large_matrix_in_blocks_within_the_table_size(osrm_url: str):
    rng = np.random.default_rng(5)
    origins = [tuple(p) for p in rng.uniform((36.4, 119.0), (36.9, 119.5), (130, 2)).round(6)]
    destinations = origins[:7]
    _Osrm.sizes.clear()
    m = OsrmProvider(osrm_url + "/geo", max_points=20).matrix(origins, destinations)
    expected = [[_fake_seconds((a[1], a[0]), (b[1], b[0])) for b in destinations] for a in origins]
    assert m.seconds.tolist() == expected
    assert m.metres.tolist() == [[10 * x for x in row] for row in expected]
    assert _Osrm.sizes and max(_Osrm.sizes) <= 20
    assert len(_Osrm.sizes) == 10, "13 origins and the 7 destinations a request"
    _Osrm.sizes.clear()
    back = OsrmProvider(osrm_url + "/geo", max_points=20).matrix(destinations, origins)
    assert np.array_equal(back.seconds, m.seconds.T) and max(_Osrm.sizes) <= 20


class _Asked:
    """Geodesic numbers, counting the matrices asked; symmetric or not as told."""

    def __init__(self, symmetric: bool) -> None:
        self.symmetric = symmetric
        self.calls = 0

    def key(self) -> str:
        return "asked"

    def matrix(self, origins, destinations):
        self.calls += 1
        return GeodesicProvider().matrix(origins, destinations)


def test_a_symmetric_provider_is_asked_each_matrix_once(demo_dataset, tmp_path: Path):
    both_ways, once = _Asked(symmetric=False), _Asked(symmetric=True)
    a = build_week_problem(demo_dataset, "2026-W49", both_ways)
    b = build_week_problem(demo_dataset, "2026-W49", once)
    assert once.calls == both_ways.calls - 2, "no way back asked to the hall or the stops"
    assert np.array_equal(a.remote.hall_round_trip_s, b.remote.hall_round_trip_s)
    assert np.array_equal(a.remote.stop_round_trip_s, b.remote.stop_round_trip_s)
    assert a.remote.stop_ids == b.remote.stop_ids and a.weights == b.weights
    assert is_symmetric(CachedProvider(GeodesicProvider(), tmp_path))
    assert not is_symmetric(CachedProvider(OsrmProvider("http://127.0.0.1:9"), tmp_path))
