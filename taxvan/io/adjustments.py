"""Reading a dispatcher's adjustments file: CSV (or Excel) rows, or the JSON of
`Adjustments.as_dict`. Every bad row is named by row and column in one `DataFileError`.

CSV columns (header row 1; `tolerance` optional):

    action,stop_id,weekday,start,value,tolerance
    pin,370704004205,Tue,09:00,,          # stop on Tuesdays at 09:00 (start optional)
    exclude_stop,370704004218,,,,         # no visit to the stop
    exclude_day,,Fri,,,                   # the van does not run on Fridays
    visits,370704006209,,,2,              # two visits a week
    dwell,370704006209,,,90,              # 90 minutes on site per visit

Whether the stops and days exist and the pins can hold is checked against the district when
planning (`taxvan.adjustments.check_adjustments`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from taxvan.adjustments import AdjustmentError, Adjustments, Pin, parse_weekday
from taxvan.clock import parse_hhmm
from taxvan.errors import DataFileError, DataProblem
from taxvan.io.loaders import _read_table, _text

ACTIONS = ("pin", "exclude_stop", "exclude_day", "visits", "dwell")
COLUMNS = ("action", "stop_id", "weekday", "start", "value", "tolerance")


def load_adjustments(path: Path) -> Adjustments:
    """The adjustments in `path` (`.json`, `.csv` or `.xlsx`); DataFileError if any row or
    field is bad, naming each."""
    if path.suffix.lower() == ".json":
        return _load_json(path)
    return _load_table(path)


def _load_json(path: Path) -> Adjustments:
    if not path.exists():
        raise DataFileError(str(path), [DataProblem("file not found")])
    try:
        data: Any = json.loads(path.read_text("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataFileError(str(path), [DataProblem(f"not JSON: {exc}")]) from None
    try:
        return Adjustments.from_dict(data)
    except AdjustmentError as exc:
        raise DataFileError(
            str(path), [DataProblem(p.message, column=p.field) for p in exc.problems]
        ) from None


def _load_table(path: Path) -> Adjustments:
    frame = _read_table(path)
    present = [str(c).strip() for c in frame.columns]
    frame.columns = present
    missing = [c for c in COLUMNS[:5] if c not in present]
    if missing:
        raise DataFileError(str(path), [DataProblem("missing column", column=c) for c in missing])
    problems: list[DataProblem] = []
    pins: list[Pin] = []
    stops: set[str] = set()
    days: set[int] = set()
    visits: dict[str, int] = {}
    dwell: dict[str, int] = {}
    seen: dict[tuple[str, str], int] = {}
    for i, row in enumerate(frame.to_dict("records"), start=2):
        rec = {c: _text(row.get(c)) for c in COLUMNS}
        action = rec["action"].lower()
        if action not in ACTIONS:
            problems.append(
                DataProblem(f"'{rec['action']}' is not one of: {', '.join(ACTIONS)}", i, "action")
            )
            continue

        def need(column: str, expect: str, row: int = i, values: dict[str, str] = rec) -> str:
            if not values[column]:
                what = values["action"].lower()
                problems.append(DataProblem(f"empty; {what} needs {expect}", row, column))
            return values[column]

        def number(row: int = i, values: dict[str, str] = rec) -> int | None:
            text = need("value", "a whole number", row, values)
            if not text:
                return None
            try:
                f = float(text)
                if f.is_integer():
                    return int(f)
            except ValueError:
                pass
            problems.append(DataProblem(f"'{text}' is not a whole number", row, "value"))
            return None

        def weekday(row: int = i, values: dict[str, str] = rec) -> int | None:
            text = need("weekday", "a weekday (Mon..Sun)", row, values)
            if not text:
                return None
            try:
                return parse_weekday(text)
            except ValueError as exc:
                problems.append(DataProblem(str(exc), row, "weekday"))
                return None

        stop = rec["stop_id"]
        if action != "exclude_day":
            need("stop_id", "a stop id")
            key = (action, stop)
            if action != "pin" and stop:
                first = seen.setdefault(key, i)
                if first != i:
                    problems.append(
                        DataProblem(
                            f"{action} for stop {stop} already in row {first}", i, "stop_id"
                        )
                    )
        if action == "pin":
            day = weekday()
            start = None
            if rec["start"]:
                try:
                    start = parse_hhmm(rec["start"])
                except ValueError as exc:
                    problems.append(DataProblem(str(exc), i, "start"))
            tolerance = 0
            if rec["tolerance"]:
                try:
                    tolerance = int(rec["tolerance"])
                except ValueError:
                    problems.append(
                        DataProblem(f"'{rec['tolerance']}' is not whole minutes", i, "tolerance")
                    )
            if stop and day is not None:
                pins.append(Pin(stop, day, start, tolerance))
        elif action == "exclude_stop":
            if stop:
                stops.add(stop)
        elif action == "exclude_day":
            day = weekday()
            if day is not None:
                days.add(day)
        else:
            value = number()
            if stop and value is not None:
                (visits if action == "visits" else dwell)[stop] = value
    if problems:
        raise DataFileError(str(path), problems)
    return Adjustments(
        tuple(pins),
        frozenset(stops),
        frozenset(days),
        tuple(sorted(visits.items())),
        tuple(sorted(dwell.items())),
    )
