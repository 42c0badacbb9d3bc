"""Spreadsheets the product writes show what people typed and never run it."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from web.adapters.spreadsheets import csv_bytes, xlsx_bytes

HOSTILE = [
    '=HYPERLINK("http://evil.example","点我")',
    "+86 1380013800",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
]


def test_csv_cells_that_a_spreadsheet_would_run_are_text() -> None:
    """Each risky cell gets a leading apostrophe; numbers, dates and names stay as they are."""
    data = csv_bytes(["name", "n"], [[h, 7] for h in HOSTILE] + [["王小明", -3]])
    assert data.startswith("\ufeff".encode())
    assert b"\r\n" in data and data.count(b"\n") == data.count(b"\r\n")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert [r[0] for r in rows[1:-1]] == ["'" + h for h in HOSTILE]
    assert rows[-1] == ["王小明", "-3"]


def test_csv_without_bom_for_machines() -> None:
    assert not csv_bytes(None, [["a"]], bom=False).startswith("\ufeff".encode())


def test_excel_cells_are_text_never_formulas() -> None:
    """Opened again, no cell is a formula and each shows exactly what was typed."""
    data = xlsx_bytes([("名单", ["name", "n"], [[h, 7] for h in HOSTILE])])
    sheet = load_workbook(io.BytesIO(data)).active
    values = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert values == [h.replace("\r", "\n") for h in HOSTILE]  # XML reads a CR as LF
    for row in sheet.iter_rows(min_row=2):
        assert row[0].data_type == "s"
        assert row[1].value == 7
    assert sheet.cell(row=2, column=1).quotePrefix
