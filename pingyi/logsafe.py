"""Logs never hold a ballot credential: a link's secret (``/b/<secret>``, also the short code the
``/c`` page redirects to), a typed ``code=`` (short or receipt code) or a printed code
``ABCD-EFGH-JKMN``. Anyone who can read a log could otherwise vote with a link not yet used.

``install()`` makes every log record redacted as it is created, whatever logger made it and
whatever handler later writes it (the development server's request lines, Flask's
"Exception on /b/… [GET]" and its traceback, gunicorn's error and access logs, RQ's job lines,
the worker's job failures): a filter on chosen handlers would miss the handlers added later
(gunicorn's, RQ's, a test's). The app factory and gunicorn's logger class call it.

``configure("json")`` (PINGYI_LOG_FORMAT=json) makes every line one JSON object instead, for
log collectors: time, level, logger, message and, inside a request, its ``request_id``.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import traceback
from datetime import UTC, datetime

TOKEN = "<token>"  # nosec B105 # the placeholder that replaces a ballot token in logs, not a password
CODE = "<code>"

_CROCKFORD = "0-9A-HJKMNP-TV-Z"
_RULES: list[tuple[re.Pattern[str], str]] = [
    # a path segment after /b/ or /c/, also percent-encoded (``?next=%2Fb%2F…``)
    (re.compile(r"(?i)(/|%2F)([bc])(/|%2F)(?:(?!%2F)[^/?#&\s\"'<>\\])+"), rf"\1\2\3{TOKEN}"),
    # a credential in a query string or form body: ``?code=ABCD-EFGH-JKMN``, ``link=…``
    (re.compile(r"(?i)\b(code|receipt|link|secret|token)=[^&\s\"'#;]*"), rf"\1={CODE}"),
    # a short or receipt code as printed and typed
    (re.compile(rf"(?<![0-9A-Za-z-])[{_CROCKFORD}]{{4}}-[{_CROCKFORD}]{{4}}-[{_CROCKFORD}]{{4}}(?![0-9A-Za-z-])"),
     CODE),
]


def redact(text: object) -> str:
    """``text`` with every link secret and code replaced by a marker."""
    text = "" if text is None else str(text)
    for pattern, marker in _RULES:
        text = pattern.sub(marker, text)
    return text


def scrub(record: logging.LogRecord) -> logging.LogRecord:
    """Redact a record in place: its message (formatted with its arguments), its traceback text
    and stack. A record with nothing to redact is left as it was (arguments and all)."""
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: logging reports it with msg and args, so redact both
        message = f"{record.msg} {record.args!r}"
    clean = redact(message)
    if clean != message:
        record.msg, record.args = clean, ()
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        clean = redact(text)
        if clean != text:
            record.exc_text = clean  # formatters print exc_text instead of formatting exc_info again
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


def install() -> None:
    """Redact every log record of this process from now on (idempotent; forked workers inherit it)."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "redacts", False):
        return

    def make(*args, **kwargs) -> logging.LogRecord:
        return scrub(factory(*args, **kwargs))

    make.redacts = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(make)


def installed() -> bool:
    return bool(getattr(logging.getLogRecordFactory(), "redacts", False))


# ---- JSON lines (PINGYI_LOG_FORMAT=json) --------------------------------------------------------

def request_id() -> str | None:
    """The current request's id (``pingyi.web.weblog`` sets it), or None outside a request."""
    from flask import g, has_request_context

    return g.get("request_id") if has_request_context() else None


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ``time`` (UTC, ms), ``level``, ``logger``, ``message``, and
    when known ``request_id``, ``exc`` (the traceback) and ``http`` (gunicorn's access lines).
    Every text is redacted again here: a record made before ``install`` or by a handler that
    formats its own text still holds no link."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname, "logger": record.name, "message": redact(record.getMessage())}
        rid = getattr(record, "request_id", None) or request_id()
        if rid:
            out["request_id"] = redact(rid)
        http = getattr(record, "http", None)
        if isinstance(http, dict):
            out["http"] = {k: redact(v) if isinstance(v, str) else v for k, v in http.items()}
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            out["exc"] = redact(record.exc_text)
        if record.stack_info:
            out["stack"] = redact(record.stack_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def configure(fmt: str, stream=None) -> logging.Handler | None:
    """``fmt="json"``: this process's log lines as JSON objects on stderr (or ``stream``) through
    one handler on the root logger (at INFO), which every logger reaches: the app's, RQ's (it adds
    no handler of its own when the root has one), werkzeug's. Flask's own text handler is taken
    off the app's logger, or each app line would be written twice. Idempotent; returns the handler.
    "text" leaves logging as it is."""
    if fmt != "json":
        return None
    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, "pingyi_json", False)), None)
    if handler is None:
        handler = logging.StreamHandler(stream or sys.stderr)
        handler.setFormatter(JsonFormatter())
        handler.pingyi_json = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)
    from flask.logging import default_handler

    logging.getLogger("pingyi").removeHandler(default_handler)
    return handler
