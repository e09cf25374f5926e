"""The one place a season crosses from one tenant to another.

A season's rows live in the issuing tenant; the campaigns it built live in its subordinates.
Code here switches the session's tenant (``tenant_context``) only after checking the relation:
the issuer reaches only tenants below it (``oversight.subordinates``), and a subordinate
reaches only the season its own campaign was built from, in its own parent chain. What it
hands back across the boundary is plain data, never another tenant's ORM rows to keep using.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import select

from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.i18n import _
from pingyi.models import Campaign, Season, SeasonIssue, Tenant
from pingyi.oversight import subordinates
from pingyi.tenancy import require_tenant_id, tenant_context


def below(issuer: Tenant, targets: list[Tenant]) -> list[Tenant]:
    """``targets`` if every one is an active tenant below ``issuer``; else a DomainError (a
    season never reaches a sibling, a parent or a tenant of another tree)."""
    allowed = {t.id for t in subordinates.subordinates(issuer)}
    stray = [t.slug for t in targets if t.id not in allowed]
    if stray:
        raise DomainError(_("只能下发给本单位的下级单位：%(s)s 不是", s="、".join(stray)), "targets")
    return targets


@contextmanager
def in_target(issue: SeasonIssue) -> Iterator[None]:
    """Work inside the subordinate an issue went to (the caller is in the issuer's scope,
    which read ``issue`` and so vouches for the relation)."""
    with tenant_context(issue.target_tenant_id):
        yield


def issuer_of(campaign: Campaign) -> Tenant | None:
    """The tenant whose season built ``campaign`` (a campaign of the current tenant), if that
    tenant is still above the current one; ``None`` for a campaign no season built."""
    if campaign.season_id is None:
        return None
    here = db.session.get(Tenant, require_tenant_id())
    above, seen = here.parent if here else None, set()
    while above is not None and above.id not in seen:
        seen.add(above.id)
        with tenant_context(above.id):
            if db.session.execute(select(Season.id).where(Season.id == campaign.season_id)).first():
                return above
        above = above.parent
    return None


@contextmanager
def in_issuer(campaign: Campaign) -> Iterator[tuple[Season, SeasonIssue]]:
    """Work inside the issuing tenant of the season that built ``campaign`` (of the current
    tenant), on that season and this tenant's issue of it; a DomainError when there is none."""
    here = require_tenant_id()
    issuer = issuer_of(campaign)
    if issuer is None:
        raise DomainError(_("本活动不是上级统一部署的年度评议"), "season")
    with tenant_context(issuer.id):
        season = db.session.get(Season, campaign.season_id)
        issue = db.session.execute(select(SeasonIssue).where(
            SeasonIssue.season_id == season.id, SeasonIssue.target_tenant_id == here)).scalar_one_or_none()
        if issue is None or issue.campaign_id != campaign.id:
            raise DomainError(_("本活动不是上级统一部署的年度评议"), "season")
        yield season, issue
