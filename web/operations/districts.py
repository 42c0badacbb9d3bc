"""Districts as records: import a data folder, say what it adds, changes and removes.

A district owns its streets, stops, services and published weeks through their `district_id`
column. Street codes and stop ids are unique in the installation (a printed QR code names only
the stop), so a folder whose stop or street ids another district owns is refused, naming that
district; services are the district's own (two districts may define one code differently).

Nothing is saved unless the whole folder loads (the loaders' file/row/column errors) and no id
clashes with another district: the rows, the district record and its audit entry are one
transaction.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from taxvan.data_changes import DataChanges, data_changes
from taxvan.dataset import Dataset
from taxvan.errors import DataFileError, TaxvanError
from taxvan.io.loaders import folder_outline, formula_problem, load_dataset
from taxvan.messages import N_, Message, message
from web.clock import china_now
from web.db import audit
from web.db.models import Booking, District, ServiceRow, StopRow, StreetRow, User, VisitRow
from web.db.store import DistrictConflictError, check_owners, load_dataset_rows
from web.extensions import db
from web.operations.unit import Unit, transaction

__all__ = ["DistrictConflictError", "import_district", "plan_changes", "split_referenced"]

KINDS = ("streets", "stops", "services")


class DistrictNotFoundError(TaxvanError):
    """No district has this code."""

    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(f"no district with code {code!r} (flask --app app district import)")


class DistrictExistsError(TaxvanError):
    """A new district's code is taken already."""

    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(f"a district with code {code!r} exists already")


_FIELD_NAMES = {"code": N_("code"), "name": N_("name"), "name_en": N_("name_en")}
"""A district's fields as `DistrictNameError` names them (English: the command's option)."""


class DistrictNameError(TaxvanError):
    """A district's code or name that starts like a spreadsheet formula (`=`, `+`, `@`)."""

    def __init__(self, field: str, problem: Message) -> None:
        self.field = field
        self.problem = problem
        self.text = message(
            N_("district %(field)s: %(problem)s"),
            field=message(_FIELD_NAMES.get(field, field)),
            problem=problem,
        )
        """The same in words a page translates."""
        super().__init__(str(self.text))


@dataclass
class KindChanges:
    """What an import did to one kind of row (ids sorted)."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    """Gone from the folder but still referenced (published visits, bookings, other stops):
    left in the database, still the district's (its published visits are)."""
    unchanged: int = 0


@dataclass
class ImportResult:
    district: District
    created: bool
    district_changed: list[str]
    """Fields of the district record itself that changed (name, hall, settings...)."""
    changes: dict[str, KindChanges]
    warnings: list[Any] = field(default_factory=list)
    """The folder's outliers worth a look (`Dataset.warnings`): they do not stop an import."""

    def lines(self) -> list[str]:
        """The report `district import` prints: per kind, counts and ids."""
        d = self.district
        state = "created" if self.created else "updated"
        out = [f"district {d.code} ({d.name}): {state}"]
        if self.district_changed:
            out.append("  district fields changed: " + ", ".join(self.district_changed))
        for kind, c in self.changes.items():
            parts = [
                f"{len(c.added)} added",
                f"{len(c.changed)} changed",
                f"{len(c.removed)} removed",
                f"{c.unchanged} unchanged",
            ]
            if c.kept:
                parts.append(f"{len(c.kept)} left in place (still referenced)")
            out.append(f"{kind}: " + ", ".join(parts))
            for label, ids in (
                ("added", c.added),
                ("changed", c.changed),
                ("removed", c.removed),
                ("left in place", c.kept),
            ):
                if ids:
                    out.append(f"  {label}: {', '.join(ids)}")
        return out

    def summary(self) -> dict[str, Any]:
        """Counts and ids per kind, for the audit log."""
        return {
            kind: {
                "added": c.added,
                "changed": c.changed,
                "removed": c.removed,
                "kept": c.kept,
                "unchanged": c.unchanged,
            }
            for kind, c in self.changes.items()
        }


def _street_fields(s: Any) -> dict[str, Any]:
    return {"name": s.name, "name_en": s.name_en, "served": bool(s.served)}


