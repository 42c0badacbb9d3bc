"""The schedule map: a Folium map that works with no internet access.

Folium loads Leaflet, jQuery and Bootstrap from CDNs, which an intranet or an offline laptop
cannot reach (python-visualization/folium#1593). This map drops all of them, inlines the
Leaflet files shipped in `web/static/vendor/leaflet/`, and binds popups and tooltips itself
with JSON-encoded strings: a stop name with quotes, backticks or markup shows as text and
can neither break nor script the page (folium#850, #1640).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
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
from taxvan.places import STOP_KIND_ZH, LatLon, StopKind, Street
from taxvan.workdays import WEEKDAY_EN, WEEKDAY_ZH
from web.adapters.basemap import UNSERVED_FILL, BaseLayers, Tiles, base_data

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
    """A tile layer: URL template, attribution, and the coordinate system of its tiles.

    `labels` is an annotation layer drawn over the base (Tianditu draws its place names apart
    from its roads and land), `labels_en` its English version.
    """

    name: str
    url: str | None
    attribution: str
    subdomains: str = "abc"
    crs: str = "WGS-84"
    labels: str | None = None
    labels_en: str | None = None
    attribution_en: str = ""

    def with_key(self, key: str) -> TileSource:
        def put(url: str | None) -> str | None:
            return url.replace("{key}", key) if url else url

        return dataclasses.replace(
            self, url=put(self.url), labels=put(self.labels), labels_en=put(self.labels_en)
        )


def _tianditu(layer: str) -> str:
    """A Tianditu layer in Web Mercator tiles (`_w`); its coordinates are CGCS2000 (WGS-84)."""
    return (
        f"https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
        f"&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}&TILEROW={{y}}"
        "&TILECOL={x}&tk={key}"
    )


TILE_SOURCES = {
    "osm": TileSource(
        "OpenStreetMap",
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        "&copy; OpenStreetMap contributors",
    ),
    # China's national base map: the roads and land (vec), place names in Chinese (cva) or
    # English (eva) over them.
    "tianditu": TileSource(
        "天地图",
        _tianditu("vec"),
        "&copy; 天地图",
        "01234567",
        "CGCS2000",
        labels=_tianditu("cva"),
        labels_en=_tianditu("eva"),
        attribution_en="&copy; Tianditu",
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
        src = src.with_key(key)
    return src


def site_tiles(
    name: str, url: str | None, key: str | None, lang: str, review_number: str = ""
) -> dict[str, str]:
    """What the site's own small maps (a stop's, the door-to-door form's) draw their base from
    (`static/js/basemap.js`): the tiles and their annotation layer in `lang`, and the attribution
    with the review number. No tiles when the source is unknown or lacks its key."""
    try:
        src = tile_source(name, url, key)
    except ValueError:
        src = TILE_SOURCES["none"]
    zh = lang != "en"
    attribution = (src.attribution if zh else src.attribution_en or src.attribution) or src.name
    if review_number:
        attribution += (", 审图号：" if zh else ", map review no. ") + esc(review_number)
    return {
        "url": src.url or "",
        "labels": (src.labels if zh else src.labels_en) or "",
        "subdomains": src.subdomains,
        "attribution": attribution if src.url else "",
    }


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


class _Controls(MacroElement):
    """The scale in metres and kilometres (Chinese units on the Chinese page), the site's own
    attribution prefix in place of Leaflet's, and the legend open on wide screens only (on a
    phone it would cover the route's stops)."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "(function (map, words) {"
        "var Scale = L.Control.Scale.extend({_updateScale: function (el, text, ratio) {"
        " if (words.km) { text = text.replace(/ km$/, ' ' + words.km)"
        ".replace(/ m$/, ' ' + words.m); }"
        " L.Control.Scale.prototype._updateScale.call(this, el, text, ratio); }});"
        "new Scale({imperial: false, metric: true, maxWidth: 120}).addTo(map);"
        "map.attributionControl.setPrefix(words.prefix);"
        "words.attributions.forEach(function (a) { map.attributionControl.addAttribution(a); });"
        "function name(el, text) { if (el) { el.title = text;"
        " el.setAttribute('aria-label', text); } }"
        "function names() { var box = map.getContainer();"
        " name(box.querySelector('.leaflet-control-zoom-in'), words.zoomIn);"
        " name(box.querySelector('.leaflet-control-zoom-out'), words.zoomOut);"
        " name(box.querySelector('.leaflet-control-layers-toggle'), words.layers); }"
        "setTimeout(names, 0);"  # after the layer control, which comes last
        "map.on('popupopen', function (e) { var b = e.popup.getElement()"
        ".querySelector('.leaflet-popup-close-button');"
        " if (b) { b.setAttribute('aria-label', words.close); } });"
        "var legend = document.querySelector('details.tv-legend');"
        "if (legend && window.matchMedia('(min-width: 600px)').matches) { legend.open = true; }"
        "})({{ this._parent.get_name() }}, {{ this.words|tojson }});"
        "{% endmacro %}"
    )

    def __init__(self, words: dict[str, Any]) -> None:
        super().__init__()
        self._name = "Controls"
        self.words = words


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
    location: tuple[float, float], title: str, description: str, region: str, lang: str
) -> folium.Map:
    m = folium.Map(
        location=location,
        zoom_start=11,
        tiles=None,
        control_scale=False,  # ours, in metres only (`_Controls`)
        prefer_canvas=False,
        zoom_snap=0.25,
    )
    m.default_js = []
    m.default_css = []
    root = _Page(esc(title), "en" if lang == "en" else "zh-CN")
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
    m.add_child(_Region(region))
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
.tv-legend { bottom: 30px; right: 8px; max-width: 46%; max-height: 60%; overflow-y: auto; }
.tv-legend summary { cursor: pointer; min-height: 24px; line-height: 24px; font-weight: bold; }
.tv-legend i { display: inline-block; width: 11px; height: 11px; border-radius: 50%;
  margin-right: 5px; vertical-align: -1px; }
