"""The dispatcher console under /dispatch/: sign-in, districts, users, the audit log."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register Flask-Login and the console's blueprint on `app`."""
    from web import auth
    from web.dispatch import importing, publishing  # noqa: F401 (their routes)
    from web.dispatch.views import bp

    cfg = app.config["TAXVAN"]
    app.config.setdefault("TAXVAN_SIGNIN_RATE", cfg.signin_rate)
    app.config.setdefault("TAXVAN_SIGNIN_ADDRESS_RATE", cfg.signin_address_rate)
    auth.init_app(app)
    app.register_blueprint(bp)
    app.before_request_funcs.setdefault(None, []).insert(0, importing.upload_limit)
