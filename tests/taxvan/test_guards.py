"""A data folder's files are checked against their limits before they are parsed
(`taxvan.io.guards`): a hostile workbook or GeoJSON file is refused by name, cheaply, and
nothing else of the folder hides behind it."""

from __future__ import annotations

import csv
import re
import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook

from taxvan.errors import DataFileError, DataFolderError
from taxvan.io.guards import FileLimits, LimitProblem, check_workbook
from taxvan.io.loaders import load_dataset
from tests.conftest import DEMO


@pytest.fixture
def data(tmp_path: Path) -> Path:
    folder = tmp_path / "fangzi"
    shutil.copytree(DEMO, folder)
    return folder


def _stop_rows() -> list[list[str]]:
    with (DEMO / "stops.csv").open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def _workbook(path: Path, rows: list[list[str]]) -> Path:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("stops")
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def _stops_workbook(folder: Path, records: int) -> Path:
    """`stops.xlsx` in place of `stops.csv`: the header and `records` copies of a stop."""
    rows = _stop_rows()
    (folder / "stops.csv").unlink()
    return _workbook(folder / "stops.xlsx", [rows[0], *([rows[1]] * records)])


def _rewrite_sheet(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    """Rewrite the worksheet XML of a workbook with `change(bytes) -> bytes`."""
    with zipfile.ZipFile(path) as z:
        members = [(m, z.read(m)) for m in z.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for m, body in members:
            z.writestr(m, change(body) if m.filename.startswith("xl/worksheets/") else body)


@pytest.fixture
def parsed(monkeypatch) -> list[str]:
    """The names of the tables pandas parses (it reads every CSV and workbook)."""
    names: list[str] = []
    for reader in ("read_csv", "read_excel"):
        original = getattr(pd, reader)

        def spy(path, *a, _original=original, **k):  # type: ignore[no-untyped-def]
            names.append(Path(path).name)
            return _original(path, *a, **k)

        monkeypatch.setattr(pd, reader, spy)
    return names


def _limit(err: DataFileError, path: Path) -> LimitProblem:
    errors = err.errors if isinstance(err, DataFolderError) else [err]
    [mine] = [e for e in errors if e.path == str(path)]
    [problem] = mine.problems
    assert isinstance(problem, LimitProblem)
    return problem


def test_a_100000_row_workbook_is_refused_before_it_is_parsed(data: Path, parsed):
    stops = _stops_workbook(data, 100_000)
    with pytest.raises(DataFileError) as err:
        load_dataset(data)
    assert "stops.xlsx" not in parsed and "taxpayers.csv" in parsed
    problem = _limit(err.value, stops)
    assert (problem.limit, problem.allowed) == ("rows", 50_000)
    assert 50_000 < problem.found <= 100_000, "counted until over the limit"
    assert str(problem) == (
        f"stops.xlsx 至少有 {problem.found:,} 行，超过上限 50,000 行。"
        f" / stops.xlsx has at least {problem.found:,} rows, more than the limit of 50,000 rows."
    )


def test_a_sheet_whose_dimension_lies_is_counted_all_the_same(data: Path, parsed):
    stops = _stops_workbook(data, 30)
    _rewrite_sheet(stops, lambda xml: re.sub(rb'<dimension ref="[^"]*"/>', b"", xml))
    with pytest.raises(DataFileError) as err:
        load_dataset(data, FileLimits(rows=20))
    assert _limit(err.value, stops).found == 30
    assert "stops.xlsx" not in parsed
    _rewrite_sheet(
        stops, lambda xml: xml.replace(b"<sheetData>", b'<dimension ref="A1:A2"/><sheetData>')
    )
    with pytest.raises(DataFileError) as err:
        check_workbook(stops, FileLimits(rows=20))
    assert _limit(err.value, stops).found == 30


def test_a_cell_far_to_the_right_counts_as_a_whole_row_of_cells(tmp_path: Path):
    """A spreadsheet reader lays every row out as wide as the widest: one cell in column XFD
    on each of 100 rows is 1.6 million cells."""
    path = _workbook(tmp_path / "wide.xlsx", [["a"]] * 100)
    _rewrite_sheet(
        path,
        lambda xml: re.sub(rb'<c r="A(\d+)"', rb'<c r="XFD\1"', xml),
    )
    with pytest.raises(DataFileError) as err:
        check_workbook(path)
    problem = _limit(err.value, path)
    assert (problem.limit, problem.found) == ("cells", 100 * 16_384)


def test_what_a_workbook_unpacks_to_is_capped(data: Path, parsed):
    stops = _stops_workbook(data, 200)
    with pytest.raises(DataFileError) as err:
        load_dataset(data, FileLimits(unpacked_bytes=20_000))
    assert "stops.xlsx" not in parsed
    problem = _limit(err.value, stops)
    assert problem.limit == "unpacked_bytes" and problem.found > 20_000
    assert "MB" in str(problem) and "解压后" in str(problem)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"PK\x03\x04" + b"not really a zip" * 20, "the zip archive is damaged"),
        (None, "it holds no readable workbook"),
    ],
)
def test_a_broken_zip_or_a_zip_that_is_no_workbook_names_the_file(data: Path, body, why):
    path = data / "stops.xlsx"
    (data / "stops.csv").unlink()
    if body is None:
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("hello.txt", "not a workbook")
    else:
        path.write_bytes(body)
    with pytest.raises(DataFileError) as err:
        load_dataset(data)
    assert f"stops.xlsx: not an Excel workbook (.xlsx): {why}" in err.value.report()


