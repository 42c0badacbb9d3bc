"""Error pages and JSON errors: nobody ever sees a traceback or a bare server error."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from web.extensions import db


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def register_errors(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):  # type: ignore[no-untyped-def]
        code = exc.code or 500
        messages = {
            400: _("The request was not understood."),
            404: _("This page does not exist."),
            405: _("This action is not allowed here."),
            429: _("Too many requests. Please wait a minute and try again."),
        }
        message = messages.get(code, exc.description or _("Something went wrong."))
        if isinstance(exc, CSRFError):
            message = _("This form has expired. Please go back, reload the page and try again.")
        if _wants_json():
            return jsonify({"error": exc.name, "message": message}), code
        return render_template("error.html", code=code, message=message), code

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):  # type: ignore[no-untyped-def]
        db.session.rollback()
        app.logger.exception("unhandled error on %s", request.path)
        message = _("Something went wrong on our side. Please try again later.")
        if _wants_json():
            return jsonify({"error": "Internal Server Error", "message": message}), 500
        return render_template("error.html", code=500, message=message), 500