def _stop_fields(s: Any) -> dict[str, Any]:
    return {
        "name": s.name,
        "street_code": s.street_code,
        "kind": str(getattr(s.kind, "value", s.kind)),
        "lat": float(s.lat),
        "lon": float(s.lon),
        "coord_source": s.coord_source,
    }


def _service_fields(s: Any) -> dict[str, Any]:
    return {
        "name_zh": s.name_zh,
        "name_en": s.name_en,
        "minutes": int(s.minutes),
        "materials_zh": s.materials_zh,
        "materials_en": s.materials_en,
    }


_MODEL: dict[str, tuple[type[Any], Callable[[Any], dict[str, Any]], Callable[[Any], str]]] = {
    "streets": (StreetRow, _street_fields, lambda s: s.code),
    "stops": (StopRow, _stop_fields, lambda s: s.id),
    "services": (ServiceRow, _service_fields, lambda s: s.code),
}


def _dataset_items(dataset: Dataset, kind: str) -> list[Any]:
    return list(getattr(dataset, kind))


def _hall(dataset: Dataset) -> dict[str, Any]:
    d = dataset.depot
    return {
        "id": d.id,
        "name": d.name,
        "lat": d.lat,
        "lon": d.lon,
        "coord_quality": d.coord_quality,
    }


def _settings(dataset: Dataset) -> dict[str, Any]:
    return {
        "vans": [
            {
                "id": v.id,
                "name": v.name,
                "counters": v.counters,
                "shift": [v.shift_start, v.shift_end],
                "lunch": [v.lunch_minutes, v.lunch_earliest, v.lunch_latest],
            }
            for v in dataset.vans
        ],
        "taxpayers": len(dataset.taxpayers),
        "calendar_days": len(dataset.calendar),
    }


def _referenced(kind: str, ident: str, district: District | None) -> bool:
    """Whether deleting this row would break a published visit, a booking or a stop."""
    if kind == "stops":
        query = select(func.count(VisitRow.id)).where(VisitRow.stop_id == ident)
    elif kind == "streets":
        query = select(func.count()).select_from(StopRow).where(StopRow.street_code == ident)
    else:
        if district is None:
            return False
        query = select(func.count(Booking.id)).where(
            Booking.service_code == ident, Booking.district_id == district.id
        )
    return bool(db.session.scalar(query))


def import_district(
    folder: str | Path,
    code: str | None = None,
    name: str | None = None,
    name_en: str | None = None,
    actor: str = "",
    user: User | None = None,
    note: dict[str, Any] | None = None,
    create_only: bool = False,
) -> ImportResult:
    """Load `folder` (all or nothing) into the district `code` (default: the folder's name).

    `create_only`: refuse (DistrictExistsError) when the district exists already, checked in
    the import's own transaction, so two admins creating one code cannot both succeed.

    `note` is added to the audit entry (the console records which files were uploaded).
    Raises the loaders' DataFileError / DataFolderError (every problem by file, row and
    column) or DistrictConflictError; in either case nothing is saved (one transaction).
    An existing district is imported under its exclusive lock (`web.db.locks`): the import
    waits for the district's bookings and publishes under way, and they wait for it.
    """
    path = Path(folder)
    code = (code or path.resolve().name).strip()
    for what, value in (("code", code), ("name", name), ("name_en", name_en)):
        if value and (problem := formula_problem(value.strip())):
            raise DistrictNameError(what, problem)
    # the files are read (within their limits) before the transaction starts
    dataset = load_dataset(path, current_app.config["TAXVAN"].file_limits)
    if not code:
        raise TaxvanError("the district code is empty")
    return transaction(
        lambda u: _import(
            u, path, dataset, code, name, name_en, actor, user, note or {}, create_only
        )
    )


