import shutil
from pathlib import Path

import pandas as pd
import pytest

from taxvan.booking import taxpayer_id_problem
from taxvan.errors import DataFileError
from taxvan.io.loaders import load_dataset
from tests.conftest import DEMO


@pytest.fixture
def data(tmp_path: Path) -> Path:
    folder = tmp_path / "fangzi"
    shutil.copytree(DEMO, folder)
    return folder


def _edit(path: Path, row: int, column: str, value: str) -> None:
    """Set spreadsheet row `row` (header = row 1) of `column` to `value`."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[row - 2, column] = value
    frame.to_csv(path, index=False)


def test_demo_data_loads_whole(demo_dataset):
    assert len(demo_dataset.taxpayers) >= 5000
    assert len([s for s in demo_dataset.stops if s.kind in ("village", "community")]) >= 40
    assert len([s for s in demo_dataset.stops if s.kind in ("industrial_park", "key_project")]) >= 3
    assert sum(1 for s in demo_dataset.streets if s.served) == 5
    assert demo_dataset.depot.coord_quality == "approximate"


def test_bad_taxpayer_id_names_file_row_and_column(data: Path):
    _edit(data / "taxpayers.csv", 7, "taxpayer_id", "91370704MA3C0000X0")
    with pytest.raises(DataFileError) as err:
        load_dataset(data)
    msg = str(err.value)
    assert "taxpayers.csv" in msg and "row 7" in msg and "'taxpayer_id'" in msg
    assert "neither a valid unified social credit code" in msg


def test_every_problem_is_reported_at_once(data: Path):
    path = data / "stops.csv"
    _edit(path, 2, "lat", "north")
    _edit(path, 5, "kind", "market")
    _edit(path, 9, "street_code", "999")
    with pytest.raises(DataFileError) as err:
        load_dataset(data)
    report = err.value.report()
    assert "row 2, column 'lat': 'north' is not a WGS-84 latitude" in report
    assert "row 5, column 'kind': 'market' is not one of" in report
    assert "row 9, column 'street_code': '999' is not a street in streets.csv" in report
    assert len(err.value.problems) == 3


def test_swapped_coordinates_are_caught(data: Path):
    frame = pd.read_csv(data / "taxpayers.csv", dtype=str)
    frame.loc[0, ["lat", "lon"]] = frame.loc[0, ["lon", "lat"]].to_numpy()
    frame.to_csv(data / "taxpayers.csv", index=False)
    with pytest.raises(DataFileError, match=r"row 2, column 'lat': latitude 119"):
        load_dataset(data)


def test_duplicate_id_points_at_the_first_row(data: Path):
    frame = pd.read_csv(data / "taxpayers.csv", dtype=str)
    frame.loc[10, "taxpayer_id"] = frame.loc[3, "taxpayer_id"]
    frame.to_csv(data / "taxpayers.csv", index=False)
    with pytest.raises(
        DataFileError,
        match=r"row 12, column 'taxpayer_id': .* already appears "
        r"in row 5",
    ):
        load_dataset(data)


def test_missing_column_and_missing_file(data: Path):
    frame = pd.read_csv(data / "vans.csv", dtype=str).drop(columns=["shift_end"])
    frame.to_csv(data / "vans.csv", index=False)
    with pytest.raises(DataFileError, match=r"vans.csv: column 'shift_end': missing column"):
        load_dataset(data)
    (data / "vans.csv").unlink()
    with pytest.raises(DataFileError, match=r"vans\.csv: file not found"):
        load_dataset(data)


def test_lunch_that_does_not_fit_the_shift_is_refused(data: Path):
    _edit(data / "vans.csv", 2, "lunch_latest", "12:00")
    with pytest.raises(DataFileError, match="row 2: van V1: a 60-minute lunch does not fit"):
        load_dataset(data)


def test_bad_time_is_named(data: Path):
    _edit(data / "vans.csv", 2, "shift_start", "8h30")
    with pytest.raises(DataFileError, match="column 'shift_start': '8h30' is not a time as HH:MM"):
        load_dataset(data)


def test_registry_may_come_as_excel(data: Path):
    frame = pd.read_csv(data / "taxpayers.csv", dtype=str)
    frame.to_excel(data / "taxpayers.xlsx", index=False)
    (data / "taxpayers.csv").unlink()
    ds = load_dataset(data)
    assert len(ds.taxpayers) == len(frame)


def test_not_utf8_says_so(data: Path):
    text = (data / "services.csv").read_text(encoding="utf-8")
    (data / "services.csv").write_bytes(text.encode("gb18030"))
    with pytest.raises(DataFileError, match="not UTF-8"):
        load_dataset(data)


def test_taxpayer_ids_use_library_checksums():
    assert taxpayer_id_problem("91110108551385082Q") is None  # a real-format USCC
    assert taxpayer_id_problem("11010519491231002X") is None  # resident ID example
    assert "neither" in taxpayer_id_problem("91110108551385082A")
    assert "18" in taxpayer_id_problem("9111010855")
