"""The subject table is filtered, sorted and paged by the database (a campaign may hold
236 000 subjects): every order, read page by page, equals the same order made in Python from
the stored tally; a search reaches subjects through any unit above theirs and takes ``%`` and
``_`` literally; a page's query carries its LIMIT — on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from fractions import Fraction

import pytest
from sqlalchemy import event, select

from pingyi.campaigns import lifecycle as cp
from pingyi.extensions import db
from pingyi.models import Campaign, Subject, Unit
from pingyi.results import dashboard as rs
from pingyi.results import tally
from pingyi.tenancy import tenant_context
from tests.ballot_world import build, close_and_count, vote
from tests.factories import login

pytestmark = pytest.mark.dates  # make test reruns these with the clock shifted


def _expected(result: tally.TallyResult, labels: dict[int, str], sort: str) -> list[int]:
    """The order by hand: exact fractions, unrated last in the rate orders, then label and id."""
    def fig(s: int) -> tally.Figures:
        return result.by_subject.get(s, tally.Figures())

    def rate(s: int) -> Fraction:
        return fig(s).satisfied_share

    keys = {
        "rate": lambda s: (rate(s) is None, rate(s) or 0),
        "-rate": lambda s: (rate(s) is None, -(rate(s) or 0)),
        "answers": lambda s: (fig(s).total,),
        "-answers": lambda s: (-fig(s).total,),
        "lowest": lambda s: (-(fig(s).lowest_share or 0),),
        "label": lambda s: (),
    }
    return sorted(labels, key=lambda s: (*keys[sort](s), labels[s], s))


def test_every_order_read_page_by_page_equals_the_order_made_by_hand(app, world, client):
    with app.app_context():
        bw = build(world)
        vote(world, bw, bw.own[:3], (0, 0, 3))
        vote(world, bw, bw.other_branch[:2], (0, 1))
        vote(world, bw, bw.group[:1], (2,))
        close_and_count(world, bw)
        with tenant_context(world.a.id):
            result, _kinds = tally.stored_result(bw.campaign_id)
            labels = dict(db.session.execute(select(Subject.id, Subject.label).where(
                Subject.campaign_id == bw.campaign_id)).all())
    assert len({_expected(result, labels, sort)[0] for sort in rs.SORTS}) > 2  # the orders differ
    from pingyi.web.admin import result_views

    login(client, world.a.admin)
    base = f"/t/alpha/campaigns/{bw.campaign_id}/results/subjects"
    result_views.PAGE_SIZE, size = 3, result_views.PAGE_SIZE
    try:
        for sort in rs.SORTS:
            seen: list[int] = []
            for page in range(1, len(labels) // 3 + 2):
                html = client.get(f"{base}?sort={sort}&page={page}").text
                seen += [int(x) for x in re.findall(r'data-subject="(\d+)"', html)]
            assert seen == _expected(result, labels, sort), sort
    finally:
        result_views.PAGE_SIZE = size


def test_search_reaches_subjects_through_units_above_and_takes_wildcards_literally(app, world):
    with app.app_context():
        bw = build(world)
        close_and_count(world, bw)
        with tenant_context(world.a.id):
            committee = db.session.get(Unit, world.a.committee)
            below = set(db.session.execute(select(Subject.id).join(Unit, Unit.id == Subject.unit_id).where(
                Subject.campaign_id == bw.campaign_id, Unit.path.startswith(committee.path))).scalars())
            c = db.session.get(Campaign, bw.campaign_id)
            total, lines = rs.subject_page(c, q=committee.name)
            assert below and total == len(below) and {ln.id for ln in lines} == below
            assert all(committee.name in ln.unit for ln in lines)
            one = lines[0].label
            assert {ln.id for ln in rs.subject_page(c, q=one)[1]} >= {lines[0].id}
            assert rs.subject_page(c, q="%")[0] == 0 and rs.subject_page(c, q="_")[0] == 0
            # a page is a page: LIMIT in the statement, the total counted apart
            statements: list[str] = []
            listen = (db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
            event.listen(*listen)
            try:
                total, page = rs.subject_page(c, sort="label", page=2, per_page=2)
            finally:
                event.remove(*listen)
            everything = rs.subject_page(c, sort="label")[1]
            assert [ln.id for ln in page] == [ln.id for ln in everything[2:4]] and total == len(everything)
            assert any("LIMIT" in s.upper() and "subjects" in s for s in statements)


def test_weighted_rates_show_in_the_table_and_on_the_subject_page_where_categories_are_weighted(app, world,
                                                                                                 client):
    """Seed 002 weighs 员工群众, 党员 and 先进典型代表: where the campaign weighs its categories,
    the table and a subject's page show each subject's weighted rate (by hand: Σ w·rate over the
    categories that rated it); none where its breakdown hides a category."""
    with app.app_context():
        bw = build(world)
        vote(world, bw, bw.own[:5], (0, 0, 1, 3, 3))
        vote(world, bw, bw.group[:2], (2, 3))
        close_and_count(world, bw)
        with tenant_context(world.a.id):
            c = db.session.get(Campaign, bw.campaign_id)
            c.weighting = True
            weights = {}
            for k, w in zip(cp.categories(c), ("3", "1"), strict=True):
                k.weight, weights[k.id] = w, Fraction(w)
            db.session.commit()
            result, _kinds = tally.stored_result(bw.campaign_id)
            both = [s for s in result.by_subject if sum((s, k) in result.by_subject_category for k in weights) == 2]
            expected = {s: tally.weighted_satisfaction(result, s, weights) for s in result.by_subject}
    assert both and any(expected[s] != result.by_subject[s].satisfied_share for s in both)
    login(client, world.a.admin)
    base = f"/t/alpha/campaigns/{bw.campaign_id}/results/subjects"

    def shown(page: str) -> dict[int, str]:
        return {int(s): w for s, w in re.findall(
            r'data-subject="(\d+)".*?<td data-testid="weighted">([^<]*)</td>', page, re.S)}

    app.config["MIN_CELL"] = 2  # both categories shown: every rated subject has its weighted rate
    table = shown(client.get(f"{base}?sort=label").text)
    assert table and all(table[s] == tally.percent(expected[s]) for s in result.by_subject if s in table)
    detail = client.get(f"{base}/{both[0]}").text
    assert f'data-testid="subject-weighted">{tally.percent(expected[both[0]])}<' in detail
    app.config["MIN_CELL"] = 3  # 全评's 2 ballots hidden: no weighted rate would tell them apart
    table = shown(client.get(f"{base}?sort=label").text)
    assert all(table[s] == "—" for s in both if s in table)
    assert 'data-testid="subject-weighted">—<' in client.get(f"{base}/{both[0]}").text
