"""Build the Fangzi District demo data in data/fangzi/ from the real geodata in data/geodata/.

Run from the repository root: `python data/build_fangzi.py` (needs the dev extras for
shapely). The random seed is fixed, so the output is the same on every machine.

What is real: the 7 sub-districts, village and community names and codes (NBS 2023), the 17
surveyed village points, the district outline, the district government seat.
What is made up: the points of the other villages (placed at random inside their
sub-district's cell of a Voronoi partition of the sub-district points, clipped to the
district outline), the industrial park and key project sites, and the whole taxpayer
registry. The depot is placed near the government seat and marked approximate.
"""

from __future__ import annotations

import csv
import json
import math
import random
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPoint, Point, shape
from shapely.ops import voronoi_diagram
from stdnum.cn import uscc

ROOT = Path(__file__).resolve().parent
GEO = ROOT / "geodata" / "fangzi"
OUT = ROOT / "fangzi"
SEED = 20261125

STREET_EN = {
    "凤凰街道": "Fenghuang",
    "坊城街道": "Fangcheng",
    "坊安街道": "Fang'an",
    "九龙街道": "Jiulong",
    "黄旗堡街道": "Huangqibao",
    "太保庄街道": "Taibaozhuang",
    "王家庄街道": "Wangjiazhuang",
}
URBAN = {"凤凰街道", "坊城街道"}
STOPS_PER_STREET = 9

# Industrial parks and key project sites: synthetic names, placed inside their street.
SITES = [
    ("P01", "九龙街道工业园（示例）", "九龙街道", "industrial_park", 0.35),
    ("P02", "黄旗堡街道产业园（示例）", "黄旗堡街道", "industrial_park", 0.30),
    ("P03", "太保庄街道重点项目工地（示例）", "太保庄街道", "key_project", 0.45),
    ("P04", "王家庄街道物流园（示例）", "王家庄街道", "industrial_park", 0.40),
]

# Taxpayers per village by its urban/rural class (2016): town cores hold more firms.
CLASS_WEIGHT = {111: 14.0, 112: 5.0, 121: 6.0, 122: 4.0, 123: 3.0, 210: 4.0, 220: 1.0}
URBAN_SHARE = 0.87  # of taxpayers registered in the two urban sub-districts
TOTAL_TAXPAYERS = 5400

ORG_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


class LocalProjection:
    """Equirectangular metres around a centre: enough for a 50 km district."""

    def __init__(self, lat0: float, lon0: float) -> None:
        self.lat0, self.lon0 = lat0, lon0
        self.kx = 111_320 * math.cos(math.radians(lat0))
        self.ky = 110_574

    def to_xy(self, lat: float, lon: float) -> tuple[float, float]:
        return ((lon - self.lon0) * self.kx, (lat - self.lat0) * self.ky)

    def to_latlon(self, x: float, y: float) -> tuple[float, float]:
        return (self.lat0 + y / self.ky, self.lon0 + x / self.kx)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def write_csv(path: Path, rows: list[dict], columns: list[str]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns, lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({c: r[c] for c in columns})


def org_code(rng: random.Random) -> str:
    """A 9-character organisation code with its GB 11714 check character."""
    body = "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY"[: 10 + 20]) for _ in range(8))
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    values = [int(c) if c.isdigit() else ord(c) - 55 for c in body]
    c = 11 - sum(v * w for v, w in zip(values, weights, strict=True)) % 11
    check = "X" if c == 10 else "0" if c == 11 else str(c)
    return body + check


def make_uscc(rng: random.Random, individual: bool, seen: set[str]) -> str:
    while True:
        head = ("92" if individual else "91") + "370704" + org_code(rng)
        code = head + uscc.calc_check_digit(head)
        if code not in seen and uscc.is_valid(code):
            seen.add(code)
            return code


def short_name(village: str) -> str:
    for suffix in ("社区居民委员会", "社区居委会", "居民委员会", "居委会", "村民委员会", "村委会"):
        if village.endswith(suffix):
            village = village[: -len(suffix)]
            break
    return village.removesuffix("村") if len(village) > 2 else village


@dataclass
class _Map:
    """The district in local metres: the projection, each sub-district's point and its cell
    (a Voronoi partition of the points, clipped to the outline)."""

    proj: LocalProjection
    sub_pts: dict[str, tuple[float, float]]
    cells: dict[str, Any]
    np_rng: np.random.Generator

    def place_in(
        self, name: str, centre: tuple[float, float], spread: float
    ) -> tuple[float, float]:
        """A random point around `centre` inside sub-district `name`'s cell."""
        cell = self.cells[name]
        for _ in range(10_000):
            x = centre[0] + self.np_rng.normal(0, spread)
            y = centre[1] + self.np_rng.normal(0, spread)
            if cell.contains(Point(x, y)):
                return x, y
        raise RuntimeError(f"could not place a point in {name}")


