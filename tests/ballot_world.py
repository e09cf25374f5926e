"""A small open campaign for ballot tests: the org form for both branches of tenant A, the
member form for their members, one own-unit and one group category, links issued."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from pingyi.campaigns import lifecycle as cp
from pingyi.campaigns import questionnaire as q
from pingyi.extensions import db
from pingyi.models import Campaign, Subject, Unit, utcnow
from pingyi.results import live
from pingyi.tenancy import tenant_context
from pingyi.voting import tokens


@dataclass
class BallotWorld:
    campaign_id: int
    own: list[tokens.IssuedLink]  # 本单位 links for world.a.branch
    group: list[tokens.IssuedLink]  # 全评 links (whole company)
    other_branch: list[tokens.IssuedLink]


def build(world, links: int = 5, like: BallotWorld | None = None, name: str = "测试评议") -> BallotWorld:
    """``like``: a campaign opened an hour later on the same forms as that one (a second round)."""
    with tenant_context(world.a.id):
        now = utcnow() + (timedelta(minutes=30) if like else timedelta())
        c = cp.create_campaign(name, now - timedelta(hours=1), now + timedelta(days=3))
        root = db.session.get(Unit, world.a.root)
        if like is None:
            forms = q.copy_template("seed002-org"), q.copy_template("seed002-member")
        else:
            earlier = {s.kind: s.form for s in db.session.execute(
                select(Subject).where(Subject.campaign_id == like.campaign_id)).scalars()}
            forms = earlier["unit"], earlier["person"]
        cp.add_subjects_bulk(c, "unit", root, forms[0], ["branch"])
        cp.add_subjects_bulk(c, "person", root, forms[1], ["branch"])
        own, group = cp.set_categories(c, [{"name": "群众", "scope": "own_unit"},
                                           {"name": "全评", "scope": "group", "group_unit_id": world.a.root}])
        branch, other = db.session.get(Unit, world.a.branch), db.session.get(Unit, world.a.other_branch)
        w = BallotWorld(c.id, tokens.issue_links(c, own, branch, links), tokens.issue_links(c, group, root, 2),
                        tokens.issue_links(c, own, other, 2))
        cp.transition(c, "open")
        db.session.commit()
    return w


def full_answers(world, bw: BallotWorld, link: str, choice_index: int = 0, comment: str = "") -> dict:
    """Form fields answering every rating item of every subject the link may rate."""
    from pingyi.voting import ballots

    state = ballots.resolve(link)
    subjects = ballots.subjects_for(state.token, state.category)
    forms = ballots.forms_of(subjects)
    data = {}
    for s in subjects:
        for sec in forms[s.form_id].sections:
            for it in sec.items:
                if it.kind == "rating":
                    data[ballots.field_name("a", s.id, it.id)] = str(it.scale.choices[choice_index].id)
                elif comment:
                    data[ballots.field_name("c", s.id, it.id)] = comment
    return data


def campaign(world, bw) -> Campaign:
    with tenant_context(world.a.id):
        return db.session.get(Campaign, bw.campaign_id)


def vote(world, bw: BallotWorld, links: list[tokens.IssuedLink], choices, comment: str = "") -> None:
    """Cast one ballot per link, every rating item answered with the choice at that index (and
    every free-text item with ``comment``, if given)."""
    from pingyi.voting import ballots

    for link, choice in zip(links, choices, strict=True):
        state = ballots.resolve(link.secret)
        subjects = ballots.subjects_for(state.token, state.category)
        ballots.cast(link.secret, ballots.parse(full_answers(world, bw, link.secret, choice, comment), subjects,
                                                ballots.forms_of(subjects)))
    live.drain()  # the live tallies the ballots asked for (a thread of this process runs them)


def cast(links, choices, comment: str = "") -> None:
    """One ballot per link, every rating item at the choice index, every text item ``comment``."""
    from pingyi.voting import ballots

    for link, choice in zip(links, choices, strict=True):
        state = ballots.resolve(link.secret)
        subjects = ballots.subjects_for(state.token, state.category)
        ballots.cast(link.secret, ballots.parse(full_answers(None, None, link.secret, choice, comment), subjects,
                                                ballots.forms_of(subjects)))
    live.drain()


def published_campaign(t, name: str, choices=(0, 1, 3), scope: str = "tenant") -> int:
    """A campaign in tenant ``t`` (TenantData): both branches rated by their own members,
    ballots cast with ``choices`` in ``t.branch``, closed, counted and published."""

    with tenant_context(t.id):
        now = utcnow()
        c = cp.create_campaign(name, now - timedelta(hours=1), now + timedelta(days=2), publication_scope=scope)
        cp.add_subjects_bulk(c, "unit", db.session.get(Unit, t.root), q.copy_template("seed002-org"), ["branch"])
        (own,) = cp.set_categories(c, [{"name": "群众", "scope": "own_unit"}])
        links = tokens.issue_links(c, own, db.session.get(Unit, t.branch), 4)
        tokens.issue_links(c, own, db.session.get(Unit, t.other_branch), 2)
        cp.transition(c, "open")
        db.session.commit()
        cid = c.id
    cast(links[:len(choices)], choices)
    close(t.id, cid, publish=True)
    return cid


def close_and_count(world, bw: BallotWorld) -> None:
    """Close the campaign as the pages do (the closing job runs in-process here: the box
    emptied, the ballots reshuffled, a full recount): an open campaign's results show turnout
    only (``results.live_view``), a closed one's everything."""
    close(world.a.id, bw.campaign_id)


def close(tenant_id: int, campaign_id: int, publish: bool = False) -> None:
    """``close_and_count`` for any campaign; then publish it, if asked."""
    from pingyi.results import tally

    with tenant_context(tenant_id):
        c = db.session.get(Campaign, campaign_id)
        cp.transition(c, "close")
        db.session.commit()
        tally.after_transition(c)
        if publish:
            cp.transition(db.session.get(Campaign, campaign_id), "publish")
            db.session.commit()
