"""A second test district, generated: a long, narrow county in Gansu with the hall at one end.

It differs from the Fangzi demo wherever a district-specific assumption could hide: another
province (far outside Fangzi's extent), another shape (about 120 km long and 25 km wide, the
hall at the east end, so the far streets are two hours away), an industrial-park street next
to the hall with no remote taxpayer, and hostile names (a quote, traditional characters,
markup). The files follow data/README.md. Deterministic for a given seed; written into a
folder the test chooses (tmp_path), never into data/.

    python -m tests.districts /tmp/county   # to look at it
"""

from __future__ import annotations

import csv
import json
import math
import random
import sys
from pathlib import Path

from stdnum.cn import uscc

COUNTY_CODE = "620799"
"""A made-up county code in Gansu (62); the 6-digit division code inside each USCC."""

HALL = (38.93, 100.45)
"""The hall at the county's east end (lat, lon)."""

AXIS_DEG = 160.0
"""The county's long axis, in degrees counter-clockwise from east: it runs west-north-west."""

LENGTH_KM, WIDTH_KM = 120.0, 25.0

QUOTE_STREET = '红柳"湾"镇'
TRADITIONAL_STREET = "黑山臺鄉"
MARKUP_STREET = "<b>沙棗</b>乡"
SCRIPT_STOP = '<script>alert("x")</script>滩村'
QUOTE_STOP = "王家'大'庄村"
MARKUP_HALL = "示例县税务局办税服务厅 <i>东区</i>"

# code suffix, name, English name, served, (x from, x to) in km along the axis from the hall
STREETS = [
    ("100", "城关镇", "Chengguan", False, (0.0, 5.0)),
    ("101", "示例工业园区", "Industrial Park", True, (4.0, 9.0)),
    ("102", QUOTE_STREET, 'Hongliu "Wan"', True, (18.0, 38.0)),
    ("103", TRADITIONAL_STREET, "Heishantai", True, (38.0, 58.0)),
    ("104", MARKUP_STREET, "<b>Shazao</b>", True, (58.0, 78.0)),
    ("105", "白杨河乡", "Baiyanghe", True, (78.0, 98.0)),
    ("106", "雪山镇", "Xueshan", True, (98.0, 117.0)),
]

FAR_STREET = ("107", "远山乡", "Yuanshan", True, (110.0, 240.0))
"""A far street for `make_county(far=True)`: a mountain township reaching 240 km up the
axis. Most of its taxpayers live around its far village, whose round trip from the hall
(about 12 h) eats more than the van's shift; a few around a village at its near edge."""

FAR_VILLAGE = (240.0, 0.0)
NEAR_EDGE_VILLAGE = (114.0, -10.0)

SERVICES = [
    ("invoice_sale", "发票领购", "Blank invoice purchase", 15, "营业执照副本", "Business licence"),
    ("invoice_issue", "发票代开", "Invoice issued on your behalf", 20, "合同", "Contract"),
    ("tax_certificate", "完税证明打印", "Tax payment certificate", 10, "身份证", "ID card"),
    ("appointment_any", "全事项预约", "Appointment for any other matter", 15, "身份证", "ID"),
]


def street_code(suffix: str) -> str:
    return COUNTY_CODE + suffix


def to_latlon(x_km: float, y_km: float) -> tuple[float, float]:
    """County coordinates (km along and across the axis from the hall) to WGS-84."""
    a = math.radians(AXIS_DEG)
    east = x_km * math.cos(a) - y_km * math.sin(a)
    north = x_km * math.sin(a) + y_km * math.cos(a)
    lat = HALL[0] + north / 110.574
    lon = HALL[1] + east / (111.320 * math.cos(math.radians(HALL[0])))
    return round(lat, 6), round(lon, 6)


def _org_code(rng: random.Random) -> str:
    body = "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(8))
    values = [int(c) if c.isdigit() else ord(c) - 55 for c in body]
    c = 11 - sum(v * w for v, w in zip(values, (3, 7, 9, 10, 5, 8, 4, 2), strict=True)) % 11
    return body + ("X" if c == 10 else "0" if c == 11 else str(c))


def _uscc(rng: random.Random, individual: bool, seen: set[str]) -> str:
    while True:
        head = ("92" if individual else "91") + COUNTY_CODE + _org_code(rng)
        code = head + uscc.calc_check_digit(head)
        if code not in seen and uscc.is_valid(code):
            seen.add(code)
            return code


