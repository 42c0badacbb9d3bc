"""The schedule map: a Folium map that works with no internet access.

Folium loads Leaflet, jQuery and Bootstrap from CDNs, which an intranet or an offline laptop
cannot reach (python-visualization/folium#1593). This map drops all of them, inlines the
Leaflet files shipped in `web/static/vendor/leaflet/`, and binds popups and tooltips itself
with JSON-encoded strings: a stop name with quotes, backticks or markup shows as text and
can neither break nor script the page (folium#850, #1640).
"""

from __future__ import annotations

import base64
import html
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import folium
from branca.element import Element, Figure, MacroElement
from jinja2 import Template

from routes.plan import Plan
from taxvan.clock import hhmm
from taxvan.dataset import Dataset
from taxvan.places import STOP_KIND_ZH, LatLon
from taxvan.workdays import WEEKDAY_ZH

VENDOR = Path(__file__).resolve().parent.parent / "static" / "vendor" / "leaflet"

# Stops are light dots (ColorBrewer Set2), routes dark lines: a day's line never looks like
# a street's colour.
STREET_COLOURS = (
    "#66c2a5",
    "#fc8d62",
    "#8da0cb",
    "#e78ac3",
    "#a6d854",
    "#e5b800",
    "#e5c494",
    "#b3b3b3",
)
DAY_COLOURS = ("#b2182b", "#2166ac", "#1b7837", "#762a83", "#8c510a", "#01665e", "#4d4d4d")


@dataclass(frozen=True, slots=True)
class TileSource:
    """A tile layer: URL template, attribution, and the coordinate system of its tiles."""

    name: str
    url: str | None
    attribution: str
    subdomains: str = "abc"
    crs: str = "WGS-84"


TILE_SOURCES = {
    "osm": TileSource(
        "OpenStreetMap",
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        "&copy; OpenStreetMap contributors",
    ),
    "tianditu": TileSource(
        "天地图",
        "https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
        "&LAYER=vec&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}"
        "&TILECOL={x}&tk={key}",
        "&copy; 天地图 Tianditu",
        "01234567",
        "CGCS2000",
    ),
    "none": TileSource("none", None, ""),
}


def tile_source(name: str, url: str | None = None, key: str | None = None) -> TileSource:
    """The tile source called `name`, or a custom `url` template; raises ValueError if unknown."""
    if url:
        return TileSource("custom", url, "")
    if name not in TILE_SOURCES:
        raise ValueError(
            f"unknown tile source '{name}'; use one of {', '.join(TILE_SOURCES)} "
            "or give a URL template"
        )
    src = TILE_SOURCES[name]
    if src.url and "{key}" in src.url:
        if not key:
            raise ValueError(f"the {src.name} tile source needs a key (TAXVAN_TILE_KEY)")
        src = TileSource(
            src.name, src.url.replace("{key}", key), src.attribution, src.subdomains, src.crs
        )
    return src


def esc(text: object) -> str:
    """HTML-escape data for a popup; backticks and `$` too, for any template literal."""
    return html.escape(str(text), quote=True).replace("`", "&#96;").replace("$", "&#36;")


class _Bind(MacroElement):
    """Bind a popup or tooltip whose content is JSON-encoded, never pasted into JS source."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "{{ this._parent.get_name() }}.{{ this.method }}({{ this.content|tojson }}, "
        "{{ this.options|tojson }});"
        "{% endmacro %}"
    )

    def __init__(self, method: str, content: str, **options: Any) -> None:
        super().__init__()
        self._name = "Bind"
        self.method = method
        self.content = content
        self.options = options


def en(text: str) -> str:
    """English words inside the Chinese page, marked so a screen reader speaks them as English."""
    return f'<span lang="en">{esc(text)}</span>'


def popup(content_html: str, max_width: int = 280) -> _Bind:
    return _Bind("bindPopup", content_html, maxWidth=max_width)


def tooltip(content_html: str) -> _Bind:
    return _Bind("bindTooltip", content_html, sticky=True)


# Leaflet's CSS for Internet Explorer's VML (before IE 9): `behavior` is no CSS property, and
# Leaflet draws with SVG in every browser the site supports.
_IE_VML = re.compile(r"\s*behavior: url\(#default#VML\);")


def _inline_images(css: str) -> str:
    """Leaflet's CSS points at images/*.png beside it; a standalone page carries them inline
    (and leaves out the rule only old Internet Explorer read)."""
    css = _IE_VML.sub("", css)

    def data_uri(match: re.Match[str]) -> str:
        png = (VENDOR / "images" / match.group(1)).read_bytes()
        return f"url(data:image/png;base64,{base64.b64encode(png).decode()})"

    return re.sub(r"url\(images/([\w.-]+\.png)\)", data_uri, css)


class _Region(MacroElement):
    """Name the map's box: the keyboard can focus it to pan and zoom, so it needs a name."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "{{ this._parent.get_name() }}.getContainer().setAttribute('role', 'region');"
        "{{ this._parent.get_name() }}.getContainer().setAttribute('aria-label', "
        "{{ this.label|tojson }});"
        "{% endmacro %}"
    )

    def __init__(self, label: str) -> None:
        super().__init__()
        self._name = "Region"
        self.label = label


