"""The turnout page folded by committee and its 大屏 (issue 17 item 2): groups as <details>
(closed, no script needed), the sorts as plain links, the big screen's bars and its meta
refresh, a unit admin's subtree only, and another tenant's campaign answering 404."""

from __future__ import annotations

import re

import pytest

from pingyi.campaigns import lifecycle as cp
from pingyi.extensions import db
from pingyi.models import Campaign
from pingyi.tenancy import tenant_context
from pingyi.voting import tokens
from tests.ballot_world import build, vote
from tests.factories import login

pytestmark = pytest.mark.dates  # the ballot world opens a campaign around now


@pytest.fixture
def cid(app, world) -> int:
    """采煤一队党支部 5 live links (4 used), 公司党委's own 2 全评 links (1 used), 机关党支部 1 live link."""
    with app.app_context():
        bw = build(world, links=6)
        vote(world, bw, [*bw.own[:4], bw.group[0]], (0, 0, 3, 1, 0))
        with tenant_context(world.a.id):
            c = db.session.get(Campaign, bw.campaign_id)
            tokens.revoke(c, short_code=bw.own[5].short_code)
            tokens.revoke(c, short_code=bw.other_branch[1].short_code)
            db.session.commit()
    return bw.campaign_id


def _ids(page: str, attr: str = r"(?:unit|subtree)") -> list[int]:
    return [int(i) for i in re.findall(rf'data-{attr}="(\d+)"', page)]


def test_the_page_folds_units_by_committee_and_sorts_by_links(app, world, cid, client):
    a = world.a
    login(client, a.viewer)
    base = f"/t/alpha/campaigns/{cid}/turnout"
    page = client.get(base).text
    # 一矿党委 folds its branch, closed until clicked; units without units below are a line each
    details = re.search(rf'<details class="tgroup" data-subtree="{a.committee}">(.*?)</details>', page, re.S)
    assert details and f'data-unit="{a.branch}"' in details.group(1)
    assert "<details open" not in page and page.count("<details") == 1
    assert re.search(rf'<div class="tgroup tline" data-unit="{a.root}">', page)  # its own 全评 links: 本级
    assert re.search(rf'<div class="tgroup tline" data-unit="{a.other_branch}">', page)
    # a bar per line, against the line at 80%: 一矿党委 and its branch 80.0% (not below), 本级 50%
    assert page.count('style="--rate: 80.0%; --mark: 80.0%"') == 2
    assert page.count('class="tbar low" style="--rate: 50.0%') == 1
    assert page.count('class="tbar low"') == 2 and "2 个单位参评率低于 80%" in page  # 本级 and 机关党支部
    # the sorts are links; the current one is not
    for key in ("rate", "behind", "name"):
        assert f'href="{base}?sort={key}"' in page
    assert '<span class="current">按组织</span>' in page
    assert f'href="{base}/screen"' in page
    groups = {"tree": [a.root, a.committee, a.branch, a.other_branch],
              # 机关 0/1 and 本级 1/2 each 1 link short (the lower rate first), 一矿 none
              "behind": [a.other_branch, a.root, a.committee, a.branch],
              "rate": [a.other_branch, a.root, a.committee, a.branch],
              "name": [a.committee, a.branch, a.root, a.other_branch],  # 一矿, 公司, 机关
              "nonsense": [a.root, a.committee, a.branch, a.other_branch]}
    for sort, order in groups.items():
        r = client.get(f"{base}?sort={sort}")
        assert r.status_code == 200 and _ids(r.text) == order, sort
    assert '<span class="current">差额从多到少</span>' in client.get(f"{base}?sort=behind").text


def test_the_big_screen(app, world, cid, client):
    a = world.a
    login(client, a.admin)
    r = client.get(f"/t/alpha/campaigns/{cid}/turnout/screen")
    assert r.status_code == 200
    page = r.text
    assert '<meta http-equiv="refresh" content="30">' in page and '<body class="screen">' in page
    assert "<script" not in page and 'class="tabs"' not in page  # no chrome, nothing to run
    assert 'data-testid="screen-rate">62.5%<' in page and "已参评 5 / 有效测评码 8" in page
    # one bar per group: the company committee's own links, 一矿党委, 机关党支部
    assert _ids(page, "group") == [a.root, a.committee, a.other_branch]
    bars = re.findall(r'<li class="(low|)" data-group="(\d+)">.*?--rate: ([\d.]+%).*?class="srate">([^<]+)<', page)
    assert [(low, int(g), rate, shown) for low, g, rate, shown in bars] == [
        ("low", a.root, "50.0%", "50.0%"), ("", a.committee, "80.0%", "80.0%"), ("low", a.other_branch, "0.0%", "0.0%")]
    assert "<em>80%</em>" in page and 'class="screen-total low"' in page  # 62.5% is under the line
    assert "?sort=rate" not in page
    with app.app_context(), tenant_context(a.id):
        cp.transition(db.session.get(Campaign, cid), "close")
        db.session.commit()
    closed = client.get(f"/t/alpha/campaigns/{cid}/turnout/screen").text
    assert 'http-equiv="refresh"' not in closed and "评议未在进行" in closed


def test_a_unit_admin_sees_their_subtree_on_both(app, world, cid, client):
    a = world.a
    login(client, a.unit_admin)  # of 一矿党委
    page = client.get(f"/t/alpha/campaigns/{cid}/turnout").text
    screen = client.get(f"/t/alpha/campaigns/{cid}/turnout/screen").text
    assert _ids(page) == [a.branch] and _ids(screen, "group") == [a.branch]
    assert re.search(r'data-testid="total-issued">5<', page) and 'data-testid="screen-rate">80.0%<' in screen
    for text in (page, screen):
        assert "机关党支部" not in text and "（本级）" not in text


def test_another_tenant_s_campaign_is_404(app, world, cid, client):
    for path in ("turnout", "turnout/screen"):
        assert client.get(f"/t/alpha/campaigns/{cid}/{path}").status_code == 302  # to the login
    login(client, world.b.admin)
    for path in ("turnout", "turnout/screen", "turnout/screen?sort=rate"):
        assert client.get(f"/t/beta/campaigns/{cid}/{path}").status_code == 404
        assert client.get(f"/t/alpha/campaigns/{cid}/{path}").status_code == 404