def _import(
    u: Unit,
    path: Path,
    dataset: Dataset,
    code: str,
    name: str | None,
    name_en: str | None,
    actor: str,
    user: User | None,
    note: dict[str, Any],
    create_only: bool = False,
) -> ImportResult:
    district = db.session.scalar(select(District).where(District.code == code))
    if district is not None and create_only:
        raise DistrictExistsError(code)
    if district is not None:
        u.district(district.id, exclusive=True)
        db.session.refresh(district)  # as the last import or publish before the lock left it
    changes = plan_changes(dataset, district)

    now = china_now().replace(tzinfo=None)
    created = district is None
    record = {
        "name": name or (district.name if district else code),
        "name_en": name_en or (district.name_en if district else code),
        "hall": _hall(dataset),
        "settings": _settings(dataset),
        "data_dir": str(path.resolve()),
    }
    if district is None:
        district = District(code=code, created_at=now, updated_at=now, **record)
        db.session.add(district)
        db.session.flush()
        district_changed: list[str] = []
    else:
        district_changed = [k for k, v in record.items() if getattr(district, k) != v]
        for k, v in record.items():
            setattr(district, k, v)
    district.updated_at = now

    # Upsert first (a stop may move to a new street), then remove what the folder dropped:
    # stops before streets, and nothing that a published visit, a booking or a stop still uses
    # (those stay the district's, listed as left in place).
    load_dataset_rows(dataset, district)
    db.session.flush()
    for kind in ("stops", "streets", "services"):
        model = _MODEL[kind][0]
        c = changes[kind]
        removed, kept = [], []
        for ident in c.removed:
            if _referenced(kind, ident, district):
                kept.append(ident)
                continue
            row = db.session.get(model, (district.id, ident) if kind == "services" else ident)
            if row is not None:
                db.session.delete(row)
            removed.append(ident)
            db.session.flush()
        c.removed, c.kept = removed, kept

    result = ImportResult(district, created, district_changed, changes, list(dataset.warnings))
    audit.record(
        "district_import",
        actor=actor or audit.command_line_actor(),
        user=user,
        district=district,
        details={
            "data_dir": str(path.resolve()),
            "created": created,
            **note,
            **result.summary(),
        },
    )
    return result


def plan_changes(dataset: Dataset, district: District | None) -> dict[str, KindChanges]:
    """What importing `dataset` into `district` would add, change and remove, per kind.

    Shared by the import itself and the console's preview, so the preview says exactly what
    the import will do. Reads only; raises DistrictConflictError. The
    `removed` lists still include rows that the import will leave in place because something
    references them (see `split_referenced`).
    """
    check_owners(dataset, district)
    previous = district.rows if district is not None else {k: [] for k in KINDS}
    changes: dict[str, KindChanges] = {}
    for kind in KINDS:
        model, fields, key = _MODEL[kind]
        items = {key(x): x for x in _dataset_items(dataset, kind)}
        existing = {
            key(r): fields(r)
            for r in db.session.scalars(
                select(model).where(
                    getattr(model, "code" if kind != "stops" else "id").in_(list(items)),
                    model.district_id == (district.id if district is not None else None),
                )
            )
        }
        c = KindChanges()
        for ident, item in sorted(items.items()):
            if ident not in existing:
                c.added.append(ident)
            elif existing[ident] != fields(item):
                c.changed.append(ident)
            else:
                c.unchanged += 1
        gone = sorted(set(previous.get(kind, [])) - set(items))
        changes[kind] = c
        changes[kind].removed = gone  # filtered below for rows still referenced

    return changes


def preview_changes(folder: Path, district: District) -> tuple[Dataset, dict[str, KindChanges]]:
    """Load `folder` and say what importing it into `district` would change (`plan_changes`).
    Reads only: nothing it touched stays in the session, whatever it raises."""
    try:
        dataset = load_dataset(folder, current_app.config["TAXVAN"].file_limits)
        return dataset, plan_changes(dataset, district)
    finally:
        db.session.rollback()


def field_changes(
    current: Path, folder: Path, dataset: Dataset
) -> tuple[Dataset | None, DataChanges]:
    """What the loaded `dataset` of `folder` changes, field by field, against the district's
    current data folder `current` (`taxvan.data_changes`), with the current folder's dataset
    (None when it has none that loads: then everything reads as added)."""
    limits = current_app.config["TAXVAN"].file_limits
    old: Dataset | None = None
    if current.is_dir():
        try:
            old = load_dataset(current, limits)
        except DataFileError:
            old = None
    changes = data_changes(
        old,
        dataset,
        folder_outline(current, limits) if current.is_dir() else None,
        folder_outline(folder, limits),
    )
    return old, changes


