"""The planner's cache (weekly templates, travel-time matrices) belongs to one installation: by
default the app keeps it in its instance folder, so two sites on one machine never plan from
each other's template; the `taxvan` command keeps its own folder in the user's cache."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tests.conftest import _dispose, _web_config
from tests.districts import make_county


@pytest.fixture
def no_cache_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No TAXVAN_CACHE_DIR, and the user's cache folder in the test's own folder."""
    monkeypatch.delenv("TAXVAN_CACHE_DIR", raising=False)
    user_cache = tmp_path / "user-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(user_cache))
    return user_cache


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_two_apps_with_different_instance_folders_use_different_planner_caches(
    no_cache_setting: Path, tmp_path: Path
):
    from web import create_app
    from web.adapters.planner import run_plan

    county = make_county(tmp_path / "county")
    apps = []
    for name in ("site-a", "site-b"):
        instance = tmp_path / name
        apps.append(create_app(_web_config(f"sqlite:///{instance / 'db.sqlite'}", instance)))
    a, b = apps
    try:
        cache_a = Path(a.config["TAXVAN"].cache_dir)
        cache_b = Path(b.config["TAXVAN"].cache_dir)
        assert cache_a == (tmp_path / "site-a" / "planner-cache").resolve()
        assert cache_b == (tmp_path / "site-b" / "planner-cache").resolve()

        # site A plans a week: its template and matrices land in its own instance folder
        cfg = dataclasses.replace(
            a.config["TAXVAN"], data_dir=str(county), time_limit_s=1.0, workers=1
        )
        with a.app_context():
            run = run_plan(cfg, "2026-W49", tmp_path / "out-a", say=lambda _m: None)
        assert run.template is not None and run.template.is_relative_to(cache_a)
        kept = _files(cache_a)
        assert any(f.startswith("templates/") for f in kept), kept
        assert any(f.startswith("matrices/") for f in kept), kept
        assert _files(cache_b) == [], "site B sees nothing of site A's cache"
        assert _files(no_cache_setting) == [], "nothing went to the user's shared cache folder"
    finally:
        for app in apps:
            _dispose(app)


def test_the_cache_setting_still_wins_and_the_command_keeps_the_user_cache(
    no_cache_setting: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from web import create_app
    from web.adapters.planner import cache_root
    from web.config import Config

    assert cache_root(Config()) == no_cache_setting / "taxvan", "the taxvan command's default"
    monkeypatch.setenv("TAXVAN_CACHE_DIR", str(tmp_path / "shared"))
    app = create_app(_web_config(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path / "inst"))
    try:
        assert cache_root(app.config["TAXVAN"]) == tmp_path / "shared"
    finally:
        _dispose(app)
