"""A new county from the console: the first-run page and creating a district from its files.

An installation with no district sends its administrator to the first-run page
(`/dispatch/setup`), which leads through the steps: create the district by uploading its files
(each file, or the data folder as one zip archive) with its code and names; plan its first week
(the district page's plan form); publish the draft; create its dispatchers (the users page).

Only administrators reach these views (`admin_only`; the first administrator of an
installation is made on the server with `flask --app app user create NAME --role admin`, so
nobody can take over a fresh installation through the browser). The files are checked by the
importer (`web.operations.districts.create_district`), all or nothing.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField
from werkzeug.datastructures import FileStorage
from wtforms import StringField
from wtforms.validators import Length

from taxvan.errors import DataFileError, TaxvanError
from taxvan.io.archive import unpack_district
from web.db.store import all_districts, current_weeks, stops_count
from web.operations.districts import (
    CODE_PATTERN,
    DistrictConflictError,
    DistrictExistsError,
    ImportResult,
    NewDistrictError,
    create_district,
)
from web.operations.users import all_users
from web.views.data_problems import problem_row, problems_of
from web.views.dispatch.blueprint import admin_only, bp, signed_in_user
from web.views.dispatch.importing import (
    OUTLINE,
    TABLES,
    ImportForm,
    Preview,
    UploadError,
    _check_upload,
    _chosen,
    _district_lock,
    _safe_name,
    _staging_root,
)
from web.views.inputs import takes_files

MAX_WARNINGS = 10
"""Outlier warnings said after a district is created (the import page previews them all)."""


class NewDistrictForm(ImportForm):
    """The district's code and names, and its files: one zip archive, or each file."""

    code = StringField(_l("District code"), validators=[Length(max=40)])
    name = StringField(_l("Name (Chinese)"), validators=[Length(max=100)])
    name_en = StringField(_l("Name in English (optional)"), validators=[Length(max=100)])
    archive = FileField(
        _l("The data folder as one .zip archive"),
        validators=[FileAllowed(["zip"], _l("Only a .zip archive."))],
    )


def _name_messages() -> dict[str, str]:
    return {
        "format": _(
            "The code is 2 to 40 lower-case letters, digits or hyphens (it is part of the "
            "public address, e.g. /d/gaotai/)."
        ),
        "taken": _("Another district has this code already."),
        "empty": _("Enter the district's name."),
        "long": _("At most 100 characters."),
        "formula": _("A name must not start with =, +, - or @ (spreadsheets run it as a formula)."),
        "hidden": _(
            "A name is one line of visible characters (no control or invisible characters)."
        ),
    }


def _page(form: NewDistrictForm, status: int = 200, **kw: Any) -> Any:
    return render_template("dispatch/new_district.html", form=form, tables=TABLES, **kw), status


def _save_files(form: NewDistrictForm, folder: Path, work: Path) -> dict[str, str]:
    """Write the archive's data files and then each file chosen into `folder` (a file chosen
    replaces the archive's of its kind); {stored name: sender's name}. Raises UploadError
    or the archive's DataFileError."""
    uploaded: dict[str, str] = {}
    archive = form.archive.data
    if isinstance(archive, FileStorage) and archive.filename:
        if not _safe_name(archive.filename):
            raise UploadError(
                "archive", archive.filename, _("this file name is not accepted (a plain name only)")
            )
        # a plain name (checked above) in the request's private folder, so the problems
        # name the file the sender knows
        path = work / archive.filename
        archive.save(path)
        unpacked = unpack_district(path, folder, current_app.config["TAXVAN"].file_limits)
        uploaded |= {name: f"{archive.filename}: {name}" for name in unpacked.files}
    for stem, upload in _chosen(form).items():
        name = _check_upload(stem, upload)
        for old in folder.glob(f"{stem}.*"):
            old.unlink()
            uploaded.pop(old.name, None)
        upload.save(folder / name)
        uploaded[name] = upload.filename or name
    return uploaded


