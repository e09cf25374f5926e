"""公示: who may see a campaign's publication page, when, and what it shows.

A campaign is shown only once published (or archived) and only inside its window,
``published_at ≤ now < publish_until`` (no ``publish_until``: open-ended). Within the window its
``publication_scope`` decides who: ``public`` anyone (no login), ``tenant`` logged-in members of
the campaign's tenant, ``oversight`` logged-in members of an ancestor tenant (the committees
above it); platform superusers pass the two login scopes. The tenant's own admins may always
preview the page (before publishing, after the window), and the page says it is a preview.

Figures come from the stored tally through ``results.dashboard`` (never from ballots); opinions
(``comments``) appear only when the admin chose to publish them, and a comment's evaluator
category only where the subject's breakdown by category shows it (small-cell and complementary
suppression, ``results.suppression``, applied by ``results.opinion_rows``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from sqlalchemy import select

from pingyi.extensions import db
from pingyi.models import PUBLISHED_STATES, Campaign, Membership, Subject, Tenant, utcnow
from pingyi.tenancy import tenant_context

from . import dashboard as rs
from . import live_view as lv
from . import tally as tl

LIVE, PREVIEW = "live", "preview"


def in_window(c: Campaign, now: datetime | None = None) -> bool:
    """Published (or archived) and ``published_at ≤ now < publish_until``."""
    if c.state not in PUBLISHED_STATES or c.published_at is None:
        return False
    now = now or utcnow()
    return c.published_at <= now and (c.publish_until is None or now < c.publish_until)


def _logged_in(user) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False))


def _membership(user, tenant_id: int) -> Membership | None:
    """The user's membership in one tenant, read in that tenant's own scope."""
    with tenant_context(tenant_id):
        return db.session.execute(select(Membership).where(Membership.user_id == user.id)).scalar_one_or_none()


def ancestors(tenant: Tenant) -> list[Tenant]:
    """Active tenants above ``tenant`` (parent first); a cycle, should one ever exist, ends the walk."""
    out, seen, t = [], {tenant.id}, tenant.parent
    while t is not None and t.id not in seen:
        seen.add(t.id)
        if t.is_active:
            out.append(t)
        t = t.parent
    return out


def can_preview(c: Campaign, user) -> bool:
    """The campaign's own tenant admins (and platform superusers) see the page at any time."""
    if not _logged_in(user):
        return False
    if user.is_superuser:
        return True
    m = _membership(user, c.tenant_id)
    return m is not None and m.role == "admin"


def in_audience(c: Campaign, user) -> bool:
    """Is ``user`` (``None`` or anonymous: nobody logged in) among those the campaign's scope
    publishes to, whatever the window? Also what decides who may read the campaign's name on
    its receipt check, which anyone may open."""
    tenant = db.session.get(Tenant, c.tenant_id)
    if tenant is None or not tenant.is_active:
        return False
    scope = c.publication_scope
    if scope == "public":
        return True
    if not _logged_in(user):
        return False
    if user.is_superuser:
        return scope in ("tenant", "oversight")
    if scope == "tenant":
        return _membership(user, tenant.id) is not None
    if scope == "oversight":
        return any(_membership(user, a.id) is not None for a in ancestors(tenant))
    return False  # an unknown scope shows nothing


def visible(c: Campaign, user, now: datetime | None = None) -> bool:
    """May ``user`` (``None`` or anonymous: nobody logged in) see the publication right now?"""
    return in_window(c, now) and in_audience(c, user)


def may_name(c: Campaign, user) -> bool:
    """May ``user`` read the campaign's (and its tenant's) name on a page anyone may open (the
    receipt check)? Its publication's audience and the tenant's own members: an anonymous
    visitor learns the name only of a campaign published to the public."""
    if in_audience(c, user) or can_preview(c, user):
        return True
    return _logged_in(user) and _membership(user, c.tenant_id) is not None


def mode(c: Campaign, user, now: datetime | None = None) -> str | None:
    """``"live"`` (visible), ``"preview"`` (only as the tenant's admin) or ``None`` (404)."""
    if visible(c, user, now):
        return LIVE
    if can_preview(c, user):
        return PREVIEW
    return None


@dataclass
class Opinion:
    category: str  # the category's name, or "<5" where the subject's breakdown hides it
    text: str


@dataclass
class OpinionGroup:
    subject: str
    items: list[tuple[str, list[Opinion]]]  # (item text, opinions), in form order


PER_PAGE = 50  # subjects on one page of the publication (a campaign may hold thousands)


@dataclass
class Publication:
    """The page's head: overall figures, item rates and verdicts; the subjects and opinions come
    a page at a time (``subject_page``, ``opinion_groups``), the whole lists only on request."""

    campaign: Campaign
    results: rs.Results
    opinions_shown: bool  # the admin published opinions, and voting is over

    @cached_property
    def subjects(self) -> list[rs.SubjectLine]:
        """Every subject with its figures, by label (for whole-campaign checks, not the page)."""
        return subject_page(self.campaign, "", None)[1] if self.results.run is not None else []

    @cached_property
    def opinions(self) -> list[OpinionGroup] | None:
        """Every published opinion, grouped by subject; ``None``: not published."""
        return opinion_groups(self.campaign) if self.opinions_shown else None


def publication_data(c: Campaign) -> Publication:
    """What the publication page shows above its subject list, within the campaign's tenant
    scope: overall figures, item rates and the verdict lists, and whether opinions are shown."""
    res = rs.campaign_results(c, 1)  # an open campaign (a preview) as ``live_view`` allows
    return Publication(c, res, bool(c.publish_opinions) and res.view == lv.FULL)  # opinions never while open


def subject_page(c: Campaign, q: str = "", page: int | None = 1,
                 per_page: int = PER_PAGE) -> tuple[int, list[rs.SubjectLine]]:
    """(how many subjects match ``q`` — in their name or unit —, one page of them by label), found,
    sorted and cut by the database; ``page=None``: all of them."""
    if tl.stored_run(c.id) is None:
        return 0, []
    return rs.subject_page(c, q, sort="label", page=page, per_page=per_page)


def opinion_groups(c: Campaign, subject_ids: list[int] | None = None) -> list[OpinionGroup]:
    """Comments grouped by subject (campaign order, or the order of ``subject_ids``: one page's
    subjects) and item (form order), sorted by text within an item — never in voting order; a
    category is named only where the subject's breakdown shows it (``results.opinion_rows``
    applies the suppression, over the whole campaign's subjects either way)."""
    rows = rs.opinion_rows(c)
    if not rows:
        return []
    if subject_ids is None:
        subjects = db.session.execute(select(Subject.id, Subject.label).where(Subject.campaign_id == c.id)
                                      .order_by(Subject.position, Subject.id)).all()
    else:
        labels = dict(db.session.execute(select(Subject.id, Subject.label).where(
            Subject.campaign_id == c.id, Subject.id.in_([i for i in subject_ids if i in rows]))).all())
        subjects = [(i, labels[i]) for i in subject_ids if i in labels]
    out = []
    for subject_id, label in subjects:
        items: dict[str, list[Opinion]] = {}
        for row in rows.get(subject_id, []):
            text = (row.text or "").strip()
            if text:
                items.setdefault(row.item, []).append(Opinion(row.category, text))
        if items:
            out.append(OpinionGroup(label, list(items.items())))
    return out
