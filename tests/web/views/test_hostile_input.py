"""Hostile and malformed input: each gets a 4xx naming the field, never a 500, nothing saved.

Run on SQLite and PostgreSQL (the `app` fixture), since the two databases fail differently
on what reaches them (PostgreSQL refuses NUL in text and ids beyond its `integer`).
"""

from __future__ import annotations

import io
import json
import re

import pytest

from tests.conftest import VALID_USCC, open_visit, serving
from web.db.models import Booking
from web.extensions import db

PHONE = "13800138000"
TOO_BIG_IDS = [2**31, 2**63, 10**30]


def _bookings(app) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(Booking))


def _body(app, **overrides) -> dict:
    visit_id, start = open_visit(app)
    return {
        "visit_id": visit_id,
        "start": start,
        "service": "consult",
        "taxpayer_id": VALID_USCC,
        "name": "张三",
        "phone": PHONE,
        **overrides,
    }


def _csrf(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def _names_fields(resp, *fields: str) -> bool:
    """The error page says, in the page's language, which fields cannot be taken."""
    return f"以下字段的内容无法接受：{', '.join(fields)}。" in resp.get_data(as_text=True)


def _book_form(client, visit_id: int, start: str, **fields):
    path = f"/d/fangzi/visits/{visit_id}/book?service=consult"
    data = {
        "csrf_token": _csrf(client, path),
        "service": "consult",
        "start": start,
        "taxpayer_id": VALID_USCC,
        "name": "王五",
        "phone": PHONE,
        **fields,
    }
    return client.post(path, data=data)


# --- ids beyond what the database holds ------------------------------------------------


@pytest.mark.parametrize("big", TOO_BIG_IDS)
def test_too_big_visit_id_in_a_url_is_not_found(app, client, big):
    api = client.get(f"/api/v1/visits/{big}/slots")
    assert api.status_code == 404 and api.is_json
    assert client.get(f"/d/fangzi/visits/{big}/book").status_code == 404
    assert client.post(f"/d/fangzi/visits/{big}/book", data={"name": "x"}).status_code == 404


def test_largest_and_smallest_ids_still_reach_the_view(app, client):
    """The bound is PostgreSQL's integer: 2**31 - 1 is looked up (and is simply not there)."""
    resp = client.get(f"/api/v1/visits/{2**31 - 1}/slots")
    assert resp.status_code == 404 and resp.get_json()["errors"] == {"visit_id": "no such visit"}
    assert client.get("/api/v1/visits/0/slots").status_code == 404


@pytest.mark.parametrize("big", TOO_BIG_IDS)
def test_too_big_visit_id_in_json_names_the_field(app, client, big):
    resp = client.post("/api/v1/bookings", json=_body(app, visit_id=big))
    assert resp.status_code == 422
    assert set(resp.get_json()["errors"]) == {"visit_id"}
    assert _bookings(app) == 0


def test_move_to_an_impossible_visit_names_the_field(app, client):
    visit_id, start = open_visit(app)
    page = client.get(_book_form(client, visit_id, start).headers["Location"])
    code = re.search(r'<dd class="code">(\w+)</dd>', page.get_data(as_text=True)).group(1)
    token = _csrf(client, "/d/fangzi/booking/lookup")
    for target in (f"{2**31}|{start}", f"{2**63}|{start}", "abc|09:00", "7|nine"):
        resp = client.post(
            "/d/fangzi/booking/reschedule",
            data={"csrf_token": token, "code": code, "phone": PHONE, "target": target},
        )
        assert resp.status_code == 422, target
        assert "新的时间不在可选范围内" in resp.get_data(as_text=True), target
    with app.app_context():
        assert db.session.scalar(db.select(Booking.status).where(Booking.code == code)) == (
            "active"
        )


# --- text no database can store -------------------------------------------------------


def test_nul_in_query_parameters_names_the_parameter(app, client):
    api = client.get("/api/v1/bookings/ABCDEFGH?phone=1380013%008000")
    assert api.status_code == 400 and api.get_json()["errors"] == {
        "phone": "contains a NUL character"
    }
    visits = client.get("/api/v1/visits?week=2026-W49%00")
    assert visits.status_code == 400 and set(visits.get_json()["errors"]) == {"week"}
    home = client.get("/d/fangzi/?week=2026-W49%00")
    assert home.status_code == 400 and _names_fields(home, "week")
    slots = client.get(f"/d/fangzi/visits/{open_visit(app)[0]}/book?service=consult%00")
    assert slots.status_code == 400 and _names_fields(slots, "service")


def test_nul_in_a_path_names_the_part(app, client):
    for path, part in [
        ("/d/fangzi/stops/T%00", "stop_id"),
        ("/d/fangzi/stops/T%00/poster", "stop_id"),
        ("/d/fangzi/open-data/2026-W49%00.csv", "week"),
        ("/d/fangzi/map/2026-W49%00", "week"),
    ]:
        resp = client.get(path)
        assert resp.status_code == 400 and _names_fields(resp, part), path
    api = client.get("/api/v1/bookings/ABC%00DEFG?phone=13800138000")
    assert api.status_code == 400 and set(api.get_json()["errors"]) == {"code"}


def test_nul_in_a_form_field_names_the_field_and_saves_nothing(app, client):
    visit_id, start = open_visit(app)
    resp = _book_form(client, visit_id, start, name="王\x00五")
    assert resp.status_code == 400 and _names_fields(resp, "name")
    token = _csrf(client, "/d/fangzi/booking/lookup")
    lookup = client.post(
        "/d/fangzi/booking/lookup",
        data={"csrf_token": token, "code": "ABC\x00DEFG", "phone": PHONE},
    )
    assert lookup.status_code == 400 and _names_fields(lookup, "code")
    assert _bookings(app) == 0


def test_control_character_in_the_form_name_is_a_field_error(app, client):
    visit_id, start = open_visit(app)
    resp = _book_form(client, visit_id, start, name="王\x1b五")
    assert resp.status_code == 422
    assert "只能使用文字、数字和标点" in resp.get_data(as_text=True)
    assert _bookings(app) == 0


@pytest.mark.parametrize("name", ["\\ud800", "张\\udfff三", "\\u0000", "a\\u0007b"])
def test_unstorable_name_in_json_names_the_field(app, client, name):
    body = json.dumps(_body(app, name="PLACEHOLDER")).replace("PLACEHOLDER", name)
    resp = client.post("/api/v1/bookings", data=body, content_type="application/json")
    assert resp.status_code == 422
    assert set(resp.get_json()["errors"]) == {"name"}
    assert _bookings(app) == 0


# --- JSON values of the wrong type ------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", None),
        ("name", 42),
        ("name", ["张三"]),
        ("visit_id", True),
        ("visit_id", False),
        ("visit_id", 1.0),
        ("visit_id", "1"),
        ("visit_id", None),
        ("start", 540),
        ("service", {"code": "consult"}),
        ("taxpayer_id", 91370704),
        ("phone", 13800138000),
    ],
)
def test_json_values_must_have_their_type(app, client, field, value):
    resp = client.post("/api/v1/bookings", json=_body(app, **{field: value}))
    assert resp.status_code == 422, resp.get_json()
    errors = resp.get_json()["errors"]
    assert set(errors) == {field} and errors[field].startswith("expected")
    assert _bookings(app) == 0


