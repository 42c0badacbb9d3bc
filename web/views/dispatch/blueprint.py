"""Console pages. Access is decided once, for the whole blueprint, before any view runs:

* an anonymous visitor is sent to the sign-in page (a JSON URL answers 401);
* a URL naming a district (`<code>`) is refused with 403 to a dispatcher of another district;
* a view marked `admin_only` is refused with 403 to dispatchers;
* a van's crew (role `crew`) reaches only views marked `crew_allowed` (its district's phone
  sheet and records, its password, signing out): every other console URL answers 403.

Only views marked `open_to_all` (the sign-in page) skip the check, so a page added later is
protected without anyone remembering to.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from web.db.models import District, User
from web.db.store import district_by_code
from web.i18n import show_stop_names
from web.operations.adjustments import stop_display_names
from web.operations.people import People, people_for
from web.operations.users import user_by_id

bp = Blueprint("dispatch", __name__, url_prefix="/dispatch")

F = TypeVar("F", bound=Callable[..., Any])


def open_to_all(view: F) -> F:
    """Mark a view that an anonymous visitor may see (the sign-in page only)."""
    view.open_to_all = True  # type: ignore[attr-defined]
    return view


def admin_only(view: F) -> F:
    """Mark a view that only admins may see."""
    view.admin_only = True  # type: ignore[attr-defined]
    return view


def crew_allowed(view: F) -> F:
    """Mark a view that a van's crew may see too (of its own district)."""
    view.crew_allowed = True  # type: ignore[attr-defined]
    return view


def is_crew(user: Any) -> bool:
    return getattr(user, "role", None) == "crew"


def signed_in_user() -> User:
    """The console user of this request, as a row of the request's database session (the
    access rule lets only signed-in users reach a view that asks)."""
    user = user_by_id(current_user.id)
    if user is None:
        abort(404)
    return user


def wants_json() -> bool:
    return request.path.startswith("/dispatch/api/") or (
        request.accept_mimetypes.best == "application/json"
    )


def refuse(code: int, message: str) -> Any:
    """A refusal as JSON for the console's JSON URLs, else the site's error page."""
    if wants_json():
        names = {401: "Unauthorized", 403: "Forbidden", 404: "Not Found"}
        return jsonify({"error": names[code], "message": message}), code
    abort(code, message)


@bp.before_request
def guard() -> Any:
    """The console's access rule (see the module docstring)."""
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None or getattr(view, "open_to_all", False):
        return None
    if not current_user.is_authenticated:
        if wants_json():
            return refuse(401, _("Sign in to use the dispatcher console."))
        return redirect(url_for("dispatch.sign_in", next=request.full_path.rstrip("?")))
    if getattr(view, "admin_only", False) and not current_user.is_admin:
        return refuse(403, _("Only administrators may see this page."))
    if is_crew(current_user) and not getattr(view, "crew_allowed", False):
        return refuse(403, _("A van crew's account opens only its district's day sheets."))
    code = (request.view_args or {}).get("code")
    if code is not None and not current_user.is_admin:
        own = current_user.district
        if own is None or own.code != code:
            return refuse(403, _("This district is not yours."))
    return None


def people_of(district: District) -> People:
    """How the signed-in user sees the district's names and phones, on a page or in a
    download: the one rule of `web.operations.people`."""
    return people_for(current_user, district.id)


def district_or_404(code: str) -> District:
    """The district of a console URL, else the console's 404 page."""
    district = district_by_code(code)
    if district is None:
        abort(404)
    show_stop_names(partial(stop_display_names, district))
    return district


@bp.errorhandler(404)
def not_found(exc: Exception) -> Any:
    """The JSON URLs answer JSON; pages get the site's error page."""
    if wants_json():
        return refuse(404, _("This page does not exist."))
    return render_template("error.html", code=404, message=_("This page does not exist.")), 404
