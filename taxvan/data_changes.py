"""What a district's new data changes, field by field, against the data it has now.

An import's preview must say what each item gains or loses before anything is saved: a stop
renamed or moved (and how far: a move of 30 m is a new survey, one of 3 km a new place the
public must be told of), a van's new shift or lunch, a new hall, a redrawn outline. Counting
added and changed rows says none of that. `data_changes` compares two loaded data folders and
says it in `Message`s, so the console shows it in the reader's language.

Taxpayers are left out: the registry is private, and the console shows only its counts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from taxvan.clock import hhmm
from taxvan.dataset import Dataset
from taxvan.fleet import Van
from taxvan.messages import N_, Message, message
from taxvan.places import Depot, Stop, StopKind, Street
from taxvan.services import Service
from taxvan.workdays import CalendarDay

Change = Literal["added", "changed", "removed"]
KINDS = ("hall", "outline", "vans", "streets", "stops", "services", "calendar")
"""The kinds of item, in the order a preview lists them (fewest and weightiest first)."""

MOVE_TOLERANCE_M = 1.0
"""A point that moved less than this has not moved (rounding in a spreadsheet)."""

_WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))
_STOP_KINDS = {
    StopKind.VILLAGE: N_("village committee"),
    StopKind.COMMUNITY: N_("community"),
    StopKind.INDUSTRIAL_PARK: N_("industrial park"),
    StopKind.KEY_PROJECT: N_("key project"),
}
_SOURCES = {
    "surveyed": N_("surveyed"),
    "placed": N_("placed on the map"),
    "approximate": N_("approximate"),
}


@dataclass(frozen=True)
class ItemChange:
    """One item (a stop, a van, the hall...) added, changed or removed."""

    kind: str
    """One of `KINDS`."""
    id: str
    name: str
    change: Change
    fields: tuple[Message, ...] = ()
    """For a changed item, each changed field in words ("moved 120 m", "shift: 08:30–16:30 →
    09:00–17:00"), in the order of the item's fields."""


@dataclass(frozen=True)
class DataChanges:
    """Every item an import adds, changes or removes, kind by kind (`KINDS` order)."""

    items: tuple[ItemChange, ...]

    def of(self, kind: str, change: Change | None = None) -> list[ItemChange]:
        """The items of one kind, all or only those `change`d so."""
        return [i for i in self.items if i.kind == kind and change in (None, i.change)]

    def item(self, kind: str, ident: str) -> ItemChange | None:
        return next((i for i in self.items if i.kind == kind and i.id == ident), None)

    def __bool__(self) -> bool:
        return bool(self.items)


def metres_between(lat0: float, lon0: float, lat1: float, lon1: float) -> float:
    """Great-circle distance in metres (haversine on a sphere of the Earth's mean radius)."""
    p0, p1 = math.radians(lat0), math.radians(lat1)
    dp, dl = p1 - p0, math.radians(lon1 - lon0)
    h = math.sin(dp / 2) ** 2 + math.cos(p0) * math.cos(p1) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000.0 * math.asin(min(1.0, math.sqrt(h)))


def data_changes(
    old: Dataset | None,
    new: Dataset,
    old_outline: Any = None,
    new_outline: Any = None,
) -> DataChanges:
    """What `new` changes against `old` (None: a district with no data yet, so everything is
    added), each item with its changed fields. Outlines are shapely geometries (WGS-84
    lon/lat) or None when the folder has none."""
    streets = {s.code: s.name for s in (*(old.streets if old else ()), *new.streets)}
    items: list[ItemChange] = [*_hall(old.depot if old else None, new.depot)]
    items += _outline(old_outline, new_outline)
    items += _compare("vans", old.vans if old else (), new.vans, lambda v: v.id, _van_fields)
    items += _compare(
        "streets", old.streets if old else (), new.streets, lambda s: s.code, _street_fields
    )
    items += _compare(
        "stops",
        old.stops if old else (),
        new.stops,
        lambda s: s.id,
        lambda a, b: _stop_fields(a, b, streets),
    )
    items += _compare(
        "services", old.services if old else (), new.services, lambda s: s.code, _service_fields
    )
    items += _calendar(old.calendar if old else (), new.calendar)
    return DataChanges(tuple(items))


def _compare(
    kind: str,
    old: Iterable[Any],
    new: Iterable[Any],
    key: Callable[[Any], str],
    fields: Callable[[Any, Any], list[Message]],
) -> list[ItemChange]:
    """Items of one kind by their id: added and changed in the new file's order, then the
    removed ones in the old file's order."""
    before = {key(x): x for x in old}
    after = {key(x): x for x in new}
    out = []
    for ident, item in after.items():
        if ident not in before:
            out.append(ItemChange(kind, ident, _name(item), "added"))
        elif changed := fields(before[ident], item):
            out.append(ItemChange(kind, ident, _name(item), "changed", tuple(changed)))
    out += [
        ItemChange(kind, ident, _name(item), "removed")
        for ident, item in before.items()
        if ident not in after
    ]
    return out


def _name(item: Any) -> str:
    return str(getattr(item, "name", None) or getattr(item, "name_zh", ""))


def _was(template: str, old: Any, new: Any) -> Message:
    return message(template, old=old, new=new)


def _moved(lat0: float, lon0: float, lat1: float, lon1: float) -> list[Message]:
    metres = metres_between(lat0, lon0, lat1, lon1)
    if metres < MOVE_TOLERANCE_M:
        return []
    return [message(N_("moved %(metres)s m"), metres=f"{metres:,.0f}")]


def _stop_fields(old: Stop, new: Stop, streets: dict[str, str]) -> list[Message]:
    out = []
    if old.name != new.name:
        out.append(_was(N_("name: %(old)s → %(new)s"), old.name, new.name))
    out += _moved(old.lat, old.lon, new.lat, new.lon)
    if old.street_code != new.street_code:
        out.append(
            _was(
                N_("street: %(old)s → %(new)s"),
                streets.get(old.street_code, old.street_code),
                streets.get(new.street_code, new.street_code),
            )
        )
    if old.kind != new.kind:
        out.append(
            _was(
                N_("kind: %(old)s → %(new)s"),
                message(_STOP_KINDS[old.kind]),
                message(_STOP_KINDS[new.kind]),
            )
        )
    if old.coord_source != new.coord_source:
        out.append(_source(old.coord_source, new.coord_source))
    return out


def _source(old: str, new: str) -> Message:
    return _was(
        N_("position: %(old)s → %(new)s"),
        message(_SOURCES.get(old, old)),
        message(_SOURCES.get(new, new)),
    )


def _street_fields(old: Street, new: Street) -> list[Message]:
    out = []
    if old.name != new.name:
        out.append(_was(N_("name: %(old)s → %(new)s"), old.name, new.name))
    if old.name_en != new.name_en:
        out.append(_was(N_("English name: %(old)s → %(new)s"), old.name_en, new.name_en))
    if old.served != new.served:
        out.append(message(N_("now served") if new.served else N_("no longer served")))
    return out


def _service_fields(old: Service, new: Service) -> list[Message]:
    out = []
    if old.name_zh != new.name_zh:
        out.append(_was(N_("name: %(old)s → %(new)s"), old.name_zh, new.name_zh))
    if old.name_en != new.name_en:
        out.append(_was(N_("English name: %(old)s → %(new)s"), old.name_en, new.name_en))
    if old.minutes != new.minutes:
        out.append(_was(N_("minutes: %(old)s → %(new)s"), old.minutes, new.minutes))
    if old.materials_zh != new.materials_zh or old.materials_en != new.materials_en:
        out.append(message(N_("the materials to bring changed")))
    return out


def _shift(v: Van) -> str:
    return f"{hhmm(v.shift_start)}–{hhmm(v.shift_end)}"


def _lunch(v: Van) -> Message:
    return message(
        N_("%(minutes)s min between %(earliest)s and %(latest)s"),
        minutes=v.lunch_minutes,
        earliest=hhmm(v.lunch_earliest),
        latest=hhmm(v.lunch_latest),
    )


def _days(days: frozenset[int]) -> Message | str:
    return _day_list(sorted(days))


def _day_list(days: Sequence[int]) -> Message | str:
    """Weekday names one after another, each translated."""
    if not days:
        return ""
    first: Message = message(_WEEKDAYS[days[0]])
    if len(days) == 1:
        return first
    return message(N_("%(first)s, %(rest)s"), first=first, rest=_day_list(days[1:]))


def _van_fields(old: Van, new: Van) -> list[Message]:
    out = []
    if old.name != new.name:
        out.append(_was(N_("name: %(old)s → %(new)s"), old.name, new.name))
    if old.counters != new.counters:
        out.append(_was(N_("counters: %(old)s → %(new)s"), old.counters, new.counters))
    if (old.shift_start, old.shift_end) != (new.shift_start, new.shift_end):
        out.append(_was(N_("shift: %(old)s → %(new)s"), _shift(old), _shift(new)))
    if (old.lunch_minutes, old.lunch_earliest, old.lunch_latest) != (
        new.lunch_minutes,
        new.lunch_earliest,
        new.lunch_latest,
    ):
        out.append(_was(N_("lunch: %(old)s → %(new)s"), _lunch(old), _lunch(new)))
    if old.weekdays != new.weekdays:
        out.append(
            _was(N_("working days: %(old)s → %(new)s"), _days(old.weekdays), _days(new.weekdays))
        )
    return out


def _hall(old: Depot | None, new: Depot) -> list[ItemChange]:
    if old is None:
        return [ItemChange("hall", new.id, new.name, "added")]
    out = []
    if old.id != new.id:
        out.append(_was(N_("id: %(old)s → %(new)s"), old.id, new.id))
    if old.name != new.name:
        out.append(_was(N_("name: %(old)s → %(new)s"), old.name, new.name))
    out += _moved(old.lat, old.lon, new.lat, new.lon)
    if old.coord_quality != new.coord_quality:
        out.append(_source(old.coord_quality, new.coord_quality))
    return [ItemChange("hall", new.id, new.name, "changed", tuple(out))] if out else []


def area_km2(geometry: Any) -> float:
    """A WGS-84 (lon/lat) polygon's area in km², on a local equal-area scale: near enough for
    saying how much a county's outline grew or shrank."""
    if geometry.is_empty:
        return 0.0
    lat = math.radians(geometry.centroid.y)
    km_per_degree = 111.32
    return float(geometry.area) * km_per_degree**2 * math.cos(lat)


OUTLINE_TOLERANCE_DEG = 1e-6
"""Vertices closer than this (about 0.1 m) are the same: a file saved again is no new outline."""


def _outline(old: Any, new: Any) -> list[ItemChange]:
    if old is None and new is None:
        return []
    if old is None:
        return [ItemChange("outline", "outline", "", "added")]
    if new is None:
        return [ItemChange("outline", "outline", "", "removed")]
    if old.equals_exact(new, OUTLINE_TOLERANCE_DEG) or old.symmetric_difference(new).area < (
        OUTLINE_TOLERANCE_DEG**2
    ):
        return []
    was, now = area_km2(old), area_km2(new)
    return [
        ItemChange(
            "outline",
            "outline",
            "",
            "changed",
            (
                _was(N_("area: %(old)s km² → %(new)s km²"), f"{was:,.1f}", f"{now:,.1f}"),
                message(
                    N_("%(km2)s km² added, %(gone)s km² left out"),
                    km2=f"{area_km2(new.difference(old)):,.1f}",
                    gone=f"{area_km2(old.difference(new)):,.1f}",
                ),
            ),
        )
    ]


def _calendar(old: Iterable[Any], new: Iterable[Any]) -> list[ItemChange]:
    """Days of the dispatcher's calendar file: each added, changed or removed day."""
    before = {c.date.isoformat(): c for c in old if isinstance(c, CalendarDay)}
    after = {c.date.isoformat(): c for c in new if isinstance(c, CalendarDay)}

    def fields(a: CalendarDay, b: CalendarDay) -> list[Message]:
        out = []
        if a.working != b.working:
            out.append(message(N_("now a working day") if b.working else N_("now a holiday")))
        if a.name != b.name:
            out.append(_was(N_("name: %(old)s → %(new)s"), a.name, b.name))
        return out

    return _compare("calendar", before.values(), after.values(), _day_key, fields)


def _day_key(c: CalendarDay) -> str:
    return c.date.isoformat()
