"""Every page, public and console, in Chinese and in English, clean by two outside checkers:

- the Nu HTML Checker (vnu, offline: Java and the `vnu-jar` npm package, which `scripts/test`
  installs into `.venv/vnu`): any error fails;
- axe-core (bundled by `axe-playwright-python`) in headless Chromium, frames included, with the
  rule sets in `AXE_TAGS` (WCAG 2.0, 2.1 and 2.2 at levels A and AA): any violation of impact
  `serious` or `critical` fails, and on the public pages a violation of any impact.

The pages come from the app's URL map: each GET rule is walked, or listed in `EXCLUDED` with the
reason. The URLs' parts come from the demo data and from what the `site` fixture adds (a second
published district, a booking, a door-to-door request, a finished plan job and its draft). The
site is walked once for the module, in one browser, and all pages go to one vnu run.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import (
    OTHER_USCC,
    VALID_USCC,
    _dispose,
    _sqlite_app,
    open_visit,
    service_row,
    serving,
)
from web.db.models import Draft, PublishedWeek, VisitRow
from web.extensions import db

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
"""axe-core's rule sets run on every page: WCAG 2.0, 2.1 and 2.2, levels A and AA."""

FAILING_IMPACTS = {"serious", "critical"}
"""The impacts that fail a console page. A public page, read by everyone, fails on a violation
of any impact (as the public pages' own axe tests asked before this walk)."""

MAP_PIN = ".leaflet-marker-icon"
"""A stop's pin on a map. Pins sit where the stops are, so two near stops' pins come closer
than 24 px: WCAG 2.5.8's "Essential" exception (its Understanding document names map pins),
and the stops are also listed beside the map and reached by the keyboard. axe's `target-size`
findings on pins are left out; `test_every_map_pin_is_24_px_or_more` checks their size."""

WEEK = "2026-W49"
PASSWORD = "correct horse battery"

EXCLUDED = {
    "static": "files (scripts, styles, images), not pages",
    "site.favicon": "an icon, not a page",
    "healthz": "a health check for the load balancer, not a page",
    "api.districts": "JSON for programs (its schema is tested in test_api_schema)",
    "api.stops": "JSON for programs",
    "api.visits": "JSON for programs",
    "api.slots": "JSON for programs",
    "api.get_booking": "JSON for programs",
    "api.openapi": "the API's JSON description",
    "dispatch.district_json": "JSON for the console's scripts",
    "dispatch.plan_job_json": "JSON for the console's scripts",
    "dispatch.record_token": "JSON for the crew's phone (a CSRF token)",
    "dispatch.manifest": "the crew's web app manifest (JSON)",
    "dispatch.service_worker": "the crew's service worker (a script)",
    "public.open_data_csv": "a download (CSV)",
    "public.open_data_json": "a download (JSON)",
    "public.open_data_cancelled_csv": "a download (CSV)",
    "site.robots": "a text file for crawlers",
    "public.open_data_package": "a download (JSON: the Frictionless data package)",
    "public.open_data_package_timetable": "a download (CSV, beside its data package)",
    "site.open_data_csv": "a redirect to the district's download",
    "site.open_data_json": "a redirect to the district's download",
    "public.stop_calendar": "a download (iCalendar)",
    "site.stop_calendar": "a redirect to the district's download",
    "public.stop_qr": "an image (PNG)",
    "site.stop_qr": "a redirect to the district's image",
    "dispatch.days_csv": "a download (CSV)",
    "dispatch.days_xlsx": "a download (Excel)",
    "dispatch.notices_csv": "a download (CSV)",
    "dispatch.notices_xlsx": "a download (Excel)",
    "dispatch.week_notices": "a download (CSV or Excel)",
    "site.stop_page": "a redirect (308) to the district's page, walked as public.stop_page",
    "site.poster": "a redirect (308) to the district's page, walked as public.poster",
    "site.book": "a redirect (308) to the district's page, walked as booking.book",
    "site.confirmed": "a redirect (308) to the district's page, walked as booking.confirmed",
    "site.week_map": "the district chooser (walked as site.index) or a redirect",
    "site.lookup": "the district chooser (walked as site.index) or a redirect",
    "booking.confirmed": "shown only to the browser that just booked: walked after booking",
    "door.sent": "shown only to the browser that just sent the request: walked after sending",
}
"""GET endpoints the walk does not open by their URL, each with the reason."""