class _Page(Figure):
    """branca's page with a language and a title, which every web page needs (WCAG 3.1.1, 2.4.2),
    and its script inside the body (branca's own page puts it after `</body>`, which HTML does
    not allow).

    `title` must already be HTML-escaped.
    """

    _template = Template(
        "<!DOCTYPE html>\n"
        '<html lang="{{ this.lang }}">\n'
        "<head>\n"
        "<title>{{ this.title }}</title>\n"
        "    {{ this.header.render(**kwargs) }}\n"
        "</head>\n"
        "<body>\n"
        "    {{ this.html.render(**kwargs) }}\n"
        "<script>\n"
        "    {{ this.script.render(**kwargs) }}\n"
        "</script>\n"
        "</body>\n"
        "</html>\n"
    )

    def __init__(self, title: str, lang: str = "zh-CN") -> None:
        super().__init__(title=title)
        self.lang = lang


# Favicon of the standalone map, inline so the page fetches nothing (same as static/favicon.svg).
FAVICON_SVG = (VENDOR.parent.parent / "favicon.svg").read_text(encoding="utf-8")

# Leaflet 1.9 SVG paths get a focus listener when a tooltip is bound, which makes Chromium put
# every stop dot and route line into the Tab order, unnamed (54 stops on the demo week). They
# leave the Tab order; the numbered stops of each route stay there, each named in full.
# Folium creates each marker with Leaflet's default image icon before setting ours, so the
# default icon's images are requested relative to the page (404); they are given inline here.
_MAP_JS = """<script>
(function () {
  var initPath = L.SVG.prototype._initPath;
  L.SVG.prototype._initPath = function (layer) {
    initPath.call(this, layer);
    layer._path.setAttribute("tabindex", "-1");
  };
  L.Icon.Default.imagePath = "";
  L.Icon.Default.mergeOptions(%s);
})();
</script>"""


def _default_icon_options() -> str:
    def uri(name: str) -> str:
        png = (VENDOR / "images" / name).read_bytes()
        return f"data:image/png;base64,{base64.b64encode(png).decode()}"

    return json.dumps(
        {
            "iconUrl": uri("marker-icon.png"),
            "iconRetinaUrl": uri("marker-icon-2x.png"),
            "shadowUrl": uri("marker-shadow.png"),
        }
    )


def _page_of(m: folium.Map) -> Figure:
    """The page `_offline_map` put the map on (its head and body take our extra parts)."""
    root = m.get_root()
    if not isinstance(root, Figure):
        raise TypeError("the map was not made by _offline_map: it has no page")
    return root


def _offline_map(
    location: tuple[float, float], tiles: TileSource, title: str, description: str
) -> folium.Map:
    m = folium.Map(
        location=location,
        zoom_start=11,
        tiles=None,
        control_scale=True,
        prefer_canvas=False,
        zoom_snap=0.25,
    )
    m.default_js = []
    m.default_css = []
    root = _Page(esc(title))
    root.add_child(m)
    root.header.add_child(
        Element('<meta name="viewport" content="width=device-width, initial-scale=1">'),
        name="viewport",
    )
    root.header.add_child(
        Element(f'<meta name="description" content="{esc(description)}">'), name="description"
    )
    icon = "data:image/svg+xml;base64," + base64.b64encode(FAVICON_SVG.encode()).decode()
    root.header.add_child(Element(f'<link rel="icon" href="{icon}">'), name="favicon")
    css = _inline_images((VENDOR / "leaflet.css").read_text(encoding="utf-8"))
    js = (VENDOR / "leaflet.js").read_text(encoding="utf-8")
    root.header.add_child(Element(f"<style>{css}</style>"), name="leaflet_css_inline")
    root.header.add_child(Element(f"<script>{js}</script>"), name="leaflet_js_inline")
    root.header.add_child(Element(_MAP_JS % _default_icon_options()), name="taxvan_js")
    root.header.add_child(Element(_PAGE_CSS), name="taxvan_css")
    m.add_child(_Region("地图：方向键移动，加减号缩放 Map: arrow keys move, + and - zoom"))
    if tiles.url:
        folium.TileLayer(
            tiles=tiles.url,
            attr=tiles.attribution or tiles.name,
            name=tiles.name,
            subdomains=tiles.subdomains,
            max_zoom=18,
        ).add_to(m)
    return m