def main() -> int:
    rng = random.Random(SEED)
    np_rng = np.random.default_rng(SEED)
    subs = read_csv(GEO / "subdistricts.csv")
    villages = read_csv(GEO / "villages.csv")
    places = {r["id"]: r for r in read_csv(GEO / "places.csv")}
    outline_feature = next(
        f
        for f in json.loads((GEO / "boundaries.geojson").read_text())["features"]
        if f["properties"].get("primary")
    )
    seat = places["district_gov_seat"]
    geo = _district_map(subs, outline_feature, seat, np_rng)
    vpoints = _village_points(villages, geo)

    OUT.mkdir(exist_ok=True)
    _write_outline(outline_feature)
    _write_depot(geo.proj, seat, places["tax_service_hall"]["name"])
    streets = [
        {
            "code": s["code_nbs"],
            "name": s["name"],
            "name_en": STREET_EN[s["name"]],
            "served": "false" if s["name"] in URBAN else "true",
        }
        for s in subs
    ]
    write_csv(OUT / "streets.csv", streets, ["code", "name", "name_en", "served"])
    code_of = {s["name"]: s["code_nbs"] for s in subs}

    stops = _village_stops(subs, villages, vpoints, geo.proj)
    site_points = {}
    for sid, name, sname, kind, lat, lon in _site_points(geo):
        site_points[sid] = (lat, lon, sname)
        stops.append(
            {
                "stop_id": sid,
                "name": name,
                "street_code": code_of[sname],
                "kind": kind,
                "lat": round(lat, 6),
                "lon": round(lon, 6),
                "coord_source": "placed",
                "source": "synthetic demo site",
            }
        )
    write_csv(
        OUT / "stops.csv",
        stops,
        ["stop_id", "name", "street_code", "kind", "lat", "lon", "coord_source", "source"],
    )

    anchors, counts = _taxpayer_anchors(villages, vpoints, site_points)
    taxpayers = _taxpayers(anchors, counts, geo.proj, code_of, rng, np_rng)
    write_csv(
        OUT / "taxpayers.csv",
        taxpayers,
        ["taxpayer_id", "name", "kind", "street_code", "lat", "lon"],
    )
    _write_services_and_vans()
    print(f"wrote {OUT}: {len(stops)} stops, {len(taxpayers)} taxpayers")
    return 0


def _district_map(
    subs: list[dict[str, str]],
    outline_feature: dict[str, Any],
    seat: dict[str, str],
    np_rng: np.random.Generator,
) -> _Map:
    proj = LocalProjection(float(seat["lat_wgs84"]), float(seat["lon_wgs84"]))

    def to_xy(coords: np.ndarray) -> np.ndarray:
        lon, lat = coords[:, 0], coords[:, 1]
        return np.column_stack(((lon - proj.lon0) * proj.kx, (lat - proj.lat0) * proj.ky))

    outline = shapely.transform(shape(outline_feature["geometry"]), to_xy).buffer(0)
    sub_pts = {s["name"]: proj.to_xy(float(s["lat_wgs84"]), float(s["lon_wgs84"])) for s in subs}
    cells_raw = voronoi_diagram(MultiPoint(list(sub_pts.values())), envelope=outline.envelope)
    cells = {}
    for name, (x, y) in sub_pts.items():
        cell = next(c for c in cells_raw.geoms if c.contains(Point(x, y)))
        cells[name] = cell.intersection(outline)
    return _Map(proj, sub_pts, cells, np_rng)


def _village_points(
    villages: list[dict[str, str]], geo: _Map
) -> dict[str, tuple[float, float, str]]:
    """Villages: surveyed points kept, the others placed in their sub-district's cell."""
    vpoints: dict[str, tuple[float, float, str]] = {}
    for v in villages:
        if v["lat_wgs84"]:
            vpoints[v["code"]] = (float(v["lat_wgs84"]), float(v["lon_wgs84"]), "surveyed")
        else:
            sname = v["subdistrict_name"]
            spread = math.sqrt(geo.cells[sname].area) / (4.0 if sname in URBAN else 2.2)
            x, y = geo.place_in(sname, geo.sub_pts[sname], spread)
            lat, lon = geo.proj.to_latlon(x, y)
            vpoints[v["code"]] = (round(lat, 6), round(lon, 6), "placed")
    return vpoints


def _write_outline(outline_feature: dict[str, Any]) -> None:
    (OUT / "outline.geojson").write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "geometry": outline_feature["geometry"],
                        "properties": {
                            "name": "坊子区",
                            "source": outline_feature["properties"]["source"],
                        },
                    }
                ],
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )


def _write_depot(proj: LocalProjection, seat: dict[str, str], hall_name: str) -> None:
    """Depot: near the government seat (the hall's address is not in any source)."""
    depot_lat, depot_lon = proj.to_latlon(
        *(
            a + b
            for a, b in zip(
                proj.to_xy(float(seat["lat_wgs84"]), float(seat["lon_wgs84"])),
                (250.0, -350.0),
                strict=True,
            )
        )
    )
    write_csv(
        OUT / "depot.csv",
        [
            {
                "id": "hall",
                "name": hall_name,
                "lat": round(depot_lat, 6),
                "lon": round(depot_lon, 6),
                "coord_quality": "approximate",
            }
        ],
        ["id", "name", "lat", "lon", "coord_quality"],
    )


def _village_stops(
    subs: list[dict[str, str]],
    villages: list[dict[str, str]],
    vpoints: dict[str, tuple[float, float, str]],
    proj: LocalProjection,
) -> list[dict[str, Any]]:
    """Stops: in each outlying street, the surveyed villages first, then spread-out others
    (farthest-point sampling from the sub-district point)."""
    stops = []
    for s in subs:
        if s["name"] in URBAN:
            continue
        members = [v for v in villages if v["subdistrict_name"] == s["name"]]
        chosen = [v for v in members if vpoints[v["code"]][2] == "surveyed"]
        pool = [v for v in members if v not in chosen]
        anchor = [proj.to_xy(float(s["lat_wgs84"]), float(s["lon_wgs84"]))]
        anchor += [proj.to_xy(*vpoints[v["code"]][:2]) for v in chosen]
        while len(chosen) < STOPS_PER_STREET and pool:

            def gap(v, anchor=anchor):
                x, y = proj.to_xy(*vpoints[v["code"]][:2])
                return min(math.hypot(x - ax, y - ay) for ax, ay in anchor)

            best = max(pool, key=lambda v: (gap(v), v["code"]))
            pool.remove(best)
            chosen.append(best)
            anchor.append(proj.to_xy(*vpoints[best["code"]][:2]))
        for v in sorted(chosen, key=lambda v: v["code"]):
            lat, lon, src = vpoints[v["code"]]
            stops.append(
                {
                    "stop_id": v["code"],
                    "name": v["name"],
                    "street_code": s["code_nbs"],
                    "kind": "community" if "居" in v["kind"] or "社区" in v["kind"] else "village",
                    "lat": lat,
                    "lon": lon,
                    "coord_source": src,
                    "source": "NBS 2023 village-level unit",
                }
            )
    return stops


def _site_points(geo: _Map) -> list[tuple[str, str, str, str, float, float]]:
    """(id, name, street, kind, lat, lon) of the parks and project sites: between the
    sub-district point and the cell's far side, so parks spread out."""
    out = []
    for sid, name, sname, kind, frac in SITES:
        cx, cy = geo.sub_pts[sname]
        cell = geo.cells[sname]
        far = max(cell.exterior.coords, key=lambda p: math.hypot(p[0] - cx, p[1] - cy))
        x, y = cx + (far[0] - cx) * frac, cy + (far[1] - cy) * frac
        if not cell.contains(Point(x, y)):
            x, y = geo.place_in(sname, (cx, cy), 1500)
        lat, lon = geo.proj.to_latlon(x, y)
        out.append((sid, name, sname, kind, lat, lon))
    return out


def _taxpayer_anchors(
    villages: list[dict[str, str]],
    vpoints: dict[str, tuple[float, float, str]],
    site_points: dict[str, tuple[float, float, str]],
) -> tuple[list[tuple[float, float, str, float, str, bool]], list[int]]:
    """The places taxpayers gather around (lat, lon, street, weight, place name, park) and
    how many each gets: urban streets hold most of them; in the outlying streets they sit in
    villages (more in town cores) and in the parks."""
    anchors: list[tuple[float, float, str, float, str, bool]] = []
    for v in villages:
        cls = int(float(v["urban_rural_class"])) if v["urban_rural_class"] else 220
        lat, lon, _ = vpoints[v["code"]]
        anchors.append(
            (
                lat,
                lon,
                v["subdistrict_name"],
                CLASS_WEIGHT.get(cls, 1.0),
                short_name(v["name"]),
                False,
            )
        )
    for sid, name, sname, *_ in SITES:
        lat, lon, _ = site_points[sid]
        anchors.append((lat, lon, sname, 25.0, name.split("（")[0], True))
    urban_w = sum(a[3] for a in anchors if a[2] in URBAN)
    rural_w = sum(a[3] for a in anchors if a[2] not in URBAN)
    counts = []
    for a in anchors:
        share = URBAN_SHARE / urban_w if a[2] in URBAN else (1 - URBAN_SHARE) / rural_w
        counts.append(a[3] * share * TOTAL_TAXPAYERS)
    ints = [math.floor(c) for c in counts]
    for i in sorted(range(len(counts)), key=lambda i: ints[i] - counts[i])[
        : TOTAL_TAXPAYERS - sum(ints)
    ]:
        ints[i] += 1
    return anchors, ints


