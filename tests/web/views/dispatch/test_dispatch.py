"""The dispatcher console, first increment: districts as records, sign-in, access, audit log.

Every test runs on SQLite and on PostgreSQL (the `app` fixture). The PostgreSQL app is shared by
the session, so the `console` fixture removes every user, audit entry and district it added (with
their rows), and gives the demo district (`fangzi`, the console's home district) back its name.
"""

from __future__ import annotations

import csv
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, update

from tests.conftest import DEMO, _dispose, _web_config
from tests.districts import make_county
from web.db.models import (
    AdjustmentRow,
    AuditEntry,
    District,
    Draft,
    Notice,
    PlanJob,
    StopRow,
    StreetRow,
    User,
)
from web.extensions import db, limiter

PASSWORD = "correct horse battery"

ADMIN_ONLY = {
    "dispatch.users",
    "dispatch.user_password",
    "dispatch.user_create",
    "dispatch.user_disable",
    "dispatch.user_enable",
    "dispatch.setup",
    "dispatch.new_district",
    "dispatch.statistics_all",
}
"""Console pages only an admin may see; every other page is a dispatcher's, of their district."""

OPEN = {"dispatch.sign_in"}
"""The only console page an anonymous visitor may see."""

NEEDS_FIELDS = {
    "dispatch.record_json",
    "dispatch.plan_start",
    "dispatch.adjustment_add",
    "dispatch.password",
    "dispatch.user_password",
    "dispatch.user_create",
    "dispatch.new_district",
}
"""Forms the walk sends without their fields (only the CSRF token): refused as incomplete."""


@dataclass
class Console:
    home: str
    """Code of the demo district (the dispatcher `ann` works there)."""
    county: str
    """Code of the second district (the dispatcher `bo` works there)."""
    county_dir: Path


def _county_folder(tmp_path: Path) -> Path:
    """The generated second district, with the demo's service catalogue."""
    folder = make_county(tmp_path / "county")
    shutil.copy(DEMO / "services.csv", folder / "services.csv")
    return folder


def _cli(app, *args: str, input: str | None = None):
    return app.test_cli_runner().invoke(args=list(args), input=input)


def _make_console(app, tmp_path: Path) -> Console:
    county = _county_folder(tmp_path)
    for args in (
        ("district", "import", "--data", str(DEMO), "--code", "fangzi", "--name", "本区"),
        ("district", "import", "--data", str(county), "--code", "county", "--name", "示例县"),
    ):
        result = _cli(app, *args)
        assert result.exit_code == 0, result.output
    for name, extra in (
        ("ann", ["--district", "fangzi"]),
        ("bo", ["--district", "county"]),
        ("root", ["--role", "admin"]),
    ):
        result = _cli(app, "user", "create", name, *extra, "--password-stdin", input=PASSWORD)
        assert result.exit_code == 0, result.output
    return Console("fangzi", "county", county)


def _clean(app) -> None:
    """Remove what the console tests added (the PostgreSQL database outlives each test): users,
    the audit log, the districts besides the demo's (with their rows), and the demo district's
    name and folder as the fixtures made them."""
    from web.db.models import (
        AppliedRecord,
        BookingOutcome,
        DoorRequest,
        DoorVisit,
        PublishedWeek,
        ServiceRow,
        VisitRecord,
        WalkIn,
    )

    with app.app_context():
        db.session.rollback()
        for model in (AppliedRecord, WalkIn, BookingOutcome, VisitRecord):
            db.session.execute(delete(model))
        db.session.execute(delete(AdjustmentRow))
        db.session.execute(delete(DoorVisit))
        db.session.execute(delete(DoorRequest))
        db.session.execute(update(PublishedWeek).values(draft_id=None))
        db.session.execute(delete(Draft))
        db.session.execute(delete(PlanJob))
        db.session.execute(delete(AuditEntry))
        db.session.execute(delete(Notice))
        db.session.execute(delete(User))
        others = select(District.id).where(District.code != DEMO.name)
        assert not db.session.scalar(
            select(PublishedWeek.id).where(PublishedWeek.district_id.in_(others))
        ), "a console test published in another district: clean its weeks too"
        for model in (StopRow, StreetRow, ServiceRow):
            db.session.execute(delete(model).where(model.district_id.in_(others)))
        db.session.execute(delete(District).where(District.code != DEMO.name))
        demo = db.session.scalar(select(District).where(District.code == DEMO.name))
        if demo is not None:
            demo.name = demo.name_en = DEMO.name
            demo.data_dir = str(DEMO.resolve())
        db.session.commit()
        db.session.remove()


