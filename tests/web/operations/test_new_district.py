"""A new district and its users, as the console's operations make them (`create_district`,
`web.operations.accounts`): all or nothing, audited, each refusal saying which field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from taxvan.errors import DataFileError
from tests.conftest import DEMO
from tests.districts import make_county
from tests.web.views.dispatch.test_dispatch import _clean
from web.db.models import AuditEntry, District, StopRow, User
from web.db.store import DistrictConflictError
from web.extensions import db
from web.operations import accounts
from web.operations.districts import (
    NewDistrictError,
    create_district,
    districts_root,
)
from web.operations.users import UserExistsError, WeakPasswordError, find_user


@pytest.fixture
def empty(app, tmp_path: Path):
    """The app, its districts and users as the demo's alone (PostgreSQL is shared)."""
    _clean(app)
    with app.app_context():
        yield app
    _clean(app)


def _county(tmp_path: Path) -> Path:
    folder = make_county(tmp_path / "upload")
    shutil.copy(DEMO / "services.csv", folder / "services.csv")
    return folder


def _districts() -> list[str]:
    return sorted(db.session.scalars(select(District.code)))


def _audit(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_a_district_is_created_from_its_files_in_a_folder_of_its_own(empty, tmp_path):
    before = _districts()
    result = create_district(_county(tmp_path), "gaotai", " 高台县 ", "", actor="root")
    assert result.created and result.district.code == "gaotai"
    district = db.session.scalar(select(District).where(District.code == "gaotai"))
    assert (district.name, district.name_en) == ("高台县", "gaotai")
    folder = Path(district.data_dir)
    assert folder == (districts_root() / "gaotai").resolve()
    assert (folder / "stops.csv").is_file() and (folder / "outline.geojson").is_file()
    stops = db.session.scalar(
        select(func.count()).select_from(StopRow).where(StopRow.district_id == district.id)
    )
    assert stops == len(result.changes["stops"].added) > 10
    assert _districts() == sorted([*before, "gaotai"])
    (entry,) = _audit("district_import")
    assert entry.actor == "root" and entry.details["created"] is True
    assert not [p for p in districts_root().iterdir() if p.name.startswith(".")], "no leftovers"


def test_a_bad_file_creates_nothing(empty, tmp_path):
    folder = _county(tmp_path)
    stops = folder / "stops.csv"
    lines = stops.read_text(encoding="utf-8").splitlines()
    head = lines[0].split(",")
    row = lines[1].split(",")
    row[head.index("lat")] = "35.9x"
    stops.write_text("\n".join([lines[0], ",".join(row), *lines[2:]]) + "\n", encoding="utf-8")
    before = _districts()
    with pytest.raises(DataFileError) as exc:
        create_district(folder, "gaotai", "高台县", "Gaotai", actor="root")
    assert any(p.row == 2 and p.column == "lat" for p in exc.value.problems)
    assert _districts() == before
    assert not (districts_root() / "gaotai").exists()
    assert _audit("district_import") == []
    # the same code can be tried again once the file is fixed
    create_district(_county(tmp_path / "again"), "gaotai", "高台县", "Gaotai", actor="root")
    assert "gaotai" in _districts()


def test_files_whose_ids_another_district_owns_create_nothing(empty, tmp_path):
    before = _districts()
    with pytest.raises(DistrictConflictError):
        create_district(DEMO, "copy", "复制区", "", actor="root")
    assert _districts() == before and not (districts_root() / "copy").exists()


@pytest.mark.parametrize(
    ("code", "name", "name_en", "problems"),
    [
        ("Gao Tai", "高台县", "", {"code": "format"}),
        ("../x", "高台县", "", {"code": "format"}),
        ("fangzi", "高台县", "", {"code": "taken"}),
        ("gaotai", "", "", {"name": "empty"}),
        ("gaotai", "=cmd|calc", "+x", {"name": "formula", "name_en": "formula"}),
        ("gaotai", "县" * 101, "", {"name": "long"}),
    ],
)
def test_a_code_or_name_refused_says_which_field(empty, tmp_path, code, name, name_en, problems):
    with pytest.raises(NewDistrictError) as exc:
        create_district(_county(tmp_path), code, name, name_en, actor="root")
    assert exc.value.problems == problems
    assert "gaotai" not in _districts()


# --- users ----------------------------------------------------------------------------------


def _admin() -> User:
    user = accounts.create_account("chen", "a long admin secret", "admin", None, actor="test")
    return db.session.get(User, user.id)


def test_an_admin_creates_a_dispatcher_with_a_generated_password(empty):
    admin = _admin()
    password = accounts.generate_password()
    assert len(password) == 19 and len(set(password.replace("-", ""))) >= 5
    user = accounts.create_account("wang", password, "dispatcher", "fangzi", "chen", admin)
    assert user.district.code == "fangzi" and user.active
    assert PasswordHasher().verify(find_user("wang").password_hash, password)
    entry = next(e for e in _audit("user_create") if e.details["user"] == "wang")
    assert entry.actor == "chen" and entry.user_id == admin.id


def test_a_duplicate_name_and_a_weak_password_are_refused(empty):
    admin = _admin()
    accounts.create_account("wang", accounts.generate_password(), "dispatcher", "fangzi", "chen")
    with pytest.raises(UserExistsError):
        accounts.create_account("WANG", accounts.generate_password(), "admin", None, "chen", admin)
    with pytest.raises(WeakPasswordError) as exc:
        accounts.create_account("li", "li-li-li-li", "dispatcher", "fangzi", "chen", admin)
    assert [p.code for p in exc.value.problems] == ["few_characters"]
    assert find_user("li") is None


def test_disabling_ends_sessions_and_enabling_lets_them_in_again(empty):
    admin = _admin()
    user = accounts.create_account("wang", accounts.generate_password(), "dispatcher", "fangzi")
    token = user.session_token
    accounts.disable_account("wang", "chen", admin)
    disabled = find_user("wang")
    assert not disabled.active and disabled.session_token != token
    accounts.enable_account("wang", "chen", admin)
    assert find_user("wang").active
    assert [e.actor for e in _audit("user_disable")] == ["chen"]
    assert [e.actor for e in _audit("user_enable")] == ["chen"]


def test_an_admin_cannot_disable_their_own_account(empty):
    admin = _admin()
    with pytest.raises(accounts.OwnAccountError):
        accounts.disable_account("Chen", "chen", admin)
    assert find_user("chen").active
