"""The publish confirm step in headless Chromium on a 1366 x 768 laptop: the affected bookings,
the decisions, the published version with its taxpayers to tell. Screenshots go to /tmp."""

from __future__ import annotations

import re

import pytest

from tests.conftest import DEMO, serving
from tests.web.operations.test_publishing import _book, _draft, _remove, _shift, _three_visits
from tests.web.views.dispatch.test_dispatch_publish import save_draft
from tests.web.views.test_accessibility import axe_violations

PASSWORD = "correct horse battery"
SHOTS = "/tmp/taxvan-publish"


@pytest.fixture
def console_url(sqlite_app):
    app = sqlite_app
    runner = app.test_cli_runner()
    imported = runner.invoke(
        args=["district", "import", "--data", str(DEMO), "--code", "fangzi", "--name", "示范区"]
    )
    assert imported.exit_code == 0, imported.output
    created = runner.invoke(
        args=["user", "create", "ann", "--district", "fangzi", "--password-stdin"], input=PASSWORD
    )
    assert created.exit_code == 0, created.output
    a, b, _c = _three_visits(app)
    for n in range(4):
        _book(app, a[0], n)
    for n in range(4, 6):
        _book(app, b[0], n)

    def change(visits):
        _shift(visits, a[1], 60)
        _remove(visits, b[1])

    save_draft(app, _draft(app, change))  # as a background plan leaves its draft
    app.config["SERVER_NAME"] = None
    with serving(app) as url:
        yield url


def test_a_dispatcher_decides_for_the_affected_bookings_and_publishes(console_url, laptop_page):
    import os

    os.makedirs(SHOTS, exist_ok=True)
    page = laptop_page
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(console_url + "/dispatch/sign-in")
    page.get_by_label("用户名").fill("ann")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_label("密码").press("Enter")
    page.wait_for_selector(".stops-count")
    page.get_by_role("link", name="2026-W49", exact=True).click()
    page.wait_for_selector("table.versions")
    assert "第 1 版" in page.locator("table.versions").inner_text()
    page.get_by_role("link", name=re.compile("草案 #")).click()
    page.wait_for_selector("table.affected")
    assert page.locator("h1").inner_text() == "发布 2026-W49 第 2 版"
    rows = page.locator("table.affected tbody tr")
    assert rows.count() == 6
    assert page.locator(".affected-count").inner_text() == "6"
    assert page.locator("table.affected .no-room").count() == 2
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1366, "the affected bookings scroll sideways on a laptop"
    page.screenshot(path=f"{SHOTS}/affected.png", full_page=True)
    assert axe_violations(page) == [], "the publish page"

    # publishing without decisions is refused, and says which rows need one
    page.get_by_role("button", name="发布第 2 版").click()
    page.wait_for_selector("tr.has-error")
    assert page.locator("tr.has-error").count() == 6
    page.screenshot(path=f"{SHOTS}/affected-refused.png", full_page=True)

    page.get_by_label("全部改约").check()
    for row in page.locator("table.affected tbody tr").all():
        if row.locator(".no-room").count():
            row.get_by_label("取消", exact=True).check()
            row.locator("input[type=text]").fill("村委会施工，本周不停靠")
    page.get_by_role("button", name="发布第 2 版").click()
    page.wait_for_selector("table.notices")
    status = page.locator(".notice.ok").inner_text()
    assert "已发布第 2 版" in status and "改约 4 个" in status and "取消 2 个" in status
    assert page.locator("table.notices tbody tr").count() == 6
    page.screenshot(path=f"{SHOTS}/published.png", full_page=True)
    assert axe_violations(page) == [], "the version page"

    # the week's versions: both stored, the new one current, who published each
    page.get_by_role("link", name="← 2026-W49").click()
    page.wait_for_selector("table.versions")
    versions = page.locator("table.versions tbody tr")
    assert versions.count() == 2
    assert "当前" in versions.nth(0).inner_text() and "ann" in versions.nth(0).inner_text()
    assert "当前" not in versions.nth(1).inner_text()
    page.screenshot(path=f"{SHOTS}/week.png", full_page=True)
    assert axe_violations(page) == [], "the week page"
    assert errors == []