@pytest.fixture
def console(app, tmp_path: Path):
    _clean(app)
    yield _make_console(app, tmp_path)
    _clean(app)


def _token(client, path: str = "/dispatch/sign-in") -> str:
    """The CSRF token of a console form (a signed-in user's sign-in page leads to their
    dashboard, whose sign-out form carries one)."""
    page = client.get(path, follow_redirects=True).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def sign_in(client, name: str, password: str = PASSWORD, **kw):
    token = _token(client)
    return client.post(
        "/dispatch/sign-in",
        data={"csrf_token": token, "name": name, "password": password},
        **kw,
    )


def _audit(app, action: str) -> list[AuditEntry]:
    with app.app_context():
        entries = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        ).all()
        for e in entries:
            db.session.expunge(e)
        return list(entries)


# --- access: walk the whole URL map ---------------------------------------------------------

SAMPLE = {
    "week": "2026-W49",
    "version": 1,
    "fmt": "csv",
    "name": "ann",
    "visit_id": 1,
    "month": "2026-12",
}
"""Values for the console URLs' other parts: the demo's published week, its first version, the
demo district's dispatcher."""


def _console_rules(app) -> list[tuple[str, str, str]]:
    """(endpoint, method, rule) for every /dispatch/ rule; signing out last."""
    out = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/dispatch/"):
            continue
        unknown = set(rule.arguments) - set(SAMPLE) - {"code", *SAMPLE_IDS}
        assert not unknown, f"{rule.rule}: give the access walk a sample value for {unknown}"
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            out.append((rule.endpoint, method, rule.rule))
    return sorted(out, key=lambda r: (r[0] == "dispatch.sign_out", r))


SAMPLE_IDS = ("job_id", "draft_id", "notice_id")
"""Ids in console URLs; the walk fills them with a job, a draft and a waiting notice of the
district it visits."""


def _sample_plan(app, code: str) -> dict[str, int]:
    """A finished plan job and its draft, and a notice in the outbox, in district `code`, for
    the walk's URLs."""
    from tests.web.operations.test_plan_jobs import make_finished_job

    with app.app_context():
        job_id, draft_id = make_finished_job(code)
    return {"job_id": job_id, "draft_id": draft_id, "notice_id": sample_notice(app, code)}


def sample_notice(app, code: str) -> int:
    """A notice waiting in district `code`'s outbox (about its first stop); its id."""
    import datetime as dt

    from taxvan.notices import NoticeData, NoticeKind
    from web.db.outbox import notify

    with app.app_context():
        d = db.session.scalar(select(District).where(District.code == code))
        stop = db.session.get(StopRow, d.rows["stops"][0])
        notify(
            NoticeKind.BOOKED,
            NoticeData(
                code="SAMPLE01",
                date=dt.date(2026, 12, 1),
                start="09:00",
                place=stop.name,
                service="咨询",
            ),
            phone="13912345678",
            lang="zh",
            key=f"sample:{code}:{uuid.uuid4().hex[:8]}",
            stop_id=stop.id,
        )
        db.session.commit()
        return db.session.scalar(select(func.max(Notice.id)))


def _request(client, app, endpoint: str, method: str, code: str, ids: dict | None = None):
    with app.test_request_context():
        from flask import url_for

        rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
        values = {**SAMPLE, "code": code, **(ids or {})}
        url = url_for(endpoint, **{k: v for k, v in values.items() if k in rule.arguments})
    url = url.replace("http://taxvan.test", "")
    if method == "GET":
        return client.get(url)
    return client.open(url, method=method, data={"csrf_token": _token(client)})


