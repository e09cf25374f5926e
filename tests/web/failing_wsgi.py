"""The app as gunicorn serves it, for tests/web/test_weblog.py, except that its ballot page fails
with the page's URL in the error, and a request carrying ``X-Escape`` fails outside Flask (then
gunicorn itself logs "Error handling request /b/…"). Started as ``tests.web.failing_wsgi:make()``."""

from __future__ import annotations

from flask import Flask, request

from pingyi import create_app
from pingyi.voting import sheet


def _fail(*_args) -> None:
    raise RuntimeError(f"no subjects for {request.url}")


def make() -> Flask:
    sheet.for_link = _fail
    app = create_app()
    flask_app = app.wsgi_app

    def wsgi_app(environ, start_response):
        if environ.get("HTTP_X_ESCAPE"):
            raise RuntimeError(f"escaped from {environ['RAW_URI']}")
        return flask_app(environ, start_response)

    app.wsgi_app = wsgi_app
    return app
