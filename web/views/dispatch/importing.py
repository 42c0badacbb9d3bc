"""The console's import: upload a district's files, preview what they change, confirm.

Why in three steps: a dispatcher must see every problem of every file at once, and, when the
files are good, what the import would do to the stops that published visits and bookings use,
before anything is saved. So:

* **preview** (POST `/dispatch/districts/<code>/import`): the uploaded files are checked with
  the loaders against the district's current data folder merged with them (in a temporary
  folder of the request, deleted after). Nothing is saved in the database or the data folder.
  The uploaded files themselves wait in a private staging folder of the instance (never the
  static folder) under a random token kept in the user's session, until confirmed, replaced
  by another preview, or an hour old.
* **confirm** (POST `.../import/confirm`): refused when the district's data changed since the
  preview (stale); else the new folder is written beside the old one and swapped in by
  renaming, and the rows go in through `import_district` (the code of `flask district import`,
  which writes the audit entry). If the database refuses, the old folder is renamed back.

Taxpayer data is private: a preview names taxpayers' problems by file, row and column only
(quoted values are left out of the messages) and their changes as counts.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField
from werkzeug.datastructures import FileStorage
from wtforms import HiddenField

from taxvan.data_changes import KINDS, DataChanges
from taxvan.dataset import Dataset
from taxvan.errors import DataFileError, TaxvanError
from taxvan.io.loaders import load_taxpayers
from web.clock import china_now
from web.db.models import District, User
from web.db.queries import reload, stop_name, stops_by_ids, upcoming_use
from web.operations.districts import (
    KindChanges,
    field_changes,
    import_district,
    preview_changes,
    split_referenced,
)
from web.views.data_problems import Problem, problem_row, problems_of
from web.views.dispatch.blueprint import bp, district_or_404, signed_in_user
from web.views.inputs import takes_files

TABLES = ("stops", "taxpayers", "streets", "services", "vans", "depot", "calendar")
"""Files a dispatcher may upload as `.csv` or `.xlsx` (data/README.md), most used first."""
OUTLINE = "outline"
STAGING_HOURS = 1
SESSION_KEY = "dispatch_import"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


def _table_field(stem: str) -> FileField:
    return FileField(
        f"{stem}.csv / .xlsx",
        validators=[FileAllowed(["csv", "xlsx"], _l("Only .csv or .xlsx files."))],
    )


class ImportForm(FlaskForm):
    """One optional file per kind; the CSRF token comes with FlaskForm."""

    stops = _table_field("stops")
    taxpayers = _table_field("taxpayers")
    streets = _table_field("streets")
    services = _table_field("services")
    vans = _table_field("vans")
    depot = _table_field("depot")
    calendar = _table_field("calendar")
    outline = FileField(
        "outline.geojson",
        validators=[FileAllowed(["geojson"], _l("Only a .geojson file."))],
    )


class ConfirmForm(FlaskForm):
    token = HiddenField()


class UploadError(TaxvanError):
    """An uploaded file is refused before it is read (its name or its kind)."""

    def __init__(self, field: str, filename: str, message: str) -> None:
        self.field = field
        self.filename = filename
        self.message = message
        super().__init__(f"{field}: {message}")


class StalePreviewError(TaxvanError):
    """The district's data changed between the preview and the confirmation."""


# --- files ------------------------------------------------------------------------------------


def _safe_name(filename: str) -> bool:
    """A plain file name: no folder part, no control character, not hidden, not too long."""
    return (
        0 < len(filename) <= 200
        and not any(c in filename for c in "/\\:")
        and not any(ord(c) < 32 or ord(c) == 127 for c in filename)
        and not filename.startswith(".")
        and ".." not in filename
    )


def _chosen(form: ImportForm) -> dict[str, FileStorage]:
    files: dict[str, FileStorage] = {}
    for stem in (*TABLES, OUTLINE):
        data = form[stem].data
        if isinstance(data, FileStorage) and data.filename:
            files[stem] = data
    return files


def _check_upload(stem: str, upload: FileStorage) -> str:
    """The name to store the file under (`stops.xlsx`...), or UploadError.

    The sender's file name is never used as a path: only its extension is kept."""
    filename = upload.filename or ""
    if not _safe_name(filename):
        raise UploadError(stem, filename, _("this file name is not accepted (a plain name only)"))
    ext = Path(filename).suffix.lower()
    head = upload.stream.read(4096)
    upload.stream.seek(0)
    if ext == ".xlsx" and not head.startswith(b"PK\x03\x04"):
        raise UploadError(stem, filename, _("this is not an Excel workbook (.xlsx)"))
    if ext == ".csv" and b"\x00" in head:
        raise UploadError(stem, filename, _("this is not a CSV text file"))
    return f"{stem}{ext}"


