"""The audience blueprints (admin, oversight, platform, auth, public, api, ballot), request-side
access (``access``), forms, error pages and template helpers: everything that knows about HTTP.
Views stay thin: they parse the request, call a domain function and render."""

from __future__ import annotations

from flask import Flask, g, jsonify, render_template, request


def init_app(app: Flask) -> None:
    from pingyi.extensions import csrf

    from . import headers
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
    headers.install(app)


def _install_error_pages(app: Flask) -> None:
    def handler(code: int):
        def handle(exc):
            if getattr(exc, "response", None) is not None:
                return exc.response  # a page of its own (the login page's 429 says how long to wait)
            if request.path.startswith("/api/"):
                return jsonify(error=getattr(exc, "description", str(code)), status=code), code
            return render_template("error.html", code=code), code
        return handle

    for code in (400, 403, 404, 405, 413, 429, 500):
        app.register_error_handler(code, handler(code))


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
