"""A district's files sent as one zip archive, unpacked into a folder safely.

An archive from anyone is read as hostile: its member names may climb out of the folder
(`../../etc/passwd`, `/abs`, `C:\\x`), it may unpack to far more than it weighs (a zip bomb),
hold thousands of members, encrypted ones, or two files for one table. So:

* a member's own path is never used to write: only a data file's known name (`stops.csv`,
  `outline.geojson`...) is written, by us, into the target folder; every other file (a read-me,
  macOS's `__MACOSX/` copies, hidden files) is left out and listed;
* the data files must sit in one folder of the archive (its root, or one folder, as a zipped
  data folder has them), once each;
* the declared sizes together are held to `FileLimits.unpacked_bytes` before anything is
  unpacked, and each member is read no further than its declared size (zipfile checks the CRC
  at the end, so a member that lies about its size fails);
* the number of members is held to `MAX_MEMBERS`.

Each file unpacked is then checked by the loaders as any uploaded file is (`guards`).
"""

from __future__ import annotations

import shutil
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from taxvan.errors import DataFileError, DataProblem
from taxvan.io.guards import DEFAULT_LIMITS, FileLimits, LimitProblem
from taxvan.messages import N_, message

MAX_MEMBERS = 1000
"""Members an archive may list at all (files and folders): a district has at most nine files."""

TABLES = ("depot", "streets", "stops", "taxpayers", "services", "vans", "calendar")
DATA_NAMES = frozenset(
    {f"{t}{ext}" for t in TABLES for ext in (".csv", ".xlsx")} | {"outline.geojson"}
)
"""The files of a district's data folder (data/README.md), by their names in lower case."""


class ArchiveProblem(DataProblem):
    """Why an archive cannot be unpacked: `code` says which rule, `names` the members meant.

    Codes: "not_zip", "damaged", "encrypted", "members" (too many), "folders" (data files in
    several folders), "twice" (a table given twice), "empty" (no data file)."""

    __slots__ = ("code", "names")

    def __init__(self, code: str, names: tuple[str, ...] = ()) -> None:
        self.code = code
        self.names = names
        listed = ", ".join(names)
        what = {
            "not_zip": message(N_("This is not a zip archive.")),
            "damaged": message(N_("The zip archive is damaged.")),
            "encrypted": message(N_("The zip archive is encrypted; send it without a password.")),
            "members": message(N_("The zip archive lists more than %(n)s files."), n=MAX_MEMBERS),
            "folders": message(
                N_(
                    "The data files are in several folders of the zip archive (%(names)s); "
                    "put them in one folder."
                ),
                names=listed,
            ),
            "twice": message(
                N_("A table is in the zip archive twice (%(names)s); keep one."), names=listed
            ),
            "empty": message(
                N_(
                    "The zip archive holds no data file of a district (stops.csv, "
                    "taxpayers.csv, … as in the data format)."
                )
            ),
        }[code]
        super().__init__(what)


@dataclass
class Unpacked:
    """What an archive gave: the data files written (their names) and the members left out."""

    files: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


def _refuse(archive: Path, problem: DataProblem) -> DataFileError:
    return DataFileError(str(archive), [problem])


def _member_path(info: zipfile.ZipInfo) -> PurePosixPath:
    """The member's path as written by any zip tool (Windows tools may use backslashes)."""
    return PurePosixPath(info.filename.replace("\\", "/"))


def _is_data(path: PurePosixPath) -> bool:
    hidden = any(part.startswith(".") or part == "__MACOSX" for part in path.parts)
    return not hidden and path.name.lower() in DATA_NAMES


def _choose(
    archive: Path, infos: list[zipfile.ZipInfo]
) -> tuple[dict[str, zipfile.ZipInfo], list[str]]:
    """The member to unpack for each data file name, and the members left out."""
    chosen: dict[str, zipfile.ZipInfo] = {}
    ignored: list[str] = []
    folders: set[str] = set()
    tables: dict[str, list[str]] = {}
    for info in infos:
        if info.is_dir():
            continue
        path = _member_path(info)
        if not _is_data(path):
            ignored.append(info.filename)
            continue
        if info.flag_bits & 0x1:
            raise _refuse(archive, ArchiveProblem("encrypted"))
        folders.add(str(path.parent))
        name = path.name.lower()
        tables.setdefault(PurePosixPath(name).stem, []).append(info.filename)
        chosen[name] = info
    if len(folders) > 1:
        raise _refuse(archive, ArchiveProblem("folders", tuple(sorted(folders))))
    twice = [n for names in tables.values() if len(names) > 1 for n in names]
    if twice:
        raise _refuse(archive, ArchiveProblem("twice", tuple(sorted(twice))))
    if not chosen:
        raise _refuse(archive, ArchiveProblem("empty"))
    return chosen, ignored


def _copy(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path) -> None:
    """Unpack one member to `target`, reading no more than it declares."""
    with zf.open(info) as src, target.open("wb") as dst:
        shutil.copyfileobj(src, dst, 1024 * 1024)


def unpack_district(archive: Path, target: Path, limits: FileLimits = DEFAULT_LIMITS) -> Unpacked:
    """Unpack the data files of the zip `archive` into the folder `target` (made if missing),
    each under its own name (`stops.csv`); DataFileError with an `ArchiveProblem` or a
    `LimitProblem` when the archive is refused, and then nothing is left in `target` by it."""
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_MEMBERS:
                raise _refuse(archive, ArchiveProblem("members"))
            chosen, ignored = _choose(archive, infos)
            total = sum(i.file_size for i in chosen.values())
            if total > limits.unpacked_bytes:
                raise _refuse(
                    archive,
                    LimitProblem(archive.name, "unpacked_bytes", limits.unpacked_bytes, total),
                )
            target.mkdir(parents=True, exist_ok=True)
            written: list[Path] = []
            try:
                for name, info in sorted(chosen.items()):
                    written.append(target / name)
                    _copy(zf, info, target / name)
            except BaseException:
                for path in written:
                    path.unlink(missing_ok=True)
                raise
    except zipfile.BadZipFile as exc:
        code = "not_zip" if "not a zip file" in str(exc).lower() else "damaged"
        raise _refuse(archive, ArchiveProblem(code)) from None
    except (zlib.error, EOFError, NotImplementedError, RuntimeError, OSError):
        raise _refuse(archive, ArchiveProblem("damaged")) from None
    return Unpacked(sorted(chosen), sorted(ignored))
