"""The Flask app and the command line: delivery of plans to dispatchers and the public."""

from __future__ import annotations

import dataclasses
import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask

from taxvan.clock import CHINA
from web.compression import Compress
from web.config import Config
from web.security import CSRF_HOURS


def _secret_key(instance: Path) -> str:
    """TAXVAN_SECRET_KEY, else a random key kept in the instance folder across restarts.

    The key is written to a file of its own and then linked into place, so the file a process
    finds is always complete: worker processes starting together all read one key, and a crash
    half-way leaves no empty key file behind."""
    path = instance / "secret_key"
    if not path.exists():
        tmp = instance / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process linked its key first; use that one
        finally:
            tmp.unlink()
    key = path.read_text().strip()
    if not key:
        raise RuntimeError(
            f"the secret key file {path} is empty: delete it or set TAXVAN_SECRET_KEY"
        )
    return key


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Application factory: configuration, extensions, blueprints, error pages, commands.

    `test_config["INSTANCE_PATH"]` moves the instance folder (secret key, compiled catalogues,
    default SQLite file) out of the checkout, so tests leave no files behind.
    """
    instance = (test_config or {}).get("INSTANCE_PATH")
    app = Flask(__name__, instance_path=instance and str(instance), instance_relative_config=True)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    cfg = Config()
    if not cfg.cache_dir:
        # The planner's templates and matrices belong to this installation: two sites on one
        # machine must never plan from each other's template.
        cfg = dataclasses.replace(cfg, cache_dir=str(Path(app.instance_path) / "planner-cache"))
    if not cfg.districts_dir:
        cfg = dataclasses.replace(cfg, districts_dir=str(Path(app.instance_path) / "districts"))
    app.config.from_mapping(
        SECRET_KEY=cfg.secret_key or _secret_key(Path(app.instance_path)),
        SQLALCHEMY_DATABASE_URI=cfg.database_url
        or f"sqlite:///{Path(app.instance_path) / 'taxvan.sqlite'}",
        SQLALCHEMY_ENGINE_OPTIONS={},
        RATELIMIT_STORAGE_URI=cfg.redis_url or "memory://",
        # X-RateLimit-* on every response cost two more storage round trips a request (GET and
        # TTL in Redis); a 429 still says when to come back (`retry_after`).
        RATELIMIT_HEADERS_ENABLED=False,
        RATELIMIT_KEY_PREFIX=cfg.ratelimit_prefix,
        # Redis down must not turn bookings into server errors: count in memory until it is back.
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
        TAXVAN=cfg,
        TAXVAN_SLOT_MINUTES=cfg.slot_minutes,
        TAXVAN_WALKIN_SHARE=cfg.walkin_share,
        TAXVAN_BOOKING_OPENS_DAYS=cfg.booking_opens_days,
        TAXVAN_BOOKING_CLOSES_HOURS=cfg.booking_closes_hours,
        TAXVAN_MAX_OPEN_BOOKINGS=cfg.max_open_bookings,
        TAXVAN_BOOKING_RATE=cfg.booking_rate,
        TAXVAN_HOTLINE=cfg.hotline,
        BABEL_DEFAULT_LOCALE="zh",
        BABEL_DEFAULT_TIMEZONE=CHINA.key,
        WTF_CSRF_TIME_LIMIT=CSRF_HOURS * 3600,
        TAXVAN_PUBLIC_URL=cfg.public_url,
        TAXVAN_TRUSTED_HOSTS=cfg.trusted_hosts,
        TAXVAN_PROXIES=cfg.proxies,
        MAX_CONTENT_LENGTH=cfg.max_request_bytes,
    )
    if cfg.frozen_now:
        import datetime as dt

        frozen = dt.datetime.fromisoformat(cfg.frozen_now).replace(tzinfo=CHINA)
        app.config["TAXVAN_CLOCK"] = lambda: frozen
    if test_config:
        app.config.update(test_config)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # Chinese stays readable
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite"):
        # Writers wait for each other instead of failing at once with "database is locked".
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"timeout": 30}}
    elif uri.startswith("postgresql://"):
        app.config["SQLALCHEMY_DATABASE_URI"] = uri.replace(
            "postgresql://", "postgresql+psycopg://", 1
        )
    if uri.startswith("postgresql"):
        # One kept connection per serving thread: with fewer, the busiest moments open and
        # close connections (a new PostgreSQL backend each) on every request above the pool.
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_size": cfg.db_pool_size}

    from web import i18n, security
    from web.extensions import babel, csrf, db, limiter, migrate, retry_after, select_locale

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).parent / "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    app.after_request(retry_after)
    Compress(app)  # Flask-Compress: zstd, brotli or gzip, as the client accepts
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(i18n.compiled_catalogs(app)),
    )
    app.add_template_filter(i18n.translate, "tr")  # {{ reason|tr }}: a domain Message in words

    from web.views.inputs import register_inputs

    register_inputs(app)  # the `row_id` converter must exist before the blueprints' rules

    from web.views.api.views import bp as api_bp
    from web.views.booking.views import bp as booking_bp
    from web.views.door.views import bp as door_bp
    from web.views.errors import register_errors
    from web.views.public.figures import bp as figures_bp
    from web.views.public.site import bp as site_bp
    from web.views.public.views import bp as public_bp

    app.register_blueprint(site_bp)
    app.register_blueprint(public_bp)
    app.register_blueprint(figures_bp)
    app.register_blueprint(booking_bp)
    app.register_blueprint(door_bp)
    app.register_blueprint(api_bp)
    csrf.exempt(api_bp)
    from web.views import dispatch

    dispatch.init_app(app)  # the dispatcher console: Flask-Login and /dispatch/
    register_errors(app)
    security.install(app)

    from web.commands import register

    register(app)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
