"""Console sessions end on the server: signing out, a disabled account and a new password end
every session of that user (a copied cookie included); a session also ends after 30 minutes
without a request and 12 hours after signing in, on the app's clock. Failed sign-ins are
counted per name and address, and per address, so nobody can lock the owner out from elsewhere.

Every test but the rate-limit ones runs on SQLite and PostgreSQL (the `app` fixture)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest

from tests.conftest import CHINA_NOW
from tests.web.views.dispatch.test_dispatch import (  # noqa: F401  (fixtures)
    PASSWORD,
    _audit,
    _cli,
    _from,
    _token,
    console,
    limited_console,
    sign_in,
)
from tests.web.views.dispatch.test_dispatch_browser import console_url  # noqa: F401  (fixture)

HOME = "/dispatch/districts/fangzi"
NEW_PASSWORD = "a new one, kept in mind"


def _copy(app, client):
    """Another browser holding a copy of `client`'s session cookie (a shared or lost laptop)."""
    cookie = client.get_cookie("session", domain="taxvan.test")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value, domain="taxvan.test")
    return thief


def _signed_out(response) -> bool:
    return response.status_code == 302 and "/dispatch/sign-in" in response.headers["Location"]


def _sign_out(client) -> None:
    r = client.post("/dispatch/sign-out", data={"csrf_token": _token(client, HOME)})
    assert r.status_code == 302


# --- ending sessions on the server ------------------------------------------------------------


def test_a_cookie_copied_before_signing_out_is_refused_after(app, console):  # noqa: F811
    client = app.test_client()
    assert sign_in(client, "ann").status_code == 302
    thief = _copy(app, client)
    assert thief.get(HOME).status_code == 200, "the copy works while the session lives"
    laptop = app.test_client()
    assert sign_in(laptop, "ann").status_code == 302
    _sign_out(client)
    assert _signed_out(client.get(HOME))
    assert _signed_out(thief.get(HOME)), "the copied cookie no longer opens the console"
    assert _signed_out(laptop.get(HOME)), "signing out ends the user's other sessions too"
    assert thief.get("/dispatch/api/districts/fangzi").status_code == 401
    page = thief.get("/dispatch/sign-in").get_data(as_text=True)
    assert "会话已结束" in page, "the sign-in page says why"
    assert sign_in(client, "ann").status_code == 302, "signing in again works"
    assert client.get(HOME).status_code == 200


def test_disabling_a_user_ends_a_copied_session(app, console):  # noqa: F811
    client = app.test_client()
    sign_in(client, "ann")
    thief = _copy(app, client)
    assert _cli(app, "user", "disable", "ann").exit_code == 0
    assert _signed_out(thief.get(HOME)) and _signed_out(client.get(HOME))


def _change(client, current: str, new: str, repeat: str | None = None):
    token = _token(client, "/dispatch/password")
    return client.post(
        "/dispatch/password",
        data={
            "csrf_token": token,
            "current": current,
            "new": new,
            "repeat": new if repeat is None else repeat,
        },
    )


def _error_of(page: str, field: str) -> str:
    found = re.search(rf'<p class="error" id="{field}-error">([^<]+)</p>', page)
    return found.group(1) if found else ""


def test_a_dispatcher_changes_their_password_and_their_other_sessions_end(app, console):  # noqa: F811
    client = app.test_client()
    sign_in(client, "ann")
    page = client.get(HOME).get_data(as_text=True)
    assert 'href="/dispatch/password"' in page, "the console bar links the password page"
    other = app.test_client()
    sign_in(other, "ann")
    thief = _copy(app, client)

    r = _change(client, "not my password", "short", "shorter")
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert "当前密码不正确" in _error_of(page, "current")
    assert "至少 10 个字符" in _error_of(page, "new")
    assert "两次输入的新密码不一致" in _error_of(page, "repeat")
    assert 'aria-invalid="true"' in page and "提交的信息有误" in page
    r = _change(client, PASSWORD, "ann-and-the-van")
    assert "不能包含用户名" in _error_of(r.get_data(as_text=True), "new")
    r = _change(client, PASSWORD, "aaaaabbbbbaaaaa")
    assert "5 个不同的字符" in _error_of(r.get_data(as_text=True), "new")
    r = _change(client, PASSWORD, PASSWORD)
    assert "不能与当前密码相同" in _error_of(r.get_data(as_text=True), "new")
    r = _change(client, PASSWORD, "")
    assert "请输入新密码" in _error_of(r.get_data(as_text=True), "new")
    assert other.get(HOME).status_code == 200, "a refused change ends nothing"

    r = _change(client, PASSWORD, NEW_PASSWORD)
    assert r.status_code == 200 and "密码已修改" in r.get_data(as_text=True)
    assert client.get(HOME).status_code == 200, "this browser goes on"
    assert _signed_out(other.get(HOME)), "every other session ended"
    assert _signed_out(thief.get(HOME)), "a copy of this browser's old cookie too"
    refused = sign_in(app.test_client(), "ann")
    assert refused.status_code == 200, "the old password no longer signs in"
    assert sign_in(app.test_client(), "ann", NEW_PASSWORD).status_code == 302
    (entry,) = _audit(app, "password_change")
    assert entry.actor == "ann" and NEW_PASSWORD not in str(entry.details)


