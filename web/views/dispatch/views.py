"""Console pages. Access is decided once, for the whole blueprint, before any view runs:

* an anonymous visitor is sent to the sign-in page (a JSON URL answers 401);
* a URL naming a district (`<code>`) is refused with 403 to a dispatcher of another district;
* a view marked `admin_only` is refused with 403 to dispatchers.

Only views marked `open_to_all` (the sign-in page) skip the check, so a page added later is
protected without anyone remembering to.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user, logout_user
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from taxvan.workdays import iso_week_label
from web.clock import china_now
from web.db import audit
from web.db.models import CurrentWeek, District, PublishedWeek, StopRow, User
from web.extensions import db, limiter
from web.operations.users import authenticate, find_user, normalise_name
from web.views.dispatch.forms import SignInForm, SignOutForm

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


def _wants_json() -> bool:
    return request.path.startswith("/dispatch/api/") or (
        request.accept_mimetypes.best == "application/json"
    )


def _refuse(code: int, message: str) -> Any:
    """A refusal as JSON for the console's JSON URLs, else the site's error page."""
    if _wants_json():
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
        if _wants_json():
            return _refuse(401, _("Sign in to use the dispatcher console."))
        return redirect(url_for("dispatch.sign_in", next=request.full_path.rstrip("?")))
    if getattr(view, "admin_only", False) and not current_user.is_admin:
        return _refuse(403, _("Only administrators may see this page."))
    code = (request.view_args or {}).get("code")
    if code is not None and not current_user.is_admin:
        own = current_user.district
        if own is None or own.code != code:
            return _refuse(403, _("This district is not yours."))
    return None


@bp.app_context_processor
def console_helpers() -> dict[str, Any]:
    return {"sign_out_form": SignOutForm, "action_label": action_label}


def action_label(action: str) -> str:
    labels = {
        "sign_in": _("Signed in"),
        "sign_out": _("Signed out"),
        "sign_in_failed": _("Failed sign-in"),
        "district_import": _("District imported"),
        "user_create": _("User created"),
        "user_disable": _("User disabled"),
        "notices_export": _("Notices exported"),
        "disruption": _("Visits called off"),
        "day_sheet_export": _("Day sheet downloaded"),
        "door_accept": _("Door-to-door request accepted"),
        "door_decline": _("Door-to-door request declined"),
        "plan_started": _("Plan started"),
        "plan_finished": _("Plan finished (draft)"),
        "plan_cancelled": _("Plan cancelled"),
        "plan_failed": _("Plan failed"),
        "publish": _("Week published"),
        "adjustment_add": _("Adjustment added"),
        "adjustment_remove": _("Adjustment removed"),
    }
    return labels.get(action, action)


# --- signing in and out ---------------------------------------------------------------------


def _signin_rate() -> str:
    return current_app.config["TAXVAN_SIGNIN_RATE"]


def _signin_address_rate() -> str:
    return current_app.config["TAXVAN_SIGNIN_ADDRESS_RATE"]


def _signin_name() -> str:
    return "signin-name:" + normalise_name(request.form.get("name", ""))[:60]


def _failed(response: Response) -> bool:
    """Only failed attempts use up the budget: a dispatcher signing in and out is not held up."""
    return bool(g.get("signin_failed"))


def _safe_next(target: str | None) -> str | None:
    """Only a console path of this site: never another host (an open redirect)."""
    if target and target.startswith("/dispatch/") and "\\" not in target and "://" not in target:
        return target
    return None


@bp.route("/sign-in", methods=["GET", "POST"])
@open_to_all
@limiter.limit(
    _signin_address_rate, key_func=get_remote_address, methods=["POST"], deduct_when=_failed
)
@limiter.limit(_signin_rate, key_func=_signin_name, methods=["POST"], deduct_when=_failed)
def sign_in() -> Any:
    """Failed attempts count against the client address and against the name tried."""
    if current_user.is_authenticated:
        return redirect(url_for("dispatch.index"))
    form = SignInForm()
    failed = False
    if form.validate_on_submit():
        user = authenticate(form.name.data or "", form.password.data or "")
        if user is None:
            # Attempts on an existing account go to its district's log too, so its
            # dispatcher sees them; the page itself never says whether the name exists.
            tried = find_user(form.name.data or "")
            audit.record(
                "sign_in_failed",
                actor=normalise_name(form.name.data or "")[:100],
                user=tried,
                district=tried.district if tried is not None else None,
                details={"address": request.remote_addr},
                commit=True,
            )
            failed = True
            g.signin_failed = True
        else:
            # A new session: nothing from before signing in carries over (session fixation,
            # an old CSRF token), except the language chosen.
            lang = session.get("lang")
            session.clear()
            if lang:
                session["lang"] = lang
            login_user(user)
            user.last_sign_in_at = china_now().replace(tzinfo=None)
            audit.record(
                "sign_in",
                actor=user.name,
                user=user,
                district=user.district,
                details={"address": request.remote_addr},
            )
            db.session.commit()
            return redirect(_safe_next(request.args.get("next")) or url_for("dispatch.index"))
    status = 400 if form.errors else 200
    return render_template("dispatch/sign_in.html", form=form, failed=failed), status


@bp.post("/sign-out")
def sign_out() -> Response:
    if SignOutForm().validate_on_submit():
        user = db.session.get(User, current_user.id)
        audit.record(
            "sign_out",
            actor=user.name,
            user=user,
            district=user.district,
            details={"address": request.remote_addr},
        )
        db.session.commit()
        logout_user()
        session.clear()
    return redirect(url_for("dispatch.sign_in"))


# --- pages ----------------------------------------------------------------------------------


def _stops_count(district: District) -> int:
    query = select(func.count(StopRow.id)).where(StopRow.district_id == district.id)
    return db.session.scalar(query) or 0


def _published_weeks(district: District) -> list[PublishedWeek]:
    """The current version of each of the district's published weeks, newest week first."""
    from web.operations.publishing import district_week_ids

    query = (
        select(PublishedWeek)
        .join(CurrentWeek, CurrentWeek.published_id == PublishedWeek.id)
        .where(PublishedWeek.id.in_(district_week_ids(district)))
        .order_by(PublishedWeek.week.desc())
    )
    return list(db.session.scalars(query))


