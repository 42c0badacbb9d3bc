"""Each default is written down once: the configuration reads it from the planner's types."""

from __future__ import annotations

import dataclasses
import os

import pytest

from routes.engine import SearchParams, default_workers
from routes.matrix import GeodesicProvider, SpeedProfile
from routes.problem import PlanSettings
from taxvan.booking import BookingRules
from web.cli import build_parser
from web.config import Config


@pytest.fixture
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("TAXVAN_"):
            monkeypatch.delenv(name)


@pytest.mark.usefixtures("no_env")
def test_config_defaults_are_the_planner_s_own_defaults():
    config, plan, search = Config(), PlanSettings(), SearchParams()
    travel, booking = GeodesicProvider(), BookingRules()
    assert config.remote_threshold_min == plan.remote_threshold_min
    assert config.service_share == plan.service_share
    assert config.time_limit_s == search.time_limit_s
    assert config.workers == default_workers()
    assert config.circuity == travel.circuity
    assert SpeedProfile.parse(config.speeds) == travel.profile
    assert config.slot_minutes == booking.slot_minutes
    assert config.walkin_share == booking.walkin_share
    assert config.booking_opens_days == booking.opens_days_before
    assert config.booking_closes_hours == booking.closes_hours_before
    assert config.max_open_bookings == booking.max_open_bookings


@pytest.mark.usefixtures("no_env")
def test_config_follows_a_changed_planner_default(monkeypatch: pytest.MonkeyPatch):
    import web.config

    monkeypatch.setattr(web.config, "PLAN", PlanSettings(service_share=0.55))
    slow = GeodesicProvider(1.4, SpeedProfile(((3_000, 18.0), (0, 50.0))))
    monkeypatch.setattr(web.config, "TRAVEL", slow)
    config = Config()
    assert config.service_share == 0.55 and config.circuity == 1.4
    assert config.speeds == "3:18,50"


def test_the_environment_still_overrides(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TAXVAN_SERVICE_SHARE", "0.7")
    monkeypatch.setenv("TAXVAN_SPEEDS", "1:10,40")
    config = Config()
    assert config.service_share == 0.7 and config.speeds == "1:10,40"
    assert dataclasses.replace(config, service_share=0.5).service_share == 0.5


def test_speed_profile_text_reads_back():
    for profile in (SpeedProfile(), SpeedProfile(((2_500, 22.5), (0, 60.0)))):
        assert SpeedProfile.parse(profile.text()) == profile


def test_cli_help_names_the_same_defaults():
    text = build_parser()._subparsers._group_actions[0].choices["plan"].format_help()
    plan = PlanSettings()
    assert f"({plan.remote_threshold_min:g})" in " ".join(text.split())
    assert f"({plan.service_share:g})" in text
    assert f"(default {SearchParams().time_limit_s:g})" in text
