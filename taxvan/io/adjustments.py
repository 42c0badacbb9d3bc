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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from taxvan.adjustments import AdjustmentError, Adjustments, Pin, parse_weekday
from taxvan.clock import parse_hhmm
from taxvan.errors import DataFileError, DataProblem
from taxvan.io.loaders import MISSING_COLUMN, cell_text, not_one_of, read_table
from taxvan.messages import N_, Message, message

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
        raise DataFileError(str(path), [DataProblem(message(N_("file not found")))])
    try:
        data: Any = json.loads(path.read_text("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        problem = message(N_("not JSON: %(detail)s"), detail=str(exc))
        raise DataFileError(str(path), [DataProblem(problem)]) from None
    try:
        return Adjustments.from_dict(data)
    except AdjustmentError as exc:
        raise DataFileError(
            str(path), [DataProblem(p.message, column=p.field) for p in exc.problems]
        ) from None


def _load_table(path: Path) -> Adjustments:
    frame = read_table(path)
    present = [str(c).strip() for c in frame.columns]
    frame.columns = present
    missing = [c for c in COLUMNS[:5] if c not in present]
    if missing:
        raise DataFileError(str(path), [DataProblem(MISSING_COLUMN, column=c) for c in missing])
    table = _Table()
    for i, row in enumerate(frame.to_dict("records"), start=2):
        table.add(i, {c: cell_text(row.get(c)) for c in COLUMNS})
    if table.problems:
        raise DataFileError(str(path), table.problems)
    return table.adjustments()


@dataclass
class _Table:
    """The adjustments an adjustments table's rows add up to, and every problem found in
    them (each naming its row and column)."""

    problems: list[DataProblem] = field(default_factory=list)
    pins: list[Pin] = field(default_factory=list)
    stops: set[str] = field(default_factory=set)
    days: set[int] = field(default_factory=set)
    visits: dict[str, int] = field(default_factory=dict)
    dwell: dict[str, int] = field(default_factory=dict)
    seen: dict[tuple[str, str], int] = field(default_factory=dict)
    """The first row of each (action, stop): a stop's visits or dwell is given once."""

    def adjustments(self) -> Adjustments:
        return Adjustments(
            tuple(self.pins),
            frozenset(self.stops),
            frozenset(self.days),
            tuple(sorted(self.visits.items())),
            tuple(sorted(self.dwell.items())),
        )

    def add(self, row: int, rec: dict[str, str]) -> None:
        """One row (`row` counts the header as 1) of text cells by column."""
        action = rec["action"].lower()
        if action not in ACTIONS:
            self.problems.append(DataProblem(not_one_of(rec["action"], ACTIONS), row, "action"))
            return
        stop = rec["stop_id"]
        if action != "exclude_day":
            self._check_stop(action, row, rec)
        if action == "pin":
            self._add_pin(row, rec)
        elif action == "exclude_stop":
            if stop:
                self.stops.add(stop)
        elif action == "exclude_day":
            day = self._weekday(row, rec)
            if day is not None:
                self.days.add(day)
        else:
            value = self._number(row, rec)
            if stop and value is not None:
                (self.visits if action == "visits" else self.dwell)[stop] = value

    def _check_stop(self, action: str, row: int, rec: dict[str, str]) -> None:
        """The row names a stop, and a stop's exclusion, visits or dwell only once."""
        stop = self._need(row, rec, "stop_id", message(N_("a stop id")))
        if action == "pin" or not stop:
            return
        first = self.seen.setdefault((action, stop), row)
        if first != row:
            self.problems.append(
                DataProblem(
                    message(
                        N_("%(action)s for stop %(stop)s already in row %(first)s"),
                        action=action,
                        stop=stop,
                        first=first,
                    ),
                    row,
                    "stop_id",
                )
            )

    def _add_pin(self, row: int, rec: dict[str, str]) -> None:
        day = self._weekday(row, rec)
        start = None
        if rec["start"]:
            try:
                start = parse_hhmm(rec["start"])
            except ValueError as exc:
                self.problems.append(DataProblem(str(exc), row, "start"))
        tolerance = 0
        if rec["tolerance"]:
            try:
                tolerance = int(rec["tolerance"])
            except ValueError:
                self.problems.append(
                    DataProblem(
                        message(N_("'%(value)s' is not whole minutes"), value=rec["tolerance"]),
                        row,
                        "tolerance",
                    )
                )
        if rec["stop_id"] and day is not None:
            self.pins.append(Pin(rec["stop_id"], day, start, tolerance))

    def _need(self, row: int, rec: dict[str, str], column: str, expect: Message) -> str:
        """The cell's text; an empty one is a problem (the action needs `expect`)."""
        if not rec[column]:
            what = rec["action"].lower()
            problem = message(N_("empty; %(action)s needs %(expect)s"), action=what, expect=expect)
            self.problems.append(DataProblem(problem, row, column))
        return rec[column]

    def _number(self, row: int, rec: dict[str, str]) -> int | None:
        text = self._need(row, rec, "value", message(N_("a whole number")))
        if not text:
            return None
        try:
            f = float(text)
            if f.is_integer():
                return int(f)
        except ValueError:
            pass
        problem = message(N_("'%(value)s' is not a whole number"), value=text)
        self.problems.append(DataProblem(problem, row, "value"))
        return None

    def _weekday(self, row: int, rec: dict[str, str]) -> int | None:
        text = self._need(row, rec, "weekday", message(N_("a weekday (Mon..Sun)")))
        if not text:
            return None
        try:
            return parse_weekday(text)
        except ValueError as exc:
            self.problems.append(DataProblem(str(exc), row, "weekday"))
            return None
