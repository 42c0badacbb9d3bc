"""Reading and validating a district's data files (CSV, or Excel where people use it).

Each file has a schema; every problem in every file is collected (file, row, column, what is
wrong) and the folder is rejected whole, so a dispatcher never works on half an import and
fixes everything in one go. Row numbers are the spreadsheet's: the header is row 1, the first
record row 2.

Nothing here knows a particular district: a point's plausibility comes from the district's
own data (its optional outline, and the other points of its street), with China's extent as
the only fixed sanity check.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import Any

import pandas as pd
import shapely
from shapely.geometry import Point, shape
from shapely.ops import nearest_points, unary_union

from taxvan.booking import taxpayer_id_problem
from taxvan.clock import hhmm, parse_hhmm
from taxvan.dataset import Dataset, DataWarning
from taxvan.errors import DataFileError, DataFolderError, DataProblem, listing
from taxvan.fleet import Van
from taxvan.io.guards import DEFAULT_LIMITS, FileLimits, check_files, read_json
from taxvan.messages import N_, Message, message
from taxvan.places import Depot, Stop, StopKind, Street
from taxvan.services import Service
from taxvan.taxpayers import Taxpayer, TaxpayerKind
from taxvan.workdays import CalendarDay, PublishedYear, statutory_holiday

CHINA_EXTENT = (3.5, 54.0, 73.0, 135.5)
"""lat_min, lat_max, lon_min, lon_max of China with a small margin: the one fixed sanity check
(a point outside is a typo, swapped lat/lon or not WGS-84); the district's own extent comes
from its outline file and its streets' points."""

OUTLINE_TOLERANCE_KM = 1.5
"""A point this close outside the outline still counts as inside: outlines are simplified
and addresses near the border are geocoded roughly."""

OUTLIER_SPREADS = 6.0
OUTLIER_MIN_KM = 10.0
"""A stop or taxpayer is reported as an outlier (a warning) when it lies more than
`OUTLIER_SPREADS` times its street's robust spread (the median distance of the street's
points from their median point) and more than `OUTLIER_MIN_KM` from that median point; the
depot likewise against all the district's stops."""

OUTLIER_MIN_POINTS = 5
"""Fewer points than this have no meaningful spread, so no outlier is reported among them."""


@dataclass(frozen=True)
class RowRule:
    """A rule spanning several columns of one row (a shift's order, a point in the outline).

    It runs whenever the columns it `needs` parsed, even if other columns of the same row
    did not, so one typo in a row does not hide another problem of that row.
    """

    needs: tuple[str, ...]
    check: Callable[[dict[str, Any]], list[DataProblem]]


def cell_text(v: Any) -> str:
    """A table cell as trimmed text; an empty or missing cell is ""."""
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return ""
    return str(v).strip()


MISSING_COLUMN = message(N_("missing column"))
WHOLE_MINUTES = message(N_("a whole number of minutes"))


def already_in_row(value: str, first: int) -> Message:
    """A value given again that must be given once."""
    return message(N_("'%(value)s' already appears in row %(first)s"), value=value, first=first)


def not_one_of(value: str, choices: Sequence[str]) -> Message:
    """A value that is none of the allowed ones."""
    return message(
        N_("'%(value)s' is not one of: %(choices)s"), value=value, choices=listing(choices)
    )


def _taxpayer_id_check(value: str) -> Message | None:
    """`taxpayer_id_problem` as a Message: the same rule, in the reader's language."""
    if taxpayer_id_problem(value) is None:
        return None
    if len(value) != 18:
        return message(
            N_("'%(value)s' has %(n)s characters; a taxpayer ID has 18"), value=value, n=len(value)
        )
    return message(
        N_("'%(value)s' is neither a valid unified social credit code nor a resident ID number"),
        value=value,
    )


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


A_VALUE = message(N_("a value"))


@dataclass(frozen=True)
class Column:
    name: str
    parse: Callable[[str], Any] = str
    required: bool = True
    expect: Message = A_VALUE
    choices: tuple[str, ...] | None = None
    unique: bool = False
    check: Callable[[Any], Message | None] | None = None
    default: Any = None


