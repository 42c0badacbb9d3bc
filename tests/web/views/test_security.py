"""Abuse and headers: rate limits as the site is served, browser protections, trusted hosts.

The rate-limit tests start the server exactly as `scripts/demo` does and fire requests at it from
threads, once counting in memory and once in the machine's Redis (keys under a prefix of this
run, deleted afterwards).
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import icalendar
import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from tests.conftest import _dispose, _web_config, read_qr
from web.db.models import VisitRow
from web.extensions import db, limiter
from web.security import CSRF_HOURS

ROOT = Path(__file__).resolve().parents[3]
REDIS = "redis://127.0.0.1:6379/0"


def _stop_id(app) -> str:
    with app.app_context():
        return db.session.scalars(db.select(VisitRow).order_by(VisitRow.id)).first().stop_id


def _own_app(sqlite_template: Path, tmp_path: Path, **config):
    """An app on a copy of the demo database with settings of its own (rate limits on...)."""
    from web import create_app

    shutil.copy(sqlite_template, tmp_path / "db.sqlite")
    return create_app({**_web_config(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path), **config})


@pytest.fixture
def limited(sqlite_template, tmp_path):
    """Make an app with booking limits on; afterwards the shared limiter is switched off again
    so that later tests on other apps are not counted against this one's budget."""
    made = []

    def make(rate: str = "3 per minute", **config):
        app = _own_app(
            sqlite_template,
            tmp_path,
            **{
                "RATELIMIT_ENABLED": True,
                "RATELIMIT_STORAGE_URI": "memory://",
                "TAXVAN_BOOKING_RATE": rate,
                **config,
            },
        )
        made.append(app)
        return app

    yield make
    limiter.enabled = False
    for app in made:
        _dispose(app)


def _csrf(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


# --- item 6: one budget per client, counted once for the whole server -----------------------


def test_the_booking_endpoints_share_one_budget_per_client(limited):
    """Three booking requests a minute, however they are spread over pages and API."""
    client = limited("3 per minute").test_client()
    assert client.post("/api/v1/bookings", json={}).status_code == 422
    assert client.get("/api/v1/bookings/NOPE1234?phone=13800138000").status_code == 404
    token = _csrf(client, "/d/fangzi/booking/lookup")  # showing the form costs nothing
    form = {"csrf_token": token, "code": "NOPE1234", "phone": "13800138000"}
    assert client.post("/d/fangzi/booking/lookup", data=form).status_code == 404
    assert client.delete("/api/v1/bookings/NOPE1234?phone=13800138000").status_code == 429
    assert client.post("/d/fangzi/booking/cancel", data=form).status_code == 429


def test_a_forged_forwarded_for_is_ignored_unless_proxies_are_trusted(limited):
    client = limited("2 per minute").test_client()
    codes = [
        client.post(
            "/api/v1/bookings", json={}, headers={"X-Forwarded-For": f"10.0.0.{i}"}
        ).status_code
        for i in range(4)
    ]
    assert codes == [422, 422, 429, 429], "a fresh X-Forwarded-For must not buy a fresh budget"


def test_behind_a_trusted_proxy_each_client_has_its_own_budget(limited):
    client = limited("2 per minute", TAXVAN_PROXIES=1).test_client()

    def post(client_ip: str, forged: str = "") -> int:
        chain = f"{forged}, {client_ip}" if forged else client_ip
        return client.post(
            "/api/v1/bookings",
            json={},
            headers={"X-Forwarded-For": chain},
            environ_base={"REMOTE_ADDR": "10.1.1.1"},  # the proxy
        ).status_code

    assert [post("203.0.113.7") for _ in range(3)] == [422, 422, 429]
    assert post("198.51.100.9") == 422, "another client behind the proxy has its own budget"
    # a client cannot escape by prepending its own X-Forwarded-For: only the proxy's hop counts
    assert post("203.0.113.7", forged="192.0.2.55") == 429


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _demo_server_command(port: int) -> list[str]:
    """The server command line of scripts/demo, on another port."""
    line = next(
        ln
        for ln in (ROOT / "scripts" / "demo").read_text().splitlines()
        if ln.startswith("exec .venv/bin/python -m web.serve")
    )
    argv = shlex.split(line)[1:]
    argv[0] = sys.executable
    argv[argv.index("--bind") + 1] = f"127.0.0.1:{port}"
    return argv


def _serve(tmp_path: Path, sqlite_template: Path, env: dict[str, str], argv: list[str]):
    shutil.copy(sqlite_template, tmp_path / "served.sqlite")
    full_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TAXVAN_", "REDIS_URL"))},
        "DATABASE_URL": f"sqlite:///{tmp_path / 'served.sqlite'}",
        "TAXVAN_SECRET_KEY": "rate-limit-test",
        "TAXVAN_NOW": "2026-11-25T10:00:00",
        "TAXVAN_BOOKING_RATE": "5 per minute",
        **env,
    }
    return subprocess.Popen(
        argv,
        cwd=ROOT,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_up(proc: subprocess.Popen, port: int) -> None:
    import urllib.request

    for _ in range(300):
        if proc.poll() is not None:
            raise AssertionError(f"the server stopped: {proc.stdout.read()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the server did not start")


def _stop(proc: subprocess.Popen) -> str:
    proc.terminate()
    try:
        out, _ = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out


def _hammer(port: int, n: int = 40) -> list[int]:
    """`n` booking requests from 8 threads at once, spread over the API's booking endpoints."""
    import urllib.error
    import urllib.request

    def one(i: int) -> int:
        base = f"http://127.0.0.1:{port}/api/v1/bookings"
        req = (
            urllib.request.Request(base, data=b"{}", method="POST")
            if i % 2 == 0
            else urllib.request.Request(f"{base}/NOPE{i:04d}?phone=13800138000")
        )
        req.add_header("Content-Type", "application/json")
        req.add_header("X-Forwarded-For", f"10.0.{i}.1")  # forged: must not matter
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status
        except urllib.error.HTTPError as exc:
            return exc.code

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(n)))


