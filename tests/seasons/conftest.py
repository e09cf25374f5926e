"""The seasons' world: the county with two levels below it (county → alpha → school, and
county → gamma), beta outside the tree, and a season planned by the county with dates
relative to now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select

from pingyi.campaigns import lifecycle as cp
from pingyi.extensions import db
from pingyi.models import Campaign, Form, Season, Tenant, Unit, utcnow
from pingyi.org.accounts import tenant_by_slug
from pingyi.seasons import issuing, plan
from pingyi.tenancy import tenant_context
from pingyi.voting import tokens
from tests import clock
from tests.factories import build_tenant

NAME = "年度民主评议"
RULES = [{"metric": "satisfied_share", "op": "lt", "threshold": "60%", "outcome": "限期整改"}]
CATEGORIES = [{"name": "群众", "weight": "1", "scope": "own_unit"}]
FORMS = ["seed002-org", "seed002-member"]


@dataclass
class Tree:
    county: int
    alpha: int
    school: int  # below alpha: two levels below the county
    gamma: int  # alpha's sibling
    beta: int  # in no tree with them


@pytest.fixture
def tree(app, world) -> Tree:
    with app.app_context():
        school = build_tenant("school", "第一中学", "alpha")
        gamma = build_tenant("gamma", "丙公司", "county")
        county = tenant_by_slug("county").id
    return Tree(county, world.a.id, school.id, gamma.id, world.b.id)


def phases(shift: int = 0) -> list[dict]:
    return [{"kind": "publicity", "starts_on": clock.day(-5 + shift).date().isoformat(),
             "ends_on": clock.day(-2 + shift).date().isoformat()},
            {"kind": "appraisal", "starts_on": clock.day(-1 + shift).date().isoformat(),
             "ends_on": clock.day(3 + shift).date().isoformat()}]


def make_season(tenant_id: int, *, fixed=("forms", "rules", "dates"), forms=FORMS, opens_in=timedelta(hours=-1),
                days: int = 3, due_days: int = 10, name: str = NAME) -> int:
    """A season of ``tenant_id`` (call in an app context): open from ``opens_in`` for ``days``."""
    now = utcnow()
    with tenant_context(tenant_id):
        s = plan.create_season(name, now + opens_in, now + opens_in + timedelta(days=days),
                               clock.day(due_days).date(), forms=list(forms), rules=RULES,
                               categories=CATEGORIES, phases=phases(), fixed=list(fixed))
        db.session.commit()
        return s.id


def issue_to(issuer_id: int, season_id: int, slugs: list[str]) -> list[int]:
    """Issue the season to these subordinates; the new issues' ids."""
    with tenant_context(issuer_id):
        season = db.session.get(Season, season_id)
        targets = [tenant_by_slug(s) for s in slugs]
        new = issuing.issue(season, targets, utcnow())
        db.session.commit()
        return [i.id for i in new]


def tenant(tenant_id: int) -> Tenant:
    return db.session.get(Tenant, tenant_id)


def open_with_links(tenant_id: int, campaign_id: int, links: int = 3) -> list:
    """Add the branches as subjects on the season's unit form, issue links to the first branch
    and open."""
    with tenant_context(tenant_id):
        c = db.session.get(Campaign, campaign_id)
        form = db.session.execute(select(Form).where(Form.template_key == cp.season_form_key(c.season_id, 0))
                                  ).scalar_one()
        root = db.session.execute(select(Unit).where(Unit.parent_id.is_(None))).scalar_one()
        cp.add_subjects_bulk(c, "unit", root, form, ["branch"])
        branch = db.session.execute(select(Unit).where(Unit.kind == "branch").order_by(Unit.id).limit(1)).scalar()
        issued = tokens.issue_links(c, cp.categories(c)[0], branch, links)
        cp.transition(c, "open")
        db.session.commit()
        return issued
