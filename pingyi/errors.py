"""Errors raised by domain functions; views turn them into flashes or JSON 422s."""

from __future__ import annotations


class DomainError(ValueError):
    """Bad input refused with a message for the user (Chinese first); nothing was changed."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
