"""The public side of the feedback box: what a visitor may choose, the submission, and the
answers shown publicly.

Anonymity is the product. An entry stores its text, unit, campaign and the *date* it was left
in Asia/Shanghai — never a time of day, address, user agent, cookie or session — and it is
written by a Core insert, which the audit trail's flush hook does not see (an audit event would
stamp it with the second and the request's context). Its id is random, not the next in a
sequence: the order of a day's entries would otherwise line up with the order of the day's
requests in a web server's access log (address and second), entry by entry. Rate limiting happens in the web layer,
keyed on the address in the limiter's storage only, for the window's length.

Where a published answer appears: with the opinion, on the 公示 page of the entry's campaign
(which shows only when and to whom that page shows); an entry without a campaign is answered
on the feedback page itself, under 已答复.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import insert, select

from pingyi.campaigns.lifecycle import DEFAULT_TZ, local
from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.i18n import _
from pingyi.models import ID_RANGE, Campaign, FeedbackEntry, Unit, utcnow
from pingyi.tenancy import get_scoped, require_tenant_id, scoped

MAX_TEXT = 2000
OFFERED_STATES = ("open", "closed", "published")  # campaigns a visitor may name


@dataclass(frozen=True)
class Published:
    """An answered entry as the public reads it: no id, nothing but the date."""

    unit: str
    text: str
    answer: str
    submitted_on: date


def today(now: datetime | None = None) -> date:
    """The date an entry records: today in China, nothing finer."""
    return local(now or utcnow(), DEFAULT_TZ).date()


def unit_choices() -> list[tuple[int, str]]:
    """The tenant's units in tree order, indented by depth (the public page's select)."""
    units = db.session.execute(scoped(Unit).order_by(Unit.path)).scalars().all()
    base = min((u.depth for u in units), default=0)
    return [(u.id, "　" * (u.depth - base) + u.name) for u in units]


def campaign_choices() -> list[tuple[int, str]]:
    """Campaigns a visitor may tie an opinion to: past their draft, not archived, newest first."""
    rows = db.session.execute(scoped(Campaign).where(Campaign.state.in_(OFFERED_STATES))
                              .order_by(Campaign.id.desc())).scalars()
    return [(c.id, c.name) for c in rows]


def check_text(text: str | None) -> str:
    """1–2 000 characters after trimming, or a DomainError that says which."""
    text = (text or "").strip()
    if not text:
        raise DomainError(_("请填写您的意见或建议"), "text")
    if len(text) > MAX_TEXT:
        raise DomainError(_("意见不能超过 %(n)d 字（现有 %(m)d 字）", n=MAX_TEXT, m=len(text)), "text")
    return text


def _choice(model, value, offered: list[tuple[int, str]], message: str, field: str):
    row = get_scoped(model, value)
    if row is None or row.id not in {i for i, _label in offered}:
        raise DomainError(message, field)
    return row


def _free_id() -> int:
    """A random unused id (2³¹ of them: a clash is rare, and then another is drawn)."""
    while True:
        candidate = ID_RANGE[0] + secrets.randbelow(ID_RANGE[1] - ID_RANGE[0] + 1)
        if db.session.execute(select(FeedbackEntry.__table__.c.id).where(
                FeedbackEntry.__table__.c.id == candidate)).first() is None:
            return candidate


def submit(unit_id, text: str | None, campaign_id=None, now: datetime | None = None) -> None:
    """Store one anonymous entry of the current tenant after every check (nothing is stored
    when one fails). Returns nothing: not even the id goes back to the visitor."""
    text = check_text(text)
    unit = _choice(Unit, unit_id, unit_choices(), _("请选择本单位组织机构中的一个单位"), "unit_id")
    campaign = None
    if campaign_id not in (None, ""):
        campaign = _choice(Campaign, campaign_id, campaign_choices(), _("请选择一个正在进行或已结束的评议活动"),
                           "campaign_id")
    db.session.execute(insert(FeedbackEntry.__table__).values(
        id=_free_id(), tenant_id=require_tenant_id(), unit_id=unit.id, campaign_id=campaign.id if campaign else None, text=text,
        submitted_on=today(now), answer="", answered_at=None, published=False))


def _published(where) -> list[Published]:
    rows = db.session.execute(
        select(FeedbackEntry, Unit.name).join(Unit, Unit.id == FeedbackEntry.unit_id)
        .where(FeedbackEntry.tenant_id == require_tenant_id(), FeedbackEntry.published.is_(True),
               FeedbackEntry.answer != "", where)
        .order_by(FeedbackEntry.submitted_on.desc(), FeedbackEntry.id)).all()
    return [Published(name, e.text, e.answer, e.submitted_on) for e, name in rows]


def published_for_campaign(campaign_id: int) -> list[Published]:
    """The published answers of entries tied to a campaign (its 公示 page)."""
    return _published(FeedbackEntry.campaign_id == campaign_id)


def published_without_campaign() -> list[Published]:
    """The published answers of entries tied to no campaign (the feedback page's 已答复)."""
    return _published(FeedbackEntry.campaign_id.is_(None))
