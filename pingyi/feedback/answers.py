"""The admins' side of the feedback box: the listing (a unit admin sees their subtree's units
only), answering, publishing an answer, and turning an entry into a ledger item.

Functions take the ``Actor`` of the rectification ledger (role and subtree) so the pages, the
API and the command line could share them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, select

from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.i18n import _
from pingyi.models import Campaign, FeedbackEntry, RectificationItem, Unit, utcnow
from pingyi.org.orgtree import subtree_filter
from pingyi.rectification import ledger
from pingyi.rectification.ledger import Actor, Draft, NotAllowed
from pingyi.tenancy import get_scoped, scoped

MAX_ANSWER = 5000
FILTERS = ("all", "answered", "unanswered")


def entries(within: str | None = None, show: str = "all") -> Select:
    """Entries newest day first (the date is all that is kept of their time; within a day the
    order is the random ids', not the order they came in), ``within`` a unit admin's subtree,
    all / answered / unanswered."""
    stmt = (scoped(FeedbackEntry).join(Unit, Unit.id == FeedbackEntry.unit_id)
            .order_by(FeedbackEntry.submitted_on.desc(), FeedbackEntry.id))
    if within:
        stmt = stmt.where(subtree_filter(within))
    if show == "answered":
        stmt = stmt.where(FeedbackEntry.answer != "")
    elif show == "unanswered":
        stmt = stmt.where(FeedbackEntry.answer == "")
    return stmt


def entry_for(actor: Actor, entry_id) -> FeedbackEntry | None:
    """The entry if it is the tenant's and inside the actor's reach, else None (pages answer 404)."""
    entry = get_scoped(FeedbackEntry, entry_id)
    if entry is None or not actor.reaches(db.session.get(Unit, entry.unit_id)):
        return None
    return entry


def _require_writer(actor: Actor) -> None:
    if actor.role not in ("admin", "unit_admin"):
        raise NotAllowed(_("您没有答复信息收集箱意见的权限"), "role")


def answer(entry: FeedbackEntry, text: str | None, actor: Actor, now: datetime | None = None) -> FeedbackEntry:
    """Write (or rewrite) the answer; an empty answer withdraws it, and its publication too."""
    _require_writer(actor)
    text = (text or "").strip()
    if len(text) > MAX_ANSWER:
        raise DomainError(_("答复不能超过 %(n)d 字", n=MAX_ANSWER), "answer")
    entry.answer = text
    entry.answered_at = (now or utcnow()) if text else None
    if not text:
        entry.published = False
    db.session.flush()
    return entry


def publish(entry: FeedbackEntry, published: bool, actor: Actor) -> FeedbackEntry:
    """Show (or stop showing) the answer with the opinion publicly; only an answer is published."""
    _require_writer(actor)
    if published and not entry.answer:
        raise DomainError(_("请先填写答复，再公开"), "published")
    entry.published = published
    db.session.flush()
    return entry


def ledger_items(entry: FeedbackEntry) -> list[RectificationItem]:
    """The ledger items made from this entry."""
    return list(db.session.execute(select(RectificationItem).where(
        RectificationItem.source == "feedback", RectificationItem.source_ref == str(entry.id))
        .order_by(RectificationItem.id)).scalars())


def ledger_campaigns() -> list[tuple[int, str]]:
    """Campaigns an entry without one may be filed under (the ledger needs one past its draft)."""
    rows = db.session.execute(scoped(Campaign).where(Campaign.state != "draft").order_by(Campaign.id.desc())).scalars()
    return [(c.id, c.name) for c in rows]


def to_ledger(entry: FeedbackEntry, draft: Draft, actor: Actor, campaign_id=None,
              now: datetime | None = None) -> RectificationItem:
    """A ledger item (source ``feedback``) from the entry: under its campaign, or, for an entry
    without one, under the campaign the admin chooses."""
    campaign_id = entry.campaign_id or campaign_id
    c = get_scoped(Campaign, campaign_id) if campaign_id not in (None, "") else None
    if c is None or c.state == "draft":
        raise DomainError(_("请选择一个评议活动（整改事项属于一个评议活动）"), "campaign_id")
    return ledger.create_item(c, draft, actor, "feedback", str(entry.id), entry.text[:300], now=now)
