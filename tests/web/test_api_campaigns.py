"""The JSON API for forms and campaigns: a seed-002 campaign built end to end, every refusal
(422 with a Chinese message, nothing changed), roles (viewer 403) and tenancy (404)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from pingyi.extensions import db
from pingyi.models import (
    BallotToken,
    Campaign,
    EvaluatorCategory,
    Form,
    FormItem,
    Rule,
    Scale,
    ScaleChoice,
    Subject,
)
from pingyi.org import accounts
from pingyi.tenancy import tenant_context
from tests.factories import bearer

YEAR = datetime.now(UTC).year + 1  # a window that is always in the future
OPENS, CLOSES = f"{YEAR}-01-10 09:00", f"{YEAR}-01-20 18:00"

pytestmark = pytest.mark.dates  # make test reruns these with the clock shifted


def _url(path: str, slug: str = "alpha") -> str:
    return f"/api/v1/t/{slug}{path}"


def _key_for(app, email: str) -> str:
    with app.app_context():
        _, key = accounts.create_api_key(accounts.user_by_email(email), "test")
        db.session.commit()
    return key


def _snapshot(app, tenant_id: int) -> tuple:
    """Everything a refused request could have touched in one tenant."""
    with app.app_context(), tenant_context(tenant_id):
        counts = tuple(db.session.execute(select(func.count()).select_from(m)).scalar_one()
                       for m in (Campaign, Subject, EvaluatorCategory, Rule, BallotToken, Form, FormItem, Scale,
                                 ScaleChoice))
        camps = db.session.execute(select(Campaign.id, Campaign.name, Campaign.state, Campaign.opens_at,
                                          Campaign.closes_at, Campaign.weighting).order_by(Campaign.id)).all()
        cats = db.session.execute(select(EvaluatorCategory.id, EvaluatorCategory.name, EvaluatorCategory.weight,
                                         EvaluatorCategory.scope).order_by(EvaluatorCategory.id)).all()
        rules = db.session.execute(select(Rule.threshold, Rule.outcome).order_by(Rule.id)).all()
        forms = db.session.execute(select(Form.id, Form.name, Form.frozen_at).order_by(Form.id)).all()
        return counts, camps, cats, rules, forms


class Api:
    """A test client with a bearer key and JSON helpers."""

    def __init__(self, app, key: str, slug: str = "alpha"):
        self.c, self.h, self.slug = app.test_client(), bearer(key), slug

    def __getattr__(self, method):
        def call(path, json=None, **kw):
            return self.c.open(_url(path, self.slug), method=method.upper(), headers=self.h, json=json, **kw)
        return call


def _draft(api: Api, **extra) -> dict:
    r = api.post("/campaigns", {"name": f"{YEAR}年度群众评议", "opens_at": OPENS, "closes_at": CLOSES, **extra})
    assert r.status_code == 201, r.json
    return r.json


def _template(api: Api, key: str) -> dict:
    r = api.post("/forms", {"template": key})
    assert r.status_code == 201, r.json
    return r.json


def _refused(r, message: str, field: str | None = "") -> dict:
    assert r.status_code == 422, (r.status_code, r.json)
    assert message in r.json["error"], r.json
    if field != "":
        assert r.json["field"] == field, r.json
    return r.json


def _ready(api: Api, world, weighting: bool = False) -> tuple[dict, dict]:
    """A draft campaign that can open: branches as subjects, one category, three links."""
    c = _draft(api, weighting=weighting)
    org = _template(api, "seed002-org")
    r = api.post(f"/campaigns/{c['id']}/subjects", {"bulk": {"kind": "unit", "root_unit_id": world.a.root,
                                                             "form_id": org["id"], "unit_kinds": ["branch"]}})
    assert r.json == {"added": 2}
    cats = api.put(f"/campaigns/{c['id']}/categories", [{"name": "群众", "weight": "1"}]).json
    r = api.post(f"/campaigns/{c['id']}/links", {"category_id": cats[0]["id"], "unit_id": world.a.branch,
                                                 "count": 3})
    assert r.status_code == 201
    return c, org


# ---- the happy path ----------------------------------------------------------------------------

def test_seed_002_campaign_built_entirely_through_the_api(app, world):
    api = Api(app, world.a.api_key)
    templates = {t["key"]: t for t in api.get("/form-templates").json}
    assert templates["seed002-org"]["subject_kind"] == "unit"
    assert templates["seed002-member"] == {"key": "seed002-member", "name": "党员参加创先争优活动群众评议表",
                                           "subject_kind": "person",
                                           "description": "平庄煤业公司群众评议工作总结（种子 002）"}

    org, member = _template(api, "seed002-org"), _template(api, "seed002-member")
    assert org["name"] == "基层党组织开展创先争优活动群众评议表" and org["version"] == 1 and not org["frozen"]
    assert org["family_id"] == org["id"]
    assert [c["label"] for c in org["scales"][0]["choices"]] == ["满意", "比较满意", "不太满意", "不满意"]
    assert [len(s["items"]) for s in org["sections"]] == [5, 1]
    assert [it["kind"] for it in member["sections"][0]["items"]] == ["rating"] * 3
    listed = api.get("/forms").json
    assert [(f["id"], f["subject_kind"], f["frozen"]) for f in listed] == [
        (member["id"], "person", False), (org["id"], "unit", False)]

    r = api.post("/campaigns", {"name": f"{YEAR}年度创先争优群众评议", "opens_at": OPENS, "closes_at": CLOSES,
                                "description": "种子 002", "weighting": True, "publication_scope": "tenant"})
    assert r.status_code == 201
    c = r.json
    assert c["state"] == "draft" and c["state_label"] == "草稿" and c["weighting"] is True
    assert c["window"] == {"timezone": "Asia/Shanghai",
                           "opens_at": f"{YEAR}-01-10T01:00:00+00:00", "closes_at": f"{YEAR}-01-20T10:00:00+00:00",
                           "opens_at_local": f"{YEAR}-01-10T09:00:00+08:00",
                           "closes_at_local": f"{YEAR}-01-20T18:00:00+08:00"}
    assert {"还没有添加评议对象", "还没有设置参评人员类别", "还没有发放测评码"} <= set(c["readiness"])
    assert c["subject_counts"] == {} and c["live_links"] == 0
    cid = c["id"]
    assert [x["id"] for x in api.get("/campaigns").json] == [cid]

    # a non-member in a branch is not a subject when only party members are asked for
    r = api.post("/people", {"name": "赵群众", "unit_id": world.a.branch, "is_party_member": False})
    assert r.status_code == 201
    bulk = {"kind": "unit", "root_unit_id": world.a.root, "form_id": org["id"], "unit_kinds": ["branch"]}
    assert api.post(f"/campaigns/{cid}/subjects", {"bulk": bulk}).json == {"added": 2}
    assert api.post(f"/campaigns/{cid}/subjects", {"bulk": bulk}).json == {"added": 0}  # idempotent
    r = api.post(f"/campaigns/{cid}/subjects", {"bulk": {**bulk, "kind": "person", "form_id": member["id"],
                                                         "party_members_only": True}})
    assert r.status_code == 200 and r.json == {"added": 2}
    subjects = api.get(f"/campaigns/{cid}/subjects").json
    assert [s["kind"] for s in subjects] == ["unit", "unit", "person", "person"]
    assert [s["position"] for s in subjects] == [0, 1, 2, 3]
    assert {s["label"] for s in subjects} == {"采煤一队党支部", "机关党支部", "王伟（采煤一队党支部）",
                                              "李娜（机关党支部）"}
    assert {s["form_id"] for s in subjects if s["kind"] == "unit"} == {org["id"]}
    people = api.get(f"/campaigns/{cid}/subjects?kind=person").json
    assert [s["person_id"] for s in people][0] == world.a.person and all(s["kind"] == "person" for s in people)
    assert [s["label"] for s in people] == ["王伟（采煤一队党支部）", "李娜（机关党支部）"]
    assert api.get(f"/campaigns/{cid}/subjects?limit=2&offset=1").json == subjects[1:3]
    assert api.get(f"/campaigns/{cid}/subjects?limit=-1").json == []

    r = api.put(f"/campaigns/{cid}/categories", [{"name": "党员", "weight": "0.4"}, {"name": "群众", "weight": "0.4"},
                                                 {"name": "服务对象", "weight": "20%", "scope": "own_unit"}])
    assert r.status_code == 200
    cats = r.json
    assert [(k["name"], k["weight"], k["scope"], k["links"]) for k in cats] == [
        ("党员", "0.4", "own_unit", 0), ("群众", "0.4", "own_unit", 0), ("服务对象", "0.2", "own_unit", 0)]
    assert api.get(f"/campaigns/{cid}/categories").json == cats

    presets = api.get("/rule-presets").json
    assert presets["seed003"]["rules"][0]["threshold"] == "80%" and len(presets["seed001-3"]["rules"]) == 3
    api.post(f"/campaigns/{cid}/rules/presets", {"preset": "seed001-3"})
    api.post(f"/campaigns/{cid}/rules/presets", {"preset": "seed001-3"})  # no duplicates
    r = api.post(f"/campaigns/{cid}/rules/presets", {"preset": "seed003"})
    assert r.status_code == 200
    assert [(x["threshold"], x["severity"]) for x in r.json] == [("60%", "action"), ("1/3", "action"),
                                                                 ("2/3", "action"), ("80%", "warning")]
    assert all(isinstance(x["id"], int) for x in r.json) and api.get(f"/campaigns/{cid}/rules").json == r.json

    r = api.post(f"/campaigns/{cid}/links", {"category_id": cats[1]["id"], "unit_id": world.a.branch, "count": 5})
    assert r.status_code == 201 and r.json["count"] == 5
    links = r.json["links"]
    assert len(set(links)) == 5 and all(link.startswith("/b/") and len(link) == 3 + 22 for link in links)
    with app.app_context(), tenant_context(world.a.id):
        hashes = set(db.session.execute(select(BallotToken.secret_hash)).scalars())
    assert hashes and not hashes & {link[3:] for link in links}  # only hashes are kept
    assert api.get(f"/campaigns/{cid}/categories").json[1]["links"] == 5

    detail = api.get(f"/campaigns/{cid}").json
    assert detail["readiness"] == [] and detail["live_links"] == 5
    assert detail["subject_counts"] == {"unit": 2, "person": 2}

    r = api.post(f"/campaigns/{cid}/transitions", {"action": "open"})
    assert r.status_code == 200 and r.json["state"] == "open" and r.json["opened_at"]
    assert {(f["id"], f["frozen"]) for f in api.get("/forms").json} == {(org["id"], True), (member["id"], True)}
    assert api.get(f"/forms/{org['id']}").json["frozen"] is True

    for action, state in (("close", "closed"), ("reopen", "sealed"), ("publish", "published"), ("archive", "archived")):
        if action == "reopen":  # the closing job ran here (no Redis): sealed, so no reopening
            r = api.post(f"/campaigns/{cid}/transitions", {"action": action})
            assert r.status_code == 422 and r.json["error"] == "评议结果已封存，不能重新开放", r.json
            continue
        r = api.post(f"/campaigns/{cid}/transitions", {"action": action})
        assert r.status_code == 200 and r.json["state"] == state, (action, r.json)
    final = api.get(f"/campaigns/{cid}").json
    assert final["state_label"] == "已归档" and all(final[k] for k in ("closed_at", "published_at", "archived_at"))


def test_form_crud_and_versions(app, world):
    api = Api(app, world.a.api_key)
    doc = {"name": "自定义测评表", "subject_kind": "team", "description": "试用",
           "scales": [{"key": "g", "name": "好/差", "choices": [{"label": "好", "score": 2, "satisfied": True},
                                                                {"label": "差", "score": 1}]}],
           "sections": [{"title": "总体", "items": [{"text": "总体评价", "scale": "g"},
                                                    {"text": "意见建议", "kind": "text", "max_length": 200}]}]}
    r = api.post("/forms", doc)
    assert r.status_code == 201
    form = r.json
    assert form["subject_kind"] == "team" and form["scales"][0]["key"] == "s1"
    assert [(it["kind"], it["scale"], it["required"]) for it in form["sections"][0]["items"]] == [
        ("rating", "s1", True), ("text", None, False)]

    form["name"] = "自定义测评表（修订）"
    form["sections"][0]["items"].insert(1, {"text": "作风建设", "scale": "s1"})
    r = api.put(f"/forms/{form['id']}", form)
    assert r.status_code == 200 and r.json["name"] == "自定义测评表（修订）"
    assert [it["text"] for it in api.get(f"/forms/{form['id']}").json["sections"][0]["items"]] == [
        "总体评价", "作风建设", "意见建议"]

    r = api.post(f"/forms/{form['id']}/versions")  # not frozen: the same version comes back
    assert r.status_code == 200 and r.json["id"] == form["id"] and r.json["version"] == 1

    assert api.delete(f"/forms/{form['id']}").status_code == 204
    assert api.get(f"/forms/{form['id']}").status_code == 404
    assert api.get("/forms").json == []


def test_frozen_form_needs_a_new_version(app, world):
    api = Api(app, world.a.api_key)
    c, org = _ready(api, world)
    assert api.post(f"/campaigns/{c['id']}/transitions", {"action": "open"}).json["state"] == "open"
    frozen = api.get(f"/forms/{org['id']}").json
    before = _snapshot(app, world.a.id)
    edited = {**frozen, "name": "改名"}
    _refused(api.put(f"/forms/{org['id']}", edited), "已冻结；请先创建新版本再修改", "form")
    _refused(api.delete(f"/forms/{org['id']}"), "已冻结的测评表不能删除")
    assert _snapshot(app, world.a.id) == before
    assert api.get(f"/forms/{org['id']}").json == frozen

    r = api.post(f"/forms/{org['id']}/versions")
    assert r.status_code == 201
    v2 = r.json
    assert (v2["family_id"], v2["version"], v2["frozen"]) == (org["id"], 2, False) and v2["id"] != org["id"]
    assert api.put(f"/forms/{v2['id']}", {**v2, "name": "改名"}).json["name"] == "改名"
    assert [(f["id"], f["version"]) for f in api.get("/forms").json] == [(v2["id"], 2)]
    # the open campaign keeps the frozen version
    assert {s["form_id"] for s in api.get(f"/campaigns/{c['id']}/subjects").json} == {org["id"]}


# ---- refusals ----------------------------------------------------------------------------------

@pytest.mark.parametrize("body,message,field", [
    ({"opens_at": f"{YEAR}-01-15 09:00", "closes_at": f"{YEAR}-01-01 09:00"}, "结束时间必须晚于开始时间", "closes_at"),
    ({"opens_at": f"{YEAR}-01-01 09:00", "closes_at": f"{YEAR + 2}-01-01 09:00"}, "评议时间窗口不能超过一年", "closes_at"),
    ({"opens_at": "明天", "closes_at": f"{YEAR}-01-01 09:00"}, "格式不正确", "opens_at"),
    ({"opens_at": None}, "格式不正确", "opens_at"),
    ({"timezone": "Mars/Olympus"}, "未知的时区", "timezone"),
    ({"name": "  "}, "活动名称不能为空", "name"),
    ({"publication_scope": "world"}, "未知的公示范围", "publication_scope"),
])
def test_impossible_campaigns_are_refused(app, world, body, message, field):
    api = Api(app, world.a.api_key)
    before = _snapshot(app, world.a.id)
    _refused(api.post("/campaigns", {"name": "评议", "opens_at": OPENS, "closes_at": CLOSES, **body}), message, field)
    assert _snapshot(app, world.a.id) == before


def test_bad_inputs_in_a_draft_are_refused_and_change_nothing(app, world):
    api = Api(app, world.a.api_key)
    c = _draft(api, weighting=True)
    cid = c["id"]
    org, member = _template(api, "seed002-org"), _template(api, "seed002-member")
    assert api.post(f"/campaigns/{cid}/subjects", {"kind": "unit", "unit_id": world.a.branch,
                                                   "form_id": org["id"]}).status_code == 201
    api.put(f"/campaigns/{cid}/categories", [{"name": "党员", "weight": "0.5"}, {"name": "群众", "weight": "0.5"}])
    api.post(f"/campaigns/{cid}/rules/presets", {"preset": "seed003"})
    b_form = _template(Api(app, world.b.api_key, "beta"), "seed002-org")["id"]
    cats = api.get(f"/campaigns/{cid}/categories").json
    doc = api.get(f"/forms/{org['id']}").json
    before = _snapshot(app, world.a.id)

    cases = [
        # window
        (api.patch(f"/campaigns/{cid}", {"closes_at": f"{YEAR - 2}-01-01 09:00"}), "结束时间必须晚于开始时间",
         "closes_at"),
        (api.patch(f"/campaigns/{cid}", {"name": "", "opens_at": OPENS}), "活动名称不能为空", "name"),
        # weights
        (api.put(f"/campaigns/{cid}/categories", [{"name": "党员", "weight": "0.5"}, {"name": "群众", "weight": "0.4"}]),
         "启用加权时各类别权重之和必须等于 1（现为 0.9）", "weight"),
        (api.put(f"/campaigns/{cid}/categories", [{"name": "党员", "weight": "x"}]), "不是数字", "weight"),
        (api.put(f"/campaigns/{cid}/categories", [{"name": "全评", "weight": "1", "scope": "group",
                                                   "group_unit_id": world.b.root}]), "找不到评议组单位",
         "group_unit_id"),
        (api.put(f"/campaigns/{cid}/categories", [{"name": "全评", "weight": "1", "scope": "group"}]),
         "需要指定评议组", "group_unit_id"),
        (api.put(f"/campaigns/{cid}/categories", [{"id": 999999, "name": "党员", "weight": "1"}]),
         "找不到参评人员类别", "id"),
        (api.put(f"/campaigns/{cid}/categories", []), "至少需要一个参评人员类别", "categories"),
        # a scale that no answer could satisfy
        (api.put(f"/forms/{org['id']}", {**doc, "scales": [{**doc["scales"][0], "choices": [
            {**ch, "satisfied": False} for ch in doc["scales"][0]["choices"]]}]}),
         "量表至少要有一个计为“满意”的选项", "choices"),
        (api.put(f"/forms/{org['id']}", {**doc, "sections": []}), "至少要有一个评分项", "sections"),
        (api.post("/forms", {"template": "seed999"}), "没有名为“seed999”的模板", "template"),
        (api.post("/forms", {"name": "空表", "sections": []}), "至少要有一个评分项", "sections"),
        # ids of tenant beta, or of nothing, in the body
        (api.post(f"/campaigns/{cid}/subjects", {"kind": "unit", "unit_id": world.b.other_branch,
                                                 "form_id": org["id"]}), "找不到单位", "unit_id"),
        (api.post(f"/campaigns/{cid}/subjects", {"kind": "unit", "unit_id": world.a.other_branch,
                                                 "form_id": b_form}), "找不到测评表", "form_id"),
        (api.post(f"/campaigns/{cid}/subjects", {"kind": "person", "unit_id": world.a.branch,
                                                 "form_id": member["id"], "person_id": world.b.person}),
         "找不到人员", "person_id"),
        (api.post(f"/campaigns/{cid}/subjects", {"kind": "unit", "form_id": org["id"]}), "找不到单位", "unit_id"),
        (api.post(f"/campaigns/{cid}/subjects", {"bulk": {"kind": "unit", "root_unit_id": world.b.root,
                                                          "form_id": org["id"]}}), "找不到单位", "root_unit_id"),
        (api.post(f"/campaigns/{cid}/subjects", {"bulk": {"kind": "unit", "root_unit_id": world.a.root,
                                                          "form_id": b_form}}), "找不到测评表", "form_id"),
        # other subject mistakes
        (api.post(f"/campaigns/{cid}/subjects", {"kind": "unit", "unit_id": world.a.branch,
                                                 "form_id": org["id"]}), "“采煤一队党支部”已是评议对象", "unit_id"),
        (api.post(f"/campaigns/{cid}/subjects", {"kind": "unit", "unit_id": world.a.other_branch,
                                                 "form_id": member["id"]}), "不能用于基层党组织", "form_id"),
        (api.post(f"/campaigns/{cid}/subjects", {"kind": "person", "unit_id": world.a.other_branch,
                                                 "form_id": member["id"], "person_id": world.a.person}),
         "请选择该单位的人员", "person_id"),
        (api.post(f"/campaigns/{cid}/subjects", {"bulk": {"kind": "galaxy", "root_unit_id": world.a.root,
                                                          "form_id": org["id"]}}), "未知的评议对象类型", "kind"),
        # links
        (api.post(f"/campaigns/{cid}/links", {"category_id": 999999, "unit_id": world.a.branch, "count": 1}),
         "找不到参评人员类别", "category_id"),
        (api.post(f"/campaigns/{cid}/links", {"category_id": cats[0]["id"], "unit_id": world.b.branch, "count": 1}),
         "找不到单位", "unit_id"),
        (api.post(f"/campaigns/{cid}/links", {"category_id": cats[0]["id"], "unit_id": world.a.branch,
                                              "count": "many"}), "不是整数", "count"),
        (api.post(f"/campaigns/{cid}/links", {"category_id": cats[0]["id"], "unit_id": world.a.branch,
                                              "count": 0}), "发放数量应在 1 到", "count"),
        # rules
        (api.put(f"/campaigns/{cid}/rules", [{"metric": "satisfied_share", "op": "lt", "threshold": "150%",
                                              "outcome": "整改"}]), "应在 0 到 1", "threshold"),
        (api.put(f"/campaigns/{cid}/rules", [{"metric": "mood", "op": "lt", "threshold": "1/2",
                                              "outcome": "整改"}]), "未知的指标", "metric"),
        (api.post(f"/campaigns/{cid}/rules/presets", {"preset": "nope"}), "没有名为“nope”的规则预设", "preset"),
        # transitions out of order, or before the campaign is ready
        (api.post(f"/campaigns/{cid}/transitions", {"action": "close"}), "“草稿”状态的评议活动不能结束评议", "state"),
        (api.post(f"/campaigns/{cid}/transitions", {"action": "publish"}), "不能公布结果", "state"),
        (api.post(f"/campaigns/{cid}/transitions", {"action": "archive"}), "不能归档", "state"),
        (api.post(f"/campaigns/{cid}/transitions", {"action": "explode"}), "未知的操作", "action"),
        (api.post(f"/campaigns/{cid}/transitions", {"action": "open"}), "还不能开始评议：还没有发放测评码", "state"),
    ]
    for r, message, field in cases:
        _refused(r, message, field)
    assert _snapshot(app, world.a.id) == before
    assert api.get(f"/forms/{org['id']}").json == doc
    assert api.get(f"/campaigns/{cid}").json["state"] == "draft"
    # malformed bodies are 400, not 500
    assert api.put(f"/campaigns/{cid}/categories", {"name": "党员"}).status_code == 400
    assert api.put(f"/campaigns/{cid}/rules", ["x"]).status_code == 400
    r = api.post(f"/campaigns/{cid}/subjects", {"bulk": [1]})  # a field of the wrong type: 422 naming it
    assert r.status_code == 422 and r.json["field"] == "bulk"
    assert _snapshot(app, world.a.id) == before


def test_categories_keep_ids_and_cannot_drop_one_with_links(app, world):
    api = Api(app, world.a.api_key)
    c = _draft(api)
    cid = c["id"]
    first = api.put(f"/campaigns/{cid}/categories", [
        {"name": "单位参评人员"}, {"name": "全评参评人员", "scope": "group", "group_unit_id": world.a.root}]).json
    assert [(k["scope"], k["group_unit_id"]) for k in first] == [("own_unit", None), ("group", world.a.root)]
    again = api.put(f"/campaigns/{cid}/categories", [{**k, "name": k["name"] + "（改）"} for k in first]).json
    assert [k["id"] for k in again] == [k["id"] for k in first]
    assert [k["name"] for k in again] == ["单位参评人员（改）", "全评参评人员（改）"]

    other = _draft(api)
    other_cat = api.put(f"/campaigns/{other['id']}/categories", [{"name": "群众"}]).json[0]
    _refused(api.put(f"/campaigns/{cid}/categories", [{"id": other_cat["id"], "name": "群众"}]),
             "找不到参评人员类别", "id")
    _refused(api.post(f"/campaigns/{cid}/links", {"category_id": other_cat["id"], "unit_id": world.a.branch,
                                                  "count": 1}), "参评类别不属于该评议活动", "category")

    assert api.post(f"/campaigns/{cid}/links", {"category_id": first[0]["id"], "unit_id": world.a.branch,
                                                "count": 2}).status_code == 201
    before = _snapshot(app, world.a.id)
    _refused(api.put(f"/campaigns/{cid}/categories", [again[1]]), "类别“单位参评人员（改）”已发放测评码，不能删除",
             "categories")
    assert _snapshot(app, world.a.id) == before


def test_a_form_in_use_cannot_be_deleted(app, world):
    api = Api(app, world.a.api_key)
    c = _draft(api)
    org = _template(api, "seed002-org")
    s = api.post(f"/campaigns/{c['id']}/subjects", {"kind": "unit", "unit_id": world.a.branch,
                                                    "form_id": org["id"]}).json
    _refused(api.delete(f"/forms/{org['id']}"), "已被评议活动使用，不能删除")
    assert api.delete(f"/campaigns/{c['id']}/subjects/{s['id']}").status_code == 204
    assert api.get(f"/campaigns/{c['id']}").json["subject_counts"] == {}
    assert api.delete(f"/forms/{org['id']}").status_code == 204


def test_once_open_subjects_categories_and_start_are_fixed(app, world):
    api = Api(app, world.a.api_key)
    c, org = _ready(api, world)
    cid = c["id"]
    assert api.post(f"/campaigns/{cid}/transitions", {"action": "open"}).json["state"] == "open"
    subject = api.get(f"/campaigns/{cid}/subjects").json[0]
    before = _snapshot(app, world.a.id)
    for r in (
        api.post(f"/campaigns/{cid}/subjects", {"kind": "unit", "unit_id": world.a.committee, "form_id": org["id"]}),
        api.post(f"/campaigns/{cid}/subjects", {"bulk": {"kind": "unit", "root_unit_id": world.a.root,
                                                         "form_id": org["id"]}}),
        api.delete(f"/campaigns/{cid}/subjects/{subject['id']}"),
    ):
        _refused(r, "评议活动已开始，不能再修改评议对象", "state")
    _refused(api.put(f"/campaigns/{cid}/categories", [{"name": "新类别"}]), "不能再修改参评人员类别", "state")
    _refused(api.patch(f"/campaigns/{cid}", {"opens_at": f"{YEAR}-01-11 09:00"}), "不能修改开始时间", "opens_at")
    _refused(api.patch(f"/campaigns/{cid}", {"closes_at": f"{YEAR}-01-15 09:00"}), "结束时间只能延后", "closes_at")
    _refused(api.patch(f"/campaigns/{cid}", {"weighting": True}), "不能更改是否加权", "weighting")
    _refused(api.post(f"/campaigns/{cid}/transitions", {"action": "open"}), "“进行中”状态的评议活动不能开始评议")
    _refused(api.post(f"/campaigns/{cid}/transitions", {"action": "publish"}), "不能公布结果", "state")
    assert _snapshot(app, world.a.id) == before

    # what may still change: a later end, the rules, more links
    r = api.patch(f"/campaigns/{cid}", {"closes_at": f"{YEAR}-01-25 18:00", "name": "延期后的评议"})
    assert r.status_code == 200 and r.json["window"]["closes_at_local"] == f"{YEAR}-01-25T18:00:00+08:00"
    assert r.json["name"] == "延期后的评议"
    r = api.put(f"/campaigns/{cid}/rules", [{"metric": "turnout", "op": "lt", "threshold": "三分之二",
                                             "outcome": "提醒", "severity": "warning"}])
    assert [(x["threshold"], x["severity"]) for x in r.json] == [("三分之二", "warning")]
    cat = api.get(f"/campaigns/{cid}/categories").json[0]
    api.post(f"/campaigns/{cid}/links", {"category_id": cat["id"], "unit_id": world.a.other_branch, "count": 2})
    assert api.get(f"/campaigns/{cid}").json["live_links"] == 5

    for action in ("close", "publish"):
        api.post(f"/campaigns/{cid}/transitions", {"action": action})
    _refused(api.put(f"/campaigns/{cid}/rules", []), "结果已公布，不能再修改规则", "state")
    _refused(api.post(f"/campaigns/{cid}/transitions", {"action": "reopen"}), "“已公布”状态的评议活动不能重新开放")
    _refused(api.post(f"/campaigns/{cid}/links", {"category_id": cat["id"], "unit_id": world.a.branch, "count": 1}),
             "只有草稿或进行中的评议活动可以发放测评码")
    api.post(f"/campaigns/{cid}/transitions", {"action": "archive"})
    _refused(api.patch(f"/campaigns/{cid}", {"name": "x"}), "已归档的评议活动不能修改")


# ---- roles and tenancy -------------------------------------------------------------------------

def test_viewer_key_reads_but_gets_403_on_every_write(app, world):
    admin = Api(app, world.a.api_key)
    c, org = _ready(admin, world)
    cid = c["id"]
    subject = admin.get(f"/campaigns/{cid}/subjects").json[0]
    cat = admin.get(f"/campaigns/{cid}/categories").json[0]
    viewer = Api(app, _key_for(app, world.a.viewer))
    before = _snapshot(app, world.a.id)

    assert viewer.get(f"/campaigns/{cid}").json["id"] == cid
    assert viewer.get(f"/forms/{org['id']}").json["name"] == org["name"]
    assert len(viewer.get(f"/campaigns/{cid}/subjects").json) == 2
    writes = [
        ("post", "/forms", {"template": "seed002-org"}),
        ("put", f"/forms/{org['id']}", org),
        ("delete", f"/forms/{org['id']}", None),
        ("post", f"/forms/{org['id']}/versions", None),
        ("post", "/campaigns", {"name": "x", "opens_at": OPENS, "closes_at": CLOSES}),
        ("patch", f"/campaigns/{cid}", {"name": "x"}),
        ("post", f"/campaigns/{cid}/transitions", {"action": "open"}),
        ("post", f"/campaigns/{cid}/subjects", {"kind": "unit", "unit_id": world.a.committee, "form_id": org["id"]}),
        ("delete", f"/campaigns/{cid}/subjects/{subject['id']}", None),
        ("put", f"/campaigns/{cid}/categories", [{"name": "x"}]),
        ("put", f"/campaigns/{cid}/rules", []),
        ("post", f"/campaigns/{cid}/rules/presets", {"preset": "seed003"}),
        ("post", f"/campaigns/{cid}/links", {"category_id": cat["id"], "unit_id": world.a.branch, "count": 1}),
    ]
    for method, path, body in writes:
        r = getattr(viewer, method)(path, body)
        assert r.status_code == 403, (method, path, r.status_code)
    assert _snapshot(app, world.a.id) == before


def test_unit_admin_is_kept_to_their_subtree(app, world):
    admin = Api(app, world.a.api_key)
    c = _draft(admin)
    org = _template(admin, "seed002-org")
    admin.post(f"/campaigns/{c['id']}/subjects", {"kind": "unit", "unit_id": world.a.other_branch,
                                                  "form_id": org["id"]})
    other = admin.get(f"/campaigns/{c['id']}/subjects").json[0]
    admin.post(f"/campaigns/{c['id']}/subjects", {"bulk": {"kind": "unit", "root_unit_id": world.a.committee,
                                                           "form_id": org["id"]}})
    ua = Api(app, _key_for(app, world.a.unit_admin))  # unit admin of 一矿党委
    # campaigns are prepared by tenant admins: a unit admin reads (their subtree only), never writes
    assert {s["label"] for s in ua.get(f"/campaigns/{c['id']}/subjects").json} == {"一矿党委", "采煤一队党支部"}
    assert ua.get(f"/campaigns/{c['id']}/subjects/{other['id']}").status_code in (404, 405)
    r = ua.post(f"/campaigns/{c['id']}/subjects", {"bulk": {"kind": "unit", "root_unit_id": world.a.committee,
                                                            "form_id": org["id"]}})
    assert r.status_code == 403
    assert ua.delete(f"/campaigns/{c['id']}/subjects/{other['id']}").status_code == 404  # not in their subtree
    assert admin.get(f"/campaigns/{c['id']}").json["subject_counts"] == {"unit": 3}


def test_foreign_ids_in_urls_answer_404(app, world):
    beta = Api(app, world.b.api_key, "beta")
    b_campaign, b_form = _draft(beta), _template(beta, "seed002-org")
    b_subject = beta.post(f"/campaigns/{b_campaign['id']}/subjects", {"kind": "unit", "unit_id": world.b.branch,
                                                                      "form_id": b_form["id"]}).json
    alpha = Api(app, world.a.api_key)
    a_campaign, a_form = _draft(alpha), _template(alpha, "seed002-org")
    a_subject = alpha.post(f"/campaigns/{a_campaign['id']}/subjects", {"kind": "unit", "unit_id": world.a.branch,
                                                                       "form_id": a_form["id"]}).json
    a_other = _draft(alpha)
    before_a, before_b = _snapshot(app, world.a.id), _snapshot(app, world.b.id)

    bc, bf = b_campaign["id"], b_form["id"]
    calls = [
        ("get", f"/forms/{bf}", None), ("put", f"/forms/{bf}", b_form), ("delete", f"/forms/{bf}", None),
        ("post", f"/forms/{bf}/versions", None),
        ("get", f"/campaigns/{bc}", None), ("patch", f"/campaigns/{bc}", {"name": "hijack"}),
        ("post", f"/campaigns/{bc}/transitions", {"action": "open"}),
        ("get", f"/campaigns/{bc}/subjects", None),
        ("post", f"/campaigns/{bc}/subjects", {"kind": "unit", "unit_id": world.a.other_branch,
                                               "form_id": a_form["id"]}),
        ("delete", f"/campaigns/{bc}/subjects/{b_subject['id']}", None),
        ("delete", f"/campaigns/{a_campaign['id']}/subjects/{b_subject['id']}", None),
        ("get", f"/campaigns/{bc}/categories", None), ("put", f"/campaigns/{bc}/categories", [{"name": "x"}]),
        ("get", f"/campaigns/{bc}/rules", None), ("put", f"/campaigns/{bc}/rules", []),
        ("post", f"/campaigns/{bc}/rules/presets", {"preset": "seed003"}),
        ("post", f"/campaigns/{bc}/links", {"category_id": 1, "unit_id": world.a.branch, "count": 1}),
        # a subject of another campaign of the same tenant
        ("delete", f"/campaigns/{a_other['id']}/subjects/{a_subject['id']}", None),
    ]
    for method, path, body in calls:
        r = getattr(alpha, method)(path, body)
        assert r.status_code == 404, (method, path, r.status_code)
    # alpha's key on beta's slug: not even beta's list
    on_beta = Api(app, world.a.api_key, "beta")
    for path in ("/campaigns", "/forms", f"/campaigns/{bc}", "/form-templates", "/rule-presets"):
        assert on_beta.get(path).status_code == 404
    assert alpha.get("/campaigns").json and bc not in {x["id"] for x in alpha.get("/campaigns").json}
    assert bf not in {f["id"] for f in alpha.get("/forms").json}
    assert (_snapshot(app, world.a.id), _snapshot(app, world.b.id)) == (before_a, before_b)
    assert beta.get(f"/campaigns/{bc}").json["subject_counts"] == {"unit": 1}