FORMULA_FIRST = ("=", "+", "@")
"""First characters that make a spreadsheet run a cell as a formula. A place name is
published (timetable, open data, posters, the console's spreadsheets), so one that starts
with them is refused at import rather than written out neutralised everywhere."""


def formula_problem(value: str) -> Message | None:
    """Why `value` cannot be a place's name or id, if it starts like a spreadsheet formula."""
    first = value[:1]
    if first not in FORMULA_FIRST:
        return None
    return message(
        N_(
            "'%(value)s' starts with '%(first)s', which a spreadsheet runs as a formula; "
            "remove the '%(first)s' or start the name with another character"
        ),
        value=value,
        first=first,
    )


def _place(name: str, unique: bool = False) -> Column:
    """A place's name or id (hall, street, stop, van): text that cannot start a formula."""
    return Column(name, unique=unique, check=formula_problem)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_MESSAGE = message(
    N_("contains a line break, tab or another control character: a cell holds one line of text")
)
"""Names and codes go on one line everywhere they are shown (pages, posters, calendar feeds,
file names), so a cell with a control character inside is refused, naming row and column."""


def read_table(path: Path) -> pd.DataFrame:
    """A CSV (UTF-8, with or without BOM) or Excel file as a table of text cells; a missing or
    unreadable file raises DataFileError naming it."""
    if not path.exists():
        raise DataFileError(str(path), [DataProblem(message(N_("file not found")))])
    if path.suffix.lower() in (".xlsx", ".xls"):
        try:
            return pd.read_excel(path, dtype=str, keep_default_na=False)
        except Exception as exc:  # any of the XML and zip readers may fail on a foreign file
            raise DataFileError(
                str(path),
                [
                    DataProblem(
                        message(
                            N_("cannot be read as an Excel workbook: %(detail)s"), detail=repr(exc)
                        )
                    )
                ],
            ) from None
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise DataFileError(
            str(path), [DataProblem(message(N_("not UTF-8 text; save the file as CSV UTF-8")))]
        ) from None
    except (pd.errors.ParserError, ValueError) as exc:
        problem = message(N_("cannot be read as a table: %(detail)s"), detail=str(exc))
        raise DataFileError(str(path), [DataProblem(problem)]) from None


def read_records(
    path: Path, columns: Sequence[Column], rules: Sequence[RowRule] = ()
) -> list[dict[str, Any]]:
    """Parse every row of `path` by `columns`; all problems at once, or no records at all.

    Each of `rules` runs on every row whose columns it needs parsed (see `RowRule`).
    """
    records, problems = parse_records(path, columns, rules)
    if problems:
        raise DataFileError(str(path), problems)
    return records


def parse_records(
    path: Path, columns: Sequence[Column], rules: Sequence[RowRule] = ()
) -> tuple[list[dict[str, Any]], list[DataProblem]]:
    """Every row of `path` as far as it parsed, and every problem found.

    A record holds only the columns that parsed (a duplicate of a unique value included:
    the value itself is fine), so what a bad file still says can be used to check the
    other files. Raises DataFileError only when the file as a whole cannot be read (no
    file, not a table, a missing column, no records).
    """
    frame = read_table(path)
    problems: list[DataProblem] = []
    present = [str(c).strip() for c in frame.columns]
    frame.columns = present
    for col in columns:
        if col.required and col.name not in present:
            problems.append(DataProblem(MISSING_COLUMN, column=col.name))
    if problems:
        raise DataFileError(str(path), problems)
    if frame.empty:
        raise DataFileError(str(path), [DataProblem(message(N_("the file has no records")))])

    records: list[dict[str, Any]] = []
    seen: dict[str, dict[Any, int]] = {c.name: {} for c in columns if c.unique}
    for i, row in enumerate(frame.to_dict("records")):
        rec = _parse_row(row, i + 2, columns, seen, problems)
        for rule in rules:
            if all(name in rec for name in rule.needs):
                problems.extend(rule.check(rec))
        records.append(rec)
    return records, problems


