"""Comparison with the tenant's previous campaign on the same form: which campaign that is,
which of its subjects is "the same" (same form, kind, unit and person), and the trend arrow
between two rates. Rates compare as they print (one decimal), so 98.7% → 98.7% is level."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from sqlalchemy import select

from pingyi.extensions import db
from pingyi.models import Campaign, Subject, TallyRun

from .tally import percent


@dataclass(frozen=True)
class Trend:
    arrow: str  # ↑ ↓ →
    direction: str  # up | down | level
    previous: str  # the earlier rate as printed, e.g. 96.1%
    delta: str  # +1.2 (percentage points), "" when level


def previous_campaign(c: Campaign) -> Campaign | None:
    """The latest tallied campaign of the tenant that opened before ``c`` and shares a form with it."""
    forms = select(Subject.form_id).where(Subject.campaign_id == c.id).distinct()
    shared = select(Subject.campaign_id).where(Subject.form_id.in_(forms), Subject.campaign_id != c.id).distinct()
    return db.session.execute(
        select(Campaign).join(TallyRun, TallyRun.campaign_id == Campaign.id)
        .where(Campaign.id.in_(shared), Campaign.opens_at < c.opens_at)
        .order_by(Campaign.opens_at.desc(), Campaign.id.desc()).limit(1)).scalar_one_or_none()


def matching_subjects(c: Campaign, prev: Campaign) -> dict[int, int]:
    """Current subject id → the previous campaign's subject with the same form, kind, unit and person."""
    def keyed(campaign_id: int) -> dict[tuple, int]:
        return {(f, k, u, p): s for s, f, k, u, p in db.session.execute(
            select(Subject.id, Subject.form_id, Subject.kind, Subject.unit_id, Subject.person_id)
            .where(Subject.campaign_id == campaign_id)).all()}

    before = keyed(prev.id)
    return {s: before[key] for key, s in keyed(c.id).items() if key in before}


def trend(current: Fraction | None, previous: Fraction | None) -> Trend | None:
    """The arrow from ``previous`` to ``current``; None when either is undefined."""
    if current is None or previous is None:
        return None
    now, then = percent(current), percent(previous)
    if now == then:
        return Trend("→", "level", then, "")
    points = float(now.rstrip("%")) - float(then.rstrip("%"))
    return Trend("↑" if points > 0 else "↓", "up" if points > 0 else "down", then, f"{points:+.1f}")
