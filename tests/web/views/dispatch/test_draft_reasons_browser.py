"""The draft that explains itself, in headless Chromium on a 1366 x 800 laptop, in Chinese: its
share warning, changes with reasons, stops no longer visited and dropped visits, then the
publish confirmation counting the changes alike; axe finds nothing. Screenshots go to the
test's folder and, for looking at, /tmp/taxvan-draft-reasons-shots."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from playwright.sync_api import Page

from tests.conftest import sign_in_page
from tests.fixtures.browser import chromium_page
from tests.web.views.dispatch.test_dispatch_browser import PASSWORD, console_url  # noqa: F401
from tests.web.views.dispatch.test_draft_reasons import HOME, make_scene
from tests.web.views.test_accessibility import axe_violations

SHOTS = Path("/tmp/taxvan-draft-reasons-shots")


def _shot(page: Page, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    page.screenshot(path=str(path), full_page=True)
    SHOTS.mkdir(exist_ok=True)
    shutil.copy(path, SHOTS / name)


def test_a_draft_and_its_publish_confirmation_in_chinese(
    sqlite_app,
    console_url,  # noqa: F811
    tmp_path,
):
    sqlite_app.config["TAXVAN"] = dataclasses.replace(sqlite_app.config["TAXVAN"], tiles="none")
    scene = make_scene(sqlite_app)
    with chromium_page(1366, 800) as page:
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        sign_in_page(page, console_url, "ann", PASSWORD)
        page.goto(f"{console_url}/dispatch/districts/{HOME}/drafts/{scene['draft']}")
        warning = page.locator(".share-warnings")
        assert "15.5 %" in warning.inner_text() and "21.1 %" in warning.inner_text()
        gone = page.locator("table.gone-stops tbody tr")
        assert gone.count() == 2
        counts = page.locator(".change-counts").inner_text()
        _shot(page, tmp_path, "draft.png")
        for part in ("changes",):
            page.locator(f"#{part}").screenshot(path=str(tmp_path / f"draft-{part}.png"))
            shutil.copy(tmp_path / f"draft-{part}.png", SHOTS / f"draft-{part}.png")
        assert page.evaluate("document.documentElement.scrollWidth") <= 1366
        assert axe_violations(page) == [], "the draft page with its reasons"

        page.goto(f"{console_url}/dispatch/districts/{HOME}/drafts/{scene['draft']}/publish")
        assert page.locator(".change-counts").inner_text() == counts
        _shot(page, tmp_path, "publish.png")
        assert axe_violations(page) == [], "the publish confirmation"
        assert errors == []
