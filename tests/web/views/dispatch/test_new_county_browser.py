"""A new county from nothing to a published week, as a newcomer clicks it in headless Chromium
on a 1366 x 800 laptop: the administrator signs in to an installation with no district, the
first-run page takes the county's data folder as one zip, names it, the district page plans
its first week (the job runs in a thread of the server), the draft is published; then a
dispatcher is created. The time the clicking takes is printed; screenshots go to SHOTS."""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import _dispose, build_app, chromium_page, serving, sign_in_page
from tests.web.views.dispatch.test_dispatch import PASSWORD, _cli
from tests.web.views.dispatch.test_new_county import county_zip
from tests.web.views.test_accessibility import axe_violations
from web.db.models import District, PublishedWeek
from web.extensions import db

SHOTS = os.environ.get("TAXVAN_SHOTS", "/tmp/taxvan-new-county")
NEWCOMER_LIMIT_S = 600
"""The issue's budget for a newcomer: under 10 minutes of clicks (reported, never asserted on
a shared machine's clock; the test's own steps are what must pass)."""


@pytest.fixture
def new_installation(tmp_path: Path):
    """A new installation served on loopback: one administrator, no district, no tiles."""
    app = build_app(f"sqlite:///{tmp_path / 'new.sqlite'}", tmp_path, publish=False)
    app.config["TAXVAN"] = dataclasses.replace(app.config["TAXVAN"], tiles="none")
    result = _cli(
        app, "user", "create", "chen", "--role", "admin", "--password-stdin", input=PASSWORD
    )
    assert result.exit_code == 0, result.output
    app.config["SERVER_NAME"] = None
    with serving(app) as url:
        yield app, url
    _dispose(app)


def _shot(page, name: str) -> None:
    page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


def test_a_newcomer_sets_up_a_county_and_publishes_its_first_week(new_installation, tmp_path):
    app, url = new_installation
    archive = tmp_path / "高台县数据.zip"
    archive.write_bytes(county_zip(tmp_path))
    os.makedirs(SHOTS, exist_ok=True)
    with chromium_page(1366, 800) as page:
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        started = time.monotonic()

        # sign in: an installation with no district opens on the first-run page
        sign_in_page(page, url, "chen", PASSWORD)
        page.wait_for_selector("ol.steps")
        assert page.locator("h1").inner_text() == "开始使用"
        _shot(page, "1-first-run")
        assert axe_violations(page) == [], "the first-run page"

        # a code that is no code: said at its field, nothing created
        page.get_by_label("辖区代码").fill("高台")
        page.get_by_label("名称（中文）").fill("高台县")
        page.get_by_label("数据文件夹（一个 .zip 压缩包）").set_input_files(str(archive))
        page.get_by_role("button", name="检查文件并创建辖区").click()
        page.wait_for_selector(".error-summary")
        assert "小写字母" in page.locator(".error-summary").inner_text()
        _shot(page, "2-code-refused")
        assert axe_violations(page) == [], "the new-district page with its error"

        # the district: its files as one zip, its code and names
        page.get_by_label("辖区代码").fill("gaotai")
        page.get_by_label("名称（中文）").fill("高台县")
        page.get_by_label("英文名称（可选）").fill("Gaotai")
        page.get_by_label("数据文件夹（一个 .zip 压缩包）").set_input_files(str(archive))
        page.get_by_role("button", name="检查文件并创建辖区").click()
        page.wait_for_selector("#plan-h")
        assert "辖区高台县已创建" in page.locator(".notice.ok").first.inner_text()
        _shot(page, "3-district-created")

        # its first week: the plan form as it is filled in
        assert page.get_by_label("周次（ISO，如 2026-W49）").input_value() == "2026-W49"
        page.get_by_role("button", name="生成").click()
        page.wait_for_selector(".job-status")
        page.get_by_role("link", name="打开草案").wait_for(timeout=180_000)
        _shot(page, "4-job-done")
        page.get_by_role("link", name="打开草案").click()
        page.wait_for_selector("svg.share-chart")
        _shot(page, "5-draft")

        # publish it
        page.locator("#publish a.button").click()
        page.wait_for_selector("form.publish-form")
        _shot(page, "6-publish")
        page.locator("form.publish-form button[type=submit]").click()
        page.wait_for_selector(".notice.ok")
        elapsed = time.monotonic() - started
        _shot(page, "7-published")
        print(
            f"\nnew county, from signing in to a published week: {elapsed:.0f} s of clicks "
            f"(the issue's budget: {NEWCOMER_LIMIT_S} s)"
        )

        # the public timetable shows it
        public = page.goto(f"{url}/d/gaotai/?week=2026-W49")
        assert public is not None and public.ok
        _shot(page, "8-public")

        # the first-run page says what is done; a dispatcher is created last
        page.goto(url + "/dispatch/setup")
        assert page.locator(".done").count() >= 2
        _shot(page, "9-first-run-done")
        page.get_by_role("link", name="创建高台县的用户").click()
        page.get_by_label("用户名", exact=True).fill("wang")
        assert page.get_by_label("辖区", exact=True).input_value() == "gaotai", "preselected"
        page.get_by_role("button", name="创建用户").click()
        password = page.locator("code.password").inner_text()
        assert len(password) == 19
        _shot(page, "10-dispatcher-created")
        assert axe_violations(page) == [], "the users page with a new password"
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 1366, "the users page scrolls sideways on a laptop"
        assert errors == []

    with app.app_context():
        district = db.session.scalar(select(District).where(District.code == "gaotai"))
        weeks = db.session.scalars(
            select(PublishedWeek.week).where(PublishedWeek.district_id == district.id)
        ).all()
        assert weeks == ["2026-W49"]
