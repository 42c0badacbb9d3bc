"""Headers, hosts and proxies: what every response carries and which addresses the app believes.

Three rules from abuse seen in the field:

* a `Host` header chosen by the caller must never reach a printed or shared link (QR codes,
  posters, `.ics` feeds), so absolute links come from `TAXVAN_PUBLIC_URL`, and without it only
  trusted hosts are served;
* `X-Forwarded-For` is believed only from as many proxies as `TAXVAN_PROXIES` says, otherwise
  anyone could pick a fresh rate-limit budget per request;
* every response carries a Content-Security-Policy and the usual browser protections; the
  planner's map page, whose Leaflet code is inline, gets its own policy with a hash per script;
* a page or download that shows a taxpayer's name, phone or booking is never stored by a
  browser or a proxy (`Cache-Control: no-store`), decided here for whole blueprints.

A small `after_request` hook rather than flask-talisman: talisman's last release is from 2023 and
its defaults (HTTPS redirect, `Secure` session cookie) would break the out-of-the-box
http://127.0.0.1:5000; what we need is a few headers and two policies.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, request, url_for
from flask.sessions import SecureCookieSessionInterface
from werkzeug.exceptions import SecurityError
from werkzeug.middleware.proxy_fix import ProxyFix

LOCAL_HOSTS = ("localhost", "127.0.0.1")
"""Hosts served when neither TAXVAN_PUBLIC_URL nor TAXVAN_TRUSTED_HOSTS is set."""

CSRF_HOURS = 4
"""A booking form's CSRF token expires after this long (a page left open over lunch still
works; a token copied into a forged page goes stale the same afternoon)."""

NO_STORE_BLUEPRINTS = frozenset({"dispatch", "booking", "door"})
"""Pages that show taxpayers' names, phones or booking codes: the whole console (pages and
downloads), the taxpayer's booking pages (form, confirmation, look-up, move, cancel) and the
door-to-door pages. They carry `Cache-Control: no-store`, so neither a shared computer's browser
(its back button, its disk cache) nor a proxy keeps a copy."""

NO_STORE_ENDPOINTS = frozenset(
    {
        *("site.book", "site.confirmed", "site.lookup", "site.cancel", "site.reschedule"),
        *("api.create_booking", "api.get_booking", "api.delete_booking"),
    }
)
"""The booking URLs without a district (they lead to the district's own) and the API's answers
that show a booking; the timetable's pages, files and answers may be cached."""

HSTS = "max-age=31536000"
REFERRER_POLICY = "strict-origin-when-cross-origin"
"""Other sites (the tile server) see only our origin, never a path such as a booking code; OSM's
tile policy asks for a referrer, so `no-referrer` would get the tiles refused."""


class PublicUrlError(ValueError):
    """TAXVAN_PUBLIC_URL is not an absolute http(s) address."""

    def __init__(self, value: str) -> None:
        super().__init__(
            f"TAXVAN_PUBLIC_URL must be an absolute http:// or https:// address, not {value!r}"
        )
        self.value = value


def parse_public_url(value: str) -> str:
    """The configured public address without a trailing slash ('' when unset)."""
    value = value.strip()
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise PublicUrlError(value)
    return value.rstrip("/")


def trusted_hosts(public_url: str, listed: str, server_name: str | None) -> list[str] | None:
    """Flask's TRUSTED_HOSTS: the listed hosts; none needed once links use the public address;
    else the local names (and SERVER_NAME), so a forged Host is refused with 400."""
    if listed.strip():
        return [h.strip() for h in listed.split(",") if h.strip()]
    if public_url:
        return None
    hosts = list(LOCAL_HOSTS)
    if server_name:
        hosts.append(server_name.partition(":")[0])
    return hosts


def public_url_for(endpoint: str, **values: Any) -> str:
    """An absolute link to `endpoint` for QR codes, posters and feeds.

    From TAXVAN_PUBLIC_URL when set; otherwise from the request's host, which `TRUSTED_HOSTS`
    has already checked. The public address may carry a path (a site served under a prefix).
    """
    base = current_app.config.get("TAXVAN_PUBLIC_URL", "")
    if not base:
        return url_for(endpoint, _external=True, **values)
    path = url_for(endpoint, **values)
    root = request.script_root if request else ""
    if root and path.startswith(root):
        path = path[len(root) :]
    return base + path


def _is_https() -> bool:
    return request.is_secure or current_app.config.get("TAXVAN_PUBLIC_URL", "").startswith(
        "https://"
    )


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, whose cookie is `Secure` whenever the site is on HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or (bool(request) and _is_https())


def _tile_sources(urls: list[str]) -> list[str]:
    """CSP sources for tile URL templates: `https://t{s}.x.cn/...` becomes `https://*.x.cn`."""
    out: list[str] = []
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            continue
        host = parts.netloc
        if "{" in host:
            host = "*." + host.split(".", 1)[1] if "." in host else ""
        if host and "{" not in host:
            source = f"{parts.scheme}://{host}"
            if source not in out:
                out.append(source)
    return out


def site_policy() -> str:
    """The Content-Security-Policy of the site's own pages: nothing inline, only our files, tiles
    from the configured tile server, and no framing by anyone."""
    cfg = current_app.config["TAXVAN"]
    return _site_policy(cfg.tiles, cfg.tile_url, cfg.tile_key)


@functools.lru_cache(maxsize=8)  # every response carries it; the tile settings rarely change
def _site_policy(tiles_name: str, tile_url: str, tile_key: str) -> str:
    from web.adapters.maps import tile_source

    try:
        tiles = tile_source(tiles_name, tile_url or None, tile_key or None).url
    except ValueError:
        tiles = None
    img = " ".join(["'self'", "data:", *_tile_sources([tiles] if tiles else [])])
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        f"img-src {img}; connect-src 'self'; frame-src 'self'; object-src 'none'; "
        "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )


_SCRIPT = re.compile(r"<script(?:\s[^>]*)?>(.*?)</script>", re.DOTALL | re.IGNORECASE)
_TILE_URL = re.compile(r"L\.tileLayer\(\s*\"([^\"]+)\"")


@functools.lru_cache(maxsize=8)  # the same published map is served again and again
def map_policy(html: str) -> str:
    """The map page's own policy: its inline scripts allowed by their SHA-256 hashes (anything
    injected through a popup is not), inline styles (Leaflet and Folium set them), tiles from the
    hosts its tile layers name, and framing only by our own pages (the home page)."""
    hashes = sorted(
        {
            "'sha256-"
            + base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode("ascii")
            + "'"
            for body in _SCRIPT.findall(html)
        }
    )
    img = " ".join(["'self'", "data:", *_tile_sources(_TILE_URL.findall(html))])
    scripts = " ".join(hashes) or "'none'"
    return (
        f"default-src 'none'; script-src {scripts}; "
        f"style-src 'unsafe-inline'; img-src {img}; object-src 'none'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'self'"
    )


def _headers(response: Response) -> Response:
    """Browser protections on every response; a view that set its own CSP keeps it."""
    h = response.headers
    framed = "frame-ancestors 'self'" in h.get("Content-Security-Policy", "")
    h.setdefault("Content-Security-Policy", site_policy())
    h.setdefault("X-Frame-Options", "SAMEORIGIN" if framed else "DENY")
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("Referrer-Policy", REFERRER_POLICY)
    if _is_https():
        h.setdefault("Strict-Transport-Security", HSTS)
    if request.blueprint in NO_STORE_BLUEPRINTS or request.endpoint in NO_STORE_ENDPOINTS:
        h["Cache-Control"] = "no-store"
    return response


def install(app: Flask) -> None:
    """Attach proxies, hosts, the session cookie, CSRF expiry and the headers to `app`."""
    public = parse_public_url(app.config.get("TAXVAN_PUBLIC_URL", ""))
    app.config["TAXVAN_PUBLIC_URL"] = public
    if app.config["TRUSTED_HOSTS"] is None:
        app.config["TRUSTED_HOSTS"] = trusted_hosts(
            public, app.config.get("TAXVAN_TRUSTED_HOSTS", ""), app.config.get("SERVER_NAME")
        )
    proxies = int(app.config.get("TAXVAN_PROXIES", 0))
    if proxies > 0:
        # Only the last `proxies` hops are believed: the client's address, scheme and host as the
        # proxies in front of us saw them. Without it a forged X-Forwarded-For changes nothing.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies
        )
    app.config["SESSION_COOKIE_SAMESITE"] = app.config["SESSION_COOKIE_SAMESITE"] or "Lax"
    app.session_interface = SessionInterface()
    app.register_error_handler(SecurityError, _untrusted_host)
    app.after_request(_headers)


def _untrusted_host(exc: SecurityError) -> tuple[str, int, dict[str, str]]:
    """A Host outside TRUSTED_HOSTS: a plain 400 (no page template, since no URL can be built
    for an unknown host), without repeating the host back."""
    return (
        "400 Bad Request: this site is not served under the host name you used.\n",
        400,
        {"Content-Type": "text/plain; charset=utf-8"},
    )