def _staging_root() -> Path:
    root = Path(current_app.instance_path) / "import-staging"
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    return root


def _prune_staging(root: Path) -> None:
    """Uploads previewed but never confirmed are deleted after STAGING_HOURS."""
    limit = time.time() - STAGING_HOURS * 3600
    for folder in root.iterdir():
        if folder.is_dir() and folder.stat().st_mtime < limit:
            shutil.rmtree(folder, ignore_errors=True)


def _stage(files: dict[str, FileStorage]) -> tuple[str, dict[str, str]]:
    """Save the uploads under a new random token; (token, {stored name: sender's name})."""
    names = {stem: _check_upload(stem, f) for stem, f in files.items()}
    root = _staging_root()
    _prune_staging(root)
    token = secrets.token_urlsafe(24)
    folder = root / token
    folder.mkdir(mode=0o700)
    for stem, upload in files.items():
        upload.save(folder / names[stem])
    return token, {names[stem]: files[stem].filename or "" for stem in files}


def _staged(token: str) -> Path | None:
    if not _TOKEN.match(token):
        return None
    folder = _staging_root() / token
    return folder if folder.is_dir() else None


def _merge(current: Path, staged: Path, target: Path) -> None:
    """`target` = the current folder's files, with each uploaded file replacing its kind
    (an uploaded `stops.xlsx` removes the old `stops.csv`: the loaders prefer `.csv`)."""
    uploaded = {p.stem: p for p in staged.iterdir() if p.is_file()}
    if current.is_dir():
        for p in current.iterdir():
            if p.is_file() and p.stem not in uploaded:
                shutil.copy2(p, target / p.name)
    for p in uploaded.values():
        shutil.copy2(p, target / p.name)


def fingerprint(district: District) -> str:
    """What a preview was made against: the data folder's files and the district record."""
    digest = hashlib.sha256()
    folder = Path(district.data_dir)
    if folder.is_dir():
        for p in sorted(folder.iterdir()):
            if p.is_file():
                digest.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
    digest.update(district.updated_at.isoformat().encode())
    digest.update(json.dumps(district.rows, sort_keys=True).encode())
    return digest.hexdigest()


@contextmanager
def _merged(district: District, staged: Path) -> Iterator[Path]:
    """The folder an import would bring, in a private temporary folder of the request."""
    with tempfile.TemporaryDirectory(prefix="taxvan-preview-") as tmp:
        target = Path(tmp) / district.code
        target.mkdir()
        _merge(Path(district.data_dir), staged, target)
        yield target


# --- the preview ------------------------------------------------------------------------------


@dataclass
class StopImpact:
    stop_id: str
    name: str
    what: str
    """"removed" or "moved"."""
    visits: int
    bookings: int


@dataclass
class Preview:
    problems: list[Problem] = field(default_factory=list)
    changes: dict[str, KindChanges] = field(default_factory=dict)
    taxpayers: dict[str, int] = field(default_factory=dict)
    impacts: list[StopImpact] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    """Points worth a look that do not stop the import (outliers, see data/README.md)."""
    details: DataChanges = field(default_factory=lambda: DataChanges(()))
    """Every item added, changed or removed, with each changed field (taxpayers aside)."""

    @property
    def visits(self) -> int:
        return sum(i.visits for i in self.impacts)

    @property
    def bookings(self) -> int:
        return sum(i.bookings for i in self.impacts)


def _taxpayer_counts(current: Path, new: Dataset, before: Dataset | None) -> dict[str, int]:
    """Added, removed and changed taxpayers by ID: counts only (the registry is private).
    `before` is the current folder's dataset, if it loads; else its taxpayers file alone."""
    old: dict[str, Any] = {t.id: t for t in before.taxpayers} if before else {}
    for ext in (".csv", ".xlsx") if before is None else ():
        path = current / f"taxpayers{ext}"
        if path.is_file():
            try:
                old = {t.id: t for t in load_taxpayers(path, None)}
            except DataFileError:
                old = {}
            break
    fresh = {t.id: t for t in new.taxpayers}
    changed = sum(1 for i, t in fresh.items() if i in old and old[i] != t)
    return {
        "added": len(fresh.keys() - old.keys()),
        "removed": len(old.keys() - fresh.keys()),
        "changed": changed,
        "total": len(fresh),
    }


