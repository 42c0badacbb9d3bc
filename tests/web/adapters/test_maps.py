import dataclasses
from pathlib import Path

import pytest

from routes.engine import SearchParams
from routes.weekly import solve_week
from tests.conftest import WEEK49, make_problem, ring_stops, visit
from web.adapters.maps import external_references, schedule_map, tile_source, write_map

EVIL = 'O\'Brien`s "村" <script>window.__pwned=1</script> ${alert(1)} </script><b>x'


@pytest.fixture(scope="module")
def evil_map(tmp_path_factory: pytest.TempPathFactory) -> Path:
    stops = ring_stops(3, km=6)
    stops[0] = dataclasses.replace(stops[0], name=EVIL)
    problem = make_problem(stops, [visit(s, 60, 10) for s in stops], WEEK49[:1])
    plan = solve_week(problem, SearchParams(time_limit_s=1))
    path = tmp_path_factory.mktemp("map") / "map.html"
    write_map(schedule_map(plan, problem.dataset, tile_source("none")), path)
    return path


def test_names_from_data_cannot_inject_markup(evil_map: Path):
    page = evil_map.read_text(encoding="utf-8")
    assert "<script>window.__pwned" not in page
    assert "</script><b>" not in page
    assert external_references(page) == []


def test_unknown_tile_source_and_missing_key_are_clear():
    with pytest.raises(ValueError, match="unknown tile source 'amapx'"):
        tile_source("amapx")
    with pytest.raises(ValueError, match="needs a key"):
        tile_source("tianditu")
    assert tile_source("tianditu", key="k").url.endswith("tk=k")


def test_map_renders_in_a_browser_and_shows_names_as_text(
    evil_map: Path, tmp_path: Path, phone_page
):
    """Open the map offline in headless Chromium on a phone-sized screen."""
    page = phone_page
    errors: list[str] = []
    dialogs: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(evil_map.as_uri())
    page.wait_for_selector(".leaflet-interactive")
    assert page.evaluate("typeof L") == "object"
    assert page.evaluate("window.__pwned === undefined")
    markers = page.locator("path.leaflet-interactive")
    assert markers.count() >= 3
    page.evaluate("""() => { for (const k in window) {
        const o = window[k];
        if (o && o.getPopup && o.getPopup() && o.getPopup().getContent()
            && String(o.getPopup().getContent()).includes("Brien")) { o.openPopup(); } } }""")
    popup = page.locator(".leaflet-popup-content").first
    popup.wait_for()
    assert EVIL in popup.inner_text()
    page.screenshot(path=str(tmp_path / "map.png"))
    assert errors == [] and dialogs == []
