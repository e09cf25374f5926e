"""pingyi (评议): multi-tenant public appraisal campaigns."""

from __future__ import annotations

import os

from flask import Flask

from pingyi import logsafe
from pingyi.config import load_config
from pingyi.connections import ping_when_idle  # also sets SQLite's pragmas on every connection


def create_app(config: dict | None = None) -> Flask:
    """App factory. Never touches the schema: migrations are a deploy step (``pingyi db upgrade``)."""
    logsafe.install()  # no log line may hold a ballot link or code (the worker and CLI come through here too)
    app = Flask(__name__, instance_path=os.environ.get("PINGYI_INSTANCE", None) or None,
                instance_relative_config=True, template_folder="web/templates", static_folder="web/static")
    app.config.update(load_config(app.instance_path, config))
    if app.config["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # The client's address and scheme from the proxies' X-Forwarded-For/-Proto (each proxy
        # appends one entry; only the last TRUSTED_PROXIES are believed): rate limits key on it and
        # gunicorn's access log prints it (ProxyFix rewrites the environ the log reads).
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)

    from pingyi import audit, models, tenancy  # noqa: F401  (registers models and session hooks)
    from pingyi.extensions import babel, csrf, db, limiter, login_manager, migrate
    from pingyi.i18n import select_locale
    from pingyi.results import live  # noqa: F401  (tallies every stored ballot while a campaign is open)
    from pingyi.security import configure

    configure(app.config["PASSWORD_HASH_PARAMS"])
    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            ping_when_idle(engine)
    migrate.init_app(app, db, render_as_batch=True, transaction_per_migration=True, directory=os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations"))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=os.path.join(os.path.dirname(__file__), "translations"))
    login_manager.init_app(app)
    limiter.init_app(app)

    from pingyi.web import init_app as init_web

    init_web(app)

    from pingyi.cli import register_cli

    register_cli(app)
    return app
