"""The map's base: an approved tile map when one is configured, and always a base of its own
drawn from the district's data (its outline, its streets' areas, its stops' names).

Maps published in China must use an approved base map and show its review number (审图号);
Tianditu is one, and needs a key. Without a key, offline, or when the tiles cannot be reached,
the map still looks like a map: the district's outline, each street's area in its colour with
its name, and the stops' names, all drawn from the data the planner already has. No street
boundaries come with the data, so a street's area is approximate: the part of the district
nearer to that street's points (its stops, and the registry counted by squares, never a
taxpayer's own place) than to another street's.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import shapely
from branca.element import MacroElement
from jinja2 import Template
from shapely.geometry import MultiPoint, Point, mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import polylabel, unary_union

from taxvan.dataset import Dataset

UNSERVED_FILL = "#d4d4d4"
"""Streets with no stops (near the hall) are grey."""

_CELL_KM = 1.0
_SIMPLIFY_DEG = 0.0004  # about 40 m: invisible at the zooms a district is seen at
_DIGITS = 5  # about 1 m


@dataclass(frozen=True, slots=True)
class StreetArea:
    code: str
    name: str
    area: BaseGeometry


def district_area(dataset: Dataset, outline: Mapping[str, Any] | None) -> BaseGeometry:
    """The district's outline as one shape, or (without one) the hull of its points widened
    by about 1 km."""
    if outline:
        features = outline.get("features") or [outline]
        shapes = [shape(f.get("geometry", f)) for f in features if f.get("geometry", f)]
        area = unary_union([s.buffer(0) for s in shapes])
        if not area.is_empty:
            return area
    points = [(s.lon, s.lat) for s in dataset.stops] + [(dataset.depot.lon, dataset.depot.lat)]
    return MultiPoint(points).convex_hull.buffer(0.01)


def _seeds(dataset: Dataset) -> dict[tuple[float, float], str]:
    """Points that say which street a place belongs to: each stop, and the centre of each square
    of about 1 km of the registry, given the street most of its taxpayers belong to."""
    if not dataset.taxpayers and not dataset.stops:
        return {}
    lats = [t.lat for t in dataset.taxpayers] or [s.lat for s in dataset.stops]
    dlat = _CELL_KM / 111.32
    dlon = _CELL_KM / (111.32 * max(math.cos(math.radians(sum(lats) / len(lats))), 0.01))
    squares: dict[tuple[int, int], Counter[str]] = {}
    for t in dataset.taxpayers:
        key = (math.floor(t.lat / dlat), math.floor(t.lon / dlon))
        squares.setdefault(key, Counter())[t.street_code] += 1
    seeds = {
        (round((j + 0.5) * dlon, _DIGITS), round((i + 0.5) * dlat, _DIGITS)): count.most_common(1)[
            0
        ][0]
        for (i, j), count in squares.items()
    }
    for s in dataset.stops:  # a stop says it surely
        seeds[(round(s.lon, _DIGITS), round(s.lat, _DIGITS))] = s.street_code
    return seeds


def street_areas(dataset: Dataset, outline: Mapping[str, Any] | None) -> list[StreetArea]:
    """Each street's approximate area inside the district (see the module's docstring)."""
    district = district_area(dataset, outline)
    seeds = _seeds(dataset)
    names = {s.code: s.name for s in dataset.streets}
    if len(seeds) < 2:
        only = next(iter(seeds.values()), None)
        return [StreetArea(only, names.get(only, only), district)] if only else []
    points = list(seeds)
    cells = shapely.voronoi_polygons(
        MultiPoint(points), extend_to=district.envelope.buffer(0.05), ordered=True
    )
    parts: dict[str, list[BaseGeometry]] = {}
    for point, cell in zip(points, shapely.get_parts(cells), strict=True):
        parts.setdefault(seeds[point], []).append(cell)
    out = []
    for code in (s.code for s in dataset.streets):
        if code not in parts:
            continue
        area = unary_union(parts[code]).intersection(district).simplify(_SIMPLIFY_DEG)
        if not area.is_empty:
            out.append(StreetArea(code, names[code], area))
    return out


def _label_point(area: BaseGeometry) -> tuple[float, float]:
    """Where a street's name goes: well inside its largest piece (lat, lon)."""
    pieces = [p for p in shapely.get_parts(area) if p.geom_type == "Polygon"]
    if not pieces:
        c = area.representative_point()
        return (c.y, c.x)
    p: Point = polylabel(max(pieces, key=lambda g: g.area), tolerance=0.001)
    return (round(p.y, _DIGITS), round(p.x, _DIGITS))


def _rounded(geom: BaseGeometry) -> dict[str, Any]:
    return dict(mapping(shapely.set_precision(geom, 10**-_DIGITS)))


