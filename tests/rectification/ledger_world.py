"""A closed campaign for ledger tests (the cheap one: no ballots, its state set directly) and
the actors of tenant A: its admin, its unit admin (一矿党委's subtree) and its viewer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from pingyi.campaigns import lifecycle as cp
from pingyi.extensions import db
from pingyi.models import User
from pingyi.rectification.ledger import Actor, Draft
from pingyi.tenancy import tenant_context
from tests import clock


@dataclass
class Actors:
    admin: Actor
    unit_admin: Actor
    viewer: Actor


def actors(t) -> Actors:
    """``t``: a TenantData; call inside its tenant context."""
    from pingyi.models import Unit

    ids = dict(db.session.execute(select(User.email, User.id)).all())
    committee = db.session.get(Unit, t.committee)
    return Actors(Actor(ids[t.admin], t.admin, "admin"), Actor(ids[t.unit_admin], t.unit_admin, "unit_admin",
                                                               committee.path),
                  Actor(ids[t.viewer], t.viewer, "viewer"))


def closed_campaign(t, name: str = "整改测试") -> int:
    """A campaign of tenant ``t`` in state closed (items need a campaign past its draft)."""
    with tenant_context(t.id):
        now = clock.now()
        c = cp.create_campaign(name, now - timedelta(days=3), now - timedelta(days=1))
        c.state = "closed"
        db.session.commit()
        return c.id


def draft(t, days: int = 30, unit: str = "branch", problem: str = "活动形式单一") -> Draft:
    """A valid draft: deadline ``days`` from today (in the campaigns' zone), unit of ``t``."""
    return Draft(problem, getattr(t, unit), clock.day(days).date(), "张三", "每月开展一次主题党日")
