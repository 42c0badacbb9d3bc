"""CSV and Excel files as the product writes them: safe to open in any spreadsheet.

A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula to Excel,
WPS and LibreOffice (OWASP's CSV injection rule): a taxpayer who books under the name
`=HYPERLINK("http://…","点我")` must reach the dispatcher's sheet as that text, never as a
live link. Every CSV and Excel file the product writes goes through this module:

* CSV through `defusedcsv` (a kept library: it puts an apostrophe before such a cell), plus
  the tab and carriage return it lets through; RFC 4180 line endings (CRLF); UTF-8 with a BOM
  when a person will open it in Excel, so Chinese shows.
* Excel cells written as text, never as formulas: openpyxl takes any string starting with `=`
  for a formula unless told otherwise, so each such cell is typed as a string and shown with
  Excel's own quote prefix (the apostrophe is not part of the value).

Numbers, dates and empty cells pass unchanged.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

from defusedcsv import csv as defused

RISKY_FIRST = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet run a cell (OWASP)."""


def risky(value: object) -> bool:
    """Whether a spreadsheet would take this cell for a formula."""
    return isinstance(value, str) and value[:1] in RISKY_FIRST


def neutral(value: object) -> object:
    """The cell as text a spreadsheet shows and never runs (an apostrophe before a risky
    string); anything else as it is. For CSV; Excel cells use `xlsx_bytes`."""
    if risky(value):
        return "'" + str(value)
    return value


def csv_bytes(
    header: Sequence[object] | None, rows: Iterable[Sequence[object]], *, bom: bool = True
) -> bytes:
    """A CSV file: CRLF line endings (RFC 4180), every risky cell neutralised, UTF-8 with a
    BOM unless `bom=False` (machines read open data; Excel needs the BOM for Chinese)."""
    buf = io.StringIO()
    writer = defused.writer(buf, lineterminator="\r\n")
    if header is not None:
        writer.writerow([_tab_or_cr(c) for c in header])
    for row in rows:
        writer.writerow([_tab_or_cr(c) for c in row])
    return ("\ufeff" if bom else "").encode() + buf.getvalue().encode("utf-8")


def _tab_or_cr(value: object) -> object:
    """defusedcsv neutralises `= + - @ | %` itself; a leading tab or CR it lets through."""
    if isinstance(value, str) and value[:1] in ("\t", "\r"):
        return "'" + value
    return value


def write_row(sheet: Any, row: Sequence[object]) -> None:
    """Append `row` to an openpyxl worksheet with every string cell typed as text: a cell
    starting with `=` stays the text it is (shown with Excel's quote prefix), never a formula."""
    sheet.append([None if v is None else v for v in row])
    line = sheet.max_row
    for col, value in enumerate(row, start=1):
        if isinstance(value, str):
            cell = sheet.cell(row=line, column=col)
            cell.value = value
            cell.data_type = "s"
            if risky(value):
                cell.quotePrefix = True


def xlsx_bytes(
    sheets: Sequence[tuple[str, Sequence[object] | None, Iterable[Sequence[object]]]],
) -> bytes:
    """An Excel workbook of (title, header, rows) sheets, every string cell as text."""
    from openpyxl import Workbook

    book = Workbook()
    for default in book.worksheets:  # a new workbook has one empty sheet
        book.remove(default)
    for title, header, rows in sheets:
        sheet = book.create_sheet(title=title[:31] or "Sheet")
        if header is not None:
            write_row(sheet, header)
        for row in rows:
            write_row(sheet, row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
