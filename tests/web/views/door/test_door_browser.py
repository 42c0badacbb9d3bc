"""Door-to-door in headless Chromium: the form on a phone (tap the map, send, see what
happens next) and the console's request list on a laptop. Screenshots go to /tmp/door-*.png."""

from __future__ import annotations

from tests.conftest import VALID_USCC, sign_in_page
from tests.web.operations.test_door import MOBILE
from tests.web.views.dispatch.test_dispatch_browser import PASSWORD, console_url  # noqa: F401


def test_a_firm_sends_a_request_on_a_phone_and_the_dispatcher_sees_it(
    console_url,  # noqa: F811
    phone_page,
):
    page = phone_page
    page.goto(console_url + "/d/fangzi/door-to-door")
    assert page.locator("h1").inner_text().startswith("申请上门服务")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, "no sideways scrolling on a phone"
    page.get_by_label("手机号码").fill(MOBILE)
    page.get_by_label("企业名称").fill("潍坊示例机械有限公司")
    page.get_by_label("统一社会信用代码").fill(VALID_USCC)
    page.get_by_label("联系人").fill("李四")
    page.get_by_label("地址").fill("示例工业园 3 号")
    page.locator("#doormap").click(position={"x": 150, "y": 100})
    assert page.locator("#lat").input_value(), "tapping the map sets the point"
    page.get_by_label("周一").check()
    page.get_by_label("咨询与辅导办理").check()
    page.get_by_label("前来办理的人数").fill("3")
    page.screenshot(path="/tmp/door-form-phone.png")  # (a full-page one breaks the click)
    with page.expect_navigation(timeout=30_000):
        page.get_by_role("button", name="提交申请").click()
    assert page.locator("h1").inner_text() == "申请已提交"
    assert "申请编号" in page.locator("main").inner_text()
    page.screenshot(path="/tmp/door-sent-phone.png", full_page=True)

    laptop = page.context.browser.new_page(viewport={"width": 1366, "height": 768})
    sign_in_page(laptop, console_url, "ann", PASSWORD)
    laptop.goto(console_url + "/dispatch/districts/fangzi/door-to-door")
    assert "潍坊示例机械有限公司" in laptop.content()
    laptop.screenshot(path="/tmp/door-console-laptop.png", full_page=True)
    laptop.get_by_role(
        "link", name=laptop.locator("table.door-requests a").first.inner_text()
    ).click()
    laptop.wait_for_selector("h2")
    laptop.screenshot(path="/tmp/door-plan-laptop.png", full_page=True)
