"""Writing the open-data files: timetable CSV (UTF-8 with BOM, so Excel shows Chinese) and JSON."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from taxvan.timetable import TIMETABLE_COLUMNS, TimetableRow


def write_timetable_csv(path: Path, rows: Sequence[TimetableRow]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        w = csv.DictWriter(f, fieldnames=TIMETABLE_COLUMNS, lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow(r.as_record())


def write_timetable_json(path: Path, rows: Sequence[TimetableRow], meta: dict[str, Any]) -> None:
    doc = {**meta, "columns": list(TIMETABLE_COLUMNS), "visits": [r.as_record() for r in rows]}
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def write_json(path: Path, doc: dict[str, Any]) -> None:
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
