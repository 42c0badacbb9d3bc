"""What a data file may cost to read, checked before it is parsed.

An Excel workbook is a zip archive of XML: a few hundred KB can unpack to hundreds of MB and
hundreds of thousands of rows, and parsing them takes minutes of CPU in the one process that
also serves the site. A GeoJSON file of nested brackets exhausts the JSON parser's stack. So a
data folder's files are checked against `FileLimits` first, cheaply and without parsing:

* a workbook: its zip's member sizes (what it unpacks to), then the first sheet's declared
  dimension, then a count of that sheet's row and cell tags (the dimension is written by
  whoever made the file and may lie, or be missing);
* a CSV file: its lines;
* a GeoJSON file: its size, then how deeply its brackets nest.

A file over a limit is refused whole with a `LimitProblem` naming the file and the limit (in
Chinese and English: the command line and the console both show it); a file that is not what
its name says (a broken zip, a zip that is no workbook) with a plain problem. Nothing is read
from a refused file.
"""

from __future__ import annotations

import json
import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path
from typing import IO, Any
from xml.etree import ElementTree

from taxvan.errors import DataFileError, DataProblem
from taxvan.messages import N_, Message, message

MB = 1024 * 1024


@dataclass(frozen=True)
class FileLimits:
    """The most a data file may hold. Each limit is per file; the app's settings override them
    (`TAXVAN_IMPORT_*`, see web/config.py)."""

    unpacked_bytes: int = 64 * MB
    """What a workbook (a zip archive) may unpack to, all its members together."""
    rows: int = 50_000
    """Records (rows below the header) of one table, workbook or CSV: ten times the demo's
    registry of taxpayers."""
    cells: int = 1_000_000
    """Cells of a workbook's sheet, as a spreadsheet reads it (rows times its widest row)."""
    json_bytes: int = 16 * MB
    """Size of a GeoJSON file."""
    json_depth: int = 32
    """How deeply a GeoJSON file's arrays and objects may nest (a MultiPolygon in a
    FeatureCollection nests 7 deep)."""


DEFAULT_LIMITS = FileLimits()


class LimitProblem(DataProblem):
    """A file over one of the `FileLimits`: `limit` is the field's name, `allowed` its value,
    `found` what the file has, at least (rows and cells are counted until they are over).

    Its `message` is translatable like any problem's; its `str()` says it in both languages
    (the command line has no reader's language)."""

    __slots__ = ("allowed", "file", "found", "limit")

    def __init__(self, file: str, limit: str, allowed: int, found: int) -> None:
        self.file = file
        self.limit = limit
        self.allowed = allowed
        self.found = found
        super().__init__(_limit_message(file, limit, allowed, found))

    def __str__(self) -> str:
        return _MESSAGES[self.limit](self.file, self.allowed, self.found)


_LIMIT_TEMPLATES = {
    "unpacked_bytes": N_(
        "%(file)s unpacks to %(found)s MB, more than the limit of %(allowed)s MB."
    ),
    "rows": N_("%(file)s has at least %(found)s rows, more than the limit of %(allowed)s rows."),
    "cells": N_("%(file)s has at least %(found)s cells, more than the limit of %(allowed)s cells."),
    "json_bytes": N_("%(file)s is %(found)s MB, more than the limit of %(allowed)s MB."),
    "json_depth": N_(
        "%(file)s nests %(found)s levels deep, more than the limit of %(allowed)s levels."
    ),
}


def _limit_message(file: str, limit: str, allowed: int, found: int) -> Message:
    """Sizes in MB, counts with thousands separators, as the command line prints them."""
    show = _mb if limit.endswith("_bytes") else "{:,}".format
    return message(_LIMIT_TEMPLATES[limit], file=file, found=show(found), allowed=show(allowed))


def _mb(n: int) -> str:
    return f"{n / MB:,.1f}".removesuffix(".0")


_MESSAGES = {
    "unpacked_bytes": lambda f, a, n: (
        f"{f} 解压后为 {_mb(n)} MB，超过上限 {_mb(a)} MB。"
        f" / {f} unpacks to {_mb(n)} MB, more than the limit of {_mb(a)} MB."
    ),
    "rows": lambda f, a, n: (
        f"{f} 至少有 {n:,} 行，超过上限 {a:,} 行。"
        f" / {f} has at least {n:,} rows, more than the limit of {a:,} rows."
    ),
    "cells": lambda f, a, n: (
        f"{f} 至少有 {n:,} 个单元格，超过上限 {a:,} 个。"
        f" / {f} has at least {n:,} cells, more than the limit of {a:,} cells."
    ),
    "json_bytes": lambda f, a, n: (
        f"{f} 大小为 {_mb(n)} MB，超过上限 {_mb(a)} MB。"
        f" / {f} is {_mb(n)} MB, more than the limit of {_mb(a)} MB."
    ),
    "json_depth": lambda f, a, n: (
        f"{f} 嵌套 {n:,} 层，超过上限 {a:,} 层。"
        f" / {f} nests {n:,} levels deep, more than the limit of {a:,} levels."
    ),
}