def _parse_row(
    row: Mapping[Any, Any],
    rownum: int,
    columns: Sequence[Column],
    seen: dict[str, dict[Any, int]],
    problems: list[DataProblem],
) -> dict[str, Any]:
    """The record of row `rownum`: the columns that parsed, and `_row`. Adds the row's
    problems, a unique column's repeat of an earlier row's value (`seen`) among them."""
    rec: dict[str, Any] = {}
    for col in columns:
        raw = cell_text(row.get(col.name))
        value, problem = _cell_value(col, raw)
        if problem is not None:
            problems.append(DataProblem(problem, rownum, col.name))
            continue
        rec[col.name] = value
        if col.unique and raw:
            first = seen[col.name].setdefault(value, rownum)
            if first != rownum:
                problems.append(DataProblem(already_in_row(raw, first), rownum, col.name))
    rec["_row"] = rownum
    return rec


def _cell_value(col: Column, raw: str) -> tuple[Any, Message | None]:
    """(the value, None) of a cell's text by its column's rules (an empty optional cell: the
    column's default), or (None, what is wrong with it)."""
    if raw == "":
        if col.required:
            return None, message(N_("empty; expected %(expect)s"), expect=col.expect)
        return col.default, None
    if _CONTROL.search(raw):
        return None, _CONTROL_MESSAGE
    if col.choices is not None and raw not in col.choices:
        return None, not_one_of(raw, col.choices)
    try:
        value = col.parse(raw)
    except (ValueError, TypeError):
        return None, message(N_("'%(value)s' is not %(expect)s"), value=raw, expect=col.expect)
    if col.check is not None and (msg := col.check(value)):
        return None, msg
    return value, None


def _lat_check(v: float) -> Message | None:
    lo, hi = CHINA_EXTENT[0], CHINA_EXTENT[1]
    if not lo <= v <= hi:
        return message(
            N_("latitude %(value)s is outside China (%(low)s..%(high)s); are lat and lon swapped?"),
            value=v,
            low=lo,
            high=hi,
        )
    return None


def _lon_check(v: float) -> Message | None:
    lo, hi = CHINA_EXTENT[2], CHINA_EXTENT[3]
    if not lo <= v <= hi:
        return message(
            N_(
                "longitude %(value)s is outside China (%(low)s..%(high)s); are lat and lon swapped?"
            ),
            value=v,
            low=lo,
            high=hi,
        )
    return None


def _coords() -> list[Column]:
    return [
        Column(
            "lat",
            _as_float,
            expect=message(N_("a WGS-84 latitude in decimal degrees")),
            check=_lat_check,
        ),
        Column(
            "lon",
            _as_float,
            expect=message(N_("a WGS-84 longitude in decimal degrees")),
            check=_lon_check,
        ),
    ]


class Outline:
    """The district's outline (`outline.geojson`): every point must lie inside it.

    Points within `OUTLINE_TOLERANCE_KM` outside still count, since outlines are simplified.
    `rule` checks a file's `lat` and `lon` columns against it.
    """

    def __init__(self, geometry: Any, path: Path) -> None:
        self.path = path
        self.geometry = geometry
        """As the file draws it (WGS-84 lon/lat), without the tolerance."""
        lat = geometry.centroid.y
        tol_deg = OUTLINE_TOLERANCE_KM / (111.32 * max(0.2, math.cos(math.radians(lat))))
        self.area = geometry.buffer(tol_deg)
        shapely.prepare(self.area)
        self.rule = RowRule(("lat", "lon"), self.check)

    def check(self, rec: dict[str, Any]) -> list[DataProblem]:
        """A problem naming the row if the record's point lies outside the outline."""
        lat, lon = rec["lat"], rec["lon"]
        if shapely.contains_xy(self.area, lon, lat):
            return []
        near = nearest_points(self.area, Point(lon, lat))[0]
        return [
            DataProblem(
                message(
                    N_("the point %(point)s is outside the district outline in %(file)s"),
                    point=f"({lat}, {lon})",
                    file=self.path.name,
                ),
                rec["_row"],
                _off_column(near.y, near.x, lat, lon),
            )
        ]


