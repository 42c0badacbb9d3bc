"""CPU spent on a hostile workbook: a stops.xlsx of 100,000 copies of one stop, in a copy of
the demo data folder, loaded as the console's import preview loads it (`load_dataset`).

    python -m bench.uploads [--rows 100000]

Prints the process CPU time of loading the folder with the default `FileLimits` (the workbook
is refused before it is parsed) beside the references measured in the same run: the demo
folder as it is (what the other files cost), and the same folder with limits high enough that
the workbook is parsed, as every upload was before the limits.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import tempfile
import time
from pathlib import Path

from openpyxl import Workbook

from taxvan.errors import DataFileError
from taxvan.io.guards import FileLimits
from taxvan.io.loaders import load_dataset

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "data" / "fangzi"
UNLIMITED = FileLimits(unpacked_bytes=2**40, rows=2**40, cells=2**40)


def _folder(work: Path, rows: int) -> Path:
    folder = work / "fangzi"
    shutil.copytree(DEMO, folder)
    with (folder / "stops.csv").open(encoding="utf-8-sig", newline="") as f:
        header, first = list(csv.reader(f))[:2]
    (folder / "stops.csv").unlink()
    book = Workbook(write_only=True)
    sheet = book.create_sheet("stops")
    sheet.append(header)
    for _ in range(rows):
        sheet.append(first)
    book.save(folder / "stops.xlsx")
    return folder


def _cpu(folder: Path, limits: FileLimits) -> tuple[float, str]:
    start = time.process_time()
    try:
        load_dataset(folder, limits)
        outcome = "loaded"
    except DataFileError as exc:
        outcome = f"refused: {exc.problems[0]}"[:110]
    return time.process_time() - start, outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="taxvan-bench-uploads-") as tmp:
        folder = _folder(Path(tmp), args.rows)
        size = (folder / "stops.xlsx").stat().st_size
        print(f"stops.xlsx: {args.rows:,} rows, {size / 1024:,.0f} KB")
        base, _ = _cpu(DEMO, FileLimits())
        print(f"{'demo folder as is':<20} CPU {base:7.2f} s  (the other files' share)")
        for label, limits in (("default limits", FileLimits()), ("no limits (before)", UNLIMITED)):
            cpu, outcome = _cpu(folder, limits)
            print(f"{label:<20} CPU {cpu:7.2f} s  {outcome}")


if __name__ == "__main__":
    main()