_PAGE_CSS = """<style>
html, body { margin: 0; height: 100%; font-family: "PingFang SC", "Noto Sans CJK SC",
  "Microsoft YaHei", sans-serif; }
.tv-num { background: #fff; border: 2px solid; border-radius: 50%; width: 24px; height: 24px;
  line-height: 20px; text-align: center; font: bold 13px sans-serif; box-sizing: border-box; }
.tv-hall { background: #222; color: #fff; border-radius: 4px; width: 26px; height: 26px;
  line-height: 26px; text-align: center; font-size: 15px; font-weight: bold; }
.tv-box { position: absolute; z-index: 1000; background: rgba(255,255,255,.93); padding: 6px 9px;
  border-radius: 6px; box-shadow: 0 1px 4px rgba(0,0,0,.3); font-size: 13px; line-height: 1.35; }
.tv-title { top: 10px; left: 54px; right: 54px; max-width: 420px; }
.tv-legend { bottom: 26px; right: 8px; max-width: 46%; }
.tv-legend i { display: inline-block; width: 11px; height: 11px; border-radius: 50%;
  margin-right: 5px; vertical-align: -1px; }
.leaflet-popup-content { font-size: 14px; line-height: 1.45; }
.tv-sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0);
  white-space: nowrap; }
.leaflet-container :focus-visible { outline: 3px solid #1d1d1f; outline-offset: 1px; }
.leaflet-control-layers-expanded { font-size: 14px; }
.leaflet-container .leaflet-control-attribution a { text-decoration: underline; }
@media (max-width: 480px) { .tv-box { font-size: 12px; } .tv-title { left: 50px; right: 50px; } }
</style>"""


