"""The map's base fit for China: Tianditu with a key, else a base drawn from the district's
data; one page per language, metric scale, the site's own attribution, the review number only
when the bureau set it. Browser tests block every request that leaves the machine."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest
from shapely.geometry import Point, shape

from tests.fixtures.planning import DEMO
from web.adapters.basemap import base_data, street_areas
from web.adapters.maps import load_outline, render_map, schedule_map, tile_source
from web.config import Config

REVIEW = "GS(2099)0001号"  # a made-up number, for the test only
KEY = "testkey123"


@pytest.fixture(scope="module")
def outline():
    return load_outline(DEMO / "outline.geojson")


@pytest.fixture(scope="module")
def pages(demo_plan, demo_dataset, outline, tmp_path_factory) -> dict[str, Path]:
    """The week's map without tiles and with Tianditu, in Chinese and in English."""
    folder = tmp_path_factory.mktemp("basemap")
    out = {}
    for name, tiles, lang, review in [
        ("own-zh", tile_source("none"), "zh", ""),
        ("own-en", tile_source("none"), "en", ""),
        ("tdt-zh", tile_source("tianditu", key=KEY), "zh", REVIEW),
        ("tdt-en", tile_source("tianditu", key=KEY), "en", REVIEW),
    ]:
        page = render_map(
            schedule_map(demo_plan, demo_dataset, tiles, outline, lang=lang, review_number=review)
        )
        out[name] = folder / f"{name}.html"
        out[name].write_text(page, encoding="utf-8")
    return out


def read(pages: dict[str, Path], name: str) -> str:
    return pages[name].read_text(encoding="utf-8")


def in_script(text: str) -> str:
    """`text` as a script on the page writes it (JSON, non-ASCII escaped)."""
    return json.dumps(text)[1:-1]


def test_tianditu_vector_and_annotation_only_with_a_key(pages):
    zh, en = read(pages, "tdt-zh"), read(pages, "tdt-en")
    assert "tianditu.gov.cn/vec_w/" in zh and "tianditu.gov.cn/cva_w/" in zh
    assert "eva_w" not in zh
    assert "tianditu.gov.cn/vec_w/" in en and "tianditu.gov.cn/eva_w/" in en
    assert "cva_w" not in en
    assert f"tk={KEY}" in zh
    for name in ("own-zh", "own-en"):
        page = read(pages, name)
        assert "tianditu" not in page and "L.tileLayer(" not in page


def test_tianditu_is_the_default_base_map_when_a_key_is_set(monkeypatch):
    monkeypatch.delenv("TAXVAN_TILES", raising=False)
    monkeypatch.delenv("TAXVAN_TILE_KEY", raising=False)
    assert Config().tiles == "none"
    monkeypatch.setenv("TAXVAN_TILE_KEY", KEY)
    assert Config().tiles == "tianditu"
    monkeypatch.setenv("TAXVAN_TILES", "osm")
    assert Config().tiles == "osm"


def test_review_number_is_shown_only_when_set(pages):
    assert in_script("审图号：" + REVIEW) in read(pages, "tdt-zh")
    assert in_script("Map review no. " + REVIEW) in read(pages, "tdt-en")
    for name in ("own-zh", "own-en"):
        page = read(pages, name)
        assert "审图号" not in page and in_script("审图号") not in page
        assert "review no." not in page


def test_scale_is_metric_and_the_prefix_is_the_sites(pages):
    page = read(pages, "own-zh")
    assert "imperial: false" in page
    assert "L.control.scale()" not in page  # folium's, in miles and feet
    assert "setPrefix(" in page


def test_the_chinese_page_is_chinese_and_the_english_page_english(pages):
    zh, en = read(pages, "own-zh"), read(pages, "own-en")
    assert '<html lang="zh-CN">' in zh and '<html lang="en">' in en
    assert "Tap a stop" not in zh and '<span lang="en">' not in zh
    assert "Tap a stop for its times" in en and "点击服务点" not in en
    assert 'lang=\\"zh-CN\\"' in en  # the Chinese names, for a screen reader


