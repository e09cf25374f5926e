"""The ledger's admin pages: a unit admin takes an item of their subtree from open to done with
evidence, the tenant admin verifies it; roles and subtrees answer 403/404; a verdict list
becomes items from the list page."""

from __future__ import annotations

import io

from sqlalchemy import select

from pingyi.extensions import db
from pingyi.models import Campaign, RectificationFile, RectificationItem
from pingyi.rectification import ledger
from pingyi.tenancy import tenant_context
from tests import clock
from tests.factories import login
from tests.rectification.ledger_world import actors, closed_campaign, draft

PDF = b"%PDF-1.4\n% evidence\n"


def _items(app, world):
    with app.app_context():
        cid = closed_campaign(world.a)
        with tenant_context(world.a.id):
            c, who = db.session.get(Campaign, cid), actors(world.a)
            inside = ledger.create_item(c, draft(world.a), who.admin, "feedback", "1").id
            outside = ledger.create_item(c, draft(world.a, unit="other_branch", problem="机关问题"), who.admin,
                                         "feedback", "2").id
            db.session.commit()
    return cid, inside, outside


def test_unit_admin_closes_an_item_with_evidence_and_the_admin_verifies(app, world, client):
    cid, inside, outside = _items(app, world)
    base = f"/t/{world.a.slug}/campaigns/{cid}/rectification"
    login(client, world.a.unit_admin)
    page = client.get(base)
    assert page.status_code == 200 and "活动形式单一" in page.text and "机关问题" not in page.text
    assert client.get(f"{base}/{outside}").status_code == 404  # outside the subtree
    for to in ("in_progress", "done"):
        r = client.post(f"{base}/{inside}", data={"op": "move", "to_state": to, "note": "按期推进"})
        assert r.status_code == 302
    r = client.post(f"{base}/{inside}", data={"op": "file", "file": (io.BytesIO(PDF), "会议记录.pdf")},
                    content_type="multipart/form-data")
    assert r.status_code == 302
    r = client.post(f"{base}/{inside}", data={"op": "file", "file": (io.BytesIO(b"MZ"), "x.exe")},
                    content_type="multipart/form-data", follow_redirects=True)
    assert "只能上传" in r.text
    client.post(f"{base}/{inside}", data={"op": "edit", "evidence": "已召开专题组织生活会", "measure": "每月一次",
                                          "person": "张三", "deadline": ""})
    r = client.post(f"{base}/{inside}", data={"op": "move", "to_state": "verified"}, follow_redirects=True)
    assert "只有管理员才能验收整改事项" in r.text  # only the tenant admin verifies
    detail = client.get(f"{base}/{inside}")
    assert "会议记录.pdf" in detail.text and "已召开专题组织生活会" in detail.text and "已完成" in detail.text
    with app.app_context(), tenant_context(world.a.id):
        f = db.session.execute(select(RectificationFile)).scalar_one()
    assert client.get(f"{base}/{inside}/files/{f.id}").data == PDF
    client.get("/logout")
    login(client, world.a.admin)
    r = client.post(f"{base}/{inside}", data={"op": "move", "to_state": "verified", "note": "验收通过"},
                    follow_redirects=True)
    assert r.status_code == 200 and "已验收" in r.text and "验收通过" in r.text
    with app.app_context(), tenant_context(world.a.id):
        item = db.session.get(RectificationItem, inside)
        assert (item.state, item.evidence, item.measure) == ("verified", "已召开专题组织生活会", "每月一次")
        assert [e.to_state for e in ledger.history(item)][-3:] == ["done", "done", "verified"]


def test_viewer_reads_and_other_tenants_get_404(app, world, client):
    cid, inside, _outside = _items(app, world)
    base = f"/t/{world.a.slug}/campaigns/{cid}/rectification"
    login(client, world.a.viewer)
    assert client.get(f"{base}/{inside}").status_code == 200
    assert client.post(f"{base}/{inside}", data={"op": "move", "to_state": "in_progress"}).status_code == 403
    client.get("/logout")
    login(client, world.b.admin)
    assert client.get(base).status_code == 404
    assert client.get(f"/t/{world.b.slug}/campaigns/{cid}/rectification/{inside}").status_code == 404


def test_a_verdict_list_becomes_items_from_the_list_page(counted, client):
    world, c = counted
    login(client, world.a.admin)
    base = f"/t/{world.a.slug}/campaigns/{c.id}/rectification"
    page = client.get(base)
    assert "限期整改，本年度不得评先评优" in page.text
    r = client.post(base, data={"op": "verdict", "outcome": "限期整改，本年度不得评先评优",
                                "deadline": clock.day(-1).date().isoformat()}, follow_redirects=True)
    assert "整改时限不能早于" in r.text
    r = client.post(base, data={"op": "verdict", "outcome": "限期整改，本年度不得评先评优",
                                "deadline": clock.day(20).date().isoformat(), "measure": "制定方案"},
                    follow_redirects=True)
    n = len(ledger.verdict_subjects(c, "限期整改，本年度不得评先评优"))
    assert f"已建立 {n} 项整改事项" in r.text
    r = client.post(base, data={"op": "overdue"}, follow_redirects=True)
    assert "已开始检查逾期事项" in r.text and 'data-testid="overdue-count">0<' in r.text