def _taxpayers(
    anchors: list[tuple[float, float, str, float, str, bool]],
    ints: list[int],
    proj: LocalProjection,
    code_of: dict[str, str],
    rng: random.Random,
    np_rng: np.random.Generator,
) -> list[dict[str, Any]]:
    """The registry: around each anchor as many taxpayers as it gets, firms (mostly in the
    parks) and individual shops, with valid made-up USCCs."""
    surnames = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
    shops = [
        "便利店",
        "超市",
        "五金店",
        "农资店",
        "饭店",
        "理发店",
        "汽修店",
        "建材店",
        "水果店",
        "养殖场",
        "果蔬合作社",
        "电器维修部",
        "服装店",
        "早餐店",
        "快递点",
    ]
    trades = [
        "机械制造",
        "农业科技",
        "食品",
        "建材",
        "物流",
        "商贸",
        "纺织",
        "包装",
        "化工",
        "电子",
        "家具",
        "生物科技",
        "环保科技",
        "汽车配件",
        "建筑工程",
    ]
    words = "鑫源宏泰华信金盛恒丰瑞达福润康宁东方永兴德嘉正通利民"
    seen: set[str] = set()
    taxpayers = []
    for a, n in zip(anchors, ints, strict=True):
        lat0, lon0, sname, _, place, park = a
        x0, y0 = proj.to_xy(lat0, lon0)
        spread = 350.0 if park else (600.0 if sname in URBAN else 300.0)
        for _ in range(n):
            enterprise = rng.random() < (0.9 if park else 0.3 if sname in URBAN else 0.2)
            if enterprise:
                name = f"潍坊{rng.choice(words)}{rng.choice(words)}{rng.choice(trades)}有限公司"
            else:
                name = f"坊子区{place}{rng.choice(surnames)}记{rng.choice(shops)}"
            x = x0 + np_rng.normal(0, spread)
            y = y0 + np_rng.normal(0, spread)
            lat, lon = proj.to_latlon(x, y)
            taxpayers.append(
                {
                    "taxpayer_id": make_uscc(rng, not enterprise, seen),
                    "name": name,
                    "kind": "enterprise" if enterprise else "individual",
                    "street_code": code_of[sname],
                    "lat": round(lat, 6),
                    "lon": round(lon, 6),
                }
            )
    return taxpayers


def _write_services_and_vans() -> None:
    services = [
        (
            "invoice_sale",
            "发票领购",
            "Blank invoice purchase",
            15,
            "营业执照副本、经办人身份证、税控设备（税务UKey）",
            "Business licence copy, agent's ID card, tax control device (tax UKey)",
        ),
        (
            "invoice_issue",
            "发票代开",
            "Invoice issued on your behalf",
            20,
            "经办人身份证、合同或协议、收款凭证",
            "Agent's ID card, contract or agreement, proof of payment",
        ),
        (
            "tax_certificate",
            "完税证明打印",
            "Tax payment certificate",
            10,
            "纳税人身份证件或营业执照",
            "Taxpayer's ID card or business licence",
        ),
        (
            "appointment_any",
            "全事项预约",
            "Appointment for any other matter",
            15,
            "经办人身份证、与所办事项相关的资料",
            "Agent's ID card and the papers for the matter",
        ),
        (
            "consult",
            "咨询与辅导办理",
            "Consultation and guided handling",
            15,
            "与咨询事项相关的资料（如有）",
            "Papers about your question, if any",
        ),
    ]
    write_csv(
        OUT / "services.csv",
        [
            dict(
                zip(
                    ["code", "name_zh", "name_en", "minutes", "materials_zh", "materials_en"],
                    s,
                    strict=True,
                )
            )
            for s in services
        ],
        ["code", "name_zh", "name_en", "minutes", "materials_zh", "materials_en"],
    )
    write_csv(
        OUT / "vans.csv",
        [
            {
                "van_id": "V1",
                "name": "移动智能办税车1号",
                "counters": 2,
                "shift_start": "08:30",
                "shift_end": "17:00",
                "lunch_minutes": 60,
                "lunch_earliest": "11:30",
                "lunch_latest": "13:30",
                "weekdays": "Mon-Fri",
            }
        ],
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
    )


if __name__ == "__main__":
    sys.exit(main())
