"""结果运用: the tenant admin records decisions about subjects once the results are counted, each
resting on a review; bad input stores nothing; the list downloads as .xlsx; nobody else sees
them (unit admins, viewers, another tenant, the public page, oversight)."""

from __future__ import annotations

import io
from datetime import timedelta

import openpyxl
import pytest
from sqlalchemy import func, select

from pingyi.campaigns import lifecycle as cp
from pingyi.decisions import records
from pingyi.errors import DomainError
from pingyi.extensions import db
from pingyi.models import Campaign, Subject, SubjectDecision, utcnow
from pingyi.tenancy import tenant_context
from tests.ballot_world import build, close, vote
from tests.factories import login

pytestmark = pytest.mark.dates  # make test reruns these with the clock shifted


def _count() -> int:
    return db.session.execute(select(func.count()).select_from(SubjectDecision)).scalar_one()


@pytest.fixture
def counted(unbatched, world):
    """Tenant A's campaign with seed 001 篇3's rules (no decision while it is open), 机关党支部 rated
    不满意, closed, counted and published to everyone."""
    with unbatched.app_context():
        bw = build(world, links=2)
        with tenant_context(world.a.id):
            c = db.session.get(Campaign, bw.campaign_id)
            cp.add_preset(c, "seed001-3")
            db.session.commit()
            subject = db.session.execute(select(Subject.id).where(Subject.campaign_id == c.id)).scalars().first()
            with pytest.raises(DomainError, match="统计后"):
                records.record(c, subject, "admonish", "复核属实", cp.local(utcnow(), c.timezone).date())
            db.session.rollback()
        vote(world, bw, bw.own, [0, 1])
        vote(world, bw, bw.other_branch, [3, 3])
        close(world.a.id, bw.campaign_id, publish=True)
        with tenant_context(world.a.id):
            cp.set_publication(db.session.get(Campaign, bw.campaign_id), "public", None, False)
            db.session.commit()
    return bw.campaign_id


def test_decisions_are_recorded_listed_and_exported_by_the_tenant_admin(unbatched, world, counted):
    client = unbatched.test_client()
    login(client, world.a.admin)
    url = f"/t/alpha/campaigns/{counted}/decisions"
    page = client.get(url)
    assert page.status_code == 200 and "<optgroup" in page.text  # the verdict lists offer their subjects
    with unbatched.app_context(), tenant_context(world.a.id):
        c = db.session.get(Campaign, counted)
        today = cp.local(utcnow(), c.timezone).date()
        subject, label = db.session.execute(select(Subject.id, Subject.label).where(
            Subject.campaign_id == counted, Subject.kind == "unit")).first()
    r = client.post(url, data={"subject_id": subject, "kind": "admonish", "review": "=经复核，群众意见属实",
                               "decided_on": today.isoformat(), "note": "党委书记约谈"}, follow_redirects=True)
    assert "已记录" in r.text and "诫勉谈话" in r.text and "=经复核，群众意见属实" in r.text
    bad = [({"review": ""}, "请填写复核意见"), ({"kind": "fire"}, "请选择运用方式"),
           ({"decided_on": (today + timedelta(days=1)).isoformat()}, "不能晚于今天"),
           ({"decided_on": "明天"}, "格式不正确"), ({"subject_id": "999999"}, "请选择本次评议的评议对象")]
    for change, message in bad:
        data = {"subject_id": subject, "kind": "commend", "review": "复核", "decided_on": today.isoformat(),
                "note": "保留"} | change
        refused = client.post(url, data=data, follow_redirects=True)
        assert message in refused.text and 'value="保留"' in refused.text, message  # the typed note stays
    with unbatched.app_context(), tenant_context(world.a.id):
        assert _count() == 1
    # the list as .xlsx: what was typed, never a formula
    x = client.get(f"{url.removesuffix('/decisions')}/decisions.xlsx")
    assert x.status_code == 200 and x.mimetype.endswith("spreadsheetml.sheet")
    ws = openpyxl.load_workbook(io.BytesIO(x.data)).active
    row = [cell.value for cell in ws[4]]
    assert row[:3] == [label, row[1], "诫勉谈话"] and row[3] == "'=经复核，群众意见属实" and row[4] == today.isoformat()
    # the subject's page leads here; deleting removes it
    assert f"decisions?subject={subject}" in client.get(
        f"/t/alpha/campaigns/{counted}/results/subjects/{subject}").text
    with unbatched.app_context(), tenant_context(world.a.id):
        decision = db.session.execute(select(SubjectDecision.id)).scalar_one()
    client.post(url, data={"op": "delete", "decision_id": decision})
    with unbatched.app_context(), tenant_context(world.a.id):
        assert _count() == 0


def test_nobody_but_the_tenant_admin_sees_decisions(unbatched, world, counted):
    with unbatched.app_context(), tenant_context(world.a.id):
        c = db.session.get(Campaign, counted)
        subject = db.session.execute(select(Subject.id).where(Subject.campaign_id == counted)).scalars().first()
        records.record(c, subject, "admonish", "复核属实：秘密的复核意见", cp.local(utcnow(), c.timezone).date())
        db.session.commit()
    for who in (world.a.unit_admin, world.a.viewer):
        client = unbatched.test_client()
        login(client, who)
        assert client.get(f"/t/alpha/campaigns/{counted}/decisions").status_code == 403
        assert client.get(f"/t/alpha/campaigns/{counted}/decisions.xlsx").status_code == 403
    client = unbatched.test_client()
    login(client, world.b.admin)  # another tenant: its own campaign ids only
    assert client.get(f"/t/alpha/campaigns/{counted}/decisions").status_code in (403, 404)
    public = unbatched.test_client().get(f"/p/alpha/{counted}")
    assert public.status_code == 200 and "秘密的复核意见" not in public.text
    county = unbatched.test_client()
    login(county, world.county_admin)
    assert "秘密的复核意见" not in county.get(f"/t/county/oversight/alpha/{counted}").text
    with unbatched.app_context(), tenant_context(world.b.id):
        assert _count() == 0