def _impacts(dataset: Dataset, changes: dict[str, KindChanges]) -> list[StopImpact]:
    """Stops removed or moved that have published visits from today on, with their active
    bookings: what the dispatcher must tell the public about."""
    new = {s.id: s for s in dataset.stops}
    moved = []
    for row in stops_by_ids(changes["stops"].changed):
        s = new[row.id]
        if abs(float(row.lat) - s.lat) > 1e-7 or abs(float(row.lon) - s.lon) > 1e-7:
            moved.append(row.id)
    today = china_now().date()
    out = []
    for what, ids in (("removed", changes["stops"].removed), ("moved", moved)):
        for stop_id in ids:
            n_visits, n_bookings = upcoming_use(stop_id, today)
            if not n_visits:
                continue
            out.append(StopImpact(stop_id, stop_name(stop_id), what, n_visits, n_bookings))
    return out


KIND_NAMES = {"streets": _l("Streets"), "stops": _l("Stops"), "services": _l("Services")}
DETAIL_KINDS = dict(
    zip(
        KINDS,
        (
            _l("Service hall"),
            _l("District outline"),
            _l("Van"),
            _l("Street"),
            _l("Stop"),
            _l("Service"),
            _l("Calendar day"),
        ),
        strict=True,
    )
)
"""What each kind of item of `taxvan.data_changes` is called in the preview's list."""


def counts_in_words(changes: dict[str, KindChanges]) -> str:
    """What an import did, kind by kind, in the reader's language ("街道：新增 0，修改 0，
    删除 0"), not as "+0 ~0 -0"."""
    parts = []
    for kind, c in changes.items():
        part = _(
            "%(kind)s: %(added)d added, %(changed)d changed, %(removed)d removed",
            kind=KIND_NAMES.get(kind, kind),
            added=len(c.added),
            changed=len(c.changed),
            removed=len(c.removed),
        )
        if c.kept:
            part += _(", %(n)d left in place (still used)", n=len(c.kept))
        parts.append(part)
    return _("; ").join(parts)


def preview(district: District, staged: Path) -> Preview:
    """Check the merged folder; every problem, or what the import would change. Reads only."""
    with _merged(district, staged) as folder:
        try:
            dataset, changes = preview_changes(folder, district)
        except TaxvanError as exc:
            return Preview(problems=problems_of(exc))
        before, details = field_changes(Path(district.data_dir), folder, dataset)
    for kind in ("stops", "streets", "services"):
        changes[kind].removed, changes[kind].kept = split_referenced(
            kind, changes[kind].removed, district
        )
    result = Preview(
        changes=changes,
        taxpayers=_taxpayer_counts(Path(district.data_dir), dataset, before),
        warnings=[problem_row(w.path, w.problem) for w in dataset.warnings],
        details=details,
    )
    # removed stops that visits still use are left in place ("kept"): they are the affected ones
    impacts_changes = dict(changes)
    impacts_changes["stops"] = KindChanges(
        changed=changes["stops"].changed, removed=changes["stops"].removed + changes["stops"].kept
    )
    result.impacts = _impacts(dataset, impacts_changes)
    return result


# --- confirming -------------------------------------------------------------------------------


def apply(district: District, staged: Path, user: User, uploaded: dict[str, str]) -> Any:
    """Write the new folder beside the old, swap it in by renaming, import the rows.

    If the import is refused (its checks run again), the old folder is renamed back, so the
    folder and the database stay as they were."""
    data = Path(district.data_dir)
    parent = data.parent
    parent.mkdir(parents=True, exist_ok=True)
    new = Path(tempfile.mkdtemp(prefix=f".{data.name}.new-", dir=parent))
    old = parent / f".{data.name}.old-{new.name.rsplit('-', 1)[-1]}"
    try:
        if data.is_dir():
            os.chmod(new, data.stat().st_mode & 0o777)
        _merge(data, staged, new)
        had_old = data.is_dir()
        if had_old:
            os.rename(data, old)
        os.rename(new, data)
        try:
            return import_district(
                data,
                code=district.code,
                actor=user.name,
                user=user,
                note={"uploaded": sorted(uploaded)},
            )
        except Exception:
            os.rename(data, new)
            if had_old:
                os.rename(old, data)
            raise
    finally:
        shutil.rmtree(new, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)