def test_every_console_url_refuses_anonymous_visitors_and_other_districts(app, console):
    rules = _console_rules(app)
    endpoints = {r[0] for r in rules}
    assert endpoints >= {
        "dispatch.index",
        "dispatch.district",
        "dispatch.district_json",
        "dispatch.users",
        "dispatch.sign_in",
        "dispatch.sign_out",
        "dispatch.plan_start",
        "dispatch.plan_job",
        "dispatch.plan_job_json",
        "dispatch.plan_cancel",
        "dispatch.plan_retry",
        "dispatch.draft",
        "dispatch.draft_map",
    }, "the walk must see the console's pages"
    ids = _sample_plan(app, console.home)
    _anonymous_visitors_are_refused(app, rules, console.home, ids)
    # a dispatcher of the county, on the demo district's URLs
    _other_districts_are_refused(app, rules, console.home, ids)
    # the district's own dispatcher and an admin get every page they may see
    for name in ("ann", "root"):
        _own_pages_are_open(app, rules, console.home, ids, name)


def _anonymous_visitors_are_refused(app, rules, home, ids):
    anonymous = app.test_client()
    for endpoint, method, rule in rules:
        if endpoint in OPEN:
            continue
        r = _request(anonymous, app, endpoint, method, home, ids)
        if rule.startswith("/dispatch/api/"):
            assert r.status_code == 401, (method, rule)
            assert r.is_json and r.get_json()["error"] == "Unauthorized"
        else:
            assert r.status_code == 302, (method, rule, r.status_code)
            assert r.headers["Location"].split("?")[0].endswith("/dispatch/sign-in"), rule


def _other_districts_are_refused(app, rules, home, ids):
    stranger = app.test_client()
    assert sign_in(stranger, "bo").status_code == 302
    for endpoint, method, rule in rules:
        if endpoint in OPEN:
            continue
        r = _request(stranger, app, endpoint, method, home, ids)
        if endpoint in ADMIN_ONLY or "<code>" in rule:
            assert r.status_code == 403, (method, rule, r.status_code)
        elif endpoint in NEEDS_FIELDS and method == "POST":
            assert r.status_code == 400, (method, rule, r.status_code)
        else:
            assert r.status_code in (200, 302), (method, rule, r.status_code)


def _own_pages_are_open(app, rules, home, ids, name):
    client = app.test_client()
    assert sign_in(client, name).status_code == 302
    for endpoint, method, rule in rules:
        if endpoint in OPEN:
            continue
        r = _request(client, app, endpoint, method, home, ids)
        if endpoint in ADMIN_ONLY and name == "ann":
            assert r.status_code == 403, (method, rule)
        elif endpoint in NEEDS_FIELDS and method == "POST":
            # only the CSRF token was sent: the form's own refusal, not an access one
            assert r.status_code == 400, (name, method, rule, r.status_code)
        else:
            # a POST with only its CSRF token may also meet a conflict (a draft already
            # published): the page's own answer, not an access refusal
            allowed = (200, 302, 409) if method == "POST" else (200, 302)
            assert r.status_code in allowed, (name, method, rule, r.status_code)


def test_a_dispatcher_lands_on_their_own_district(app, console):
    client = app.test_client()
    r = sign_in(client, "bo")
    assert r.headers["Location"].endswith("/dispatch/")
    r = client.get("/dispatch/")
    assert r.status_code == 302 and r.headers["Location"].endswith("/dispatch/districts/county")
    page = client.get("/dispatch/districts/county").get_data(as_text=True)
    assert "示例县" in page
    assert client.get("/dispatch/districts/fangzi").status_code == 403
    refused = client.get("/dispatch/api/districts/fangzi")
    assert refused.status_code == 403 and refused.get_json()["error"] == "Forbidden"
    assert client.get("/dispatch/api/districts/county").get_json()["code"] == "county"
    root = app.test_client()
    sign_in(root, "root")
    missing = root.get("/dispatch/api/districts/nowhere")
    assert missing.status_code == 404 and missing.get_json()["error"] == "Not Found"
    assert "页面不存在" in root.get("/dispatch/districts/nowhere").get_data(as_text=True)


