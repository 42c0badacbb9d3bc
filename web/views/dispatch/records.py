"""The crew's records from the van's phone: a JSON endpoint the phone's queue sends to, a form
that works without JavaScript, and the installable app's manifest and service worker.

CSRF: the JSON endpoint is protected like every console form (Flask-WTF's CSRFProtect), by
the `X-CSRFToken` header. A record may wait on the phone for hours (no signal), longer than a
token lives, so the phone does not queue a token: when it sends, it first asks
`records/token` for a fresh one (a same-origin read: another site cannot read the answer) and
sends each queued record with it. The session cookie is SameSite=Lax, so a cross-site POST
carries no session anyway.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from flask import Response, current_app, flash, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from taxvan.clock import parse_hhmm
from web.db.store import services_by_code
from web.operations.records import (
    RecordError,
    RecordInvalid,
    VisitReport,
    WalkInCount,
    record_visit,
)
from web.views.dispatch.blueprint import bp, crew_allowed, district_or_404, signed_in_user
from web.views.inputs import SchemaErrors, read_json, takes_json, text_problem

MAX_RECORD_BYTES = 32 * 1024
"""A visit's record is a few hundred bytes; a long note and many walk-in rows stay far below."""


def error_text(exc: RecordError) -> str:
    """Why a record was refused, in the reader's language."""
    texts = {
        "not_found": _("This visit is not on your district's timetable (it may have changed)."),
        "called_off": _("This visit was called off: it takes no records."),
        "not_yet": _("This visit's day has not come yet."),
        "id_reused": _("This record's id was used for another visit."),
        "invalid": _("Some fields of the record cannot be accepted: %(fields)s.")
        % {"fields": ", ".join(exc.problems)},
    }
    return texts.get(exc.code, exc.code)


def _minutes(value: Any, name: str, problems: dict[str, str]) -> int | None:
    if value in (None, ""):
        return None
    try:
        return parse_hhmm(str(value))
    except ValueError:
        problems[name] = "time"
        return None


def _whole(value: Any, name: str, problems: dict[str, str], empty: int = 0) -> int:
    if value in (None, ""):
        return empty
    if isinstance(value, bool):
        problems[name] = "number"
        return empty
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if not text.isdigit() or len(text) > 4:
        problems[name] = "number"
        return empty
    return int(text)


def _json_walk_ins(rows: list[dict[str, Any]], problems: dict[str, str]) -> list[WalkInCount]:
    walk_ins = []
    for i, w in enumerate(rows):
        code = w.get("credit_code") or None
        if any(isinstance(x, str) and text_problem(x) for x in (code, w.get("service"))):
            problems[f"walk_ins.{i}"] = "text"
        walk_ins.append(
            WalkInCount(
                str(w.get("service") or ""),
                _whole(w.get("count"), f"walk_ins.{i}.count", problems, 1),
                str(code).strip().upper() if code else None,
            )
        )
    return walk_ins


def report_from_json(body: Any) -> VisitReport:
    """The phone's JSON record as a VisitReport; RecordInvalid naming each bad field."""
    if not isinstance(body, dict):
        raise RecordInvalid({"body": "object"})
    problems: dict[str, str] = {}
    outcomes = body.get("outcomes") or {}
    walk_rows = body.get("walk_ins") or []
    if not isinstance(outcomes, dict) or not all(isinstance(v, str) for v in outcomes.values()):
        problems["outcomes"] = "object"
        outcomes = {}
    if not isinstance(walk_rows, list) or not all(isinstance(w, dict) for w in walk_rows):
        problems["walk_ins"] = "list"
        walk_rows = []
    visit_id = body.get("visit_id")
    if not isinstance(visit_id, int) or isinstance(visit_id, bool) or not 0 < visit_id < 2**31:
        problems["visit_id"] = "number"
        visit_id = 0
    note = body.get("note") or ""
    if not isinstance(note, str) or text_problem(note):
        problems["note"] = "text"
        note = ""
    for key in ("client_id", "arrival", "departure"):
        if isinstance(body.get(key), str) and text_problem(body[key]):
            problems[key] = "text"
    walk_ins = _json_walk_ins(walk_rows, problems)
    report = VisitReport(
        client_id=str(body.get("client_id") or ""),
        visit_id=visit_id,
        arrival=_minutes(body.get("arrival"), "arrival", problems),
        departure=_minutes(body.get("departure"), "departure", problems),
        outcomes={str(k): v for k, v in outcomes.items() if not text_problem(str(k) + v)},
        walk_ins=tuple(walk_ins),
        turned_away=_whole(body.get("turned_away"), "turned_away", problems),
        note=note,
    )
    if problems:
        raise RecordInvalid(problems)
    return report


