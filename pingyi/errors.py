"""Errors raised by domain functions; views turn them into flashes or JSON 422s."""

from __future__ import annotations


class DomainError(ValueError):
    """Bad input refused with a message for the user (Chinese first); nothing was changed."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


def int_in_range(value, low: int, high: int, message: str, field: str | None = None) -> int:
    """A whole number in [low, high] from whatever a form or JSON body sent, or a DomainError."""
    if isinstance(value, bool):
        raise DomainError(message, field)
    if isinstance(value, str):
        value = value.strip()
        if not value.lstrip("-").isdigit():
            raise DomainError(message, field)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise DomainError(message, field) from None
    if not low <= number <= high:
        raise DomainError(message, field)
    return number
