import threading

import pytest
from stdnum.cn import uscc
from werkzeug.serving import make_server

from tests.conftest import VALID_USCC, open_visit, service_row
from web.db.models import VisitRow
from web.extensions import db
from web.operations import booking as svc

PHONE = "13800138000"


def _ids(n: int, prefix: str = "92370704AB") -> list[str]:
    heads = [f"{prefix}{i:07d}" for i in range(n)]
    return [h + uscc.calc_check_digit(h) for h in heads]


def test_api_lists_stops_visits_and_slots(app, client):
    stops = client.get("/api/v1/stops").get_json()
    assert len(stops) >= 40 and {"id", "name", "street", "lat", "lon"} <= set(stops[0])
    visits = client.get("/api/v1/visits?week=2026-W49").get_json()
    assert visits and visits[0]["date"].startswith("2026-1")
    slots = client.get(f"/api/v1/visits/{visits[0]['id']}/slots").get_json()
    assert set(slots["slots"]) >= {"consult", "invoice_sale"}


def test_api_booking_lifecycle(app, client):
    visit_id, start = open_visit(app)
    resp = client.post(
        "/api/v1/bookings",
        json={
            "visit_id": visit_id,
            "start": start,
            "service": "consult",
            "taxpayer_id": VALID_USCC,
            "name": "张三",
            "phone": PHONE,
        },
    )
    assert resp.status_code == 201, resp.get_json()
    code = resp.get_json()["code"]
    assert resp.get_json()["materials_zh"]
    assert client.get(f"/api/v1/bookings/{code}?phone=13900000000").status_code == 404
    got = client.get(f"/api/v1/bookings/{code}?phone={PHONE}").get_json()
    assert got["status"] == "active" and "taxpayer_id" not in got
    assert client.delete(f"/api/v1/bookings/{code}?phone={PHONE}").get_json()["status"] == (
        "cancelled"
    )
    assert client.delete(f"/api/v1/bookings/{code}?phone={PHONE}").status_code == 409


def test_api_reports_every_bad_field(app, client):
    resp = client.post(
        "/api/v1/bookings",
        json={
            "visit_id": "x",
            "start": "9am",
            "service": "tea",
            "taxpayer_id": "123",
            "name": "",
            "phone": "abc",
        },
    )
    assert resp.status_code == 422
    errors = resp.get_json()["errors"]
    assert set(errors) == {"visit_id", "start", "service", "taxpayer_id", "name", "phone"}
    bad = client.post("/api/v1/bookings", data="not json", content_type="application/json")
    assert bad.status_code == 422 and bad.is_json


def test_api_errors_are_json_never_html(client):
    for resp in (
        client.get("/api/v1/visits?week=soon"),
        client.get("/api/v1/nothing"),
        client.get("/api/v1/visits/999999/slots"),
        client.put("/api/v1/stops"),
    ):
        assert resp.is_json and "message" in resp.get_json()
        assert resp.status_code in (404, 405, 422)


def test_openapi_document_names_every_route(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    assert {
        "/api/v1/stops",
        "/api/v1/visits",
        "/api/v1/visits/{visit_id}/slots",
        "/api/v1/bookings",
        "/api/v1/bookings/{code}",
    } <= set(doc["paths"])


def _race(app, clients: int = 6) -> list[int]:
    """Fill a start time until one place is left, then let `clients` take it at once."""
    import json
    import urllib.error
    import urllib.request

    visit_id, start = open_visit(app)
    ids = _ids(40)
    with app.app_context():
        visit = db.session.get(VisitRow, visit_id)
        consult = service_row("consult")
        k = 0
        while next(s.free for s in svc.open_slots(visit, consult) if s.start == start) > 1:
            svc.book(svc.BookingRequest(visit_id, start, "consult", ids[k], "x", PHONE))
            k += 1
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/api/v1/bookings"
    barrier = threading.Barrier(clients)
    codes: list[int] = []
    refusals: list[dict] = []

    def attempt(i: int) -> None:
        body = json.dumps(
            {
                "visit_id": visit_id,
                "start": start,
                "service": "consult",
                "taxpayer_id": ids[20 + i],
                "name": "y",
                "phone": PHONE,
            }
        ).encode()
        req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
        barrier.wait()
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                codes.append(resp.status)
        except urllib.error.HTTPError as err:
            codes.append(err.code)
            refusals.append(json.load(err))
            err.close()

    workers = [threading.Thread(target=attempt, args=(i,)) for i in range(clients)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    server.shutdown()
    server.server_close()
    for body in refusals:
        assert body["message"] == "this time is no longer available"
        assert body["alternatives"] and start not in body["alternatives"]
    return sorted(codes)


def test_last_place_race_gives_one_booking_and_clear_refusals(app):
    """Six real HTTP clients at once for the last place, on SQLite and on PostgreSQL."""
    codes = _race(app)
    assert codes.count(201) == 1 and codes.count(409) == len(codes) - 1, codes


@pytest.mark.parametrize("storage", ["memory://", "redis://127.0.0.1:6379/0"])
def test_booking_requests_are_rate_limited_per_address(sqlite_template, tmp_path, storage):
    """Three booking requests a minute are allowed here; the fourth gets a clear 429."""
    import shutil
    import uuid

    from tests.conftest import _dispose, _web_config
    from web import create_app
    from web.extensions import limiter

    prefix = uuid.uuid4().hex
    shutil.copy(sqlite_template, tmp_path / "db.sqlite")
    app = create_app(
        {
            **_web_config(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path),
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_STORAGE_URI": storage,
            "RATELIMIT_KEY_PREFIX": prefix,
            "TAXVAN_BOOKING_RATE": "3 per minute",
        }
    )
    try:
        client = app.test_client()
        codes = [client.post("/api/v1/bookings", json={}).status_code for _ in range(5)]
        assert codes == [422, 422, 422, 429, 429]
        page = client.post("/api/v1/bookings", json={})
        assert page.is_json and "请求过于频繁" in page.get_json()["message"]
        other = client.post("/api/v1/bookings", json={}, environ_base={"REMOTE_ADDR": "10.9.9.9"})
        assert other.status_code == 422
    finally:
        # The limiter is one object shared by every app: switch it off again for later tests,
        # and leave nothing behind in the machine's Redis.
        limiter.enabled = False
        if storage.startswith("redis"):
            import redis

            r = redis.Redis.from_url(storage)
            for key in r.scan_iter(f"{prefix}*"):
                r.delete(key)
        _dispose(app)