def _over(path: Path, limit: str, allowed: int, found: int) -> DataFileError:
    return DataFileError(str(path), [LimitProblem(path.name, limit, allowed, found)])


# --- workbooks ---------------------------------------------------------------------------------

_ROW = re.compile(rb"<(?:[\w.-]+:)?row[\s/>]")
_CELL = re.compile(rb"<(?:[\w.-]+:)?c[\s/>]")
_CELL_COLUMN = re.compile(rb"<(?:[\w.-]+:)?c\s[^>]*?\br=\"([A-Za-z]{1,3})[0-9]")
_CHUNK = MB
_TAG_HEAD = 4096
"""Bytes of a tag cut by a chunk's end that are kept for the next chunk: plenty for a cell's
name and its reference, the only parts counted."""


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ch - ord("A") + 1
    return n


def _chunks_at_tags(stream: IO[bytes]) -> Iterator[bytes]:
    """The stream in pieces of about `_CHUNK` bytes, each cut before a `<`, so no tag's name
    and reference are split between two pieces."""
    tail = b""
    while chunk := stream.read(_CHUNK):
        cut = chunk.rfind(b"<")
        if cut < 0:
            yield tail + chunk
            tail = b""
            continue
        yield tail + chunk[:cut]
        tail = chunk[cut : cut + _TAG_HEAD]
    yield tail


@dataclass(frozen=True)
class SheetSize:
    rows: int
    """Row elements, the header's included."""
    cells: int
    """As a spreadsheet reader lays them out: every row as wide as the widest."""


def scan_sheet(stream: IO[bytes], limits: FileLimits | None = None) -> SheetSize:
    """Rows and cells of a worksheet's XML, counted from its tags without parsing it; with
    `limits`, the count stops once it is over them."""
    rows = cells = widest = 0
    for piece in _chunks_at_tags(stream):
        rows += len(_ROW.findall(piece))
        cells += len(_CELL.findall(piece))
        for letters in set(_CELL_COLUMN.findall(piece)):
            widest = max(widest, _column_number(letters))
        if limits is not None and (rows - 1 > limits.rows or cells > limits.cells):
            break
    return SheetSize(rows, max(cells, rows * widest))


def _not_a_workbook(path: Path, why: Message) -> DataFileError:
    problem = message(N_("not an Excel workbook (.xlsx): %(why)s; save it again as .xlsx"), why=why)
    return DataFileError(str(path), [DataProblem(problem)])


_RELS_TYPE_END = ("/officeDocument", "/worksheet")


