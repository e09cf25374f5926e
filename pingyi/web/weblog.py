"""Access logging that never records a ballot link's secret (``/b/<token>`` paths)."""

from __future__ import annotations

import re

from gunicorn.glogging import Logger

_TOKEN_PATH = re.compile(r"/b/[^/?\s\"]+")


def redact(text: str) -> str:
    return _TOKEN_PATH.sub("/b/<token>", text or "")


class RedactingLogger(Logger):
    """gunicorn logger whose request line, path and referrer atoms have tokens blanked."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U", "f"):
            if key in atoms:
                atoms[key] = redact(atoms[key])
        return atoms
