"""The oversight domain: which tenants a committee oversees and what it reads of their campaigns
(aggregates only, published totals only once published)."""

from __future__ import annotations

from fractions import Fraction

import pytest
from sqlalchemy import select

from pingyi.campaigns import lifecycle as cp
from pingyi.extensions import db
from pingyi.models import Campaign, Tenant
from pingyi.oversight.subordinates import published_campaign, sub_campaigns, subordinate, subordinates
from pingyi.results import tally
from pingyi.tenancy import tenant_context, unscoped
from tests.ballot_world import build, close, vote

pytestmark = pytest.mark.dates  # make test reruns these with the clock shifted


def test_oversight_reads_published_totals_of_subordinates_only(app, world):
    with app.app_context():
        bw = build(world)
        vote(world, bw, bw.own[:2], (0, 1))
        with tenant_context(world.a.id):
            tally.recount(bw.campaign_id)
            c = db.session.get(Campaign, bw.campaign_id)
            cp.create_campaign("未公布", c.opens_at, c.closes_at)
            db.session.commit()
        with unscoped():
            county = db.session.execute(select(Tenant).where(Tenant.slug == "county")).scalar_one()
            beta = db.session.execute(select(Tenant).where(Tenant.slug == "beta")).scalar_one()
        a = next(t for t in subordinates(county) if t.slug == "alpha")
        assert [s for s in sub_campaigns(subordinates(county)) if s.figures] == []  # nothing published yet
        assert published_campaign(a, bw.campaign_id) is None
        live = next(s for s in sub_campaigns([a]) if s.id == bw.campaign_id)
        assert (live.issued, live.used, live.turnout) == (9, 2, Fraction(2, 9))  # live links, no totals
        close(world.a.id, bw.campaign_id, publish=True)
        rows = [s for s in sub_campaigns(subordinates(county)) if s.published]
        assert [(p.tenant_name, p.name) for p in rows] == [("甲公司", "测试评议")]  # not the draft, not beta's
        figures = rows[0].figures
        assert (figures.used, figures.issued, figures.satisfied_share) == (2, 9, 1)
        assert published_campaign(a, bw.campaign_id) == rows[0]
        assert published_campaign(a, "x") is None
        assert beta not in subordinates(county)


def test_a_subordinate_is_found_only_below_the_committee(app, world):
    with app.app_context(), unscoped():
        county, a, beta = (db.session.execute(select(Tenant).where(Tenant.slug == s)).scalar_one()
                           for s in ("county", "alpha", "beta"))
        assert subordinate(county, "alpha") == a
        assert subordinate(county, "beta") is None  # not below the county
        assert subordinate(a, "county") is None  # never upwards