@contextmanager
def _district_lock(code: str) -> Iterator[None]:
    """One confirm at a time per district, across the server's worker processes (a lock file
    in the instance folder), so two confirms cannot both pass the stale check."""
    locks = Path(current_app.instance_path) / "import-locks"
    locks.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = locks / f"{hashlib.sha256(code.encode()).hexdigest()[:16]}.lock"
    with path.open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


# --- views ------------------------------------------------------------------------------------


def _page(district: District, form: ImportForm, status: int = 200, **kw: Any) -> Any:
    return (
        render_template(
            "dispatch/import.html",
            district=district,
            form=form,
            confirm_form=kw.pop("confirm_form", None),
            tables=TABLES,
            **kw,
        ),
        status,
    )


def upload_limit() -> None:
    """Uploads may be larger than other requests (the registry of a large district).

    Runs first of the app's before-request functions (see `web.views.dispatch.init_app`): the CSRF
    check reads the form, and the limit must be in place before anything does."""
    uploads = ("dispatch.import_page", "dispatch.new_district")
    if request.endpoint in uploads and request.method == "POST":
        request.max_content_length = current_app.config["TAXVAN"].max_upload_bytes


@bp.route("/districts/<code>/import", methods=["GET", "POST"])
@takes_files
def import_page(code: str) -> Any:
    """GET: the upload form. POST: the preview (nothing saved)."""
    district = district_or_404(code)
    form = ImportForm()
    if request.method == "GET":
        return _page(district, form)
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            return _page(district, form, 400, refused=_("This form has expired. Reload the page."))
        return _page(district, form, 400)
    files = _chosen(form)
    if not files:
        flash(_("Choose at least one file to upload."), "error")
        return redirect(url_for("dispatch.import_page", code=code))
    try:
        token, uploaded = _stage(files)
    except UploadError as exc:
        form[exc.field].errors = [*form[exc.field].errors, exc.message]
        return _page(district, form, 400)
    staged = _staged(token)
    assert staged is not None
    result = preview(district, staged)
    if result.problems:
        shutil.rmtree(staged, ignore_errors=True)
        session.pop(SESSION_KEY, None)
        return _page(district, form, 400, result=result, uploaded=uploaded)
    previous = session.get(SESSION_KEY)
    if previous and (old := _staged(previous.get("token", ""))) is not None:
        shutil.rmtree(old, ignore_errors=True)
    session[SESSION_KEY] = {
        "code": district.code,
        "token": token,
        "fingerprint": fingerprint(district),
        "uploaded": uploaded,
    }
    return _page(
        district,
        form,
        result=result,
        detail_kinds=DETAIL_KINDS,
        uploaded=uploaded,
        confirm_form=ConfirmForm(token=token),
    )


@bp.post("/districts/<code>/import/confirm")
def import_confirm(code: str) -> Any:
    """Apply the previewed upload, unless the district's data changed since."""
    district = district_or_404(code)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _page(
            district, ImportForm(), 400, refused=_("This form has expired. Reload the page.")
        )
    pending = session.get(SESSION_KEY) or {}
    staged = _staged(pending.get("token", ""))
    if pending.get("code") != code or pending.get("token") != form.token.data or staged is None:
        flash(_("There is no preview to confirm; upload the files again."), "error")
        return redirect(url_for("dispatch.import_page", code=code))
    with _district_lock(code):
        district = reload(district)
        if pending.get("fingerprint") != fingerprint(district):
            shutil.rmtree(staged, ignore_errors=True)
            session.pop(SESSION_KEY, None)
            message = _(
                "The district's data changed after this preview (another import?). Nothing was "
                "saved; upload the files again to see a new preview."
            )
            return _page(district, ImportForm(), 409, refused=message)
        user = signed_in_user()
        try:
            result = apply(district, staged, user, pending.get("uploaded", {}))
        except DataFileError as exc:
            return _page(district, ImportForm(), 400, result=Preview(problems=problems_of(exc)))
        except TaxvanError as exc:
            return _page(district, ImportForm(), 400, refused=problems_of(exc)[0].text)
        finally:
            shutil.rmtree(staged, ignore_errors=True)
            session.pop(SESSION_KEY, None)
    flash(_("Imported: %(counts)s.", counts=counts_in_words(result.changes)), "ok")
    return redirect(url_for("dispatch.import_page", code=code))
