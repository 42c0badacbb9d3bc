"""Users management under attack: names a screen or a spreadsheet would misread, two admins
creating one name at once, forms posted by those who may not. On SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from tests.web.views.dispatch.test_dispatch import (  # noqa: F401  (fixtures)
    PASSWORD,
    _token,
    console,
    sign_in,
)
from tests.web.views.dispatch.test_new_county import _new_user
from web.db.models import User
from web.extensions import db
from web.operations import accounts
from web.operations.users import UserError, UserExistsError


def _users_named(app, name: str) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(User).where(User.name == name))


@pytest.mark.parametrize(
    "name",
    [
        "wang\x1b[31m",  # a terminal escape (the log, `flask user list`)
        "wang\u202egnaw",  # right-to-left override: reads as another name
        "wa\u200bng",  # a zero-width space: looks like "wang"
        "=HYPERLINK(1)",  # a spreadsheet formula (the audit download)
        "@wang",
    ],
)
def test_a_name_that_reads_as_another_or_runs_as_a_formula_is_refused(app, console, name):  # noqa: F811
    root = app.test_client()
    sign_in(root, "root")
    r = _new_user(root, name=name, password="")
    assert r.status_code == 400 and "用户名" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 3
        with pytest.raises(UserError):
            accounts.create_account(name, PASSWORD, "admin", None, actor="test")


def test_two_admins_creating_one_name_at_once_get_one_user_and_a_plain_refusal(app, console):  # noqa: F811
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def create() -> None:
        with app.app_context():
            try:
                barrier.wait()
                accounts.create_account("wang", PASSWORD, "dispatcher", "fangzi", actor="root")
                outcomes.append("created")
            except UserExistsError:
                outcomes.append("exists")
            except BaseException as exc:  # reported below
                outcomes.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=create) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sorted(outcomes) == ["created", "exists"], outcomes
    assert _users_named(app, "wang") == 1


def test_only_an_admin_s_form_with_its_token_creates_or_disables(app, console):  # noqa: F811
    ann = app.test_client()
    sign_in(ann, "ann")
    token = _token(ann, "/dispatch/districts/fangzi")
    data = {"csrf_token": token, "name": "mole", "role": "admin", "password": ""}
    assert ann.post("/dispatch/users", data=data).status_code == 403
    assert ann.post("/dispatch/users/root/disable", data={"csrf_token": token}).status_code == 403
    root = app.test_client()
    sign_in(root, "root")
    forged = {"csrf_token": "forged", "name": "mole", "role": "admin", "password": ""}
    assert root.post("/dispatch/users", data=forged).status_code == 400
    assert root.post("/dispatch/users", data={**forged, "csrf_token": ""}).status_code == 400
    r = _new_user(root, name="mole", district="nowhere")
    assert r.status_code == 400
    # the admin's own name, written another way, is still their own account
    r = root.post(
        "/dispatch/users/ＲＯＯＴ/disable",
        data={"csrf_token": _token(root, "/dispatch/users")},
        follow_redirects=True,
    )
    assert "不能停用自己的账号" in r.get_data(as_text=True)
    assert _users_named(app, "mole") == 0
    with app.app_context():
        assert db.session.scalar(select(User.active).where(User.name == "root"))