# --- signing in -----------------------------------------------------------------------------


def test_signing_in_without_the_csrf_token_is_refused(app, console):
    client = app.test_client()
    client.get("/dispatch/sign-in")
    r = client.post("/dispatch/sign-in", data={"name": "ann", "password": PASSWORD})
    assert r.status_code == 400
    assert "表单已过期" in r.get_data(as_text=True) or "过期" in r.get_data(as_text=True)
    assert client.get("/dispatch/").status_code == 302, "no session was opened"
    assert _audit(app, "sign_in") == []


def test_signing_out_needs_the_csrf_token(app, console):
    client = app.test_client()
    sign_in(client, "ann")
    assert client.post("/dispatch/sign-out").status_code == 400
    assert client.get("/dispatch/districts/fangzi").status_code == 200, "still signed in"
    token = _token(client, "/dispatch/districts/fangzi")
    r = client.post("/dispatch/sign-out", data={"csrf_token": token})
    assert r.status_code == 302
    assert client.get("/dispatch/districts/fangzi").status_code == 302
    assert [e.actor for e in _audit(app, "sign_out")] == ["ann"]


def test_a_wrong_name_and_a_wrong_password_get_the_same_message(app, console):
    client = app.test_client()
    wrong_password = sign_in(client, "ann", "not the password")
    unknown_name = sign_in(client, "nobody-here", PASSWORD)
    for r in (wrong_password, unknown_name):
        assert r.status_code == 200
        page = r.get_data(as_text=True)
        assert "用户名或密码错误" in page and "请输入" not in page
    strip = re.compile(r'value="[^"]*"')
    assert strip.sub("", wrong_password.get_data(as_text=True)) == strip.sub(
        "", unknown_name.get_data(as_text=True)
    ), "the page must not tell which part was wrong"
    failed = _audit(app, "sign_in_failed")
    assert [e.actor for e in failed] == ["ann", "nobody-here"]
    assert all("not the password" not in str(e.details) for e in failed)


def test_signing_in_starts_a_new_session(app, console):
    client = app.test_client()
    client.get("/d/fangzi/?lang=en")
    with client.session_transaction() as s:
        s["planted"] = "by someone else"
    _token(client)
    with client.session_transaction() as s:
        old_token = s["csrf_token"]
    sign_in(client, "ann")
    with client.session_transaction() as s:
        assert "planted" not in s
        assert s.get("csrf_token") != old_token, "a CSRF token from before is not carried over"
        assert s["lang"] == "en", "the chosen language is kept"
    page = client.get("/dispatch/districts/fangzi").get_data(as_text=True)
    assert "Audit log" in page


def test_a_disabled_user_cannot_sign_in_and_their_session_ends(app, console):
    client = app.test_client()
    sign_in(client, "ann")
    assert client.get("/dispatch/districts/fangzi").status_code == 200
    result = _cli(app, "user", "disable", "ann")
    assert result.exit_code == 0 and "disabled ann" in result.output
    assert client.get("/dispatch/districts/fangzi").status_code == 302
    refused = sign_in(app.test_client(), "ann")
    assert refused.status_code == 200 and "用户名或密码错误" in refused.get_data(as_text=True)
    (entry,) = _audit(app, "user_disable")
    assert entry.details == {"user": "ann"}


def test_the_next_page_after_signing_in_stays_on_the_site(app, console):
    client = app.test_client()
    r = client.get("/dispatch/districts/fangzi")
    assert r.headers["Location"].endswith("/dispatch/sign-in?next=/dispatch/districts/fangzi")
    token = _token(client)
    form = {"csrf_token": token, "name": "ann", "password": PASSWORD}
    r = client.post("/dispatch/sign-in?next=/dispatch/districts/fangzi", data=form)
    assert r.headers["Location"].endswith("/dispatch/districts/fangzi")
    other = app.test_client()
    form["csrf_token"] = _token(other)
    r = other.post("/dispatch/sign-in?next=https://evil.example/", data=form)
    assert r.headers["Location"].endswith("/dispatch/")


# --- rate limits ------------------------------------------------------------------------------


REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture(params=["memory", "redis"])
def limited_console(request: pytest.FixtureRequest, sqlite_template: Path, tmp_path: Path):
    """An app with the sign-in limits on (3 failures a minute per name and address, 5 per
    address),
    counting in memory or in the machine's Redis under a key prefix of this test, deleted after."""
    from web import create_app

    prefix = f"taxvan-test-{uuid.uuid4().hex}"
    storage = REDIS if request.param == "redis" else "memory://"
    shutil.copy(sqlite_template, tmp_path / "db.sqlite")
    app = create_app(
        {
            **_web_config(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path),
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_STORAGE_URI": storage,
            "RATELIMIT_KEY_PREFIX": prefix,
            "TAXVAN_SIGNIN_RATE": "3 per minute",
            "TAXVAN_SIGNIN_ADDRESS_RATE": "5 per minute",
        }
    )
    # Flask-Limiter keeps the key prefix of the first app it was bound to in this process.
    old_prefix, limiter._key_prefix = limiter._key_prefix, prefix
    _make_console(app, tmp_path)
    yield app
    limiter.enabled = False
    limiter._key_prefix = old_prefix
    _dispose(app)
    if request.param == "redis":
        import redis

        r = redis.Redis.from_url(REDIS)
        keys = list(r.scan_iter(f"*{prefix}*"))
        if keys:
            r.delete(*keys)
        assert any(b"signin-pair" in k for k in keys), "the sign-in counts were kept in Redis"


def _from(app, address: str):
    """A browser at client address `address`."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_failed_sign_ins_are_limited_per_user_name_and_address(limited_console):
    app = limited_console
    guesser = _from(app, "10.0.0.1")
    codes = [sign_in(guesser, "ann", "wrong password!").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert sign_in(guesser, "ann").status_code == 429, "even the right password waits there"
    assert sign_in(_from(app, "10.0.0.1"), "bo").status_code == 302, "another name is not"
    assert sign_in(_from(app, "10.0.0.2"), "ann").status_code == 302, "nor another address"


def test_failed_sign_ins_are_limited_per_address_and_successes_do_not_count(limited_console):
    app = limited_console
    client = _from(app, "10.9.9.9")
    for _ in range(6):  # signing in and out again and again is fine
        assert sign_in(client, "root").status_code == 302
        client.post("/dispatch/sign-out", data={"csrf_token": _token(client, "/dispatch/users")})
    codes = [sign_in(client, f"guess{i}", "wrong password!").status_code for i in range(6)]
    assert codes == [200] * 5 + [429]
    assert sign_in(client, "ann").status_code == 429


# --- districts ----------------------------------------------------------------------------


def _rewrite(path: Path, edit) -> None:
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    rows = edit(rows)
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)


def test_a_reimport_prints_what_it_adds_changes_and_removes(app, console):
    folder = console.county_dir
    with app.app_context():
        before = db.session.scalar(select(District).where(District.code == "county")).rows
    stops = before["stops"]
    renamed, dropped = stops[0], stops[1]

    def edit(rows):
        header, body = rows[0], rows[1:]
        col = {c: i for i, c in enumerate(header)}
        out = [header]
        for row in body:
            if row[col["stop_id"]] == dropped:
                continue
            if row[col["stop_id"]] == renamed:
                row[col["name"]] = "新名字村"
            out.append(row)
        new = list(body[2])
        new[col["stop_id"]] = "620799NEW001"
        return [*out, new]

    _rewrite(folder / "stops.csv", edit)
    result = _cli(app, "district", "import", "--data", str(folder), "--code", "county")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "district county (示例县): updated" in out
    assert f"stops: 1 added, 1 changed, 1 removed, {len(stops) - 2} unchanged" in out
    assert "  added: 620799NEW001" in out
    assert f"  changed: {renamed}" in out
    assert f"  removed: {dropped}" in out
    assert "streets: 0 added, 0 changed, 0 removed" in out
    with app.app_context():
        assert db.session.get(StopRow, dropped) is None
        assert db.session.get(StopRow, renamed).name == "新名字村"
        d = db.session.scalar(select(District).where(District.code == "county"))
        assert "620799NEW001" in d.rows["stops"] and dropped not in d.rows["stops"]
    imports = [e for e in _audit(app, "district_import") if e.details.get("created") is False]
    assert imports[-1].details["stops"]["removed"] == [dropped]


def test_a_bad_folder_saves_nothing_and_names_file_row_and_column(app, console):
    folder = console.county_dir
    with app.app_context():
        d = db.session.scalar(select(District).where(District.code == "county"))
        first, updated = d.rows["stops"][0], d.updated_at

    def edit(rows):
        col = {c: i for i, c in enumerate(rows[0])}
        rows[1][col["name"]] = "改了但不该保存"  # a valid change...
        rows[3][col["lat"]] = "north"  # ...and a bad row: nothing of either is saved
        return rows

    _rewrite(folder / "stops.csv", edit)
    result = _cli(app, "district", "import", "--data", str(folder), "--code", "county")
    assert result.exit_code != 0
    assert "stops.csv: row 4, column 'lat': 'north' is not" in result.output
    assert "nothing was saved" in result.output
    with app.app_context():
        assert db.session.get(StopRow, first).name != "改了但不该保存"
        d = db.session.scalar(select(District).where(District.code == "county"))
        assert d.updated_at == updated
    assert len(_audit(app, "district_import")) == 2, "only the two imports of the fixture"


def test_a_district_cannot_take_another_districts_stops(app, console):
    result = _cli(app, "district", "import", "--data", str(console.county_dir), "--code", "copy")
    assert result.exit_code != 0
    assert "already belong to district county" in result.output
    with app.app_context():
        assert db.session.scalar(select(District).where(District.code == "copy")) is None


def test_two_districts_may_define_one_service_code_differently(app, console):
    """Services are the district's own: the county changes a service's minutes and the
    demo district's service of the same code keeps its own."""
    from tests.conftest import service_row

    def edit(rows):
        col = {c: i for i, c in enumerate(rows[0])}
        rows[1][col["minutes"]] = str(int(rows[1][col["minutes"]]) + 5)
        return rows

    _rewrite(console.county_dir / "services.csv", edit)
    code = (console.county_dir / "services.csv").read_text(encoding="utf-8-sig").splitlines()[1]
    code = code.split(",")[0]
    result = _cli(app, "district", "import", "--data", str(console.county_dir), "--code", "county")
    assert result.exit_code == 0, result.output
    assert f"  changed: {code}" in result.output
    with app.app_context():
        home, county = service_row(code, console.home), service_row(code, console.county)
        assert county.minutes == home.minutes + 5


