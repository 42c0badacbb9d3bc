"""`routes.plan_week`: the one entry point, its template reuse and its fingerprint."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

import routes
from routes.check import check_plan
from routes.engine import SearchParams
from routes.matrix import CachedProvider, GeodesicProvider
from routes.planner import plan_week, template_fingerprint
from routes.problem import PlanSettings
from routes.template import template_to_dict
from taxvan.errors import TaxvanError
from taxvan.workdays import CalendarDay


def test_the_package_exports_the_entry_point():
    assert routes.plan_week is plan_week


def test_a_second_call_reuses_the_saved_template(demo_week, demo_dataset, matrix_cache):
    assert not demo_week.template_reused, "the session's first call planned it"
    assert demo_week.template_path is not None and demo_week.template_path.exists()
    searched = []
    messages: list[object] = []
    again = plan_week(
        demo_dataset,
        "2026-W50",
        CachedProvider(GeodesicProvider(), matrix_cache),
        params=SearchParams(time_limit_s=3),
        templates=demo_week.template_path.parent,
        say=messages.append,
        progress=lambda *_: searched.append(1),
    )
    assert again.template_reused and not searched, "no search: the template is applied"
    assert any(str(m).startswith("Using the weekly template") for m in messages)
    assert again.fingerprint == demo_week.fingerprint
    saved, first = (template_to_dict(t, "") for t in (again.template, demo_week.template))
    assert saved["routes"] == first["routes"] and saved["dropped"] == first["dropped"]
    assert again.plan.week == "2026-W50" and check_plan(again.plan, again.problem) == []
    times49 = {v.key: (v.date.weekday(), v.start) for v in demo_week.plan.visits}
    times50 = {v.key: (v.date.weekday(), v.start) for v in again.plan.visits}
    both = times49.keys() & times50.keys()
    assert both and all(times49[k] == times50[k] for k in both)


def test_a_changed_matrix_provider_plans_a_new_template(demo_week, demo_dataset, tmp_path):
    slower = GeodesicProvider(circuity=1.5)
    assert slower.key() != GeodesicProvider().key()
    other = plan_week(
        demo_dataset,
        "2026-W49",
        CachedProvider(slower, tmp_path / "matrices"),
        params=SearchParams(time_limit_s=1),
        templates=demo_week.template_path.parent,
    )
    assert not other.template_reused
    assert other.fingerprint != demo_week.fingerprint
    assert other.template_path != demo_week.template_path and other.template_path.exists()
    assert check_plan(other.plan, other.problem) == []


def test_the_fingerprint_follows_data_settings_and_travel_model(demo_dataset):
    provider = GeodesicProvider()
    base = template_fingerprint(demo_dataset, provider, PlanSettings())
    copy = dataclasses.replace(demo_dataset, taxpayers=tuple(demo_dataset.taxpayers))
    assert template_fingerprint(copy, GeodesicProvider(), PlanSettings()) == base
    moved = dataclasses.replace(demo_dataset.taxpayers[0], lat=demo_dataset.taxpayers[0].lat + 0.01)
    changed = dataclasses.replace(demo_dataset, taxpayers=(moved, *demo_dataset.taxpayers[1:]))
    assert template_fingerprint(changed, provider, PlanSettings()) != base
    assert template_fingerprint(demo_dataset, provider, PlanSettings(service_share=0.5)) != base
    day = CalendarDay(dt.date(2027, 2, 9), False, "春节", "Spring Festival", "calendar.csv row 2")
    with_calendar = dataclasses.replace(demo_dataset, calendar=(day,))
    assert template_fingerprint(with_calendar, provider, PlanSettings()) == base, (
        "a holiday schedule changes which days run, not the template"
    )
    slow = GeodesicProvider(profile=dataclasses.replace(provider.profile, bands=((0, 30.0),)))
    assert template_fingerprint(demo_dataset, slow, PlanSettings()) != base


def test_without_a_templates_folder_nothing_is_kept(demo_dataset, matrix_cache, tmp_path):
    planned = plan_week(
        demo_dataset,
        "2026-W49",
        CachedProvider(GeodesicProvider(), matrix_cache),
        params=SearchParams(time_limit_s=1),
    )
    assert planned.template_path is None and not planned.template_reused
    assert planned.plan.visits


def test_a_bad_week_is_a_clear_error(demo_dataset):
    with pytest.raises(TaxvanError, match="2026 has no ISO week 60"):
        plan_week(demo_dataset, "2026-W60")


def test_the_problem_keeps_a_stop_index(demo_week, demo_dataset, matrix_cache, tmp_path):
    for problem in (demo_week.problem, demo_week.standard.paired):
        stops = problem.dataset.stops
        assert [problem.stop_node(s.id) for s in stops] == list(range(1, len(stops) + 1))
        with pytest.raises(KeyError):
            problem.stop_node("no such stop")
    # the catchment choice has every-other-week stops, paired into shared places of the template
    catchment = plan_week(
        demo_dataset,
        "2026-W49",
        CachedProvider(GeodesicProvider(), matrix_cache),
        PlanSettings(stop_choice="catchment"),
        params=SearchParams(time_limit_s=1),
        templates=tmp_path,
    )
    pairs = set(catchment.standard.pairs)
    assert pairs and pairs <= catchment.standard.paired.stop_index.keys()
    assert not pairs & catchment.problem.stop_index.keys()


def test_the_week_carries_its_year_and_number(demo_week):
    assert (demo_week.problem.week.year, demo_week.problem.week.number) == (2026, 49)
    assert demo_week.problem.week.label == "2026-W49"
    assert demo_week.standard.base.week.label == "template (2026-W49)"


def test_the_fingerprint_is_the_same_in_every_process(demo_dataset):
    """`taxvan plan` runs are separate processes: string hashing differs between them, the
    fingerprint must not (else no template would ever be reused)."""
    import os
    import subprocess
    import sys

    from tests.conftest import DEMO, ROOT

    code = (
        "from routes.matrix import GeodesicProvider; from routes.planner import "
        "template_fingerprint; from routes.problem import PlanSettings; from taxvan.io.loaders "
        f"import load_dataset; print(template_fingerprint(load_dataset({str(DEMO)!r}), "
        "GeodesicProvider(), PlanSettings()))"
    )
    here = template_fingerprint(demo_dataset, GeodesicProvider(), PlanSettings())
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == here


def _renamed(dataset):
    """The dataset with a stop, a street, a van, a service and the district renamed."""
    stop, street = dataset.stops[0], dataset.streets[0]
    return dataclasses.replace(
        dataset,
        name=dataset.name + "（新）",
        stops=(dataclasses.replace(stop, name=stop.name + "新村"), *dataset.stops[1:]),
        streets=(
            dataclasses.replace(street, name=street.name + "新", name_en=street.name_en + " New"),
            *dataset.streets[1:],
        ),
        vans=tuple(dataclasses.replace(v, name=v.name + " B") for v in dataset.vans),
        services=tuple(
            dataclasses.replace(s, name_zh=s.name_zh + "新", name_en=s.name_en + " new")
            for s in dataset.services
        ),
    )


def test_renaming_leaves_the_fingerprint(demo_dataset):
    """A typo mended or a village renamed must not plan a new timetable: no name enters the
    planning model. Earlier versions hashed the names (`with_names`), which a rename changes."""
    provider = GeodesicProvider()
    renamed = _renamed(demo_dataset)
    assert template_fingerprint(renamed, provider, PlanSettings()) == template_fingerprint(
        demo_dataset, provider, PlanSettings()
    )
    assert template_fingerprint(
        renamed, provider, PlanSettings(), with_names=True
    ) != template_fingerprint(demo_dataset, provider, PlanSettings(), with_names=True)
    moved = dataclasses.replace(demo_dataset.stops[0], lat=demo_dataset.stops[0].lat + 0.01)
    elsewhere = dataclasses.replace(renamed, stops=(moved, *renamed.stops[1:]))
    assert template_fingerprint(elsewhere, provider, PlanSettings()) != template_fingerprint(
        demo_dataset, provider, PlanSettings()
    ), "a stop moved is still a change"


def test_a_renamed_stop_keeps_the_saved_template_and_its_times(
    demo_week, demo_dataset, matrix_cache
):
    searched = []
    renamed = plan_week(
        _renamed(demo_dataset),
        "2026-W49",
        CachedProvider(GeodesicProvider(), matrix_cache),
        params=SearchParams(time_limit_s=3),
        templates=demo_week.template_path.parent,
        progress=lambda *_: searched.append(1),
    )
    assert renamed.template_reused and not searched
    before = {v.key: (v.date, v.van_id, v.start, v.end) for v in demo_week.plan.visits}
    after = {v.key: (v.date, v.van_id, v.start, v.end) for v in renamed.plan.visits}
    assert after == before
    stop = renamed.dataset.stops[0]
    assert stop.name.endswith("新村") and renamed.dataset.stop(stop.id).name == stop.name


def test_a_template_saved_by_an_earlier_version_is_still_used(
    demo_week, demo_dataset, matrix_cache, tmp_path
):
    """Templates saved before names left the fingerprint are kept under the fingerprint with
    names: upgrading must not plan every district's timetable anew."""
    provider = GeodesicProvider()
    old = template_fingerprint(demo_dataset, provider, PlanSettings(), with_names=True)
    new = template_fingerprint(demo_dataset, provider, PlanSettings())
    assert old != new
    saved = tmp_path / "templates"
    saved.mkdir()
    (saved / f"{old}.json").write_text(demo_week.template_path.read_text("utf-8"), "utf-8")
    searched = []
    again = plan_week(
        demo_dataset,
        "2026-W49",
        CachedProvider(provider, matrix_cache),
        params=SearchParams(time_limit_s=3),
        templates=saved,
        progress=lambda *_: searched.append(1),
    )
    assert again.template_reused and not searched
    assert again.template_path == saved / f"{new}.json" and again.template_path.exists()
    before = {v.key: (v.date, v.start) for v in demo_week.plan.visits}
    assert {v.key: (v.date, v.start) for v in again.plan.visits} == before
