import csv
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import DEMO
from web.adapters.maps import external_references
from web.cli import main

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
    import web.adapters.planner
    from routes import planner

    calls: list = []

    def watched(*args, **kwargs):
        result = planner.plan_week(*args, **kwargs)
        calls.append(result)
        return result

    monkeypatch.setattr(web.adapters.planner, "plan_week", watched)
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

    from web.db.models import PublishedWeek
    from web.extensions import db

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


def test_check_data_counts_calendar_days_apart_from_published_years(tmp_path: Path, capsys):
    folder = tmp_path / "d"
    shutil.copytree(DEMO, folder)
    (folder / "calendar.csv").write_text(
        "date,kind,name,name_en\n"
        "2027-01-01,schedule,国务院办公厅关于2027年部分节假日安排的通知,\n"
        "2027-02-08,holiday,春节,Spring Festival\n"
        "2027-02-20,workday,春节调休,Spring Festival make-up day\n",
        encoding="utf-8",
    )
    assert main(["check-data", "--data", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "2 calendar day(s), the holiday schedule of 1 year(s)" in out


def _first_visit(out: Path) -> dict[str, str]:
    """The first visit of an hour or less: pinned at 10:00 it can hold before lunch (a key
    project site's half-day visit cannot, and the short search may put one first)."""

    def minutes(hhmm: str) -> int:
        h, m = hhmm.split(":")
        return int(h) * 60 + int(m)

    with (out / "timetable.csv").open(encoding="utf-8-sig") as f:
        return next(r for r in csv.DictReader(f) if minutes(r["end"]) - minutes(r["start"]) <= 60)


def test_plan_with_adjustments_prints_the_diff_against_the_published_timetable(planned, tmp_path):
    """`--adjust` pins a stop to another weekday and time; `--against` and `taxvan diff` show
    its visit moved with the reason "pinned"; the other changes say theirs."""
    out49, _, cache = planned
    first = _first_visit(out49)
    day = "Thu" if first["weekday"] != "Thu" else "Tue"
    adjust = tmp_path / "adjust.csv"
    adjust.write_text(
        f"action,stop_id,weekday,start,value\npin,{first['stop_id']},{day},10:00,\n"
        "exclude_day,,Fri,,\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    text = run_cli(
        out, cache, "2026-W49", "--adjust", str(adjust), "--against", str(out49 / "timetable.csv")
    )
    assert "Planning the weekly template" in text, "changed adjustments plan a new template"
    assert "Changes to the published timetable of 2026-W49:" in text
    mine = f"({first['stop_id']}):"  # its own line, not another's "made room for stop ..."
    moved = [line for line in text.splitlines() if mine in line and "moved" in line]
    assert moved and f"-> {day} " in moved[0] and "10:00-" in moved[0]
    assert (
        f"[pinned: the dispatcher pinned it: stop {first['stop_id']} pinned to {day} 10:00]"
        in (moved[0])
    )
    assert (timetable(out)[first["stop_id"]][:2]) == (day, "10:00")
    assert all(r[0] != "Fri" for r in timetable(out).values())
    doc = json.loads((out / "timetable.json").read_text(encoding="utf-8"))
    assert doc["adjustments"]["exclude_weekdays"] == ["Fri"]
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert (
            main(["diff", "--old", str(out49 / "timetable.csv"), "--new", str(out), "--json"]) == 0
        )
    diff = json.loads(buf.getvalue())
    mine = [c for c in diff["changes"] if c["stop_id"] == first["stop_id"]]
    assert mine[0]["reason"] == "pinned" and mine[0]["new"]["start"] == "10:00"
    assert {c["reason"] for c in diff["changes"] if c["old"] and c["old"]["weekday"] == "Fri"} <= {
        "day_excluded"
    }


def test_a_bad_adjustments_file_names_every_bad_row_and_column(planned, tmp_path, capsys):
    _, _, cache = planned
    adjust = tmp_path / "adjust.csv"
    adjust.write_text(
        "action,stop_id,weekday,start,value\n"
        "pin,370704007238,Someday,10:00,\n"
        "pin,370704007238,Tue,25:00,\n"
        "move,370704007238,,,\n"
        "visits,370704007238,,,two\n"
        "exclude_day,,,,\n",
        encoding="utf-8",
    )
    code = main(["plan", "--week", "2026-W49", "--cache-dir", str(cache), "--adjust", str(adjust)])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    for where in (
        "row 2, column 'weekday'",
        "row 3, column 'start'",
        "row 4, column 'action'",
        "row 5, column 'value'",
        "row 6, column 'weekday'",
    ):
        assert where in err, err
    adjust.write_text(
        "action,stop_id,weekday,start,value\npin,no-such-stop,Tue,,\nexclude_day,,Sat,,\n",
        encoding="utf-8",
    )
    code = main(["plan", "--week", "2026-W49", "--cache-dir", str(cache), "--adjust", str(adjust)])
    err = capsys.readouterr().err
    assert code == 1 and "stop no-such-stop: pin: no such stop" in err
    assert "Sat: exclude day: no van works on this weekday anyway" in err


def test_previous_plans_near_the_published_template_and_fresh_from_scratch(
    planned, tmp_path, capsys
):
    """`--previous` names the published week's template.json: the pinned week is planned
    near it (timetable.json says so, and `taxvan diff` gives no "replanned"); `--fresh`
    plans from scratch; a file that is not a template is named."""
    out49, _, _ = planned
    first = _first_visit(out49)
    day = "Thu" if first["weekday"] != "Thu" else "Tue"
    adjust = tmp_path / "adjust.csv"
    adjust.write_text(
        f"action,stop_id,weekday,start,value\npin,{first['stop_id']},{day},,\n", "utf-8"
    )
    previous = out49 / "template.json"
    near = tmp_path / "near"
    text = run_cli(
        near, tmp_path / "cache", "2026-W49", "--adjust", str(adjust), "--previous", str(previous)
    )
    assert f"near the previous template ({previous})" in text
    doc = json.loads((near / "timetable.json").read_text(encoding="utf-8"))
    assert doc["template_near"] == str(previous) and doc["template_reused"] is False
    assert timetable(near)[first["stop_id"]][0] == day
    capsys.readouterr()
    assert main(["diff", "--old", str(out49 / "timetable.csv"), "--new", str(near), "--json"]) == 0
    reasons = {c["reason"] for c in json.loads(capsys.readouterr().out)["changes"]}
    assert "pinned" in reasons and "replanned" not in reasons

    fresh = tmp_path / "fresh"
    extra = ("--adjust", str(adjust), "--previous", str(previous), "--fresh")
    run_cli(fresh, tmp_path / "cache", "2026-W49", *extra)
    doc = json.loads((fresh / "timetable.json").read_text(encoding="utf-8"))
    assert doc["template_near"] is None

    bad = tmp_path / "template.json"
    bad.write_text("[]", "utf-8")
    args = ["--week", "2026-W49", "--time-limit", "1", "--cache-dir", str(tmp_path / "c2")]
    args += ["--out", str(tmp_path / "bad"), "--adjust", str(adjust), "--previous", str(bad)]
    code = main(["plan", *args])
    assert code == 1
    assert f"the previous template {bad} is not a template" in capsys.readouterr().err
