"""A district's data folder sent as one zip archive: unpacked under the data files' own names
only, whatever the members are called; refused whole when it is hostile or ambiguous."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from taxvan.errors import DataFileError
from taxvan.io.archive import ArchiveProblem, unpack_district
from taxvan.io.guards import FileLimits, LimitProblem
from taxvan.io.loaders import load_dataset
from tests.districts import make_county


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, body in members.items():
            zf.writestr(name, body)
    return path


def _county_zip(tmp_path: Path, folder_in_zip: str = "gaotai/") -> Path:
    folder = make_county(tmp_path / "county")
    members = {f"{folder_in_zip}{p.name}": p.read_bytes() for p in sorted(folder.iterdir())}
    members["__MACOSX/gaotai/._stops.csv"] = b"\x00\x05\x16\x07"
    members[f"{folder_in_zip}说明.txt"] = b"read me"
    return _zip(tmp_path / "county.zip", members)


def _problem(exc: pytest.ExceptionInfo[DataFileError]) -> ArchiveProblem | LimitProblem:
    (problem,) = exc.value.problems
    assert isinstance(problem, ArchiveProblem | LimitProblem)
    return problem


def test_a_zipped_data_folder_unpacks_to_a_folder_the_loaders_read(tmp_path):
    target = tmp_path / "out"
    unpacked = unpack_district(_county_zip(tmp_path), target)
    assert "stops.csv" in unpacked.files and "outline.geojson" in unpacked.files
    assert unpacked.ignored == ["__MACOSX/gaotai/._stops.csv", "gaotai/说明.txt"]
    assert sorted(p.name for p in target.iterdir()) == unpacked.files
    assert len(load_dataset(target).stops) > 10


def test_files_at_the_archive_root_unpack_too(tmp_path):
    unpacked = unpack_district(_county_zip(tmp_path, folder_in_zip=""), tmp_path / "out")
    assert "taxpayers.csv" in unpacked.files


def test_a_member_path_never_leaves_the_target_folder(tmp_path):
    outside = tmp_path / "escaped"
    archive = _zip(
        tmp_path / "evil.zip",
        {
            "../../escaped/taxpayers.csv": b"x",
            f"{outside}/stops.csv": b"y",  # an absolute path: only its name is used
            "C:\\escaped\\streets.csv": b"z",
        },
    )
    target = tmp_path / "deep" / "down" / "out"
    with pytest.raises(DataFileError) as exc:
        unpack_district(archive, target)
    assert _problem(exc).code == "folders"  # type: ignore[union-attr]
    del exc
    archive = _zip(
        tmp_path / "evil2.zip", {"../../escaped/taxpayers.csv": b"x", "/abs/stops.csv": b"y"}
    )
    unpacked = unpack_district(archive, target)
    assert unpacked.files == ["stops.csv"] and unpacked.ignored == ["../../escaped/taxpayers.csv"]
    assert sorted(p.name for p in target.iterdir()) == ["stops.csv"]
    assert not outside.exists() and not (tmp_path / "deep" / "escaped").exists()


@pytest.mark.parametrize(
    ("members", "code"),
    [
        ({"a/stops.csv": b"x", "b/streets.csv": b"y"}, "folders"),
        ({"stops.csv": b"x", "stops.xlsx": b"y"}, "twice"),
        ({"STOPS.csv": b"x", "stops.csv": b"y"}, "twice"),
        ({"readme.txt": b"x", "/etc/passwd": b"y"}, "empty"),
    ],
)
def test_an_ambiguous_archive_is_refused_and_nothing_is_unpacked(tmp_path, members, code):
    target = tmp_path / "out"
    with pytest.raises(DataFileError) as exc:
        unpack_district(_zip(tmp_path / "a.zip", members), target)
    problem = _problem(exc)
    assert isinstance(problem, ArchiveProblem) and problem.code == code
    assert not target.exists() or not any(target.iterdir())


def test_an_archive_unpacking_past_the_limit_is_refused_before_unpacking(tmp_path):
    archive = _zip(tmp_path / "bomb.zip", {"taxpayers.csv": b"0" * 3_000_000})
    assert archive.stat().st_size < 50_000
    target = tmp_path / "out"
    with pytest.raises(DataFileError) as exc:
        unpack_district(archive, target, FileLimits(unpacked_bytes=1_000_000))
    problem = _problem(exc)
    assert isinstance(problem, LimitProblem) and problem.limit == "unpacked_bytes"
    assert not target.exists()


def test_a_member_that_lies_about_its_size_is_refused(tmp_path):
    archive = _zip(tmp_path / "liar.zip", {"stops.csv": b"a,b\n" * 10_000})
    data = bytearray(archive.read_bytes())
    # shrink the declared size in the central directory: zipfile then stops reading early
    # and the CRC check fails
    with zipfile.ZipFile(archive) as zf:
        info = zf.infolist()[0]
    central = data.rfind(b"PK\x01\x02")
    size_at = central + 24
    assert int.from_bytes(data[size_at : size_at + 4], "little") == info.file_size
    data[size_at : size_at + 4] = (10).to_bytes(4, "little")
    archive.write_bytes(bytes(data))
    with pytest.raises(DataFileError) as exc:
        unpack_district(archive, tmp_path / "out")
    assert _problem(exc).code == "damaged"  # type: ignore[union-attr]
    assert not (tmp_path / "out" / "stops.csv").exists()


def test_an_encrypted_member_and_a_file_that_is_no_zip_are_refused(tmp_path):
    archive = tmp_path / "enc.zip"
    _zip(archive, {"stops.csv": b"x"})
    data = bytearray(archive.read_bytes())
    for header, flags_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # local and central
        at = data.find(header) + flags_at
        data[at] |= 0x1  # "encrypted"
    archive.write_bytes(bytes(data))
    with pytest.raises(DataFileError) as exc:
        unpack_district(archive, tmp_path / "out")
    assert _problem(exc).code == "encrypted"  # type: ignore[union-attr]
    not_zip = tmp_path / "stops.zip"
    not_zip.write_text("stop_id,name\n", encoding="utf-8")
    with pytest.raises(DataFileError) as exc:
        unpack_district(not_zip, tmp_path / "out")
    assert _problem(exc).code == "not_zip"  # type: ignore[union-attr]