def test_street_areas_hold_their_stops_lie_in_the_district_and_place_no_taxpayer(
    demo_dataset, outline
):
    areas = {a.code: a.area for a in street_areas(demo_dataset, outline)}
    district = shape(outline["features"][0]["geometry"]).buffer(0.001)
    assert set(areas) == {s.code for s in demo_dataset.streets}
    for code, area in areas.items():
        assert district.contains(area), code
    for stop in demo_dataset.stops:  # each stop in (or within about 100 m of) its own street
        assert areas[stop.street_code].distance(Point(stop.lon, stop.lat)) < 0.001, stop.name
    data = json.dumps(base_data(demo_dataset, outline, {}, {}))
    numbers = {float(n) for n in re.findall(r"-?\d+\.\d+", data)}
    for t in demo_dataset.taxpayers:
        assert not ({t.lat, t.lon} <= numbers), "a taxpayer's place is drawn"


def _blocked(page) -> list[str]:
    """Abort every request that leaves the machine; return the list they are recorded in."""
    asked: list[str] = []

    def route(r):
        url = r.request.url
        if url.startswith(("file:", "data:", "about:")):
            r.continue_()
        else:
            asked.append(url)
            r.abort()

    page.route("**/*", route)
    return asked


def _open(page, path: Path) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    page.wait_for_selector("path.tv-area", state="attached")
    return errors


def test_without_tiles_the_map_draws_the_district_streets_and_stop_names(
    pages, demo_dataset, laptop_page
):
    page = laptop_page
    asked = _blocked(page)
    errors = _open(page, pages["own-zh"])
    assert asked == [], "no request leaves the machine"
    assert page.locator("path.tv-outline").count() >= 1
    areas = page.locator("path.tv-area")
    assert areas.count() == len(demo_dataset.streets)
    assert all(areas.nth(i).is_visible() for i in range(areas.count()))
    for street in demo_dataset.streets:
        assert page.locator(".tv-street-name", has_text=street.name).is_visible()
    stop = next(s for s in demo_dataset.stops if demo_dataset.street(s.street_code).served)
    name = page.locator(".tv-stop-name", has_text=stop.name).first
    assert not name.is_visible()  # the whole district: too many names to read
    for _ in range(2):
        page.locator(".leaflet-control-zoom-in").click()
        page.wait_for_timeout(400)
    assert page.locator(".tv-stop-name:visible").count() >= 5
    scale = page.locator(".leaflet-control-scale-line").all_inner_texts()
    assert len(scale) == 1 and re.fullmatch(r"\d+ (公里|米)", scale[0]), scale
    attribution = page.locator(".leaflet-control-attribution")
    assert attribution.inner_text().startswith("移动智能办税车")
    assert "底图据本区数据绘制" in attribution.inner_text()
    assert "Leaflet" not in attribution.inner_text() and attribution.locator("svg").count() == 0
    assert page.locator("details.tv-legend").get_attribute("open") is not None
    assert errors == []


def test_the_chinese_map_shows_no_english(pages, laptop_page):
    """Every text the page shows or says: the boxes, the layer list, each popup and tooltip,
    the names given to assistive technology."""
    page = laptop_page
    _blocked(page)
    _open(page, pages["own-zh"])
    page.locator(".tv-num").first.click()  # a popup, with its close button
    page.locator(".leaflet-popup-close-button").wait_for()
    page.locator(".leaflet-control-layers").hover()
    texts = page.evaluate("""() => {
        const out = [document.title, document.body.innerText];
        document.querySelectorAll('[aria-label], [title], meta[name=description]').forEach(
            e => out.push(e.getAttribute('aria-label') || e.getAttribute('title')
                          || e.getAttribute('content')));
        for (const k in window) {
            const o = window[k];
            if (!o || typeof o !== 'object') continue;
            for (const get of ['getPopup', 'getTooltip']) {
                if (typeof o[get] === 'function' && o[get]()) {
                    const d = document.createElement('div');
                    d.innerHTML = String(o[get]().getContent());
                    out.push(d.textContent);
                }
            }
        }
        return out;
    }""")
    words = {w for t in texts if t for w in re.findall(r"[A-Za-z]{2,}", t)}
    assert words == set(), words