@pytest.mark.parametrize("service", ["tea", "", "x" * 41])
def test_an_unknown_service_is_named_alone_or_with_others(app, client, service):
    alone = client.post("/api/v1/bookings", json=_body(app, service=service))
    assert alone.status_code == 422 and set(alone.get_json()["errors"]) == {"service"}
    both = client.post("/api/v1/bookings", json=_body(app, service=service, name=None))
    assert both.status_code == 422 and set(both.get_json()["errors"]) == {"service", "name"}
    assert _bookings(app) == 0


def test_missing_json_fields_are_each_named(app, client):
    resp = client.post("/api/v1/bookings", json={"name": "张三"})
    assert resp.status_code == 422
    errors = resp.get_json()["errors"]
    assert errors == {
        k: "required" for k in ("visit_id", "start", "service", "taxpayer_id", "phone")
    }


@pytest.mark.parametrize("body", [[], "text", 1, None])
def test_json_body_must_be_an_object(app, client, body):
    resp = client.post("/api/v1/bookings", json=body)
    assert resp.status_code == 422 and set(resp.get_json()["errors"]) == {"body"}


def test_deeply_nested_json_is_refused(app, client):
    small = "[" * 5_000 + "]" * 5_000  # under the size limit, too deep for the parser
    resp = client.post("/api/v1/bookings", data=small, content_type="application/json")
    assert resp.status_code == 422
    assert resp.get_json()["errors"] == {"body": "the JSON nests too deeply"}
    huge = "[" * 100_000 + "]" * 100_000
    resp = client.post("/api/v1/bookings", data=huge, content_type="application/json")
    assert resp.status_code == 413 and resp.is_json


