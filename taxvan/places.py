"""Where the van goes: the district's depot, its streets (sub-districts) and the stops."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

LatLon = tuple[float, float]
"""WGS-84 decimal degrees, always (lat, lon), as geopy and Folium take them."""


class StopKind(StrEnum):
    VILLAGE = "village"
    COMMUNITY = "community"
    INDUSTRIAL_PARK = "industrial_park"
    KEY_PROJECT = "key_project"


STOP_KIND_ZH = {
    StopKind.VILLAGE: "村委会",
    StopKind.COMMUNITY: "社区",
    StopKind.INDUSTRIAL_PARK: "工业园区",
    StopKind.KEY_PROJECT: "重点项目",
}


@dataclass(frozen=True, slots=True)
class Depot:
    """The tax service hall (办税服务厅) the van leaves from and returns to each day."""

    id: str
    name: str
    lat: float
    lon: float
    coord_quality: str = "surveyed"

    @property
    def point(self) -> LatLon:
        return (self.lat, self.lon)


@dataclass(frozen=True, slots=True)
class Street:
    """A sub-district (街道): the unit the week's service time is shared out by.

    `served` streets get van visits; the others are close enough to the hall.
    """

    code: str
    name: str
    name_en: str
    served: bool


@dataclass(frozen=True, slots=True)
class Stop:
    """A fixed point the van parks at (服务点)."""

    id: str
    name: str
    street_code: str
    kind: StopKind
    lat: float
    lon: float
    coord_source: str = "surveyed"

    @property
    def point(self) -> LatLon:
        return (self.lat, self.lon)
