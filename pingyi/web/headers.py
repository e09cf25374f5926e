"""Security headers of every response, in one place.

The pages run no inline script (their one script is static/pingyi.js), so the policy allows
scripts from this site only. Inline *styles* stay allowed: the dashboard's matplotlib charts are
inline SVG drawn with style attributes, and a style cannot run code.
"""

from __future__ import annotations

from flask import Flask, request

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
HSTS = "max-age=31536000; includeSubDomains"


def install(app: Flask) -> None:
    production = app.config["ENV_NAME"] == "production"

    @app.after_request
    def _headers(response):
        h = response.headers
        h.setdefault("Content-Security-Policy", CSP)
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("X-Frame-Options", "DENY")  # frame-ancestors for browsers that predate it
        h.setdefault("Referrer-Policy", "same-origin")
        if production:  # behind TLS; a development server on plain HTTP must stay reachable
            h.setdefault("Strict-Transport-Security", HSTS)
        if request.endpoint != "static":
            # Admin pages, results and reports hold figures and names a shared computer's cache
            # must not keep; static files keep Flask's own revalidation.
            h.setdefault("Cache-Control", "no-store")
        return response