def _write(path: Path, header: list[str], rows: list[list[object]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def _street_sites(
    rng: random.Random, suffix: str, name: str, x0: float, x1: float
) -> list[tuple[str, str, float, float]]:
    """(kind, name, x, y) of a served street's stops: villages spread along it, the park
    street's one service centre, and the hostile names and the key project of some."""
    if suffix == "101":
        return [("industrial_park", "示例工业园区服务中心", 6.5, 2.0)]
    if suffix == FAR_STREET[0]:
        return [("village", "远山村", *FAR_VILLAGE), ("village", "山口村", *NEAR_EDGE_VILLAGE)]
    n = rng.randint(4, 6)
    sites = []
    for k in range(n):
        x = x0 + (k + 0.5) * (x1 - x0) / n + rng.uniform(-1.5, 1.5)
        y = rng.uniform(-9.0, 9.0)
        village = f"{name.strip('<b>/')[:2]}{k + 1}村"
        sites.append(("village", village, x, y))
    if suffix == "104":
        sites[0] = ("village", SCRIPT_STOP, *sites[0][2:])
    if suffix == "102":
        sites[1] = ("village", QUOTE_STOP, *sites[1][2:])
    if suffix == "106":
        sites.append(("key_project", "雪山风电场项目（示例）", x1 - 4.0, 6.0))
    return sites


def _county_stops(
    rng: random.Random, streets: list[tuple[str, str, str, bool, tuple[float, float]]]
) -> tuple[list[list[object]], dict[str, list[tuple[float, float]]]]:
    """The stops.csv rows, and each street's stop points (km) the taxpayers gather around."""
    stops: list[list[object]] = []
    anchors: dict[str, list[tuple[float, float]]] = {}
    for suffix, name, _en, served, (x0, x1) in streets:
        if not served:
            continue
        code = street_code(suffix)
        for k, (kind, stop_name, x, y) in enumerate(
            _street_sites(rng, suffix, name, x0, x1), start=1
        ):
            stops.append(
                [f"{code}{k:03d}", stop_name, code, kind, *to_latlon(x, y), "placed", "generated"]
            )
            anchors.setdefault(code, []).append((x, y))
    if (code := street_code(FAR_STREET[0])) in anchors:
        anchors[code] += [FAR_VILLAGE, FAR_VILLAGE]  # three in four live up the valley
    return stops, anchors


def _county_taxpayers(
    rng: random.Random,
    anchors: dict[str, list[tuple[float, float]]],
    streets: list[tuple[str, str, str, bool, tuple[float, float]]],
) -> list[list[object]]:
    """The taxpayers.csv rows: around a street's stops, or anywhere in a street without."""
    seen: set[str] = set()
    shops = ["饭店", "超市", "五金店", "农资店", "修理部", "养殖场"]
    counts = {"100": 110, "101": 60, "102": 45, "103": 40, "104": 35, "105": 35, "106": 30}
    counts[FAR_STREET[0]] = 28
    taxpayers: list[list[object]] = []
    for suffix, _name, _en, _served, (x0, x1) in streets:
        code = street_code(suffix)
        for i in range(counts[suffix]):
            if code in anchors:
                ax, ay = rng.choice(anchors[code])
                x, y = ax + rng.gauss(0, 1.2), ay + rng.gauss(0, 1.2)
            else:
                x, y = rng.uniform(x0, x1), rng.gauss(0, 1.5)
            x = min(max(x, 0.2), max(x1, LENGTH_KM) - 1.0)
            y = min(max(y, -WIDTH_KM / 2 + 1), WIDTH_KM / 2 - 1)
            individual = rng.random() < 0.6
            who = rng.choice("王李张刘陈杨赵黄周吴")
            name = (
                f"示例县{who}记{rng.choice(shops)}"
                if individual
                else f"示例县{who}氏{'實業' if i % 7 == 0 else '商贸'}有限公司{i}"
            )
            taxpayers.append(
                [
                    _uscc(rng, individual, seen),
                    name,
                    "individual" if individual else "enterprise",
                    code,
                    *to_latlon(x, y),
                ]
            )
    return taxpayers


def make_county(folder: Path, seed: int = 2026, outline: bool = True, far: bool = False) -> Path:
    """Write the county's data folder into `folder` (created) and return it; with `far`, the
    county has `FAR_STREET` too (the rest is the same as without it)."""
    rng = random.Random(seed)
    streets = [*STREETS, FAR_STREET] if far else list(STREETS)
    folder.mkdir(parents=True, exist_ok=True)
    _write(
        folder / "depot.csv",
        ["id", "name", "lat", "lon", "coord_quality"],
        [["hall", MARKUP_HALL, *to_latlon(0.0, 0.0), "surveyed"]],
    )
    _write(
        folder / "streets.csv",
        ["code", "name", "name_en", "served"],
        [[street_code(s), n, en, "true" if served else "false"] for s, n, en, served, _ in streets],
    )
    stops, anchors = _county_stops(rng, streets)
    _write(
        folder / "stops.csv",
        ["stop_id", "name", "street_code", "kind", "lat", "lon", "coord_source", "source"],
        stops,
    )
    taxpayers = _county_taxpayers(rng, anchors, streets)
    _write(
        folder / "taxpayers.csv",
        ["taxpayer_id", "name", "kind", "street_code", "lat", "lon"],
        taxpayers,
    )
    _write(
        folder / "services.csv",
        ["code", "name_zh", "name_en", "minutes", "materials_zh", "materials_en"],
        [list(s) for s in SERVICES],
    )
    _write(
        folder / "vans.csv",
        [
            "van_id",
            "name",
            "counters",
            "shift_start",
            "shift_end",
            "lunch_minutes",
            "lunch_earliest",
            "lunch_latest",
            "weekdays",
        ],
        [["G1", "示例县流动办税车", 2, "08:00", "18:00", 60, "11:30", "14:00", "Mon-Fri"]],
    )
    if outline:
        end = (FAR_STREET[4][1] if far else LENGTH_KM) + 2
        ring = [
            (-3.0, -12.5),
            (40.0, -13.0),
            (80.0, -11.0),
            (end, -12.0),
            (end, 12.0),
            (80.0, 13.0),
            (40.0, 11.5),
            (-3.0, 12.5),
        ]
        coords = [[lon, lat] for lat, lon in (to_latlon(x, y) for x, y in ring)]
        coords.append(coords[0])
        feature = {
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [coords]},
            "properties": {"name": "示例县", "source": "generated for the tests"},
        }
        (folder / "outline.geojson").write_text(
            json.dumps({"type": "FeatureCollection", "features": [feature]}, ensure_ascii=False),
            encoding="utf-8",
        )
    return folder


if __name__ == "__main__":
    print(make_county(Path(sys.argv[1] if len(sys.argv) > 1 else "county")))
