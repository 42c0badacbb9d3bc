"""The audit log reads as sentences in the reader's language, with its details in a table."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.web.views.dispatch.test_dispatch import console, sign_in  # noqa: F401  (fixture)
from web.db import audit
from web.db.models import District
from web.extensions import db

pytestmark = pytest.mark.usefixtures("console")


def _disruption(app) -> None:
    with app.app_context():
        home = db.session.scalar(select(District).where(District.code == "fangzi"))
        audit.record(
            "disruption",
            actor="ann",
            district=home,
            details={
                "reason": "weather",
                "note": None,
                "date": "2026-12-09",
                "van": None,
                "visits": [11, 12],
                "moved": {
                    "A1B2C3": "2026-12-16 09:00–09:30",
                    "D4E5F6": "2026-12-16 10:00–10:30",
                },
                "cancelled": [],
            },
        )
        db.session.commit()


def _log(page: str) -> str:
    return page.split("审计日志", 1)[1]


def test_a_call_off_reads_as_a_sentence_with_its_details_in_a_table(app):
    _disruption(app)
    client = app.test_client()
    sign_in(client, "ann")
    log = _log(client.get("/dispatch/districts/fangzi").get_data(as_text=True))
    assert "12-09 全天停止服务（天气原因），2 个预约改至 12-16" in log
    assert "+0 ~0" not in log and "moved:" not in log
    assert "None" not in log and "True" not in log and "False" not in log
    assert '<th scope="row">车辆</th><td>—</td>' in log, "no van: a dash, named in Chinese"
    assert "A1B2C3 → 2026-12-16 09:00–09:30" in log


def test_an_import_by_the_command_line_is_told_in_chinese(app):
    client = app.test_client()
    sign_in(client, "ann")
    log = _log(client.get("/dispatch/districts/fangzi").get_data(as_text=True))
    assert "command line" not in log
    assert re.search(r"<td>命令行（[^<]+）</td>", log)
    assert "辖区数据已导入：站点新增 0，修改 0，删除 0，未变 " in log
    assert '<th scope="row">新建辖区</th><td>否</td>' in log


def test_the_log_in_english_reads_in_english(app):
    _disruption(app)
    client = app.test_client()
    sign_in(client, "ann")
    log = client.get("/dispatch/districts/fangzi?lang=en").get_data(as_text=True)
    assert "12-09 every van called off (Weather), 2 booking(s) moved to 12-16" in log
    assert re.search(r"<td>command line \([^<]+\)</td>", log)


def test_an_action_without_its_own_words_still_reads_in_chinese(app):
    with app.app_context():
        home = db.session.scalar(select(District).where(District.code == "fangzi"))
        entry = audit.record("sign_in", actor="ann", district=home, details={"address": None})
        entry.action = "something_new"
        db.session.commit()
    client = app.test_client()
    sign_in(client, "ann")
    log = _log(client.get("/dispatch/districts/fangzi").get_data(as_text=True))
    assert "其他操作（something_new）" in log
