"""The public page /f/<slug>: leaving an entry, the rate limit, bad input (nothing stored, the
text kept), CSRF, deactivated tenants, and the published answers it shows."""

from __future__ import annotations

import secrets

from sqlalchemy import func, select

from pingyi.extensions import db
from pingyi.feedback import answers, box
from pingyi.models import AuditEvent, FeedbackEntry, LoginSession, Tenant
from pingyi.tenancy import tenant_context, unscoped
from tests.rectification.ledger_world import actors


def _client(app):
    """A client with an address of its own: the rate limit's key."""
    c = app.test_client()
    c.environ_base["REMOTE_ADDR"] = f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.7"
    return c


def _rows(app):
    with app.app_context(), unscoped():
        return db.session.execute(select(FeedbackEntry.__table__)).mappings().all()


def test_leaving_an_entry(app, world):
    c = _client(app)
    page = c.get("/f/alpha")
    assert page.status_code == 200 and "信息收集箱" in page.text and "采煤一队党支部" in page.text
    assert "乙公司" not in page.text and page.headers["Cache-Control"].startswith("private")
    with app.app_context(), unscoped():
        audit_before = db.session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    r = c.post("/f/alpha", data={"unit_id": world.a.branch, "text": "希望支部活动多些新形式"})
    assert r.status_code == 302 and "sent=1" in r.location
    assert "已收到您的意见" in c.get(r.location).text
    (row,) = _rows(app)
    assert dict(row) | {"id": 0} == {"id": 0, "tenant_id": world.a.id, "unit_id": world.a.branch, "campaign_id": None,
                                     "text": "希望支部活动多些新形式", "submitted_on": box.today(), "answer": "",
                                     "answered_at": None, "published": False}
    with app.app_context(), unscoped():  # no trace in the audit trail, no session kept on the server
        assert db.session.execute(select(func.count()).select_from(AuditEvent)).scalar_one() == audit_before
        assert db.session.execute(select(func.count()).select_from(LoginSession)).scalar_one() == 0


def test_bad_input_stores_nothing_and_keeps_the_text(app, world):
    c = _client(app)
    for data, message in [({"unit_id": world.a.branch, "text": "  "}, "请填写您的意见或建议"),
                          ({"unit_id": world.a.branch, "text": "长" * 2001}, "意见不能超过 2000 字"),
                          ({"unit_id": world.b.branch, "text": "别的单位的意见"}, "请选择本单位组织机构中的一个单位"),
                          ({"unit_id": "", "text": "没有选单位"}, "请选择本单位组织机构中的一个单位")]:
        r = c.post("/f/alpha", data=data)
        assert r.status_code == 400 and message in r.text, data
        assert data["text"].strip()[:50] in r.text  # what was typed is still in the form
    assert _rows(app) == []


def test_rate_limited_per_address(app, world):
    app.config["FEEDBACK_LIMIT"] = "2 per minute"
    c = _client(app)
    for _ in range(2):
        assert c.post("/f/alpha", data={"unit_id": world.a.branch, "text": "意见"}).status_code == 302
    r = c.post("/f/alpha", data={"unit_id": world.a.branch, "text": "第三条"})
    assert r.status_code == 429 and "提交过于频繁" in r.text and "没有保存任何内容" in r.text
    assert int(r.headers["Retry-After"]) >= 1
    assert len(_rows(app)) == 2
    assert c.get("/f/alpha").status_code == 200  # reading is not limited
    assert _client(app).post("/f/alpha", data={"unit_id": world.a.branch, "text": "另一个地址"}).status_code == 302


def test_csrf_is_required(app, world):
    app.config["WTF_CSRF_ENABLED"] = True
    c = _client(app)
    r = c.post("/f/alpha", data={"unit_id": world.a.branch, "text": "没有令牌"})
    assert r.status_code == 400 and "没有令牌" in r.text and _rows(app) == []
    page = c.get("/f/alpha").text
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    r = c.post("/f/alpha", data={"unit_id": world.a.branch, "text": "有令牌", "csrf_token": token})
    assert r.status_code == 302 and len(_rows(app)) == 1


def test_unknown_or_deactivated_tenant_is_404(app, world):
    c = _client(app)
    assert c.get("/f/nosuch").status_code == 404
    with app.app_context():
        db.session.execute(db.update(Tenant).where(Tenant.slug == "beta").values(is_active=False))
        db.session.commit()
    assert c.get("/f/beta").status_code == 404
    assert c.post("/f/beta", data={"unit_id": world.b.branch, "text": "意见"}).status_code == 404
    assert _rows(app) == []


def test_published_answers_without_campaign_are_shown(app, world):
    c = _client(app)
    c.post("/f/alpha", data={"unit_id": world.a.branch, "text": "已公开的意见"})
    c.post("/f/alpha", data={"unit_id": world.a.branch, "text": "未公开的意见"})
    with app.app_context(), tenant_context(world.a.id):
        who = actors(world.a)
        by_text = {e.text: e for e in db.session.execute(select(FeedbackEntry)).scalars()}
        answers.answer(by_text["已公开的意见"], "答复甲", who.admin)
        answers.publish(by_text["已公开的意见"], True, who.admin)
        answers.answer(by_text["未公开的意见"], "答复乙", who.admin)
        db.session.commit()
    page = c.get("/f/alpha").text
    assert "已答复" in page and "答复甲" in page and "已公开的意见" in page
    assert "答复乙" not in page and "未公开的意见" not in page
    assert "答复甲" not in c.get("/f/beta").text
