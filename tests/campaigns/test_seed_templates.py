"""Every seed form is a template a season can push (issue 19 item 5): each copies into a tenant
and round-trips, the forms added from seed 001 篇2–篇5 / seed 002 carry the seeds' items and
scales, every rule preset validates, and the presets judge these forms' figures at the seeds'
exact thresholds. The pages and the API list templates and presets from the data alone."""

from __future__ import annotations

import re
from dataclasses import asdict
from fractions import Fraction as F

import pytest

from pingyi.campaigns import lifecycle as cp
from pingyi.campaigns import questionnaire as q
from pingyi.campaigns import rules
from pingyi.campaigns.form_templates import SCALES, TEMPLATES
from pingyi.extensions import db
from pingyi.models import SUBJECT_KINDS
from pingyi.results import tally as tl
from pingyi.tenancy import tenant_context
from tests import clock
from tests.factories import bearer, login

# The forms issue 19 item 5 names, as the seeds word them: (name, kind, section, items, scale).
NEW = {
    "seed001-four-aspects": ("基层党组织创先争优活动“四个方面”群众评议表", "unit", "四个方面", [
        "活动目标是否达到", "发展思路是否清晰", "公开承诺事项是否完成", "工作措施是否得力"], "satisfaction4"),
    "seed001-p3-org": ("党组织创先争优群众评议表", "unit", "评议内容", ["党组织创先争优活动开展情况"],
                       "satisfaction4"),
    "seed001-p4-branch": ("党支部创先争优破解难题群众评议表", "unit", "评议内容", [
        "推进创先争优活动情况和创先争优破解难题进展情况", "承诺践诺情况", "为师生员工办实事、做好事、解难事情况",
        "加强党组织和党员队伍建设情况"], "satisfaction4"),
    "seed001-p4-member": ("党员创先争优破解难题群众评议表", "person", "评议内容", [
        "参加创先争优破解难题情况，促进党员“五带头”，发挥先锋模范作用", "立足岗位履行职责情况", "践行公开承诺情况",
        "联系和服务师生情况"], "satisfaction4"),
    "seed001-merit-org": ("群众评议基层党组织工作实绩表", "unit", "工作实绩", [
        "群众对党员干部的信任感", "群众对民生实事的满足感", "群众对生态环境的舒适感", "群众对社会治安的放心感"],
        "satisfaction3"),
    "seed001-merit-cadre": ("群众评议干部工作实绩表", "person", "工作实绩", [
        "联系群众知民情情况", "服务群众暖民心情况", "敢抓敢管解民忧情况", "带领群众助民富情况"], "satisfaction3"),
}


def _strip_ids(doc: dict) -> dict:
    """A form document without its rows' identities (what a copy must reproduce)."""
    return {"name": doc["name"], "subject_kind": doc["subject_kind"], "description": doc["description"],
            "scales": [{"key": s["key"], "name": s["name"], "choices": [
                {k: c[k] for k in ("label", "score", "satisfied")} for c in s["choices"]]} for s in doc["scales"]],
            "sections": [{"title": sec["title"], "items": [
                {k: it[k] for k in ("text", "kind", "scale", "required", "max_length")} for it in sec["items"]]}
                for sec in doc["sections"]]}


def test_every_template_copies_and_round_trips(ctx, world):
    with tenant_context(world.a.id):
        for key, template in TEMPLATES.items():
            form = q.copy_template(key)
            doc = q.form_document(form)
            assert form.template_key == key and doc["version"] == 1 and not doc["frozen"]
            wanted = q.validate_document(template)
            assert (doc["name"], doc["subject_kind"], doc["description"]) == \
                (wanted["name"], wanted["subject_kind"], wanted["description"]), key
            assert [[it["text"] for it in s["items"]] for s in doc["sections"]] == \
                [[it["text"] for it in s["items"]] for s in wanted["sections"]], key
            assert [[c["label"] for c in s["choices"]] for s in doc["scales"]] == \
                [[c["label"] for c in s["choices"]] for s in wanted["scales"]], key
            # the copy's document validates and makes the same form again
            again = q.form_document(q.create_form(q.validate_document(doc)))
            assert again["id"] != doc["id"] and _strip_ids(again) == _strip_ids(doc), key
            assert template["subject_kind"] in SUBJECT_KINDS and template["description"], key


