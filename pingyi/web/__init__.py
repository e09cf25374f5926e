"""The audience blueprints (admin, oversight, platform, auth, public, api, ballot), request-side
access (``access``), forms, error pages and template helpers: everything that knows about HTTP.
Views stay thin: they parse the request, call a domain function and render."""

from __future__ import annotations

import hashlib
from contextlib import suppress
from functools import lru_cache
from pathlib import Path

from flask import Flask, g, jsonify, render_template, request
from werkzeug.routing import IntegerConverter


class IdConverter(IntegerConverter):
    """``<int:…>`` in every route: digits naming a row id, so at most the id column's maximum
    (PostgreSQL INTEGER); a larger number matches no route and is a 404 before any view or
    lookup sees it (a lookup of 2**64 raised OverflowError on SQLite, a DataError on PostgreSQL)."""

    def __init__(self, map, *args, **kwargs) -> None:
        from .forms import ID_RANGE

        kwargs.setdefault("max", ID_RANGE[1])
        super().__init__(map, *args, **kwargs)

    def to_python(self, value: str):
        if len(value) > 10:  # int() of thousands of digits is slow, then refused anyway
            from werkzeug.routing import ValidationError

            raise ValidationError()
        return super().to_python(value)


def init_app(app: Flask) -> None:
    from pingyi.extensions import csrf

    from . import headers
    from .admin import bp as admin_bp
    from .api import bp as api_bp
    from .auth import bp as auth_bp
    from .auth import install_login
    from .ballot import bp as ballot_bp
    from .feedback import bp as feedback_bp
    from .ops import bp as ops_bp
    from .oversight import bp as oversight_bp
    from .platform import bp as platform_bp
    from .public import bp as public_bp
    from .weblog import install as install_weblog

    app.url_map.converters["int"] = IdConverter  # before any rule is added: every <int:…> is bounded
    install_weblog(app)  # first: every later hook's log lines carry the request's id
    install_login(app)
    for bp in (auth_bp, admin_bp, oversight_bp, platform_bp, api_bp, ballot_bp, public_bp, feedback_bp, ops_bp):
        app.register_blueprint(bp)
    csrf.exempt(api_bp)
    csrf.exempt(ballot_bp)  # the unguessable link in the URL is the ballot form's CSRF token
    _install_error_pages(app)
    _install_template_helpers(app)
    _install_static_versions(app)
    headers.install(app)


@lru_cache(maxsize=256)
def _file_version(path: str, mtime_ns: int) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:10]


def _install_static_versions(app: Flask) -> None:
    """``url_for('static', …)`` names the file's content (``?v=<hash>``): nginx may then keep it a
    month (deploy/nginx/pingyi.conf), and a release that changes a file names a new URL."""
    folder = Path(app.static_folder)

    @app.url_defaults
    def _version(endpoint: str, values: dict) -> None:
        if endpoint == "static" and "v" not in values and "filename" in values:
            path = folder / values["filename"]
            with suppress(OSError):  # a missing file: the URL stays plain (and answers 404)
                values["v"] = _file_version(str(path), path.stat().st_mtime_ns)


def _install_error_pages(app: Flask) -> None:
    from .throttle import retry_after

    def handler(code: int):
        def handle(exc):
            if getattr(exc, "response", None) is not None:
                return exc.response  # a page of its own (the login page's 429 says how long to wait)
            if code == 500:  # a failed statement leaves the transaction aborted: the page needs a fresh one
                from pingyi.extensions import db

                db.session.rollback()
            headers = retry_after() if code == 429 else {}
            if request.path.startswith("/api/"):
                return jsonify(error=getattr(exc, "description", str(code)), status=code), code, headers
            return render_template("error.html", code=code), code, headers
        return handle

    for code in (400, 403, 404, 405, 413, 429, 500):
        app.register_error_handler(code, handler(code))

    from decimal import DecimalException

    from sqlalchemy.exc import DataError, IntegrityError

    def refused_by_database(exc: Exception):
        """The net under the edge's validation: what some path still passed on unchecked — a
        number or text out of range, nesting too deep, a row still referenced — is a 400 (409)
        that says so, never a 500; the transaction is rolled back, so nothing of it was written."""
        from pingyi.extensions import db
        from pingyi.i18n import _

        db.session.rollback()
        code = 409 if isinstance(exc, IntegrityError) else 400
        if isinstance(exc, RecursionError):
            message = _("请求嵌套过深，没有保存任何内容")
        elif code == 409:
            message = _("该操作与已有数据冲突（例如要删除的记录仍被评议活动使用），没有保存任何内容")
        else:
            message = _("请求中的数字或文字超出了允许的范围，没有保存任何内容")
        if request.path.startswith("/api/"):
            return jsonify(error=message, status=code), code
        return render_template("error.html", code=code, message=message), code

    for exc_class in (OverflowError, RecursionError, DecimalException, DataError, IntegrityError):
        app.register_error_handler(exc_class, refused_by_database)

    from sqlalchemy.exc import InterfaceError, OperationalError

    def database_unavailable(exc: Exception):
        """The database is down, restarting or out of connections: a 503 that says to come back,
        never a 500. Nothing was written (the transaction did not commit); a ballot link is
        redeemed only in the transaction that stores its ballot, so it still works afterwards."""
        from contextlib import suppress

        from pingyi.extensions import db
        from pingyi.i18n import _

        with suppress(Exception):
            db.session.rollback()
        app.logger.error("database unavailable: %s", type(exc).__name__)
        message = (_("系统繁忙，请稍后再试，您的测评码仍然有效") if request.blueprint == "ballot"
                   else _("系统繁忙，请稍后再试"))
        if request.path.startswith("/api/"):
            return jsonify(error=message, status=503), 503
        # a page that needs no database (no signed-in user, no tenant), for every audience
        return render_template("ballot/unavailable.html", message=message), 503

    for exc_class in (OperationalError, InterfaceError):
        app.register_error_handler(exc_class, database_unavailable)


def _install_template_helpers(app: Flask) -> None:
    from flask_babel import get_locale

    from pingyi.models import UNIT_KINDS
    from pingyi.results import suppression
    from pingyi.results.tally import percent

    app.add_template_filter(percent, "percent")  # 98.7%: every rate on every page

    @app.template_filter("localtime")
    def localtime(dt, tz: str = "Asia/Shanghai") -> str:
        from pingyi.campaigns.lifecycle import local

        return local(dt, tz).strftime("%Y-%m-%d %H:%M") if dt else ""

    @app.context_processor
    def helpers():
        return {"current_tenant": getattr(g, "tenant", None), "access": getattr(g, "access", None),
                "UNIT_KINDS": UNIT_KINDS, "locale": str(get_locale()),
                "min_cell": suppression.min_cell, "min_cell_label": suppression.label}
