"""Console pages: signing in and out, the admin's overview, a district's page, users.

Who may see what is decided once, for the whole blueprint (`web.views.dispatch.blueprint`)."""

from __future__ import annotations

from typing import Any

from flask import (
    abort,
    current_app,
    flash,
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
from flask_login import current_user, logout_user
from werkzeug.wrappers import Response

from web.db import audit
from web.db.store import all_districts, current_weeks, stops_count
from web.extensions import limiter
from web.operations import users as accounts
from web.operations.signing_in import failed_sign_in, signed_in
from web.operations.users import authenticate, find_user, has_users, normalise_name
from web.views.dispatch import audit_words
from web.views.dispatch.blueprint import (
    admin_only,
    bp,
    crew_allowed,
    district_or_404,
    is_crew,
    open_to_all,
)
from web.views.dispatch.forms import (
    ChangePasswordForm,
    ResetPasswordForm,
    SignInForm,
    SignOutForm,
)
from web.views.dispatch.planning_views import district_page


@bp.app_context_processor
def console_helpers() -> dict[str, Any]:
    return {
        "sign_out_form": SignOutForm,
        "action_label": action_label,
        "audit_sentence": audit_words.sentence,
        "audit_details": audit_words.detail_rows,
        "actor_text": audit_words.actor_text,
    }


def action_label(action: str) -> str:
    labels = {
        "sign_in": _("Signed in"),
        "sign_out": _("Signed out"),
        "sign_in_failed": _("Failed sign-in"),
        "district_import": _("District imported"),
        "user_create": _("User created"),
        "user_disable": _("User disabled"),
        "user_enable": _("User enabled"),
        "notices_export": _("Notices exported"),
        "disruption": _("Visits called off"),
        "day_sheet_export": _("Day sheet downloaded"),
        "door_accept": _("Door-to-door request accepted"),
        "door_decline": _("Door-to-door request declined"),
        "door_called_off": _("Door-to-door visit called off"),
        "plan_started": _("Plan started"),
        "plan_finished": _("Plan finished (draft)"),
        "plan_cancelled": _("Plan cancelled"),
        "plan_failed": _("Plan failed"),
        "publish": _("Week published"),
        "adjustment_add": _("Adjustment added"),
        "adjustment_remove": _("Adjustment removed"),
        "password_change": _("Password changed"),
        "password_reset": _("Password reset by an administrator"),
        "publish_notices_export": _("Publish notice list downloaded"),
        "visit_record": _("Visit recorded by the crew"),
        "notice_sent_by_hand": _("Notice marked as sent by hand"),
    }
    return labels.get(action, action)


# --- signing in and out ---------------------------------------------------------------------


def _signin_rate() -> str:
    return current_app.config["TAXVAN_SIGNIN_RATE"]


def _signin_address_rate() -> str:
    return current_app.config["TAXVAN_SIGNIN_ADDRESS_RATE"]


def _signin_pair() -> str:
    """The name tried from this address: its failures never lock the name out elsewhere."""
    name = normalise_name(request.form.get("name", ""))[:60]
    return f"signin-pair:{name}@{get_remote_address()}"


def _failed(response: Response) -> bool:
    """Only failed attempts use up the budget: a dispatcher signing in and out is not held up."""
    return bool(g.get("signin_failed"))


def _password_user() -> str:
    """Wrong current passwords count per user: a borrowed session cannot try them all."""
    return f"password-user:{getattr(current_user, 'id', '-')}"


def _ended_message() -> str | None:
    """Why this browser was signed out, once (the sign-in page says it)."""
    reason = session.pop(accounts.ENDED, None)
    cfg = current_app.config["TAXVAN"]
    idle = session.pop(accounts.ENDED_IDLE, None)
    if reason == "idle":
        return _(
            "You were signed out after %(minutes)d minutes without activity. Sign in again.",
            minutes=idle if isinstance(idle, int) else round(cfg.session_idle_minutes),
        )
    if reason == "lifetime":
        return _(
            "You were signed out %(hours)d hours after signing in. Sign in again.",
            hours=round(cfg.session_max_hours),
        )
    if reason == "ended":
        return _(
            "Your session has ended (signed out, a new password, or the account disabled). "
            "Sign in again."
        )
    return None


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
@limiter.limit(_signin_rate, key_func=_signin_pair, methods=["POST"], deduct_when=_failed)
def sign_in() -> Any:
    """Failed attempts count against the client address, and against the name tried from that
    address (README, "Sign-in limits")."""
    if current_user.is_authenticated:
        return redirect(url_for("dispatch.index"))
    form = SignInForm()
    failed = False
    ended = _ended_message() if request.method == "GET" else None
    if form.validate_on_submit():
        user = authenticate(form.name.data or "", form.password.data or "")
        if user is None:
            failed_sign_in(form.name.data or "", request.remote_addr)
            failed = True
            g.signin_failed = True
        else:
            accounts.start_session(user)
            signed_in(user, request.remote_addr)
            return redirect(_safe_next(request.args.get("next")) or url_for("dispatch.index"))
    status = 400 if form.errors else 200
    return render_template(
        "dispatch/sign_in.html",
        form=form,
        failed=failed,
        ended=ended,
        no_users=not failed and not has_users(),
    ), status


@bp.post("/sign-out")
@crew_allowed
def sign_out() -> Response:
    """Ends the user's sessions on the server, in every browser (a copied cookie included)."""
    if SignOutForm().validate_on_submit():
        accounts.sign_out(current_user.id, request.remote_addr)
        logout_user()
        session.clear()
    return redirect(url_for("dispatch.sign_in"))


# --- passwords ------------------------------------------------------------------------------


def _password_messages() -> dict[str, str]:
    return {
        "wrong": _("The current password is wrong."),
        "short": _("The new password needs at least %(n)d characters.", n=accounts.MIN_PASSWORD),
        "few_characters": _(
            "The new password needs at least %(n)d different characters.",
            n=accounts.MIN_DISTINCT,
        ),
        "contains_name": _("The new password must not contain the user name."),
        "unchanged": _("The new password must differ from the current one."),
        "mismatch": _("The two new passwords differ."),
    }


def _password_page(form: Any, target: str | None = None) -> str:
    """The password form (`form` None: the user's own password was just changed)."""
    return render_template(
        "dispatch/password.html",
        form=form,
        done=form is None,
        target=target,
        min_password=accounts.MIN_PASSWORD,
        min_distinct=accounts.MIN_DISTINCT,
    )


def _show_problems(form: Any, problems: list[accounts.PasswordProblem]) -> None:
    """Each refusal at the field it is about."""
    messages = _password_messages()
    for p in problems:
        field = getattr(form, p.field)
        field.errors = [*field.errors, messages[p.code]]


@bp.route("/password", methods=["GET", "POST"])
@crew_allowed
@limiter.limit(_signin_rate, key_func=_password_user, methods=["POST"], deduct_when=_failed)
def password() -> Any:
    """A user changes their own password: the current one, the new one twice. Every session of
    theirs ends; this browser's goes on in a new one."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            user = accounts.change_own_password(
                current_user.id,
                form.current.data or "",
                form.new.data or "",
                form.repeat.data or "",
            )
        except accounts.WeakPasswordError as exc:
            if any(p.code == "wrong" for p in exc.problems):
                g.signin_failed = True
            _show_problems(form, exc.problems)
        else:
            accounts.start_session(user)
            return _password_page(None)
    return _password_page(form), 400 if form.errors else 200


@bp.route("/users/<name>/password", methods=["GET", "POST"])
@admin_only
def user_password(name: str) -> Any:
    """An administrator gives another user a new password (twice); their sessions end."""
    target = find_user(name)
    if target is None:
        abort(404)
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            accounts.reset_password(
                target.name, form.new.data or "", form.repeat.data or "", current_user.name
            )
        except accounts.WeakPasswordError as exc:
            _show_problems(form, exc.problems)
        else:
            flash(
                _(
                    "%(name)s has a new password; their sessions have ended.",
                    name=target.name,
                ),
                "ok",
            )
            return redirect(url_for("dispatch.users"))
    return _password_page(form, target.name), 400 if form.errors else 200


# --- pages ----------------------------------------------------------------------------------


@bp.get("/")
@crew_allowed
def index() -> Any:
    """A dispatcher goes to their district, a van's crew to its sheet of today; an admin sees
    every district and the log."""
    if not current_user.is_admin:
        if current_user.district is None:
            abort(403, _("Your account has no district; ask an administrator."))
        page = "dispatch.today" if is_crew(current_user) else "dispatch.district"
        return redirect(url_for(page, code=current_user.district.code))
    districts = all_districts()
    if not districts:
        return redirect(url_for("dispatch.setup"))
    return render_template(
        "dispatch/admin.html",
        districts=[(d, stops_count(d), len(current_weeks(d))) for d in districts],
        entries=audit.latest(),
    )


@bp.get("/districts/<code>")
def district(code: str) -> str:
    return district_page(district_or_404(code))


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
            "stops": stops_count(d),
            "published_weeks": [w.week for w in reversed(current_weeks(d))],
            "updated_at": d.updated_at.isoformat(),
        }
    )
