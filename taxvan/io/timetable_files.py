"""The planner's JSON files, and reading a published timetable CSV back (`taxvan diff`).

The timetable CSV itself is written by `web.adapters.planner` through the one way the product
writes spreadsheets (`web.adapters.spreadsheets`: no cell a spreadsheet would run, CRLF)."""

from __future__ import annotations

import csv
import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from taxvan.errors import DataFileError, DataProblem
from taxvan.io.loaders import MISSING_COLUMN
from taxvan.messages import N_, message
from taxvan.timetable import TIMETABLE_COLUMNS, TimetableRow


def write_timetable_json(path: Path, rows: Sequence[TimetableRow], meta: dict[str, Any]) -> None:
    doc = {**meta, "columns": list(TIMETABLE_COLUMNS), "visits": [r.as_record() for r in rows]}
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def write_json(path: Path, doc: dict[str, Any]) -> None:
    """Write `doc` whole or not at all: a reader (another job, another process) never finds
    half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        tmp.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def read_timetable_csv(path: Path) -> list[dict[str, str]]:
    """The rows of a published `timetable.csv` as plain dicts (for `routes.diff`).

    Raises DataFileError when the file is missing or lacks a column the diff needs."""
    if not path.exists():
        raise DataFileError(str(path), [DataProblem(message(N_("file not found")))])
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f)
            missing = [c for c in NEEDED if c not in (reader.fieldnames or [])]
            if missing:
                raise DataFileError(
                    str(path), [DataProblem(MISSING_COLUMN, column=c) for c in missing]
                )
            return [dict(r) for r in reader]
    except UnicodeDecodeError:
        raise DataFileError(str(path), [DataProblem(message(N_("not UTF-8 text")))]) from None


NEEDED = ("date", "stop_id", "start", "end")
"""The columns of a timetable a comparison needs."""