@pytest.mark.parametrize("storage", ["memory", "redis"])
def test_the_served_site_enforces_the_limit_across_the_whole_server(
    sqlite_template, tmp_path, storage
):
    """5 booking requests a minute: of 40 fired at once at the demo's server, 5 pass."""
    import redis

    prefix = f"taxvan-test-{uuid.uuid4().hex}"
    env = {"TAXVAN_RATELIMIT_PREFIX": prefix}
    if storage == "redis":
        env["REDIS_URL"] = REDIS
    port = _free_port()
    proc = _serve(tmp_path, sqlite_template, env, _demo_server_command(port))
    try:
        _wait_up(proc, port)
        codes = _hammer(port)
    finally:
        log = _stop(proc)
        if storage == "redis":
            r = redis.Redis.from_url(REDIS)
            keys = list(r.scan_iter(f"*{prefix}*"))
            if keys:
                r.delete(*keys)
    passed = [c for c in codes if c != 429]
    assert len(passed) == 5, (codes, log[-2000:])
    assert set(passed) <= {404, 422}
    if storage == "redis":
        assert log.count("Spawning worker") >= 2, ("several workers", log[-2000:])
        assert keys, "the counts were kept in Redis"


def test_several_workers_without_redis_are_refused_at_start(sqlite_template, tmp_path):
    argv = [*_demo_server_command(_free_port()), "--workers", "3"]
    proc = _serve(tmp_path, sqlite_template, {}, argv)
    out = proc.communicate(timeout=60)[0]
    assert proc.returncode != 0
    assert "REDIS_URL" in out and "--workers 1" in out and "Traceback" not in out


# --- item 7: security headers, cookies, CSRF expiry ---------------------------------------------


def test_every_page_carries_the_browser_protections(app, client):
    stop = _stop_id(app)
    for path in (
        "/",
        f"/d/fangzi/stops/{stop}",
        f"/d/fangzi/stops/{stop}/poster",
        f"/d/fangzi/stops/{stop}.ics",
        "/d/fangzi/booking/lookup",
        "/api/v1/stops",
        "/no-such-page",
    ):
        resp = client.get(path)
        csp = resp.headers.get("Content-Security-Policy", "")
        assert "default-src 'self'" in csp and "script-src 'self'" in csp, path
        assert "'unsafe-inline'" not in csp, path
        assert "frame-ancestors 'none'" in csp and resp.headers["X-Frame-Options"] == "DENY", path
        assert resp.headers["X-Content-Type-Options"] == "nosniff", path
        assert resp.headers["Referrer-Policy"] == "strict-origin-when-cross-origin", path
        assert "Strict-Transport-Security" not in resp.headers, "no HSTS over plain HTTP"


