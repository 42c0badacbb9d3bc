"""Public pages for everyone (GB/T 37668, WCAG 2.1 AA), checked in headless Chromium.

axe-core (bundled by `axe-playwright-python`, so it runs offline) checks every page, frames
included, in `test_every_page.py`; `axe_violations` here is for the browser tests' own states.
These tests cover what axe cannot see: zooming, the keyboard path past the map, focus after a
failed form, the focus ring's contrast, compression, missing files.
"""

from __future__ import annotations

import json
import re

import pytest

from web.db.models import VisitRow
from web.extensions import db

WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def _first_visit(app) -> VisitRow:
    with app.app_context():
        return db.session.scalars(db.select(VisitRow).order_by(VisitRow.id)).first()


def axe_violations(page) -> list[str]:
    """axe-core's WCAG 2.1 A/AA violations on `page` and every frame in it, one line each."""
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    for frame in page.frames:
        frame.wait_for_load_state()
        frame.evaluate(axe.axe_script)
    results = page.evaluate(
        "opts => axe.run(document, opts)",
        {"runOnly": {"type": "tag", "values": WCAG_AA}, "resultTypes": ["violations"]},
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} -- "
        + "; ".join(str(n["target"]) for n in v["nodes"][:5])
        for v in results["violations"]
    ]


def _assert_no_violations(page) -> None:
    found = axe_violations(page)
    assert not found, "\n".join(found)


# --- what axe cannot see ----------------------------------------------------------------

PATHS = {
    "home": "/d/fangzi/",
    "map": "/d/fangzi/map/2026-W49",
    "stop": "/d/fangzi/stops/{stop}",
    "poster": "/d/fangzi/stops/{stop}/poster",
    "booking form": "/d/fangzi/visits/{visit}/book",
    "lookup": "/d/fangzi/booking/lookup",
}


def _path(app, name: str) -> str:
    v = _first_visit(app)
    return PATHS[name].format(stop=v.stop_id, visit=v.id)


@pytest.mark.parametrize("name", PATHS)
def test_every_public_page_has_language_title_description_and_zoom(app, client, name):
    page = client.get(_path(app, name)).get_data(as_text=True)
    assert re.search(r'<html lang="zh-CN">', page)
    title = re.search(r"<title>([^<]+)</title>", page)
    assert title and title.group(1).strip()
    description = re.search(r'<meta name="description" content="([^"]+)">', page)
    assert description and len(description.group(1)) > 10
    viewports = re.findall(r'<meta name="viewport"[^>]*>', page)
    assert len(viewports) == 1, viewports
    assert "user-scalable=no" not in viewports[0] and "maximum-scale" not in viewports[0]