def test_a_week_past_the_calendar_names_the_week(app, client):
    for week in ("9999-W52", "0000-W01", "2026-W54"):
        resp = client.get(f"/api/v1/visits?week={week}")
        assert resp.status_code == 422, week
        assert set(resp.get_json()["errors"]) == {"week"}
    assert client.get("/d/fangzi/?week=9999-W52").status_code == 200


# --- request size ---------------------------------------------------------------------


class _CountingStream(io.RawIOBase):
    """A request body of `size` bytes of JSON that counts how much of it the app reads."""

    def __init__(self, size: int) -> None:
        self.size, self.pos, self.read_bytes = size, 0, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self.pos = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence] + offset
        return self.pos

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        n = max(0, min(len(buffer), self.size - self.pos))
        buffer[:n] = b" " * n
        self.pos += n
        self.read_bytes += n
        return n


def test_a_20_mb_json_body_is_refused_unread(app, client):
    stream = _CountingStream(20 * 1024 * 1024)
    resp = client.post(
        "/api/v1/bookings",
        input_stream=stream,
        content_length=stream.size,
        content_type="application/json",
    )
    assert resp.status_code == 413 and resp.is_json
    assert resp.get_json()["message"] == "请求过大（最多 16 KB）。"
    assert stream.read_bytes == 0


def test_a_form_larger_than_the_request_limit_is_refused(app, client):
    visit_id, start = open_visit(app)
    limit = app.config["MAX_CONTENT_LENGTH"]
    assert limit and limit <= 1024 * 1024
    resp = _book_form(client, visit_id, start, name="王" * limit)
    assert resp.status_code == 413
    assert f"请求过大（最多 {limit // 1024} KB）。" in resp.get_data(as_text=True)
    assert _bookings(app) == 0


def test_an_api_body_over_its_limit_is_refused(app, client):
    resp = client.post("/api/v1/bookings", json=_body(app, name="张" * 20_000))
    assert resp.status_code == 413 and resp.is_json
    assert _bookings(app) == 0


# --- errors keep their headers --------------------------------------------------------


def test_method_not_allowed_keeps_its_allow_header(app, client):
    api = client.put("/api/v1/stops")
    assert api.status_code == 405 and api.is_json
    assert set(api.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "HEAD", "OPTIONS"}
    page = client.delete("/d/fangzi/booking/lookup")
    assert page.status_code == 405
    assert "POST" in page.headers["Allow"] and "GET" in page.headers["Allow"]


def test_a_well_formed_booking_still_succeeds(app, client):
    """The guards let ordinary input through, on both databases."""
    resp = client.post("/api/v1/bookings", json=_body(app, name="  Zhang San, 张三  "))
    assert resp.status_code == 201, resp.get_json()
    assert _bookings(app) == 1


# --- bodies sent without a length (chunked) ---------------------------------------------


def _send_chunked(base: str, path: str, content_type: str, chunks) -> tuple[int, str]:
    """POST a body in chunks, with no Content-Length, as a streaming client does."""
    import http.client
    from urllib.parse import urlsplit

    url = urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    try:
        conn.request(
            "POST", path, body=chunks, headers={"Content-Type": content_type}, encode_chunked=True
        )
        resp = conn.getresponse()
        return resp.status, resp.read().decode("utf-8", "replace")
    except (BrokenPipeError, ConnectionResetError):  # refused before all of it was sent
        return 413, ""
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/api/v1/bookings", "application/json"),
        ("/d/fangzi/booking/lookup", "application/x-www-form-urlencoded"),
    ],
)
def test_a_large_chunked_body_is_refused_not_cut_short(app, path, content_type):
    """20 MB sent in chunks with no Content-Length: a 413, not the first bytes taken for the
    whole body (a JSON prefix read as the request, a generic 400 on a form)."""
    prefix = b'{"name": "' if content_type == "application/json" else b"code="
    chunks = iter([prefix, *(b"x" * 2**20 for _ in range(20))])
    with serving(app) as base:
        status, _body_text = _send_chunked(base, path, content_type, chunks)
    assert status == 413
    assert _bookings(app) == 0