def test_a_csv_over_the_row_limit_is_refused_before_it_is_parsed(data: Path, parsed):
    with pytest.raises(DataFileError) as err:
        load_dataset(data, FileLimits(rows=10))
    assert "stops.csv" not in parsed and "depot.csv" in parsed
    problem = _limit(err.value, data / "stops.csv")
    assert (problem.limit, problem.allowed, problem.found) == ("rows", 10, 49)


def test_every_refused_file_is_listed_with_the_problems_of_the_others(data: Path):
    _stops_workbook(data, 60)
    (data / "outline.geojson").write_text("[" * 100, encoding="utf-8")
    with pytest.raises(DataFolderError) as err:
        load_dataset(data, FileLimits(unpacked_bytes=10_000))
    files = {Path(e.path).name for e in err.value.errors}
    assert files == {"stops.xlsx", "outline.geojson"}


def test_deeply_nested_geojson_is_refused_before_it_is_parsed(data: Path, monkeypatch):
    import json

    def refuse(*_a, **_k):
        raise AssertionError("the JSON was parsed")

    (data / "outline.geojson").write_text("[" * 100_000, encoding="utf-8")
    monkeypatch.setattr(json, "loads", refuse)
    with pytest.raises(DataFileError) as err:
        load_dataset(data)
    problem = _limit(err.value, data / "outline.geojson")
    assert (problem.limit, problem.allowed, problem.found) == ("json_depth", 32, 100_000)
    assert "outline.geojson 嵌套 100,000 层，超过上限 32 层。" in str(problem)


def test_brackets_inside_strings_do_not_count_as_nesting(data: Path):
    outline = (data / "outline.geojson").read_text(encoding="utf-8")
    named = outline.replace(
        '"type"', '"name": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\"[[", "type"', 1
    )
    (data / "outline.geojson").write_text(named, encoding="utf-8")
    assert load_dataset(data, FileLimits(json_depth=10)).stops


def test_a_large_geojson_file_is_refused_by_its_size(data: Path):
    with pytest.raises(DataFileError) as err:
        load_dataset(data, FileLimits(json_bytes=1000))
    problem = _limit(err.value, data / "outline.geojson")
    assert problem.limit == "json_bytes" and problem.found > 1000


@pytest.mark.parametrize(
    "doc",
    [
        '{"type": "FeatureCollection", "features": 5}',
        '{"type": "FeatureCollection", "features": {"a": 1}}',
        '{"type": "Polygon", "coordinates": 5}',
        '{"type": "Polygon", "coordinates": [[5]]}',
        '{"type": "MultiPolygon", "coordinates": [[[["a", "b"]]]]}',
    ],
)
def test_malformed_geojson_names_the_file(data: Path, doc: str):
    (data / "outline.geojson").write_text(doc, encoding="utf-8")
    with pytest.raises(DataFileError) as err:
        load_dataset(data)
    assert err.value.report().startswith(f"{data / 'outline.geojson'}: ")


@pytest.mark.parametrize("name", ["村委会\r\n<script>", "村委\n会", "村委\t会", "村\x0b委会"])
def test_a_name_with_a_line_break_or_control_character_is_refused(data: Path, name: str):
    rows = _stop_rows()
    rows[3][1] = name
    with (data / "stops.csv").open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    with pytest.raises(DataFileError) as err:
        load_dataset(data)
    assert err.value.report().endswith(
        "stops.csv: row 4, column 'name': contains a line break, tab or another control "
        "character: a cell holds one line of text"
    )


def test_the_demo_is_well_within_the_limits(data: Path):
    assert len(load_dataset(data).taxpayers) > 5000