def test_the_week_map_says_what_it_is_in_the_readers_language(client):
    page = client.get("/d/fangzi/map/2026-W49").get_data(as_text=True)
    assert '<html lang="zh-CN">' in page
    assert "<title>移动办税车服务路线 2026-W49</title>" in page
    assert "点击服务点查看时间" in page and "Tap a stop" not in page
    popups = [json.loads(p) for p in re.findall(r'bindPopup\(("(?:[^"\\]|\\.)*")', page)]
    assert any("本周服务：" in p for p in popups)
    assert not any("This week" in p for p in popups)
    english = client.get("/d/fangzi/map/2026-W49?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in english
    assert "<title>Mobile tax service van routes 2026-W49</title>" in english
    popups = [json.loads(p) for p in re.findall(r'bindPopup\(("(?:[^"\\]|\\.)*")', english)]
    assert any("This week:" in p for p in popups)


def test_favicon_is_served(client):
    with client.get("/favicon.ico") as resp:
        assert resp.status_code == 200 and resp.mimetype == "image/vnd.microsoft.icon"
        assert resp.get_data()[:4] == b"\x00\x00\x01\x00"  # an ICO file
    with client.get("/static/favicon.svg") as svg:
        assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"


@pytest.mark.parametrize("encoding", ["gzip", "br"])
def test_pages_are_compressed_for_clients_that_accept_it(client, encoding):
    import gzip

    import brotli

    plain = client.get("/d/fangzi/map/2026-W49").get_data()
    resp = client.get("/d/fangzi/map/2026-W49", headers={"Accept-Encoding": encoding})
    assert resp.headers["Content-Encoding"] == encoding
    assert "Accept-Encoding" in resp.headers["Vary"]
    body = resp.get_data()
    assert len(body) < len(plain) / 3
    assert (gzip.decompress(body) if encoding == "gzip" else brotli.decompress(body)) == plain
    assert "Content-Encoding" not in client.get("/d/fangzi/map/2026-W49").headers


def test_static_scripts_are_compressed_and_their_file_closed(client):
    import warnings

    import brotli

    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        with client.get(
            "/static/vendor/leaflet/leaflet.js", headers={"Accept-Encoding": "br"}
        ) as resp:
            assert resp.headers["Content-Encoding"] == "br"
            script = brotli.decompress(resp.get_data())
        import gc

        gc.collect()
    assert script.startswith(b"/* @preserve")


def _focused(page) -> str:
    """What has the keyboard focus, looking into frames: 'frame:' for each frame entered."""
    return page.evaluate(
        """() => {
        let doc = document, el = doc.activeElement, where = '';
        while (el && el.tagName === 'IFRAME' && el.contentDocument) {
            where += 'frame:'; doc = el.contentDocument; el = doc.activeElement;
        }
        return where + el.tagName + (el.closest('ul.visits') ? ' timetable' : '')
            + (el.id ? '#' + el.id : '');
    }"""
    )


def test_keyboard_skips_the_map_to_reach_the_timetable(live_url, phone_page):
    """From the top of the home page: Tab, Enter (skip to content), Tab, Enter (skip map), Tab."""
    page = phone_page
    page.goto(live_url + "/d/fangzi/")
    page.frame_locator("iframe.map").locator(".leaflet-container").wait_for()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('href')") == "#by-day"
    page.keyboard.press("Enter")
    assert _focused(page) == "H2#by-day"
    page.keyboard.press("Tab")
    assert _focused(page) == "A timetable"


def _tab_stops(page, limit: int = 200) -> list[str]:
    """The accessible name of each element the Tab key reaches on `page`, in order."""
    names: list[str] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        name = page.evaluate(
            """() => {
            const el = document.activeElement;
            if (!el || el === document.body || el.dataset.tabSeen) return null;
            el.dataset.tabSeen = '1';
            const copy = el.cloneNode(true);
            copy.querySelectorAll('[aria-hidden=true]').forEach(n => n.remove());
            return el.tagName + ':' + (el.getAttribute('aria-label') || copy.textContent.trim()
                || el.getAttribute('title') || '');
        }"""
        )
        if name is None:
            break
        names.append(name)
    return names


def test_map_tab_stops_are_few_and_each_named(sqlite_app, live_url, phone_page):
    """The map's keyboard stops: the map itself, the hall, each numbered stop, the controls."""
    with sqlite_app.app_context():
        visits = db.session.scalar(db.select(db.func.count()).select_from(VisitRow))
    page = phone_page
    page.goto(live_url + "/d/fangzi/map/2026-W49")
    page.wait_for_selector(".leaflet-marker-icon")
    stops = _tab_stops(page)
    assert not [s for s in stops if s.startswith("path")], "stop dots or route lines in Tab order"
    unnamed = [s for s in stops if re.fullmatch(r"\w+:[\d\s]*", s)]
    assert unnamed == [], "every Tab stop has a name that is more than a number"
    numbered = [s for s in stops if re.search(r"第\d+站 \d\d:\d\d–\d\d:\d\d \S", s)]
    assert len(numbered) == visits, stops
    assert len(stops) <= visits + 8


def test_map_can_be_zoomed_and_asks_for_no_missing_file(live_url, phone_page):
    page = phone_page
    missing: list[str] = []
    page.on(
        "response",
        lambda r: missing.append(r.url) if r.status >= 400 and r.url.startswith(live_url) else None,
    )
    page.goto(live_url + "/d/fangzi/map/2026-W49")
    page.wait_for_selector(".leaflet-marker-icon")
    page.wait_for_load_state("networkidle")
    assert missing == []
    content = page.eval_on_selector_all("meta[name=viewport]", "els => els.map(e => e.content)")
    assert content == ["width=device-width, initial-scale=1"]


def test_failed_form_moves_focus_to_an_error_summary_and_says_so_in_the_title(
    sqlite_app, live_url, phone_page
):
    page = phone_page
    page.goto(f"{live_url}/d/fangzi/visits/{_first_visit(sqlite_app).id}/book")
    title = page.title()
    page.get_by_label("手机号码").fill("12345")
    page.locator("form[method=post] button[type=submit]").click()
    page.wait_for_selector(".error-summary")
    assert page.title() == "错误： " + title
    summary = page.locator(".error-summary")
    assert page.evaluate("document.activeElement.className") == "error-summary"
    assert summary.get_attribute("role") == "alert"
    links = summary.locator("a")
    targets = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert targets == ["#start", "#taxpayer_id", "#name", "#phone"]
    assert "请输入11位大陆手机号码" in summary.inner_text()
    # following a link puts the keyboard in the field
    summary.locator("a[href='#phone']").press("Enter")
    assert page.evaluate("document.activeElement.id") == "phone"


def test_failed_lookup_moves_focus_to_an_error_summary(live_url, phone_page):
    page = phone_page
    page.goto(f"{live_url}/d/fangzi/booking/lookup")
    page.locator("form[method=post] button[type=submit]").click()
    page.wait_for_selector(".error-summary")
    assert page.title().startswith("错误：")
    assert page.evaluate("document.activeElement.className") == "error-summary"


def _contrast(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """WCAG contrast ratio of two sRGB colours (0-255)."""

    def lum(c: tuple[float, ...]) -> float:
        ch = [x / 255 for x in c[:3]]
        lin = [x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4 for x in ch]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


_RING = """() => {
    const el = document.activeElement, s = getComputedStyle(el);
    const rgb = c => c.match(/[\\d.]+/g).map(Number);
    let bg = el.parentElement, colour = null;
    while (bg) {
        const c = rgb(getComputedStyle(bg).backgroundColor);
        if (c.length < 4 || c[3] > 0) { colour = c; break; }
        bg = bg.parentElement;
    }
    return {ring: rgb(s.outlineColor), width: parseFloat(s.outlineWidth),
            style: s.outlineStyle, around: colour || [255, 255, 255], tag: el.tagName};
}"""


def test_focus_ring_stands_out_from_what_is_around_it(sqlite_app, live_url, phone_page):
    """WCAG 1.4.11: the keyboard focus ring at 3:1 or more against the background it sits on."""
    page = phone_page
    page.goto(f"{live_url}/d/fangzi/visits/{_first_visit(sqlite_app).id}/book")
    seen = set()
    for _ in range(14):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement === document.body"):
            break
        ring = page.evaluate(_RING)
        seen.add(ring["tag"])
        assert ring["style"] != "none" and ring["width"] >= 2, ring
        assert _contrast(tuple(ring["ring"]), tuple(ring["around"])) >= 3, ring
    assert {"A", "SELECT", "BUTTON", "INPUT"} <= seen