def split_referenced(
    kind: str, ids: list[str], district: District | None
) -> tuple[list[str], list[str]]:
    """(removable, kept): rows still used by a published visit, a booking or a stop stay."""
    kept = [i for i in ids if _referenced(kind, i, district)]
    return [i for i in ids if i not in kept], kept


def district_by_code(code: str) -> District:
    """The district `code`, or DistrictNotFoundError."""
    district = db.session.scalar(select(District).where(District.code == code))
    if district is None:
        raise DistrictNotFoundError(code)
    return district


# --- a new district from the console ---------------------------------------------------------

CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")
"""A district's code is part of its public address (`/d/CODE/`): 2 to 40 lower-case letters,
digits and hyphens, starting with a letter or digit."""

NAME_MAX = 100


class NewDistrictError(TaxvanError):
    """The code or names asked for a new district are refused; `problems` maps each form field
    ("code", "name", "name_en") to why: "format", "taken", "empty", "long", "formula",
    "hidden" (control or invisible characters)."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))


def new_district_problems(code: str, name: str, name_en: str) -> dict[str, str]:
    """Why `code`, `name` and `name_en` cannot be a new district's (empty when nothing does).
    Reads only."""
    problems: dict[str, str] = {}
    if not CODE_PATTERN.match(code):
        problems["code"] = "format"
    elif db.session.scalar(select(District.id).where(District.code == code)) is not None:
        problems["code"] = "taken"
    for what, value, required in (("name", name, True), ("name_en", name_en, False)):
        if required and not value:
            problems[what] = "empty"
        elif len(value) > NAME_MAX:
            problems[what] = "long"
        elif value and formula_problem(value):
            problems[what] = "formula"
        elif any(unicodedata.category(c)[0] == "C" for c in value):
            # a line break, a terminal escape, a zero-width space or a right-to-left override:
            # the name is printed on posters and public pages, where it would read as another
            problems[what] = "hidden"
    return problems


def districts_root() -> Path:
    """Where the data folders of districts created in the console go (`TAXVAN_DISTRICTS_DIR`)."""
    return Path(current_app.config["TAXVAN"].districts_dir)


def create_district(
    files: Path,
    code: str,
    name: str,
    name_en: str,
    actor: str,
    user: User | None = None,
    note: dict[str, Any] | None = None,
) -> ImportResult:
    """A new district from the data files in the folder `files`, all or nothing.

    The files are copied to the district's own folder (`districts_root() / code`) and imported
    there with the importer's checks (`import_district`, `create_only`): every problem of every
    file, ids another district owns, a code taken meanwhile. If anything is refused the
    folder is removed again and no row is written, so the same code can be tried again.
    Raises NewDistrictError, the loaders' DataFileError, DistrictConflictError or
    DistrictExistsError.
    """
    code, name, name_en = code.strip(), name.strip(), name_en.strip()
    if problems := new_district_problems(code, name, name_en):
        raise NewDistrictError(problems)
    root = districts_root()
    root.mkdir(parents=True, exist_ok=True)
    target = root / code
    staging = Path(tempfile.mkdtemp(prefix=f".{code}.new-", dir=root))
    try:
        for path in files.iterdir():
            if path.is_file():
                shutil.copy2(path, staging / path.name)
        if target.exists():
            used = select(District.id).where(District.data_dir == str(target.resolve()))
            if db.session.scalar(used) is not None:
                raise NewDistrictError({"code": "taken"})
            # no district has this code or folder: a folder left by hand or by a crash
            shutil.rmtree(target)
        os.rename(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    try:
        return import_district(
            target,
            code=code,
            name=name,
            name_en=name_en or code,
            actor=actor,
            user=user,
            note=note,
            create_only=True,
        )
    except BaseException:
        if db.session.scalar(select(District.id).where(District.code == code)) is None:
            shutil.rmtree(target, ignore_errors=True)
        raise