def schedule_map(
    plan: Plan,
    dataset: Dataset,
    tiles: TileSource,
    outline: dict[str, Any] | None = None,
    title: str | None = None,
) -> folium.Map:
    """The week's map: hall, stops coloured by street, one layer per day with its route."""
    depot = dataset.depot
    heading = title or f"移动办税车服务路线 {plan.week}"
    m = _offline_map(
        (depot.lat, depot.lon),
        tiles,
        title=heading,
        description=f"{heading}：各服务点本周的服务时间与每天的行车路线 "
        "Where and when the mobile tax service van stops this week",
    )
    streets = {s.code: s for s in dataset.streets}
    colour = {
        s.code: STREET_COLOURS[i % len(STREET_COLOURS)] for i, s in enumerate(dataset.streets)
    }
    stops = {s.id: s for s in dataset.stops}
    services = "、".join(esc(s.name_zh) for s in dataset.services)

    if outline:
        folium.GeoJson(
            outline,
            name="区界 District outline",
            control=False,
            style_function=lambda _f: {
                "color": "#555",
                "weight": 2,
                "dashArray": "6 4",
                "fill": False,
            },
        ).add_to(m)

    times: dict[str, list[str]] = {}
    for v in sorted(plan.visits, key=lambda v: (v.date, v.start)):
        times.setdefault(v.stop_id, []).append(
            f"{WEEKDAY_ZH[v.date.weekday()]} {v.date:%m-%d} {hhmm(v.start)}–{hhmm(v.end)}"
        )

    base = folium.FeatureGroup(name="服务点 Stops", control=True).add_to(m)
    for s in dataset.stops:
        if not streets.get(s.street_code) or not streets[s.street_code].served:
            continue
        visits = times.get(s.id)
        body = (
            f"<b>{esc(s.name)}</b><br>{esc(streets[s.street_code].name)} · "
            f"{esc(STOP_KIND_ZH.get(s.kind, s.kind))}<br>"
            + (
                "本周服务 " + en("This week:") + "<br>" + "<br>".join(visits)
                if visits
                else "本周无服务 " + en("No visit this week")
            )
            + f"<br><small>服务事项：{services}</small>"
            + (
                f"<br><small>位置为估算 {en('approximate location')}</small>"
                if s.coord_source != "surveyed"
                else ""
            )
        )
        marker = folium.CircleMarker(
            (s.lat, s.lon),
            radius=7 if visits else 5,
            color="#444",
            weight=1,
            fill=True,
            fill_color=colour[s.street_code],
            fill_opacity=0.9 if visits else 0.35,
        )
        marker.add_child(popup(body))
        marker.add_child(tooltip(esc(s.name)))
        marker.add_to(base)

    hall = folium.Marker(
        (depot.lat, depot.lon),
        icon=folium.DivIcon(
            html=(
                '<div class="tv-hall" aria-hidden="true">税</div>'
                f'<span class="tv-sr">{esc(depot.name)}</span>'
            ),
            icon_size=(26, 26),
            icon_anchor=(13, 13),
        ),
    )
    hall.add_child(
        popup(
            f"<b>{esc(depot.name)}</b><br>出发与返回 {en('start and end of each day')}"
            + (
                f"<br><small>位置为估算 {en('approximate location')}</small>"
                if depot.coord_quality != "surveyed"
                else ""
            )
        )
    )
    hall.add_child(tooltip(esc(depot.name)))
    hall.add_to(m)

    for i, r in enumerate(sorted(plan.routes, key=lambda r: (r.date, r.van_id))):
        if not r.visits:
            continue
        dc = DAY_COLOURS[i % len(DAY_COLOURS)]
        label = f"{WEEKDAY_ZH[r.date.weekday()]} {r.date:%m-%d} {esc(r.van_id)} ({len(r.visits)})"
        layer = folium.FeatureGroup(name=f'<span style="color:{dc}">■</span> {label}')
        path = [(depot.lat, depot.lon)] + [stops[v.stop_id].point for v in r.visits]
        path.append((depot.lat, depot.lon))
        line = folium.PolyLine(path, color=dc, weight=4, opacity=0.8)
        line.add_child(tooltip(label))
        line.add_to(layer)
        for v in r.visits:
            s = stops[v.stop_id]
            # what a screen reader says when the keyboard reaches the number
            name = (
                f"{WEEKDAY_ZH[r.date.weekday()]} {r.date:%m-%d} 第{v.order}站 "
                f"{hhmm(v.start)}–{hhmm(v.end)} {esc(s.name)}"
            )
            num = folium.Marker(
                s.point,
                icon=folium.DivIcon(
                    html=(
                        f'<div class="tv-num" style="border-color:{dc};color:{dc}" '
                        f'aria-hidden="true">{v.order}</div><span class="tv-sr">{name}</span>'
                    ),
                    icon_size=(24, 24),  # WCAG 2.5.8: a target of 24 x 24 px at least
                    icon_anchor=(12, 12),
                ),
            )
            num.add_child(tooltip(f"{v.order}. {hhmm(v.start)}–{hhmm(v.end)} {esc(s.name)}"))
            num.add_child(
                popup(
                    f"<b>{v.order}. {esc(s.name)}</b><br>{WEEKDAY_ZH[r.date.weekday()]} "
                    f"{r.date.isoformat()}<br>{hhmm(v.start)}–{hhmm(v.end)}<br>"
                    f"{esc(streets[s.street_code].name)}<br><small>服务事项：{services}</small>"
                )
            )
            num.add_to(layer)
        layer.add_to(m)

    folium.LayerControl(collapsed=True).add_to(m)
    legend = "".join(
        f'<div><i style="background:{colour[s.code]}"></i>{esc(s.name)}</div>'
        for s in dataset.streets
        if s.served
    )
    heading = esc(heading)
    _page_of(m).html.add_child(
        Element(
            f'<div class="tv-box tv-title"><b>{heading}</b><br><small>定时定点 · 点击服务点查看时间'
            f" · {en('Tap a stop for its times')}</small></div>"
            f'<div class="tv-box tv-legend">{legend}</div>'
        )
    )
    if plan.visits:
        pts = [stops[v.stop_id].point for v in plan.visits] + [depot.point]
        m.fit_bounds(
            [
                [min(p[0] for p in pts), min(p[1] for p in pts)],
                [max(p[0] for p in pts), max(p[1] for p in pts)],
            ],
            padding_top_left=(10, 60),
            padding_bottom_right=(10, 10),
        )
    return m


