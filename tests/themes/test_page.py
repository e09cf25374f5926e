"""The 意见主题 page: the tenant admin groups, reads counts and texts, edits the rules and turns a
theme into ledger items; a unit admin sees their subtree only; a viewer sees counts, no texts;
another tenant gets 404."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from pingyi.extensions import db
from pingyi.models import RectificationItem, ThemeRule, utcnow
from pingyi.tenancy import tenant_context
from tests.ballot_world import build
from tests.factories import login
from tests.themes.world import FORM, LATE, PRAISE, voted


def _page(client, cid):
    r = client.get(f"/t/alpha/campaigns/{cid}/themes")
    assert r.status_code == 200, r.status_code
    return r.text


def _cells(html: str) -> list[list[str]]:
    table = html.split('data-testid="theme-counts"', 1)[1].split("</table>", 1)[0]
    return [re.findall(r"<t[dh]>(.*?)</t[dh]>", tr) for tr in re.findall(r"<tr>(.*?)</tr>", table, re.S)]


def test_admins_unit_admins_viewers_and_other_tenants(app, unbatched, world):
    bw = voted(app, world, k=2)
    client = app.test_client()
    login(client, world.a.admin)
    cid = bw.campaign_id
    html = _page(client, cid)
    assert 'data-testid="themes-stale"' in html and 'data-testid="theme-counts"' not in html
    assert "活动形式单一：形式单一、形式单调" in html  # the default rules in the edit box
    r = client.post(f"/t/alpha/campaigns/{cid}/themes", data={"op": "run"}, follow_redirects=True)
    assert "已完成意见归类" in r.text
    html = _page(client, cid)
    assert 'data-testid="themes-stale"' not in html
    rows = _cells(html)
    assert rows[0] == ["主题", "全部", "一矿党委", "机关党支部"]
    assert rows[2][0] == "开展不平衡" and rows[2][1] == "&lt;2"
    assert FORM in html and LATE in html and PRAISE in html
    deadline = (utcnow() + timedelta(days=20)).date().isoformat()
    r = client.post(f"/t/alpha/campaigns/{cid}/themes", data={"op": "ledger", "theme": "信息报送不及时",
                                                              "deadline": deadline}, follow_redirects=True)
    assert "已建立 1 项整改事项" in r.text
    r = client.post(f"/t/alpha/campaigns/{cid}/themes", data={"op": "ledger", "theme": "信息报送不及时",
                                                              "deadline": "明天"}, follow_redirects=True)
    assert "请填写整改时限" in r.text
    with app.app_context(), tenant_context(world.a.id):
        made = db.session.execute(select(RectificationItem)).scalars().all()
        assert [(i.source, i.unit_id) for i in made] == [("theme", world.a.other_branch)]
    unit = app.test_client()
    login(unit, world.a.unit_admin)
    html = _page(unit, cid)
    assert _cells(html)[0] == ["主题", "一矿党委"]
    assert FORM in html and LATE not in html and PRAISE in html  # 全评 ballots rated their branch too
    assert 'data-testid="theme-rules"' not in html and 'data-testid="themes-run"' not in html
    assert unit.post(f"/t/alpha/campaigns/{cid}/themes", data={"op": "run"}).status_code == 403
    assert unit.post(f"/t/alpha/campaigns/{cid}/themes", data={"op": "rules", "rules": "a：b"}).status_code == 403
    viewer = app.test_client()
    login(viewer, world.a.viewer)
    html = _page(viewer, cid)
    assert 'data-testid="theme-counts"' in html and FORM not in html and "转为整改事项" not in html
    assert viewer.post(f"/t/alpha/campaigns/{cid}/themes", data={"op": "ledger"}).status_code == 403
    other = app.test_client()
    login(other, world.b.admin)
    assert other.get(f"/t/alpha/campaigns/{cid}/themes").status_code == 404
    assert other.get(f"/t/{world.b.slug}/campaigns/{cid}/themes").status_code == 404


def test_admin_edits_the_rules_and_bad_rules_store_nothing(app, world):
    client = app.test_client()
    login(client, world.a.admin)
    with app.app_context():
        cid = build(world).campaign_id
    html = _page(client, cid)
    assert "评议活动结束并完成统计后才能归类意见。" in html
    url = f"/t/alpha/campaigns/{cid}/themes"
    r = client.post(url, data={"op": "rules", "rules": "表扬：满意、团结\n：没有名称"}, follow_redirects=True)
    assert "第 2 行：主题名称不能为空" in r.text
    r = client.post(url, data={"op": "rules", "rules": "x" * 20001}, follow_redirects=True)
    assert "规则文本不能超过 20000 字" in r.text
    with app.app_context(), tenant_context(world.a.id):
        assert db.session.execute(select(ThemeRule)).scalars().all() == []
    r = client.post(url, data={"op": "rules", "rules": "表扬：满意、团结"}, follow_redirects=True)
    assert "已保存主题规则" in r.text and "表扬：满意、团结" in r.text
    r = client.post(url, data={"op": "run"}, follow_redirects=True)
    assert "评议活动结束并完成统计后才能归类意见" in r.text  # still open
    r = client.post(url, data={"op": "reset"}, follow_redirects=True)
    assert "已恢复默认主题规则" in r.text and "活动形式单一：" in r.text