def _relations(archive: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """A part's relationships: id -> (type, the target's path in the archive)."""
    folder, name = posixpath.split(part)
    rels = posixpath.join(folder, "_rels", f"{name}.rels")
    out = {}
    for rel in ElementTree.fromstring(archive.read(rels)):
        target = rel.get("Target", "")
        if target.startswith("/"):
            target = target[1:]
        else:
            target = posixpath.normpath(posixpath.join(folder, target))
        out[rel.get("Id", "")] = (rel.get("Type", ""), target)
    return out


def first_sheet(archive: zipfile.ZipFile) -> str:
    """The path in the archive of a workbook's first worksheet (the one a spreadsheet reader
    reads by default), from the package's relationships and the workbook's list of sheets.

    Reads only those small parts: openpyxl's read-only mode, asked for a sheet's size, parses
    the whole sheet when the sheet does not declare its dimension. Raises KeyError, ValueError
    or ElementTree.ParseError when the archive is no workbook."""
    [workbook] = [
        t for typ, t in _relations(archive, "").values() if typ.endswith("/officeDocument")
    ]
    rels = _relations(archive, workbook)
    for element in ElementTree.fromstring(archive.read(workbook)).iter():
        if element.tag.rsplit("}", 1)[-1] != "sheet":
            continue
        rid = next((v for k, v in element.attrib.items() if k.endswith("}id")), "")
        typ, target = rels.get(rid, ("", ""))
        if typ.endswith("/worksheet"):
            return target
    raise ValueError("no worksheet")


_DIMENSION = re.compile(
    rb"<(?:[\w.-]+:)?dimension\s+ref=\"[A-Za-z]{0,3}[0-9]*:?([A-Za-z]{1,3})([0-9]+)\""
)
_HEAD = 64 * 1024
"""Where a worksheet declares its dimension: before its rows, in the first few KB."""


def declared_size(head: bytes) -> SheetSize | None:
    """The rows and cells a worksheet declares (its `dimension`, e.g. A1:H100001), if any."""
    found = _DIMENSION.search(head)
    if found is None:
        return None
    rows = int(found.group(2))
    return SheetSize(rows, rows * _column_number(found.group(1)))


def check_workbook(path: Path, limits: FileLimits = DEFAULT_LIMITS) -> None:
    """Raise DataFileError if `path` is not a workbook, or its first sheet (the one read) is
    over `limits`. Parses no sheet: the zip's list of members, the workbook's list of sheets,
    then the first sheet's declared dimension and a count of its row and cell tags."""
    try:
        with zipfile.ZipFile(path) as archive:
            # zipfile stops at a member's declared size (and then fails its CRC check), so the
            # declared sizes bound what reading the workbook can unpack.
            unpacked = sum(m.file_size for m in archive.infolist())
            if unpacked > limits.unpacked_bytes:
                raise _over(path, "unpacked_bytes", limits.unpacked_bytes, unpacked)
            try:
                sheet = first_sheet(archive)
            except (KeyError, ValueError, ElementTree.ParseError):
                raise _not_a_workbook(path, message(N_("it holds no readable workbook"))) from None
            with archive.open(sheet) as source:
                if (declared := declared_size(source.read(_HEAD))) is not None:
                    _check_size(path, limits, declared)
            with archive.open(sheet) as source:
                _check_size(path, limits, scan_sheet(source, limits))
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        why = message(N_("the zip archive is damaged (%(detail)s)"), detail=str(exc))
        raise _not_a_workbook(path, why) from None


def _check_size(path: Path, limits: FileLimits, size: SheetSize) -> None:
    if size.rows - 1 > limits.rows:
        raise _over(path, "rows", limits.rows, size.rows - 1)
    if size.cells > limits.cells:
        raise _over(path, "cells", limits.cells, size.cells)


def check_csv(path: Path, limits: FileLimits = DEFAULT_LIMITS) -> None:
    """Raise DataFileError if the CSV file has more records than `limits.rows` (by its lines,
    counted without parsing: a quoted line break counts as a row)."""
    lines, last = 0, b"\n"
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    records = lines - 1 + (last != b"\n")
    if records > limits.rows:
        raise _over(path, "rows", limits.rows, records)


# --- GeoJSON -----------------------------------------------------------------------------------

_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def json_depth(text: str) -> int:
    """How deeply the arrays and objects of a JSON text nest (brackets in strings aside)."""
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    steps = (1 if c in "[{" else -1 for c in brackets)
    return max(accumulate(steps), default=0)


def read_json(path: Path, limits: FileLimits = DEFAULT_LIMITS, kind: str = "JSON") -> Any:
    """A JSON file's data, once its size and depth are within `limits`; DataFileError if
    not, or if it is not UTF-8 JSON (`kind` names the format in that message)."""
    size = path.stat().st_size
    if size > limits.json_bytes:
        raise _over(path, "json_bytes", limits.json_bytes, size)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise DataFileError(str(path), [DataProblem(message(N_("not UTF-8 text")))]) from None
    if (depth := json_depth(text)) > limits.json_depth:
        raise _over(path, "json_depth", limits.json_depth, depth)
    try:
        return json.loads(text)
    except RecursionError:  # limits deeper than the parser's stack
        raise _over(path, "json_depth", limits.json_depth, depth) from None
    except json.JSONDecodeError as exc:
        problem = message(N_("not valid %(kind)s: %(detail)s"), kind=kind, detail=str(exc))
        raise DataFileError(str(path), [DataProblem(problem)]) from None


# --- a data folder -----------------------------------------------------------------------------


def check_file(path: Path, limits: FileLimits = DEFAULT_LIMITS) -> None:
    """Check one data file by its kind (`.xlsx`, `.csv`, `.geojson`/`.json`); DataFileError
    if it is over `limits` or not what its name says."""
    ext = path.suffix.lower()
    if ext == ".xlsx":
        check_workbook(path, limits)
    elif ext == ".csv":
        check_csv(path, limits)
    elif ext in (".geojson", ".json"):
        read_json(path, limits, "GeoJSON" if ext == ".geojson" else "JSON")


def check_files(
    paths: list[Path], limits: FileLimits = DEFAULT_LIMITS
) -> dict[Path, DataFileError]:
    """Every one of `paths` that exists and is refused, with why."""
    refused: dict[Path, DataFileError] = {}
    for path in paths:
        if not path.is_file():
            continue
        try:
            check_file(path, limits)
        except DataFileError as exc:
            refused[path] = exc
    return refused
