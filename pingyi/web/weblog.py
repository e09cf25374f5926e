"""gunicorn's logger for pingyi (``logger_class`` in deploy/gunicorn.conf.py): before gunicorn
sets up its error and access logs it installs ``pingyi.logsafe``, so no ballot link or code
reaches them, from the master's first line to a worker's "Error handling request /b/…"."""

from __future__ import annotations

from gunicorn.glogging import Logger

from pingyi import logsafe


class RedactingLogger(Logger):
    def setup(self, cfg) -> None:
        logsafe.install()
        super().setup(cfg)