def test_a_small_chunked_json_body_is_read_whole(app):
    """A streaming client that sends a valid booking in chunks is served like any other."""
    raw = json.dumps(_body(app)).encode()
    chunks = iter([raw[:10], raw[10:]])
    with serving(app) as base:
        status, text = _send_chunked(base, "/api/v1/bookings", "application/json", chunks)
    assert status == 201, text
    assert _bookings(app) == 1


# --- files where text is expected -------------------------------------------------------


def test_a_file_sent_as_a_text_field_is_refused_and_saves_nothing(app, client):
    """A public form takes no files: a file part where the name or phone belongs is a 400
    naming the field (Flask-WTF would hand the file to the text field's checks: a 500)."""
    visit_id, start = open_visit(app)
    resp = _book_form(client, visit_id, start, name=(io.BytesIO(b"x"), "x.txt"))
    assert resp.status_code == 400 and _names_fields(resp, "name")
    token = _csrf(client, "/d/fangzi/booking/lookup")
    lookup = client.post(
        "/d/fangzi/booking/lookup",
        data={"csrf_token": token, "code": (io.BytesIO(b"ABCD2345"), "code.txt"), "phone": PHONE},
    )
    assert lookup.status_code == 400 and _names_fields(lookup, "code")
    token = _csrf(client, "/d/fangzi/door-to-door")
    door = client.post(
        "/d/fangzi/door-to-door",
        data={"csrf_token": token, "firm_name": (io.BytesIO(b"x"), "firm.txt"), "people": "2"},
    )
    assert door.status_code == 400 and _names_fields(door, "firm_name")
    assert _bookings(app) == 0


@pytest.mark.parametrize(
    ("path", "reads_up_to"),
    [
        ("/api/v1/bookings", "request"),
        ("/d/fangzi/door-to-door", "request"),
        ("/dispatch/sign-in", "request"),
        ("/dispatch/districts/fangzi/import", "upload"),
    ],
)
def test_a_chunked_body_is_read_only_up_to_its_routes_limit(app, path, reads_up_to):
    """20 MB sent in chunks: outside the console only the request limit is read before the
    413 (the console's upload limit is for its imports only)."""
    from web.views.inputs import KnownLengthBodies

    class Endless(io.RawIOBase):
        taken = 0

        def read(self, n=-1):
            n = 2**20 if n is None or n < 0 else n
            Endless.taken += n
            return b"x" * n

    seen = {}

    def inner(environ, start_response):
        seen["length"] = int(environ["CONTENT_LENGTH"])
        return [b""]

    middleware = KnownLengthBodies(app)
    middleware.wsgi_app = inner
    middleware(
        {
            "PATH_INFO": path,
            "REQUEST_METHOD": "POST",
            "HTTP_TRANSFER_ENCODING": "chunked",
            "wsgi.input": Endless(),
        },
        lambda *a: None,
    )
    limit = (
        app.config["MAX_CONTENT_LENGTH"]
        if reads_up_to == "request"
        else app.config["TAXVAN"].max_upload_bytes
    )
    assert Endless.taken == seen["length"] == limit + 1


def test_a_json_body_to_a_public_form_is_refused(app, client):
    """Flask-WTF would take a JSON body as the form's fields (a number of 400 digits reached a
    range check: a 500); only the API takes JSON."""
    token = _csrf(client, "/d/fangzi/door-to-door")
    resp = client.post(
        "/d/fangzi/door-to-door",
        json={"people": 10**400, "firm_name": "x"},
        headers={"X-CSRFToken": token},
    )
    assert resp.status_code == 400 and _names_fields(resp, "body")
    visit_id, _start = open_visit(app)
    path = f"/d/fangzi/visits/{visit_id}/book?service=consult"
    token = _csrf(client, path)
    resp = client.post(path, json={"name": {"a": 1}}, headers={"X-CSRFToken": token})
    assert resp.status_code == 400 and _bookings(app) == 0