QUERY = {"dispatch.door_plan": "?ref={reference}"}
"""The query a page needs to show itself (without it, it redirects)."""

PUBLIC_EXTRA = ["/d/fangzi/?week=" + WEEK]
"""Further states of pages reached by GET alone (the same page with other query values)."""

VNU_FALSE_POSITIVES = {
    "plus-lighter": (
        "Leaflet's CSS (inlined in the map pages) uses `mix-blend-mode: plus-lighter`, a value"
        " of CSS Compositing Level 2 that browsers support and vnu's CSS checker does not know"
    ),
}
"""vnu messages left out, each a gap in the checker, not in the page: the text they contain."""


@dataclasses.dataclass
class Site:
    url: str
    app: Any
    values: dict[str, Any]
    """A value for each part of the URLs (`code` is a district's code)."""


def _seed(app, tmp: Path) -> dict[str, Any]:
    """The console's districts and users, the county's week published, a booking (the console
    shows it), a door-to-door request, a finished plan job and its draft; the URL values."""
    from tests.web.operations.test_door import _send
    from tests.web.operations.test_plan_jobs import make_finished_job
    from tests.web.views.dispatch.test_dispatch import _make_console
    from web.commands import publish_week
    from web.operations import booking as svc

    _make_console(app, tmp)
    app.config["TAXVAN"] = dataclasses.replace(app.config["TAXVAN"], time_limit_s=1.0)
    with app.app_context():
        publish_week(WEEK, say=lambda _m: None, district_code="county")
    visit_id, start = open_visit(app)
    with app.app_context():
        svc.book(
            svc.BookingRequest(
                visit_id=visit_id,
                start=start,
                service=service_row("consult").code,
                taxpayer_id=VALID_USCC,
                name="王五",
                phone="13800138000",
            )
        )
        stop_id = db.session.get(VisitRow, visit_id).stop_id
        job_id, draft_id = make_finished_job("fangzi")
        failed_job_id = _failed_job("fangzi")
        # the draft's map: the planner's map of the week, as drafts have
        db.session.get(Draft, draft_id).map_html = db.session.scalar(
            select(PublishedWeek.map_html).order_by(PublishedWeek.id).limit(1)
        )
        from web.db.store import current_version

        saved = db.session.get(Draft, draft_id)
        saved.base_version = current_version(saved.district_id, saved.week)  # publishable
        db.session.commit()
    planned = _planned_with_adjustments(app)
    sent = _send(app, app.test_client())
    assert sent.status_code == 302, sent.get_data(as_text=True)
    reference = sent.headers["Location"].split("/")[-2]
    return {
        "district": "fangzi",
        "code": "fangzi",
        "week": WEEK,
        "version": 1,
        "stop_id": stop_id,
        "visit_id": visit_id,
        "job_id": job_id,
        "draft_id": draft_id,
        "reference": reference,
        "name": "ann",  # a dispatcher whose password the admin may reset
        "failed_job_id": failed_job_id,
        "planned": planned,
    }


def _planned_with_adjustments(app) -> str:
    """A week planned for real (a new template, 1 s) with a pin (± 15 min) and a stop's visits
    a week lowered: the draft has the planner's notes and reasons (or the job its error); the
    path of that page."""
    from tests.web.operations.test_adjust import add
    from tests.web.operations.test_plan_jobs import ended, job_id_of, plan, wait_for
    from tests.web.views.dispatch.test_dispatch import sign_in
    from web.db.models import District
    from web.db.store import current_week
    from web.operations.plan_jobs import reap

    ann = app.test_client()
    assert sign_in(ann, "ann").status_code == 302
    with app.app_context():
        d = db.session.scalar(select(District).where(District.code == "fangzi"))
        visits = sorted(current_week(WEEK, d).visits, key=lambda v: (v.date, v.start))
        first = visits[0]
        counts: dict[str, int] = {}
        for v in visits:
            counts[v.stop_id] = counts.get(v.stop_id, 0) + 1
        busiest = max(counts, key=lambda k: counts[k])
        pin = {"stop": first.stop_id, "weekday": str(first.date.weekday())}
        pin |= {"start": f"{first.start // 60:02d}:{first.start % 60:02d}", "tolerance": "15"}
    assert add(ann, "pin", **pin).status_code == 302
    assert (
        add(ann, "visits", stop=busiest, value=str(max(1, counts[busiest] - 1))).status_code == 302
    )
    job = job_id_of(plan(ann, new_template="y"))
    state = wait_for(ann, job, ended, timeout=180)
    if state["draft_id"]:
        return f"/dispatch/districts/fangzi/drafts/{state['draft_id']}"
    with app.app_context():
        from web.db.models import PlanJob

        reap(db.session.get(PlanJob, job))
    return f"/dispatch/districts/fangzi/jobs/{job}"


