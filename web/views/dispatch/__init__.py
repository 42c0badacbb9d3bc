"""The dispatcher console under /dispatch/: sign-in, districts, users, the audit log."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register Flask-Login and the console's blueprint on `app`."""
    from web.operations import users as auth
    from web.views.dispatch import (  # noqa: F401  (their views, on `bp`)
        adjust_views,
        days,
        disruptions,
        importing,
        planning_views,
        publishing,
        records,
        setup,
        statistics,
        user_pages,
        versions,
        views,
    )
    from web.views.dispatch import notices as outbox_pages  # noqa: F401  (on the console's bp)
    from web.views.dispatch.blueprint import bp
    from web.views.door import console as door_pages  # noqa: F401  (on the console's blueprint)

    cfg = app.config["TAXVAN"]
    app.config.setdefault("TAXVAN_SIGNIN_RATE", cfg.signin_rate)
    app.config.setdefault("TAXVAN_SIGNIN_ADDRESS_RATE", cfg.signin_address_rate)
    auth.init_app(app)
    app.register_blueprint(bp)
    app.before_request_funcs.setdefault(None, []).insert(0, importing.upload_limit)
