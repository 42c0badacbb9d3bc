"""One rule for who sees taxpayers' names and phones in the console (web/operations/people.py).

Every page and download that shows a taxpayer's name or mobile number treats one user the same
way: the demo district's dispatcher (ann) and an admin who belongs to it (ada) see them whole,
an admin of no district (root) sees them masked everywhere (纳*, 138****8000, •••). Both
databases.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select

from tests.conftest import reset_published
from tests.web.daysupport import clean
from tests.web.operations.test_district_services import make_two_districts
from tests.web.operations.test_door import MOBILE, _clean_door, _send
from tests.web.operations.test_door import _token as page_token
from tests.web.operations.test_publishing import PHONE, WEEK, _affected_draft, _booking, _home
from tests.web.views.dispatch.test_dispatch import _clean, sign_in
from web.db.models import DoorRequest
from web.extensions import db
from web.operations.people import People, mask_name, mask_phone, people_for
from web.operations.publishing import CANCEL, MOVE, Decision, Decisions, publish_version

FIRM = "潍坊示例机械有限公司"
CONTACT = "李四"
ADDRESS = "示例工业园 3 号"
BASE = "/dispatch/districts/fangzi"

WHOLE = {"ann": True, "ada": True, "root": False}
"""Who sees names and phones whole: the district's dispatcher and its admin, not the admin of
no district."""


@dataclass
class Scene:
    codes: dict[str, str]
    day: str
    """The date of the moved booking a's visit (its day sheet)."""
    other_day: str
    """The date of the carried booking c's visit (the disruption to preview)."""
    ref: str
    publish_url: str = ""
    """The confirm step of the scene's draft (saved as background planning saves one)."""


@pytest.fixture
def scene(app, tmp_path: Path, monkeypatch):
    _clean_door(app)
    _clean(app)
    make_two_districts(app, tmp_path)
    codes, draft = _affected_draft(app)  # bookings of 纳税人0..2, all with PHONE
    from tests.web.views.dispatch.test_dispatch_publish import draft_url, save_draft

    publish_url = draft_url(save_draft(app, draft))
    assert _send(app, app.test_client()).status_code == 302  # a door-to-door request
    with app.app_context():
        ref = db.session.scalar(select(DoorRequest.reference))
    yield (
        Scene(
            codes,
            _booking(app, codes["a"])["date"].isoformat(),
            _booking(app, codes["c"])["date"].isoformat(),
            ref,
            publish_url,
        ),
        draft,
    )
    with app.app_context():
        reset_published()
    clean(app, [])
    _clean_door(app)
    _clean(app)


def _client(app, name: str):
    client = app.test_client()
    assert sign_in(client, name).status_code == 302
    return client


def _text(response) -> str:
    """A page's or download's text: HTML, CSV, or every cell of every sheet of a workbook."""
    assert response.status_code == 200, (response.request.path, response.status_code)
    if response.mimetype.endswith("spreadsheetml.sheet"):
        book = openpyxl.load_workbook(io.BytesIO(response.data))
        return "\n".join(
            " ".join("" if c is None else str(c) for c in row)
            for ws in book.worksheets
            for row in ws.iter_rows(values_only=True)
        )
    if response.mimetype == "text/csv":
        return "\n".join(" ".join(r) for r in csv.reader(io.StringIO(response.data.decode())))
    return response.get_data(as_text=True)


def _check(text: str, whole: bool, values: list[tuple[str, str]], where: str) -> None:
    """Each (whole value, masked value) shown whole, or masked and never whole."""
    for full, masked in values:
        if whole:
            assert full in text, f"{where}: {full} should be shown whole"
        else:
            assert full not in text, f"{where}: {full} should be masked"
            assert masked in text, f"{where}: {masked} expected"


NOTE = "姓名和手机号已部分隐去"
"""What a page with masked names and phones says."""

TAXPAYER = [(PHONE, "138****8000"), ("纳税人0", "纳*")]
DOOR = [(MOBILE, "139****5678"), (CONTACT, "李*"), (FIRM, "潍*"), (ADDRESS, "•••")]