def test_an_admin_resets_a_password_and_the_user_s_sessions_end(app, console):  # noqa: F811
    ann = app.test_client()
    sign_in(ann, "ann")
    root = app.test_client()
    sign_in(root, "root")
    users = root.get("/dispatch/users").get_data(as_text=True)
    assert 'href="/dispatch/users/ann/password"' in users
    url = "/dispatch/users/ann/password"
    token = _token(root, url)
    r = root.post(url, data={"csrf_token": token, "new": "too short", "repeat": "too short"})
    assert r.status_code == 400 and "至少 10 个字符" in _error_of(r.get_data(as_text=True), "new")
    assert ann.get(HOME).status_code == 200
    r = root.post(url, data={"csrf_token": token, "new": NEW_PASSWORD, "repeat": NEW_PASSWORD})
    assert r.status_code == 302 and r.headers["Location"].endswith("/dispatch/users")
    assert "ann 已设置新密码" in root.get("/dispatch/users").get_data(as_text=True)
    assert _signed_out(ann.get(HOME)), "the user's session ended"
    assert root.get(HOME).status_code == 200, "the admin's own goes on"
    assert sign_in(app.test_client(), "ann", NEW_PASSWORD).status_code == 302
    (entry,) = _audit(app, "password_reset")
    assert entry.actor == "root" and entry.details == {"user": "ann"}
    assert root.get("/dispatch/users/nobody/password").status_code == 404
    bo = app.test_client()
    sign_in(bo, "bo")
    assert bo.get(url).status_code == 403, "a dispatcher resets nobody's password"


def test_the_command_line_sets_a_password_and_ends_the_sessions(app, console):  # noqa: F811
    ann = app.test_client()
    sign_in(ann, "ann")
    weak = _cli(app, "user", "set-password", "ann", "--password-stdin", input="aaaaaaaaaaaa\n")
    assert weak.exit_code != 0 and "different characters" in weak.output
    assert ann.get(HOME).status_code == 200
    done = _cli(app, "user", "set-password", "ann", "--password-stdin", input=NEW_PASSWORD)
    assert done.exit_code == 0 and "sessions have ended" in done.output
    assert _signed_out(ann.get(HOME))
    assert sign_in(app.test_client(), "ann", NEW_PASSWORD).status_code == 302


# --- idle and absolute timeouts ---------------------------------------------------------------


@pytest.fixture
def clock(app):
    """The app's clock, moved by the test (`clock.now += ...`)."""

    class Clock:
        now = CHINA_NOW

    app.config["TAXVAN_CLOCK"] = lambda: Clock.now
    yield Clock
    app.config["TAXVAN_CLOCK"] = lambda: CHINA_NOW


def test_a_session_ends_after_30_minutes_without_a_request(app, console, clock):  # noqa: F811
    client = app.test_client()
    sign_in(client, "ann")
    thief = _copy(app, client)
    for _ in range(4):  # in use every 29 minutes: it goes on for two hours
        clock.now += dt.timedelta(minutes=29)
        assert client.get(HOME).status_code == 200
    clock.now += dt.timedelta(minutes=31)
    assert _signed_out(client.get(HOME))
    assert _signed_out(thief.get(HOME)), "a cookie copied long ago has idled out too"
    page = client.get("/dispatch/sign-in").get_data(as_text=True)
    assert "30 分钟无操作" in page
    assert sign_in(client, "ann").status_code == 302 and client.get(HOME).status_code == 200


