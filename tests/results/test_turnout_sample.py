"""参评率 (turnout, 种子003: ≥ 80%) and 个别访谈 (interview sample, 种子004 五.5): the figures by
hand, the threshold from a rule, the monitoring page, and reproducible samples with their page."""

from __future__ import annotations

import random
import re
from fractions import Fraction

import pytest
from sqlalchemy import func, select

from pingyi.campaigns import lifecycle as cp
from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.models import Campaign, InterviewSample
from pingyi.results import turnout as to
from pingyi.tenancy import tenant_context
from pingyi.voting import ballots, sampling, tokens
from tests import clock
from tests.ballot_world import build, full_answers
from tests.factories import login

pytestmark = pytest.mark.dates  # make test reruns these with the clock shifted

BRANCH = "公司党委/一矿党委/采煤一队党支部"
ROOT = "公司党委"
OTHER = "公司党委/机关党支部"


def _vote(world, bw, link: str) -> None:
    state = ballots.resolve(link)
    assert state.status == "ok"
    subjects = ballots.subjects_for(state.token, state.category)
    sub = ballots.parse(full_answers(world, bw, link), subjects, ballots.forms_of(subjects))
    assert not sub.errors
    ballots.cast(link, sub)


def _turnout_world(app, world):
    """Branch: 6 本单位 links, 4 used, 1 revoked → 4/5. Root: 2 全评 links, 1 used → 1/2.
    Other branch: 2 本单位 links, none used, 1 revoked → 0/1."""
    with app.app_context():
        bw = build(world, links=6)
        for link in [*bw.own[:4], bw.group[0]]:
            _vote(world, bw, link.secret)
        with tenant_context(world.a.id):
            c = db.session.get(Campaign, bw.campaign_id)
            assert tokens.revoke(c, short_code=bw.own[5].short_code) == 1
            assert tokens.revoke(c, short_code=bw.other_branch[1].short_code) == 1
            assert tokens.revoke(c, short_code=bw.own[0].short_code) == 0  # used links stay counted
            db.session.commit()
    return bw


def _rows(rows) -> dict:
    return {r.name: (r.issued, r.used, r.rate) for r in rows}


# ---- turnout: figures -------------------------------------------------------------------------

def test_turnout_by_hand(app, world):
    bw = _turnout_world(app, world)
    with app.app_context(), tenant_context(world.a.id):
        c = db.session.get(Campaign, bw.campaign_id)
        data = to.turnout(c)
        assert _rows(data["units"]) == {BRANCH: (5, 4, Fraction(4, 5)), ROOT: (2, 1, Fraction(1, 2)),
                                        OTHER: (1, 0, Fraction(0))}
        assert [r.name for r in data["units"]] == [ROOT, BRANCH, OTHER]  # by path label
        assert {r.id for r in data["units"]} == {world.a.branch, world.a.root, world.a.other_branch}
        # 群众 (本单位): branch 5 + other 1 issued, 4 used; 全评: 2 issued, 1 used
        assert _rows(data["categories"]) == {"群众": (6, 4, Fraction(2, 3)), "全评": (2, 1, Fraction(1, 2))}
        assert (data["total"].issued, data["total"].used, data["total"].rate) == (8, 5, Fraction(5, 8))
        assert data["threshold"] == Fraction(4, 5) and data["op"] == "lt"


def test_turnout_of_a_campaign_without_links(app, world):
    with app.app_context(), tenant_context(world.a.id):
        c = cp.create_campaign("空活动", clock.wall(0), clock.wall(1))
        cp.set_categories(c, [{"name": "党员"}])
        db.session.commit()
        data = to.turnout(c)
        assert data["units"] == []
        assert _rows(data["categories"]) == {"党员": (0, 0, None)}
        assert (data["total"].issued, data["total"].used, data["total"].rate) == (0, 0, None)


def test_threshold_from_a_rule_or_the_default(app, world):
    with app.app_context(), tenant_context(world.a.id):
        c = cp.create_campaign("阈值", clock.wall(0), clock.wall(1))
        assert to.threshold(c) == Fraction(4, 5)
        cp.set_rules(c, [{"metric": "satisfied_share", "op": "lt", "threshold": "60%", "outcome": "整改"},
                         {"metric": "turnout", "op": "gt", "threshold": "90%", "outcome": "表扬"}])
        assert to.threshold(c) == Fraction(4, 5)  # neither rule is a "turnout below" rule
        cp.set_rules(c, [{"metric": "turnout", "op": "lt", "threshold": "三分之二", "outcome": "补课"},
                         {"metric": "turnout", "op": "lt", "threshold": "90%", "outcome": "提醒"}])
        assert to.threshold(c) == Fraction(2, 3)  # the first one
        cp.set_rules(c, [{"metric": "turnout", "op": "le", "threshold": "0.75", "outcome": "提醒"}])
        assert to.threshold(c) == Fraction(3, 4)
        cp.add_preset(c, "seed003")
        assert to.threshold(c) == Fraction(3, 4)