# --- users --------------------------------------------------------------------------------


def test_user_create_asks_the_password_twice_and_list_shows_users(app, console):
    ok = _cli(
        app, "user", "create", "Cai", "--district", "fangzi", input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert ok.exit_code == 0 and "created dispatcher cai of district fangzi" in ok.output
    typo = _cli(app, "user", "create", "dee", "--district", "fangzi", input=f"{PASSWORD}\nother\n")
    assert typo.exit_code != 0
    short = _cli(
        app, "user", "create", "eve", "--district", "fangzi", "--password-stdin", input="x"
    )
    assert short.exit_code != 0 and "at least 10" in short.output
    stdin = ("--password-stdin",)
    twice = _cli(app, "user", "create", "CAI", "--district", "fangzi", *stdin, input=PASSWORD)
    assert twice.exit_code != 0 and "already exists" in twice.output
    nowhere = _cli(app, "user", "create", "fay", "--role", "dispatcher", *stdin, input=PASSWORD)
    assert nowhere.exit_code != 0 and "needs a district" in nowhere.output
    listed = _cli(app, "user", "list").output
    assert "cai\tdispatcher\tfangzi\tactive" in listed
    names = [line.split("\t")[0] for line in listed.splitlines()]
    assert names == ["ann", "bo", "cai", "root"], "refused users are not created"
    assert sign_in(app.test_client(), "CAI").status_code == 302, "names ignore case"
    created = [e.details for e in _audit(app, "user_create")]
    assert {"user": "cai", "role": "dispatcher"} in created and len(created) == 4
    with app.app_context():
        stored = db.session.scalar(select(User).where(User.name == "cai")).password_hash
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


# --- the audit log on the dashboard ----------------------------------------------------------


def test_the_dashboard_shows_the_districts_log_and_admins_see_all(app, console):
    sign_in(app.test_client(), "bo", "a wrong password")
    ann = app.test_client()
    sign_in(ann, "ann")
    page = ann.get("/dispatch/districts/fangzi").get_data(as_text=True)
    assert "本区" in page and "审计日志" in page
    log = page.split("审计日志", 1)[1]
    assert "登录" in log and "导入辖区数据" in log
    assert "示例县" not in page and "<td>bo</td>" not in log, "another district's log stays there"
    stops = re.search(r'class="stops-count">(\d+)<', page).group(1)
    with app.app_context():
        home = db.session.scalar(select(District).where(District.code == "fangzi"))
        assert int(stops) == len(home.rows["stops"]) > 0
    assert "2026-W49" in page and "/?week=2026-W49" in page

    county = app.test_client()
    sign_in(county, "bo")
    county_page = county.get("/dispatch/districts/county").get_data(as_text=True)
    assert "尚未发布" in county_page, "nothing of the county is published"

    root = app.test_client()
    sign_in(root, "root")
    admin = root.get("/dispatch/").get_data(as_text=True)
    assert "本区" in admin and "示例县" in admin
    assert "登录失败" in admin and "<td>bo</td>" in admin
    users = root.get("/dispatch/users").get_data(as_text=True)
    for name in ("ann", "bo", "root"):
        assert f"<td>{name}</td>" in users


def test_a_stop_with_published_visits_is_left_in_place(app, console, tmp_path: Path):
    from web.db.models import VisitRow

    with app.app_context():
        used = db.session.scalars(select(VisitRow.stop_id).order_by(VisitRow.id)).first()
    folder = tmp_path / "home-again"
    shutil.copytree(DEMO, folder)
    _rewrite(folder / "stops.csv", lambda rows: [r for r in rows if r[0] != used])
    result = _cli(app, "district", "import", "--data", str(folder), "--code", "fangzi")
    assert result.exit_code == 0, result.output
    assert "0 removed" in result.output and "1 left in place (still referenced)" in result.output
    assert f"  left in place: {used}" in result.output
    with app.app_context():
        assert db.session.get(StopRow, used) is not None, "the published visit keeps its stop"
        home = db.session.scalar(select(District).where(District.code == "fangzi"))
        assert used in home.rows["stops"], "still the district's: its published visit is"


def test_the_dashboard_shows_the_latest_50_entries(app, console):
    from web.db import audit

    with app.app_context():
        home = db.session.scalar(select(District).where(District.code == "fangzi"))
        for i in range(60):
            audit.record("sign_in_failed", actor=f"probe{i:02d}", district=home)
        db.session.commit()
    client = app.test_client()
    sign_in(client, "ann")
    log = client.get("/dispatch/districts/fangzi").get_data(as_text=True).split("审计日志", 1)[1]
    rows = re.findall(r"<td>(probe\d\d|ann|command line[^<]*)</td>", log)
    assert len(rows) == 50
    assert rows[0] == "ann", "the newest first: this sign-in"
    assert rows[1] == "probe59" and "probe10" not in rows and "probe11" in rows


def test_the_console_tables_match_their_migration(app):
    """The migration creates the console's tables as the models describe them."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with app.app_context(), db.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), db.metadata)
    ours = {"districts", "users", "audit_log"}

    def tables(diff) -> set[str]:
        """The tables a diff touches: ('add_index', Index), ('add_column', schema, table, ...),
        a list of ('modify_type', schema, table, ...) tuples..."""
        if isinstance(diff, list):
            return set().union(*(tables(d) for d in diff))
        found = set()
        for item in diff[1:]:
            if isinstance(item, str):
                found.add(item)
            table = getattr(item, "table", item)
            found.add(getattr(table, "name", None))
        return found

    mine = [d for d in diffs if ours & tables(d)]
    assert mine == []