def _plan(client, scene: Scene) -> str:
    return _text(client.get(scene.publish_url))


def test_each_page_and_download_shows_names_and_phones_by_one_rule(app, scene):
    s, draft = scene
    clients = {name: _client(app, name) for name in WHOLE}
    # before publishing: the publish page lists the affected bookings with name and phone
    for name, client in clients.items():
        _check(_plan(client, s), WHOLE[name], TAXPAYER, f"{name}: publish page")

    ids = {k: _booking(app, c)["id"] for k, c in s.codes.items()}
    with app.app_context():
        publish_version(
            _home(), draft, Decisions({ids["b"]: Decision(CANCEL, "道路施工")}, Decision(MOVE)), "t"
        )
    # a declined door-to-door request: its notice names the firm
    ann = clients["ann"]
    plan_url = f"{BASE}/door-to-door/plan?ref={s.ref}"
    declined = ann.post(
        f"{BASE}/door-to-door/decline",
        data={"csrf_token": page_token(ann, plan_url), "reference": s.ref, "reason": "已排满"},
    )
    assert declined.status_code == 302

    version = f"{BASE}/weeks/{WEEK}/versions/2"
    pages = {
        "day sheet": (f"{BASE}/days?date={s.day}", TAXPAYER),
        "phone sheet": (f"{BASE}/today?date={s.day}", TAXPAYER),
        "day sheet CSV": (f"{BASE}/days.csv?date={s.day}", TAXPAYER),
        "day sheet Excel": (f"{BASE}/days.xlsx?date={s.day}", TAXPAYER),
        "outbox": (f"{BASE}/notices", [TAXPAYER[0], DOOR[0], (FIRM, "•••")]),
        "outbox CSV": (f"{BASE}/notices.csv", [TAXPAYER[0], DOOR[0], (FIRM, "•••")]),
        "outbox Excel": (f"{BASE}/notices.xlsx", [TAXPAYER[0], DOOR[0], (FIRM, "•••")]),
        "version": (version, TAXPAYER),
        "version CSV": (f"{version}/notices.csv", TAXPAYER),
        "version Excel": (f"{version}/notices.xlsx", TAXPAYER),
        "door-to-door list": (f"{BASE}/door-to-door", [DOOR[2], DOOR[3]]),
        "door-to-door request": (plan_url, DOOR),
    }
    for name, client in clients.items():
        for page, (url, values) in pages.items():
            text = _text(client.get(url))
            _check(text, WHOLE[name], values, f"{name}: {page}")
            if "<html" in text:
                assert (NOTE in text) != WHOLE[name], f"{name}: {page} says it masks"
        # the disruption's preview lists the bookings it moves or cancels
        url = f"{BASE}/disruptions"
        fields = {
            "csrf_token": page_token(client, f"{url}?date={s.other_day}"),
            "date": s.other_day,
            "van": "",
            "reason": "weather",
        }
        preview = _text(client.post(url, data=fields))
        assert s.codes["c"] in preview
        _check(preview, WHOLE[name], [(PHONE, "138****8000"), ("纳税人2", "纳*")], name)
        assert (NOTE in preview) != WHOLE[name], f"{name}: a masked page says so"


def test_the_rule_is_the_users_district_against_the_rows():
    @dataclass
    class U:
        district_id: int | None
        role: str = "dispatcher"
        is_authenticated: bool = True

    assert people_for(U(1), 1) == People(full=True)
    assert people_for(U(1, "admin"), 1).full, "an admin who belongs to the district"
    assert not people_for(U(None, "admin"), 1).full, "an admin of no district"
    assert not people_for(U(2), 1).full, "another district's dispatcher"
    assert not people_for(None, 1).full and not people_for(U(1, is_authenticated=False), 1).full
    assert (mask_phone("13800138000"), mask_name("纳税人1"), mask_name("")) == (
        "138****8000",
        "纳*",
        "",
    )
