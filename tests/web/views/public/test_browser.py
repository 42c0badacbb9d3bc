"""End to end in headless Chromium on a phone-sized screen: find a stop, book with the keyboard."""

from tests.conftest import VALID_USCC


def test_a_villager_books_on_a_phone_with_the_keyboard(live_url, phone_page, tmp_path):
    page = phone_page
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(live_url + "/")
    assert page.locator("h1").inner_text().startswith("本周办税车服务安排")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, "the home page scrolls sideways on a phone"
    page.locator("ul.visits a.button").first.click()
    page.wait_for_selector("fieldset.slots")
    # keyboard only: focus the first time, pick it with space, tab through the fields
    page.locator("fieldset.slots input[type=radio]").first.focus()
    page.keyboard.press("Space")
    page.get_by_label("纳税人识别号").fill(VALID_USCC)
    page.get_by_label("姓名").fill("王五")
    page.get_by_label("手机号码").fill("138 0013 8000")
    page.get_by_label("手机号码").press("Enter")
    page.wait_for_selector("dd.code")
    assert page.locator("h1").inner_text() == "预约成功"
    assert len(page.locator("dd.code").inner_text()) == 8
    assert "身份证" in page.locator("dl.booking").inner_text()
    page.screenshot(path=str(tmp_path / "booked.png"), full_page=True)
    assert errors == []