def load_outline(path: Path, limits: FileLimits = DEFAULT_LIMITS) -> Outline:
    """Read a GeoJSON Polygon/MultiPolygon (bare, Feature or FeatureCollection), WGS-84.

    The file's size and nesting are checked against `limits` before it is parsed."""
    doc = read_json(path, limits, "GeoJSON")
    if not isinstance(doc, dict):
        raise DataFileError(str(path), [DataProblem(message(N_("not a GeoJSON object")))])
    if doc.get("type") == "FeatureCollection":
        features = doc.get("features")
        if not isinstance(features, list):
            problem = message(N_("'features' of a FeatureCollection must be a list"))
            raise DataFileError(str(path), [DataProblem(problem)])
        geoms = [f.get("geometry") for f in features if isinstance(f, dict)]
    elif doc.get("type") == "Feature":
        geoms = [doc.get("geometry")]
    else:
        geoms = [doc]
    shapes = []
    for i, g in enumerate(geoms, start=1):
        if not isinstance(g, dict) or g.get("type") not in ("Polygon", "MultiPolygon"):
            kind = g.get("type") if isinstance(g, dict) else g
            problem = message(
                N_("geometry %(n)s is %(kind)s, not a Polygon or MultiPolygon"), n=i, kind=kind
            )
            raise DataFileError(str(path), [DataProblem(problem)])
        try:
            shapes.append(shape(g).buffer(0))
        except (
            ValueError,
            TypeError,
            KeyError,
            IndexError,
            AttributeError,
            shapely.errors.GEOSException,
        ) as exc:
            problem = message(N_("geometry %(n)s cannot be read: %(detail)s"), n=i, detail=str(exc))
            raise DataFileError(str(path), [DataProblem(problem)]) from None
    if not shapes:
        raise DataFileError(
            str(path), [DataProblem(message(N_("no Polygon or MultiPolygon in the file")))]
        )
    geometry = unary_union(shapes)
    lon0, lat0, lon1, lat1 = geometry.bounds
    if geometry.is_empty or not (
        CHINA_EXTENT[0] <= lat0 <= lat1 <= CHINA_EXTENT[1]
        and CHINA_EXTENT[2] <= lon0 <= lon1 <= CHINA_EXTENT[3]
    ):
        raise DataFileError(
            str(path),
            [
                DataProblem(
                    message(
                        N_(
                            "the outline (%(south)s..%(north)s N, %(west)s..%(east)s E) is not "
                            "inside China: coordinates must be WGS-84 [longitude, latitude]"
                        ),
                        south=f"{lat0:.3f}",
                        north=f"{lat1:.3f}",
                        west=f"{lon0:.3f}",
                        east=f"{lon1:.3f}",
                    )
                )
            ],
        )
    return Outline(geometry, path)


def folder_outline(folder: Path, limits: FileLimits = DEFAULT_LIMITS) -> Any:
    """The geometry of a data folder's `outline.geojson`, or None when it has none (or one
    that cannot be read: `load_dataset` says why)."""
    path = Path(folder) / "outline.geojson"
    if not path.is_file():
        return None
    try:
        return load_outline(path, limits).geometry
    except DataFileError:
        return None


def _off_column(lat0: float, lon0: float, lat1: float, lon1: float) -> str:
    """`lat` or `lon`: the coordinate that is farther off, so the error names the likelier typo."""
    north = abs(lat1 - lat0)
    east = abs(lon1 - lon0) * math.cos(math.radians((lat0 + lat1) / 2))
    return "lat" if north >= east else "lon"


def _km(lat0: float, lon0: float, lat1: float, lon1: float) -> float:
    """Distance in km, equirectangular: plenty for telling a typo from a street's spread."""
    x = math.radians(lon1 - lon0) * math.cos(math.radians((lat0 + lat1) / 2))
    y = math.radians(lat1 - lat0)
    return 6371.0 * math.hypot(x, y)


