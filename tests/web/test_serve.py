"""`python -m web.serve`: the set-up it chooses, the mistakes it refuses, and the real server
(Granian, started as scripts/demo starts it) reading bodies and logging requests as promised."""

from __future__ import annotations

import http.client
import urllib.request
from pathlib import Path

import pytest

from tests.web.views.test_security import _demo_server_command, _free_port, _serve, _stop, _wait_up
from web.serve import ServeError, default_threads, main, serve_plan

REDIS = "redis://127.0.0.1:6379/0"


def test_the_server_threads_are_split_over_the_processes_and_the_cores():
    assert [default_threads(w, cores=8) for w in (1, 2, 3, 4, 8)] == [8, 4, 3, 2, 2]
    assert [default_threads(w, cores=2) for w in (1, 2)] == [5, 4]  # 2 a core and 1, at most


def test_without_redis_one_process_serves_with_threads():
    plan = serve_plan({})
    assert (plan.host, plan.port, plan.workers) == ("127.0.0.1", 5000, 1)
    assert plan.threads == default_threads(1)
    assert plan.access_log is None


def test_with_redis_several_processes_share_the_threads():
    plan = serve_plan({"REDIS_URL": REDIS})
    assert (plan.workers, plan.threads) == (2, default_threads(2))
    three = serve_plan({"REDIS_URL": REDIS, "WEB_CONCURRENCY": "3"})
    assert (three.workers, three.threads) == (3, default_threads(3))
    asked = serve_plan({"REDIS_URL": REDIS, "TAXVAN_THREADS": "6"}, "0.0.0.0:8080", workers=4)
    assert (asked.host, asked.port, asked.workers, asked.threads) == ("0.0.0.0", 8080, 4, 6)


def test_several_processes_without_redis_are_refused():
    with pytest.raises(ServeError, match="REDIS_URL"):
        serve_plan({}, workers=2)


@pytest.mark.parametrize(
    ("env", "bind", "named"),
    [
        ({"TAXVAN_THREADS": "many"}, "127.0.0.1:5000", "TAXVAN_THREADS"),
        ({"TAXVAN_THREADS": "0"}, "127.0.0.1:5000", "TAXVAN_THREADS"),
        ({"REDIS_URL": REDIS, "WEB_CONCURRENCY": "two"}, "127.0.0.1:5000", "WEB_CONCURRENCY"),
        ({}, "5000", "--bind"),
        ({}, "127.0.0.1:http", "--bind"),
    ],
)
def test_a_bad_setting_is_named(env, bind, named):
    with pytest.raises(ServeError, match=named):
        serve_plan(env, bind)


def test_the_command_says_what_is_wrong_and_exits(monkeypatch, capsys):
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert main(["--workers", "2"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("taxvan: ") and "REDIS_URL" in err and "Traceback" not in err


def test_an_unwritable_access_log_is_refused_at_start(sqlite_template, tmp_path):
    argv = _demo_server_command(_free_port())
    proc = _serve(tmp_path, sqlite_template, {"TAXVAN_ACCESS_LOG": "/no/such/dir/access.log"}, argv)
    out = proc.communicate(timeout=60)[0]
    assert proc.returncode == 2
    assert "TAXVAN_ACCESS_LOG" in out and "/no/such/dir/access.log" in out


@pytest.mark.parametrize("log", [None, "file"])
def test_requests_are_logged_only_when_asked(sqlite_template, tmp_path, log):
    port = _free_port()
    path = tmp_path / "access.log"
    env = {"TAXVAN_ACCESS_LOG": str(path)} if log else {}
    proc = _serve(tmp_path, sqlite_template, env, _demo_server_command(port))
    try:
        _wait_up(proc, port)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/districts") as resp:
            assert resp.status == 200
    finally:
        out = _stop(proc)
    assert "/api/v1/districts" not in out
    if log:
        assert '"GET /api/v1/districts HTTP/1.1" 200' in Path(path).read_text()
    else:
        assert not path.exists()


def _post_chunked(port: int, chunks) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(
            "POST",
            "/api/v1/bookings",
            body=chunks,
            headers={"Content-Type": "application/json"},
            encode_chunked=True,
        )
        resp = conn.getresponse()
        resp.read()
        return resp.status
    except (BrokenPipeError, ConnectionResetError):  # refused before all of it was sent
        return 413
    finally:
        conn.close()


def test_the_server_hands_chunked_bodies_on_whole_and_refuses_large_ones(sqlite_template, tmp_path):
    """Behind the real server a body sent in chunks is read whole (an object with fields
    missing: 422, not a cut-off body's 400), and 20 MB of it is a 413."""
    port = _free_port()
    proc = _serve(tmp_path, sqlite_template, {}, _demo_server_command(port))
    try:
        _wait_up(proc, port)
        assert _post_chunked(port, iter([b'{"na', b'me": "x"}'])) == 422
        assert _post_chunked(port, iter([b'{"name": "', *(b"x" * 2**20 for _ in range(20))])) == 413
        # a reset connection counts as the refusal only if the server is still there after it
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as resp:
            assert resp.status == 200
    finally:
        log = _stop(proc)
    assert "Traceback" not in log, log[-2000:]


def test_a_body_cut_short_of_its_length_is_refused_not_booked(
    sqlite_app, sqlite_template, tmp_path
):
    """A client that says Content-Length and stops sending before it is answered 400 and
    nothing is booked, though what arrived is a whole booking (the server hands on a short
    body without saying so)."""
    import json
    import socket
    import sqlite3

    from tests.conftest import VALID_USCC, open_visit

    visit_id, start = open_visit(sqlite_app)
    body = json.dumps(
        {
            "visit_id": visit_id,
            "start": start,
            "service": "consult",
            "taxpayer_id": VALID_USCC,
            "name": "张三",
            "phone": "13800138000",
        }
    ).encode()
    port = _free_port()
    proc = _serve(tmp_path, sqlite_template, {}, _demo_server_command(port))
    try:
        _wait_up(proc, port)
        statuses = []
        for declared in (len(body) + 10, len(body)):
            with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
                s.sendall(
                    b"POST /api/v1/bookings HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    b"Content-Type: application/json\r\nConnection: close\r\n"
                    + f"Content-Length: {declared}\r\n\r\n".encode()
                    + body
                )
                if declared > len(body):
                    s.shutdown(socket.SHUT_WR)  # no more is coming
                answer = b""
                while chunk := s.recv(65536):
                    answer += chunk
            statuses.append(int(answer.split(b" ", 2)[1]))
    finally:
        _stop(proc)
    with sqlite3.connect(tmp_path / "served.sqlite") as db:
        booked = db.execute("SELECT count(*) FROM bookings").fetchone()[0]
    assert statuses == [400, 201] and booked == 1, (statuses, booked)


def test_counting_in_memory_while_redis_is_unreachable_is_logged(sqlite_template, tmp_path):
    """Bookings go on when the rate-limit Redis is down (counted in memory, per process), and
    the server's log says so: whoever runs it must learn that the limit is not shared."""
    port = _free_port()
    env = {"REDIS_URL": "redis://127.0.0.1:1/0"}  # nothing listens on port 1
    proc = _serve(tmp_path, sqlite_template, env, _demo_server_command(port))
    try:
        _wait_up(proc, port)
        assert _post_chunked(port, iter([b"{}"])) == 422  # served, not a 500
    finally:
        log = _stop(proc)
    assert "falling back to in-memory storage" in log, log[-2000:]
