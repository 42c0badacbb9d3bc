"""Flask extensions, created unbound and attached in the application factory."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from flask import Response, current_app, has_request_context, request, session
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase

LANGUAGES = ("zh", "en")


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)

if TYPE_CHECKING:
    # `db.Model` is a class Flask-SQLAlchemy builds at run time from `Base`, which a type
    # checker cannot follow; tables derive from `Model`, checked as the declarative `Base`.
    Model = Base
else:
    Model = db.Model
migrate = Migrate()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def booking_rate() -> str:
    return current_app.config["TAXVAN_BOOKING_RATE"]


booking_limit = limiter.shared_limit(booking_rate, scope="booking")
"""One budget per client address across every booking endpoint, pages and API alike: spreading
requests over several endpoints must not multiply the allowance."""
booking_post_limit = limiter.shared_limit(booking_rate, scope="booking", methods=["POST"])
"""The same budget, for pages whose GET only shows a form."""


def retry_after(response: Response) -> Response:
    """A 429 says when the client's budget comes back (`Retry-After`, seconds).

    Flask-Limiter's own headers are off: they cost two storage round trips on every response,
    where only a refused request needs the time; this asks the storage only then."""
    if response.status_code == 429 and (limit := limiter.current_limit) is not None:
        response.headers["Retry-After"] = str(max(1, int(limit.reset_at - time.time())))
    return response


def select_locale() -> str:
    """Chinese unless the visitor chose English (?lang=en, remembered in the session);
    Chinese outside a request (a command writing a file for the dispatcher)."""
    if not has_request_context():
        return "zh"
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        session["lang"] = asked
        return asked
    return session.get("lang", "zh")


babel = Babel()