.tv-legend i.tv-key-area { border-radius: 2px; opacity: .7; }
.tv-legend i.tv-key-line { border-radius: 0; height: 0; border-top: 2px dashed #3d3d3d; }
.leaflet-popup-content { font-size: 14px; line-height: 1.45; }
.tv-sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0);
  white-space: nowrap; }
.leaflet-container :focus-visible { outline: 3px solid #1d1d1f; outline-offset: 1px; }
.leaflet-control-layers-expanded { font-size: 14px; }
.leaflet-container .leaflet-control-attribution a { text-decoration: underline; }
.leaflet-container.tv-own { background: #e9edf0; }
.tv-own .leaflet-tile-pane, .tv-tiled:not(.tv-own) .tv-area { display: none; }
.tv-street-name, .tv-stop-name { display: none; color: #1f1f1f; white-space: nowrap;
  text-shadow: 0 0 3px #fff, 0 0 3px #fff, 0 0 2px #fff; }
.tv-name { position: absolute; left: 0; top: 0; pointer-events: none; }
.tv-street-name { font-size: 15px; font-weight: bold; text-align: center; letter-spacing: 1px;
  line-height: 20px; width: 200px; margin: -10px 0 0 -100px; }
.tv-stop-name { font-size: 12px; line-height: 16px; margin: -8px 0 0 9px; }
.tv-own .tv-street-name, .tv-own.tv-near .tv-stop-name { display: block; }
@media (max-width: 480px) { .tv-box { font-size: 12px; } .tv-title { left: 50px; right: 50px; }
  .leaflet-container .leaflet-control-attribution { font-size: 11px; line-height: 1.3; }
  .tv-legend { bottom: 50px; } .leaflet-bottom.leaflet-left { bottom: 44px; } }
</style>"""


class _Words:
    """The page's texts in one language: the map is written once per language, so the Chinese
    page carries no English and the English page no Chinese but the names."""

    def __init__(self, lang: str) -> None:
        self.zh = lang != "en"

    def __call__(self, zh: str, en: str) -> str:
        return zh if self.zh else en

    def name(self, text: str) -> str:
        """A name from the data (Chinese): on the English page, marked so a screen reader
        speaks it as Chinese."""
        return esc(text) if self.zh else f'<span lang="zh-CN">{esc(text)}</span>'

    def weekday(self, day: dt.date) -> str:
        return (WEEKDAY_ZH if self.zh else WEEKDAY_EN)[day.weekday()]

    def street(self, street: Street) -> str:
        return street.name if self.zh else street.name_en

    def kind(self, kind: str) -> str:
        return STOP_KIND_ZH.get(StopKind(kind), kind) if self.zh else kind.replace("_", " ")

    def services(self, dataset: Dataset) -> str:
        names = [s.name_zh if self.zh else s.name_en for s in dataset.services]
        return self("、", ", ").join(esc(n) for n in names)

    def approximate(self) -> str:
        return "<br><small>" + self("位置为估算", "Approximate location") + "</small>"


def _base(
    m: folium.Map,
    dataset: Dataset,
    outline: dict[str, Any] | None,
    tiles: TileSource,
    colour: dict[str, str],
    t: _Words,
) -> list[str]:
    """Put the base under the map; return the attributions it needs."""
    served = {s.code for s in dataset.streets if s.served}
    data = base_data(
        dataset,
        outline,
        {code: c for code, c in colour.items() if code in served},
        {s.code: t.street(s) for s in dataset.streets},
    )
    layers = None
    if tiles.url:
        attribution = tiles.attribution if t.zh else tiles.attribution_en or tiles.attribution
        layers = Tiles(
            tiles.url,
            tiles.labels if t.zh else tiles.labels_en,
            tiles.subdomains,
            attribution or tiles.name,
        )
    own = t(
        "底图据本区数据绘制，街道范围为示意",
        "Base drawn from the district's data; street areas approximate",
    )
    m.add_child(BaseLayers(data, layers, own))
    return [] if tiles.url else [own]


def schedule_map(
    plan: Plan,
    dataset: Dataset,
    tiles: TileSource,
    outline: dict[str, Any] | None = None,
    title: str | None = None,
    lang: str = "zh",
    review_number: str = "",
) -> folium.Map:
    """The week's map in one language ("zh" or "en"): the district's base (tiles and its own),
    the hall, stops coloured by street, one layer per day with its route.

    `review_number` is the base map's review number (审图号), shown when given.
    """
    t = _Words(lang)
    depot = dataset.depot
    heading = title or t(
        f"移动办税车服务路线 {plan.week}", f"Mobile tax service van routes {plan.week}"
    )
    m = _offline_map(
        (depot.lat, depot.lon),
        title=heading,
        description=t(
            f"{heading}：各服务点本周的服务时间与每天的行车路线",
            f"{heading}: where and when the van stops this week, and each day's route",
        ),
        region=t("地图：方向键移动，加减号缩放", "Map: arrow keys move, + and - zoom"),
        lang=lang,
    )
    streets = {s.code: s for s in dataset.streets}
    colour = {
        s.code: STREET_COLOURS[i % len(STREET_COLOURS)] for i, s in enumerate(dataset.streets)
    }
    stops = {s.id: s for s in dataset.stops}
    services = t.services(dataset)
    attributions = _base(m, dataset, outline, tiles, colour, t)
    if review_number:
        attributions.append(t("审图号：", "Map review no. ") + esc(review_number))

    times: dict[str, list[str]] = {}
    for v in sorted(plan.visits, key=lambda v: (v.date, v.start)):
        times.setdefault(v.stop_id, []).append(
            f"{t.weekday(v.date)} {v.date:%m-%d} {hhmm(v.start)}–{hhmm(v.end)}"
        )

    base = folium.FeatureGroup(name=t("服务点", "Stops"), control=True).add_to(m)
    for s in dataset.stops:
        if not streets.get(s.street_code) or not streets[s.street_code].served:
            continue
        visits = times.get(s.id)
        body = (
            f"<b>{t.name(s.name)}</b><br>{esc(t.street(streets[s.street_code]))} · "
            f"{esc(t.kind(s.kind))}<br>"
            + (
                t("本周服务：", "This week:") + "<br>" + "<br>".join(visits)
                if visits
                else t("本周无服务", "No visit this week")
            )
            + f"<br><small>{t('服务事项：', 'Services: ')}{services}</small>"
            + (t.approximate() if s.coord_source != "surveyed" else "")
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
        marker.add_child(tooltip(t.name(s.name)))
        marker.add_to(base)

    hall = folium.Marker(
        (depot.lat, depot.lon),
        icon=folium.DivIcon(
            html=(
                '<div class="tv-hall" aria-hidden="true">税</div>'
                f'<span class="tv-sr">{t.name(depot.name)}</span>'
            ),
            icon_size=(26, 26),
            icon_anchor=(13, 13),
        ),
    )
    hall.add_child(
        popup(
            f"<b>{t.name(depot.name)}</b><br>"
            + t("出发与返回", "Start and end of each day")
            + (t.approximate() if depot.coord_quality != "surveyed" else "")
        )
    )
    hall.add_child(tooltip(t.name(depot.name)))
    hall.add_to(m)

    for i, r in enumerate(sorted(plan.routes, key=lambda r: (r.date, r.van_id))):
        if not r.visits:
            continue
        dc = DAY_COLOURS[i % len(DAY_COLOURS)]
        day = f"{t.weekday(r.date)} {r.date:%m-%d}"
        label = f"{day} {esc(r.van_id)} {t('（', '(')}{len(r.visits)}{t('）', ')')}"
        layer = folium.FeatureGroup(name=f'<span style="color:{dc}">■</span> {label}')
        path = [(depot.lat, depot.lon)] + [stops[v.stop_id].point for v in r.visits]
        path.append((depot.lat, depot.lon))
        line = folium.PolyLine(path, color=dc, weight=4, opacity=0.8)
        line.add_child(tooltip(label))
        line.add_to(layer)
        for v in r.visits:
            s = stops[v.stop_id]
            span = f"{hhmm(v.start)}–{hhmm(v.end)}"
            # what a screen reader says when the keyboard reaches the number
            name = t(f"{day} 第{v.order}站", f"{day} stop {v.order}") + f" {span} {t.name(s.name)}"
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
            num.add_child(tooltip(f"{v.order}. {span} {t.name(s.name)}"))
            num.add_child(
                popup(
                    f"<b>{v.order}. {t.name(s.name)}</b><br>{t.weekday(r.date)} "
                    f"{r.date.isoformat()}<br>{span}<br>"
                    f"{esc(t.street(streets[s.street_code]))}<br>"
                    f"<small>{t('服务事项：', 'Services: ')}{services}</small>"
                )
            )
            num.add_to(layer)
        layer.add_to(m)

    folium.LayerControl(collapsed=True).add_to(m)
    m.add_child(
        _Controls(
            {
                "prefix": esc(t("移动智能办税车", "Mobile tax service van")),  # the site's name
                "attributions": attributions,
                "km": t("公里", ""),
                "m": t("米", ""),
                "zoomIn": t("放大", "Zoom in"),
                "zoomOut": t("缩小", "Zoom out"),
                "layers": t("图层：各天路线与服务点", "Layers: each day's route, the stops"),
                "close": t("关闭", "Close"),
            }
        )
    )
    _page_of(m).html.add_child(
        Element(
            f'<div class="tv-box tv-title"><b>{esc(heading)}</b><br><small>'
            + t("定时定点 · 点击服务点查看时间", "Set days, set places · Tap a stop for its times")
            + "</small></div>"
            + _legend(dataset, colour, t)
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


def _legend(dataset: Dataset, colour: dict[str, str], t: _Words) -> str:
    """The streets' colours, the grey of the streets without stops, and the district's
    boundary: a disclosure the keyboard opens, shut on a phone (`_Controls` opens it on wide
    screens), where it would cover the route's stops."""
    rows = [
        f'<div><i style="background:{colour[s.code]}"></i>{esc(t.street(s))}</div>'
        for s in dataset.streets
        if s.served
    ]
    if any(not s.served for s in dataset.streets):
        rows.append(
            f'<div><i class="tv-key-area" style="background:{UNSERVED_FILL}"></i>'
            + t("其他街道（近办税服务厅）", "Other streets (near the tax hall)")
            + "</div>"
        )
    rows.append('<div><i class="tv-key-line"></i>' + t("区界", "District boundary") + "</div>")
    return (
        f'<details class="tv-box tv-legend"><summary>{t("图例", "Legend")}</summary>'
        + "".join(rows)
        + "</details>"
    )


# Folium's own viewport tag forbids zooming (maximum-scale=1, user-scalable=no): a WCAG 1.4.4
# failure. The page keeps only the viewport tag `_offline_map` adds.
_FOLIUM_VIEWPORT = re.compile(r'<meta name="viewport"[^>]*user-scalable=no[^>]*>\s*')


def render_map(m: folium.Map) -> str:
    """The map as one standalone HTML page."""
    return _FOLIUM_VIEWPORT.sub("", m.get_root().render())


def write_map(m: folium.Map, path: Path) -> None:
    path.write_text(render_map(m), encoding="utf-8")


LANGUAGES = ("zh", "en")


def map_pages(pages: Mapping[str, str]) -> str:
    """The week's map in each language, kept as one text (a draft's or a week's `map_html`)."""
    return json.dumps(dict(pages), ensure_ascii=False)


def map_page(stored: str, lang: str) -> str:
    """The page of `map_pages` in `lang` (Chinese if there is none in it); a map kept before
    maps were written per language is one page, served as it is."""
    if not stored.startswith("{"):
        return stored
    pages = json.loads(stored)
    page = pages.get(lang) or pages.get("zh") or next(iter(pages.values()), "")
    return str(page)


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
    m: folium.Map,
    uncovered: Mapping[int, Sequence[LatLon]],
    cell_km: float = 2.0,
    lang: str = "zh",
) -> None:
    """Layers of the remote taxpayers farther than each trip length from this week's stops.

    `uncovered` maps trip minutes to the points of the remote taxpayers with no visited stop
    that near. Each becomes one layer (off until chosen in the layer control) of counts per
    square: a circle sized by the count with the count written in it. Counts only, never
    names or exact places (`count_cells`).
    """
    t = _Words(lang)
    for minutes, points in sorted(uncovered.items()):
        label = t(
            f"距服务点超过 {minutes} 分钟（{len(points)}）",
            f"more than {minutes} min from a stop ({len(points)})",
        )
        layer = folium.FeatureGroup(name=esc(label), show=False)
        for cell in count_cells(points, cell_km):
            text = t(
                f"{cell.count} 位偏远纳税人距本周服务点超过 {minutes} 分钟",
                f"{cell.count} remote taxpayer{'s' if cell.count != 1 else ''} more than "
                f"{minutes} min from this week's stops",
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