def _refused(exc: TaxvanError) -> str:
    """What a refused creation says, in the console's language."""
    if isinstance(exc, DistrictConflictError):
        return _(
            "These files bring %(kind)s that belong to district %(owner)s: %(ids)s. Give "
            "them ids of their own; nothing was saved.",
            kind=_("stops") if exc.kind.startswith("stop") else _("streets"),
            owner=exc.owner,
            ids=", ".join(exc.ids[:10]) + (" …" if len(exc.ids) > 10 else ""),
        )
    if isinstance(exc, DistrictExistsError):
        return _("Another district has this code already.")
    return str(exc)


def _created(result: ImportResult) -> None:
    c = result.changes
    flash(
        _(
            "District %(name)s created: %(streets)d streets, %(stops)d stops, %(services)d "
            "services. Next: plan its first week below.",
            name=result.district.name,
            streets=len(c["streets"].added),
            stops=len(c["stops"].added),
            services=len(c["services"].added),
        ),
        "ok",
    )


def _check_names(form: NewDistrictForm) -> bool:
    """Each refused code or name at its field; True when they may be tried."""
    problems = {}
    if not CODE_PATTERN.match((form.code.data or "").strip()):
        problems["code"] = "format"
    if not (form.name.data or "").strip():
        problems["name"] = "empty"
    _show(form, problems)
    return not problems


def _show(form: NewDistrictForm, problems: dict[str, str]) -> None:
    messages = _name_messages()
    for field, code in problems.items():
        form[field].errors = [*form[field].errors, messages[code]]


@bp.route("/new-district", methods=["GET", "POST"])
@admin_only
@takes_files
def new_district() -> Any:
    """GET: the form. POST: create the district from its files, all or nothing."""
    form = NewDistrictForm()
    if request.method == "GET":
        return _page(form)
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            return _page(form, 400, refused=_("This form has expired. Reload the page."))
        return _page(form, 400)
    names_ok = _check_names(form)
    archive = form.archive.data
    if not _chosen(form) and not (isinstance(archive, FileStorage) and archive.filename):
        form.archive.errors = [
            *form.archive.errors,
            _("Choose the district's data folder as a .zip archive, or its files one by one."),
        ]
        return _page(form, 400)
    if not names_ok:
        return _page(form, 400)
    return _create(form)


def _create(form: NewDistrictForm) -> Any:
    """Save the files in a private folder of the request and create the district from them;
    the form again with every problem, or the new district's page at its plan form."""
    code = (form.code.data or "").strip()
    user = signed_in_user()
    with tempfile.TemporaryDirectory(prefix="taxvan-new-", dir=_staging_root()) as tmp:
        folder = Path(tmp) / "files"
        folder.mkdir()
        try:
            uploaded = _save_files(form, folder, Path(tmp))
            with _district_lock(code):
                result = create_district(
                    folder,
                    code,
                    form.name.data or "",
                    form.name_en.data or "",
                    actor=user.name,
                    user=user,
                    note={"uploaded": sorted(uploaded)},
                )
        except UploadError as exc:
            form[exc.field].errors = [*form[exc.field].errors, exc.message]
            return _page(form, 400)
        except NewDistrictError as exc:
            _show(form, exc.problems)
            return _page(form, 400)
        except DataFileError as exc:
            return _page(form, 400, result=Preview(problems=problems_of(exc)))
        except TaxvanError as exc:
            return _page(form, 400, refused=_refused(exc))
    _created(result)
    for w in result.warnings[:MAX_WARNINGS]:
        p = problem_row(w.path, w.problem)
        flash(
            _(
                "Worth a look (planning is still possible): %(file)s, row %(row)s: %(problem)s",
                file=p.file,
                row=p.row if p.row is not None else "—",
                problem=p.message,
            ),
            "ok",
        )
    return redirect(url_for("dispatch.district", code=result.district.code) + "#plan-h")


@bp.get("/setup")
@admin_only
def setup() -> str:
    """The first-run page: each step of a new county, done or still to do."""
    districts = all_districts()
    dispatchers: dict[int, int] = {}
    for u in all_users():
        if u.district_id is not None and u.active:
            dispatchers[u.district_id] = dispatchers.get(u.district_id, 0) + 1
    return render_template(
        "dispatch/setup.html",
        districts=[
            (d, stops_count(d), len(current_weeks(d)), dispatchers.get(d.id, 0)) for d in districts
        ],
        form=NewDistrictForm(formdata=None),
        tables=TABLES,
        outline=OUTLINE,
    )
