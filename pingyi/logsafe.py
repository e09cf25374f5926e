"""Logs never hold a ballot credential: a link's secret (``/b/<secret>``, also the short code the
``/c`` page redirects to), a typed ``code=`` (short or receipt code) or a printed code
``ABCD-EFGH-JKMN``. Anyone who can read a log could otherwise vote with a link not yet used.

``install()`` makes every log record redacted as it is created, whatever logger made it and
whatever handler later writes it (the development server's request lines, Flask's
"Exception on /b/… [GET]" and its traceback, gunicorn's error and access logs, RQ's job lines,
the worker's job failures): a filter on chosen handlers would miss the handlers added later
(gunicorn's, RQ's, a test's). The app factory and gunicorn's logger class call it.
"""

from __future__ import annotations

import logging
import re
import traceback

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