# Folium's own viewport tag forbids zooming (maximum-scale=1, user-scalable=no): a WCAG 1.4.4
# failure. The page keeps only the viewport tag `_offline_map` adds.
_FOLIUM_VIEWPORT = re.compile(r'<meta name="viewport"[^>]*user-scalable=no[^>]*>\s*')


def render_map(m: folium.Map) -> str:
    """The map as one standalone HTML page."""
    return _FOLIUM_VIEWPORT.sub("", m.get_root().render())


def write_map(m: folium.Map, path: Path) -> None:
    path.write_text(render_map(m), encoding="utf-8")


def load_outline(path: Path) -> dict[str, Any] | None:
    """The district outline GeoJSON beside the data, if there is one."""
    if not path.exists():
        return None
    doc = json.loads(path.read_text(encoding="utf-8"))
    return doc if isinstance(doc, dict) else None


def external_references(page: str) -> Sequence[str]:
    """Script, stylesheet and image URLs the page would fetch from another host or file."""
    css_urls = re.findall(r"url\((?!data:|#)([^)]+)\)", page)
    tags = re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="((?!data:)[^"]+)"', page)
    return css_urls + tags


@dataclass(frozen=True, slots=True)
class CountCell:
    """Remote taxpayers counted in one square of the map, placed at the square's centre."""

    lat: float
    lon: float
    count: int


def count_cells(points: Sequence[LatLon], cell_km: float = 2.0) -> list[CountCell]:
    """Count points per square of about `cell_km` a side, at the squares' centres.

    The registry is private: a map shows how many people a square holds, never where one
    of them lives or who they are.
    """
    if cell_km <= 0:
        raise ValueError("the cell size must be a positive number of km")
    if not points:
        return []
    dlat = cell_km / 111.32
    mid = math.radians(sum(p[0] for p in points) / len(points))
    dlon = cell_km / (111.32 * max(math.cos(mid), 0.01))
    cells: dict[tuple[int, int], int] = {}
    for lat, lon in points:
        key = (math.floor(lat / dlat), math.floor(lon / dlon))
        cells[key] = cells.get(key, 0) + 1
    return [CountCell((i + 0.5) * dlat, (j + 0.5) * dlon, n) for (i, j), n in sorted(cells.items())]


def add_coverage_layer(
    m: folium.Map, uncovered: Mapping[int, Sequence[LatLon]], cell_km: float = 2.0
) -> None:
    """Layers of the remote taxpayers farther than each trip length from this week's stops.

    `uncovered` maps trip minutes to the points of the remote taxpayers with no visited stop
    that near. Each becomes one layer (off until chosen in the layer control) of counts per
    square: a circle sized by the count with the count written in it. Counts only, never
    names or exact places (`count_cells`).
    """
    for minutes, points in sorted(uncovered.items()):
        label = f"{minutes} 分钟内无服务点 more than {minutes} min from a stop ({len(points)})"
        layer = folium.FeatureGroup(name=esc(label), show=False)
        for cell in count_cells(points, cell_km):
            text = (
                f"{cell.count} 位偏远纳税人距本周服务点超过 {minutes} 分钟<br>"
                f"{cell.count} remote taxpayer{'s' if cell.count != 1 else ''} more than "
                f"{minutes} min from this week's stops"
            )
            circle = folium.CircleMarker(
                (cell.lat, cell.lon),
                radius=8 + 3 * math.sqrt(cell.count),
                color="#636363",
                weight=1,
                fill=True,
                fill_color="#d9d9d9",
                fill_opacity=0.6,
            )
            circle.add_child(tooltip(text))
            circle.add_to(layer)
            count = folium.Marker(
                (cell.lat, cell.lon),
                icon=folium.DivIcon(
                    html=f'<div class="tv-count">{cell.count}</div>',
                    icon_size=(28, 24),  # WCAG 2.5.8: a target of 24 px high at least
                    icon_anchor=(14, 12),
                ),
            )
            count.add_child(tooltip(text))
            count.add_to(layer)
        layer.add_to(m)
    _page_of(m).header.add_child(Element(_COUNT_CSS), name="taxvan_count_css")
    # The layer control's script must come after every layer it lists: move it to the end.
    for key, child in list(m._children.items()):
        if isinstance(child, folium.LayerControl):
            m._children.pop(key)
            m._children[key] = child


_COUNT_CSS = """<style>
.tv-count { font: bold 12px sans-serif; color: #252525; text-align: center; line-height: 24px;
  text-shadow: 0 0 2px #fff, 0 0 2px #fff; }
</style>"""
