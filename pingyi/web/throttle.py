"""Rate limits of the web (Flask-Limiter): limits read from the settings, counted only on
failure where a success must never be slowed, and the failed-login limits.

Failed logins are limited per client address and per account. An attacker could use the
account limit to lock its owner out, so it is short (minutes) and does not apply on a browser
that has logged in to that account before: a successful login leaves a signed cookie naming the
account (by a hash), the way OWASP's "device cookies" work.
"""

from __future__ import annotations

import hashlib
import math
import time

from flask import current_app, g, render_template, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from pingyi.i18n import _

KNOWN_COOKIE = "pingyi_known"
KNOWN_MAX_AGE = 180 * 24 * 3600
KNOWN_MAX_ACCOUNTS = 5


def setting(name: str):
    """A limit read from the app's settings on each request (Flask-Limiter accepts a callable)."""
    return lambda: current_app.config[name]


def failed_lookup(response) -> bool:
    """A link or code that opened nothing: only these count towards the look-up limit."""
    return response.status_code in (400, 404)


def login_failed(_response) -> bool:
    return bool(g.get("login_failed"))


def _account(email: str | None) -> str:
    return hashlib.sha256((email or "").strip().lower().encode()).hexdigest()[:32]


def account_key() -> str:
    """The limiter key of the account named in the login form (hashed: no address in Redis)."""
    return "account:" + _account(request.form.get("email"))


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="pingyi.known-browser")


def _known_accounts() -> list[str]:
    raw = request.cookies.get(KNOWN_COOKIE)
    if not raw:
        return []
    try:
        value = _serializer().loads(raw, max_age=KNOWN_MAX_AGE)
    except BadSignature:
        return []
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def known_browser() -> bool:
    """Has this browser logged in to the account it names now? (exempts it from the account limit)"""
    return request.method == "POST" and _account(request.form.get("email")) in _known_accounts()


def remember_browser(response, email: str):
    """After a successful login: add the account to this browser's signed list."""
    accounts = [a for a in _known_accounts() if a != _account(email)]
    accounts = [_account(email), *accounts][:KNOWN_MAX_ACCOUNTS]
    response.set_cookie(KNOWN_COOKIE, _serializer().dumps(accounts), max_age=KNOWN_MAX_AGE, httponly=True,
                        secure=current_app.config["SESSION_COOKIE_SECURE"], samesite="Lax")
    return response


def seconds_until_reset(limit) -> int:
    """Whole seconds until a limit's window resets (as Flask-Limiter counts them), at least 1."""
    return max(1, int(limit.reset_at - time.time()))


def retry_after() -> dict[str, str]:
    """Retry-After for a 429: the rate-limit headers are off (they cost a round trip to the
    limits' storage on every response, ballots included), so the refusal says it itself."""
    from pingyi.extensions import limiter

    try:
        limit = limiter.current_limit
        return {"Retry-After": str(seconds_until_reset(limit))} if limit else {}
    except Exception:  # the limits' storage is down: the refusal goes without the header
        return {}


def login_refused(limit):
    """The 429 for too many failed logins: the login page again, saying how long to wait."""
    from pingyi.web.forms import LoginForm

    wait = seconds_until_reset(limit)
    message = _("登录失败次数过多，请 %(minutes)d 分钟后再试", minutes=max(1, math.ceil(wait / 60)))
    page = render_template("auth/login.html", form=LoginForm(), refused=message)
    return current_app.response_class(page, status=429, headers={"Retry-After": str(wait)})
