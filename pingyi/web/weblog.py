"""gunicorn's logger for pingyi (``logger_class`` in deploy/gunicorn.conf.py): before gunicorn
sets up its error and access logs it installs ``pingyi.logsafe``, so no ballot link or code
reaches them, from the master's first line to a worker's "Error handling request /b/…".

A feedback-box entry (``POST /f/<slug>``) is stored with its date only; an access line with the
writer's address and second would tie a day's only entry to them, so those lines are not
written (a refused post, 4xx, is no entry and is logged as usual).

Every request has an id (``install``): nginx's ``X-Request-ID`` when the app trusts the proxy
(PINGYI_TRUSTED_PROXIES) and it looks like one, else a new random one; it is sent back in
``X-Request-ID``, carried by the JSON log lines and by the access line of the request. With
PINGYI_LOG_FORMAT=json gunicorn's error and access lines are JSON objects as well."""

from __future__ import annotations

import os
import re
import secrets

from flask import Flask, g, request
from gunicorn.glogging import Logger

from pingyi import logsafe

HEADER = "X-Request-ID"
# nginx's $request_id (32 hex digits), UUIDs and the like; anything else is replaced
SAFE_ID = re.compile(r"[A-Za-z0-9._-]{8,128}")


def _given_id() -> str | None:
    given = request.headers.get(HEADER, "")
    return given if SAFE_ID.fullmatch(given) and logsafe.redact(given) == given else None


def install(app: Flask) -> None:
    """Request ids, and the log format of PINGYI_LOG_FORMAT for this process."""
    logsafe.configure(app.config.get("LOG_FORMAT", "text"))
    trust = bool(app.config.get("TRUSTED_PROXIES"))  # an id from the client itself is not taken

    @app.before_request
    def _request_id() -> None:
        g.request_id = (trust and _given_id()) or secrets.token_hex(16)

    @app.after_request
    def _send_id(response):
        rid = g.get("request_id")
        if rid:
            response.headers[HEADER] = rid
        return response

ANONYMOUS_POSTS = ("/f/",)


def anonymous_post(environ: dict, status: int) -> bool:
    """A request whose access line would name who left an anonymous entry."""
    return (environ.get("REQUEST_METHOD") == "POST" and status < 400
            and str(environ.get("PATH_INFO", "")).startswith(ANONYMOUS_POSTS))


class RedactingLogger(Logger):
    def setup(self, cfg) -> None:
        logsafe.install()
        super().setup(cfg)
        # the app's settings are not loaded in gunicorn's master: read the variable itself
        self.json = os.environ.get("PINGYI_LOG_FORMAT") == "json"
        if self.json:
            for log in (self.error_log, self.access_log):
                for handler in log.handlers:
                    handler.setFormatter(logsafe.JsonFormatter())

    def access(self, resp, req, environ, request_time) -> None:
        if anonymous_post(environ, getattr(resp, "status_code", 0) or 0):
            return
        if not getattr(self, "json", False):
            return super().access(resp, req, environ, request_time)
        if not self.access_log_enabled:
            return
        atoms = self.atoms(resp, req, environ, request_time)
        headers = getattr(resp, "headers", None) or []
        rid = next((v for k, v in headers if str(k).lower() == HEADER.lower()), None)
        http = {"remote": atoms.get("h"), "method": atoms.get("m"), "path": atoms.get("U"),
                "query": atoms.get("q"), "status": getattr(resp, "status_code", None), "bytes": atoms.get("B"),
                "duration_ms": round(request_time.total_seconds() * 1000, 1),
                "user_agent": atoms.get("a"), "referer": atoms.get("f")}
        self.access_log.info(self.cfg.access_log_format, self.atoms_wrapper_class(atoms),
                             extra={"request_id": rid, "http": http})
