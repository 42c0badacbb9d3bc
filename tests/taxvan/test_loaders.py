import shutil
from pathlib import Path

import pandas as pd
import pytest

from taxvan.booking import taxpayer_id_problem
from taxvan.errors import DataFileError, DataFolderError
from taxvan.io.loaders import load_dataset
from taxvan.workdays import PublishedYear, work_week
from tests.conftest import DEMO
from tests.districts import make_county
from web.cli import main


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
    with pytest.raises(DataFileError, match=r"row 2, column 'lat': latitude 119.* outside China"):
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


def test_lunch_that_does_not_fit_the_shift_is_refused_naming_the_column(data: Path):
    _edit(data / "vans.csv", 2, "lunch_latest", "12:00")
    with pytest.raises(
        DataFileError,
        match="row 2, column 'lunch_minutes': van V1: a 60-minute lunch does not fit",
    ):
        load_dataset(data)


def test_shift_ending_before_it_starts_names_the_column(data: Path):
    _edit(data / "vans.csv", 2, "shift_end", "08:00")
    with pytest.raises(DataFileError) as err:
        load_dataset(data)
    assert "row 2, column 'shift_end': van V1: the shift ends at 08:00, not after it starts" in (
        err.value.report()
    )


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


# --- any district: extent from the district's own data --------------------------------


@pytest.fixture
def county(tmp_path: Path) -> Path:
    return make_county(tmp_path / "county")


def test_a_district_far_from_the_demo_loads_without_warnings(county: Path):
    """The generated Gansu county lies around longitude 99-100.5, far west of the demo."""
    ds = load_dataset(county)
    assert ds.depot.lon < 101 and min(s.lon for s in ds.stops) < 100
    assert len(ds.streets) >= 6 and len(ds.taxpayers) >= 300
    assert ds.warnings == ()


def test_a_point_outside_the_outline_is_an_error_naming_file_and_row(county: Path):
    frame = pd.read_csv(county / "taxpayers.csv", dtype=str)
    frame.loc[3, "lat"] = str(round(float(frame.loc[3, "lat"]) + 0.3, 6))  # 33 km north
    frame.to_csv(county / "taxpayers.csv", index=False)
    with pytest.raises(DataFileError) as err:
        load_dataset(county)
    assert err.value.report().endswith(
        "taxpayers.csv: row 5, column 'lat': the point "
        f"({frame.loc[3, 'lat']}, {frame.loc[3, 'lon']}) is outside the district outline "
        "in outline.geojson"
    )


def test_without_an_outline_a_point_far_from_its_street_is_a_warning_by_row(tmp_path: Path):
    county = make_county(tmp_path / "county", outline=False)
    frame = pd.read_csv(county / "stops.csv", dtype=str)
    frame.loc[2, "lat"] = str(round(float(frame.loc[2, "lat"]) + 0.5, 6))  # 55 km north
    frame.to_csv(county / "stops.csv", index=False)
    ds = load_dataset(county)
    assert [str(w).split(": ", 1)[1][:25] for w in ds.warnings] == ["row 4, column 'lat': the "]
    assert str(ds.warnings[0].path).endswith("stops.csv")
    assert "km from the middle of street" in str(ds.warnings[0])


def test_outline_must_be_polygons_in_china(county: Path):
    (county / "outline.geojson").write_text(
        '{"type": "Point", "coordinates": [100.0, 38.9]}', encoding="utf-8"
    )
    with pytest.raises(DataFileError, match=r"outline.geojson: geometry 1 is Point, not a Polygon"):
        load_dataset(county)
    (county / "outline.geojson").write_text(
        '{"type": "Polygon", "coordinates": [[[38, 100], [39, 100], [39, 101], [38, 100]]]}',
        encoding="utf-8",
    )
    with pytest.raises(DataFileError, match=r"outline.geojson: the outline .* is not inside China"):
        load_dataset(county)
    (county / "outline.geojson").write_text("{not json", encoding="utf-8")
    with pytest.raises(DataFileError, match=r"outline.geojson: not valid GeoJSON"):
        load_dataset(county)


def test_every_problem_of_every_file_is_listed_in_one_run(data: Path):
    _edit(data / "streets.csv", 3, "served", "maybe")
    _edit(data / "stops.csv", 4, "kind", "market")
    _edit(data / "taxpayers.csv", 6, "lon", "east")
    _edit(data / "vans.csv", 2, "shift_end", "07:00")
    with pytest.raises(DataFolderError) as err:
        load_dataset(data)
    lines = err.value.report().splitlines()
    assert [line.split(": ", 1)[1] for line in lines] == [
        "row 3, column 'served': 'maybe' is not true or false",
        "row 4, column 'kind': 'market' is not one of: village, community, industrial_park, "
        "key_project",
        "row 6, column 'lon': 'east' is not a WGS-84 longitude in decimal degrees",
        "row 2, column 'shift_end': van V1: the shift ends at 07:00, not after it starts at 08:30",
    ]
    assert [Path(line.split(": ", 1)[0]).name for line in lines] == [
        "streets.csv",
        "stops.csv",
        "taxpayers.csv",
        "vans.csv",
    ]
    assert "(and 3 more problems in 4 files)" in str(err.value)