def test_rate_formatting_and_comparison():
    assert to.format_rate(Fraction(5, 6)) == "83.3%"
    assert to.format_rate(Fraction(2, 3)) == "66.7%"
    assert to.format_rate(Fraction(1, 2000)) == "0.1%"  # half up, exactly
    assert to.format_rate(Fraction(1)) == "100.0%" and to.format_rate(Fraction(0)) == "0.0%"
    assert to.format_rate(None) == "—"
    assert to.format_threshold(Fraction(4, 5)) == "80%" and to.format_threshold(Fraction(2, 3)) == "66.7%"
    assert to.is_below(Fraction(79, 100), Fraction(4, 5)) and not to.is_below(Fraction(4, 5), Fraction(4, 5))
    assert to.is_below(Fraction(4, 5), Fraction(4, 5), "le") and not to.is_below(None, Fraction(4, 5))


# ---- turnout: page ----------------------------------------------------------------------------

def _unit_row(page: str, unit_id: int) -> str:
    """The line of a unit's own links: a row of its committee's table, or a group line of its own."""
    return re.search(rf'<(tr|div)[^>]* data-unit="{unit_id}"[^>]*>(.*?)</\1>', page, re.S).group(0)


def _cells(row: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", row).split())


def test_turnout_page(app, world):
    bw = _turnout_world(app, world)
    client = app.test_client()
    login(client, world.a.viewer)  # any member may watch
    page = client.get(f"/t/alpha/campaigns/{bw.campaign_id}/turnout")
    assert page.status_code == 200
    text = page.text
    assert '<meta http-equiv="refresh" content="15">' in text
    assert re.search(r'data-testid="total-issued">8<', text) and re.search(r'data-testid="total-used">5<', text)
    assert 'data-testid="total-rate">62.5%<' in text
    assert "2 个单位参评率低于 80%" in text
    # folded by committee: 公司党委's own 全评 links, 一矿党委 (its branch inside), 机关党支部
    assert _cells(_unit_row(text, world.a.branch)) == "采煤一队党支部 80.0% 4/5"
    assert _cells(_unit_row(text, world.a.root)) == "公司党委 （本级） 50.0% 1/2 差 1 人"
    assert _cells(_unit_row(text, world.a.other_branch)) == "机关党支部 0.0% 0/1 差 1 人"
    assert 'title="低于 80%"' in _unit_row(text, world.a.root) and "tflag" not in _unit_row(text, world.a.branch)
    # tree order by default, lowest rate first with ?sort=rate
    order = [int(i) for i in re.findall(r'data-(?:unit|subtree)="(\d+)"', text)]
    assert order == [world.a.root, world.a.committee, world.a.branch, world.a.other_branch]
    by_rate = client.get(f"/t/alpha/campaigns/{bw.campaign_id}/turnout?sort=rate").text
    assert [int(i) for i in re.findall(r'data-(?:unit|subtree)="(\d+)"', by_rate)] == [
        world.a.other_branch, world.a.root, world.a.committee, world.a.branch]
    cats = re.search(r'data-testid="categories">(.*?)</table>', text, re.S).group(1)
    assert "群众</td><td>6</td><td>4</td><td>66.7%" in cats and "全评</td><td>2</td><td>1</td><td>50.0%" in cats
    # the sub-navigation links both pages
    assert f'href="/t/alpha/campaigns/{bw.campaign_id}/turnout">参评率<' in text
    assert f'href="/t/alpha/campaigns/{bw.campaign_id}/sample">个别访谈<' in text


def test_turnout_page_follows_the_rule_and_stops_refreshing_when_closed(app, world):
    bw = _turnout_world(app, world)
    with app.app_context(), tenant_context(world.a.id):
        c = db.session.get(Campaign, bw.campaign_id)
        cp.set_rules(c, [{"metric": "turnout", "op": "le", "threshold": "1/2", "outcome": "提醒"}])
        db.session.commit()
    client = app.test_client()
    login(client, world.a.admin)
    text = client.get(f"/t/alpha/campaigns/{bw.campaign_id}/turnout").text
    assert "2 个单位参评率不高于 50%" in text  # root at exactly 50% counts under "le"
    assert 'title="不高于 50%"' in _unit_row(text, world.a.root)
    assert "tflag" not in _unit_row(text, world.a.branch)
    with app.app_context(), tenant_context(world.a.id):
        c = db.session.get(Campaign, bw.campaign_id)
        cp.set_rules(c, [{"metric": "turnout", "op": "lt", "threshold": "50%", "outcome": "提醒"}])
        cp.transition(c, "close")
        db.session.commit()
    text = client.get(f"/t/alpha/campaigns/{bw.campaign_id}/turnout").text
    assert "1 个单位参评率低于 50%" in text
    assert 'http-equiv="refresh"' not in text
    assert 'title="低于 50%"' in _unit_row(text, world.a.other_branch)
    assert "tflag" not in _unit_row(text, world.a.root)


def test_turnout_page_of_another_tenant_is_404(app, world):
    bw = _turnout_world(app, world)
    client = app.test_client()
    login(client, world.b.admin)
    assert client.get(f"/t/beta/campaigns/{bw.campaign_id}/turnout").status_code == 404
    assert client.get(f"/t/alpha/campaigns/{bw.campaign_id}/turnout").status_code == 404


# ---- sample: the draw -------------------------------------------------------------------------

LINKS = [(1, s) for s in range(1, 16)] + [(2, s) for s in range(1, 4)] + [(7, 9)]


def test_draw_is_reproducible_and_order_free():
    first = sampling.draw(LINKS, 42, 10)
    assert first == [(1, 1), (1, 2), (1, 3), (1, 4), (1, 5), (1, 6), (1, 10), (1, 11), (1, 12), (1, 13),
                     (2, 1), (2, 2), (2, 3), (7, 9)]
    assert sampling.draw(LINKS, 42, 10) == first
    shuffled = LINKS[:]
    random.Random(5).shuffle(shuffled)
    assert sampling.draw(shuffled, 42, 10) == first
    assert sampling.draw(list(reversed(LINKS)) + LINKS[:3], 42, 10) == first  # duplicates ignored
    assert sampling.draw(LINKS, 43, 10) != first
    assert sampling.draw([(1, s) for s in range(1, 11)], 2024, 3) == [(1, 3), (1, 5), (1, 8)]


def test_draw_takes_what_is_there():
    got = sampling.draw(LINKS, 1, 4)
    per_unit = {u: [s for uu, s in got if uu == u] for u in (1, 2, 7)}
    assert [len(per_unit[u]) for u in (1, 2, 7)] == [4, 3, 1]
    assert set(got) <= set(LINKS) and len(set(got)) == len(got)
    assert sampling.draw(LINKS, 1, 100) == sorted(LINKS)
    assert sampling.draw([], 1, 10) == []


def test_create_sample_stores_seed_and_entries(app, world):
    with app.app_context():
        bw = build(world)  # branch 5, root 2, other branch 2
        with tenant_context(world.a.id):
            c = db.session.get(Campaign, bw.campaign_id)
            tokens.revoke(c, short_code=bw.other_branch[1].short_code)
            s = sampling.create_sample(c, per_unit=3, seed=7)
            db.session.commit()
            sid = s.id
        with tenant_context(world.a.id):
            db.session.expire_all()
            stored = db.session.get(InterviewSample, sid)
            assert (stored.campaign_id, stored.seed, stored.per_unit) == (bw.campaign_id, 7, 3)
            entries = [tuple(e) for e in stored.entries]
            revoked = (world.a.other_branch, bw.other_branch[1].serial)
            live = [(lk.unit_id, lk.serial) for lk in [*bw.own, *bw.group, *bw.other_branch]
                    if (lk.unit_id, lk.serial) != revoked]
            assert entries == sampling.draw(live, 7, 3)
            counts = {u: sum(1 for uu, _s in entries if uu == u)
                      for u in (world.a.branch, world.a.root, world.a.other_branch)}
            assert counts == {world.a.branch: 3, world.a.root: 2, world.a.other_branch: 1}
            assert revoked not in entries
            assert (world.a.other_branch, bw.other_branch[0].serial) in entries
            # no seed given: a random one is stored and reproduces the entries
            again = sampling.create_sample(c)
            assert 0 <= again.seed < 2**31 and again.per_unit == 10
            assert [tuple(e) for e in again.entries] == sampling.draw(live, again.seed, 10) == sorted(live)


@pytest.mark.parametrize("bad", [0, 101, "abc", "", "-3", "2.5"])
def test_create_sample_refuses_a_bad_per_unit(app, world, bad):
    with app.app_context():
        bw = build(world)
        with tenant_context(world.a.id):
            c = db.session.get(Campaign, bw.campaign_id)
            with pytest.raises(DomainError) as exc:
                sampling.create_sample(c, per_unit=bad, seed=1)
            assert exc.value.message == "每个单位抽取人数应在 1 到 100 之间" and exc.value.field == "per_unit"
            with pytest.raises(DomainError, match="随机种子应为 0 到 2147483647 之间的整数"):
                sampling.create_sample(c, per_unit=5, seed=2**31)
            assert db.session.execute(select(func.count()).select_from(InterviewSample)).scalar_one() == 0


def test_create_sample_without_links_is_refused(app, world):
    with app.app_context(), tenant_context(world.a.id):
        c = cp.create_campaign("空活动", clock.wall(0), clock.wall(1))
        with pytest.raises(DomainError, match="尚未发放测评码"):
            sampling.create_sample(c, per_unit=5, seed=1)


# ---- sample: page -----------------------------------------------------------------------------

def _sample_count(app, world) -> int:
    with app.app_context(), tenant_context(world.a.id):
        return db.session.execute(select(func.count()).select_from(InterviewSample)).scalar_one()


def test_sample_page_for_an_admin(app, world):
    with app.app_context():
        bw = build(world)
    url = f"/t/alpha/campaigns/{bw.campaign_id}/sample"
    client = app.test_client()
    login(client, world.a.admin)
    empty = client.get(url)
    assert empty.status_code == 200 and "尚未抽取" in empty.text and 'name="per_unit"' in empty.text
    assert 'value="10"' in empty.text
    r = client.post(url, data={"per_unit": "2", "seed": "12345"})
    assert r.status_code == 302
    with app.app_context(), tenant_context(world.a.id):
        s = db.session.execute(select(InterviewSample)).scalar_one()
        sid, entries = s.id, [tuple(e) for e in s.entries]
    assert r.location.endswith(f"{url}?sample={sid}")
    live = [(lk.unit_id, lk.serial) for lk in [*bw.own, *bw.group, *bw.other_branch]]
    assert entries == sampling.draw(live, 12345, 2) and len(entries) == 6
    page = client.get(r.location).text
    assert "已抽取 6 人（随机种子 12345）" in page
    chosen = re.search(r'data-testid="chosen">(.*?)</section>', page, re.S).group(1)
    for unit_id, label in ((world.a.branch, BRANCH), (world.a.root, ROOT), (world.a.other_branch, OTHER)):
        serials = "".join(f'<span class="chip">No.{s:04d}</span>' for u, s in entries if u == unit_id)
        assert f"<td>{label}</td><td>2</td><td>{serials}</td>" in chosen
    # a second sample becomes the default; the first stays reachable
    client.post(url, data={"per_unit": "1", "seed": "99"})
    latest = client.get(url).text
    assert "随机种子 99，每个单位 1 人" in latest
    assert "随机种子 12345，每个单位 2 人" in client.get(f"{url}?sample={sid}").text
    samples = re.search(r'data-testid="samples">(.*?)</table>', latest, re.S).group(1)
    assert "<td>12345</td><td>2</td><td>6</td>" in samples and "<td>99</td><td>1</td><td>3</td>" in samples
    assert client.get(f"{url}?sample=999999").status_code == 404


def test_sample_post_needs_an_admin(app, world):
    with app.app_context():
        bw = build(world)
    url = f"/t/alpha/campaigns/{bw.campaign_id}/sample"
    for email in (world.a.viewer, world.a.unit_admin):
        client = app.test_client()
        login(client, email)
        page = client.get(url)
        assert page.status_code == 200 and 'name="per_unit"' not in page.text
        assert client.post(url, data={"per_unit": "3", "seed": "1"}).status_code == 403
    assert _sample_count(app, world) == 0


def test_sample_page_refuses_a_bad_per_unit(app, world):
    with app.app_context():
        bw = build(world)
    url = f"/t/alpha/campaigns/{bw.campaign_id}/sample"
    client = app.test_client()
    login(client, world.a.admin)
    r = client.post(url, data={"per_unit": "0", "seed": "5"})
    assert r.status_code == 200 and "每个单位抽取人数应在 1 到 100 之间" in r.text
    assert 'name="per_unit" min="1" max="100" value="0"' in r.text  # the input is kept
    r = client.post(url, data={"per_unit": "500"})
    assert "每个单位抽取人数应在 1 到 100 之间" in r.text
    r = client.post(url, data={"per_unit": "3", "seed": "x"})
    assert "随机种子应为 0 到 2147483647 之间的整数" in r.text
    assert _sample_count(app, world) == 0


def test_sample_of_another_campaign_is_404(app, world):
    with app.app_context():
        bw = build(world)
        with tenant_context(world.a.id):
            other = cp.create_campaign("另一活动", clock.wall(0), clock.wall(1))
            s = sampling.create_sample(db.session.get(Campaign, bw.campaign_id), per_unit=1, seed=3)
            db.session.commit()
            other_id, sid = other.id, s.id
    client = app.test_client()
    login(client, world.a.admin)
    assert client.get(f"/t/alpha/campaigns/{other_id}/sample?sample={sid}").status_code == 404
    assert client.get(f"/t/alpha/campaigns/{bw.campaign_id}/sample?sample={sid}").status_code == 200
