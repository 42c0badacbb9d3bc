"""A new county set up in the console: the first-run page, a district created from its
files (one zip, or each file), users created, disabled, enabled; who may do it."""

from __future__ import annotations

import io
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import DEMO, _dispose, build_app
from tests.districts import make_county
from tests.web.views.dispatch import test_dispatch
from tests.web.views.dispatch.test_dispatch import PASSWORD, _cli, _token, sign_in
from web.db.models import District, User
from web.extensions import db

console = test_dispatch.console
"""The demo district and the county, the dispatchers ann and bo, the admin root."""


@pytest.fixture
def empty_app(tmp_path: Path):
    """A new installation: the database, one administrator, no district (SQLite)."""
    app = build_app(f"sqlite:///{tmp_path / 'new.sqlite'}", tmp_path, publish=False)
    yield app
    _dispose(app)


def _admin(app) -> None:
    result = _cli(
        app, "user", "create", "chen", "--role", "admin", "--password-stdin", input=PASSWORD
    )
    assert result.exit_code == 0, result.output


def county_zip(tmp_path: Path) -> bytes:
    """The generated county's data folder (with the demo's services) as one zip archive."""
    folder = make_county(tmp_path / "gaotai")
    shutil.copy(DEMO / "services.csv", folder / "services.csv")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(folder.iterdir()):
            zf.write(p, f"gaotai/{p.name}")
    return buf.getvalue()


def _create(client, body: bytes, code: str = "gaotai", name: str = "高台县", **files):
    data = {
        "csrf_token": _token(client, "/dispatch/new-district"),
        "code": code,
        "name": name,
        "name_en": "Gaotai",
        "archive": (io.BytesIO(body), "高台县数据.zip"),
        **files,
    }
    return client.post("/dispatch/new-district", data=data, content_type="multipart/form-data")


def _codes(app) -> list[str]:
    with app.app_context():
        return sorted(db.session.scalars(select(District.code)))


def test_the_sign_in_page_of_a_new_installation_says_how_to_make_the_first_admin(empty_app):
    client = empty_app.test_client()
    page = client.get("/dispatch/sign-in").get_data(as_text=True)
    assert "flask --app app user create NAME --role admin" in page
    _admin(empty_app)
    assert "--role admin" not in client.get("/dispatch/sign-in").get_data(as_text=True)


def test_a_new_county_from_one_zip_to_its_plan_form(empty_app, tmp_path):
    _admin(empty_app)
    client = empty_app.test_client()
    sign_in(client, "chen")
    first = client.get("/dispatch/")
    assert first.status_code == 302 and first.headers["Location"].endswith("/dispatch/setup")
    setup = client.get("/dispatch/setup").get_data(as_text=True)
    assert "开始使用" in setup and "新建辖区" in setup and 'name="archive"' in setup
    r = _create(client, county_zip(tmp_path))
    assert r.status_code == 302, r.get_data(as_text=True)
    assert r.headers["Location"].endswith("/dispatch/districts/gaotai#plan-h")
    page = client.get("/dispatch/districts/gaotai").get_data(as_text=True)
    assert "辖区高台县已创建" in page and 'id="plan-h"' in page
    with empty_app.app_context():
        district = db.session.scalar(select(District).where(District.code == "gaotai"))
        assert (district.name, district.name_en) == ("高台县", "Gaotai")
        assert Path(district.data_dir).parent == Path(empty_app.instance_path) / "districts"
    setup = client.get("/dispatch/setup").get_data(as_text=True)
    assert "✓" in setup and "高台县" in setup and 'name="archive"' not in setup
    # the admin's overview now lists it, with the link to create another
    overview = client.get("/dispatch/").get_data(as_text=True)
    assert "高台县" in overview and "/dispatch/new-district" in overview


def test_a_bad_file_lists_its_problems_and_creates_nothing(empty_app, tmp_path):
    _admin(empty_app)
    client = empty_app.test_client()
    sign_in(client, "chen")
    bad = b"stop_id,name,street_code,kind,lat,lon\nX1,\xe6\x9d\x91,620799102,village,35.9x,100.1\n"
    r = _create(client, county_zip(tmp_path), stops=(io.BytesIO(bad), "stops.csv"))
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert "未保存任何内容" in page and "stops.csv" in page
    assert _codes(empty_app) == []
    assert not (Path(empty_app.instance_path) / "districts" / "gaotai").exists()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"code": "Gao Tai"}, "小写字母"),
        ({"name": ""}, "请输入辖区名称"),
    ],
)
def test_a_refused_code_or_name_is_said_at_its_field(empty_app, tmp_path, fields, message):
    _admin(empty_app)
    client = empty_app.test_client()
    sign_in(client, "chen")
    r = _create(client, county_zip(tmp_path), **fields)
    assert r.status_code == 400 and message in r.get_data(as_text=True)
    assert 'aria-invalid="true"' in r.get_data(as_text=True)
    assert _codes(empty_app) == []


def test_a_zip_that_is_no_zip_is_refused_by_name(empty_app):
    _admin(empty_app)
    client = empty_app.test_client()
    sign_in(client, "chen")
    r = _create(client, b"stop_id,name\n")
    page = r.get_data(as_text=True)
    assert r.status_code == 400 and "不是 zip 压缩包" in page
    assert "高台县数据.zip" in page, "the problem names the file as the sender knows it"
    assert _codes(empty_app) == []


