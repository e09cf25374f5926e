"""Overdue items and the ledger's counts.

An item is overdue when its deadline (a date in its campaign's zone) has passed at ``now`` and
it is not done, verified or given up as cannot_fix. ``is_overdue`` says so for any moment; the
daily job (``mark_all``, queued by the worker once a day, and on demand as the job kind
``rectification_overdue``) stores it in ``overdue`` so that lists and roll-ups can filter on
it in SQL. Every function takes ``now``: the tests run on any date.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select

from pingyi import jobs
from pingyi.extensions import db
from pingyi.models import Campaign, Job, RectificationItem, Unit, utcnow
from pingyi.tenancy import tenant_context, unscoped

from .ledger import FINISHED, local_today

KIND = "rectification_overdue"


def is_overdue(deadline: date, state: str, today: date) -> bool:
    return state not in FINISHED and deadline < today


def mark_overdue(now: datetime, campaign_id: int | None = None) -> int:
    """Set or clear the ``overdue`` flag of the current tenant's unfinished items at ``now``
    (of one campaign, if given); returns how many are overdue. Does not commit."""
    stmt = (select(RectificationItem, Campaign.timezone)
            .join(Campaign, Campaign.id == RectificationItem.campaign_id))
    if campaign_id is not None:
        stmt = stmt.where(RectificationItem.campaign_id == campaign_id)
    overdue = 0
    for item, tz in db.session.execute(stmt).all():
        flag = is_overdue(item.deadline, item.state, local_today(now, tz))
        if item.overdue != flag:
            item.overdue = flag
        overdue += flag
    db.session.flush()
    return overdue


def mark_all(now: datetime) -> dict[int, int]:
    """``mark_overdue`` in every tenant that has unfinished items, one commit per tenant;
    returns tenant id → overdue items (what the daily job does)."""
    with unscoped():
        tenants = sorted(set(db.session.execute(select(RectificationItem.tenant_id).where(
            RectificationItem.state.not_in(FINISHED) | RectificationItem.overdue)).scalars()))
    result = {}
    for tid in tenants:
        with tenant_context(tid):
            result[tid] = mark_overdue(now)
            db.session.commit()
    return result


def run_daily() -> dict[int, int]:
    """The worker's daily entry (``worker.jobs.rectification_overdue``)."""
    return mark_all(utcnow())


@jobs.handles(KIND, queue="default", timeout=600)
def _overdue_job(job: Job) -> None:
    mark_overdue(utcnow(), job.params.get("campaign_id"))


def check_now(campaign_id: int | None = None, user_id: int | None = None) -> Job:
    """The on-demand check of the current tenant (a job row, queued like any other)."""
    return jobs.submit(KIND, {"campaign_id": campaign_id}, user_id=user_id)


# ---- counts ----------------------------------------------------------------------------------

@dataclass
class Counts:
    """Items per state, and how many of them are overdue at the moment asked."""

    by_state: dict[str, int] = field(default_factory=dict)
    overdue: int = 0

    @property
    def total(self) -> int:
        return sum(self.by_state.values())

    def add(self, state: str, overdue: bool) -> None:
        self.by_state[state] = self.by_state.get(state, 0) + 1
        self.overdue += overdue


def _rows(campaign_id: int, within: str | None):
    stmt = (select(RectificationItem.unit_id, Unit.path, RectificationItem.state, RectificationItem.deadline,
                   Campaign.timezone)
            .join(Unit, Unit.id == RectificationItem.unit_id)
            .join(Campaign, Campaign.id == RectificationItem.campaign_id)
            .where(RectificationItem.campaign_id == campaign_id))
    if within:
        stmt = stmt.where(Unit.path.startswith(within, autoescape=True))
    return db.session.execute(stmt).all()


def counts_by_unit(campaign_id: int, now: datetime, within: str | None = None) -> dict[int, Counts]:
    """Responsible unit id → its own items' counts (``within`` a subtree)."""
    out: dict[int, Counts] = defaultdict(Counts)
    for unit_id, _path, state, deadline, tz in _rows(campaign_id, within):
        out[unit_id].add(state, is_overdue(deadline, state, local_today(now, tz)))
    return dict(out)


def counts_by_subtree(campaign_id: int, now: datetime, within: str | None = None) -> dict[int, Counts]:
    """Unit id → the counts of the items of its whole subtree (a unit's and its descendants'),
    for every unit on the path of a responsible unit (the roll-ups and oversight read these)."""
    out: dict[int, Counts] = defaultdict(Counts)
    for _unit_id, path, state, deadline, tz in _rows(campaign_id, within):
        late = is_overdue(deadline, state, local_today(now, tz))
        for ancestor in (int(p) for p in path.strip("/").split("/") if p):
            out[ancestor].add(state, late)
    return dict(out)


def totals(campaign_id: int, now: datetime, within: str | None = None) -> Counts:
    """One campaign's items in all (``within`` a subtree)."""
    total = Counts()
    for _unit_id, _path, state, deadline, tz in _rows(campaign_id, within):
        total.add(state, is_overdue(deadline, state, local_today(now, tz)))
    return total
