"""A week's open data as a Frictionless Data Package: `datapackage.json` beside the CSV files.

The package describes the two CSV files of a published week, `timetable.csv` (one row per visit,
the planner's `TIMETABLE_COLUMNS`) and `cancelled.csv` (the visits called off since), with a
Table Schema each: the type of every field, its unit or time zone, the primary key (a van's
n-th visit of a day) and the key that ties a cancelled visit to its row of the timetable. A
reader can then load the files typed, or check them (`frictionless validate datapackage.json`).

The files are UTF-8 with a byte-order mark (so Excel shows the Chinese) and CRLF line endings
(RFC 4180), written by `web.adapters.spreadsheets`: a name starting with `=`, `+`, `-` or `@`
is written with a leading apostrophe, so no spreadsheet runs it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from taxvan.timetable import TIMETABLE_COLUMNS
from taxvan.workdays import WEEKDAY_EN

TIMEZONE = "Asia/Shanghai"
TIMETABLE_FILE = "timetable.csv"
CANCELLED_FILE = "cancelled.csv"

_KEY = ["date", "van", "order"]
"""A visit: the van's n-th visit of the day."""

_TIME = {
    "type": "time",
    "format": "%H:%M",
    "timezone": TIMEZONE,
}
_TEXT_NOTE = (
    " A value starting with =, +, - or @ is written with a leading apostrophe, so that "
    "spreadsheets show it as text."
)

_FIELDS: dict[str, dict[str, Any]] = {
    "date": {
        "type": "date",
        "title": "日期 Date",
        "description": "The day of the visit (YYYY-MM-DD), China time.",
        "constraints": {"required": True},
    },
    "weekday": {
        "type": "string",
        "title": "星期 Weekday",
        "description": "The date's weekday, abbreviated in English (Mon ... Sun).",
        "constraints": {"required": True, "enum": list(WEEKDAY_EN)},
    },
    "van": {
        "type": "string",
        "title": "车辆 Van",
        "description": "The van's id in the district's data.",
        "constraints": {"required": True},
    },
    "order": {
        "type": "integer",
        "title": "顺序 Order",
        "description": "The visit's place in the van's route of the day, from 1.",
        "constraints": {"required": True, "minimum": 1},
    },
    "stop_id": {
        "type": "string",
        "title": "停靠点编号 Stop id",
        "description": "The stop's id; it stays the same from week to week.",
        "constraints": {"required": True},
    },
    "stop_name": {
        "type": "string",
        "title": "停靠点 Stop",
        "description": "The stop's name." + _TEXT_NOTE,
        "constraints": {"required": True},
    },
    "street": {
        "type": "string",
        "title": "街道 Sub-district",
        "description": "The sub-district (street or town) the stop belongs to." + _TEXT_NOTE,
        "constraints": {"required": True},
    },
    "start": {
        **_TIME,
        "title": "开始 Start",
        "description": "When the van opens at the stop (HH:MM), China Standard Time "
        "(Asia/Shanghai, UTC+8).",
        "constraints": {"required": True},
    },
    "end": {
        **_TIME,
        "title": "结束 End",
        "description": "When the van closes at the stop (HH:MM), China Standard Time "
        "(Asia/Shanghai, UTC+8).",
        "constraints": {"required": True},
    },
    "lat": {
        "type": "number",
        "title": "纬度 Latitude",
        "description": "The stop's latitude in decimal degrees, WGS-84 (EPSG:4326).",
        "unit": "degree",
        "constraints": {"required": True, "minimum": -90, "maximum": 90},
    },
    "lon": {
        "type": "number",
        "title": "经度 Longitude",
        "description": "The stop's longitude in decimal degrees, WGS-84 (EPSG:4326).",
        "unit": "degree",
        "constraints": {"required": True, "minimum": -180, "maximum": 180},
    },
    "cancelled_at": {
        "type": "datetime",
        "title": "取消时间 Cancelled at",
        "description": "When the visit was called off (ISO 8601 with the offset, +08:00).",
        "timezone": TIMEZONE,
        "constraints": {"required": True},
    },
    "reason": {
        "type": "string",
        "title": "原因 Reason",
        "description": "Why the visit was called off.",
        "constraints": {"required": True},
    },
    "note": {
        "type": "string",
        "title": "说明 Note",
        "description": "The dispatcher's words on the reason; may be empty." + _TEXT_NOTE,
    },
}

CANCELLED_VISIT_COLUMNS = ("date", "van", "order", "stop_id", "stop_name", "start", "end")
CANCELLATION_COLUMNS = (*CANCELLED_VISIT_COLUMNS, "cancelled_at", "reason", "note")
"""A cancelled visit in the open data: the timetable's key columns (the visit stays in the
timetable, whose columns are a contract), then when and why it was called off."""


def _schema(columns: Sequence[str], **extra: Any) -> dict[str, Any]:
    return {
        "fields": [{"name": name, **_FIELDS[name]} for name in columns],
        "primaryKey": list(_KEY),
        **extra,
    }


def _resource(name: str, path: str, title: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "path": path,
        "title": title,
        "profile": "tabular-data-resource",
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "dialect": {"delimiter": ",", "lineTerminator": "\r\n", "header": True},
        "schema": schema,
    }


def package_name(district_code: str, week: str) -> str:
    """A Data Package name: lower case letters, digits, `-`, `_` and `.` only."""
    raw = f"taxvan-{district_code}-{week}".lower()
    return re.sub(r"[^a-z0-9._-]+", "-", raw)


def data_package(
    district_code: str,
    district_name: str,
    district_name_en: str,
    week: str,
    published_at: str,
    reasons: Sequence[str],
) -> dict[str, Any]:
    """The `datapackage.json` of a district's published week (`published_at`: ISO 8601).

    Its resources are `timetable.csv` and `cancelled.csv` beside it; `reasons` are the codes a
    cancellation's `reason` takes."""
    cancelled = _schema(
        CANCELLATION_COLUMNS,
        foreignKeys=[
            {"fields": list(_KEY), "reference": {"resource": "timetable", "fields": list(_KEY)}}
        ],
    )
    reason = next(f for f in cancelled["fields"] if f["name"] == "reason")
    reason["constraints"] = {"required": True, "enum": list(reasons)}
    return {
        "profile": "tabular-data-package",
        "name": package_name(district_code, week),
        "title": f"移动办税车时刻表 {district_name} {week} · "
        f"Mobile tax van timetable, {district_name_en}, {week}",
        "description": "Where and when the mobile tax-service van stops in the week, one row "
        "per visit, and the visits called off since the week was published. Times are China "
        "Standard Time (Asia/Shanghai, UTC+8); coordinates are WGS-84.",
        "created": published_at,
        "keywords": ["timetable", "mobile tax service", "open data"],
        "resources": [
            _resource(
                "timetable",
                TIMETABLE_FILE,
                "时刻表 Timetable",
                _schema(TIMETABLE_COLUMNS),
            ),
            _resource("cancelled", CANCELLED_FILE, "已取消 Cancelled visits", cancelled),
        ],
    }