def test_calendar_file_is_checked_like_every_other_file(data: Path):
    (data / "calendar.csv").write_text(
        "date,kind,name,name_en\n"
        "2027-02-09,holiday,春节,Spring Festival\n"
        "2027-02-20,workday,春节调休,\n"
        "2027-13-01,holiday,春节,\n"
        "2027-02-10,rest,春节,\n"
        "2027-01-01,workday,元旦调休,\n"
        "2027-02-09,holiday,春节,\n",
        encoding="utf-8",
    )
    with pytest.raises(DataFileError) as err:
        load_dataset(data)
    assert [line.split("calendar.csv: ", 1)[1] for line in err.value.report().splitlines()] == [
        "row 4, column 'date': '2027-13-01' is not a date as YYYY-MM-DD",
        "row 5, column 'kind': 'rest' is not one of: holiday, workday, schedule",
        "row 6, column 'kind': 2027-01-01 is New Year's Day (元旦), a statutory holiday fixed by "
        "law: it cannot be a working day",
        "row 7, column 'date': '2027-02-09' already appears in row 2",
    ]
    (data / "calendar.csv").write_text(
        "date,kind,name,name_en\n"
        "2027-02-09,holiday,春节,Spring Festival\n"
        "2027-02-20,workday,调休,\n",
        encoding="utf-8",
    )
    cal = load_dataset(data).calendar
    assert [(d.date.isoformat(), d.working, d.name_en, d.source) for d in cal] == [
        ("2027-02-09", False, "Spring Festival", "calendar.csv row 2"),
        ("2027-02-20", True, "调休", "calendar.csv row 3"),
    ]


