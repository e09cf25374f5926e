"""A selected opinion becomes a ledger item from the subject's results page; an opinion the
campaign does not hold is refused and stores nothing."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from pingyi.extensions import db
from pingyi.models import Comment, RectificationItem, utcnow
from pingyi.rectification import ledger
from pingyi.tenancy import tenant_context
from tests.factories import login


def test_an_opinion_becomes_a_ledger_item_from_the_subject_page(counted, unbatched):
    world, c = counted
    subject_id, item_id, text = db.session.execute(select(Comment.subject_id, Comment.item_id, Comment.text)
                                                   .where(Comment.campaign_id == c.id)).first()
    deadline = (ledger.local_today(utcnow(), c.timezone) + timedelta(days=30)).isoformat()
    client = unbatched.test_client()
    login(client, world.a.admin)
    page = client.get(f"/t/alpha/campaigns/{c.id}/results/subjects/{subject_id}").text
    assert 'data-testid="opinion-to-item"' in page and f'name="item_id" value="{item_id}"' in page
    url = f"/t/alpha/campaigns/{c.id}/rectification"
    forged = client.post(url, data={"op": "opinion", "subject_id": subject_id, "item_id": item_id,
                                    "text": text + "（改过）", "deadline": deadline}, follow_redirects=True)
    assert "没有找到这条意见建议" in forged.text
    r = client.post(url, data={"op": "opinion", "subject_id": subject_id, "item_id": item_id, "text": text,
                               "deadline": deadline, "person": "支部书记"})
    assert r.status_code == 302 and "/rectification/" in r.location
    with unbatched.app_context(), tenant_context(world.a.id):
        (item,) = db.session.execute(select(RectificationItem)).scalars().all()
        assert (item.source, item.subject_id, item.problem, item.person) == ("opinion", subject_id, text, "支部书记")
        assert db.session.execute(select(func.count()).select_from(RectificationItem)).scalar_one() == 1