def test_a_session_ends_12_hours_after_signing_in_however_busy(app, console, clock):  # noqa: F811
    client = app.test_client()
    sign_in(client, "ann")
    for _ in range(35):  # a request every 20 minutes for 11 h 40 min
        clock.now += dt.timedelta(minutes=20)
        assert client.get(HOME).status_code == 200
    clock.now += dt.timedelta(minutes=21)
    assert _signed_out(client.get(HOME))
    assert "12 小时" in client.get("/dispatch/sign-in").get_data(as_text=True)


def test_the_timeouts_are_settings(app, console, clock, monkeypatch: pytest.MonkeyPatch):  # noqa: F811
    from web.config import Config

    monkeypatch.setenv("TAXVAN_SESSION_IDLE_MINUTES", "5")
    monkeypatch.setenv("TAXVAN_SESSION_MAX_HOURS", "8")
    cfg = Config()
    assert (cfg.session_idle_minutes, cfg.session_max_hours) == (5, 8)
    monkeypatch.delenv("TAXVAN_SESSION_IDLE_MINUTES")
    monkeypatch.delenv("TAXVAN_SESSION_MAX_HOURS")
    assert (Config().session_idle_minutes, Config().session_max_hours) == (30, 12)

    before = app.config["TAXVAN"]
    app.config["TAXVAN"] = dataclasses.replace(before, session_idle_minutes=5)
    try:
        client = app.test_client()
        sign_in(client, "ann")
        clock.now += dt.timedelta(minutes=6)
        assert _signed_out(client.get(HOME))
        assert "5 分钟无操作" in client.get("/dispatch/sign-in").get_data(as_text=True)
    finally:
        app.config["TAXVAN"] = before


# --- who can lock whom out ----------------------------------------------------------------------


def test_an_attacker_from_other_addresses_cannot_lock_the_owner_out(limited_console):  # noqa: F811
    """The limits: 3 failures a minute per name and address, 5 per address."""
    app = limited_console
    for i in range(6):  # six addresses, each guessing ann's password until refused
        attacker = _from(app, f"203.0.113.{i}")
        codes = [sign_in(attacker, "ann", f"guess {n}!").status_code for n in range(4)]
        assert codes == [200, 200, 200, 429], i
    owner = _from(app, "10.1.1.1")
    assert sign_in(owner, "ann").status_code == 302, "the owner gets in from their address"
    assert owner.get(HOME).status_code == 200


def test_one_address_cannot_guess_many_names(limited_console):  # noqa: F811
    app = limited_console
    attacker = _from(app, "203.0.113.50")
    codes = [sign_in(attacker, name, "guess!guess!").status_code for name in ("ann", "bo", "root")]
    codes += [sign_in(attacker, f"x{i}", "guess!guess!").status_code for i in range(3)]
    assert codes == [200] * 5 + [429], "the address's own budget, whatever the names"
    assert sign_in(attacker, "root").status_code == 429
    assert sign_in(_from(app, "10.1.1.1"), "root").status_code == 302, "others are not held up"


# --- in the browser -----------------------------------------------------------------------------


def test_the_password_page_in_the_browser(console_url, laptop_page):  # noqa: F811
    from tests.conftest import sign_in_page
    from tests.web.views.test_accessibility import axe_violations

    page = laptop_page
    sign_in_page(page, console_url, "ann", PASSWORD)
    page.get_by_role("link", name="密码", exact=True).click()
    page.wait_for_selector("form.sign-in")
    assert page.locator("h1").inner_text() == "修改密码"
    page.get_by_label("当前密码").fill("not my password")
    page.get_by_label("新密码", exact=True).fill("short")
    page.get_by_label("再次输入新密码").fill("shorter")
    page.get_by_role("button", name="保存新密码").click()
    page.wait_for_selector(".error-summary")
    summary = page.locator(".error-summary").inner_text()
    assert "当前密码不正确" in summary and "两次输入的新密码不一致" in summary
    assert axe_violations(page) == [], "the password page with its errors"
    page.get_by_label("当前密码").fill(PASSWORD)
    page.get_by_label("新密码", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("再次输入新密码").fill(NEW_PASSWORD)
    page.get_by_role("button", name="保存新密码").click()
    page.wait_for_selector(".notice.ok")
    assert "密码已修改" in page.locator(".notice.ok").inner_text()
    assert axe_violations(page) == []
