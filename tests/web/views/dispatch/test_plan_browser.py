"""Planning from the console in headless Chromium on a 1366 x 768 laptop: the form, the progress
page updating itself by polling, the draft page; axe finds nothing on them."""

from __future__ import annotations

import dataclasses

from tests.conftest import sign_in_page
from tests.web.views.dispatch.test_dispatch_browser import PASSWORD, console_url  # noqa: F401
from tests.web.views.test_accessibility import axe_violations


def test_a_dispatcher_plans_a_week_and_opens_the_draft(
    sqlite_app,
    console_url,  # noqa: F811
    laptop_page,
    tmp_path,
):
    # no tile server is reachable from the tests: the draft's map without tiles
    sqlite_app.config["TAXVAN"] = dataclasses.replace(sqlite_app.config["TAXVAN"], tiles="none")
    page = laptop_page
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in_page(page, console_url, "ann", PASSWORD)
    page.wait_for_selector("#plan-h")
    assert page.get_by_label("周次（ISO，如 2026-W49）").input_value() == "2026-W49"
    assert axe_violations(page) == [], "the district page with the plan form"
    page.get_by_label("求解时间（秒）").fill("4")
    page.get_by_label("重新规划每周模板（时间可能变化）").check()
    page.get_by_role("button", name="生成").click()
    page.wait_for_selector(".job-status")
    assert "规划 2026-W49" in page.locator("h1").inner_text()
    # the page polls its JSON URL and shows the improving cost while the search runs
    for _tick in range(300):  # (wait_for_function would need eval, which the CSP forbids)
        if page.locator(".job-best").inner_text().strip() not in ("—", ""):
            break
        page.wait_for_timeout(200)
    else:
        raise AssertionError("the progress page never showed a cost")
    page.screenshot(path=str(tmp_path / "job-running.png"))
    assert page.locator("#progress-chart svg polyline").get_attribute("points")
    # when the job ends the page reloads itself with the draft's link
    page.get_by_role("link", name="打开草案").wait_for(timeout=90_000)
    assert page.locator(".job-status").inner_text().startswith("已完成")
    assert axe_violations(page) == [], "the finished job's page"
    page.get_by_role("link", name="打开草案").click()
    page.wait_for_selector("svg.share-chart")
    assert page.locator("iframe.map").count() == 1
    assert page.locator("table.shares tbody tr").count() >= 1
    assert page.locator("section.timetable table.day").count() >= 1
    assert page.locator("#publish").count() == 1
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1366, "the draft scrolls sideways on a laptop"
    page.screenshot(path=str(tmp_path / "draft.png"), full_page=True)
    assert axe_violations(page) == [], "the draft page"
    assert errors == []