def test_only_an_admin_with_the_form_token_creates_a_district(app, console, tmp_path):
    body = county_zip(tmp_path)
    dispatcher = app.test_client()
    sign_in(dispatcher, "ann")
    assert dispatcher.get("/dispatch/setup").status_code == 403
    token = _token(dispatcher, "/dispatch/districts/fangzi")
    r = dispatcher.post(
        "/dispatch/new-district",
        data={
            "csrf_token": token,
            "code": "gaotai",
            "name": "高台县",
            "archive": (io.BytesIO(body), "a.zip"),
        },
        content_type="multipart/form-data",
    )
    assert r.status_code == 403
    anonymous = app.test_client()
    r = anonymous.post(
        "/dispatch/new-district",
        data={
            "csrf_token": _token(anonymous),
            "code": "gaotai",
            "name": "高台县",
            "archive": (io.BytesIO(body), "a.zip"),
        },
        content_type="multipart/form-data",
    )
    assert r.status_code == 302 and "/dispatch/sign-in" in r.headers["Location"]
    root = app.test_client()
    sign_in(root, "root")
    r = root.post(
        "/dispatch/new-district",
        data={"code": "gaotai", "name": "高台县", "archive": (io.BytesIO(body), "a.zip")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 400, "no CSRF token: refused"
    assert "gaotai" not in _codes(app)


# --- users ----------------------------------------------------------------------------------


def _new_user(client, **fields):
    data = {
        "csrf_token": _token(client, "/dispatch/users"),
        "name": "wang",
        "role": "dispatcher",
        "district": "fangzi",
        "password": "",
        **fields,
    }
    return client.post("/dispatch/users", data=data)


def test_an_admin_creates_a_dispatcher_whose_password_is_shown_once(app, console):
    root = app.test_client()
    sign_in(root, "root")
    r = _new_user(root)
    assert r.status_code == 200
    assert "no-store" in r.headers.get("Cache-Control", "")
    page = r.get_data(as_text=True)
    password = re.search(r'<code class="password">([^<]+)</code>', page).group(1)
    assert re.fullmatch(r"[a-z2-9]{4}(-[a-z2-9]{4}){3}", password)
    assert password not in root.get("/dispatch/users").get_data(as_text=True), "shown once"
    wang = app.test_client()
    assert sign_in(wang, "wang", password).status_code == 302
    assert wang.get("/dispatch/districts/fangzi").status_code == 200
    with app.app_context():
        user = db.session.scalar(select(User).where(User.name == "wang"))
        assert user.role == "dispatcher" and user.district.code == "fangzi"


def test_an_admin_creates_the_van_crew_from_the_console(app, console):
    """The crew's phone signs in with a role of its own, made on the users page like any."""
    root = app.test_client()
    sign_in(root, "root")
    r = _new_user(root, name="van2", role="crew")
    assert r.status_code == 200, r.get_data(as_text=True)[:2000]
    password = re.search(r'<code class="password">([^<]+)</code>', r.get_data(as_text=True))
    van = app.test_client()
    assert sign_in(van, "van2", password.group(1)).status_code == 302
    assert van.get("/dispatch/districts/fangzi/today").status_code == 200
    assert van.get("/dispatch/districts/fangzi").status_code == 403, "the crew's sheet only"
    listed = root.get("/dispatch/users").get_data(as_text=True)
    assert re.search(r"<td>van2</td><td>车组</td>", listed), "listed as the van's crew"
    with app.app_context():
        user = db.session.scalar(select(User).where(User.name == "van2"))
        assert user.role == "crew" and user.district.code == "fangzi"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "ann"}, "已有同名用户"),
        ({"role": "crew", "district": ""}, "车组账号需要指定辖区"),
        ({"name": "two words"}, "不含空格"),
        ({"district": ""}, "调度员需要一个辖区"),
        ({"password": "short"}, "至少 10 个字符"),
        ({"role": "root"}, None),  # a role that is no choice (a crafted request)
    ],
)
def test_a_refused_user_is_said_at_its_field(app, console, fields, message):
    root = app.test_client()
    sign_in(root, "root")
    r = _new_user(root, **fields)
    page = r.get_data(as_text=True)
    assert r.status_code == 400 and "error-summary" in page
    if message:
        assert message in page and 'aria-invalid="true"' in page
    with app.app_context():
        assert db.session.scalar(select(User).where(User.name == "wang")) is None


def test_an_admin_disables_and_enables_a_dispatcher_but_not_themselves(app, console):
    ann = app.test_client()
    sign_in(ann, "ann")
    root = app.test_client()
    sign_in(root, "root")
    token = _token(root, "/dispatch/users")
    assert root.post("/dispatch/users/ann/disable", data={"csrf_token": token}).status_code == 302
    assert ann.get("/dispatch/districts/fangzi").status_code == 302, "ann's session ended"
    assert sign_in(app.test_client(), "ann").status_code == 200, "ann cannot sign in"
    page = root.get("/dispatch/users").get_data(as_text=True)
    assert "ann 已停用" in page
    assert root.post("/dispatch/users/ann/enable", data={"csrf_token": token}).status_code == 302
    assert sign_in(app.test_client(), "ann").status_code == 302
    r = root.post("/dispatch/users/root/disable", data={"csrf_token": token}, follow_redirects=True)
    assert "不能停用自己的账号" in r.get_data(as_text=True)
    assert root.get("/dispatch/users").status_code == 200, "still signed in"
    assert root.post("/dispatch/users/ann/disable").status_code in (302, 400)
    with app.app_context():
        assert db.session.scalar(select(User.active).where(User.name == "ann"))
