"""A campaign's timetable: its phases (宣传发动 → 组织评议 → 整改落实 → 回头看) with their dates,
as the seeds' plans set them out. The voting window itself stays ``opens_at``/``closes_at``;
the phases say what the organisation does around it, and the reports print them as recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import delete, select

from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.i18n import _
from pingyi.models import PHASES, Campaign, CampaignPhase

from .lifecycle import parse_day, refuse_fixed


@dataclass(frozen=True)
class Phase:
    kind: str
    label: str
    starts_on: date
    ends_on: date


def phases(c: Campaign) -> list[Phase]:
    """The recorded phases in the seeds' order."""
    rows = {p.kind: p for p in db.session.execute(
        select(CampaignPhase).where(CampaignPhase.campaign_id == c.id)).scalars()}
    return [Phase(k, PHASES[k], rows[k].starts_on, rows[k].ends_on) for k in PHASES if k in rows]


def set_phases(c: Campaign, dates: dict[str, tuple[str | date, str | date]]) -> list[Phase]:
    """Replace the timetable: ``kind → (starts, ends)``; a kind left out (or both dates blank) has
    no phase. Each phase ends on or after it starts, and starts no earlier than the one before.
    A season that fixes the dates fixes these too (saving them unchanged is no change)."""
    parsed: dict[str, tuple[date, date]] = {}
    for kind, (starts, ends) in dates.items():
        if kind not in PHASES:
            raise DomainError(_("未知的阶段“%(k)s”", k=kind), "phase")
        if not str(starts or "").strip() and not str(ends or "").strip():
            continue
        s = parse_day(starts, c.timezone, f"{kind}_starts")
        e = parse_day(ends, c.timezone, f"{kind}_ends")
        if e < s:
            raise DomainError(_("“%(p)s”的结束日期不能早于开始日期", p=PHASES[kind]), f"{kind}_ends")
        parsed[kind] = (s, e)
    previous = None
    for kind in PHASES:
        if kind in parsed:
            if previous and parsed[kind][0] < parsed[previous][0]:
                raise DomainError(_("“%(p)s”不能早于“%(q)s”开始", p=PHASES[kind], q=PHASES[previous]), f"{kind}_starts")
            previous = kind
    if parsed != {p.kind: (p.starts_on, p.ends_on) for p in phases(c)}:
        refuse_fixed(c, "dates")
    db.session.execute(delete(CampaignPhase).where(CampaignPhase.campaign_id == c.id))
    db.session.add_all(CampaignPhase(campaign_id=c.id, kind=k, starts_on=s, ends_on=e) for k, (s, e) in parsed.items())
    db.session.flush()
    return phases(c)


def current(c: Campaign, today: date) -> Phase | None:
    """The phase ``today`` falls in (the later one where two overlap)."""
    inside = [p for p in phases(c) if p.starts_on <= today <= p.ends_on]
    return inside[-1] if inside else None