def report_from_form(visit_id: int, form: Any, services: list[str]) -> VisitReport:
    """The no-JavaScript form of one visit as a VisitReport (the same fields as the JSON)."""
    problems: dict[str, str] = {}
    outcomes = {
        key.removeprefix("outcome-"): value
        for key, value in form.items()
        if key.startswith("outcome-") and value
    }
    walk_ins = []
    for code in services:
        n = _whole(form.get(f"walkin-{code}"), f"walkin-{code}", problems)
        if n:
            walk_ins.append(WalkInCount(code, n))
    credit = (form.get("walkin_code") or "").strip().upper()
    if credit:
        walk_ins.append(WalkInCount(form.get("walkin_code_service") or "", 1, credit))
    report = VisitReport(
        client_id=form.get("client_id") or "",
        visit_id=visit_id,
        arrival=_minutes(form.get("arrival"), "arrival", problems),
        departure=_minutes(form.get("departure"), "departure", problems),
        outcomes=outcomes,
        walk_ins=tuple(walk_ins),
        turned_away=_whole(form.get("turned_away"), "turned_away", problems),
        note=form.get("note") or "",
    )
    if problems:
        raise RecordInvalid(problems)
    return report


def _apply(code: str, report: VisitReport) -> Any:
    district = district_or_404(code)
    user = signed_in_user()
    return record_visit(district, report, user, actor=user.name)


@bp.post("/api/districts/<code>/records")
@crew_allowed
@takes_json
def record_json(code: str) -> Any:
    """One queued record from the phone (JSON); the same `client_id` again answers the same."""
    try:
        body = read_json(MAX_RECORD_BYTES)
    except SchemaErrors as exc:
        return jsonify({"error": "Bad Request", "errors": exc.errors}), 400
    try:
        result = _apply(code, report_from_json(body))
    except RecordError as exc:
        answer = {"error": exc.code, "message": error_text(exc), "errors": exc.problems}
        return jsonify(answer), exc.status
    return jsonify(result.answer), 200


@bp.get("/api/districts/<code>/records/token")
@crew_allowed
def record_token(code: str) -> Any:
    """A fresh CSRF token for sending the phone's queue (see the module docstring)."""
    district_or_404(code)
    return jsonify({"csrf_token": generate_csrf()})


@bp.post("/districts/<code>/visits/<row_id:visit_id>/record")
@crew_allowed
def record_form(code: str, visit_id: int) -> Any:
    """The same record from the page's form, without JavaScript; back to the sheet."""
    district = district_or_404(code)
    try:
        report = report_from_form(visit_id, request.form, list(services_by_code(district.id)))
        _apply(code, report)
    except RecordError as exc:
        flash(error_text(exc), "error")
    else:
        flash(_("Record sent."), "ok")
    target = url_for("dispatch.today", code=code, date=request.form.get("date") or None)
    return redirect(f"{target}#visit-{visit_id}")


def new_client_id() -> str:
    """The record id the no-JavaScript form carries: sending the form twice records once."""
    return str(uuid.uuid4())


@bp.get("/districts/<code>/crew.webmanifest")
@crew_allowed
def manifest(code: str) -> Any:
    """The installable app: it opens on today's sheet, scoped to the district's pages."""
    district = district_or_404(code)
    scope = url_for("dispatch.district", code=code) + "/"
    icons = [
        {
            "src": url_for("static", filename=f"icons/crew-{n}.png"),
            "sizes": f"{n}x{n}",
            "type": "image/png",
        }
        for n in (192, 512)
    ]
    body = {
        "name": _("Van crew") + " · " + district.name,
        "short_name": _("Van crew"),
        "start_url": url_for("dispatch.today", code=code),
        "scope": scope,
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#b3261e",
        "lang": "zh-CN",
        "icons": icons,
    }
    response = jsonify(body)
    response.mimetype = "application/manifest+json"
    return response


@bp.get("/districts/<code>/crew-sw.js")
@crew_allowed
def service_worker(code: str) -> Any:
    """The service worker, served under the district's pages so that its scope is theirs."""
    district_or_404(code)
    script = Path(current_app.static_folder or "static", "js", "crew-sw.js").read_bytes()
    response = Response(script, mimetype="text/javascript")
    response.headers["Service-Worker-Allowed"] = url_for("dispatch.district", code=code) + "/"
    return response


def crew_page_context(code: str) -> dict[str, Any]:
    """What the phone sheet's script needs, as data attributes (no inline script: the CSP)."""
    return {
        "record_url": url_for("dispatch.record_json", code=code),
        "token_url": url_for("dispatch.record_token", code=code),
        "sw_url": url_for("dispatch.service_worker", code=code),
        "sw_scope": url_for("dispatch.district", code=code) + "/",
        "is_crew": getattr(current_user, "role", None) == "crew",
        "new_client_id": new_client_id,
    }