def _failed_job(code: str) -> int:
    """A plan job whose worker stopped (failed, as `reap` leaves it); in an app context."""
    import datetime as dt

    from web.clock import wall_now
    from web.db.models import District, PlanJob
    from web.operations.plan_jobs import reap

    district = db.session.scalar(select(District).where(District.code == code))
    old = wall_now() - dt.timedelta(hours=1)
    job = PlanJob(
        district_id=district.id,
        week=WEEK,
        options={"time_limit_s": 1, "vans": 1, "weekdays": [0, 1, 2, 3, 4]},
        status="running",
        runner="thread",
        progress=[[0.1, 10_500_000_000], [0.5, 1_900_000]],
        log=[],
        actor="ann",
        created_at=old,
        started_at=old,
        heartbeat_at=old,
    )
    db.session.add(job)
    db.session.commit()
    assert reap(job) and job.status == "failed"
    return job.id


@pytest.fixture(scope="module")
def site(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("every-page")
    app = _sqlite_app(sqlite_template, tmp)
    values = _seed(app, tmp)
    app.config["SERVER_NAME"] = None
    with serving(app) as url:
        yield Site(url, app, values)
    _dispose(app)


def _get_rules(app) -> dict[str, Any]:
    """endpoint -> rule, for every rule answering GET."""
    return {r.endpoint: r for r in app.url_map.iter_rules() if "GET" in (r.methods or ())}


def _path(site: Site, endpoint: str) -> str:
    rule = _get_rules(site.app)[endpoint]
    values = site.values
    missing = set(rule.arguments) - set(values)
    assert not missing, f"{rule.rule}: give the walk a value for {missing}"
    with site.app.test_request_context():
        from flask import url_for

        url = url_for(endpoint, **{k: v for k, v in values.items() if k in rule.arguments})
    return re.sub(r"^https?://[^/]+", "", url) + QUERY.get(endpoint, "").format(**values)


def _pages(site: Site) -> tuple[list[str], list[str]]:
    """(public paths, console paths) of every walked page; the sign-in page is walked apart."""
    public, console = [], []
    for endpoint in sorted(_get_rules(site.app)):
        if endpoint in EXCLUDED or endpoint == "dispatch.sign_in":
            continue
        (console if endpoint.startswith("dispatch.") else public).append(_path(site, endpoint))
    return public, console


def _with_lang(path: str, lang: str) -> str:
    return path + ("&" if "?" in path else "?") + "lang=" + lang


def test_every_get_page_is_walked_or_excluded_with_a_reason(site):
    rules = _get_rules(site.app)
    assert set(EXCLUDED) <= set(rules), "an exclusion names an endpoint that is gone"
    public, console = _pages(site)
    assert len(public) + len(console) + 1 + len(EXCLUDED) == len(rules)
    for must in ("/d/fangzi/", "/d/fangzi/map/2026-W49", "/d/fangzi/door-to-door"):
        assert must in public
    assert "/dispatch/users" in console and "/dispatch/districts/fangzi/disruptions" in console


@dataclasses.dataclass
class Walked:
    path: str
    lang: str
    html: str
    """The page as the server sent it (what vnu checks)."""
    axe: list[dict]
    pins: list[tuple[float, float]]
    """Width and height of each map pin on the page, frames included."""
    console: bool
    """A page of the dispatcher console (under /dispatch/)."""


def _axe(page) -> list[dict]:
    """axe-core's violations (rule sets `AXE_TAGS`) on `page` and every frame in it (the walk's
    browser loads axe into every frame as it opens)."""
    for frame in page.frames:
        frame.wait_for_load_state()
    results = page.evaluate(
        "opts => axe.run(document, opts)",
        {"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]},
    )
    return results["violations"]


class Walk:
    """One browser tab walking the site in one language, recording every page it sees."""

    def __init__(self, page, base: str, lang: str, out: list[Walked]) -> None:
        self.page, self.base, self.lang, self.out = page, base, lang, out

    def _record(self, name: str, response) -> None:
        assert response is not None, name
        assert response.headers["content-type"].startswith("text/html"), name
        self.page.wait_for_load_state("load")
        pins = [
            tuple(box)
            for frame in self.page.frames
            for box in frame.evaluate(
                "sel => [...document.querySelectorAll(sel)].map(e => {"
                " const r = e.getBoundingClientRect(); return [r.width, r.height]; })",
                MAP_PIN,
            )
        ]
        console = self.page.url.removeprefix(self.base).startswith("/dispatch/")
        self.out.append(Walked(name, self.lang, response.text(), _axe(self.page), pins, console))

    def visit(self, path: str) -> None:
        """A page by GET: it answers 200 itself, without a redirect (give the walk the URL
        parts or query that show the page)."""
        response = self.page.goto(self.base + _with_lang(path, self.lang))
        assert response is not None and response.status == 200, (path, response and response.status)
        assert response.request.redirected_from is None, f"{path} redirects to {response.url}"
        self._record(path, response)

    def error(self, path: str, status: int) -> None:
        """An error page (`status`) by GET."""
        response = self.page.goto(self.base + _with_lang(path, self.lang))
        assert response is not None and response.status == status, (path, response.status)
        self._record(f"{path} ({status})", response)

    def submit(self, name: str, button: str) -> None:
        """The page a form's `button` leads to (a POST: an error, a result)."""
        with self.page.expect_navigation() as nav:
            self.page.click(button)
        assert nav.value is not None and nav.value.status < 500, name
        self._record(f"{name} ({self.page.url.removeprefix(self.base)})", nav.value)


def _public_states(walk: Walk, site: Site) -> None:
    """Pages a visitor sees only after sending a form: errors and results."""
    v = site.values
    page = walk.page
    send = "main form[method=post] button[type=submit]"
    page.goto(f"{walk.base}/d/fangzi/visits/{v['visit_id']}/book")
    walk.submit("the booking form with its errors", send)
    page.locator("fieldset.slots input[type=radio]").first.check()
    page.fill("input[name=taxpayer_id]", OTHER_USCC)
    page.fill("input[name=name]", "王五")
    page.fill("input[name=phone]", "13800138000")
    walk.submit("a booking made", send)
    code = page.locator("dd.code").inner_text()
    page.goto(walk.base + "/d/fangzi/booking/lookup")
    walk.submit("the lookup form with its errors", send)
    page.fill("input[name=code]", code)
    page.fill("input[name=phone]", "13800138000")
    walk.submit("a booking looked up, with its forms", send)
    walk.submit("a cancel asked first", "main form[action$='/cancel'] button[type=submit]")
    walk.submit("a booking cancelled", "main form[action$='/cancel'] button.danger")
    page.goto(walk.base + "/d/fangzi/door-to-door")
    walk.submit("the door-to-door form with its errors", send)
    for name, value in (
        ("mobile", "13912345678"),
        ("firm_name", "潍坊示例机械有限公司"),
        ("credit_code", VALID_USCC),
        ("contact_name", "李四"),
        ("address", "示例工业园 3 号"),
        ("people", "3"),
    ):
        page.fill(f"input[name={name}]", value)
    page.locator("input[name=services]").first.check()
    walk.submit("a door-to-door request sent", send)
    assert page.url.split("?")[0].endswith("/sent"), page.url
    page.goto(walk.base + "/door-to-door/status")
    page.fill("input[name=reference]", v["reference"])
    page.fill("input[name=mobile]", "13912345678")
    walk.submit("a door-to-door request looked up", send)
    page.goto(walk.base + "/dispatch/sign-in")
    page.fill("input[name=name]", "root")
    page.fill("input[name=password]", "wrong")
    walk.submit("the sign-in page with its error", "main form button[type=submit]")


def _console_states(walk: Walk, site: Site) -> None:
    """Console pages reached by a chosen day or visit, and by a preview."""
    page = walk.page
    page.goto(walk.base + "/dispatch/districts/fangzi/disruptions")
    day = page.locator("a[href^='?date=']").first.get_attribute("href")
    visit = page.locator("a[href^='?visit=']").first.get_attribute("href")
    walk.visit("/dispatch/districts/fangzi/disruptions" + visit)
    walk.visit("/dispatch/districts/fangzi/disruptions" + day)
    page.locator("input[name=reason]").first.check()
    walk.submit("a disruption's preview", "form.disruption-form button[type=submit]")
    walk.visit(f"/dispatch/districts/fangzi/jobs/{site.values['failed_job_id']}")
    walk.visit(site.values["planned"])
    walk.error("/dispatch/districts/fangzi/jobs/999999", 404)
    walk.error("/dispatch/districts/nowhere", 404)
    walk.error("/d/fangzi/stops/nowhere", 404)
    walk.error("/no-such-page", 404)
    for name, body in _import_files(site).items():
        page.goto(walk.base + "/dispatch/districts/fangzi/import")
        page.set_input_files(
            "input[name=stops]",
            files=[{"name": "stops.csv", "mimeType": "text/csv", "buffer": body}],
        )
        walk.submit(name, "form.import-form button[type=submit]")


def _import_files(site: Site) -> dict[str, bytes]:
    """A stops file that renames and moves a stop (a preview of changes), and one with a bad
    latitude (a preview of errors)."""
    with site.app.app_context():
        from web.db.models import District

        folder = Path(db.session.scalar(select(District.data_dir).where(District.code == "fangzi")))
    lines = (folder / "stops.csv").read_text(encoding="utf-8-sig").splitlines()
    head, first, *rest = lines
    cells = first.split(",")
    changed = [
        *cells[:1],
        cells[1] + "新址",
        *cells[2:4],
        f"{float(cells[4]) + 0.001:.6f}",
        *cells[5:],
    ]
    bad = [*cells[:4], "35.9x", *cells[5:]]
    return {
        "an import preview": "\n".join([head, ",".join(changed), *rest]).encode(),
        "an import preview with errors": "\n".join([head, ",".join(bad), *rest]).encode(),
    }


@pytest.fixture(scope="module")
def walked(site) -> list[Walked]:
    """Every walked page in both languages, with its HTML as sent and axe's findings."""
    if shutil.which("chromium") is None:
        _missing("Debian's chromium")
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import sync_playwright

    axe_script = Axe().axe_script
    public, console = _pages(site)
    out: list[Walked] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=shutil.which("chromium"),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            for lang in ("zh", "en"):
                context = browser.new_context(viewport={"width": 360, "height": 740})
                context.add_init_script(script=axe_script)
                walk = Walk(context.new_page(), site.url, lang, out)
                for path in public + PUBLIC_EXTRA:
                    walk.visit(path)
                walk.page.set_viewport_size({"width": 1366, "height": 768})
                walk.visit("/dispatch/sign-in")
                walk.page.set_viewport_size({"width": 360, "height": 740})
                _public_states(walk, site)
                walk.page.set_viewport_size({"width": 1366, "height": 768})
                walk.page.fill("input[name=name]", "root")
                walk.page.fill("input[name=password]", PASSWORD)
                walk.page.press("input[name=password]", "Enter")
                walk.page.wait_for_selector(".console-bar")
                for path in console:
                    walk.visit(path)
                _console_states(walk, site)
                context.close()
        finally:
            browser.close()
    return out


def _missing(what: str) -> None:
    """Skip on a developer's machine without `what`; fail in CI, where scripts/test installs
    it, so a missing install step cannot pass as green."""
    message = f"needs {what} (scripts/test installs it)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def _vnu_jar() -> Path:
    jar = Path(
        os.environ.get("TAXVAN_VNU_JAR")
        or Path(sys.prefix) / "vnu" / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
    )
    if shutil.which("java") is None:
        _missing("Java")
    if not jar.is_file():
        _missing(f"the Nu HTML Checker at {jar}")
    return jar


def test_every_page_passes_the_nu_html_checker(walked, tmp_path):
    jar = _vnu_jar()
    names: dict[str, str] = {}
    for i, w in enumerate(walked):
        f = tmp_path / f"page{i:03d}.html"
        f.write_text(w.html, encoding="utf-8")
        names[f.name] = f"{w.path} ({w.lang})"
    run = subprocess.run(
        ["java", "-Xss4m", "-jar", str(jar), "--errors-only", "--format", "json", "--stdout"]
        + [str(tmp_path / name) for name in sorted(names)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.stdout.strip(), run.stderr
    messages = json.loads(run.stdout)["messages"]
    found = [
        f"{names[m.get('url', '').rsplit('/', 1)[-1]]} line {m.get('lastLine')}: {m['message']}"
        f" -- {m.get('extract', '').strip()[:120]!r}"
        for m in messages
        if m["type"] != "info" and not any(k in m["message"] for k in VNU_FALSE_POSITIVES)
    ]
    assert not found, f"{len(found)} errors:\n" + "\n".join(found)


def _is_pin(rule: str, node: dict) -> bool:
    return rule == "target-size" and MAP_PIN in str(node["target"][-1])


def test_every_page_passes_axe(walked):
    found = []
    for w in walked:
        for v in w.axe:
            nodes = [n for n in v["nodes"] if not _is_pin(v["id"], n)]
            if nodes and (not w.console or v["impact"] in FAILING_IMPACTS):
                found.append(
                    f"{w.path} ({w.lang}): {v['id']} ({v['impact']}): {v['help']} -- "
                    + "; ".join(str(n["target"]) for n in nodes[:5])
                    + (f" and {len(nodes) - 5} more" if len(nodes) > 5 else "")
                    + f" ({' '.join(nodes[0].get('failureSummary', '').split())})"
                )
    assert not found, f"{len(found)} violations:\n" + "\n".join(found)


def test_every_map_pin_is_24_px_or_more(walked):
    """WCAG 2.5.8: each pin a target of 24 x 24 px at least (the numbered stops, the hall);
    a map in a frame may lay a pin out a hair (sub-pixel) short of its size."""
    maps = [w for w in walked if w.pins]
    assert any(w.path.startswith("/d/fangzi/map/") for w in maps)
    small = [(w.path, w.lang, pin) for w in maps for pin in w.pins if min(pin) < 24 - 0.01]
    assert not small, small


def test_both_languages_are_walked(walked):
    assert {w.lang for w in walked} == {"zh", "en"}
    zh = next(w for w in walked if w.path.startswith("/dispatch/users") and w.lang == "zh")
    en = next(w for w in walked if w.path.startswith("/dispatch/users") and w.lang == "en")
    assert '<html lang="zh-CN"' in zh.html and '<html lang="en"' in en.html


# --- Chinese everywhere in the Chinese interface ------------------------------------------------

ENGLISH_ALLOWED = {
    # file formats and units
    *("CSV", "csv", "Excel", "XLSX", "xlsx", "JSON", "GeoJSON", "geojson", "PNG", "ICS", "PDF"),
    *("iCalendar", "UTF", "km", "m", "s", "min", "h", "KB", "MB", "k", "M", "G"),
    # codes and names of standards and products
    *("SMS", "API", "ID", "URL", "QR", "WGS", "GCJ", "CGCS", "HTTP", "HTTPS", "OpenAPI"),
    *("Leaflet", "OpenStreetMap", "OSM", "Tianditu", "Redis", "RQ", "YYYY", "MM", "DD", "ISO"),
    "UKey",  # the tax control device's name (税务UKey)
    "English",  # the language switch names the other language in its own words
}
"""Words in Latin letters a Chinese page may show: file formats, units, codes and names."""

SKIPPED_ELEMENTS = {"script", "style", "template", "code", "kbd", "samp"}
"""Elements whose text is not prose: scripts, styles, and codes a person types or reads back."""

TEXT_ATTRIBUTES = ("title", "alt", "aria-label", "placeholder", "aria-description")
"""Attributes read out or shown as text."""

_TOKEN_SPLIT = re.compile(r"[\s\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]+")
"""Text is cut into tokens at spaces and at Chinese characters and punctuation."""

_NOT_PROSE = re.compile(r"[/\\@]|\.[A-Za-z]")
"""A token that is a path, an address, a file name or its extension (".ics") is not prose."""

_CODE = re.compile(r"^[A-Z]{6,}$")
"""Six capitals or more: a code (a booking code), not a word."""

_WORD = re.compile(r"(?<!\w)[A-Za-z](?:[A-Za-z'’]*[A-Za-z])?(?!\w)")
"""A word in Latin letters that is not part of a code (letters beside digits: V1, 2026-W49)."""

AREAS = (
    ("/import", "import errors and preview (importzh)"),
    ("/drafts/", "draft pages and planner reasons (planzh)"),
    ("/users", "users and first run (county)"),
    ("/new-district", "users and first run (county)"),
    ("/setup", "users and first run (county)"),
    ("/admin", "users and first run (county)"),
    ("/map", "maps (maps)"),
    ("/d/", "taxpayer pages (public)"),
)
"""Who is fixing which pages (a hit there is reported with its area)."""


def _visible_text(html: str) -> list[str]:
    """The text a reader of the page sees or hears, without elements marked as English
    (`lang="en"`: a notice written to an English-speaking taxpayer) and without codes."""
    from html.parser import HTMLParser

    voids = {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
    }

    class Reader(HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.stack: list[bool] = []  # per open element: is its text skipped?
            self.out: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            a = dict(attrs)
            skipped = bool(self.stack and self.stack[-1])
            skipped = skipped or tag in SKIPPED_ELEMENTS or (a.get("lang") or "").startswith("en")
            if not skipped:
                self.out += [a[k] or "" for k in TEXT_ATTRIBUTES if a.get(k)]
                if tag == "input" and a.get("type") in ("submit", "button") and a.get("value"):
                    self.out.append(a["value"] or "")
            if tag not in voids:
                self.stack.append(skipped)

        def handle_endtag(self, tag: str) -> None:
            if tag not in voids and self.stack:
                self.stack.pop()

        def handle_data(self, data: str) -> None:
            if not (self.stack and self.stack[-1]) and data.strip():
                self.out.append(data)

    reader = Reader()
    reader.feed(html)
    return reader.out


def english_words(html: str, allowed: set[str]) -> list[tuple[str, str]]:
    """(word, the text it is in) for each English word outside `allowed` in the page's
    visible text."""
    found = []
    for text in _visible_text(html):
        flat = " ".join(text.split())
        for token in _TOKEN_SPLIT.split(flat):
            if _NOT_PROSE.search(token):
                continue
            words = _WORD.findall(token.replace("_", " "))  # snake_case keys are words too
            found += [(w, flat[:160]) for w in words if w not in allowed and not _CODE.match(w)]
    return found


def _area(path: str) -> str:
    return next((area for part, area in AREAS if part in path), "layouts, console and error pages")


def test_english_words_are_found_in_visible_text_only():
    html = (
        '<html lang="zh-CN"><head><title>预约 · Booking</title><style>p{color:red}</style></head>'
        "<body><p>时间表 <code>flask --app app worker</code> stops.csv 2026-W49 V1 A1B2C3 12 km"
        " sign-in 添加到日历（.ics） CKMXFVQZ time_limit_s</p>"
        '<p lang="en">Your visit moved</p><img alt="no room"><script>var x = "hidden";</script>'
        "<p>moved: +0 ~0</p><input type=submit value=Send></body></html>"
    )
    words = [w for w, _ in english_words(html, ENGLISH_ALLOWED)]
    assert words == ["Booking", "sign", "in", "time", "limit", "no", "room", "moved", "Send"]


def test_every_chinese_page_reads_in_chinese(walked, site):
    """Every page walked in Chinese (console and public, error states, a draft, an import
    preview with changes and with errors, a failed job) shows no English word outside
    `ENGLISH_ALLOWED` and the site's own data (district codes, user names)."""
    # the site's own data: district codes, user names, and the generated county's hall name,
    # which carries a literal <i> tag (to show names are escaped)
    allowed = ENGLISH_ALLOWED | {"fangzi", "county", "ann", "bo", "root", "nowhere", "i"}
    pages = [w for w in walked if w.lang == "zh"]
    for must in ("/drafts/", "an import preview (", "an import preview with errors", "(404)"):
        assert any(must in w.path for w in pages), f"the walk shows {must}"
    assert any(w.path.endswith(f"/jobs/{site.values['failed_job_id']}") for w in pages)
    by_area: dict[str, list[str]] = {}
    for w in pages:
        texts: dict[str, list[str]] = {}
        for word, text in english_words(w.html, allowed):
            texts.setdefault(text, []).append(word)
        by_area.setdefault(_area(w.path), []).extend(
            f"  {w.path}: {' '.join(dict.fromkeys(words))} -- in: {text}"
            for text, words in texts.items()
        )
    by_area = {area: lines for area, lines in by_area.items() if lines}
    report = "\n".join(
        f"{area} ({len(lines)}):\n" + "\n".join(sorted(set(lines)))
        for area, lines in sorted(by_area.items())
    )
    assert not by_area, f"English in the Chinese interface, by area:\n{report}"
