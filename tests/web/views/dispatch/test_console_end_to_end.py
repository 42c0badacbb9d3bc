"""The whole dispatcher's week in headless Chromium on a 1366 x 768 laptop, as issue 10 asks:
sign in, import a changed stops file, plan the week in the background, publish the draft as a
new version, and see the change on the public timetable and map. Screenshots go to /tmp."""

from __future__ import annotations

import csv
import dataclasses
import io
import os

from sqlalchemy import select

from tests.conftest import sign_in_page
from tests.web.views.dispatch.test_dispatch_browser import PASSWORD, import_url  # noqa: F401  (fixture)
from web.db.models import District, PublishedWeek, StopRow, VisitRow
from web.db.store import IS_CURRENT_VISIT
from web.extensions import db

SHOTS = "/tmp/taxvan-end-to-end"
NEW_NAME = "新址测试站"


def _a_visited_stop(app) -> str:
    """A stop with a visit in the current 2026-W49 of the demo district."""
    with app.app_context():
        return db.session.scalar(
            select(VisitRow.stop_id)
            .join(PublishedWeek, PublishedWeek.id == VisitRow.published_id)
            .join(District, District.id == PublishedWeek.district_id)
            .where(District.code == "fangzi", PublishedWeek.week == "2026-W49", IS_CURRENT_VISIT)
            .order_by(VisitRow.date, VisitRow.start)
        )


def _renamed(folder, stop_id: str, path) -> None:
    """The district's stops.csv with `stop_id` renamed to NEW_NAME, written to `path`."""
    text = (folder / "stops.csv").read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert any(r["stop_id"] == stop_id for r in rows)
    for r in rows:
        if r["stop_id"] == stop_id:
            r["name"] = NEW_NAME
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


def test_sign_in_import_plan_publish_and_see_it_on_the_public_map(
    sqlite_app,
    import_url,  # noqa: F811
    laptop_page,
    tmp_path,
):
    # no tile server is reachable from the tests: maps without tiles
    sqlite_app.config["TAXVAN"] = dataclasses.replace(sqlite_app.config["TAXVAN"], tiles="none")
    url, folder = import_url
    os.makedirs(SHOTS, exist_ok=True)
    stop_id = _a_visited_stop(sqlite_app)
    assert stop_id, "the demo's 2026-W49 is published with visits"
    page = laptop_page
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    before = page.goto(f"{url}/d/fangzi/?week=2026-W49")
    assert before is not None and before.ok
    assert NEW_NAME not in page.content()

    # sign in
    sign_in_page(page, url, "ann", PASSWORD)
    page.wait_for_selector(".stops-count")

    # import: the stop gets a new name
    page.get_by_role("link", name="导入数据（上传文件）").click()
    page.wait_for_selector(".import-form")
    upload = tmp_path / "stops.csv"
    _renamed(folder, stop_id, upload)
    page.locator("input[name=stops]").set_input_files(str(upload))
    page.get_by_role("button", name="检查文件（预览）").click()
    page.wait_for_selector(".import-preview")
    assert stop_id in page.locator("tr.kind-stops").inner_text(), "the renamed stop is listed"
    page.screenshot(path=f"{SHOTS}/1-import-preview.png", full_page=True)
    page.get_by_role("button", name="确认导入").click()
    page.wait_for_selector(".notice.ok")

    # plan the week in the background
    page.goto(url + "/dispatch/districts/fangzi")
    page.wait_for_selector("#plan-h")
    page.get_by_label("周次（ISO，如 2026-W49）").fill("2026-W49")
    page.get_by_label("求解时间（秒）").fill("3")
    page.get_by_role("button", name="生成").click()
    page.wait_for_selector(".job-status")
    page.get_by_role("link", name="打开草案").wait_for(timeout=120_000)
    page.screenshot(path=f"{SHOTS}/2-job-done.png", full_page=True)
    page.get_by_role("link", name="打开草案").click()
    page.wait_for_selector("svg.share-chart")
    assert NEW_NAME in page.locator("section.timetable").inner_text()
    page.screenshot(path=f"{SHOTS}/3-draft.png", full_page=True)

    # publish it as the week's next version
    page.locator("#publish a.button").click()
    page.wait_for_selector("form.publish-form")
    if page.locator("input[name=decision-all][value=move]").count():
        page.locator("input[name=decision-all][value=move]").check()
    page.screenshot(path=f"{SHOTS}/4-publish.png", full_page=True)
    page.locator("form.publish-form button[type=submit]").click()
    page.wait_for_selector(".notice.ok")
    page.screenshot(path=f"{SHOTS}/5-published.png", full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1366, "the console scrolls sideways on a laptop"

    # the public timetable and map show the new version at once
    with sqlite_app.app_context():
        versions = db.session.scalars(
            select(PublishedWeek.version)
            .join(District, District.id == PublishedWeek.district_id)
            .where(District.code == "fangzi", PublishedWeek.week == "2026-W49")
        ).all()
        assert sorted(versions) == [1, 2]
        assert db.session.get(StopRow, stop_id).name == NEW_NAME
    public = page.goto(f"{url}/d/fangzi/?week=2026-W49")
    assert public is not None and public.ok
    assert NEW_NAME in page.locator("main").inner_text()
    page.screenshot(path=f"{SHOTS}/6-public.png", full_page=True)
    public_map = page.goto(f"{url}/d/fangzi/map/2026-W49")
    assert public_map is not None and public_map.ok
    assert NEW_NAME in page.content(), "the public map of the new version names the stop"
    assert errors == []