@dataclass(frozen=True)
class _Middle:
    """The robust middle of some points: their median point and their typical distance
    from it (the median), with the distance beyond which a point is an outlier."""

    lat: float
    lon: float
    spread: float

    @classmethod
    def of(cls, points: Sequence[tuple[float, float]]) -> _Middle:
        lat = median(p[0] for p in points)
        lon = median(p[1] for p in points)
        return cls(lat, lon, median(_km(lat, lon, *p) for p in points))

    def km(self, lat: float, lon: float) -> float:
        return _km(self.lat, self.lon, lat, lon)

    @property
    def limit(self) -> float:
        return max(OUTLIER_SPREADS * self.spread, OUTLIER_MIN_KM)


def street_outliers(
    points: Sequence[tuple[str, int, str, float, float]],
) -> list[DataWarning]:
    """Points far from the rest of their street: (file name, row, street code, lat, lon) in,
    one warning per outlier out (see `OUTLIER_SPREADS` and `OUTLIER_MIN_KM`).

    A warning, not an error: a registered address may truly lie away from its street, and
    the dispatcher is the one who knows; typos far outside the district are already errors.
    """
    by_street: dict[str, list[tuple[str, int, str, float, float]]] = {}
    for p in points:
        by_street.setdefault(p[2], []).append(p)
    out: list[DataWarning] = []
    for street, pts in by_street.items():
        if len(pts) < OUTLIER_MIN_POINTS:
            continue
        middle = _Middle.of([(p[3], p[4]) for p in pts])
        mlat, mlon, spread = middle.lat, middle.lon, middle.spread
        for p in pts:
            if (d := middle.km(p[3], p[4])) > middle.limit:
                out.append(
                    DataWarning(
                        p[0],
                        DataProblem(
                            message(
                                N_(
                                    "the point %(point)s is %(km)s km from the middle of street "
                                    "%(street)s, whose points lie typically %(spread)s km from "
                                    "it: check the coordinates"
                                ),
                                point=f"({p[3]}, {p[4]})",
                                km=f"{d:.0f}",
                                street=street,
                                spread=f"{spread:.1f}",
                            ),
                            p[1],
                            _off_column(mlat, mlon, p[3], p[4]),
                        ),
                    )
                )
    return out


def depot_outlier(path: str, depot: Depot, stops: Sequence[Stop]) -> list[DataWarning]:
    """A warning if the hall lies far from the district's stops, by the same robust rule as
    `street_outliers` (the depot file has one row: row 2).

    Without an outline nothing else notices a hall placed in the wrong county by a typo;
    with one, a hall outside it is already an error, and a hall inside it yet far from
    every stop is still worth a look.
    """
    if len(stops) < OUTLIER_MIN_POINTS:
        return []
    middle = _Middle.of([(s.lat, s.lon) for s in stops])
    d = middle.km(depot.lat, depot.lon)
    if d <= middle.limit:
        return []
    return [
        DataWarning(
            path,
            DataProblem(
                message(
                    N_(
                        "the hall %(point)s is %(km)s km from the middle of the district's "
                        "stops, which lie typically %(spread)s km from it: check the coordinates"
                    ),
                    point=f"({depot.lat}, {depot.lon})",
                    km=f"{d:.0f}",
                    spread=f"{middle.spread:.1f}",
                ),
                2,
                _off_column(middle.lat, middle.lon, depot.lat, depot.lon),
            ),
        )
    ]


def _positive(v: int) -> Message | None:
    return None if v > 0 else message(N_("%(value)s must be greater than zero"), value=v)


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


def _street_check(street_codes: set[str] | None) -> Callable[[str], Message | None]:
    """`street_codes` None: streets.csv could not be read at all, so there is nothing to
    check the codes against (see `street_codes`)."""

    def check(code: str) -> Message | None:
        if street_codes is None or code in street_codes:
            return None
        return message(N_("'%(value)s' is not a street in streets.csv"), value=code)

    return check