def district_or_404(code: str) -> District:
    district = db.session.scalar(select(District).where(District.code == code))
    if district is None:
        abort(404)
    return district


@bp.errorhandler(404)
def _not_found(exc: Exception) -> Any:
    """The JSON URLs answer JSON; pages get the site's error page."""
    if _wants_json():
        return _refuse(404, _("This page does not exist."))
    return render_template("error.html", code=404, message=_("This page does not exist.")), 404


@bp.get("/")
def index() -> Any:
    """A dispatcher goes to their district; an admin sees every district and the log."""
    if not current_user.is_admin:
        if current_user.district is None:
            abort(403, _("Your account has no district; ask an administrator."))
        return redirect(url_for("dispatch.district", code=current_user.district.code))
    districts = list(db.session.scalars(select(District).order_by(District.code)))
    return render_template(
        "dispatch/admin.html",
        districts=[(d, _stops_count(d), len(_published_weeks(d))) for d in districts],
        entries=audit.latest(),
    )


@bp.get("/districts/<code>")
def district(code: str) -> str:
    return district_page(district_or_404(code))


def district_page(d: District, plan_form: Any = None) -> str:
    """The district page; `plan_form` is a plan form sent back with its errors."""
    from web.views.dispatch.planning_views import planning_context

    weeks = _published_weeks(d)
    return render_template(
        "dispatch/district.html",
        district=d,
        stops=_stops_count(d),
        weeks=weeks,
        coming_weeks=[w for w in _coming_weeks() if w not in {x.week for x in weeks}],
        entries=audit.latest(d),
        **planning_context(d, plan_form),
    )


def _coming_weeks(n: int = 5) -> list[str]:
    """This week and the next ones (China time): the weeks a dispatcher plans and publishes."""
    today = china_now().date()
    return [iso_week_label(today + dt.timedelta(days=7 * i)) for i in range(n)]


@bp.get("/api/districts/<code>")
def district_json(code: str) -> Response:
    """The district page's figures as JSON (for scripts and the coming console pages)."""
    d = district_or_404(code)
    return jsonify(
        {
            "code": d.code,
            "name": d.name,
            "name_en": d.name_en,
            "hall": d.hall,
            "stops": _stops_count(d),
            "published_weeks": [w.week for w in _published_weeks(d)],
            "updated_at": d.updated_at.isoformat(),
        }
    )


@bp.get("/users")
@admin_only
def users() -> str:
    rows = list(db.session.scalars(select(User).order_by(User.name)))
    return render_template("dispatch/users.html", users=rows)
