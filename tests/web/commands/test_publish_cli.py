"""`flask --app app publish` with bookings on visits the new version moves or removes: it
lists them and refuses until --move-affected or --cancel-affected REASON decides; both
databases. The planner is replaced by a hand-made draft so the affected bookings are known."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.web.operations.test_publishing import (
    PHONE,
    _affected_draft,
    _booking,
    _versions,
)


@pytest.fixture
def affected(app, monkeypatch):
    codes, draft = _affected_draft(app)
    import web.commands as commands

    monkeypatch.setattr(commands, "plan_draft", lambda *args, **kwargs: draft)
    return codes


def _run(app, *args: str):
    return app.test_cli_runner().invoke(args=["publish", "--week", "2026-W49", *args])


def test_publish_lists_the_affected_bookings_and_refuses_without_a_decision(app, affected):
    result = _run(app)
    assert result.exit_code == 1
    out = result.output
    assert "2 bookings are on visits this version moves or removes" in out
    assert affected["a"] in out and affected["b"] in out and affected["c"] not in out
    assert PHONE in out and "纳税人0" in out
    assert "no visit of the stop has room: cancel only" in out
    assert "not published" in out and "Traceback" not in out
    assert _versions(app) == [1]


def test_move_affected_is_refused_whole_when_one_booking_has_nowhere_to_go(app, affected):
    before = {k: _booking(app, c) for k, c in affected.items()}
    result = _run(app, "--move-affected")
    assert result.exit_code == 1
    assert f"booking {affected['b']}: no visit" in result.output
    assert _versions(app) == [1]
    assert {k: _booking(app, c) for k, c in affected.items()} == before


def test_cancel_affected_publishes_and_writes_the_taxpayers_to_tell(app, affected, tmp_path: Path):
    out = tmp_path / "tell.xlsx"
    result = _run(app, "--cancel-affected", "车辆检修", "--notices", str(out))
    assert result.exit_code == 0, result.output
    assert "published 2026-W49 version 2" in result.output
    assert "carried 1, moved 0, cancelled 2" in result.output
    assert f"tell {PHONE} {affected['a']}: cancelled: 车辆检修" in result.output
    assert _versions(app) == [1, 2]
    assert _booking(app, affected["c"])["version"] == 2
    from openpyxl import load_workbook

    rows = [[c.value for c in r] for r in load_workbook(out).active.iter_rows()]
    assert rows[0][:3] == ["手机号", "姓名", "预约码"]
    assert {r[2] for r in rows[1:]} == {affected["a"], affected["b"]}
    assert all(r[6] == "已取消：车辆检修" for r in rows[1:])


def test_contradicting_or_empty_decisions_are_usage_errors(app, affected):
    assert _run(app, "--move-affected", "--cancel-affected", "x").exit_code == 2
    assert _run(app, "--cancel-affected", "  ").exit_code == 2
    assert _run(app, "--notices", "list.txt").exit_code == 2
    assert _versions(app) == [1]