def load_depot(path: Path, outline: Outline | None = None) -> Depot:
    recs = read_records(
        path,
        [
            _place("id"),
            _place("name"),
            *_coords(),
            Column(
                "coord_quality",
                required=False,
                default="surveyed",
                choices=("surveyed", "approximate"),
            ),
        ],
        [outline.rule] if outline else (),
    )
    if len(recs) != 1:
        raise DataFileError(
            str(path),
            [
                DataProblem(
                    message(N_("expected one depot, found %(n)s"), n=len(recs)), recs[1]["_row"]
                )
            ],
        )
    r = recs[0]
    return Depot(r["id"], r["name"], r["lat"], r["lon"], r["coord_quality"])


_STREET_COLUMNS = (
    _place("code", unique=True),
    _place("name"),
    _place("name_en"),
    Column("served", _as_bool, expect=message(N_("true or false"))),
)


def load_streets(path: Path) -> list[Street]:
    recs = read_records(path, _STREET_COLUMNS)
    return [Street(r["code"], r["name"], r["name_en"], r["served"]) for r in recs]


def street_codes(path: Path) -> set[str] | None:
    """The `code` of every row of the streets file whose code parsed, even when other rows
    or columns are bad, so a bad street row does not stop the stops' and taxpayers' street
    codes from being checked; None if the file cannot be read at all."""
    try:
        recs, _ = parse_records(path, _STREET_COLUMNS)
    except DataFileError:
        return None
    return {r["code"] for r in recs if "code" in r}


