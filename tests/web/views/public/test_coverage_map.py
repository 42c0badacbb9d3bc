"""The map's coverage layer: counts of uncovered remote taxpayers per square, never names."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from routes.report import uncovered_points
from web.adapters.maps import add_coverage_layer, count_cells, schedule_map, tile_source, write_map

CIRCLE = re.compile(r"L\.circleMarker\(\s*\[([-\d.]+),\s*([-\d.]+)\]")


def test_points_are_counted_per_square_at_the_square_centre():
    # Two people in one ~2 km square, one in a square 10 km east.
    pts = [(36.5001, 119.3001), (36.5051, 119.3051), (36.5001, 119.4201)]
    cells = count_cells(pts, cell_km=2.0)
    assert sorted(c.count for c in cells) == [1, 2]
    assert all((c.lat, c.lon) not in pts for c in cells)
    assert count_cells([], 2.0) == []
    with pytest.raises(ValueError, match="cell size"):
        count_cells(pts, 0)


@pytest.fixture(scope="module")
def coverage_map(demo_problem, demo_plan, tmp_path_factory: pytest.TempPathFactory):
    uncovered = uncovered_points(demo_plan, demo_problem)
    m = schedule_map(demo_plan, demo_problem.dataset, tile_source("none"), lang="en")
    add_coverage_layer(m, uncovered, lang="en")
    path = tmp_path_factory.mktemp("covmap") / "map.html"
    write_map(m, path)
    return path, uncovered


def test_layer_counts_every_uncovered_taxpayer_and_never_names_one(coverage_map, demo_problem):
    path, uncovered = coverage_map
    page = path.read_text(encoding="utf-8")
    assert set(uncovered) == {10, 15, 20}
    assert len(uncovered[10]) >= len(uncovered[15]) >= len(uncovered[20])
    assert len(uncovered[10]) > 0
    counts = re.findall(
        r'circle_marker_\w+\.bindTooltip\("[^"]*?(\d+) remote taxpayers? more than 10 min', page
    )
    assert sum(int(n) for n in counts) == len(uncovered[10])
    # The squares' centres are drawn, never a taxpayer's own place, name or ID.
    drawn = {(float(a), float(b)) for a, b in CIRCLE.findall(page)}
    remote = set(uncovered[10])
    assert not drawn & remote
    for t in demo_problem.dataset.taxpayers:
        if t.point in remote:
            for text in (t.name, t.id):  # as written, and as JSON writes it in a script
                assert text not in page
                assert json.dumps(text)[1:-1] not in page


def test_coverage_layer_can_be_switched_on_in_a_browser(coverage_map, phone_page):
    path, uncovered = coverage_map
    page = phone_page
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(Path(path).as_uri())
    page.wait_for_selector(".leaflet-interactive")
    assert page.locator(".tv-count").count() == 0  # off until chosen
    page.locator(".leaflet-control-layers").hover()
    page.get_by_text("more than 10 min from a stop").click()
    page.wait_for_selector(".tv-count")
    shown = sum(int(t) for t in page.locator(".tv-count").all_inner_texts())
    assert shown == len(uncovered[10])
    assert errors == []


def test_taxvan_plan_writes_coverage_to_report_terminal_and_map(tmp_path: Path):
    from tests.web.commands.test_cli import run_cli

    out = tmp_path / "out"
    printed = run_cli(out, tmp_path / "cache", "2026-W49")
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    cov = report["coverage"]
    assert cov["stop_choice"] == "covering"
    assert 0 < cov["this_week"]["share"]["10"] <= cov["this_week"]["share"]["15"]
    assert [s["code"] for s in cov["streets"]] and all("two_weeks" in s for s in cov["streets"])
    assert "within 10 / 15 / 20 min of a visited stop" in printed
    page = (out / "map.en.html").read_text(encoding="utf-8")
    uncovered = cov["remote_taxpayers"] - cov["this_week"]["within"]["10"]
    assert f"more than 10 min from a stop ({uncovered})" in page
    zh = (out / "map.html").read_text(encoding="utf-8")
    assert json.dumps(f"距服务点超过 10 分钟（{uncovered}）")[1:-1] in zh  # as a script writes it


def test_the_catchment_choice_can_still_be_asked_for(tmp_path: Path):
    from tests.web.commands.test_cli import run_cli

    out = tmp_path / "out"
    printed = run_cli(out, tmp_path / "cache", "2026-W49", "--stop-choice", "catchment")
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["coverage"]["stop_choice"] == "catchment"
    assert "coverage (catchment stop choice)" in printed
