"""Where a state-changing request comes from: the ``Origin`` header, and the CSRF token a
browser session must show the API."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, request
from flask_wtf.csrf import ValidationError, validate_csrf


def origin_matches() -> bool | None:
    """``True``/``False`` when the request names its origin, ``None`` when it does not (old
    browsers, privacy settings: ``Origin: null``). Host and port only: behind a TLS proxy that
    is not trusted to say the scheme, the app sees ``http`` while the page was ``https``."""
    origin = request.headers.get("Origin")
    if not origin or origin == "null":
        return None
    return urlsplit(origin).netloc == request.host


def session_write_allowed() -> bool:
    """A browser session may write through the API only with the page's CSRF token
    (``X-CSRFToken``) or from a page of this site (same-origin ``Origin``); another site's page
    never, whatever it sends. Bearer keys do not come here: a key is not sent by a browser on
    its own."""
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return True
    matches = origin_matches()
    if matches is False:
        return False
    token = request.headers.get("X-CSRFToken") or request.headers.get("X-CSRF-Token")
    if token:
        try:
            validate_csrf(token)
            return True
        except ValidationError:
            return False
    return matches is True
