"""gunicorn's logger for pingyi (``logger_class`` in deploy/gunicorn.conf.py): before gunicorn
sets up its error and access logs it installs ``pingyi.logsafe``, so no ballot link or code
reaches them, from the master's first line to a worker's "Error handling request /b/…".

A feedback-box entry (``POST /f/<slug>``) is stored with its date only; an access line with the
writer's address and second would tie a day's only entry to them, so those lines are not
written (a refused post, 4xx, is no entry and is logged as usual)."""

from __future__ import annotations

from gunicorn.glogging import Logger

from pingyi import logsafe

ANONYMOUS_POSTS = ("/f/",)


def anonymous_post(environ: dict, status: int) -> bool:
    """A request whose access line would name who left an anonymous entry."""
    return (environ.get("REQUEST_METHOD") == "POST" and status < 400
            and str(environ.get("PATH_INFO", "")).startswith(ANONYMOUS_POSTS))


class RedactingLogger(Logger):
    def setup(self, cfg) -> None:
        logsafe.install()
        super().setup(cfg)

    def access(self, resp, req, environ, request_time) -> None:
        if anonymous_post(environ, getattr(resp, "status_code", 0) or 0):
            return
        super().access(resp, req, environ, request_time)