@pytest.mark.parametrize("key", list(NEW))
def test_new_seed_forms_carry_the_seeds_words(ctx, world, key):
    name, kind, section, items, scale = NEW[key]
    with tenant_context(world.a.id):
        doc = q.form_document(q.copy_template(key))
    assert (doc["name"], doc["subject_kind"]) == (name, kind)
    assert "种子 001" in doc["description"] or "种子 002" in doc["description"]
    assert [s["title"] for s in doc["sections"]] == [section, "意见建议"]
    rated, comment = doc["sections"]
    assert [it["text"] for it in rated["items"]] == items
    assert all(it["kind"] == "rating" and it["required"] and it["scale"] == "s1" for it in rated["items"])
    assert [(it["kind"], it["required"]) for it in comment["items"]] == [("text", False)]
    assert len(doc["scales"]) == 1
    got = [(c["label"], c["score"], c["satisfied"]) for c in doc["scales"][0]["choices"]]
    assert got == [(c["label"], c["score"], c["satisfied"]) for c in SCALES[scale]["choices"]]


def test_new_forms_item_counts_and_scales_as_the_seeds_state_them(ctx, world):
    with tenant_context(world.a.id):
        docs = {k: q.form_document(q.copy_template(k)) for k in NEW}
    rated = {k: len(d["sections"][0]["items"]) for k, d in docs.items()}
    assert rated == {"seed001-four-aspects": 4, "seed001-p3-org": 1, "seed001-p4-branch": 4,
                     "seed001-p4-member": 4, "seed001-merit-org": 4, "seed001-merit-cadre": 4}
    labels = {k: [c["label"] for c in d["scales"][0]["choices"]] for k, d in docs.items()}
    # 篇3 names its four grades; 篇5's 工作实绩 rules speak of 不满意率 and 一般和不满意率
    assert labels["seed001-p3-org"] == ["满意", "比较满意", "不太满意", "不满意"]
    assert labels["seed001-merit-org"] == labels["seed001-merit-cadre"] == ["满意", "一般", "不满意"]
    sat = [c["label"] for c in docs["seed001-merit-cadre"]["scales"][0]["choices"] if c["satisfied"]]
    assert sat == ["满意"]  # so 一般 counts with 不满意 toward "一般和不满意"


def test_every_preset_validates():
    for key, preset in rules.PRESETS.items():
        assert preset["name"] and preset["rules"], key
        for spec in preset["rules"]:
            assert rules.validate_rule(asdict(spec)) == spec, key
            assert spec.source and spec.describe()
        assert {r.applies_to for r in preset["rules"]} <= {"any", *SUBJECT_KINDS}, key
        groups: dict[str, list[rules.RuleSpec]] = {}
        for spec in preset["rules"]:
            if spec.group:
                groups.setdefault(spec.group, []).append(spec)
        for specs in groups.values():  # the last match wins, so a group runs from milder to stricter
            assert len({(r.metric, r.op, r.applies_to) for r in specs}) == 1, key
            fractions = [r.fraction for r in specs]
            stricter = sorted(fractions, reverse=specs[0].op in ("lt", "le"))
            assert fractions == stricter and len(set(fractions)) == len(fractions), key


def _figures(form, counts: dict[str, int]) -> dict[str, F | None]:
    """One subject's figures on a copied form, as the tally counts them: ``counts`` ballots per
    choice label on every rated item (satisfied/lowest read from the stored scale)."""
    infos = tl.choice_infos([form.id])
    doc = q.form_document(form)
    by_label = {c["label"]: c["id"] for c in doc["scales"][0]["choices"]}
    items = [it["id"] for s in doc["sections"] for it in s["items"] if it["kind"] == "rating"]
    rows = [(1, item, by_label[label], 1, n) for item in items for label, n in counts.items() if n]
    return tl.summarize(rows, infos).by_subject[1].metrics()


def _verdicts(preset: str, figures: dict, kind: str) -> list[str]:
    return [r.outcome for r in rules.evaluate(rules.PRESETS[preset]["rules"], figures, kind)]


def test_work_record_rules_at_their_thresholds(ctx, world):
    """篇5: 不满意率超过三分之一 (organizations), 一般和不满意率超过二分之一 (cadres); exactly at the
    fraction is not 超过."""
    award, competence = (r.outcome for r in rules.PRESETS["seed001-5"]["rules"])
    with tenant_context(world.a.id):
        org, cadre = q.copy_template("seed001-merit-org"), q.copy_template("seed001-merit-cadre")
        at_third = _figures(org, {"满意": 5, "一般": 1, "不满意": 3})
        past_third = _figures(org, {"满意": 4, "一般": 1, "不满意": 3})
        at_half = _figures(cadre, {"满意": 2, "一般": 1, "不满意": 1})
        past_half = _figures(cadre, {"满意": 2, "一般": 2, "不满意": 1})
        both = _figures(cadre, {"满意": 1, "一般": 1, "不满意": 2})
    assert at_third["lowest_share"] == F(1, 3) and past_third["lowest_share"] == F(3, 8)
    assert _verdicts("seed001-5", at_third, "unit") == []
    assert _verdicts("seed001-5", past_third, "unit") == [award]
    assert at_half["not_satisfied_share"] == F(1, 2) and past_half["not_satisfied_share"] == F(3, 5)
    assert _verdicts("seed001-5", at_half, "person") == []
    assert _verdicts("seed001-5", past_half, "person") == [competence]
    # each rule speaks of its own kind: past both thresholds, an organization and a cadre get one each
    assert (both["lowest_share"], both["not_satisfied_share"]) == (F(1, 2), F(3, 4))
    assert _verdicts("seed001-5", both, "unit") == [award]
    assert _verdicts("seed001-5", both, "person") == [competence]