def load_stops(
    path: Path, street_codes: set[str] | None, outline: Outline | None = None
) -> list[Stop]:
    """Stops in file order (stop i is row i + 2)."""
    recs = read_records(
        path,
        [
            _place("stop_id", unique=True),
            _place("name"),
            Column("street_code", check=_street_check(street_codes)),
            Column("kind", StopKind, choices=tuple(k.value for k in StopKind)),
            *_coords(),
            Column(
                "coord_source", required=False, default="surveyed", choices=("surveyed", "placed")
            ),
        ],
        [outline.rule] if outline else (),
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
    path: Path, street_codes: set[str] | None, outline: Outline | None = None
) -> list[Taxpayer]:
    """Taxpayers in file order (taxpayer i is row i + 2)."""
    recs = read_records(
        path,
        [
            Column(
                "taxpayer_id",
                str.upper,
                unique=True,
                check=_taxpayer_id_check,
                expect=message(N_("an 18-character taxpayer ID")),
            ),
            Column("name"),
            Column("kind", TaxpayerKind, choices=tuple(k.value for k in TaxpayerKind)),
            Column("street_code", check=_street_check(street_codes)),
            *_coords(),
        ],
        [outline.rule] if outline else (),
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
            Column("minutes", _as_int, expect=WHOLE_MINUTES, check=_positive),
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


def _who(r: dict[str, Any]) -> Message:
    if "van_id" in r:
        return message(N_("van %(van)s"), van=r["van_id"])
    return message(N_("this van"))


def _shift_order(r: dict[str, Any]) -> list[DataProblem]:
    start, end = r["shift_start"], r["shift_end"]
    if start < end:
        return []
    return [
        DataProblem(
            message(
                N_("%(who)s: the shift ends at %(end)s, not after it starts at %(start)s"),
                who=_who(r),
                end=hhmm(end),
                start=hhmm(start),
            ),
            r["_row"],
            "shift_end",
        )
    ]


def _lunch_in_shift(r: dict[str, Any]) -> list[DataProblem]:
    """Skipped when the shift itself is wrong: `_shift_order` names that first."""
    start, end = r["shift_start"], r["shift_end"]
    earliest, latest = r["lunch_earliest"], r["lunch_latest"]
    if not start < end:
        return []
    problems = []
    if earliest < start:
        problems.append(
            DataProblem(
                message(
                    N_(
                        "%(who)s: lunch_earliest %(earliest)s is before the shift starts "
                        "at %(start)s"
                    ),
                    who=_who(r),
                    earliest=hhmm(earliest),
                    start=hhmm(start),
                ),
                r["_row"],
                "lunch_earliest",
            )
        )
    if latest > end:
        problems.append(
            DataProblem(
                message(
                    N_("%(who)s: lunch_latest %(latest)s is after the shift ends at %(end)s"),
                    who=_who(r),
                    latest=hhmm(latest),
                    end=hhmm(end),
                ),
                r["_row"],
                "lunch_latest",
            )
        )
    return problems


def _lunch_fits(r: dict[str, Any]) -> list[DataProblem]:
    minutes, earliest, latest = r["lunch_minutes"], r["lunch_earliest"], r["lunch_latest"]
    if earliest + minutes <= latest:
        return []
    return [
        DataProblem(
            message(
                N_(
                    "%(who)s: a %(minutes)s-minute lunch does not fit between lunch_earliest "
                    "%(earliest)s and lunch_latest %(latest)s"
                ),
                who=_who(r),
                minutes=minutes,
                earliest=hhmm(earliest),
                latest=hhmm(latest),
            ),
            r["_row"],
            "lunch_minutes",
        )
    ]


_VAN_RULES = (
    RowRule(("shift_start", "shift_end"), _shift_order),
    RowRule(("shift_start", "shift_end", "lunch_earliest", "lunch_latest"), _lunch_in_shift),
    RowRule(("lunch_minutes", "lunch_earliest", "lunch_latest"), _lunch_fits),
)
"""The shift and lunch rules of `Van`, each naming the column to fix and each run on the
columns it needs."""


def load_vans(path: Path) -> list[Van]:

    def hhmm_col(name: str) -> Column:
        return Column(name, parse_hhmm, expect=message(N_("a time as HH:MM")))

    recs = read_records(
        path,
        [
            _place("van_id", unique=True),
            _place("name"),
            Column("counters", _as_int, expect=message(N_("a whole number")), check=_positive),
            hhmm_col("shift_start"),
            hhmm_col("shift_end"),
            Column("lunch_minutes", _as_int, expect=WHOLE_MINUTES, check=_positive),
            hhmm_col("lunch_earliest"),
            hhmm_col("lunch_latest"),
            Column(
                "weekdays",
                _weekday_set,
                required=False,
                default=frozenset(range(5)),
                expect=message(N_("weekdays such as Mon-Fri or Mon,Wed,Fri")),
            ),
        ],
        _VAN_RULES,
    )
    return [
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
        for r in recs
    ]


def _calendar_day_check(r: dict[str, Any]) -> list[DataProblem]:
    if r["kind"] == "workday" and (names := statutory_holiday(r["date"])):
        return [
            DataProblem(
                message(
                    N_(
                        "%(date)s is %(name_en)s (%(name_zh)s), a statutory holiday fixed by "
                        "law: it cannot be a working day"
                    ),
                    date=r["date"].isoformat(),
                    name_en=names[0],
                    name_zh=names[1],
                ),
                r["_row"],
                "kind",
            )
        ]
    return []


def _calendar_unique() -> RowRule:
    """A day is entered once, and a year's `schedule` row appears once; a `schedule` row
    may share its date with that day's own entry (e.g. 1 January, New Year's Day)."""
    days: dict[dt.date, int] = {}
    years: dict[int, int] = {}

    def check(r: dict[str, Any]) -> list[DataProblem]:
        date, row = r["date"], r["_row"]
        if r["kind"] == "schedule":
            first = years.setdefault(date.year, row)
            problem = message(
                N_("a schedule row for %(year)s already appears in row %(first)s"),
                year=date.year,
                first=first,
            )
        else:
            first = days.setdefault(date, row)
            problem = already_in_row(date.isoformat(), first)
        if first == row:
            return []
        return [DataProblem(problem, row, "date")]

    return RowRule(("date", "kind"), check)


def load_calendar(path: Path) -> list[CalendarDay | PublishedYear]:
    """The dispatcher's calendar file: the State Council's schedule, overriding the libraries.

    Columns `date` (YYYY-MM-DD), `kind` (`holiday`, `workday`, or `schedule`: the file holds
    the whole schedule of the date's year), `name` (Chinese) and optionally `name_en`. A
    statutory holiday cannot be entered as a working day. Without a `schedule` row, a year
    the libraries do not know stays noted as not published, however many of its days are
    entered: a local holiday says nothing of the year's bridge days.
    """
    recs = read_records(
        path,
        [
            Column("date", dt.date.fromisoformat, expect=message(N_("a date as YYYY-MM-DD"))),
            Column("kind", choices=("holiday", "workday", "schedule")),
            Column("name"),
            Column("name_en", required=False, default=""),
        ],
        [RowRule(("date", "kind"), _calendar_day_check), _calendar_unique()],
    )
    out: list[CalendarDay | PublishedYear] = []
    for r in recs:
        source = f"{path.name} row {r['_row']}"
        if r["kind"] == "schedule":
            out.append(PublishedYear(r["date"].year, r["name"], source))
        else:
            out.append(
                CalendarDay(
                    r["date"], r["kind"] == "workday", r["name"], r["name_en"] or r["name"], source
                )
            )
    return out


TABLE_STEMS = ("depot", "streets", "stops", "taxpayers", "services", "vans", "calendar")
"""The tables of a data folder, each `<stem>.csv` or `<stem>.xlsx` (see `_find`)."""


def load_dataset(folder: str | Path, limits: FileLimits = DEFAULT_LIMITS) -> Dataset:
    """Load and cross-check a district's data folder.

    Every file is checked even when an earlier one is bad, so the error (a DataFileError;
    a DataFolderError when several files are bad) lists every problem of every file. Files:
    depot, streets, stops, taxpayers, services, vans (`.csv`, or `.xlsx`), and optionally
    `outline.geojson` and `calendar` (see data/README.md). Outliers within a street are
    warnings on the dataset, not errors. A file over `limits` (`taxvan.io.guards`) is refused
    before it is parsed.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataFileError(str(folder), [DataProblem(message(N_("data folder not found")))])
    errors: list[DataFileError] = []
    paths = {stem: _find(folder, stem) for stem in TABLE_STEMS}
    refused = check_files(list(paths.values()), limits)

    def attempt(load: Callable[[], Any], path: Path | None = None) -> Any:
        if path in refused:
            errors.append(refused[path])
            return None
        try:
            return load()
        except DataFileError as exc:
            errors.append(exc)
            return None

    outline_path = folder / "outline.geojson"
    outline = attempt(lambda: load_outline(outline_path, limits)) if outline_path.exists() else None
    depot_path, streets_path = paths["depot"], paths["streets"]
    depot = attempt(lambda: load_depot(depot_path, outline), depot_path)
    streets = attempt(lambda: load_streets(streets_path), streets_path)
    codes = (
        {s.code for s in streets}
        if streets is not None
        else None
        if streets_path in refused
        else street_codes(streets_path)
    )
    stops_path, tp_path = paths["stops"], paths["taxpayers"]
    stops = attempt(lambda: load_stops(stops_path, codes, outline), stops_path)
    taxpayers = attempt(lambda: load_taxpayers(tp_path, codes, outline), tp_path)
    services = attempt(lambda: load_services(paths["services"]), paths["services"])
    vans = attempt(lambda: load_vans(paths["vans"]), paths["vans"])
    calendar_path = paths["calendar"]
    calendar = (
        attempt(lambda: load_calendar(calendar_path), calendar_path)
        if calendar_path.exists()
        else []
    )
    if errors:
        raise errors[0] if len(errors) == 1 else DataFolderError(str(folder), errors)
    points = [
        *((str(stops_path), i + 2, s.street_code, s.lat, s.lon) for i, s in enumerate(stops)),
        *((str(tp_path), i + 2, t.street_code, t.lat, t.lon) for i, t in enumerate(taxpayers)),
    ]
    return Dataset(
        folder.name,
        depot,
        tuple(streets),
        tuple(stops),
        tuple(taxpayers),
        tuple(services),
        tuple(vans),
        calendar=tuple(calendar),
        warnings=(*depot_outlier(str(depot_path), depot, stops), *street_outliers(points)),
    )
