"""Dates for tests, always relative to the clock: no test names a calendar date.

``make test`` runs the tests marked ``dates`` again with the clock moved a year and two years
ahead (``pytest -m dates --clock-shift=DAYS``, see conftest.py), so a fixed date that would
start failing one day fails today instead.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from pingyi.campaigns.lifecycle import DEFAULT_TZ as TZ  # the campaigns' default zone
from pingyi.models import utcnow as now


def day(offset: int = 0, hour: int = 9, minute: int = 0, tz: str = TZ) -> datetime:
    """``hour:minute`` wall-clock time, in zone ``tz``, on the day ``offset`` days from today there."""
    zone = ZoneInfo(tz)
    d = datetime.now(zone).date() + timedelta(days=offset)
    return datetime(d.year, d.month, d.day, hour, minute, tzinfo=zone)


def wall(offset: int = 0, hour: int = 9, minute: int = 0, tz: str = TZ, sep: str = " ") -> str:
    """The same as typed into a form or the CLI: ``YYYY-MM-DD HH:MM`` (``sep="T"``: a datetime-local field)."""
    return day(offset, hour, minute, tz).strftime(f"%Y-%m-%d{sep}%H:%M")


def far_future() -> datetime:
    """Long after any window a test opens (a century from now)."""
    return now() + timedelta(days=36525)