def base_data(
    dataset: Dataset,
    outline: Mapping[str, Any] | None,
    fills: Mapping[str, str],
    street_name: Mapping[str, str],
) -> dict[str, Any]:
    """What the page draws its own base from: the district's outline, each street's area with
    its fill and name, and each stop's name. Names are plain text (the page sets them as text)."""
    district = district_area(dataset, outline)
    areas = street_areas(dataset, outline)
    served = {s.code for s in dataset.streets if s.served}
    return {
        "outline": _rounded(district.boundary),
        "areas": {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {"fill": fills.get(a.code, UNSERVED_FILL)},
                    "geometry": _rounded(a.area),
                }
                for a in areas
            ],
        },
        "streets": [
            {"at": _label_point(a.area), "name": street_name.get(a.code, a.name)} for a in areas
        ],
        "stops": [
            {"at": (s.lat, s.lon), "name": s.name} for s in dataset.stops if s.street_code in served
        ],
    }


@dataclass(frozen=True, slots=True)
class Tiles:
    """The tile layers of one page: a base and its annotation layer, with the attribution."""

    url: str
    labels: str | None
    subdomains: str
    attribution: str


class BaseLayers(MacroElement):
    """The map's base, drawn below everything else.

    The district's own base (street areas, outline, names) is always there. Tiles, when
    configured, go on top of it and hide its fills and names; if the first tiles cannot be
    loaded (offline, blocked, a wrong key) the page shows its own base again. The names are
    set as text, never as markup.
    """

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "(function (map, data, tiles) {"
        "var box = map.getContainer();"
        "map.createPane('tvAreas').style.zIndex = 250;"
        "map.createPane('tvNames').style.zIndex = 450;"
        "map.getPane('tvNames').style.pointerEvents = 'none';"
        "L.geoJSON(data.areas, {pane: 'tvAreas', interactive: false, className: 'tv-area',"
        " style: function (f) { return {color: '#ffffff', weight: 1.5, opacity: 0.9,"
        " fillColor: f.properties.fill, fillOpacity: 0.5}; }}).addTo(map);"
        "L.geoJSON(data.outline, {pane: 'tvAreas', interactive: false, className: 'tv-outline',"
        " style: {color: '#3d3d3d', weight: 2.5, dashArray: '8 5', fill: false}}).addTo(map);"
        # Names are plain elements in a pane of their own (not markers: nothing to tap),
        # placed again after each zoom; their text is set as text, never as markup.
        "var names = [];"
        "function place(n) { L.DomUtil.setPosition(n.el, map.latLngToLayerPoint(n.at)); }"
        "function name(at, text, cls) {"
        " var el = L.DomUtil.create('div', 'tv-name ' + cls, map.getPane('tvNames'));"
        " el.textContent = text; el.setAttribute('aria-hidden', 'true');"
        " var n = {el: el, at: L.latLng(at)}; names.push(n); place(n); }"
        "map.on('zoomend viewreset', function () { names.forEach(place); });"
        "data.streets.forEach(function (s) { name(s.at, s.name, 'tv-street-name'); });"
        "data.stops.forEach(function (s) { name(s.at, s.name, 'tv-stop-name'); });"
        "function near() { box.classList.toggle('tv-near', map.getZoom() >= 12); }"
        "map.on('zoomend', near); near();"
        "{% if not this.tiles %}box.classList.add('tv-own');{% else %}"
        "box.classList.add('tv-tiled');"
        "var loaded = 0;"
        "var base = L.tileLayer({{ this.tiles.url|tojson }}, {subdomains: tiles.subdomains,"
        " maxZoom: 18, attribution: tiles.attribution});"
        "base.on('tileload', function () { loaded += 1; box.classList.remove('tv-own'); });"
        "base.on('tileerror', function () {"
        " if (loaded || box.classList.contains('tv-own')) return;"
        " box.classList.add('tv-own'); map.attributionControl.addAttribution(tiles.own); });"
        "base.addTo(map);"
        "{% if this.tiles.labels %}"
        "L.tileLayer({{ this.tiles.labels|tojson }}, {subdomains: tiles.subdomains,"
        " maxZoom: 18}).addTo(map);"
        "{% endif %}{% endif %}"
        "})({{ this._parent.get_name() }}, {{ this.data|tojson }}, {{ this.tile_options|tojson }});"
        "{% endmacro %}"
    )

    def __init__(self, data: dict[str, Any], tiles: Tiles | None, own: str) -> None:
        """`own` is the attribution of the own base, shown when it is the base seen."""
        super().__init__()
        self._name = "BaseLayers"
        self.data = data
        self.tiles = tiles
        self.tile_options = (
            {"subdomains": tiles.subdomains, "attribution": tiles.attribution, "own": own}
            if tiles
            else None
        )
