"""An import's changes, field by field: what a dispatcher reads before confirming."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from shapely.geometry import box

from taxvan.data_changes import data_changes, metres_between
from taxvan.dataset import Dataset
from taxvan.fleet import Van
from taxvan.messages import render
from taxvan.places import Depot, Stop, StopKind, Street
from taxvan.services import Service
from taxvan.workdays import CalendarDay

HALL = Depot("H1", "办税服务厅", 30.0, 110.0)
STREETS = (Street("S1", "东街道", "East", True), Street("S2", "西街道", "West", True))
STOPS = (
    Stop("P1", "一村", "S1", StopKind.VILLAGE, 30.01, 110.01),
    Stop("P2", "二村", "S1", StopKind.VILLAGE, 30.02, 110.02),
    Stop("P3", "三社区", "S2", StopKind.COMMUNITY, 30.03, 110.03),
)
VAN = Van("V1", "一号车", 2, 8 * 60 + 30, 16 * 60 + 30, 60, 11 * 60 + 30, 13 * 60 + 30)
SERVICE = Service("consult", "咨询", "Consulting", 15, "身份证", "ID card")
OLD = Dataset("d", HALL, STREETS, STOPS, (), (SERVICE,), (VAN,))


def _texts(change) -> list[str]:
    return [str(f) for f in change.fields]


def test_the_same_data_changes_nothing() -> None:
    assert not data_changes(
        OLD, dataclasses.replace(OLD), box(110, 30, 111, 31), box(110, 30, 111, 31)
    )


def test_a_renamed_and_moved_stop_says_its_new_name_and_how_far_it_moved() -> None:
    moved = dataclasses.replace(STOPS[0], name="一村（新址）", lat=STOPS[0].lat + 0.01)
    new = dataclasses.replace(OLD, stops=(moved, *STOPS[1:]))
    changes = data_changes(OLD, new)
    [item] = changes.items
    assert (item.kind, item.id, item.change) == ("stops", "P1", "changed")
    assert _texts(item) == ["name: 一村 → 一村（新址）", "moved 1,112 m"]


def test_a_stop_on_another_street_names_both_streets_and_its_new_kind() -> None:
    other = dataclasses.replace(STOPS[1], street_code="S2", kind=StopKind.COMMUNITY)
    changes = data_changes(OLD, dataclasses.replace(OLD, stops=(STOPS[0], other, STOPS[2])))
    assert _texts(changes.item("stops", "P2")) == [
        "street: 东街道 → 西街道",
        "kind: village committee → community",
    ]


def test_a_stop_nudged_by_rounding_has_not_moved() -> None:
    nudged = dataclasses.replace(STOPS[0], lat=STOPS[0].lat + 1e-6)  # about 0.1 m
    assert not data_changes(OLD, dataclasses.replace(OLD, stops=(nudged, *STOPS[1:])))


def test_added_and_removed_stops_are_listed_by_name() -> None:
    added = Stop("P4", "四村", "S2", StopKind.VILLAGE, 30.04, 110.04)
    changes = data_changes(OLD, dataclasses.replace(OLD, stops=(*STOPS[:2], added)))
    assert [(i.id, i.name, i.change) for i in changes.of("stops")] == [
        ("P4", "四村", "added"),
        ("P3", "三社区", "removed"),
    ]


def test_a_vans_new_shift_lunch_counters_and_days_are_each_said() -> None:
    van = dataclasses.replace(
        VAN,
        counters=3,
        shift_start=9 * 60,
        shift_end=17 * 60,
        lunch_minutes=45,
        weekdays=frozenset(range(6)),
    )
    [item] = data_changes(OLD, dataclasses.replace(OLD, vans=(van,))).of("vans")
    assert item.change == "changed"
    assert _texts(item) == [
        "counters: 2 → 3",
        "shift: 08:30–16:30 → 09:00–17:00",
        "lunch: 60 min between 11:30 and 13:30 → 45 min between 11:30 and 13:30",
        "working days: Mon, Tue, Wed, Thu, Fri → Mon, Tue, Wed, Thu, Fri, Sat",
    ]


def test_a_new_van_and_a_van_gone() -> None:
    two = dataclasses.replace(VAN, id="V2", name="二号车")
    changes = data_changes(OLD, dataclasses.replace(OLD, vans=(two,)))
    assert [(i.id, i.change) for i in changes.of("vans")] == [("V2", "added"), ("V1", "removed")]


def test_a_moved_and_renamed_hall() -> None:
    hall = dataclasses.replace(HALL, name="新办税服务厅", lon=HALL.lon + 0.02)
    [item] = data_changes(OLD, dataclasses.replace(OLD, depot=hall)).of("hall")
    assert item.change == "changed"
    distance = metres_between(HALL.lat, HALL.lon, hall.lat, hall.lon)
    assert _texts(item) == ["name: 办税服务厅 → 新办税服务厅", f"moved {distance:,.0f} m"]
    assert 1_900 < distance < 2_000


def test_a_redrawn_outline_says_its_area_before_and_after() -> None:
    old, new = box(110, 30, 110.1, 30.1), box(110, 30, 110.2, 30.1)
    [item] = data_changes(OLD, OLD, old, new).of("outline")
    assert item.change == "changed"
    area, diff = _texts(item)
    assert area.startswith("area: 107.") and "→ 214." in area
    assert diff.startswith("107.") and diff.endswith("km² added, 0.0 km² left out")


def test_an_outline_added_or_dropped() -> None:
    assert [i.change for i in data_changes(OLD, OLD, None, box(110, 30, 111, 31)).items] == [
        "added"
    ]
    assert [i.change for i in data_changes(OLD, OLD, box(110, 30, 111, 31), None).items] == [
        "removed"
    ]


def test_streets_and_services_changes() -> None:
    street = dataclasses.replace(STREETS[1], served=False)
    service = dataclasses.replace(SERVICE, minutes=20, materials_zh="身份证、营业执照")
    new = dataclasses.replace(OLD, streets=(STREETS[0], street), services=(service,))
    changes = data_changes(OLD, new)
    assert _texts(changes.item("streets", "S2")) == ["no longer served"]
    assert _texts(changes.item("services", "consult")) == [
        "minutes: 15 → 20",
        "the materials to bring changed",
    ]


def test_a_calendar_day_turned_into_a_working_day() -> None:
    day = dt.date(2026, 10, 10)
    old = dataclasses.replace(OLD, calendar=(CalendarDay(day, False, "调休", "Day off", "c"),))
    new = dataclasses.replace(OLD, calendar=(CalendarDay(day, True, "调休", "Day off", "c"),))
    [item] = data_changes(old, new).of("calendar")
    assert (item.id, _texts(item)) == ("2026-10-10", ["now a working day"])


def test_a_district_without_data_gets_everything_added() -> None:
    changes = data_changes(None, OLD)
    assert {i.change for i in changes.items} == {"added"}
    assert len(changes.of("stops")) == 3 and len(changes.of("hall")) == 1


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        (
            {
                "shift: %(old)s → %(new)s": "班次：%(old)s → %(new)s",
                "%(minutes)s min between %(earliest)s and %(latest)s": (
                    "%(earliest)s 至 %(latest)s 之间 %(minutes)s 分钟"
                ),
                "lunch: %(old)s → %(new)s": "午休：%(old)s → %(new)s",
            },
            [
                "班次：08:30–16:30 → 09:00–17:00",
                "午休：11:30 至 13:30 之间 60 分钟 → 11:30 至 13:30 之间 30 分钟",
            ],
        )
    ],
)
def test_the_changes_read_in_the_readers_language(table, expected) -> None:
    van = dataclasses.replace(VAN, shift_start=9 * 60, shift_end=17 * 60, lunch_minutes=30)
    [item] = data_changes(OLD, dataclasses.replace(OLD, vans=(van,))).of("vans")
    assert [render(f, lambda t: table.get(t, t)) for f in item.fields] == expected
