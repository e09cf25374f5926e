"""回头看 (follow-through): what became of the last campaign's rectification items, read next to
this campaign's results — each subject that had items, their states, and the change in points
since; and per campaign the items finished by their deadline (the oversight page's figure for
each subordinate)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from pingyi.extensions import db
from pingyi.models import Campaign, RectificationItem
from pingyi.results import comparison as cmp
from pingyi.results import dashboard as rs

from .ledger import STATE_LABELS, local_today
from .overdue import is_overdue

FINISHED_ON_TIME = ("done", "verified")


@dataclass(frozen=True)
class Followed:
    """One earlier item, as the follow-through shows it."""

    problem: str
    state: str
    label: str
    overdue: bool


@dataclass
class FollowUp:
    subject: rs.SubjectLine  # this campaign's subject with its figures and trend (as live_view allows)
    items: list[Followed]


def follow_up(c: Campaign, now: datetime, within: str | None = None) -> tuple[Campaign | None, list[FollowUp]]:
    """The previous comparable campaign and, for each subject of ``c`` whose counterpart there
    had ledger items, those items' states next to the subject's new figures and trend."""
    prev = cmp.previous_campaign(c)
    if prev is None:
        return None, []
    earlier: dict[int, list[Followed]] = defaultdict(list)
    for it in db.session.execute(select(RectificationItem).where(RectificationItem.campaign_id == prev.id,
                                                                 RectificationItem.subject_id.is_not(None))
                                 .order_by(RectificationItem.deadline, RectificationItem.id)).scalars():
        late = is_overdue(it.deadline, it.state, local_today(now, prev.timezone))
        earlier[it.subject_id].append(Followed(it.problem, it.state, STATE_LABELS[it.state], late))
    if not earlier:
        return prev, []
    same = cmp.matching_subjects(c, prev)
    return prev, [FollowUp(line, earlier[same[line.id]]) for line in rs.subject_lines(c, sort="label", within=within)
                  if same.get(line.id) in earlier]


def on_time(campaign_id: int, now: datetime) -> tuple[int, int]:
    """(items finished by their deadline, items that are finished or past their deadline) at
    ``now``: an item still open before its deadline counts neither way, nor one that cannot be
    fixed (a policy limit, with its reason)."""
    rows = db.session.execute(select(RectificationItem.state, RectificationItem.deadline, RectificationItem.done_at,
                                     Campaign.timezone)
                              .join(Campaign, Campaign.id == RectificationItem.campaign_id)
                              .where(RectificationItem.campaign_id == campaign_id)).all()
    on_time = due = 0
    for state, deadline, done_at, tz in rows:
        if state in FINISHED_ON_TIME and done_at is not None:
            due += 1
            on_time += local_today(done_at, tz) <= deadline
        elif is_overdue(deadline, state, local_today(now, tz)):
            due += 1
    return on_time, due
