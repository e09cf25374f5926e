"""公示: the publication page ``/p/<slug>/<campaign_id>`` is shown only in its window and only to
its scope — every refusal the same 404 — with the stored tally's figures, opinions only when
chosen (a category named only where no subtraction reaches fewer than k ballots), a preview for
the tenant's admins, and the 公示设置 form that refuses a bad end time clearly and changes nothing."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from pingyi.campaigns import lifecycle as cp
from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.models import AuditEvent, Campaign, Subject, TallyRun, utcnow
from pingyi.org import accounts
from pingyi.results import publication
from pingyi.results.rollup import Figures
from pingyi.results.tally import percent, stored_result
from pingyi.tenancy import scoped, tenant_context
from tests import clock
from tests.ballot_world import build, cast, close, published_campaign
from tests.factories import login

pytestmark = pytest.mark.dates  # make test reruns these with the clock shifted


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _set(tenant_id: int, campaign_id: int, **values) -> None:
    """Put the campaign into a state directly (the window's edges are what is tested here)."""
    with tenant_context(tenant_id):
        c = db.session.get(Campaign, campaign_id)
        for k, v in values.items():
            setattr(c, k, v)
        db.session.commit()


@pytest.fixture
def pub(app, world):
    """Alpha's ballot-world campaign with 3 own-unit ballots (a comment each) and 1 all-round
    ballot (another comment), closed; clients for anonymous, a member of alpha, a member of
    the county above it, a member of the unrelated beta, alpha's admin and the superuser."""
    with app.app_context():
        bw = build(world)
        cast(bw.own[:3], (0, 1, 3), comment="希望多开展主题党日")
        cast(bw.group[:1], (2,), comment="全评人员的意见")
        close(world.a.id, bw.campaign_id)
    clients = {"anonymous": app.test_client()}
    for who, email in (("member", world.a.viewer), ("parent", world.county_admin), ("stranger", world.b.admin),
                       ("admin", world.a.admin), ("superuser", world.superuser)):
        clients[who] = app.test_client()
        login(clients[who], email)
    return {"world": world, "bw": bw, "url": f"/p/alpha/{bw.campaign_id}", "clients": clients}


WHO = ("anonymous", "member", "parent", "stranger")
SEES = {"public": set(WHO), "tenant": {"member"}, "oversight": {"parent"}}


def test_visibility_by_scope_viewer_and_window(app, pub):
    world, bw, url, clients = pub["world"], pub["bw"], pub["url"], pub["clients"]
    now = utcnow()
    failures = []
    for scope in ("public", "tenant", "oversight"):
        for when in ("before publish", "inside window", "after publish_until"):
            with app.app_context():
                if when == "before publish":
                    _set(world.a.id, bw.campaign_id, publication_scope=scope, state="closed", published_at=None,
                         publish_until=None)
                elif when == "inside window":
                    _set(world.a.id, bw.campaign_id, publication_scope=scope, state="published",
                         published_at=now - timedelta(hours=1), publish_until=now + timedelta(days=7))
                else:
                    _set(world.a.id, bw.campaign_id, publication_scope=scope, state="published",
                         published_at=now - timedelta(days=8), publish_until=now - timedelta(days=1))
            for who in WHO:
                expected = 200 if when == "inside window" and who in SEES[scope] else 404
                r = clients[who].get(url)
                if r.status_code != expected:
                    failures.append(f"{scope} / {when} / {who}: {r.status_code} (expected {expected})")
                elif expected == 200 and 'data-testid="preview"' in r.text:
                    failures.append(f"{scope} / {when} / {who}: shown as a preview")
            # the superuser passes every scope inside the window (and previews outside it)
            r = clients["superuser"].get(url)
            if r.status_code != 200:
                failures.append(f"{scope} / {when} / superuser: {r.status_code}")
            # alpha's admin always sees it; a banner says when it is only a preview
            r = clients["admin"].get(url)
            live = when == "inside window" and scope in ("public", "tenant")
            if r.status_code != 200 or ('data-testid="preview"' in r.text) == live:
                failures.append(f"{scope} / {when} / admin: {r.status_code}, preview banner {not live} expected")
    assert not failures, "\n".join(failures)


def test_every_refusal_is_the_same_404(app, pub):
    world, bw, url, clients = pub["world"], pub["bw"], pub["url"], pub["clients"]
    with app.app_context():
        beta_cid = published_campaign(world.b, "乙公司评议", scope="public")
    refusals = [url,  # closed, not published
                f"/p/alpha/{beta_cid}",  # beta's (public) campaign under alpha's slug
                f"/p/nope/{bw.campaign_id}", f"/p/alpha/{bw.campaign_id + 999}", f"/p/alpha/{bw.campaign_id}x"]
    anonymous = clients["anonymous"]
    assert anonymous.get(f"/p/beta/{beta_cid}").status_code == 200
    bodies = set()
    for path in refusals:
        r = anonymous.get(path)
        assert r.status_code == 404, path
        bodies.add(r.data)
        assert clients["stranger"].get(path).status_code == 404, path  # beta's admin: nothing of alpha's either
    assert len(bodies) == 1  # nothing tells an unknown tenant from an unpublished campaign
    with app.app_context():
        accounts.set_tenant_active(accounts.tenant_by_slug("beta"), False)
        db.session.commit()
    assert anonymous.get(f"/p/beta/{beta_cid}").status_code == 404  # a deactivated tenant publishes nothing
    with app.app_context():
        _set(world.a.id, bw.campaign_id, state="published", published_at=utcnow() - timedelta(minutes=1),
             publication_scope="public")
    assert anonymous.get(url).status_code == 200
    with app.app_context():  # a future publication time is outside the window as well
        _set(world.a.id, bw.campaign_id, published_at=utcnow() + timedelta(hours=1))
    assert anonymous.get(url).status_code == 404


def test_page_figures_equal_the_stored_tally(app, pub):
    world, bw, url, clients = pub["world"], pub["bw"], pub["url"], pub["clients"]
    with app.app_context():
        _set(world.a.id, bw.campaign_id, state="published", published_at=utcnow(), publication_scope="public")
        with tenant_context(world.a.id):
            run = db.session.execute(select(TallyRun).where(TallyRun.campaign_id == bw.campaign_id)).scalar_one()
            f, ballots = Figures.of(run), run.ballots
            result, _kinds = stored_result(bw.campaign_id)
            subjects = db.session.execute(select(Subject.id, Subject.label)
                                          .where(Subject.campaign_id == bw.campaign_id)).all()
    r = clients["anonymous"].get(url)
    assert r.status_code == 200
    html = r.text
    for testid, value in (("ballots", str(ballots)), ("turnout", percent(f.turnout)),
                          ("coverage", percent(f.coverage)), ("satisfied", percent(f.satisfied_share))):
        assert re.search(rf'data-testid="{testid}">{re.escape(value)}<', html), testid
    assert ballots == 4 and (f.used, f.issued) == (4, 9)
    page = _text(html)
    assert f"参评率（{f.used} / {f.issued}）" in page
    table = _text(html.split('data-testid="subjects"')[1].split("</table>")[0])
    for sid, label in subjects:
        figures = result.by_subject.get(sid)
        if figures and figures.total:
            assert re.search(rf"{re.escape(label)} \S+ {figures.total} {re.escape(percent(figures.satisfied_share))}",
                             table), (label, table)
    assert f'action="/p/alpha/{bw.campaign_id}/receipt"' in html  # the receipt check is on the page
    assert "希望多开展主题党日" not in html and 'data-testid="opinions"' not in html  # opinions not chosen


def _opinions(html: str) -> list[tuple[str, str]]:
    return re.findall(r'data-testid="opinion-category">([^<]*)</span> ([^<]*)</p>', html)


def test_opinions_only_when_chosen_and_categories_suppressed_below_k(app, pub):
    world, bw, url, clients = pub["world"], pub["bw"], pub["url"], pub["clients"]
    with app.app_context():
        _set(world.a.id, bw.campaign_id, state="published", published_at=utcnow(), publication_scope="public")
    assert _opinions(clients["anonymous"].get(url).text) == []
    with app.app_context():
        _set(world.a.id, bw.campaign_id, publish_opinions=True)
    app.config["MIN_CELL"] = 1  # nothing suppressed: every opinion names its category
    shown = _opinions(clients["anonymous"].get(url).text)
    assert ("群众", "希望多开展主题党日") in shown and ("全评", "全评人员的意见") in shown
    # 3 群众 ballots on 采煤一队 are enough for k = 3, but naming them would name the lone
    # all-round evaluator too (every opinion not marked 群众 would be theirs): neither is named
    app.config["MIN_CELL"] = 3
    shown = _opinions(clients["anonymous"].get(url).text)
    assert ("&lt;3", "希望多开展主题党日") in shown and ("&lt;3", "全评人员的意见") in shown
    assert {cat for cat, _t in shown} == {"&lt;3"}
    assert "或由合计可推算出这样的类别时" in clients["anonymous"].get(url).text
    app.config["MIN_CELL"] = 4
    shown = _opinions(clients["anonymous"].get(url).text)
    assert {cat for cat, _t in shown} == {"&lt;4"}
    app.config["MIN_CELL"] = 5


def test_settings_form_validates_and_shows_the_public_url(app, pub):
    world, bw, clients = pub["world"], pub["bw"], pub["clients"]
    admin = clients["admin"]
    page = f"/t/alpha/campaigns/{bw.campaign_id}"
    assert "公示设置" in admin.get(page).text
    assert "公示设置" not in clients["member"].get(page).text  # a viewer has no such form
    assert clients["member"].post(page, data={"op": "publication", "publication_scope": "public"}).status_code == 403

    def state():
        with app.app_context(), tenant_context(world.a.id):
            c = db.session.get(Campaign, bw.campaign_id)
            return c.publication_scope, c.publish_until, c.publish_opinions

    before = state()
    # not yet published: the end must lie in the future
    r = admin.post(page, data={"op": "publication", "publication_scope": "public", "publish_until": clock.wall(-1, sep="T"),
                               "publish_opinions": "1"}, follow_redirects=True)
    assert "公示截止时间必须晚于当前时间" in r.text and state() == before
    r = admin.post(page, data={"op": "publication", "publication_scope": "everyone", "publish_until": ""},
                   follow_redirects=True)
    assert "未知的公示范围" in r.text and state() == before
    r = admin.post(page, data={"op": "publication", "publication_scope": "public", "publish_until": "下周"},
                   follow_redirects=True)
    assert "格式不正确" in r.text and state() == before
    # published: the end must lie after the publication time (in the campaign's zone)
    with app.app_context():
        _set(world.a.id, bw.campaign_id, state="published", published_at=utcnow() - timedelta(days=2))
    before = state()
    with app.app_context(), tenant_context(world.a.id):
        c = db.session.get(Campaign, bw.campaign_id)
        early = cp.local(c.published_at - timedelta(hours=1), c.timezone).strftime("%Y-%m-%dT%H:%M")
        good = cp.local(utcnow() + timedelta(days=10), c.timezone).strftime("%Y-%m-%dT%H:%M")
        published_local = cp.local(c.published_at, c.timezone).strftime("%Y-%m-%d %H:%M")
    r = admin.post(page, data={"op": "publication", "publication_scope": "oversight", "publish_until": early,
                               "publish_opinions": "1"}, follow_redirects=True)
    assert f"公示截止时间必须晚于公布时间（{published_local}）" in r.text and state() == before
    r = admin.post(page, data={"op": "publication", "publication_scope": "public", "publish_until": good,
                               "publish_opinions": "1"}, follow_redirects=True)
    assert "已保存公示设置" in r.text
    scope, until, opinions = state()
    assert (scope, opinions) == ("public", True)
    with app.app_context(), tenant_context(world.a.id):
        assert cp.local(until, "Asia/Shanghai").strftime("%Y-%m-%dT%H:%M") == good
        event = db.session.execute(scoped(AuditEvent).where(AuditEvent.object_type == "campaigns")
                                   .order_by(AuditEvent.id.desc())).scalars().first()
        assert event.action == "update" and event.actor == world.a.admin
        assert {"publication_scope", "publish_until", "publish_opinions"} <= set(event.detail["changes"])
    assert f'value="{good}"' in r.text  # shown back in the campaign's zone
    assert f'/p/alpha/{bw.campaign_id}</a>' in r.text  # the public URL, once published
    # an empty end means open-ended
    admin.post(page, data={"op": "publication", "publication_scope": "public", "publish_until": ""})
    assert state()[1] is None


def test_domain_rules(app, pub):
    world, bw = pub["world"], pub["bw"]
    with app.app_context(), tenant_context(world.a.id):
        c = db.session.get(Campaign, bw.campaign_id)
        now = utcnow()
        c.state, c.published_at, c.publication_scope = "published", now - timedelta(hours=1), "public"
        assert publication.visible(c, None, now)
        c.publish_until = now
        assert not publication.visible(c, None, now)  # the end is exclusive
        assert publication.mode(c, None, now) is None
        with pytest.raises(DomainError):
            cp.set_publication(c, "public", now - timedelta(hours=2), False)
        db.session.rollback()