def test_check_data_lists_every_problem_of_every_file_in_one_run(data: Path, capsys):
    """A bad street row must not hide unknown street codes, and a bad column must not hide
    the rules that span the row's other columns (the shift, the outline)."""
    _edit(data / "depot.csv", 2, "lat", "north")
    _edit(data / "streets.csv", 3, "served", "maybe")
    stops = pd.read_csv(data / "stops.csv", dtype=str, keep_default_na=False)
    _edit(data / "stops.csv", 4, "street_code", "999999999")
    _edit(data / "stops.csv", 5, "kind", "castle")
    _edit(data / "stops.csv", 5, "lat", "26.6")
    _edit(data / "stops.csv", 7, "stop_id", stops.loc[0, "stop_id"])
    _edit(data / "taxpayers.csv", 3, "taxpayer_id", "123")
    _edit(data / "taxpayers.csv", 4, "street_code", "999999999")
    _edit(data / "taxpayers.csv", 5, "lon", "abc")
    _edit(data / "vans.csv", 2, "shift_end", "08:00")
    _edit(data / "vans.csv", 2, "weekdays", "Mon-Fry")
    _edit(data / "services.csv", 2, "minutes", "0")
    (data / "calendar.csv").write_text(
        "date,kind,name,name_en\n"
        "2027-02-09,holiday,春节,Spring Festival\n"
        "2027-10-01,workday,国庆调休,\n"
        "2027-13-01,holiday,春节,\n"
        "2027-02-10,festival,春节,\n",
        encoding="utf-8",
    )
    assert main(["check-data", "--data", str(data)]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert [f"{Path(f).name}: {p}" for f, p in (line.split(": ", 1) for line in lines[:-1])] == [
        "depot.csv: row 2, column 'lat': 'north' is not a WGS-84 latitude in decimal degrees",
        "streets.csv: row 3, column 'served': 'maybe' is not true or false",
        "stops.csv: row 4, column 'street_code': '999999999' is not a street in streets.csv",
        "stops.csv: row 5, column 'kind': 'castle' is not one of: village, community, "
        "industrial_park, key_project",
        f"stops.csv: row 5, column 'lat': the point (26.6, {float(stops.loc[3, 'lon'])}) is "
        "outside the district outline in outline.geojson",
        f"stops.csv: row 7, column 'stop_id': '{stops.loc[0, 'stop_id']}' already appears in row 2",
        "taxpayers.csv: row 3, column 'taxpayer_id': '123' has 3 characters; a taxpayer ID has 18",
        "taxpayers.csv: row 4, column 'street_code': '999999999' is not a street in streets.csv",
        "taxpayers.csv: row 5, column 'lon': 'abc' is not a WGS-84 longitude in decimal degrees",
        "services.csv: row 2, column 'minutes': 0 must be greater than zero",
        "vans.csv: row 2, column 'weekdays': 'Mon-Fry' is not weekdays such as Mon-Fri or "
        "Mon,Wed,Fri",
        "vans.csv: row 2, column 'shift_end': van V1: the shift ends at 08:00, not after it "
        "starts at 08:30",
        "calendar.csv: row 3, column 'kind': 2027-10-01 is National Day (国庆节), a statutory "
        "holiday fixed by law: it cannot be a working day",
        "calendar.csv: row 4, column 'date': '2027-13-01' is not a date as YYYY-MM-DD",
        "calendar.csv: row 5, column 'kind': 'festival' is not one of: holiday, workday, schedule",
    ]
    assert lines[-1] == "15 problem(s) in 7 file(s)"


def test_a_rule_spanning_columns_runs_on_the_columns_it_needs(data: Path):
    """A bad counter does not hide a lunch that does not fit, nor the shift's order."""
    _edit(data / "vans.csv", 2, "counters", "two")
    _edit(data / "vans.csv", 2, "lunch_latest", "12:00")
    _edit(data / "vans.csv", 2, "shift_start", "18:00")
    with pytest.raises(DataFileError) as err:
        load_dataset(data)
    assert [str(p) for p in err.value.problems] == [
        "row 2, column 'counters': 'two' is not a whole number",
        "row 2, column 'shift_end': van V1: the shift ends at 17:00, not after it starts at 18:00",
        "row 2, column 'lunch_minutes': van V1: a 60-minute lunch does not fit between "
        "lunch_earliest 11:30 and lunch_latest 12:00",
    ]


# --- the hall far from the district --------------------------------------------------


def test_without_an_outline_a_hall_far_from_the_stops_is_a_warning(data: Path, capsys):
    (data / "outline.geojson").unlink()
    assert load_dataset(data).warnings == ()
    depot = pd.read_csv(data / "depot.csv", dtype=str)
    lon = round(float(depot.loc[0, "lon"]) + 1.5, 6)  # about 135 km east
    _edit(data / "depot.csv", 2, "lon", str(lon))
    (warning,) = load_dataset(data).warnings
    assert Path(warning.path).name == "depot.csv"
    assert str(warning.problem).startswith(
        f"row 2, column 'lon': the hall ({depot.loc[0, 'lat']}, {lon}) is "
    )
    assert "km from the middle of the district's stops" in str(warning.problem)
    assert main(["check-data", "--data", str(data)]) == 0
    captured = capsys.readouterr()
    assert "warning: " in captured.err and "depot.csv: row 2, column 'lon'" in captured.err
    assert "1 warning(s) above" in captured.out


def test_with_an_outline_a_hall_far_away_stays_an_error(data: Path):
    depot = pd.read_csv(data / "depot.csv", dtype=str)
    _edit(data / "depot.csv", 2, "lon", str(round(float(depot.loc[0, "lon"]) + 1.5, 6)))
    with pytest.raises(DataFileError, match=r"depot.csv: row 2, column 'lon': .* outside the"):
        load_dataset(data)


# --- the calendar file can say a year's whole schedule is in it ------------------------


def test_a_schedule_row_marks_the_year_as_published(data: Path):
    (data / "calendar.csv").write_text(
        "date,kind,name,name_en\n2027-03-01,holiday,县庆,County Day\n",
        encoding="utf-8",
    )
    assert not work_week("2027-W40", calendar=load_dataset(data).calendar).calendar_known
    notice = "国务院办公厅关于2027年部分节假日安排的通知"
    (data / "calendar.csv").write_text(
        "date,kind,name,name_en\n"
        "2027-03-01,holiday,县庆,County Day\n"
        f"2027-01-01,schedule,{notice},\n",
        encoding="utf-8",
    )
    cal = load_dataset(data).calendar
    assert PublishedYear(2027, notice, "calendar.csv row 3") in cal
    week = work_week("2027-W40", calendar=cal)
    assert week.calendar_known and not [
        n for n in [str(n) for n in week.notes] if "not published" in n
    ]


def test_a_year_is_marked_once_and_days_stay_unique(data: Path):
    (data / "calendar.csv").write_text(
        "date,kind,name,name_en\n"
        "2027-01-01,schedule,通知,\n"
        "2027-01-01,holiday,元旦,\n"
        "2027-06-30,schedule,通知,\n"
        "2027-01-01,holiday,元旦,\n",
        encoding="utf-8",
    )
    with pytest.raises(DataFileError) as err:
        load_dataset(data)
    assert [line.split("calendar.csv: ", 1)[1] for line in err.value.report().splitlines()] == [
        "row 4, column 'date': a schedule row for 2027 already appears in row 2",
        "row 5, column 'date': '2027-01-01' already appears in row 3",
    ]
