"""Locale choice and a gettext that also works outside a request (CLI, worker)."""

from __future__ import annotations

from flask import current_app, has_request_context, request, session
from flask_babel import gettext as _flask_gettext
from flask_babel import lazy_gettext  # noqa: F401  (re-exported for forms)


def select_locale() -> str:
    """Chinese first: ``?lang=`` (remembered in the session), then the user's setting."""
    langs = current_app.config["LANGUAGES"]
    if has_request_context():
        asked = request.args.get("lang")
        if asked in langs:
            session["lang"] = asked
        if session.get("lang") in langs:
            return session["lang"]
        from flask_login import current_user

        try:
            locale = getattr(current_user, "locale", None)
        except Exception:  # the user is read from the database, which may be down (the 503 page)
            locale = None
        if locale in langs:
            return locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def _(message: str, **kwargs) -> str:
    """Translate when an app is around; otherwise return the (Chinese) message formatted."""
    try:
        return _flask_gettext(message, **kwargs)
    except RuntimeError:
        return message % kwargs if kwargs else message
