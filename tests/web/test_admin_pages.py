"""Admin pages: the tree, unit/person editing, members, and the audit trail every write leaves."""

from __future__ import annotations

from sqlalchemy import select

from pingyi.extensions import db
from pingyi.models import AuditEvent, Person, Unit
from pingyi.tenancy import tenant_context, unscoped
from tests.factories import login


def _events(tenant_id: int) -> list[AuditEvent]:
    with unscoped():
        return db.session.execute(select(AuditEvent).where(AuditEvent.tenant_id == tenant_id)
                                  .order_by(AuditEvent.id)).scalars().all()


def test_tree_page_shows_counts_and_nesting(app, world):
    client = app.test_client()
    login(client, world.a.admin)
    page = client.get("/t/alpha/units").text
    assert 'data-testid="branch-count">2<' in page
    assert page.index("公司党委") < page.index("一矿党委") < page.index("采煤一队党支部")


def test_unit_crud_with_audit(app, world):
    client = app.test_client()
    login(client, world.a.admin)
    r = client.post("/t/alpha/units/new", data={"name": "二矿党委", "kind": "committee",
                                                  "parent_id": world.a.root, "sort_order": 2})
    assert r.status_code == 302
    with app.app_context(), tenant_context(world.a.id):
        new = db.session.execute(select(Unit).where(Unit.name == "二矿党委")).scalar_one()
        new_id, root_path = new.id, db.session.get(Unit, world.a.root).path
    assert new.path == f"{root_path}{new_id}/"
    # duplicate sibling name refused
    r = client.post("/t/alpha/units/new", data={"name": "二矿党委", "kind": "committee", "parent_id": world.a.root})
    assert "同一上级下已有" in r.text
    # move 采煤一队 under 二矿: paths of the subtree follow
    r = client.post(f"/t/alpha/units/{world.a.branch}", data={"name": "采煤一队党支部", "kind": "branch",
                                                               "parent_id": new_id, "sort_order": 0})
    assert r.status_code == 302
    with app.app_context(), tenant_context(world.a.id):
        moved = db.session.get(Unit, world.a.branch)
        assert moved.path == f"{root_path}{new_id}/{moved.id}/" and moved.depth == 2
    # cannot move a unit under its own descendant
    r = client.post(f"/t/alpha/units/{new_id}", data={"name": "二矿党委", "kind": "committee",
                                                       "parent_id": world.a.branch})
    assert "不能把单位移到它自己或它的下级" in r.text
    # cannot delete a unit with children; can delete an empty one
    r = client.post(f"/t/alpha/units/{new_id}/delete", follow_redirects=True)
    assert "还有下级单位" in r.text
    with app.app_context():
        events = _events(world.a.id)
    kinds = [(e.action, e.object_type, e.actor) for e in events[-2:]]
    assert kinds[-1] == ("update", "units", world.a.admin)
    assert events[-1].detail["changes"]["parent_id"][1] == new_id
    assert "path" not in events[-1].detail["changes"]


def test_person_crud_with_audit(app, world):
    client = app.test_client()
    login(client, world.a.admin)
    r = client.post("/t/alpha/people/new", data={"name": "孙丽", "unit_id": world.a.branch, "position": "委员",
                                                   "is_party_member": "y"})
    assert r.status_code == 302
    with app.app_context(), tenant_context(world.a.id):
        pid = db.session.execute(select(Person.id).where(Person.name == "孙丽")).scalar_one()
    r = client.post(f"/t/alpha/people/{pid}", data={"name": "孙丽", "unit_id": world.a.other_branch,
                                                     "position": "书记"})
    assert r.status_code == 302
    assert client.post(f"/t/alpha/people/{pid}/delete").status_code == 302
    with app.app_context():
        events = [(e.action, e.object_type) for e in _events(world.a.id)][-3:]
        last_update = [e for e in _events(world.a.id) if e.action == "update"][-1]
    assert events == [("create", "people"), ("update", "people"), ("delete", "people")]
    assert last_update.detail["changes"]["position"] == ["委员", "书记"]
    assert last_update.detail["changes"]["is_party_member"] == [True, False]
    page = client.get("/t/alpha/audit").text
    assert "孙丽" in page and world.a.admin in page


def test_people_search_and_paging(app, world):
    client = app.test_client()
    login(client, world.a.admin)
    assert "王伟" in client.get("/t/alpha/people?q=王").text
    assert "李娜" not in client.get("/t/alpha/people?q=王").text
    assert "李娜" not in client.get(f"/t/alpha/people?unit={world.a.committee}").text


def test_members_page_grants_roles(app, world):
    client = app.test_client()
    login(client, world.a.admin)
    r = client.post("/t/alpha/members", data={"email": "new@alpha.test", "role": "viewer", "unit_id": ""})
    assert "一次性密码" in r.text
    password = r.text.split('class="secret">')[1].split("<")[0]
    fresh = app.test_client()
    login(fresh, "new@alpha.test", password)
    assert fresh.get("/t/alpha/").status_code == 200
    r = client.post("/t/alpha/members", data={"email": "u2@alpha.test", "role": "unit_admin", "unit_id": ""})
    assert "必须指定所管单位" in r.text


def test_settings_rename_tenant(app, world):
    client = app.test_client()
    login(client, world.a.admin)
    client.post("/t/alpha/settings", data={"name": "甲集团"})
    assert "甲集团" in client.get("/t/alpha/").text


def test_platform_tenant_admin(app, world):
    client = app.test_client()
    login(client, world.superuser)
    r = client.post("/platform/tenants", data={"slug": "gamma", "name": "丙", "parent": "county",
                                               "admin_email": "admin@gamma.test"})
    assert "一次性密码" in r.text
    r = client.post("/platform/tenants", data={"slug": "Bad Slug", "name": "x"})
    assert "标识只能用小写字母" in r.text
    r = client.post("/platform/tenants", data={"slug": "delta", "name": "丁", "parent": "nope"})
    assert "找不到上级租户" in r.text


def test_oversight_page_lists_subordinates(app, world):
    client = app.test_client()
    login(client, world.county_admin)
    page = client.get("/t/county/oversight/").text
    assert "甲公司" in page and "乙公司" not in page  # beta is not under the county


def test_english_ui(app, world):
    client = app.test_client()
    page = client.get("/login?lang=en").text
    assert "Log in" in page and "登录" not in page.split("<main>")[1]
    assert "Log in" in client.get("/login").text  # remembered
    assert "登录" in client.get("/login?lang=zh_Hans_CN").text


def test_errors_are_friendly_pages(app, world):
    client = app.test_client()
    login(client, world.a.admin)
    r = client.get("/t/alpha/units/999999")
    assert r.status_code == 404 and "找不到该页面" in r.text
