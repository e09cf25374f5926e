"""The tenants below an oversight committee and their campaigns, as the committee may see them.

Each subordinate is read in its own scope (``tenant_context``) and only in aggregates: unit and
people counts, links issued/used per campaign and, once a campaign is published, its stored
tally's totals and its rectification ledger's counts (items, overdue, finished on time).
Ballots and comments of a subordinate are never read here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from sqlalchemy import select

from pingyi.extensions import db
from pingyi.models import PUBLISHED_STATES, Campaign, TallyRun, Tenant, utcnow
from pingyi.org import orgtree
from pingyi.rectification import followthrough, overdue
from pingyi.results.rollup import Figures
from pingyi.results.tally import stored_run
from pingyi.tenancy import get_scoped, tenant_context
from pingyi.voting.tokens import Links, link_counts


def subordinates(tenant: Tenant) -> list[Tenant]:
    """Active tenants below ``tenant``, depth first (a county sees bureaus and their schools):
    the only tenants an oversight committee may read aggregates of."""
    out, stack = [], list(reversed(tenant.children))
    while stack:
        t = stack.pop()
        if t.is_active:
            out.append(t)
            stack.extend(reversed(t.children))
    return out


def subordinate(tenant: Tenant, slug: str) -> Tenant | None:
    """The subordinate of ``tenant`` with this slug; ``None`` for any other tenant."""
    return next((t for t in subordinates(tenant) if t.slug == slug), None)


@dataclass(frozen=True)
class SubordinateCounts:
    tenant: Tenant
    kinds: dict[str, int]
    people: int
    members: int


def counts(subs: list[Tenant]) -> list[SubordinateCounts]:
    """Each subordinate's units by kind and its people (party members among them)."""
    out = []
    for sub in subs:
        with tenant_context(sub.id):
            out.append(SubordinateCounts(sub, orgtree.kind_counts(), *orgtree.people_counts()))
    return out


@dataclass(frozen=True)
class LedgerFigures:
    """A published campaign's 整改台账 as oversight sees it: counts only."""

    items: int
    overdue: int
    on_time: int  # finished (done or verified) by the deadline
    due: int  # finished, or past the deadline unfinished

    @property
    def on_time_share(self) -> Fraction | None:
        return Fraction(self.on_time, self.due) if self.due else None


def ledger_figures(campaign_id: int, now: datetime) -> LedgerFigures:
    """The ledger's counts of one campaign of the current tenant at ``now``."""
    total = overdue.totals(campaign_id, now)
    on_time, due = followthrough.on_time(campaign_id, now)
    return LedgerFigures(total.total, total.overdue, on_time, due)


@dataclass(frozen=True)
class SubCampaign:
    """A subordinate's campaign as oversight sees it: names, dates and aggregates only."""

    tenant_slug: str
    tenant_name: str
    id: int
    name: str
    state: str
    state_label: str
    timezone: str
    published_at: datetime | None
    publication_scope: str
    links: Links = Links()
    figures: Figures | None = None  # the stored run's totals, once published
    ledger: LedgerFigures | None = None  # the rectification ledger's counts, once published

    @property
    def published(self) -> bool:
        return self.state in PUBLISHED_STATES

    @property
    def issued(self) -> int:
        return self.links.issued

    @property
    def used(self) -> int:
        return self.links.used

    @property
    def turnout(self) -> Fraction | None:
        return self.links.rate


def _snapshot(sub: Tenant, c: Campaign, links: Links, run: TallyRun | None) -> SubCampaign:
    published = c.state in PUBLISHED_STATES
    return SubCampaign(sub.slug, sub.name, c.id, c.name, c.state, c.state_label, c.timezone, c.published_at,
                       c.publication_scope, links, Figures.of(run) if run is not None and published else None,
                       ledger_figures(c.id, utcnow()) if published else None)


def published_campaign(sub: Tenant, campaign_id) -> SubCampaign | None:
    """A published campaign of ``sub`` with its stored totals; ``None`` when unknown or not
    (yet, or no longer) published."""
    with tenant_context(sub.id):
        c = get_scoped(Campaign, campaign_id)
        if c is None or c.state not in PUBLISHED_STATES:
            return None
        run = stored_run(c.id)
        return _snapshot(sub, c, Links(run.issued, run.used) if run else Links(), run)


def sub_campaigns(subs: list[Tenant]) -> list[SubCampaign]:
    """Each subordinate's campaigns past draft with live link counts (one GROUP BY per tenant)
    and, once published, the stored totals; newest first within each tenant."""
    out = []
    for sub in subs:
        with tenant_context(sub.id):
            rows = db.session.execute(
                select(Campaign, TallyRun).outerjoin(TallyRun, TallyRun.campaign_id == Campaign.id)
                .where(Campaign.state != "draft").order_by(Campaign.id.desc())).all()
            if not rows:
                continue
            links = link_counts([c.id for c, _run in rows], ("campaign",))
            out.extend(_snapshot(sub, c, links.get((c.id,), Links()), run) for c, run in rows)
    return out
