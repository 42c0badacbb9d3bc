"""Adjusting and re-planning in headless Chromium on a 1366 x 768 laptop: the adjustments page
(a refused pin, then a saved one), planning with it, and the draft's changes to the published
week; axe finds nothing. Screenshots go to the test's folder and, for looking at, /tmp."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from tests.conftest import sign_in_page
from tests.web.operations.test_adjust import published
from tests.web.views.dispatch.test_dispatch_browser import PASSWORD, console_url  # noqa: F401
from tests.web.views.test_accessibility import axe_violations

SHOTS = Path("/tmp/taxvan-adjust-shots")


def _shot(page, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    page.screenshot(path=str(path), full_page=True)
    SHOTS.mkdir(exist_ok=True)
    shutil.copy(path, SHOTS / name)


def test_a_dispatcher_pins_a_stop_replans_and_sees_it_moved(
    sqlite_app,
    console_url,  # noqa: F811
    laptop_page,
    tmp_path,
):
    sqlite_app.config["TAXVAN"] = dataclasses.replace(sqlite_app.config["TAXVAN"], tiles="none")
    page = laptop_page
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in_page(page, console_url, "ann", PASSWORD)
    page.wait_for_selector("#plan-h")
    page.get_by_role("link", name="调整（固定、排除）").click()
    page.wait_for_selector("#add-pin")
    assert axe_violations(page) == [], "the empty adjustments page"
    # a stop visited once in the published week, not on the Friday excluded below
    stop = next(
        s
        for s, v in sorted(published(sqlite_app).items())
        if len(v) == 1 and v[0][0].weekday() != 4
    )

    # a time outside the shift is refused at the time field, nothing saved
    page.select_option("#pin-stop", stop)
    page.select_option("#pin-weekday", "2")
    page.fill("#pin-start", "18:00")
    page.locator("#add-pin button[type=submit]").click()
    page.wait_for_selector("#pin-start-error")
    assert "超出班次" in page.locator("#pin-start-error").inner_text()
    assert page.locator("ul.adjustments li").count() == 0
    _shot(page, tmp_path, "adjust-refused.png")
    assert axe_violations(page) == [], "the refused form"
    assert [e for e in errors if "400" not in e] == []
    errors.clear()  # the refused form answers 400 on purpose; the browser logs it

    page.select_option("#pin-stop", stop)
    page.select_option("#pin-weekday", "2")
    page.fill("#pin-start", "10:00")
    page.locator("#add-pin button[type=submit]").click()
    page.wait_for_selector("ul.adjustments li")
    assert "10:00" in page.locator("ul.adjustments li").inner_text()
    page.select_option("#exclude_day-weekday", "4")
    page.locator("#add-exclude_day button[type=submit]").click()
    page.wait_for_selector("ul.adjustments li.adjustment-exclude_day")
    _shot(page, tmp_path, "adjust-page.png")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366

    page.get_by_role("link", name="按这些调整规划一周").click()
    page.wait_for_selector("#plan-h")
    assert page.get_by_label("按本区调整规划").is_checked()
    page.get_by_label("求解时间（秒）").fill("2")
    page.get_by_role("button", name="生成").click()
    page.get_by_role("link", name="打开草案").wait_for(timeout=90_000)
    page.get_by_role("link", name="打开草案").click()
    page.wait_for_selector("#changes-h")
    row = page.locator(f'table.changes tr[data-stop="{stop}"]')
    assert row.count() == 1 and row.get_attribute("data-reason") == "pinned"
    assert "10:00" in row.locator("td.new").inner_text()
    assert page.locator('table.changes tr[data-reason="day_excluded"]').count() >= 1
    assert "项未变" in page.locator(".change-counts").inner_text()
    SHOTS.mkdir(exist_ok=True)
    for part in ("adjust", "changes"):
        page.locator(f"#{part}").screenshot(path=str(tmp_path / f"draft-{part}.png"))
        shutil.copy(tmp_path / f"draft-{part}.png", SHOTS / f"draft-{part}.png")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    assert axe_violations(page) == [], "the draft page with its changes"
    assert errors == []
