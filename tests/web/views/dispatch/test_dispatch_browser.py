"""The console in headless Chromium on a 1366 x 768 laptop screen: sign in, see the dashboard."""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import DEMO, serving, sign_in_page
from tests.web.views.test_accessibility import axe_violations

PASSWORD = "correct horse battery"


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
    admin = runner.invoke(
        args=["user", "create", "root", "--role", "admin", "--password-stdin"], input=PASSWORD
    )
    assert admin.exit_code == 0, admin.output
    app.config["SERVER_NAME"] = None
    with serving(app) as url:
        yield url


def test_a_dispatcher_signs_in_and_sees_the_district(console_url, laptop_page, tmp_path):
    page = laptop_page
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(console_url + "/dispatch/")
    assert page.locator("h1").inner_text() == "调度员登录"
    page.get_by_label("用户名").fill("ann")
    page.get_by_label("密码").fill("wrong password")
    page.get_by_label("密码").press("Enter")
    page.wait_for_selector(".error-summary")
    assert "用户名或密码错误" in page.locator(".error-summary").inner_text()
    assert axe_violations(page) == [], "the sign-in page with its error"
    page.get_by_label("用户名").fill("ann")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_selector(".stops-count")
    assert page.locator("h1").inner_text() == "示范区"
    assert int(page.locator(".stops-count").inner_text()) > 0
    assert page.get_by_role("link", name="2026-W49").count() == 1
    log = page.locator("table.console").inner_text()
    assert "登录失败" in log and "登录" in log and "导入辖区数据" in log
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1366, "the dashboard scrolls sideways on a laptop"
    page.screenshot(path=str(tmp_path / "dashboard.png"))
    assert axe_violations(page) == [], "the dashboard"
    page.get_by_role("button", name="退出登录").click()
    page.wait_for_selector("form.sign-in")
    assert errors == []


def test_an_admin_sees_every_district_and_the_users(console_url, laptop_page, tmp_path):
    page = laptop_page
    page.goto(console_url + "/dispatch/sign-in")
    page.get_by_label("用户名").fill("root")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_label("密码").press("Enter")
    page.wait_for_selector("table.districts")
    assert page.locator("h1").inner_text() == "辖区"
    assert "示范区" in page.locator("table.districts").inner_text()
    assert axe_violations(page) == [], "the admin overview"
    page.screenshot(path=str(tmp_path / "admin.png"))
    page.get_by_role("link", name="用户").click()
    page.wait_for_selector("table.users")
    users = page.locator("table.users").inner_text()
    assert "ann" in users and "root" in users and "管理员" in users
    assert axe_violations(page) == [], "the users page"


@pytest.fixture
def import_url(sqlite_app, tmp_path):
    """The console with the demo district re-imported from a copy of the demo folder (an upload
    rewrites it; the demo district owns the demo's stops, so it is the one imported)."""
    app = sqlite_app
    folder = tmp_path / "upland"
    shutil.copytree(DEMO, folder)
    runner = app.test_cli_runner()
    imported = runner.invoke(
        args=["district", "import", "--data", str(folder), "--code", "fangzi", "--name", "示范区"]
    )
    assert imported.exit_code == 0, imported.output
    created = runner.invoke(
        args=["user", "create", "ann", "--district", "fangzi", "--password-stdin"], input=PASSWORD
    )
    assert created.exit_code == 0, created.output
    app.config["SERVER_NAME"] = None
    with serving(app) as url:
        yield url, folder


def test_a_dispatcher_uploads_files_and_sees_the_preview(import_url, laptop_page, tmp_path):
    url, folder = import_url
    page = laptop_page
    sign_in_page(page, url, "ann", PASSWORD)
    page.wait_for_selector(".stops-count")
    page.get_by_role("link", name="导入数据（上传文件）").click()
    page.wait_for_selector(".import-form")

    lines = (folder / "stops.csv").read_text(encoding="utf-8-sig").splitlines()
    bad = tmp_path / "bad-stops.csv"
    bad.write_text("\n".join([lines[0], lines[1].replace(",village,", ",castle,"), *lines[2:]]))
    page.locator("input[name=stops]").set_input_files(str(bad))
    page.get_by_role("button", name="检查文件（预览）").click()
    page.wait_for_selector(".import-problems")
    assert "发现 1 个问题" in page.locator("h2#problems-h").inner_text()
    assert "castle" in page.locator("table.problems").inner_text()
    page.screenshot(path=str(tmp_path / "import-problems.png"), full_page=True)

    good = tmp_path / "stops.csv"
    good.write_text("\n".join([lines[0], *lines[2:]]) + "\n", encoding="utf-8")
    page.locator("input[name=stops]").set_input_files(str(good))
    page.get_by_role("button", name="检查文件（预览）").click()
    page.wait_for_selector(".import-preview")
    removed = page.locator("tr.kind-stops td.removed").inner_text()
    assert removed.startswith("1") and lines[1].split(",")[0] in removed
    assert axe_violations(page) == [], "the preview page"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1366, "the preview scrolls sideways on a laptop"
    page.screenshot(path=str(tmp_path / "import-preview.png"), full_page=True)

    page.get_by_role("button", name="确认导入").click()
    page.wait_for_selector(".notice.ok")
    assert "导入完成" in page.locator(".notice.ok").inner_text()
    assert (folder / "stops.csv").read_text(encoding="utf-8") == good.read_text(encoding="utf-8")