def test_the_map_page_may_be_framed_by_our_pages_and_runs_only_its_own_scripts(client):
    resp = client.get("/d/fangzi/map/2026-W49")
    csp = resp.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in csp and resp.headers["X-Frame-Options"] == "SAMEORIGIN"
    scripts = re.findall(r"<script>(.*?)</script>", resp.get_data(as_text=True), re.DOTALL)
    assert scripts
    import base64

    for body in scripts:
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp
    assert "script-src 'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp


def test_over_https_hsts_and_a_secure_session_cookie(app, client):
    plain = client.get("/d/fangzi/?lang=en")
    cookie = plain.headers["Set-Cookie"]
    assert "SameSite=Lax" in cookie and "HttpOnly" in cookie and "Secure" not in cookie
    secure = client.get("/d/fangzi/?lang=en", base_url="https://taxvan.test")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")
    cookie = secure.headers["Set-Cookie"]
    assert "Secure" in cookie and "SameSite=Lax" in cookie


def test_https_is_believed_from_a_trusted_proxy_only(limited):
    app = limited("100 per minute")
    forged = app.test_client().get("/d/fangzi/", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in forged.headers
    app = limited("100 per minute", TAXVAN_PROXIES=1)
    proxied = app.test_client().get(
        "/d/fangzi/?lang=en",
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"},
    )
    assert "Strict-Transport-Security" in proxied.headers
    assert "Secure" in proxied.headers["Set-Cookie"]


def _signed_token(app, raw: str, age_s: float) -> str:
    """A CSRF token for session value `raw`, signed `age_s` seconds ago with the app's key."""

    class Past(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time() - age_s)

    return URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token", signer=Past).dumps(raw)


def test_csrf_tokens_expire_after_a_few_hours(app, client):
    raw = hashlib.sha1(b"form opened this morning").hexdigest()
    with client.session_transaction() as s:
        s["csrf_token"] = raw
    form = {"code": "NOPE1234", "phone": "13800138000"}
    fresh = client.post(
        "/d/fangzi/booking/lookup", data={**form, "csrf_token": _signed_token(app, raw, 3600)}
    )
    assert fresh.status_code == 404  # the form went through: no such booking
    stale = client.post(
        "/d/fangzi/booking/lookup",
        data={**form, "csrf_token": _signed_token(app, raw, (CSRF_HOURS + 1) * 3600)},
    )
    assert stale.status_code == 400
    assert "表单已过期" in stale.get_data(as_text=True)
    assert 2 <= CSRF_HOURS <= 8


# --- item 8: the Host header never reaches printed or shared links ---------------------------


def test_a_forged_host_is_refused_out_of_the_box(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "SERVER_NAME", None)
    stop = _stop_id(app)
    for path in (
        f"/d/fangzi/stops/{stop}.ics",
        f"/d/fangzi/stops/{stop}/poster",
        f"/d/fangzi/stops/{stop}/qr.png",
    ):
        evil = client.get(path, base_url="http://evil.example")
        assert evil.status_code == 400, path
        assert b"evil.example" not in evil.data
    local = client.get(f"/d/fangzi/stops/{stop}.ics", base_url="http://127.0.0.1:5000")
    assert local.status_code == 200
    event = next(iter(icalendar.Calendar.from_ical(local.data).walk("VEVENT")))
    assert str(event["url"]) == f"http://127.0.0.1:5000/d/fangzi/stops/{stop}"


def _qr_text(png: bytes) -> str:
    return read_qr(png)


def test_with_a_public_url_every_link_uses_it_whatever_the_host(app, client, monkeypatch):
    public = "https://van.example.gov.cn/taxvan"
    monkeypatch.setitem(app.config, "SERVER_NAME", None)
    monkeypatch.setitem(app.config, "TAXVAN_PUBLIC_URL", public)
    monkeypatch.setitem(app.config, "TRUSTED_HOSTS", None)
    stop = _stop_id(app)
    want = f"{public}/d/fangzi/stops/{stop}"
    ics = client.get(f"/d/fangzi/stops/{stop}.ics", base_url="http://evil.example")
    assert ics.status_code == 200 and b"evil.example" not in ics.data
    urls = {str(e["url"]) for e in icalendar.Calendar.from_ical(ics.data).walk("VEVENT")}
    assert urls == {want}
    png = client.get(f"/d/fangzi/stops/{stop}/qr.png", base_url="http://evil.example").data
    assert _qr_text(png) == want


def test_trusted_hosts_come_from_the_environment(sqlite_template, tmp_path, monkeypatch):
    monkeypatch.setenv("TAXVAN_TRUSTED_HOSTS", "van.example.gov.cn, .example.org")
    app = _own_app(sqlite_template, tmp_path, SERVER_NAME=None)
    client = app.test_client()
    assert client.get("/healthz", base_url="http://van.example.gov.cn").status_code == 200
    assert client.get("/healthz", base_url="http://www.example.org").status_code == 200
    assert client.get("/healthz", base_url="http://127.0.0.1:5000").status_code == 400
    assert client.get("/healthz", base_url="http://evil.example").status_code == 400
    _dispose(app)


def test_a_malformed_public_url_is_refused_at_start(sqlite_template, tmp_path, monkeypatch):
    from web.security import PublicUrlError

    monkeypatch.setenv("TAXVAN_PUBLIC_URL", "van.example.gov.cn")
    with pytest.raises(PublicUrlError) as exc:
        _own_app(sqlite_template, tmp_path)
    assert exc.value.value == "van.example.gov.cn"


# --- in the browser: the policies break nothing, and the poster's QR code is the public link ---


@pytest.fixture
def live(sqlite_app, live_url):
    return sqlite_app, live_url


def test_pages_work_in_chromium_under_their_policies(live, phone_page, tmp_path):
    """Home (with the map framed), the map, a stop, a booking page and a poster: no policy
    violation in the console, maps drawn, screenshots kept for a look."""
    app, url = live
    public = "https://van.example.gov.cn"
    app.config["TAXVAN_PUBLIC_URL"] = public
    app.config["TRUSTED_HOSTS"] = None
    page = phone_page
    page.set_viewport_size({"width": 1000, "height": 900})
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    shots = Path(os.environ.get("TAXVAN_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    stop = _stop_id(app)
    with app.app_context():
        visit = db.session.scalars(db.select(VisitRow).order_by(VisitRow.id)).first().id

    page.goto(url + "/")
    frame = page.frame_locator("iframe.map")
    frame.locator(".leaflet-marker-icon, .leaflet-interactive").first.wait_for()
    page.screenshot(path=str(shots / "home.png"))

    page.goto(url + "/d/fangzi/map/2026-W49")
    page.locator(".tv-num").first.click()  # a numbered visit: its popup opens
    page.locator(".leaflet-popup-content").wait_for()
    page.screenshot(path=str(shots / "map.png"))

    page.goto(url + f"/d/fangzi/stops/{stop}")
    page.locator("#stopmap.leaflet-container .leaflet-interactive").wait_for()
    page.screenshot(path=str(shots / "stop.png"), full_page=True)

    page.goto(url + f"/d/fangzi/visits/{visit}/book")
    page.locator("fieldset.slots").wait_for()
    page.screenshot(path=str(shots / "book.png"), full_page=True)

    page.goto(url + f"/d/fangzi/stops/{stop}/poster")
    page.locator("svg").first.wait_for()
    png = page.locator("svg").first.screenshot(path=str(shots / "poster-qr.png"))
    page.screenshot(path=str(shots / "poster.png"), full_page=True)

    violations = [m for m in console if "Content Security Policy" in m or "pageerror" in m]
    assert violations == []
    assert read_qr(png, border=40) == f"{public}/d/fangzi/stops/{stop}"


def test_bookings_go_on_when_the_rate_limit_store_is_down(limited):
    """A Redis that does not answer (nothing listens on port 1) must not turn bookings into server
    errors: the limits are counted in memory until it is back."""
    app = limited("3 per minute", RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0")
    client = app.test_client()
    codes = [client.post("/api/v1/bookings", json={}).status_code for _ in range(5)]
    assert codes == [422, 422, 422, 429, 429]


def test_workers_starting_together_share_one_complete_secret_key(tmp_path):
    """Sixteen processes' worth of starts at once: one key for all, no empty or stray files."""
    from concurrent.futures import ThreadPoolExecutor

    from web import _secret_key

    with ThreadPoolExecutor(16) as pool:
        keys = set(pool.map(lambda _: _secret_key(tmp_path), range(16)))
    assert len(keys) == 1 and len(next(iter(keys))) == 64
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]
    assert _secret_key(tmp_path) in keys  # a restart keeps it
