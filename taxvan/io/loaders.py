"""Reading and validating a district's data files (CSV, or Excel where people use it).

Each file has a schema; every problem in a file is collected (file, row, column, what is
wrong) and the file is rejected whole, so a dispatcher never works on half an import. Row
numbers are the spreadsheet's: the header is row 1, the first record row 2.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from taxvan.booking import taxpayer_id_problem
from taxvan.clock import parse_hhmm
from taxvan.dataset import Dataset
from taxvan.errors import DataFileError, DataProblem
from taxvan.fleet import Van
from taxvan.places import Depot, Stop, StopKind, Street
from taxvan.services import Service
from taxvan.taxpayers import Taxpayer, TaxpayerKind

# Fangzi District's extent with a margin; a point outside is a typo or swapped lat/lon.
# Callers may pass their own bounds for another district.
DEFAULT_BOUNDS = (35.5, 37.5, 118.5, 120.5)  # lat_min, lat_max, lon_min, lon_max


def _text(v: Any) -> str:
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return ""
    return str(v).strip()


def _as_float(v: str) -> float:
    return float(v)


def _as_int(v: str) -> int:
    f = float(v)
    if not f.is_integer():
        raise ValueError
    return int(f)


def _as_bool(v: str) -> bool:
    low = v.lower()
    if low in ("1", "true", "yes", "y", "是"):
        return True
    if low in ("0", "false", "no", "n", "否"):
        return False
    raise ValueError


@dataclass(frozen=True)
class Column:
    name: str
    parse: Callable[[str], Any] = str
    required: bool = True
    expect: str = "a value"
    choices: tuple[str, ...] | None = None
    unique: bool = False
    check: Callable[[Any], str | None] | None = None
    default: Any = None


def _read_table(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise DataFileError(str(path), [DataProblem("file not found")])
    try:
        if path.suffix.lower() in (".xlsx", ".xls"):
            return pd.read_excel(path, dtype=str, keep_default_na=False)
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise DataFileError(
            str(path), [DataProblem("not UTF-8 text; save the file as CSV UTF-8")]
        ) from None
    except (pd.errors.ParserError, ValueError) as exc:
        raise DataFileError(str(path), [DataProblem(f"cannot be read as a table: {exc}")]) from None


def read_records(path: Path, columns: Sequence[Column]) -> list[dict[str, Any]]:
    """Parse every row of `path` by `columns`; all problems at once, or no records at all."""
    frame = _read_table(path)
    problems: list[DataProblem] = []
    present = [str(c).strip() for c in frame.columns]
    frame.columns = present
    for col in columns:
        if col.required and col.name not in present:
            problems.append(DataProblem("missing column", column=col.name))
    if problems:
        raise DataFileError(str(path), problems)
    if frame.empty:
        raise DataFileError(str(path), [DataProblem("the file has no records")])

    records: list[dict[str, Any]] = []
    seen: dict[str, dict[Any, int]] = {c.name: {} for c in columns if c.unique}
    for i, row in enumerate(frame.to_dict("records")):
        rownum = i + 2
        rec: dict[str, Any] = {}
        for col in columns:
            raw = _text(row.get(col.name))
            if raw == "":
                if col.required:
                    problems.append(DataProblem(f"empty; expected {col.expect}", rownum, col.name))
                rec[col.name] = col.default
                continue
            if col.choices is not None and raw not in col.choices:
                problems.append(
                    DataProblem(
                        f"'{raw}' is not one of: {', '.join(col.choices)}", rownum, col.name
                    )
                )
                continue
            try:
                value = col.parse(raw)
            except (ValueError, TypeError):
                problems.append(DataProblem(f"'{raw}' is not {col.expect}", rownum, col.name))
                continue
            if col.check is not None and (msg := col.check(value)):
                problems.append(DataProblem(msg, rownum, col.name))
                continue
            if col.unique:
                first = seen[col.name].setdefault(value, rownum)
                if first != rownum:
                    problems.append(
                        DataProblem(f"'{raw}' already appears in row {first}", rownum, col.name)
                    )
                    continue
            rec[col.name] = value
        rec["_row"] = rownum
        records.append(rec)
    if problems:
        raise DataFileError(str(path), problems)
    return records


def _lat_check(bounds: tuple[float, float, float, float]) -> Callable[[float], str | None]:
    def check(v: float) -> str | None:
        if not bounds[0] <= v <= bounds[1]:
            return f"latitude {v} is outside the district ({bounds[0]}..{bounds[1]})"
        return None

    return check


def _lon_check(bounds: tuple[float, float, float, float]) -> Callable[[float], str | None]:
    def check(v: float) -> str | None:
        if not bounds[2] <= v <= bounds[3]:
            return f"longitude {v} is outside the district ({bounds[2]}..{bounds[3]})"
        return None

    return check


def _coords(bounds: tuple[float, float, float, float]) -> list[Column]:
    return [
        Column(
            "lat",
            _as_float,
            expect="a WGS-84 latitude in decimal degrees",
            check=_lat_check(bounds),
        ),
        Column(
            "lon",
            _as_float,
            expect="a WGS-84 longitude in decimal degrees",
            check=_lon_check(bounds),
        ),
    ]


def _positive(v: int) -> str | None:
    return None if v > 0 else f"{v} must be greater than zero"


def _weekday_set(text: str) -> frozenset[int]:
    names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    days: set[int] = set()
    for part in text.replace(";", ",").split(","):
        p = part.strip().lower()[:3]
        if "-" in part:
            a, b = (x.strip().lower()[:3] for x in part.split("-", 1))
            ia, ib = names.index(a), names.index(b)
            days.update(range(ia, ib + 1))
        elif p in names:
            days.add(names.index(p))
        else:
            raise ValueError
    if not days:
        raise ValueError
    return frozenset(days)


def _find(folder: Path, stem: str) -> Path:
    for ext in (".csv", ".xlsx"):
        p = folder / f"{stem}{ext}"
        if p.exists():
            return p
    return folder / f"{stem}.csv"


def load_depot(path: Path, bounds: tuple[float, float, float, float] = DEFAULT_BOUNDS) -> Depot:
    recs = read_records(
        path,
        [
            Column("id"),
            Column("name"),
            *_coords(bounds),
            Column("coord_quality", required=False, default="surveyed"),
        ],
    )
    if len(recs) != 1:
        raise DataFileError(str(path), [DataProblem(f"expected one depot, found {len(recs)}")])
    r = recs[0]
    return Depot(r["id"], r["name"], r["lat"], r["lon"], r["coord_quality"])


def load_streets(path: Path) -> list[Street]:
    recs = read_records(
        path,
        [
            Column("code", unique=True),
            Column("name"),
            Column("name_en"),
            Column("served", _as_bool, expect="true or false"),
        ],
    )
    return [Street(r["code"], r["name"], r["name_en"], r["served"]) for r in recs]


def load_stops(
    path: Path, street_codes: set[str], bounds: tuple[float, float, float, float] = DEFAULT_BOUNDS
) -> list[Stop]:
    recs = read_records(
        path,
        [
            Column("stop_id", unique=True),
            Column("name"),
            Column(
                "street_code",
                check=lambda c: (
                    None if c in street_codes else f"'{c}' is not a street in streets.csv"
                ),
            ),
            Column("kind", StopKind, choices=tuple(k.value for k in StopKind)),
            *_coords(bounds),
            Column(
                "coord_source", required=False, default="surveyed", choices=("surveyed", "placed")
            ),
        ],
    )
    return [
        Stop(
            r["stop_id"],
            r["name"],
            r["street_code"],
            r["kind"],
            r["lat"],
            r["lon"],
            r["coord_source"],
        )
        for r in recs
    ]


def load_taxpayers(
    path: Path, street_codes: set[str], bounds: tuple[float, float, float, float] = DEFAULT_BOUNDS
) -> list[Taxpayer]:
    recs = read_records(
        path,
        [
            Column(
                "taxpayer_id",
                str.upper,
                unique=True,
                check=taxpayer_id_problem,
                expect="an 18-character taxpayer ID",
            ),
            Column("name"),
            Column("kind", TaxpayerKind, choices=tuple(k.value for k in TaxpayerKind)),
            Column(
                "street_code",
                check=lambda c: (
                    None if c in street_codes else f"'{c}' is not a street in streets.csv"
                ),
            ),
            *_coords(bounds),
        ],
    )
    return [
        Taxpayer(r["taxpayer_id"], r["name"], r["kind"], r["street_code"], r["lat"], r["lon"])
        for r in recs
    ]


def load_services(path: Path) -> list[Service]:
    recs = read_records(
        path,
        [
            Column("code", unique=True),
            Column("name_zh"),
            Column("name_en"),
            Column("minutes", _as_int, expect="a whole number of minutes", check=_positive),
            Column("materials_zh"),
            Column("materials_en"),
        ],
    )
    return [
        Service(
            r["code"],
            r["name_zh"],
            r["name_en"],
            r["minutes"],
            r["materials_zh"],
            r["materials_en"],
        )
        for r in recs
    ]


def load_vans(path: Path) -> list[Van]:
    hhmm = {"parse": parse_hhmm, "expect": "a time as HH:MM"}
    recs = read_records(
        path,
        [
            Column("van_id", unique=True),
            Column("name"),
            Column("counters", _as_int, expect="a whole number", check=_positive),
            Column("shift_start", **hhmm),
            Column("shift_end", **hhmm),
            Column("lunch_minutes", _as_int, expect="a whole number of minutes", check=_positive),
            Column("lunch_earliest", **hhmm),
            Column("lunch_latest", **hhmm),
            Column(
                "weekdays",
                _weekday_set,
                required=False,
                default=frozenset(range(5)),
                expect="weekdays such as Mon-Fri or Mon,Wed,Fri",
            ),
        ],
    )
    vans = []
    problems = []
    for r in recs:
        try:
            vans.append(
                Van(
                    r["van_id"],
                    r["name"],
                    r["counters"],
                    r["shift_start"],
                    r["shift_end"],
                    r["lunch_minutes"],
                    r["lunch_earliest"],
                    r["lunch_latest"],
                    r["weekdays"],
                )
            )
        except ValueError as exc:
            problems.append(DataProblem(str(exc), r["_row"]))
    if problems:
        raise DataFileError(str(path), problems)
    return vans


def load_dataset(
    folder: str | Path, bounds: tuple[float, float, float, float] = DEFAULT_BOUNDS
) -> Dataset:
    """Load and cross-check a district's data folder; raise DataFileError on the first bad file.

    Files: depot, streets, stops, taxpayers, services, vans (`.csv`, or `.xlsx`).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataFileError(str(folder), [DataProblem("data folder not found")])
    depot = load_depot(_find(folder, "depot"), bounds)
    streets = load_streets(_find(folder, "streets"))
    codes = {s.code for s in streets}
    stops = load_stops(_find(folder, "stops"), codes, bounds)
    taxpayers = load_taxpayers(_find(folder, "taxpayers"), codes, bounds)
    services = load_services(_find(folder, "services"))
    vans = load_vans(_find(folder, "vans"))
    return Dataset(
        folder.name,
        depot,
        tuple(streets),
        tuple(stops),
        tuple(taxpayers),
        tuple(services),
        tuple(vans),
    )
