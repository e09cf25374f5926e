"""The admin pages for forms and campaigns, driven like a browser (test client)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from pingyi.extensions import db
from pingyi.models import BallotToken, Campaign, Form, Subject
from pingyi.tenancy import tenant_context
from tests import clock
from tests.factories import login

pytestmark = pytest.mark.dates  # make test reruns these with the clock shifted


def _admin(app, world):
    client = app.test_client()
    login(client, world.a.admin)
    return client


def _new_id(r, what: str) -> int:
    return int(re.search(rf"/{what}/(\d+)", r.location).group(1))


def test_build_and_open_seed_002_campaign_in_the_browser(app, world):
    c = _admin(app, world)
    assert "基层党组织开展创先争优活动群众评议表" in c.get("/t/alpha/forms").text
    org = _new_id(c.post("/t/alpha/forms", data={"template": "seed002-org"}), "forms")
    member = _new_id(c.post("/t/alpha/forms", data={"template": "seed002-member"}), "forms")
    page = c.get(f"/t/alpha/forms/{org}").text
    assert "兑现创先争优公开承诺情况" in page and "比较满意" in page
    r = c.post("/t/alpha/campaigns", data={"name": "创先争优群众评议", "opens_at": clock.wall(-1, sep="T"),
                                           "closes_at": clock.wall(13, 18, sep="T"), "weighting": "1"})
    cid = _new_id(r, "campaigns")
    r = c.post(f"/t/alpha/campaigns/{cid}/subjects", data={"op": "bulk", "kind": "unit", "root_unit_id": world.a.root,
                                                           "form_id": org, "unit_kinds": "branch"},
               follow_redirects=True)
    assert "已添加 2 个评议对象" in r.text
    r = c.post(f"/t/alpha/campaigns/{cid}/subjects", data={"op": "bulk", "kind": "person",
                                                           "root_unit_id": world.a.root, "form_id": member,
                                                           "unit_kinds": "branch", "party_members_only": "1"},
               follow_redirects=True)
    assert "已添加 2 个评议对象" in r.text and "王伟（采煤一队党支部）" in r.text
    r = c.post(f"/t/alpha/campaigns/{cid}/categories", data={
        "id": ["", ""], "name": ["党员", "群众"], "weight": ["0.5", "0.4"], "scope": ["own_unit", "own_unit"],
        "group_unit_id": ["", ""]}, follow_redirects=True)
    assert "权重之和必须等于 1（现为 0.9）" in r.text
    r = c.post(f"/t/alpha/campaigns/{cid}/categories", data={
        "id": ["", ""], "name": ["党员", "群众"], "weight": ["0.6", "40%"], "scope": ["own_unit", "own_unit"],
        "group_unit_id": ["", ""]}, follow_redirects=True)
    assert "已保存参评人员类别" in r.text
    r = c.post(f"/t/alpha/campaigns/{cid}/rules", data={"preset": "seed001-3"}, follow_redirects=True)
    assert "党支部书记年度考核为不称职" in r.text
    r = c.post(f"/t/alpha/campaigns/{cid}", data={"action": "open"}, follow_redirects=True)
    assert "还没有发放测评码" in r.text
    with app.app_context(), tenant_context(world.a.id):
        cat = db.session.execute(select(Campaign)).scalar_one()
        from pingyi.campaigns import lifecycle as cp

        cat_id = cp.categories(cat)[0].id
    r = c.post(f"/t/alpha/campaigns/{cid}/links", data={"category_id": cat_id, "unit_id": world.a.branch,
                                                        "count": "3"}, follow_redirects=True)
    assert "已生成 3 个测评码（1 个单位）" in r.text
    csv_url = re.search(r'href="(/t/alpha/jobs/\d+/files/\d+)">[^<]*\.csv<', r.text).group(1)
    links = re.findall(r"/b/([A-Za-z0-9_-]{22})", c.get(csv_url).data.decode("utf-8-sig"))
    assert len(links) == 3
    r = c.post(f"/t/alpha/campaigns/{cid}", data={"action": "open"}, follow_redirects=True)
    assert "评议活动已开始评议" in r.text and "进行中" in r.text
    with app.app_context(), tenant_context(world.a.id):
        assert db.session.get(Form, org).is_frozen and db.session.get(Form, member).is_frozen
        assert db.session.execute(select(func.count()).select_from(Subject)).scalar() == 4
        hashes = set(db.session.execute(select(BallotToken.secret_hash)).scalars())
    assert not hashes & set(links), "only hashes of the secrets are stored"
    # once open: subjects are fixed, the frozen form offers a new version
    r = c.post(f"/t/alpha/campaigns/{cid}/subjects", data={"op": "clear"}, follow_redirects=True)
    assert "不能再修改评议对象" in r.text
    page = c.get(f"/t/alpha/forms/{org}").text
    assert "已冻结" in page and "创建新版本并修改" in page
    r = c.post(f"/t/alpha/forms/{org}", data={"op": "add_section", "title": "x"}, follow_redirects=True)
    assert "已冻结" in r.text
    r = c.post(f"/t/alpha/forms/{org}", data={"op": "new_version"})
    v2 = _new_id(r, "forms")
    assert v2 != org and "v2" in c.get(f"/t/alpha/forms/{v2}").text
    # the campaign list shows it open, in Beijing time
    page = c.get("/t/alpha/campaigns").text
    assert "进行中" in page and clock.wall(-1) in page


def test_designer_operations(app, world):
    c = _admin(app, world)
    fid = _new_id(c.post("/t/alpha/forms", data={"name": "班子测评", "subject_kind": "team"}), "forms")
    with app.app_context(), tenant_context(world.a.id):
        form = db.session.get(Form, fid)
        sec_id, scale_id = form.sections[0].id, form.scales[0].id
    c.post(f"/t/alpha/forms/{fid}", data={"op": "add_scale", "preset": "good3"})
    c.post(f"/t/alpha/forms/{fid}", data={"op": "add_item", "section_id": sec_id, "text": "学习教育组织情况",
                                          "kind": "rating", "scale_id": scale_id, "required": "1"})
    r = c.post(f"/t/alpha/forms/{fid}", data={"op": "save_scale", "scale_id": scale_id, "name": "两级",
                                              "label": ["好", "差"], "score": ["2", "1"]}, follow_redirects=True)
    assert "量表至少要有一个计为“满意”的选项" in r.text
    r = c.post(f"/t/alpha/forms/{fid}", data={"op": "save_scale", "scale_id": scale_id, "name": "两级",
                                              "label": ["好", "差", ""], "score": ["2", "1", ""], "satisfied": "0"},
               follow_redirects=True)
    assert "已保存" in r.text
    page = c.get(f"/t/alpha/forms/{fid}").text
    assert "学习教育组织情况" in page and 'value="两级"' in page
    # a section or item of another form (or tenant) is 404
    with app.app_context(), tenant_context(world.a.id):
        from pingyi.campaigns import questionnaire as q

        other = q.copy_template("seed003-org")
        db.session.commit()
        other_sec = other.sections[0].id
    assert c.post(f"/t/alpha/forms/{fid}", data={"op": "delete_section", "section_id": other_sec}).status_code == 404
    assert c.post(f"/t/alpha/forms/{fid}", data={"op": "nonsense"}).status_code == 400


def test_viewer_can_read_but_not_change_campaigns(app, world):
    admin = _admin(app, world)
    cid = _new_id(admin.post("/t/alpha/campaigns", data={"name": "x", "opens_at": clock.wall(0, sep="T"),
                                                         "closes_at": clock.wall(1, sep="T")}), "campaigns")
    viewer = app.test_client()
    login(viewer, world.a.viewer)
    for path in (f"/t/alpha/campaigns/{cid}", f"/t/alpha/campaigns/{cid}/subjects",
                 f"/t/alpha/campaigns/{cid}/categories", f"/t/alpha/campaigns/{cid}/rules", "/t/alpha/forms"):
        assert viewer.get(path).status_code == 200
        assert viewer.post(path, data={"op": "clear", "action": "open", "name": "y"}).status_code == 403


def test_bad_campaign_window_shows_message_and_keeps_input(app, world):
    c = _admin(app, world)
    r = c.post("/t/alpha/campaigns", data={"name": "错窗", "opens_at": clock.wall(9, sep="T"),
                                           "closes_at": clock.wall(0, sep="T")})
    assert r.status_code == 200 and "结束时间必须晚于开始时间" in r.text and 'value="错窗"' in r.text
    with app.app_context(), tenant_context(world.a.id):
        assert db.session.execute(select(func.count()).select_from(Campaign)).scalar() == 0
