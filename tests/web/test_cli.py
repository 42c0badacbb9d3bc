import csv
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import DEMO
from web.cli import main
from web.maps import external_references

COLUMNS = [
    "date",
    "weekday",
    "van",
    "order",
    "stop_id",
    "stop_name",
    "street",
    "start",
    "end",
    "lat",
    "lon",
]


def run_cli(out: Path, cache: Path, week: str, *extra: str, data: Path = DEMO) -> str:
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(
            [
                "plan",
                "--data",
                str(data),
                "--week",
                week,
                "--out",
                str(out),
                "--time-limit",
                "2",
                "--cache-dir",
                str(cache),
                *extra,
            ]
        )
    assert code == 0
    return buf.getvalue()


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, Path]:
    out = tmp_path_factory.mktemp("plan")
    cache = tmp_path_factory.mktemp("cache")
    return out, run_cli(out, cache, "2026-W49"), cache


def timetable(out: Path) -> dict[str, tuple[str, str, str]]:
    """stop id -> (weekday, start, end) of its first visit in the week."""
    with (out / "timetable.csv").open(encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    out_rows: dict[str, tuple[str, str, str]] = {}
    for r in rows:
        out_rows.setdefault(r["stop_id"], (r["weekday"], r["start"], r["end"]))
    return out_rows


def test_next_week_reuses_the_template_and_keeps_every_stop_s_times(planned, tmp_path):
    out49, _, cache = planned
    text = run_cli(tmp_path, cache, "2026-W50")
    assert "Using the weekly template" in text
    assert "objective" not in text, "no search: the saved template is applied"
    w49, w50 = timetable(out49), timetable(tmp_path)
    both = w49.keys() & w50.keys()
    assert len(both) >= 10
    for stop in both:
        assert w49[stop] == w50[stop], f"stop {stop} moved between weeks"


def test_a_template_searched_for_less_time_than_asked_is_planned_again(planned, tmp_path):
    cache = tmp_path / "cache"
    shutil.copytree(planned[2], cache)
    text = run_cli(tmp_path / "out", cache, "2026-W50", "--time-limit", "3")
    assert "the saved template was searched for 2 s, less than the 3 s asked" in text
    assert "Planning the weekly template" in text


def test_new_template_flag_and_changed_data_plan_a_new_template(planned, tmp_path):
    cache = tmp_path / "cache"
    shutil.copytree(planned[2], cache)
    assert "Planning the weekly template" in run_cli(
        tmp_path / "a", cache, "2026-W50", "--new-template"
    )
    data = tmp_path / "data"
    shutil.copytree(DEMO, data)
    vans = (data / "vans.csv").read_text(encoding="utf-8")
    (data / "vans.csv").write_text(vans.replace("17:00", "16:30"), encoding="utf-8")
    assert "Planning the weekly template" in run_cli(tmp_path / "b", cache, "2026-W50", data=data)


def test_plan_writes_the_four_files_with_the_open_data_columns(planned):
    out, _, _ = planned
    with (out / "timetable.csv").open(encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == COLUMNS
        rows = list(reader)
    assert rows
    for r in rows:
        assert r["date"].startswith("2026-1")
        assert len(r["start"]) == 5 and r["start"][2] == ":" and r["start"] < r["end"]
        assert int(r["start"][3:]) % 15 == 0
    doc = json.loads((out / "timetable.json").read_text(encoding="utf-8"))
    assert doc["columns"] == COLUMNS
    assert [{k: str(v) for k, v in vv.items()} for vv in doc["visits"]] == rows
    assert doc["week"] == "2026-W49" and doc["timezone"] == "Asia/Shanghai"
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    for key in (
        "km_driven",
        "hours_driven",
        "streets",
        "remote_reached",
        "travel_hours_saved",
        "dropped",
    ):
        assert key in report
    assert sum(s["planned_minutes"] for s in report["streets"]) == round(
        report["service_hours"] * 60
    )


def test_plan_prints_progress_and_a_readable_report(planned):
    _, text, _ = planned
    assert "Planning the weekly template" in text and "objective" in text
    assert "remote taxpayers: " in text and "travel saved against the hall" in text
    assert "九龙街道" in text


def test_map_needs_no_internet(planned):
    out, _, _ = planned
    page = (out / "map.html").read_text(encoding="utf-8")
    assert external_references(page) == []
    assert "L.map(" in page and "cdn.jsdelivr" not in page and "jquery" not in page.lower()


def test_errors_are_one_line_without_traceback(tmp_path: Path, capsys):
    assert main(["plan", "--data", str(tmp_path / "nowhere"), "--week", "2026-W49"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("taxvan: error: ") and "data folder not found" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1

    assert main(["plan", "--data", str(DEMO), "--week", "2026-53"]) == 1
    assert "'2026-53' is not an ISO week" in capsys.readouterr().err


def test_check_data_lists_every_problem(tmp_path: Path, capsys):
    folder = tmp_path / "d"
    shutil.copytree(DEMO, folder)
    frame = pd.read_csv(folder / "taxpayers.csv", dtype=str)
    frame.loc[0, "lat"] = "x"
    frame.loc[1, "kind"] = "company"
    frame.to_csv(folder / "taxpayers.csv", index=False)
    assert main(["check-data", "--data", str(folder)]) == 1
    err = capsys.readouterr().err
    assert "taxpayers.csv: row 2, column 'lat'" in err
    assert "taxpayers.csv: row 3, column 'kind'" in err
    assert main(["check-data", "--data", str(DEMO)]) == 0
    assert "OK" in capsys.readouterr().out


def test_flask_command_runs_the_same_planner(tmp_path: Path, plan_week_calls):
    from tests.conftest import _web_config
    from web import create_app

    app = create_app(_web_config(f"sqlite:///{tmp_path / 'cli.sqlite'}", tmp_path / "instance"))
    result = app.test_cli_runner().invoke(
        args=[
            "plan",
            "--data",
            str(DEMO),
            "--week",
            "2026-W50",
            "--out",
            str(tmp_path),
            "--time-limit",
            "1",
            "--cache-dir",
            str(tmp_path / "cache"),
            "--quiet",
        ]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "timetable.csv").exists()
    assert "Plan for 2026-W50" in result.output
    assert [w.plan.week for w in plan_week_calls] == ["2026-W50"]


@pytest.fixture
def plan_week_calls(monkeypatch: pytest.MonkeyPatch) -> list:
    """Every `routes.plan_week` result the web layer asks for, in order (the real planner
    runs; this only watches it)."""
    import web.planning
    from routes import planner

    calls: list = []

    def watched(*args, **kwargs):
        result = planner.plan_week(*args, **kwargs)
        calls.append(result)
        return result

    monkeypatch.setattr(web.planning, "plan_week", watched)
    return calls


def test_the_cli_plans_through_routes_plan_week(planned, tmp_path, plan_week_calls):
    run_cli(tmp_path, planned[2], "2026-W50")
    [week] = plan_week_calls
    assert week.plan.week == "2026-W50" and week.template_reused
    with (tmp_path / "timetable.csv").open(encoding="utf-8-sig") as f:
        assert len(list(csv.DictReader(f))) == len(week.plan.visits)
    doc = json.loads((tmp_path / "timetable.json").read_text(encoding="utf-8"))
    assert doc["generated"].endswith("+08:00"), "China time"


def test_flask_publish_plans_through_routes_plan_week_and_reuses_its_template(
    sqlite_app, plan_week_calls
):
    from sqlalchemy import select

    from web.extensions import db
    from web.models import PublishedWeek

    runner = sqlite_app.test_cli_runner()
    for week in ("2026-W50", "2026-W51"):
        result = runner.invoke(args=["publish", "--week", week, "--time-limit", "1"])
        assert result.exit_code == 0, result.output
        assert f"published {week}" in result.output
    first, second = plan_week_calls
    assert not first.template_reused and second.template_reused
    assert second.template_path == first.template_path
    with sqlite_app.app_context():
        for planned_week in (first, second):
            row = db.session.scalar(
                select(PublishedWeek).where(PublishedWeek.week == planned_week.plan.week)
            )
            assert row is not None and len(row.visits) == len(planned_week.plan.visits)
