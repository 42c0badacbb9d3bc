"""Error pages and JSON errors: nobody ever sees a traceback or a bare server error."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from web.operations.unit import discard
from web.views.inputs import BadInput


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _kept_headers(exc: HTTPException) -> list[tuple[str, str]]:
    """The exception's own headers (`Allow` on a 405, `Retry-After`...), not its content type."""
    return [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]


def register_errors(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = exc.code or 500
        limit = request.max_content_length or 0  # this request's own limit (API: smaller)
        messages = {
            400: _("The request was not understood."),
            404: _("This page does not exist."),
            405: _("This action is not allowed here."),
            413: _("The request is too large (at most %(kb)d KB).", kb=max(1, limit // 1024)),
            429: _("Too many requests. Please wait a minute and try again."),
        }
        message = messages.get(code, exc.description or _("Something went wrong."))
        errors: dict[str, str] = {}
        if isinstance(exc, CSRFError):
            message = _("This form has expired. Please go back, reload the page and try again.")
        elif isinstance(exc, BadInput):
            errors = exc.errors
            fields = ", ".join(errors)
            message = _("These fields cannot be accepted as sent: %(fields)s.", fields=fields)
        headers = _kept_headers(exc)
        if _wants_json():
            body: dict[str, object] = {"error": exc.name, "message": message}
            if errors:
                body["errors"] = errors
            return jsonify(body), code, headers
        return render_template("error.html", code=code, message=message), code, headers

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        discard()
        app.logger.exception("unhandled error on %s", request.path)
        message = _("Something went wrong on our side. Please try again later.")
        if _wants_json():
            return jsonify({"error": "Internal Server Error", "message": message}), 500
        return render_template("error.html", code=500, message=message), 500
