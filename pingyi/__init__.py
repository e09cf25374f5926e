"""pingyi (评议): multi-tenant public appraisal campaigns."""

from __future__ import annotations

import os

from flask import Flask, g, render_template, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

from .config import load_config


def create_app(config: dict | None = None) -> Flask:
    """App factory. Never touches the schema: migrations are a deploy step (``pingyi db upgrade``)."""
    app = Flask(__name__, instance_path=os.environ.get("PINGYI_INSTANCE", None) or None,
                instance_relative_config=True)
    app.config.update(load_config(app.instance_path, config))

    from . import audit, models, tenancy  # noqa: F401  (registers models and session hooks)
    from .extensions import babel, csrf, db, limiter, login_manager, migrate
    from .i18n import select_locale
    from .security import configure

    configure(app.config["PASSWORD_HASH_PARAMS"])
    db.init_app(app)
    migrate.init_app(app, db, render_as_batch=True, directory=os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations"))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=os.path.join(os.path.dirname(__file__), "translations"))
    login_manager.init_app(app)
    limiter.init_app(app)

    from .admin import bp as admin_bp
    from .api import bp as api_bp
    from .auth import bp as auth_bp
    from .auth import install_login
    from .ballot import bp as ballot_bp
    from .oversight import bp as oversight_bp
    from .platform import bp as platform_bp
    from .public import bp as public_bp

    install_login(app)
    for bp in (auth_bp, admin_bp, oversight_bp, platform_bp, api_bp, ballot_bp, public_bp):
        app.register_blueprint(bp)
    csrf.exempt(api_bp)
    csrf.exempt(ballot_bp)  # the unguessable link in the URL is the ballot form's CSRF token
    _install_error_pages(app)
    _install_template_helpers(app)

    from .cli import register_cli

    register_cli(app)
    return app


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_conn, _record) -> None:
    """SQLite enforces foreign keys (our composite tenant keys) only when asked."""
    if type(dbapi_conn).__module__.startswith("sqlite3"):
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.close()


def _install_error_pages(app: Flask) -> None:
    from flask import jsonify

    def handler(code: int):
        def handle(exc):
            if request.path.startswith("/api/"):
                return jsonify(error=getattr(exc, "description", str(code)), status=code), code
            return render_template("error.html", code=code), code
        return handle

    for code in (400, 403, 404, 405, 413, 429, 500):
        app.register_error_handler(code, handler(code))


def _install_template_helpers(app: Flask) -> None:
    from flask_babel import get_locale

    from . import suppression
    from .models import UNIT_KINDS

    @app.template_filter("localtime")
    def localtime(dt, tz: str = "Asia/Shanghai") -> str:
        from .campaigns import local

        return local(dt, tz).strftime("%Y-%m-%d %H:%M") if dt else ""

    @app.context_processor
    def helpers():
        return {"current_tenant": getattr(g, "tenant", None), "access": getattr(g, "access", None),
                "UNIT_KINDS": UNIT_KINDS, "locale": str(get_locale()),
                "min_cell": suppression.min_cell, "min_cell_label": suppression.label}