def test_with_a_key_tianditu_is_asked_for_and_the_page_works_when_it_is_blocked(
    pages, demo_dataset, laptop_page
):
    page = laptop_page
    asked = _blocked(page)
    errors = _open(page, pages["tdt-zh"])
    page.wait_for_selector(".leaflet-container.tv-own")  # tiles failed: the own base shows
    layers = {re.search(r"tianditu\.gov\.cn/(\w+)/", u).group(1) for u in asked}  # type: ignore[union-attr]
    assert layers == {"vec_w", "cva_w"}
    assert all(f"tk={KEY}" in u for u in asked)
    assert page.locator("path.tv-area").first.is_visible()
    assert page.locator(".tv-street-name", has_text=demo_dataset.streets[0].name).is_visible()
    attribution = page.locator(".leaflet-control-attribution").inner_text()
    assert "天地图" in attribution and "审图号：" + REVIEW in attribution
    assert "底图据本区数据绘制" in attribution
    assert page.locator(".tv-num").count() > 0  # the routes are there
    assert errors == []


def test_on_a_phone_the_legend_is_folded_and_opens_from_the_keyboard(pages, phone_page):
    page = phone_page
    _blocked(page)
    _open(page, pages["own-zh"])
    legend = page.locator("details.tv-legend")
    assert legend.get_attribute("open") is None
    assert legend.bounding_box()["height"] < 40  # type: ignore[index]
    legend.locator("summary").focus()
    page.keyboard.press("Enter")
    assert legend.get_attribute("open") is not None
    assert legend.locator("text=区界").is_visible()


def test_the_poster_shows_the_review_number_only_when_set(app, client, monkeypatch):
    url = "/d/fangzi/stops/370704004205/poster"
    assert "审图号" not in client.get(url).get_data(as_text=True)
    cfg = dataclasses.replace(app.config["TAXVAN"], map_review_number=REVIEW)
    monkeypatch.setitem(app.config, "TAXVAN", cfg)
    assert f"地图审图号：{REVIEW}" in client.get(url).get_data(as_text=True)


def test_the_stop_map_uses_tianditu_with_the_sites_attribution(sqlite_app, live_url, phone_page):
    cfg = sqlite_app.config["TAXVAN"]
    sqlite_app.config["TAXVAN"] = dataclasses.replace(
        cfg, tiles="tianditu", tile_key=KEY, map_review_number=REVIEW
    )
    try:
        page = phone_page
        asked: list[str] = []

        def route(r):
            if r.request.url.startswith(live_url):
                r.continue_()
            else:
                asked.append(r.request.url)
                r.abort()

        page.route("**/*", route)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(live_url + "/d/fangzi/stops/370704004205")
        page.locator("#stopmap .leaflet-control-attribution").wait_for()
        page.wait_for_timeout(300)
        layers = {m.group(1) for u in asked if (m := re.search(r"tianditu\.gov\.cn/(\w+)/", u))}
        assert layers == {"vec_w", "cva_w"} and len(asked) > 2
        attribution = page.locator("#stopmap .leaflet-control-attribution").inner_text()
        assert attribution.startswith("移动智能办税车") and "审图号：" + REVIEW in attribution
        assert "Leaflet" not in attribution
        zoom = page.locator("#stopmap .leaflet-control-zoom-in")
        assert zoom.get_attribute("aria-label") == "放大"
        assert re.fullmatch(r"\d+ (km|m)", page.locator(".leaflet-control-scale-line").inner_text())
        assert errors == []
    finally:
        sqlite_app.config["TAXVAN"] = cfg