def test_p3_form_rules_at_their_thresholds(ctx, world):
    """篇3 on its own form: 满意率低于60%; 不满意票超过三分之一 → 基本称职, 超过三分之二 → 不称职
    (the stricter verdict replaces the milder one)."""
    rectify, milder, stricter = (r.outcome for r in rules.PRESETS["seed001-3"]["rules"])
    with tenant_context(world.a.id):
        form = q.copy_template("seed001-p3-org")
        at_sixty = _figures(form, {"满意": 2, "比较满意": 1, "不太满意": 1, "不满意": 1})
        below_sixty = _figures(form, {"满意": 2, "比较满意": 1, "不太满意": 1, "不满意": 2})
        at_two_thirds = _figures(form, {"满意": 1, "不太满意": 1, "不满意": 4})
        past_two_thirds = _figures(form, {"满意": 1, "不太满意": 1, "不满意": 5})
    assert at_sixty["satisfied_share"] == F(3, 5) and _verdicts("seed001-3", at_sixty, "unit") == []
    assert below_sixty["satisfied_share"] == F(1, 2) and below_sixty["lowest_share"] == F(1, 3)
    assert _verdicts("seed001-3", below_sixty, "unit") == [rectify]
    assert at_two_thirds["lowest_share"] == F(2, 3)
    assert _verdicts("seed001-3", at_two_thirds, "unit") == [rectify, milder]
    assert _verdicts("seed001-3", past_two_thirds, "unit") == [rectify, stricter]


@pytest.mark.parametrize("preset,kind,metric,at,past", [
    ("seed004", "team", "satisfied_share", F(2, 3), F(2, 3) - F(1, 1000)),
    ("seed003", "unit", "turnout", F(4, 5), F(4, 5) - F(1, 1000)),
])
def test_other_presets_at_their_thresholds(preset, kind, metric, at, past):
    (rule,) = rules.PRESETS[preset]["rules"]
    assert rule.fraction == at
    assert _verdicts(preset, {metric: at}, kind) == []
    assert _verdicts(preset, {metric: past}, kind) == [rule.outcome]


def test_pages_and_api_list_every_template_and_preset(app, world):
    with app.app_context(), tenant_context(world.a.id):
        c = cp.create_campaign(name="模板与规则预设", opens_at=clock.wall(1), closes_at=clock.wall(14, 18))
        db.session.commit()
        cid = c.id
    client = app.test_client()
    login(client, world.a.admin)
    page = client.get("/t/alpha/forms").text
    for key, t in TEMPLATES.items():
        assert f'value="{key}"' in page and t["name"] in page and t["description"] in page, key
    for key, (name, _kind, _section, items, _scale) in NEW.items():
        r = client.post("/t/alpha/forms", data={"template": key})
        assert r.status_code == 302, key
        form_id = int(re.search(r"/forms/(\d+)", r.location).group(1))
        shown = client.get(f"/t/alpha/forms/{form_id}").text
        assert name in shown and all(text in shown for text in items), key
    rules_page = client.get(f"/t/alpha/campaigns/{cid}/rules").text
    for key, p in rules.PRESETS.items():
        assert f'value="{key}"' in rules_page and p["name"] in rules_page, key
    api, headers = app.test_client(), bearer(world.a.api_key)
    listed = api.get("/api/v1/t/alpha/form-templates", headers=headers).json
    assert [t["key"] for t in listed] == list(TEMPLATES)
    assert {t["key"]: t["subject_kind"] for t in listed if t["key"] in NEW} == {k: v[1] for k, v in NEW.items()}
    presets = api.get("/api/v1/t/alpha/rule-presets", headers=headers).json
    assert set(presets) == set(rules.PRESETS)
    assert presets["seed001-5"]["rules"] == [asdict(s) for s in rules.PRESETS["seed001-5"]["rules"]]
