"""The counted campaign the verdict tests (domain and pages) share."""

from __future__ import annotations

import pytest

from pingyi.campaigns import lifecycle as cp
from pingyi.extensions import db
from pingyi.models import Campaign
from pingyi.tenancy import tenant_context
from tests.ballot_world import build, close_and_count, vote


@pytest.fixture
def counted(unbatched, world):
    """Tenant A's campaign, every subject of 采煤一队党支部's members rated 不满意 with an
    opinion, rules of seed 001 篇3, closed and counted: (world, campaign id)."""
    with unbatched.app_context():
        bw = build(world, links=2)
        with tenant_context(world.a.id):
            cp.add_preset(db.session.get(Campaign, bw.campaign_id), "seed001-3")
            db.session.commit()
        vote(world, bw, bw.own, [3, 3], comment="活动形式单一")
        close_and_count(world, bw)
    with unbatched.app_context(), tenant_context(world.a.id):
        yield world, db.session.get(Campaign, bw.campaign_id)
        db.session.rollback()
