"""The crew's phone in headless Chromium (390 x 844): the sheet opens without signal from the
service worker's copy, a record saved offline waits on the phone, and goes when the network
returns; sent again, it is still recorded once."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from taxvan.clock import CHINA
from tests.conftest import DEMO, VALID_USCC, open_visit, serving
from tests.web.views.test_accessibility import axe_violations
from web.db.models import AuditEntry, VisitRecord, VisitRow
from web.extensions import db
from web.operations import booking as svc

PASSWORD = "correct horse battery"
SHOTS = Path(os.environ.get("TAXVAN_SHOTS", "")) if os.environ.get("TAXVAN_SHOTS") else None
"""Set TAXVAN_SHOTS to a folder to keep the screenshots (online and offline)."""


def _until(page, script: str, timeout_s: float = 15) -> None:
    """Wait until `script` is true in the page (polled from here: the page's CSP allows no
    eval, which Playwright's own waiting uses)."""
    for _ in range(int(timeout_s * 10)):
        if page.evaluate(script):
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"never true: {script}")


def _count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def crew_site(sqlite_app):
    """The demo district with a van crew `van1`, a booking, and the clock on its visit's day."""
    app = sqlite_app
    runner = app.test_cli_runner()
    done = runner.invoke(
        args=["district", "import", "--data", str(DEMO), "--code", "fangzi", "--name", "示范区"]
    )
    assert done.exit_code == 0, done.output
    crew = ("user", "create", "van1", "--district", "fangzi", "--role", "crew")
    done = runner.invoke(args=[*crew, "--password-stdin"], input=PASSWORD)
    assert done.exit_code == 0, done.output
    visit_id, start = open_visit(app)
    with app.app_context():
        b = svc.book(
            svc.BookingRequest(visit_id, start, "consult", VALID_USCC, "纳税人", "13800138000")
        )
        day = db.session.get(VisitRow, visit_id).date
    now = dt.datetime.combine(day, dt.time(9, 30), tzinfo=CHINA)
    app.config["TAXVAN_CLOCK"] = lambda: now
    app.config["SERVER_NAME"] = None
    with serving(app) as url:
        yield app, url, visit_id, b.code


def test_a_record_saved_without_signal_is_sent_once_when_the_phone_is_online(crew_site, tmp_path):
    if shutil.which("chromium") is None:
        pytest.skip("needs Debian's chromium")
    from playwright.sync_api import sync_playwright

    app, url, visit_id, code = crew_site
    shots = SHOTS or tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=shutil.which("chromium"), args=["--no-sandbox", "--disable-gpu"]
        )
        context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url + "/dispatch/sign-in")
        page.get_by_label("用户名").fill("van1")
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.wait_for_selector("#crew-sheet")
        assert page.url.endswith("/dispatch/districts/fangzi/today")
        assert page.evaluate("navigator.serviceWorker.ready.then(() => true)")
        page.reload()  # now under the service worker, which kept the sheet when it installed
        _until(page, "navigator.serviceWorker.controller !== null")
        form = page.locator(f'form.record-form[data-visit="{visit_id}"]')
        page.locator(f"#visit-{visit_id} > summary").click()
        assert axe_violations(page) == [], "the phone sheet with a record form open"
        page.screenshot(path=str(shots / "online.png"), full_page=False)

        context.set_offline(True)
        page.reload()  # no signal: the service worker's copy of the sheet
        page.wait_for_selector("#crew-sheet")
        assert "当前无网络" in page.locator("#connection").inner_text()
        page.locator(f"#visit-{visit_id} > summary").click()
        form.locator('input[name="arrival"]').fill("09:05")
        form.get_by_label("已办").first.check()
        form.locator('input[data-service="consult"]').fill("2")
        form.locator('input[name="turned_away"]').fill("1")
        form.get_by_role("button", name="保存记录").click()
        status = page.locator(f"#status-{visit_id}")
        assert status.inner_text() == "已保存在手机上，联网后发送。"
        assert "1 条记录等待发送" in page.locator("#connection").inner_text()
        status.scroll_into_view_if_needed()
        page.screenshot(path=str(shots / "offline.png"), full_page=False)
        assert _count(app, VisitRecord) == 0, "nothing reached the server"
        queued = page.evaluate(
            "Object.keys(localStorage).filter(k => k.startsWith('taxvan-crew-queue'))"
            ".map(k => [k, localStorage.getItem(k)])[0]"
        )

        context.set_offline(False)  # the browser says `online`: the queue is sent
        _until(page, f"document.getElementById('status-{visit_id}').textContent === '已发送。'")
        assert _count(app, VisitRecord) == 1
        with app.app_context():
            record = db.session.scalar(select(VisitRecord))
            assert (record.arrival, record.turned_away) == (9 * 60 + 5, 1)
            assert {o.booking.code: o.outcome for o in record.outcomes} == {code: "served"}

        # The same record sent again (the phone never heard the first answer): once.
        page.evaluate("([k, v]) => localStorage.setItem(k, v)", queued)
        page.reload()
        _until(page, f"document.getElementById('status-{visit_id}').textContent === '已发送。'")
        assert _count(app, VisitRecord) == 1
        assert _count(app, AuditEntry, AuditEntry.action == "visit_record") == 1
        assert errors == []

        # Signed out, the phone keeps no copy of the sheet (names and phones) once online.
        page.get_by_role("button", name="退出登录").click()
        page.goto(url + "/dispatch/districts/fangzi/today")
        assert "/dispatch/sign-in" in page.url
        kept = (
            "caches.keys().then(names => Promise.all(names.map(n => caches.open(n)"
            ".then(c => c.keys())))).then(all => all.flat().map(r => new URL(r.url).pathname))"
        )
        _until(page, f"{kept}.then(paths => paths.every(p => p.startsWith('/static/')))")
        assert page.evaluate(kept), "the site's own files stay"
        browser.close()


def test_a_dispatcher_s_browser_keeps_no_copy_of_the_district_s_pages(crew_site, tmp_path):
    """The day sheet's service worker is the crew's: a dispatcher opening the same sheet on a
    laptop gets none, so the full day sheet (every name and phone) is never kept there."""
    if shutil.which("chromium") is None:
        pytest.skip("needs Debian's chromium")
    from playwright.sync_api import sync_playwright

    app, url, _visit_id, _code = crew_site
    runner = app.test_cli_runner()
    done = runner.invoke(
        args=["user", "create", "ann", "--district", "fangzi", "--password-stdin"], input=PASSWORD
    )
    assert done.exit_code == 0, done.output
    kept = (
        "caches.keys().then(names => Promise.all(names.map(n => caches.open(n)"
        ".then(c => c.keys())))).then(all => all.flat().map(r => new URL(r.url).pathname))"
    )
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=shutil.which("chromium"), args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_context(viewport={"width": 1366, "height": 800}).new_page()
        page.goto(url + "/dispatch/sign-in")
        page.get_by_label("用户名").fill("ann")
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.wait_for_selector("h1")
        page.goto(url + "/dispatch/districts/fangzi/today")
        page.wait_for_selector("#crew-sheet")
        page.wait_for_timeout(2000)  # time for a service worker to install, were there one
        page.reload()
        page.wait_for_selector("#crew-sheet")
        page.get_by_role("link", name="完整日程单").click()
        page.wait_for_load_state("load")
        page.wait_for_timeout(500)
        pages = [p for p in page.evaluate(kept) if not p.startswith("/static/")]
        registrations = page.evaluate(
            "navigator.serviceWorker.getRegistrations().then(r => r.length)"
        )
        assert (pages, registrations) == ([], 0)
        browser.close()
