"""The new-district upload under attack: two admins creating one code at the same moment,
forms posted by a dispatcher or without their token, archives with links and too many
members. On SQLite and PostgreSQL (the `app` fixture) where the database matters."""

from __future__ import annotations

import io
import stat
import threading
import zipfile

import pytest
from sqlalchemy import func, select

from taxvan.errors import DataFileError
from taxvan.io.archive import MAX_MEMBERS, ArchiveProblem, unpack_district
from tests.web.views.dispatch.test_dispatch import (  # noqa: F401  (fixtures)
    PASSWORD,
    _clean,
    _cli,
    _token,
    console,
    sign_in,
)
from tests.web.views.dispatch.test_new_county import _create, county_zip
from web.db.models import District
from web.extensions import db


def _admins(app, *names: str) -> None:
    for name in names:
        result = _cli(
            app, "user", "create", name, "--role", "admin", "--password-stdin", input=PASSWORD
        )
        assert result.exit_code == 0, result.output


def _districts_coded(app, code: str) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count()).select_from(District).where(District.code == code)
        )


@pytest.fixture
def two_admins(app):
    """Two administrators and only the demo district (cleaned away after, as the console's)."""
    _clean(app)
    _admins(app, "root", "li")
    yield
    _clean(app)


def test_two_admins_creating_one_code_at_once_make_one_district(app, two_admins, tmp_path):
    body = county_zip(tmp_path)
    clients = []
    for name in ("root", "li"):
        client = app.test_client()
        assert sign_in(client, name).status_code == 302
        clients.append(client)
    barrier = threading.Barrier(2)
    answers: list[tuple[int, str]] = []

    def create(client) -> None:
        barrier.wait()
        r = _create(client, body)
        answers.append((r.status_code, r.get_data(as_text=True)))

    threads = [threading.Thread(target=create, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert sorted(status for status, _page in answers) == [302, 400], answers
    refused = next(page for status, page in answers if status == 400)
    assert "已有辖区使用此代码" in refused
    assert _districts_coded(app, "gaotai") == 1


def test_a_dispatcher_or_a_forged_form_creates_no_district(app, console, tmp_path):  # noqa: F811
    body = county_zip(tmp_path)
    wu = app.test_client()
    sign_in(wu, "ann")
    form = {
        "csrf_token": _token(wu, "/dispatch/districts/fangzi"),
        "code": "gaotai",
        "name": "高台县",
        "archive": (io.BytesIO(body), "gaotai.zip"),
    }
    r = wu.post("/dispatch/new-district", data=form, content_type="multipart/form-data")
    assert r.status_code == 403
    chen = app.test_client()
    sign_in(chen, "root")
    form["archive"] = (io.BytesIO(body), "gaotai.zip")
    form["csrf_token"] = "forged"
    r = chen.post("/dispatch/new-district", data=form, content_type="multipart/form-data")
    assert r.status_code == 400
    assert _districts_coded(app, "gaotai") == 0


def test_a_linked_member_is_written_as_a_plain_file_inside_the_folder(tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("stop_id\nSECRET\n", encoding="utf-8")
    archive = tmp_path / "link.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo("stops.csv")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, str(secret))
    target = tmp_path / "out"
    unpack_district(archive, target)
    written = target / "stops.csv"
    assert not written.is_symlink() and "SECRET" not in written.read_text(encoding="utf-8")


def test_an_archive_listing_too_many_members_is_refused(tmp_path):
    archive = tmp_path / "many.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("stops.csv", b"x")
        for i in range(MAX_MEMBERS):
            zf.writestr(f"junk/{i}.txt", b"")
    with pytest.raises(DataFileError) as exc:
        unpack_district(archive, tmp_path / "out")
    (problem,) = exc.value.problems
    assert isinstance(problem, ArchiveProblem) and problem.code == "members"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", ["高台县\u202e", "高台\n县", "高\x1b[2J台县", "高\u200b台县"])
def test_a_district_name_with_hidden_characters_is_refused_at_its_field(
    app,
    two_admins,
    tmp_path,
    name,
):
    root = app.test_client()
    sign_in(root, "root")
    r = _create(root, county_zip(tmp_path), name=name)
    page = r.get_data(as_text=True)
    assert r.status_code == 400 and "不可见字符" in page and 'aria-invalid="true"' in page
    assert _districts_coded(app, "gaotai") == 0
